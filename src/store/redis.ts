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
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Published once per failed store command (free when nobody listens). */
export interface StoreEvent {
  /** The Redis URL without its password. */
  store: string;
  /** What the caller did instead: served with a local limit (open), refused (closed), treated as a cache miss (miss). */
  fallback: 'open' | 'closed' | 'miss';
  /** What the command was for (rate-limit, response-cache, kv). */
  use: string;
  error: string;
}

export const storeChannel = channel('tessera:store');

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
  /** Failed commands, by what the caller did instead. */
  readonly stats = { open: 0, closed: 0, miss: 0 };
  private down = false;

  constructor(
    readonly name: string,
    /** Who did not answer, for the log line: "Redis", "the cluster primary". */
    private readonly who: string,
    private readonly logger: Logger,
  ) {}

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
  ) {
    super(redactUrl(url), 'Redis', logger);
    this.client = new Redis(url, {
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
