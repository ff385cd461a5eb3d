/**
 * One rate limit (a number of points per fixed window) over rate-limiter-
 * flexible: in memory, or in Redis where the counter is one atomic script call
 * shared by every replica. In a worker of `tessera serve` the memory counters
 * are the cluster primary's (RateLimiterCluster; store/cluster.ts), so the
 * workers share one limit as one process would. When Redis (or the primary)
 * does not answer within its timeout the limiter does what `onStoreError`
 * says: `open` counts against a per-replica (per-worker) local limit
 * (failOpenRatio of the limit, 10% by default), so an outage neither blocks
 * traffic nor lifts the limit; `closed` refuses. Each fallback is counted and
 * logged by the store connection.
 */
import { RateLimiterCluster, RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { StoreConfig } from '../config/store.js';
import { PRIMARY_TIMEOUT_MS, type StoreHealth, type Stores } from '../store/index.js';

export interface LimitOutcome {
  allowed: boolean;
  /** The limit that applied (the local one while the store is down). */
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
  /** The store was down and onStoreError is "closed". */
  storeDown?: boolean;
}

export interface LimiterOptions {
  /** Names the limiter's keys (`<prefix>rl:<name>:<key>`). */
  name: string;
  limit: number;
  windowMs: number;
  store: StoreConfig;
  stores: Stores;
  onStoreError: 'open' | 'closed';
  failOpenRatio: number;
}

/** rate-limiter-flexible rejects with a RateLimiterRes when over the limit and with an Error when the store fails. */
function isLimiterRes(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && typeof (value as RateLimiterRes).msBeforeNext === 'number';
}

export class Limiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly primary: RateLimiterAbstract;
  private readonly connection?: StoreHealth;
  private readonly local?: { limiter: RateLimiterMemory; limit: number };

  constructor(private readonly options: LimiterOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    const duration = options.windowMs / 1000;
    if (options.store.url === 'memory') {
      const link = options.stores.primary;
      if (!link) {
        this.primary = new RateLimiterMemory({ points: options.limit, duration });
        return;
      }
      this.connection = link;
      this.primary = new RateLimiterCluster({
        points: options.limit,
        duration,
        // The primary keeps one counter set per prefix, made with the options of the first worker that asks:
        // naming the limit and window too means every worker using a prefix uses the same options.
        keyPrefix: `rl:${options.name}:${options.limit}/${duration}s`,
        timeoutMs: PRIMARY_TIMEOUT_MS,
      });
    } else {
      const connection = options.stores.redis(options.store);
      this.connection = connection;
      this.primary = new RateLimiterRedis({
        storeClient: connection.client,
        points: options.limit,
        duration,
        keyPrefix: `${options.store.prefix}rl:${options.name}`,
        // A disconnected client fails at once instead of waiting for the command timeout.
        rejectIfRedisNotReady: true,
      });
    }
    if (options.onStoreError === 'open') {
      const limit = Math.max(1, Math.floor(options.limit * options.failOpenRatio));
      this.local = { limiter: new RateLimiterMemory({ points: limit, duration }), limit };
    }
  }

  async consume(key: string, points = 1): Promise<LimitOutcome> {
    try {
      const res = await this.primary.consume(key, points);
      this.connection?.succeeded();
      return { allowed: true, limit: this.limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
    } catch (error) {
      if (isLimiterRes(error)) {
        this.connection?.succeeded();
        // A refused operation costs nothing: the points it was charged go back, so a cheaper one can still fit.
        await this.refund(key, points);
        return { allowed: false, limit: this.limit, remaining: Math.max(0, this.limit - (error.consumedPoints - points)), resetMs: error.msBeforeNext };
      }
      this.connection?.failed('rate-limit', this.options.onStoreError, error);
      if (!this.local) return { allowed: false, limit: this.limit, remaining: 0, resetMs: 1000, storeDown: true };
      return this.consumeLocally(this.local, key, points);
    }
  }

  /**
   * Gives back points charged for an operation that was refused (by this or
   * another rule). Not tried again (a reward is not idempotent): one the store
   * did not take is counted and logged as a dropped write (use
   * rate-limit-refund); the charge then stays until its window ends.
   */
  async refund(key: string, points = 1): Promise<void> {
    try {
      await this.primary.reward(key, points);
    } catch (error) {
      this.connection?.dropped('rate-limit-refund', error, { rule: this.options.name, points });
    }
  }

  private async consumeLocally(local: { limiter: RateLimiterMemory; limit: number }, key: string, points: number): Promise<LimitOutcome> {
    try {
      const res = await local.limiter.consume(key, points);
      return { allowed: true, limit: local.limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
    } catch (error) {
      if (!isLimiterRes(error)) throw error;
      await local.limiter.reward(key, points);
      return { allowed: false, limit: local.limit, remaining: Math.max(0, local.limit - (error.consumedPoints - points)), resetMs: error.msBeforeNext };
    }
  }
}
