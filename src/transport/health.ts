/**
 * Active health checks, per instance (descriptor `health:`). Each instance of
 * an upstream is checked every `interval` (each wait jittered by ±10%, the
 * first one at a random point of the first tenth of the interval, at most
 * 500 ms, so that instances and gateway replicas do not check in step); `unhealthyAfter` failed checks in a row mark
 * it down, `healthyAfter` passed checks in a row mark it up again. The first
 * check decides at once (an instance is `unchecked` until then, and gets
 * traffic). A down instance gets no traffic (breaker.ts chooseInstance skips
 * it like an open breaker), unless every instance of the upstream is down.
 *
 * What a check is depends on the protocol (http.ts: a GET of `path`, 2xx
 * healthy, or GraphQL's `{ __typename }`; grpc.ts: grpc.health.v1); it is one
 * function here, answering undefined (healthy) or why not. Each verdict that
 * changes is published on `tessera:instance-health`.
 */
import { channel } from 'node:diagnostics_channel';
import { EVENTS, type InstanceHealthEvent } from '../events.js';

export interface HealthOptions {
  /** REST: the path to GET; GraphQL: a path to GET instead of the `{ __typename }` query. */
  path?: string;
  /** gRPC: the service asked about ("" for the server). */
  service: string;
  /** Sent with every check (HTTP headers, gRPC metadata): the descriptor's static `headers.set`, as calls send them (a service credential the upstream asks of every request). */
  headers?: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
  unhealthyAfter: number;
  healthyAfter: number;
}

/** One check of one instance: undefined when healthy, else why not (`HTTP 503`, `ECONNREFUSED 127.0.0.1:4001`). */
export type HealthCheck = (timeoutMs: number) => Promise<string | undefined>;

export const instanceHealthChannel = channel(EVENTS.instanceHealth);

export type HealthState = 'unchecked' | 'up' | 'down';

/** The verdict on one instance, from its checks in a row. */
export class InstanceHealth {
  state: HealthState = 'unchecked';
  /** Why the last failed check failed. */
  reason: string | undefined;
  private passed = 0;
  private failed = 0;

  constructor(
    private readonly options: Pick<HealthOptions, 'unhealthyAfter' | 'healthyAfter'>,
    private readonly onChange?: (state: 'up' | 'down', reason: string | undefined) => void,
    /** An instance that appeared while the upstream served (discovery.ts): no traffic until its first check passed. */
    private readonly gated = false,
  ) {}

  get down(): boolean {
    return this.state === 'down' || (this.gated && this.state === 'unchecked');
  }

  /** Records one check's outcome (undefined: passed). */
  record(reason: string | undefined): void {
    if (reason === undefined) {
      this.passed++;
      this.failed = 0;
      if (this.state === 'unchecked' || (this.state === 'down' && this.passed >= this.options.healthyAfter)) this.set('up');
    } else {
      this.failed++;
      this.passed = 0;
      this.reason = reason;
      if (this.state === 'unchecked' || (this.state === 'up' && this.failed >= this.options.unhealthyAfter)) this.set('down');
    }
  }

  private set(state: 'up' | 'down'): void {
    this.state = state;
    this.onChange?.(state, state === 'down' ? this.reason : undefined);
  }
}

/** The health of one instance, publishing its changes on `tessera:instance-health`. */
export function instanceHealth(options: HealthOptions, subgraph: string, instance: string, gated = false): InstanceHealth {
  return new InstanceHealth(
    options,
    (state, reason) => {
      if (instanceHealthChannel.hasSubscribers) instanceHealthChannel.publish({ subgraph, instance, state, ...(reason !== undefined && { reason }) } satisfies InstanceHealthEvent);
    },
    gated,
  );
}

/** A wait of about `ms`: ±10%. */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.9 + 0.2 * random()));
}

export interface HealthTarget {
  health?: InstanceHealth;
}

/** Stops every check; `add` and `remove` change the instances checked (discovery.ts). */
export type HealthChecks<M> = (() => void) & { add(member: M): void; remove(member: M): void };

/**
 * Checks each instance at its interval until stopped. `check` is the
 * protocol's; a check that throws counts as failed with its message. An
 * instance added later gets its first check soon, like those at the start;
 * one removed is not checked again (a check of it under way is ignored).
 */
export function runHealthChecks<M extends HealthTarget>(members: readonly M[], options: HealthOptions, check: (member: M, timeoutMs: number) => Promise<string | undefined>, random: () => number = Math.random): HealthChecks<M> {
  const timers = new Map<M, NodeJS.Timeout>();
  const checked = new Set<M>();
  const schedule = (member: M, waitMs: number): void => {
    const timer = setTimeout(() => {
      timers.delete(member);
      check(member, options.timeoutMs)
        .catch((error: unknown) => (error as Error).message || 'check failed')
        .then((reason) => {
          if (!checked.has(member)) return;
          member.health?.record(reason);
          schedule(member, jittered(options.intervalMs, random));
        });
    }, waitMs);
    // Checks never keep a process alive on their own.
    timer.unref();
    timers.set(member, timer);
  };
  // The first check soon, spread over a tenth of the interval: a verdict early, not in step.
  const add = (member: M): void => {
    if (checked.has(member)) return;
    checked.add(member);
    schedule(member, Math.round(random() * Math.min(options.intervalMs / 10, 500)));
  };
  const remove = (member: M): void => {
    checked.delete(member);
    clearTimeout(timers.get(member));
    timers.delete(member);
  };
  for (const member of members) add(member);
  const stop = (): void => {
    for (const member of [...checked]) remove(member);
  };
  return Object.assign(stop, { add, remove });
}
