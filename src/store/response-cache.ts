/**
 * Where the response cache keeps responses: the `Cache` interface of
 * @envelop/response-cache over memory (its size-bounded LRU; for the workers
 * of `tessera serve`, the one in the cluster primary, store/cluster.ts) or
 * Redis (shared by replicas). Each entry carries its expiry and an ETag, so a
 * hit can be answered with an accurate `Cache-Control: max-age` and `ETag`.
 *
 * In Redis, a response lives at `<prefix>rc:r:<key>` with its TTL, and every
 * entity it contains (`Type` and `Type:id`) is a set of response keys, so a
 * mutation naming `Product:1` deletes every response that contains it, on
 * every replica. A Redis that is down or slow is a cache miss (counted and
 * logged by the connection), never an error for the client. Writes (an entry,
 * an invalidation) are shared writes (StoreHealth.write): tried again after a
 * timeout within `store.writeAttempts`, else counted and logged as dropped
 * (`use` response-cache or cache-invalidation; a dropped invalidation leaves
 * other replicas serving the old entry until its TTL ends).
 */
import type { Cache, CacheEntityRecord } from '@envelop/response-cache';
import { createInMemoryCache } from '@envelop/response-cache';
import type { ExecutionResult } from 'graphql';
import type { PrimaryLink } from './cluster.js';
import type { RedisConnection } from './redis.js';

/** What the cache knows about a result it returned or stored. */
export interface CachedMeta {
  hit: boolean;
  /** Epoch ms when the entry expires. */
  expires: number;
  etag: string;
  /** Settles when the entry is written (Redis); the response waits for it so the next request sees it. */
  written?: Promise<void>;
}

/** A cached response as stored: in memory, in the cluster primary (as JSON over IPC) and in Redis (as JSON). */
export interface Entry {
  r: ExecutionResult;
  /** expires, epoch ms */
  x: number;
  /** ETag */
  t: string;
}

export interface ResponseCacheStore extends Cache {
  /** Metadata of a result this store just returned (a hit) or stored (a miss it cached); undefined otherwise. */
  meta(result: unknown): CachedMeta | undefined;
  /** Settles when the invalidations started so far are done (a mutation's response waits for it). */
  invalidated(): Promise<void>;
}

/** `Product:1`, or `Product` for every entity of a type: how an invalidation names what it drops, in a log line. */
function entityName(entity: CacheEntityRecord): string {
  return entity.id == null ? entity.typename : `${entity.typename}:${String(entity.id)}`;
}

function nothing(): void {
  // A write's outcome is counted and logged by the store; the response only waits for it.
}

function etagFor(key: string, now: number): string {
  // The key is a SHA-256 of the operation, variables and caller; with the store time it names this content.
  return `"${key.slice(0, 20)}-${now.toString(36)}"`;
}

export function memoryResponseCache(maxEntries: number): ResponseCacheStore {
  const inner = createInMemoryCache({ max: maxEntries });
  const metas = new WeakMap<object, CachedMeta>();
  return {
    get(key) {
      const entry = inner.get(key) as unknown as Entry | null | undefined;
      if (!entry) return undefined;
      // A copy per hit, so the metadata of this response is its own.
      const result = { ...entry.r };
      metas.set(result, { hit: true, expires: entry.x, etag: entry.t });
      return result;
    },
    set(key, result, entities, ttl) {
      const now = Date.now();
      const entry: Entry = { r: result, x: now + ttl, t: etagFor(key, now) };
      metas.set(result, { hit: false, expires: entry.x, etag: entry.t });
      inner.set(key, entry as unknown as ExecutionResult, entities, ttl);
    },
    invalidate(entities) {
      inner.invalidate(entities);
    },
    meta(result) {
      return typeof result === 'object' && result !== null ? metas.get(result) : undefined;
    },
    invalidated: () => Promise.resolve(),
  };
}

/** Invalidations still on their way to a shared store: a mutation's response waits for them (`invalidated()`). */
function pendingInvalidations(): { track(done: Promise<void>): void; settled(): Promise<void> } {
  const pending = new Set<Promise<void>>();
  return {
    track(done) {
      pending.add(done);
      void done.finally(() => pending.delete(done));
    },
    async settled() {
      if (pending.size > 0) await Promise.all(pending);
    },
  };
}

/**
 * The memory cache of a worker of `tessera serve`: the entries live in the
 * cluster primary (one LRU and one entity index for every worker), so a
 * mutation answered by one worker drops what all of them read. As with
 * Redis, a primary that does not answer is a cache miss (counted and logged
 * by the link), never an error for the client; the entry's expiry and ETag
 * are set here, where the response is, and travel with it.
 */
export function sharedResponseCache(link: PrimaryLink, name: string, maxEntries: number): ResponseCacheStore {
  const { client } = link;
  const metas = new WeakMap<object, CachedMeta>();
  const pending = pendingInvalidations();
  const missed = (error: unknown): void => link.failed('response-cache', 'miss', error);

  return {
    async get(key) {
      let entry: Entry | null;
      try {
        entry = await client.request('rc.get', name, maxEntries, key);
        link.succeeded();
      } catch (error) {
        missed(error);
        return undefined;
      }
      if (!entry) return undefined;
      metas.set(entry.r, { hit: true, expires: entry.x, etag: entry.t });
      return entry.r;
    },
    set(key, result, entities, ttl) {
      const now = Date.now();
      const entry: Entry = { r: result, x: now + ttl, t: etagFor(key, now) };
      // The entities are an iterator the plugin reuses: read them now. The entry is serialized as it is sent, now too.
      const list = [...entities];
      const written = link.write('response-cache', () => client.request('rc.set', name, maxEntries, key, entry, list, ttl), { key }).then(nothing);
      metas.set(result, { hit: false, expires: entry.x, etag: entry.t, written });
    },
    invalidate(entities) {
      const list = [...entities];
      if (list.length === 0) return;
      const done = link.write('cache-invalidation', () => client.request('rc.invalidate', name, maxEntries, list), { entities: list.map(entityName) }).then(nothing);
      pending.track(done);
    },
    meta(result) {
      return typeof result === 'object' && result !== null ? metas.get(result) : undefined;
    },
    invalidated: () => pending.settled(),
  };
}

const SET_SCRIPT = `
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('sadd', KEYS[i], ARGV[3])
  local left = redis.call('pttl', KEYS[i])
  if left == -1 or (left >= 0 and left < ttl) then redis.call('pexpire', KEYS[i], ttl) end
end
return 1`;

const INVALIDATE_SCRIPT = `
local deleted = 0
for i = 1, #KEYS do
  local ids = redis.call('smembers', KEYS[i])
  for _, id in ipairs(ids) do deleted = deleted + redis.call('del', ARGV[1] .. id) end
  redis.call('del', KEYS[i])
end
return deleted`;

type ScriptClient = RedisConnection['client'] & {
  tesseraCacheSet(numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  tesseraCacheInvalidate(numKeys: number, ...args: string[]): Promise<unknown>;
};

export function redisResponseCache(connection: RedisConnection, prefix: string): ResponseCacheStore {
  const client = connection.client as ScriptClient;
  if (typeof client.tesseraCacheSet !== 'function') {
    client.defineCommand('tesseraCacheSet', { lua: SET_SCRIPT });
    client.defineCommand('tesseraCacheInvalidate', { lua: INVALIDATE_SCRIPT });
  }
  const responseKey = `${prefix}rc:r:`;
  const entityKey = (e: CacheEntityRecord): string => `${prefix}rc:e:${e.typename}${e.id == null ? '' : `:${String(e.id)}`}`;
  const metas = new WeakMap<object, CachedMeta>();
  const pending = pendingInvalidations();

  return {
    async get(key) {
      if (!connection.ready) {
        // Not asked (it would fail at once), but counted as the miss it is.
        connection.failed('response-cache', 'miss', new Error('Redis is not connected'));
        return undefined;
      }
      let text: string | null;
      try {
        text = await client.get(responseKey + key);
        connection.succeeded();
      } catch (error) {
        connection.failed('response-cache', 'miss', error);
        return undefined;
      }
      if (text === null) return undefined;
      const entry = JSON.parse(text) as Entry;
      metas.set(entry.r, { hit: true, expires: entry.x, etag: entry.t });
      return entry.r;
    },
    set(key, result, entities, ttl) {
      const now = Date.now();
      const expires = now + ttl;
      const etag = etagFor(key, now);
      const keys = [responseKey + key];
      for (const entity of entities) keys.push(entityKey(entity));
      const text = JSON.stringify({ r: result, x: expires, t: etag } satisfies Entry);
      const written = connection.write('response-cache', () => client.tesseraCacheSet(keys.length, ...keys, text, Math.ceil(ttl), key), { key }).then(nothing);
      metas.set(result, { hit: false, expires, etag, written });
    },
    invalidate(entities) {
      const list = [...entities];
      if (list.length === 0) return;
      const keys = list.map(entityKey);
      const done = connection.write('cache-invalidation', () => client.tesseraCacheInvalidate(keys.length, ...keys, responseKey), { entities: list.map(entityName) }).then(nothing);
      pending.track(done);
    },
    meta(result) {
      return typeof result === 'object' && result !== null ? metas.get(result) : undefined;
    },
    invalidated: () => pending.settled(),
  };
}
