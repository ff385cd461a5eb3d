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
 */
import { channel } from 'node:diagnostics_channel';
import type { Weighted, WeightedBalancer } from './balancer.js';
import { EVENTS, type BreakerEvent, type BreakerState } from '../events.js';
export interface BreakerOptions {
  errorRate: number;
  minCalls: number;
  windowMs: number;
  openForMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { errorRate: 0.5, minCalls: 20, windowMs: 10_000, openForMs: 30_000 };

export const breakerChannel = channel(EVENTS.breaker);

/** The breaker of one upstream instance (none when turned off), publishing its state changes on `tessera:breaker`. */
export function instanceBreaker(options: BreakerOptions | false | undefined, subgraph: string, instance: string): CircuitBreaker | undefined {
  if (options === false) return undefined;
  return new CircuitBreaker(options ?? DEFAULT_BREAKER, Date.now, (state) => {
    if (breakerChannel.hasSubscribers) breakerChannel.publish({ subgraph, instance, state } satisfies BreakerEvent);
  });
}

/**
 * The instance for the next attempt of a call: one not tried yet by this call
 * when there is one, never one behind an open breaker; undefined when every
 * breaker is open. `allow()` is asked only of the instance picked: it takes
 * the one half-open probe, which an instance merely looked at must not keep.
 */
export function chooseInstance<T extends Weighted & { breaker?: CircuitBreaker }>(balancer: WeightedBalancer<T>, tried: ReadonlySet<T>): T | undefined {
  const refused = new Set<T>();
  const blocked = (m: T): boolean => refused.has(m) || (m.breaker !== undefined && !m.breaker.available());
  for (;;) {
    const member = balancer.pick((m) => tried.has(m) || blocked(m)) ?? balancer.pick(blocked);
    if (!member) return undefined;
    if (!member.breaker || member.breaker.allow()) return member;
    refused.add(member);
  }
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

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER,
    private readonly now: () => number = Date.now,
    private readonly onChange?: (state: BreakerState) => void,
  ) {}

  get current(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.options.openForMs) return 'half-open';
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
    this.set('half-open');
    return true;
  }

  /** Records the outcome of a call that `allow()` let through. */
  record(success: boolean): void {
    if (this.state === 'half-open') {
      this.probing = false;
      if (success) {
        this.reset();
        this.set('closed');
      } else {
        this.open();
      }
      return;
    }
    if (this.state === 'open') return;
    this.rotate();
    this.calls[this.bucket]!++;
    if (!success) this.failures[this.bucket]!++;
    const calls = this.calls.reduce((a, b) => a + b, 0);
    if (calls < this.options.minCalls) return;
    const failures = this.failures.reduce((a, b) => a + b, 0);
    if (failures / calls >= this.options.errorRate) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.reset();
    this.set('open');
  }

  private set(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.onChange?.(state);
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
