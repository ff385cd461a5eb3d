/**
 * A circuit breaker per upstream instance. Closed: calls pass and outcomes
 * are counted in a sliding window of 10 one-second buckets. When at least
 * `minCalls` calls in the window failed at `errorRate` or more, it opens:
 * calls fail at once (no socket, no timeout to wait out) for `openFor`.
 * Then it lets exactly one probe through (half-open); the probe's success
 * closes it, its failure opens it again.
 *
 * Defaults follow docs/reliability.md: 50% errors over >= 20 calls in 10 s,
 * 30 s open, one probe.
 *
 * The same breaker is the passive outlier detection (`outliers:`): an
 * instance whose last `consecutiveFailures` calls all failed is ejected (the
 * breaker opens, cause `consecutive-failures`), and, with
 * `outliers.failureRate`, one whose failure rate over the breaker's window
 * (at least `minCalls` calls) is `margin` or more above the other closed
 * instances' together (at least `minCalls` calls between them) is ejected
 * too (cause `failure-rate`): Envoy's failure-percentage idea, relative to
 * the fleet, so an upstream failing everywhere alike ejects nothing (the
 * error-rate trip is for that). Either way it is out for `baseEjection` ×
 * the times it was ejected in a row, unless that would put more than
 * `maxEjectedPercent` of the upstream's instances out at once (an
 * `EjectionGroup` per upstream counts them; at least one always stays). The
 * error-rate trip is not capped: every instance failing half its calls is an
 * upstream down, and failing fast is then the point.
 */
import { channel } from 'node:diagnostics_channel';
import type { Balancer, Weighted } from './balancer.js';
import type { InstanceHealth } from './health.js';
import { EVENTS, type BreakerCause, type BreakerEvent, type BreakerState } from '../events.js';
export interface BreakerOptions {
  errorRate: number;
  minCalls: number;
  windowMs: number;
  openForMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { errorRate: 0.5, minCalls: 20, windowMs: 10_000, openForMs: 30_000 };

/** Passive outlier detection (descriptor `outliers:`). */
export interface OutlierOptions {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectedPercent: number;
  /** Failure-rate ejection; off when absent. */
  failureRate?: FailureRateOptions;
}

/** An instance is a failure-rate outlier when its failure rate is `margin` above the others', each side with `minCalls` calls in the window. */
export interface FailureRateOptions {
  minCalls: number;
  margin: number;
}

export const DEFAULT_OUTLIERS: OutlierOptions = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectedPercent: 50 };

/** An ejection count goes back to 0 once the instance has stayed in this many base ejections. */
const EJECTION_MEMORY = 10;

/**
 * The instances of one upstream, for the ejection cap: how many are out
 * (breaker not closed, whatever opened it) and how many may be.
 */
export class EjectionGroup {
  private readonly out = new Set<CircuitBreaker>();
  private readonly members: CircuitBreaker[] = [];

  constructor(
    private size: number,
    private readonly maxPercent: number,
  ) {}

  /** The instance set changed (discovery.ts): `size` instances now, `gone` no longer among them. */
  resize(size: number, gone: Iterable<CircuitBreaker> = []): void {
    this.size = size;
    for (const breaker of gone) this.out.delete(breaker);
  }

  /** May one more instance be ejected now? Never more than maxPercent of them, and one always stays. */
  mayEject(): boolean {
    const allowed = Math.min(this.size - 1, Math.floor((this.size * this.maxPercent) / 100));
    return this.out.size + 1 <= allowed;
  }

  /** Called once per breaker of the upstream, when it is made. */
  add(breaker: CircuitBreaker): void {
    this.members.push(breaker);
  }

  /** Calls and failures in the window of every closed instance but `self`, together. */
  others(self: CircuitBreaker): { calls: number; failures: number } {
    const sum = { calls: 0, failures: 0 };
    for (const breaker of this.members) {
      if (breaker === self || this.out.has(breaker)) continue;
      const window = breaker.window();
      sum.calls += window.calls;
      sum.failures += window.failures;
    }
    return sum;
  }

  /** Called by a breaker on each state change. */
  changed(breaker: CircuitBreaker, state: BreakerState): void {
    if (state === 'closed') this.out.delete(breaker);
    else this.out.add(breaker);
  }
}

export const breakerChannel = channel(EVENTS.breaker);

/**
 * The breakers of one upstream's instances, sharing one ejection cap: call it
 * once per instance; `resize` when the instance set changes (discovery.ts).
 */
export type UpstreamBreakers = ((instance: string) => CircuitBreaker | undefined) & { resize(size: number, gone?: Iterable<CircuitBreaker>): void };

export function upstreamBreakers(breaker: BreakerOptions | false | undefined, outliers: OutlierOptions | false | undefined, subgraph: string, size: number): UpstreamBreakers {
  const outlierOptions = outliers === false ? undefined : (outliers ?? DEFAULT_OUTLIERS);
  const group = outlierOptions && new EjectionGroup(size, outlierOptions.maxEjectedPercent);
  const of = (instance: string): CircuitBreaker | undefined => instanceBreaker(breaker, subgraph, instance, outlierOptions && group && { options: outlierOptions, group });
  return Object.assign(of, { resize: (n: number, gone?: Iterable<CircuitBreaker>) => group?.resize(n, gone) });
}

/**
 * The breaker of one upstream instance (none when both the breaker and
 * outlier detection are off), publishing its state changes on `tessera:breaker`.
 */
export function instanceBreaker(
  options: BreakerOptions | false | undefined,
  subgraph: string,
  instance: string,
  outliers?: { options: OutlierOptions; group: EjectionGroup },
): CircuitBreaker | undefined {
  if (options === false && !outliers) return undefined;
  // Outlier detection alone: a breaker whose error rate never trips it.
  const own = options === false ? { ...DEFAULT_BREAKER, errorRate: Infinity } : (options ?? DEFAULT_BREAKER);
  const breaker: CircuitBreaker = new CircuitBreaker(
    own,
    Date.now,
    (state, cause) => {
      outliers?.group.changed(breaker, state);
      if (breakerChannel.hasSubscribers) {
        const event: BreakerEvent = { subgraph, instance, state };
        if (state === 'open') {
          event.cause = cause;
          event.openForMs = breaker.openForMs;
        }
        breakerChannel.publish(event);
      }
    },
    outliers,
  );
  outliers?.group.add(breaker);
  return breaker;
}

/**
 * The instance for the next attempt of a call: one not tried yet by this call
 * when there is one, never one behind an open breaker, and of `version` when
 * one is given; undefined when every breaker is open. `allow()` is asked only of the instance picked: it takes
 * the one half-open probe, which an instance merely looked at must not keep.
 */
export function chooseInstance<T extends Weighted & { breaker?: CircuitBreaker; health?: InstanceHealth; version?: string }>(
  balancer: Balancer<T>,
  tried: ReadonlySet<T>,
  version?: string,
): T | undefined {
  const refused = new Set<T>();
  // A sticky canary's call keeps to its version (stages/canary.ts): the other versions' instances count as refused.
  const blocked = (m: T): boolean => refused.has(m) || (version !== undefined && m.version !== version) || (m.breaker !== undefined && !m.breaker.available());
  // Instances a health check marked down get no traffic, unless every instance is down (a check that is
  // wrong everywhere must not take the whole upstream out; /readyz reports it).
  const down = (m: T): boolean => m.health?.down === true;
  const anyUp = balancer.items.some((m) => !down(m));
  const unwell = anyUp ? (m: T): boolean => down(m) || blocked(m) : blocked;
  for (;;) {
    const member = balancer.pick((m) => tried.has(m) || unwell(m)) ?? balancer.pick(unwell);
    if (!member) return undefined;
    if (!member.breaker || member.breaker.allow()) return member;
    refused.add(member);
  }
}

/** Is there an instance this call has not tried that would be chosen now (breaker and health allowing)? */
export function spareInstance<T extends Weighted & { breaker?: CircuitBreaker; health?: InstanceHealth }>(items: readonly T[], tried: ReadonlySet<T>): boolean {
  return items.some((m) => m.weight > 0 && !tried.has(m) && m.health?.down !== true && (m.breaker === undefined || m.breaker.available()));
}

const BUCKETS = 10;

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private openedAt = 0;
  private probing = false;
  private readonly calls = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  private bucketStart: number | undefined;
  private bucket = 0;
  /** Failures in a row (outlier detection). */
  private consecutive = 0;
  /** Outlier ejections in a row: the next one lasts base × (this + 1). */
  private ejections = 0;
  /** When the instance last came back (closed after a probe). */
  private closedAt = 0;
  /** What opened it last. */
  private openedBy: BreakerCause = 'error-rate';
  /** How long the breaker stays open this time: openFor after an error-rate trip, base × ejections after an ejection. */
  openForMs: number;

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
    private readonly onChange?: (state: BreakerState, cause: BreakerCause) => void,
    private readonly outliers?: { options: OutlierOptions; group: EjectionGroup },
  ) {
    this.openForMs = options.openForMs;
  }

  get current(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.openForMs) return 'half-open';
    return this.state;
  }

  /** Would `allow()` say yes? (Does not take the half-open probe.) */
  available(): boolean {
    const state = this.current;
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  /** May a call go out now? In half-open, only one probe at a time: this takes it. */
  allow(): boolean {
    const state = this.current;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probing) return false;
    this.probing = true;
    this.set('half-open', 'probe');
    return true;
  }

  /** Records the outcome of a call that `allow()` let through. */
  record(success: boolean): void {
    if (this.state === 'half-open') {
      this.probing = false;
      if (success) {
        this.reset();
        this.closedAt = this.now();
        this.set('closed', 'probe');
      } else if (this.openedBy === 'consecutive-failures' || this.openedBy === 'failure-rate') {
        // The probe of an ejected instance failed: ejected again, for longer.
        this.eject(this.openedBy);
      } else {
        this.open(this.options.openForMs, 'error-rate');
      }
      return;
    }
    if (this.state === 'open') return;
    this.consecutive = success ? 0 : this.consecutive + 1;
    this.rotate();
    this.calls[this.bucket]!++;
    if (!success) this.failures[this.bucket]!++;
    const outliers = this.outliers;
    if (outliers && !success) {
      const cause = this.consecutive >= outliers.options.consecutiveFailures ? 'consecutive-failures' : this.failureRateOutlier(outliers) ? 'failure-rate' : undefined;
      if (cause && outliers.group.mayEject()) {
        if (this.now() - this.closedAt >= EJECTION_MEMORY * outliers.options.baseEjectionMs) this.ejections = 0;
        this.eject(cause);
        return;
      }
    }
    const { calls, failures } = this.counts();
    if (calls < this.options.minCalls) return;
    if (failures / calls >= this.options.errorRate) this.open(this.options.openForMs, 'error-rate');
  }

  /** Calls and failures in the window (moved forward to now). */
  window(): { calls: number; failures: number } {
    this.rotate();
    return this.counts();
  }

  private counts(): { calls: number; failures: number } {
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i]!;
      failures += this.failures[i]!;
    }
    return { calls, failures };
  }

  /** Is this instance's failure rate over the window `margin` above the other instances' together, both with enough calls? */
  private failureRateOutlier(outliers: { options: OutlierOptions; group: EjectionGroup }): boolean {
    const rule = outliers.options.failureRate;
    if (!rule) return false;
    const own = this.counts();
    if (own.calls < rule.minCalls) return false;
    const others = outliers.group.others(this);
    if (others.calls < rule.minCalls) return false;
    return own.failures / own.calls >= others.failures / others.calls + rule.margin;
  }

  /** Times this instance was ejected in a row (outlier detection). */
  get ejected(): number {
    return this.ejections;
  }

  private eject(cause: 'consecutive-failures' | 'failure-rate'): void {
    this.ejections++;
    this.open(this.outliers!.options.baseEjectionMs * this.ejections, cause);
  }

  private open(forMs: number, cause: BreakerCause): void {
    this.openedAt = this.now();
    this.openForMs = forMs;
    this.openedBy = cause;
    this.consecutive = 0;
    this.reset();
    this.set('open', cause);
  }

  private set(state: BreakerState, cause: BreakerCause): void {
    if (this.state === state) return;
    this.state = state;
    this.onChange?.(state, cause);
  }

  private reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
  }

  /** Moves the window forward, clearing buckets older than the window. */
  private rotate(): void {
    const width = this.options.windowMs / BUCKETS;
    const now = this.now();
    this.bucketStart ??= now;
    const steps = Math.floor((now - this.bucketStart) / width);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.bucket = (this.bucket + 1) % BUCKETS;
      this.calls[this.bucket] = 0;
      this.failures[this.bucket] = 0;
    }
    this.bucketStart += steps * width;
  }
}

export type { BreakerEvent, BreakerState };
