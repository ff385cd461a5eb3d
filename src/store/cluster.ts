/**
 * Memory stores shared by the workers of `tessera serve` (node:cluster). The
 * primary holds the one copy of each and answers the workers over the
 * cluster's IPC channel, so N workers behave as one process: a limit of 100
 * lets 100 through, not N × 100; a mutation empties the response cache every
 * worker reads; an APQ hash registered through one worker is known to all.
 *
 *   worker ── { tessera: 'tessera:state', id, op, args } ──────► primary
 *   worker ◄── { tessera: 'tessera:state', id, value | error } ── (answers from memory, at once)
 *
 * What the primary holds: one LRU per key-value namespace (`kv.*`: APQ
 * documents, one namespace per channel), one response cache (`rc.*`: entries
 * and their entity index, so an invalidation reaches every worker), each made
 * by the first request naming it; and rate-limiter-flexible's
 * RateLimiterClusterMaster, which keeps the counters of every worker's
 * RateLimiterCluster (that library's own messages, on the same channel).
 *
 * A request not answered within PRIMARY_TIMEOUT_MS, or pending when the
 * channel closes, rejects with StoreUnavailableError, as a Redis command
 * does, so callers treat it as a store outage (a cache miss, the fallback
 * limit, an APQ miss). The primary answers from memory and does nothing
 * else, so the timeout is generous: it catches a stuck primary, not a busy
 * worker.
 *
 * Only the workers a primary forked with serveSharedState's environment use
 * it. Every other process (the programmatic API, tests, `--workers 1`, a
 * cluster of the user's own) keeps its memory stores in process. What is an
 * optimisation rather than shared state stays per worker: in-flight dedupe,
 * DataLoader batches, connection pools, circuit breakers.
 */
import cluster from 'node:cluster';
import { createInMemoryCache, type CacheEntityRecord } from '@envelop/response-cache';
import type { ExecutionResult } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { RateLimiterClusterMaster } from 'rate-limiter-flexible';
import type { GroupAnswers } from './cluster-group.js';
import type { ClusterScrape } from './cluster-metrics.js';
import { StoreUnavailableError } from './errors.js';
import { StoreHealth } from './redis.js';
import type { Entry } from './response-cache.js';

/** Longest wait for the primary's answer (rate limits too); after it the store counts as unavailable. */
export const PRIMARY_TIMEOUT_MS = 1000;

/** How the primary appears in errors, logs and `tessera:store` events. */
const PRIMARY_NAME = 'cluster primary';

/** In the environment of the workers the primary forks: their memory stores are the primary's. */
const SHARED_STATE_ENV = 'TESSERA_SHARED_STATE';

/** Marks this file's messages among the others on the channel (rate-limiter-flexible's, the CLI's); cluster-group.ts's go with the same tag. */
const TAG = 'tessera:state';

/** Every operation with its arguments and answer; both cross the channel as JSON. */
export type SharedStateOps = {
  /** The Prometheus text of every worker's metrics, aggregated by the primary (cluster-metrics.ts). */
  'metrics.scrape': { args: []; value: ClusterScrape };
  /** One question put to every worker, their answers with their pids (cluster-group.ts). */
  'group.gather': { args: [op: string, args: unknown[]]; value: GroupAnswers };
  /** ttlMs, when given: a value found lives ttlMs from now (as Redis GETEX PX). */
  'kv.get': { args: [namespace: string, maxEntries: number, key: string, ttlMs?: number]; value: string | null };
  /** ttlMs 0: kept until evicted. */
  'kv.set': { args: [namespace: string, maxEntries: number, key: string, value: string, ttlMs: number]; value: null };
  'kv.delete': { args: [namespace: string, maxEntries: number, key: string]; value: null };
  'rc.get': { args: [cache: string, maxEntries: number, key: string]; value: Entry | null };
  'rc.set': { args: [cache: string, maxEntries: number, key: string, entry: Entry, entities: CacheEntityRecord[], ttlMs: number]; value: null };
  'rc.invalidate': { args: [cache: string, maxEntries: number, entities: CacheEntityRecord[]]; value: null };
};

type OpMap = Record<string, { args: unknown[]; value: unknown }>;

/** What answers each operation, in the primary (or, for the primary's own requests, in a worker). */
export type Handlers<Ops extends OpMap> = { [O in keyof Ops]: (...args: Ops[O]['args']) => Ops[O]['value'] | Promise<Ops[O]['value']> };

interface Request {
  tessera: typeof TAG;
  id: number;
  op: string;
  args: unknown[];
}

export type Reply = { tessera: typeof TAG; id: number; value: unknown } | { tessera: typeof TAG; id: number; error: string };

/** One end of an IPC channel: `process` in a cluster worker (a ChildProcess in tests). */
export interface IpcEndpoint {
  send?(message: unknown, callback: (error: Error | null) => void): boolean;
  readonly connected?: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

function isTagged(message: unknown): message is { tessera: typeof TAG; id: number } {
  return typeof message === 'object' && message !== null && (message as { tessera?: unknown }).tessera === TAG && typeof (message as { id?: unknown }).id === 'number';
}

/**
 * Requests over an IPC channel, each answered once, matched by id. Every
 * request settles: with the answer, or with StoreUnavailableError when the
 * other end says it failed, does not answer within `timeoutMs`, or the
 * channel closes (what is pending then rejects at once, and so does every
 * later request).
 */
export class IpcClient<Ops extends OpMap> {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(
    private readonly endpoint: IpcEndpoint,
    private readonly options: { name: string; timeoutMs: number },
  ) {
    endpoint.on('message', this.onMessage);
    endpoint.on('disconnect', this.onDisconnect);
  }

  request<O extends keyof Ops & string>(op: O, ...args: Ops[O]['args']): Promise<Ops[O]['value']> {
    return new Promise((resolve, reject) => {
      const { endpoint } = this;
      if (this.closed || endpoint.connected === false || !endpoint.send) {
        reject(this.unavailable('its IPC channel is closed'));
        return;
      }
      const id = ++this.nextId;
      const timer = setTimeout(() => {
        // Timers run before I/O in each turn of the event loop: after a long synchronous stretch of this
        // process, the answer may be waiting to be read in this very turn. Look once more after the I/O
        // phase (setImmediate) before calling it lost.
        setImmediate(() => this.fail(id, `timed out after ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      endpoint.send({ tessera: TAG, id, op, args } satisfies Request, (error) => {
        if (error) this.fail(id, error);
      });
    });
  }

  /** Requests waiting for their answer. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Stops listening to the channel; what is pending rejects. */
  close(): void {
    this.endpoint.off('message', this.onMessage);
    this.endpoint.off('disconnect', this.onDisconnect);
    this.onDisconnect();
  }

  private readonly onMessage = (message: unknown): void => {
    if (!isTagged(message)) return;
    const reply = message as Reply;
    if ('error' in reply) this.fail(reply.id, reply.error);
    else if ('value' in reply) this.settle(reply.id)?.resolve(reply.value);
  };

  private readonly onDisconnect = (): void => {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.fail(id, 'its IPC channel closed');
  };

  /** Takes a request off the pending list; undefined when it was settled already (answered, timed out, or failed). */
  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    if (!pending) return undefined;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  private fail(id: number, cause: unknown): void {
    this.settle(id)?.reject(this.unavailable(cause));
  }

  private unavailable(cause: unknown): StoreUnavailableError {
    return new StoreUnavailableError(this.options.name, cause instanceof Error ? cause : new Error(String(cause)));
  }
}

/**
 * The reply to one message; undefined when the message is not a request of
 * this channel (not for these handlers to answer). A handler that returns a
 * promise (the primary's metrics scrape, which asks every worker) gets a
 * promise of its reply; every other reply is given at once.
 */
export function answer(handlers: Readonly<Record<string, (...args: never[]) => unknown>>, message: unknown): Reply | Promise<Reply> | undefined {
  if (!isTagged(message) || 'value' in message || 'error' in message) return undefined;
  const { id, op, args } = message as Request;
  const handler = Object.hasOwn(handlers, op) ? (handlers[op] as (...a: unknown[]) => unknown) : undefined;
  const failed = (error: unknown): Reply => ({ tessera: TAG, id, error: error instanceof Error ? error.message : String(error) });
  try {
    if (!handler || !Array.isArray(args)) throw new Error(`no operation "${String(op)}"`);
    const value = handler(...args);
    if (value instanceof Promise) return value.then((settled: unknown): Reply => ({ tessera: TAG, id, value: settled ?? null }), failed);
    return { tessera: TAG, id, value: value ?? null };
  } catch (error) {
    return failed(error);
  }
}

/** Sends `reply` (once settled) on `endpoint` while it is connected; a closed channel drops it (its requests were rejected when it closed). */
export function sendReply(reply: Reply | Promise<Reply>, endpoint: { isConnected(): boolean; send(message: Reply, callback: (error: Error | null) => void): unknown }): void {
  if (reply instanceof Promise) {
    void reply.then((settled) => sendReply(settled, endpoint));
    return;
  }
  if (endpoint.isConnected()) endpoint.send(reply, ignoreSendError);
}

/**
 * The primary's state: one LRU per key-value namespace and one response
 * cache per name, made by the first request that names it (with the size it
 * asks for: every worker runs the same configuration).
 */
export function sharedStateHandlers(): Omit<Handlers<SharedStateOps>, 'metrics.scrape' | 'group.gather'> {
  const namespaces = new Map<string, LRUCache<string, string>>();
  const caches = new Map<string, ReturnType<typeof createInMemoryCache>>();
  const kv = (name: string, max: number): LRUCache<string, string> => {
    let entries = namespaces.get(name);
    if (!entries) namespaces.set(name, (entries = new LRUCache<string, string>({ max })));
    return entries;
  };
  const rc = (name: string, max: number): ReturnType<typeof createInMemoryCache> => {
    let cache = caches.get(name);
    if (!cache) caches.set(name, (cache = createInMemoryCache({ max })));
    return cache;
  };
  return {
    'kv.get': (namespace, max, key, ttlMs) => {
      const entries = kv(namespace, max);
      const value = entries.get(key);
      if (value !== undefined && ttlMs !== undefined && ttlMs > 0) entries.set(key, value, { ttl: ttlMs });
      return value ?? null;
    },
    'kv.set': (namespace, max, key, value, ttlMs) => {
      kv(namespace, max).set(key, value, ttlMs > 0 ? { ttl: ttlMs } : undefined);
      return null;
    },
    'kv.delete': (namespace, max, key) => {
      kv(namespace, max).delete(key);
      return null;
    },
    // An entry is kept as it came: the worker that stored it set its expiry and ETag, the one that reads it hands them on.
    'rc.get': (name, max, key) => (rc(name, max).get(key) as unknown as Entry | null | undefined) ?? null,
    'rc.set': (name, max, key, entry, entities, ttlMs) => {
      void rc(name, max).set(key, entry as unknown as ExecutionResult, entities, ttlMs);
      return null;
    },
    'rc.invalidate': (name, max, entities) => {
      void rc(name, max).invalidate(entities);
      return null;
    },
  };
}

/**
 * Starts the shared state in the cluster primary, before the first fork: it
 * answers the workers' memory-store requests and keeps their rate-limit
 * counters, and answers the requests that ask every worker with `group`
 * (a metrics scrape: cluster-metrics.ts; any other question: cluster-group.ts).
 * Returns the environment to fork the workers with, which tells them to use it.
 */
export function serveSharedState(group: Pick<Handlers<SharedStateOps>, 'metrics.scrape' | 'group.gather'>): { env: Record<string, string> } {
  if (!cluster.isPrimary) throw new Error('serveSharedState() runs in the cluster primary');
  // One RateLimiterMemory per key prefix, made when a worker's RateLimiterCluster first announces itself.
  new RateLimiterClusterMaster();
  const handlers: Handlers<SharedStateOps> = { ...sharedStateHandlers(), ...group };
  cluster.on('message', (worker, message) => {
    const reply = answer(handlers, message);
    // A worker that has gone gets no answer: its requests were rejected when its channel closed.
    if (reply) sendReply(reply, worker);
  });
  return { env: { [SHARED_STATE_ENV]: '1' } };
}

function ignoreSendError(): void {
  // The worker went away between the check and the send; see above.
}

/**
 * A worker's way to the primary's stores, for one gateway: the requests, and
 * the same outage bookkeeping as a Redis connection (StoreHealth: counted,
 * published on `tessera:store` with `store: "cluster primary"`, logged once
 * when it starts and once when it ends).
 */
export class PrimaryLink extends StoreHealth {
  constructor(
    readonly client: IpcClient<SharedStateOps>,
    logger: Logger,
  ) {
    // One more try of a shared write: the primary answers from memory, so a timeout means it was busy a whole second.
    super(PRIMARY_NAME, 'the cluster primary', logger, 2);
  }
}

/** One client per worker process: one listener on its channel, whatever the number of gateways. */
let workerClient: IpcClient<SharedStateOps> | undefined;

/** The IPC client to the primary when this process is a worker it forked with serveSharedState's environment; undefined in every other process. */
export function primaryClient(): IpcClient<SharedStateOps> | undefined {
  if (!cluster.isWorker || process.env[SHARED_STATE_ENV] !== '1') return undefined;
  return (workerClient ??= new IpcClient<SharedStateOps>(process, { name: PRIMARY_NAME, timeoutMs: PRIMARY_TIMEOUT_MS }));
}

/** The link to the primary's stores when this process is a worker it forked; undefined in every other process. */
export function primaryLink(logger: Logger): PrimaryLink | undefined {
  const client = primaryClient();
  return client && new PrimaryLink(client, logger);
}
