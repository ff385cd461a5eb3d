/**
 * One ioredis client per Redis URL, shared by every user of that store (rate
 * limits, response cache, persisted operations). Commands never wait on a
 * Redis that is down or slow: each has a short timeout (50 ms by default) and
 * nothing is queued while disconnected, so a failed command rejects at once
 * and its caller falls back (fail open or closed). Outages are logged once
 * when they start and once when they end, counted in `stats`, and published
 * on `tessera:store` for metrics.
 */
import { channel } from 'node:diagnostics_channel';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { EVENTS, type StoreEvent } from '../events.js';
import { ioredis } from '../load-on-use.js';

export type { StoreEvent };

/** Published once per failed store command and per shared write retried or dropped (free when nobody listens). */
export const storeChannel = channel(EVENTS.store);

/** Dropped shared writes are logged at most once per use in this interval, with the number dropped since the last line. */
const DROPPED_LOG_INTERVAL_MS = 10_000;

/** How long start-up waits for a first connection before serving with the store down. */
const CONNECT_WAIT_MS = 1000;

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(invalid url)';
  }
}

/**
 * A store's outage bookkeeping: failed commands counted in `stats` by what
 * the caller did instead, published on `tessera:store`, and logged once when
 * an outage starts and once when it ends. Shared by a Redis connection and a
 * worker's link to the cluster primary (cluster.ts).
 */
export class StoreHealth {
  /** Failed commands, by what the caller did instead; shared writes tried again (retried) and given up (dropped). */
  readonly stats = { open: 0, closed: 0, miss: 0, retried: 0, dropped: 0 };
  private down = false;
  /** Per use: when a dropped write was last logged, and how many were dropped since without a line. */
  private readonly droppedLog = new Map<string, { at: number; unlogged: number }>();

  constructor(
    readonly name: string,
    /** Who did not answer, for the log line: "Redis", "the cluster primary". */
    private readonly who: string,
    private readonly logger: Logger,
    /** Tries of one shared write (`write()`). */
    readonly writeAttempts = 1,
  ) {}

  /**
   * One shared write: `attempt` is tried up to `writeAttempts` times, tried
   * again only while `retryable()` (a Redis that is connected but answered
   * too late; one that is down fails at once). Every write here is
   * idempotent (a SET of the same value, a set-add, a delete), so a timed-out
   * try that reached Redis after all does no harm. Resolves true once written;
   * false when no try got through: then it is counted and logged as dropped
   * (`what` names it in the log line), and the caller goes on without it.
   */
  async write(use: string, attempt: () => Promise<unknown>, what: Record<string, unknown> = {}): Promise<boolean> {
    for (let tried = 1; ; tried++) {
      try {
        await attempt();
        this.succeeded();
        return true;
      } catch (error) {
        if (tried < this.writeAttempts && this.retryable()) {
          this.failed(use, 'retried', error);
          continue;
        }
        this.dropped(use, error, { ...what, attempts: tried });
        return false;
      }
    }
  }

  /**
   * A shared write given up (or not tried: the store is down): counted,
   * published, and logged at warn, at most one line per use per 10 s with
   * the number dropped since the last line. Other replicas will not see it.
   */
  dropped(use: string, error: unknown, what: Record<string, unknown> = {}): void {
    this.failed(use, 'dropped', error);
    const now = Date.now();
    const log = this.droppedLog.get(use);
    if (log && now - log.at < DROPPED_LOG_INTERVAL_MS) {
      log.unlogged++;
      return;
    }
    const dropped = (log?.unlogged ?? 0) + 1;
    this.droppedLog.set(use, { at: now, unlogged: 0 });
    this.logger.warn(
      { store: this.name, use, dropped, ...what, err: error },
      `shared write dropped: ${this.who} did not take a ${use} write; other replicas will not see it (tessera_store_failures_total{fallback="dropped"})`,
    );
  }

  /** Whether a write that failed is worth another try now. */
  protected retryable(): boolean {
    return true;
  }

  /** Records a failed command: counted, published, and logged when an outage starts. */
  failed(use: string, fallback: StoreEvent['fallback'], error: unknown): void {
    this.stats[fallback]++;
    const message = error instanceof Error ? error.message : String(error);
    if (storeChannel.hasSubscribers) storeChannel.publish({ store: this.name, use, fallback, error: message } satisfies StoreEvent);
    this.markDown(error, use, fallback);
  }

  markDown(error: unknown, use?: string, fallback?: string): void {
    if (this.down) return;
    this.down = true;
    this.logger.warn({ store: this.name, use, fallback, err: error }, `store unavailable: ${this.who} did not answer; falling back until it does`);
  }

  /** Records a command that worked (cheap): ends an outage. */
  succeeded(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info({ store: this.name, stats: { ...this.stats } }, 'store available again');
  }
}

export class RedisConnection extends StoreHealth {
  readonly client: Redis;

  constructor(
    url: string,
    readonly timeout: number,
    logger: Logger,
    writeAttempts = 1,
  ) {
    super(redactUrl(url), 'Redis', logger, writeAttempts);
    // ioredis is loaded here, on first use (load-on-use.ts).
    const { Redis: Client } = ioredis();
    this.client = new Client(url, {
      commandTimeout: timeout,
      // While disconnected a command fails at once instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      // Reconnect soon (at most every second) so recovery follows Redis's return quickly.
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: false,
    });
    this.client.on('error', (error: Error) => this.markDown(error));
    this.client.on('ready', () => this.succeeded());
  }

  /** A timed-out write is tried again while connected; a Redis that is down fails every try at once. */
  protected override retryable(): boolean {
    return this.ready;
  }

  /** True while connected; callers may skip a command that would fail anyway. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves when connected, or after a short wait (the gateway then starts with the store down, and falls back). */
  async connected(): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, CONNECT_WAIT_MS);
      this.client.once('ready', done);
    });
  }

  close(): void {
    this.client.disconnect();
  }
}
