/**
 * Shared state for the gateway's policies: a small key-value interface over
 * memory (one process; for the workers of `tessera serve`, the cluster
 * primary's memory, store/cluster.ts) or Redis (every replica), and one Redis
 * connection per URL for users that need Redis itself (the rate limiter's
 * atomic counters, the response cache's entity index). Built once per
 * gateway, closed with it.
 *
 * What belongs here: connections, timeouts, fallbacks, keys. What does not:
 * GraphQL policy (that is plugins/).
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/store.js';
import { primaryLink, serveSharedState as serveStores, type PrimaryLink } from './cluster.js';
import { ClusterWorkers } from './cluster-group.js';
import { clusterScrape } from './cluster-metrics.js';
import { StoreUnavailableError } from './errors.js';
import { RedisConnection } from './redis.js';

export { RedisConnection, StoreHealth, storeChannel, type StoreEvent } from './redis.js';
export { PRIMARY_TIMEOUT_MS, PrimaryLink } from './cluster.js';
export { CLUSTER_METRIC_NAMES, workerMetrics, type WorkerMetrics } from './cluster-metrics.js';
export { processGroup, type GroupAnswers, type ProcessGroup } from './cluster-group.js';

/**
 * Starts, in the cluster primary of `tessera serve` and before the first
 * fork, what the workers share through it: their memory stores (cluster.ts),
 * one metrics scrape for all of them (cluster-metrics.ts) and the questions
 * a worker puts to all of them (cluster-group.ts: the status page, the admin
 * API). Returns the environment to fork the workers with.
 */
export function serveSharedState(): { env: Record<string, string> } {
  const workers = ClusterWorkers.ofCluster();
  return serveStores({ 'metrics.scrape': clusterScrape(workers), 'group.gather': workers.gather });
}
export { StoreUnavailableError } from './errors.js';

/**
 * A string key-value store. Keys are namespaced by the store (prefix and
 * namespace), so callers use short keys. Redis failures reject with a
 * StoreUnavailableError after at most the store's timeout (a cluster
 * primary's: PRIMARY_TIMEOUT_MS); the caller decides whether that is a miss
 * or a refusal, and tells the connection (`connection.failed`) so it is
 * logged and counted.
 */
export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  /** The Redis connection behind a redis store (undefined for memory). */
  readonly connection?: RedisConnection;
  get(key: string): Promise<string | undefined>;
  /** ttlMs: 0 or omitted keeps the value until it is evicted (memory) or deleted. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface Stores {
  /** The shared connection for a redis:// store (created on first use). */
  redis(config: StoreConfig): RedisConnection;
  /** A key-value store at `config`, its keys under `namespace` (e.g. "apq"). Memory stores keep at most `maxEntries`. */
  kv(config: StoreConfig, namespace: string, options?: { maxEntries?: number }): KeyValueStore;
  /**
   * In a worker of `tessera serve`: the link to the cluster primary, which
   * holds the memory stores of every worker (kv namespaces here, the
   * response cache and rate-limit counters in their users). Undefined in
   * any other process, where memory stores are this process's own.
   */
  readonly primary?: PrimaryLink;
  /** Waits (briefly) for every Redis connection made so far; start-up goes on if one is down. */
  connected(): Promise<void>;
  close(): Promise<void>;
}

export function createStores(logger: Logger): Stores {
  const connections = new Map<string, RedisConnection>();
  const primary = primaryLink(logger.child({ component: 'store' }));

  const redis = (config: StoreConfig): RedisConnection => {
    if (config.url === 'memory') throw new Error('a memory store has no Redis connection');
    const id = `${config.url}|${config.timeout}`;
    let connection = connections.get(id);
    if (!connection) {
      connection = new RedisConnection(config.url, config.timeout, logger.child({ component: 'store' }));
      connections.set(id, connection);
    }
    return connection;
  };

  return {
    redis,
    primary,
    kv(config, namespace, options = {}) {
      if (config.url === 'memory') return primary ? sharedStore(primary, namespace, options.maxEntries ?? 10_000) : memoryStore(options.maxEntries ?? 10_000);
      return redisStore(redis(config), `${config.prefix}${namespace}:`);
    },
    async connected() {
      await Promise.all([...connections.values()].map((c) => c.connected()));
    },
    async close() {
      for (const connection of connections.values()) connection.close();
      connections.clear();
    },
  };
}

function memoryStore(maxEntries: number): KeyValueStore {
  const entries = new LRUCache<string, string>({ max: maxEntries });
  return {
    kind: 'memory',
    get: async (key) => entries.get(key),
    set: async (key, value, ttlMs) => {
      entries.set(key, value, ttlMs ? { ttl: ttlMs } : undefined);
    },
    delete: async (key) => {
      entries.delete(key);
    },
  };
}

/** A memory store of a cluster worker: the entries are in the primary's LRU for `namespace`, the same for every worker. */
function sharedStore(link: PrimaryLink, namespace: string, maxEntries: number): KeyValueStore {
  const { client } = link;
  const answered = <T>(value: T): T => {
    link.succeeded();
    return value;
  };
  return {
    kind: 'memory',
    get: async (key) => answered(await client.request('kv.get', namespace, maxEntries, key)) ?? undefined,
    set: async (key, value, ttlMs) => {
      answered(await client.request('kv.set', namespace, maxEntries, key, value, ttlMs ?? 0));
    },
    delete: async (key) => {
      answered(await client.request('kv.delete', namespace, maxEntries, key));
    },
  };
}

function redisStore(connection: RedisConnection, prefix: string): KeyValueStore {
  const { client } = connection;
  const guard = async <T>(command: () => Promise<T>): Promise<T> => {
    try {
      const value = await command();
      connection.succeeded();
      return value;
    } catch (error) {
      throw new StoreUnavailableError(connection.name, error);
    }
  };
  return {
    kind: 'redis',
    connection,
    get: (key) => guard(async () => (await client.get(prefix + key)) ?? undefined),
    set: (key, value, ttlMs) =>
      guard(async () => {
        if (ttlMs) await client.set(prefix + key, value, 'PX', ttlMs);
        else await client.set(prefix + key, value);
      }),
    delete: (key) =>
      guard(async () => {
        await client.del(prefix + key);
      }),
  };
}
