/**
 * Rate limits per consumer, operation name and channel, charged per operation
 * (1, or its computed cost for `cost: true` rules). Runs when an operation is
 * about to execute, or a subscription to start (over SSE or WebSocket): after
 * authentication (the consumer is known) and after validation (a malformed
 * request never costs a point); before the response cache, so cached answers
 * are metered too.
 *
 * A subscription also holds one of its consumer's open-subscription slots
 * (rateLimit.subscriptions, per channel and process) from its start until its
 * stream ends: completed, failed, cancelled by the client, or cut at
 * server.subscriptionDeadline.
 *
 * Over a limit: HTTP 429, code RATE_LIMITED, with Retry-After and
 * RateLimit-Limit / -Remaining / -Reset / -Policy of the exhausted rule. Under
 * it, the RateLimit-* headers of the rule closest to its limit (when
 * `rateLimit.headers`). With the store down and onStoreError "closed": 503,
 * RATE_LIMIT_STORE_UNAVAILABLE. One subscription more than the consumer may
 * hold open: 429, RATE_LIMITED, naming the limit and its key.
 *
 * Every refusal is published on `tessera:rate-limit` (free when nobody
 * listens) with the rule that refused: its name, `__subscriptions` for the
 * open-subscription limit, `__store_unavailable` when the store could not be
 * asked and onStoreError is "closed".
 */
import { channel as diagnosticsChannel } from 'node:diagnostics_channel';
import { isAsyncIterable, type OnSubscribeHookResult } from '@envelop/core';
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, Kind, type DocumentNode, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { TesseraError } from '../errors.js';
import type { RequestScope } from '../request-scope.js';
import { estimateCost } from './cost.js';
import type { LimitOutcome } from './limiter.js';
import { refusal } from './refusal.js';
import type { SubscriptionSlots } from './subscription-slots.js';
import type { CompiledRule, RateLimits } from './traffic.js';
import { EVENTS, type RateLimitEvent } from '../events.js';

export interface RateLimitOptions {
  limits: RateLimits;
  /** The channel this chain serves. */
  channel: string;
}

export const rateLimitChannel = diagnosticsChannel(EVENTS.rateLimit);
export const SUBSCRIPTIONS_RULE = '__subscriptions';
export const STORE_UNAVAILABLE_RULE = '__store_unavailable';

function publishRefusal(channel: string, rule: string): void {
  if (rateLimitChannel.hasSubscribers) rateLimitChannel.publish({ channel, rule } satisfies RateLimitEvent);
}

interface Applied {
  rule: CompiledRule;
  key: string;
  points: number;
  outcome: LimitOutcome;
}

function operationName(document: DocumentNode, given: string | null | undefined): string {
  if (given) return given;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) return definition.name?.value ?? '(anonymous)';
  }
  return '(anonymous)';
}

/** The operation's estimated cost, by the cost limit's own model (so the two always agree). */
function costOf(schema: GraphQLSchema, document: DocumentNode, name: string | null | undefined, variables: unknown, limits: RateLimits): number {
  const operation = getOperationAST(document, name);
  return operation ? estimateCost(schema, document, operation, (variables ?? undefined) as Record<string, unknown> | undefined, limits.cost) : 0;
}

/** The authenticated subject (or API key), else the client address. */
function consumerOf(context: unknown, limits: RateLimits): string {
  const identity = (context as { tessera?: RequestScope }).tessera?.identity;
  if (identity) return `${identity.kind}:${identity.subject}`;
  return `ip:${limits.clientAddress(context)}`;
}

function rateLimitHeaders({ rule, outcome }: Applied): Record<string, string> {
  const reset = Math.max(0, Math.ceil(outcome.resetMs / 1000));
  return {
    'RateLimit-Limit': String(outcome.limit),
    'RateLimit-Remaining': String(Math.max(0, outcome.remaining)),
    'RateLimit-Reset': String(reset),
    'RateLimit-Policy': `${outcome.limit};w=${rule.rule.window / 1000}`,
  };
}

/** One more subscription than the consumer may hold open: refused like an exhausted rule, without a window to wait for. */
function tooManySubscriptions(slots: SubscriptionSlots, channel: string): TesseraError {
  const { max, configKey } = slots.limitFor(channel);
  return refusal(
    'RATE_LIMITED',
    `Too many subscriptions: this consumer already holds ${max} open on channel "${channel}" (the limit, ${configKey}). End one before starting another.`,
    { extensions: { rateLimit: { subscriptions: max, configKey } } },
  );
}

function refusalFor(applied: Applied): TesseraError {
  const { rule, outcome } = applied;
  if (outcome.storeDown) {
    return refusal('RATE_LIMIT_STORE_UNAVAILABLE', 'Rate limits cannot be checked right now; retry shortly.', { headers: { 'Retry-After': '1' } });
  }
  const retryAfter = Math.max(1, Math.ceil(outcome.resetMs / 1000));
  const unit = rule.rule.cost ? 'cost points' : 'operations';
  return refusal('RATE_LIMITED', `Rate limit "${rule.rule.name}" exceeded: ${outcome.limit} ${unit} per ${rule.rule.window / 1000}s. Retry in ${retryAfter}s.`, {
    headers: { 'Retry-After': String(retryAfter), ...rateLimitHeaders(applied) },
    extensions: { rateLimit: { rule: rule.rule.name, retryAfter } },
  });
}

/**
 * A subscription's result with its slot given back when the stream ends:
 * completed, failed, or returned (the client completed it or went away).
 */
function releasingOnEnd<T>(stream: AsyncIterable<T>, release: () => void): AsyncIterableIterator<T> {
  const iterator = stream[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () =>
      iterator.next().then(
        (step) => {
          if (step.done) release();
          return step;
        },
        (error: unknown) => {
          release();
          throw error;
        },
      ),
    return: (value?: unknown) => {
      release();
      return iterator.return ? iterator.return(value) : Promise.resolve({ done: true, value: undefined as T });
    },
    throw: (error?: unknown) => {
      release();
      return iterator.throw ? iterator.throw(error) : Promise.reject(error);
    },
  };
}

export function useRateLimit(options: RateLimitOptions): Plugin {
  const { limits, channel } = options;
  // A channel with its own rules (channels.<name>.rateLimit) is metered by those alone.
  const rules = limits.byChannel.get(channel) ?? limits.rules.filter((r) => !r.channels || r.channels.has(channel));
  const slots = limits.subscriptions;
  const byOperation = rules.some((r) => r.operations || r.rule.by.includes('operation'));
  const byConsumer = rules.some((r) => r.rule.by.includes('consumer'));
  const byCost = rules.some((r) => r.rule.cost);
  const pendingHeaders = new WeakMap<Request, Record<string, string>>();

  /**
   * Charges an operation to every rule that meters it: the refusal when one is
   * exhausted (the others' points are given back first), else nothing, with the
   * RateLimit-* headers of the closest rule noted for the response.
   */
  const charge = (args: ExecutionArgs, consumer: string): Promise<TesseraError | undefined> | undefined => {
    const name = byOperation ? operationName(args.document, args.operationName) : '';
    const cost = byCost ? costOf(args.schema, args.document, args.operationName, args.variableValues, limits) : 1;
    const charged: Array<Promise<Applied>> = [];
    for (const rule of rules) {
      if (rule.operations && !rule.operations.has(name)) continue;
      let key = 'all';
      for (const part of rule.rule.by) key += part === 'consumer' ? `|c=${consumer}` : part === 'operation' ? `|o=${name}` : `|ch=${channel}`;
      const points = rule.rule.cost ? cost : 1;
      charged.push(rule.limiter.consume(key, points).then((outcome) => ({ rule, key, points, outcome })));
    }
    if (charged.length === 0) return undefined;
    return Promise.all(charged).then(async (applied) => {
      let refused: Applied | undefined;
      let closest: Applied | undefined;
      for (const a of applied) {
        if (!a.outcome.allowed) {
          if (!refused || a.outcome.storeDown || a.outcome.resetMs > refused.outcome.resetMs) refused = a;
        } else if (!closest || a.outcome.remaining / a.outcome.limit < closest.outcome.remaining / closest.outcome.limit) closest = a;
      }
      if (refused) {
        // Refused by one rule: the others give their points back (the operation does not run).
        await Promise.all(applied.filter((a) => a.outcome.allowed).map((a) => a.rule.limiter.refund(a.key, a.points)));
        publishRefusal(channel, refused.outcome.storeDown ? STORE_UNAVAILABLE_RULE : refused.rule.rule.name);
        return refusalFor(refused);
      }
      // Set on the HTTP response, not in the result, so a cached result never carries another request's counts.
      const request = (args.contextValue as { request?: Request }).request;
      if (limits.headers && closest && request) pendingHeaders.set(request, rateLimitHeaders(closest));
      return undefined;
    });
  };

  return {
    ...(rules.length > 0 && {
      onExecute({ args, setResultAndStopExecution }) {
        const charged = charge(args, byConsumer ? consumerOf(args.contextValue, limits) : '');
        return charged?.then((refused) => {
          if (refused) setResultAndStopExecution({ errors: [refused] });
        });
      },
    }),
    /**
     * A subscription is charged by the rules as a query is, when it starts, and
     * takes one of its consumer's open-subscription slots until its stream ends.
     */
    onSubscribe({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) {
      const consumer = consumerOf(args.contextValue, limits);
      const release = slots.take(channel, consumer);
      if (!release) {
        publishRefusal(channel, SUBSCRIPTIONS_RULE);
        setResultAndStopExecution({ errors: [tooManySubscriptions(slots, channel)] });
        return;
      }
      // Every way a subscription ends gives the slot back (release runs once): a client that goes away (its
      // scope aborts: HTTP connection closed, WebSocket operation completed or socket closed), even before
      // a stream started; a subscribe function that throws; a refusal after this plugin; the stream's end.
      (args.contextValue as { tessera?: RequestScope }).tessera?.onAbort(release);
      setSubscribeFn(async (subscribeArgs) => {
        try {
          return await subscribeFn(subscribeArgs);
        } catch (error) {
          release();
          throw error;
        }
      });
      const started = (): OnSubscribeHookResult<unknown> => ({
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(releasingOnEnd(result, release));
          else release();
        },
      });
      const charged = charge(args, consumer);
      if (!charged) return started();
      return charged.then(
        (refused) => {
          if (!refused) return started();
          release();
          setResultAndStopExecution({ errors: [refused] });
          return undefined;
        },
        (error: unknown) => {
          release();
          throw error;
        },
      );
    },
    ...(rules.length > 0 && {
      onResponse({ request, response }) {
        const headers = pendingHeaders.get(request);
        if (!headers) return;
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      },
    }),
  };
}
