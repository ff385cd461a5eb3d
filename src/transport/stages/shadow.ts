/**
 * Shadow traffic (`shadow:` in a descriptor): a share (`percent`) of the
 * idempotent calls (GraphQL queries, REST GETs, read-only gRPC methods;
 * never a mutation or any call that is not idempotent) is copied, once the
 * primary has answered, to the shadow target, and the two answers are
 * compared (shadow-diff.ts). The copy is sent with the protocol's attempt
 * alone: no retry, no breaker, no event on `tessera:upstream`, so the
 * shadow never moves the primary's breakers, budgets or golden signals.
 *
 * The client never waits for it and never sees it: the primary's outcome is
 * returned as it is, the copy starts after it, with a scope and a time limit
 * of its own (`timeout`; the client's deadline and abort do not apply), and
 * its failures end here. At most `concurrency` copies are in flight per
 * upstream; one beyond that is dropped, not queued. Every copy's fate is
 * published on `tessera:shadow` (ShadowEvent: metrics, status page, and the
 * mismatch log line, at most `logPerMinute` a minute).
 *
 * A primary that failed is copied only when its failure is an answer about
 * the request (gRPC NOT_FOUND and the like: the protocol's healthyFailure),
 * whose code is then compared; a primary that timed out or could not
 * connect says nothing to compare with. A call whose primary attempt went to
 * a shadow target itself (`version` mode, that version having weight) is
 * not copied.
 *
 * The targets of `version` mode are that version's instances at the time of
 * each copy, so they follow discovery (a discovered entry's instances carry
 * its version); when the version has none at that moment, the copy is not
 * sent and is counted `failed` with SOURCE_UNAVAILABLE.
 */
import { channel } from 'node:diagnostics_channel';
import { ConfigError, type TesseraError } from '../../errors.js';
import { EVENTS, type ShadowEvent, type ShadowOutcome } from '../../events.js';
import { createScope } from '../../request-scope.js';
import type { Instance, Member, Send, Stage, UpstreamCall } from '../call.js';
import { compareAnswers, excerpt, ignoredPaths, type ShadowView } from '../shadow-diff.js';

export const shadowChannel = channel(EVENTS.shadow);

export interface ShadowOptions<M extends Member> {
  subgraph: string;
  /** The targets' label in events (`shadow.version`, or `shadow`). */
  version: string;
  /** The instances that receive the copies, in turn: asked at each copy (discovery changes them). */
  targets: () => readonly M[];
  /** Did the primary attempt go to a shadow target itself (then it is not copied)? */
  isTarget: (member: M) => boolean;
  /** Share of idempotent calls copied, 0 to 100. */
  percent: number;
  /** The copy's own time limit, ms. */
  timeoutMs: number;
  /** Copies in flight at once; one more is dropped. */
  concurrency: number;
  /** Paths left out of the comparison (shadow-diff.ts ignoredPaths). */
  ignore: readonly string[];
  /** Mismatches sampled for the log per minute. */
  logPerMinute: number;
  /** Aborted when the upstream closes: copies in flight end at once (and are not reported), no new one starts. */
  closing: AbortSignal;
}

/** A descriptor's `shadow:` as the HTTP and gRPC upstreams take it. */
export interface ShadowSettings {
  /** An instance of its own; without it, the instances of `version` among the upstreams. */
  url?: string;
  version?: string;
  percent: number;
  timeoutMs: number;
  concurrency: number;
  ignore: readonly string[];
  logPerMinute: number;
}

/** The label of a shadow target in events: its version, or `shadow` for an instance of its own without one. */
export function shadowVersion(settings: { version?: string }): string {
  return settings.version ?? 'shadow';
}

/**
 * The stage's options for an upstream's `shadow:` settings: its copies go to
 * `own` (the instance of `shadow.url`) or else to the members of
 * `shadow.version` now (members.ts UpstreamMembers: `entries` as
 * configured, `members` now). Without `own`, a version no entry has is a
 * configuration error (parseDescriptor checks it for descriptors; this is
 * for upstreams built in code).
 */
export function shadowOptions<M extends Member>(
  subgraph: string,
  shadow: ShadowSettings,
  own: M | undefined,
  set: { readonly entries: readonly Instance[]; readonly members: readonly M[] },
  closing: AbortSignal,
): ShadowOptions<M> {
  if (!own && !set.entries.some((e) => e.version === shadow.version)) {
    throw new ConfigError('CONFIG_INVALID', [`shadow.version: no instance of subgraph "${subgraph}" has version "${shadow.version}"`]);
  }
  const ownTargets = own ? [own] : [];
  return {
    subgraph,
    version: shadowVersion(shadow),
    targets: own ? () => ownTargets : () => set.members.filter((m) => m.version === shadow.version),
    isTarget: (member) => !own && member.version === shadow.version,
    percent: shadow.percent,
    timeoutMs: shadow.timeoutMs,
    concurrency: shadow.concurrency,
    ignore: shadow.ignore,
    logPerMinute: shadow.logPerMinute,
    closing,
  };
}

/** What the stage needs of a protocol: its attempt, which failures are answers, and how an outcome reads for the comparison. */
export interface ShadowProtocol<C, R> {
  attempt: Send<C, R>;
  healthyFailure(error: TesseraError): boolean;
  view(result: R): ShadowView;
  failureView(error: TesseraError): ShadowView;
}

const MINUTE_MS = 60_000;

export function shadowStage<M extends Member, C extends UpstreamCall<M>, R>(options: ShadowOptions<M>, protocol: ShadowProtocol<C, R>): Stage<C, R> {
  const { subgraph, version, targets, isTarget, percent, timeoutMs, concurrency } = options;
  const ignored = ignoredPaths(options.ignore);
  let inFlight = 0;
  let turn = 0;
  // The log's sampling: a fixed one-minute window, and the mismatches left out since the last one logged.
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  // Each copy's own signal (one listener on `closing` for all, not one per copy).
  const running = new Set<AbortController>();
  const { closing } = options;
  closing.addEventListener(
    'abort',
    () => {
      for (const controller of running) controller.abort(new Error(`shadow of subgraph "${subgraph}" closed`));
    },
    { once: true },
  );

  const publish = (event: ShadowEvent): void => {
    if (shadowChannel.hasSubscribers) shadowChannel.publish(event);
  };

  const sampled = (): boolean => {
    const now = Date.now();
    if (now - windowStart >= MINUTE_MS) {
      windowStart = now;
      logged = 0;
    }
    if (logged >= options.logPerMinute) return false;
    logged++;
    return true;
  };

  /** A failure that is an answer about the request (gRPC NOT_FOUND...), not the client leaving or time running out. */
  const answered = (error: TesseraError): boolean => error.code !== 'REQUEST_ABORTED' && error.code !== 'GATEWAY_TIMEOUT' && protocol.healthyFailure(error);

  /** Sends the copy of `original` and compares its outcome with the primary's (`primary`). Never throws. */
  const copy = (original: C, primaryMember: M | undefined, primary: ShadowView): void => {
    if (closing.aborted) return;
    const base = { subgraph, version, primaryVersion: primaryMember?.version, operation: original.endpoint ?? original.operation };
    if (inFlight >= concurrency) {
      publish({ ...base, outcome: 'dropped' });
      return;
    }
    const now = targets();
    if (now.length === 0) {
      // A discovered version with no instance at this moment: nothing to send the copy to.
      publish({ ...base, outcome: 'failed', code: 'SOURCE_UNAVAILABLE' });
      return;
    }
    inFlight++;
    const controller = new AbortController();
    running.add(controller);
    const target = now[turn++ % now.length]!;
    const call = {
      ...original,
      scope: createScope({ deadlineMs: timeoutMs, signal: controller.signal }),
      attempt: 0,
      tried: undefined,
      member: target,
      timeoutMs,
      traceHeaders: undefined,
    } as C;
    const started = performance.now();
    const settle = (view: ShadowView | undefined, error: TesseraError | undefined): void => {
      inFlight--;
      running.delete(controller);
      if (closing.aborted) return;
      const durationMs = performance.now() - started;
      if (!view) {
        const outcome: ShadowOutcome = error?.code === 'GATEWAY_TIMEOUT' ? 'timeout' : 'failed';
        publish({ ...base, outcome, durationMs, code: error?.code });
        return;
      }
      let difference;
      try {
        difference = compareAnswers(primary, view, ignored);
      } catch (failure) {
        // An answer that cannot be read is a shadow that failed, not a gateway error.
        publish({ ...base, outcome: 'failed', durationMs, code: (failure as Error).name });
        return;
      }
      if (!difference) {
        publish({ ...base, outcome: 'match', durationMs });
        return;
      }
      if (!shadowChannel.hasSubscribers) return;
      if (!sampled()) {
        suppressed++;
        publish({ ...base, outcome: 'mismatch', durationMs });
        return;
      }
      const diff = { path: difference.path, primary: excerpt(difference, 'primary'), shadow: excerpt(difference, 'shadow'), suppressed };
      suppressed = 0;
      publish({ ...base, outcome: 'mismatch', durationMs, diff });
    };
    let sent: Promise<R>;
    try {
      sent = protocol.attempt(call);
    } catch (error) {
      sent = Promise.reject(error as Error);
    }
    sent.then(
      (result) => settle(protocol.view(result), undefined),
      (error: TesseraError) => settle(answered(error) ? protocol.failureView(error) : undefined, error),
    );
  };

  return (next: Send<C, R>) => (call) => {
    if (!call.idempotent || (percent < 100 && Math.random() * 100 >= percent)) return next(call);
    // Taken before the stages below change the call (the cache's conditional headers, the per-attempt fields).
    const original = { ...call };
    const pending = next(call);
    pending.then(
      (result) => {
        if (call.member && isTarget(call.member)) return;
        copy(original, call.member, protocol.view(result));
      },
      (error: TesseraError) => {
        if (!answered(error) || (call.member && isTarget(call.member))) return;
        copy(original, call.member, protocol.failureView(error));
      },
    )
      // copy() settles every copy itself; nothing the client waits on can fail here.
      .catch(() => undefined);
    return pending;
  };
}

export type { ShadowEvent, ShadowOutcome };
