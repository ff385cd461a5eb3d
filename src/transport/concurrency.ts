/**
 * The adaptive concurrency limit of one upstream (descriptor `adaptiveConcurrency:`):
 * how many attempts may be in flight to the subgraph at once, all instances
 * together, adjusted from the latency each attempt sees. The algorithm is
 * AIMD, as Netflix concurrency-limits' AIMDLimit and TCP congestion
 * avoidance:
 *
 * - an attempt that answered slower than `latency`, or timed out
 *   (GATEWAY_TIMEOUT), is a drop: the limit is multiplied by `backoff`
 *   (0.75 by default), never below `minLimit`. At most one decrease per
 *   round trip: a drop of an attempt that started before the last decrease
 *   was let in under the older, larger limit and does not cut again (so a
 *   burst of slow answers arriving together is one cut, not one each).
 * - an attempt that answered within `latency` while the limit was in use
 *   (at least half of it in flight when it started) adds 1/limit: the limit
 *   grows by about one per limit's worth of answers, never above
 *   `maxLimit`. A lightly used limit does not grow, so it stays near what
 *   the upstream was last seen to take.
 * - any other failure (refused, reset, an error answer) says nothing about
 *   load and leaves the limit as it is; breakers and outlier detection
 *   judge those.
 *
 * An attempt over the limit (floor of the limit in flight already) is not
 * sent and not queued: it fails at once with SUBGRAPH_OVERLOADED
 * (stages/concurrency.ts). The limit is per process: with
 * `tessera serve --workers N` each worker has its own.
 */

export interface ConcurrencyOptions {
  /** The limit before any answer was seen. */
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** An answer slower than this, ms, is a drop. */
  latencyMs: number;
  /** Factor applied to the limit on a drop (0 < backoff < 1). */
  backoff: number;
}

export class AdaptiveLimit {
  private value: number;
  /** Attempts let in and not ended. */
  inFlight = 0;
  /** Attempts refused since the limit was made. */
  shed = 0;
  /** When (performance.now()) the limit was last cut; drops of attempts started before it do not cut again. */
  private cutAt = -Infinity;

  constructor(private readonly options: ConcurrencyOptions) {
    this.value = Math.min(options.maxLimit, Math.max(options.minLimit, options.initialLimit));
  }

  /** The number of attempts that may be in flight now. */
  get limit(): number {
    return Math.floor(this.value);
  }

  /** Takes a slot, or counts a shed call and returns false when all are taken. */
  tryAcquire(): boolean {
    if (this.inFlight >= this.limit) {
      this.shed++;
      return false;
    }
    this.inFlight++;
    return true;
  }

  /**
   * Gives the slot back with what the attempt showed. `started`: when it
   * started (performance.now()); `inUse`: in flight when it started, itself
   * included; `outcome`: `answered` in `durationMs`, `timeout`, or `other`
   * (a failure that says nothing about load).
   * Returns true when the limit (its integer part) changed.
   */
  release(started: number, inUse: number, durationMs: number, outcome: 'answered' | 'timeout' | 'other'): boolean {
    this.inFlight--;
    if (outcome === 'other') return false;
    const before = this.limit;
    const { minLimit, maxLimit, latencyMs, backoff } = this.options;
    if (outcome === 'timeout' || durationMs > latencyMs) {
      if (started < this.cutAt) return false;
      this.value = Math.max(minLimit, this.value * backoff);
      this.cutAt = performance.now();
    } else if (inUse * 2 >= this.value) {
      this.value = Math.min(maxLimit, this.value + 1 / this.value);
    }
    return this.limit !== before;
  }
}
