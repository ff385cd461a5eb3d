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
import { RedisConnection, type StoreHealth } from './redis.js';

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
 * primary's: PRIMARY_TIMEOUT_MS), already counted and logged under the
 * store's `use`: a failed `get` as a miss; a `set` or `delete` is a shared
 * write (StoreHealth.write: tried again within `store.writeAttempts`, and
 * rejects only once it is dropped).
 */
export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  /** The Redis connection behind a redis store (undefined for memory). */
  readonly connection?: RedisConnection;
  /** ttlMs, when given: a value found lives ttlMs from now (Redis GETEX PX), so that readers keep a key alive. */
  get(key: string, ttlMs?: number): Promise<string | undefined>;
  /** ttlMs: 0 or omitted keeps the value until it is evicted (memory) or deleted. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface Stores {
  /** The shared connection for a redis:// store (created on first use). */
  redis(config: StoreConfig): RedisConnection;
  /**
   * A key-value store at `config`, its keys under `namespace` (e.g. "apq"). Memory stores keep at most
   * `maxEntries`. `use` names its failures in logs and metrics (the namespace by default).
   */
  kv(config: StoreConfig, namespace: string, options?: { maxEntries?: number; use?: string }): KeyValueStore;
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
    const id = `${config.url}|${config.timeout}|${config.writeAttempts}`;
    let connection = connections.get(id);
    if (!connection) {
      connection = new RedisConnection(config.url, config.timeout, logger.child({ component: 'store' }), config.writeAttempts);
      connections.set(id, connection);
    }
    return connection;
  };

  return {
    redis,
    primary,
    kv(config, namespace, options = {}) {
      const use = options.use ?? namespace;
      if (config.url === 'memory') return primary ? sharedStore(primary, namespace, options.maxEntries ?? 10_000, use) : memoryStore(options.maxEntries ?? 10_000);
      return redisStore(redis(config), `${config.prefix}${namespace}:`, use);
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
    get: async (key, ttlMs) => {
      const value = entries.get(key);
      if (value !== undefined && ttlMs) entries.set(key, value, { ttl: ttlMs });
      return value;
    },
    set: async (key, value, ttlMs) => {
      entries.set(key, value, ttlMs ? { ttl: ttlMs } : undefined);
    },
    delete: async (key) => {
      entries.delete(key);
    },
  };
}

/** A memory store of a cluster worker: the entries are in the primary's LRU for `namespace`, the same for every worker. */
function sharedStore(link: PrimaryLink, namespace: string, maxEntries: number, use: string): KeyValueStore {
  const { client } = link;
  return {
    kind: 'memory',
    get: (key, ttlMs) => read(link, use, async () => (await client.request('kv.get', namespace, maxEntries, key, ttlMs ?? 0)) ?? undefined),
    set: (key, value, ttlMs) => write(link, use, () => client.request('kv.set', namespace, maxEntries, key, value, ttlMs ?? 0), key),
    delete: (key) => write(link, use, () => client.request('kv.delete', namespace, maxEntries, key), key),
  };
}

function redisStore(connection: RedisConnection, prefix: string, use: string): KeyValueStore {
  const { client } = connection;
  return {
    kind: 'redis',
    connection,
    get: (key, ttlMs) => read(connection, use, async () => (await (ttlMs ? client.getex(prefix + key, 'PX', ttlMs) : client.get(prefix + key))) ?? undefined),
    set: (key, value, ttlMs) => write(connection, use, () => (ttlMs ? client.set(prefix + key, value, 'PX', ttlMs) : client.set(prefix + key, value)), key),
    delete: (key) => write(connection, use, () => client.del(prefix + key), key),
  };
}

/** A read: its answer, or (counted as a miss) StoreUnavailableError. */
async function read<T>(health: StoreHealth, use: string, command: () => Promise<T>): Promise<T> {
  try {
    const value = await command();
    health.succeeded();
    return value;
  } catch (error) {
    health.failed(use, 'miss', error);
    throw new StoreUnavailableError(health.name, error);
  }
}

/** A shared write (StoreHealth.write): resolves once written; rejects with StoreUnavailableError once dropped (counted and logged). */
async function write(health: StoreHealth, use: string, command: () => Promise<unknown>, key: string): Promise<void> {
  let failure: unknown;
  const written = await health.write(
    use,
    () =>
      command().catch((error: unknown) => {
        failure = error;
        throw error;
      }),
    { key },
  );
  if (!written) throw new StoreUnavailableError(health.name, failure);
}
