/**
 * The gateway-wide state behind the rate-limit, dedupe and response-cache
 * plugins: stores, limiters and cache hints. Built once per gateway (counters
 * and cached responses are shared by every channel and schema version),
 * closed with it; `forVersion` gives a hot reload's version the same stores
 * and limiters with its own descriptors' cache hints and scope headers. The
 * plugins built per channel only read it.
 */
import type { ExecutionRequest, ExecutionResult, Executor } from '@graphql-tools/utils';
import type { Logger } from 'pino';
import type { CacheConfig, CacheHint } from '../config/cache.js';
import type { ResolvedChannel } from '../config/channel.js';
import type { Descriptor } from '../config/descriptor.js';
import type { GatewayFileConfig } from '../config/gateway.js';
import { displayPath } from '../config/load.js';
import type { RateLimitRule } from '../config/rate-limit.js';
import { missingCoordinate } from '../compose/coordinates.js';
import { namingFor } from '../compose/transforms.js';
import { ConfigError, TesseraError } from '../errors.js';
import type { LoadedSource } from '../sources/types.js';
import { createStores, type Stores } from '../store/index.js';
import { memoryResponseCache, redisResponseCache, sharedResponseCache, type ResponseCacheStore } from '../store/response-cache.js';
import { clientAddressResolver } from './client-address.js';
import type { CostOptions } from './cost.js';
import { Limiter, type LimitOutcome } from './limiter.js';
import { SubscriptionSlots } from './subscription-slots.js';

export interface CompiledRule {
  rule: RateLimitRule;
  limiter: Limiter;
  channels?: ReadonlySet<string>;
  operations?: ReadonlySet<string>;
}

export interface RateLimits {
  /** Empty when no rule is configured (the open-subscription limit still applies). */
  rules: CompiledRule[];
  /** The rules of channels with their own `channels.<name>.rateLimit`, by channel: on those channels they replace `rules`. */
  byChannel: ReadonlyMap<string, CompiledRule[]>;
  /** Open subscriptions per consumer and channel, in this process (rateLimit.subscriptions). */
  subscriptions: SubscriptionSlots;
  /** The client address of a request context (trusted proxies applied). */
  clientAddress: (context: unknown) => string;
  headers: boolean;
  /** How cost rules estimate an operation's cost: the same model as the cost limit (security.limits.cost). */
  cost: CostOptions;
}

export interface CacheRuntime {
  config: CacheConfig;
  store: ResponseCacheStore;
  /** Hints by unified-graph coordinate ("Product", "Query.me"). */
  hints: ReadonlyMap<string, CacheHint>;
}

export interface Traffic {
  readonly stores: Stores;
  /** Always there: without rules, the open-subscription limit still applies. */
  readonly rateLimits: RateLimits;
  /** Absent when caching is off or nothing has a TTL. */
  readonly cache?: CacheRuntime;
  readonly dedupe: boolean;
  /**
   * Client headers forwarded to some subgraph: an upstream answer may depend
   * on them, so dedupe and private cache keys include their values.
   */
  readonly scopeHeaders: readonly string[];
  /** Identity claims some subgraph receives (descriptor `headers.identity: { x: claim:<name> }`): also in those keys. */
  readonly scopeClaims: readonly string[];
  /** For composeSources: applies the subgraph's rate limit to its upstream calls. */
  wrapExecutor(descriptor: Descriptor, executor: Executor): Executor;
  /**
   * The same stores, limiters and rules for another descriptor set (a hot reload's new version): its cache hints,
   * scope headers and claims. Throws a ConfigError when gateway.yaml's rateLimit.subgraphs names a subgraph the set
   * lacks, as at start-up.
   */
  forVersion(version: { descriptors: readonly Descriptor[]; sources: readonly LoadedSource[] }): Traffic;
  close(): Promise<void>;
}

export interface TrafficOptions {
  config: GatewayFileConfig;
  descriptors: readonly Descriptor[];
  sources: readonly LoadedSource[];
  logger: Logger;
  /** The gateway file, for error messages. */
  file?: string;
}

/**
 * The cache of one channel: its `channels.<name>.cache` (defaultTtl, and hints by
 * unified-graph coordinate replacing the descriptors' ones) over the gateway's.
 */
export function channelCache(cache: CacheRuntime, channel: Pick<ResolvedChannel, 'cache'>): CacheRuntime {
  if (!channel.cache) return cache;
  return {
    ...cache,
    config: { ...cache.config, defaultTtl: channel.cache.defaultTtl ?? cache.config.defaultTtl },
    hints: new Map([...cache.hints, ...Object.entries(channel.cache.ttl)]),
  };
}

/** `cache:` of every descriptor in unified-graph names; where two subgraphs hint one type, the shorter TTL and `private` win. */
export function cacheHintsFor(sources: readonly Pick<LoadedSource, 'descriptor' | 'schema'>[]): Map<string, CacheHint> {
  const hints = new Map<string, CacheHint>();
  const problems: string[] = [];
  for (const { descriptor, schema } of sources) {
    const naming = namingFor(descriptor, schema);
    for (const [coordinate, hint] of Object.entries(descriptor.cache)) {
      const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
      const missing = missingCoordinate(schema, coordinate);
      if (missing) {
        problems.push(`${displayPath(descriptor.file)}: cache.${coordinate}: subgraph "${descriptor.name}" has no ${missing.missing}${missing.hint}`);
        continue;
      }
      const unified = fieldName === undefined ? naming.type(typeName) : `${naming.type(typeName)}.${naming.field(typeName, fieldName)}`;
      const before = hints.get(unified);
      const ttl = before?.ttl === undefined ? hint.ttl : hint.ttl === undefined ? before.ttl : Math.min(before.ttl, hint.ttl);
      hints.set(unified, { ttl, private: hint.private || (before?.private ?? false) });
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return hints;
}

function subgraphLimitError(subgraph: string, limiter: Limiter, outcome: LimitOutcome): TesseraError {
  const retryAfter = Math.max(1, Math.ceil(outcome.resetMs / 1000));
  if (outcome.storeDown) {
    return new TesseraError('SUBGRAPH_RATE_LIMITED', `Subgraph "${subgraph}" was not called: its rate-limit store is unavailable.`, {
      extensions: { subgraph, retryAfter },
    });
  }
  return new TesseraError(
    'SUBGRAPH_RATE_LIMITED',
    `Subgraph "${subgraph}" was not called: it is at its rate limit of ${limiter.limit} calls per ${limiter.windowMs / 1000}s; retry in ${retryAfter}s.`,
    { extensions: { subgraph, retryAfter } },
  );
}

/** The response cache's store: Redis, the cluster primary's memory (a worker of `tessera serve`), or this process's. */
function responseCacheStore(config: GatewayFileConfig, stores: Stores): ResponseCacheStore {
  const store = config.cache.store ?? config.store;
  if (store.url !== 'memory') return redisResponseCache(stores.redis(store), store.prefix);
  return stores.primary ? sharedResponseCache(stores.primary, 'responses', config.cache.maxEntries) : memoryResponseCache(config.cache.maxEntries);
}

export async function createTraffic(options: TrafficOptions): Promise<Traffic> {
  const { config, logger } = options;
  const where = options.file ?? 'gateway.yaml';
  const stores = createStores(logger);
  const { rateLimit } = config;
  const limiterStore = rateLimit.store ?? config.store;

  const problems = unknownSubgraphs(config, options.descriptors, where);
  const channels = new Set(['default', ...Object.keys(config.channels)]);
  for (const name of Object.keys(rateLimit.subscriptions.channels)) {
    if (!channels.has(name)) problems.push(`${where}: rateLimit.subscriptions.channels.${name}: there is no channel named "${name}" (known: ${[...channels].join(', ')})`);
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);

  const limiterFor = (name: string, limit: number, windowMs: number): Limiter =>
    new Limiter({ name, limit, windowMs, store: limiterStore, stores, onStoreError: rateLimit.onStoreError, failOpenRatio: rateLimit.failOpenRatio });

  const rateLimits: RateLimits = {
    rules: rateLimit.rules.map((rule) => ({
      rule,
      limiter: limiterFor(`rule:${rule.name}`, rule.limit, rule.window),
      channels: rule.channels ? new Set(rule.channels) : undefined,
      operations: rule.operations ? new Set(rule.operations) : undefined,
    })),
    // Limiter names carry the channel, so a channel's rule never shares buckets with a gateway rule of the same name.
    byChannel: new Map(
      Object.entries(config.channels).flatMap(([channel, c]) =>
        c.rateLimit
          ? [[channel, c.rateLimit.rules.map((rule) => ({ rule, limiter: limiterFor(`channel:${channel}:rule:${rule.name}`, rule.limit, rule.window), operations: rule.operations ? new Set(rule.operations) : undefined }))]]
          : [],
      ),
    ),
    subscriptions: new SubscriptionSlots(rateLimit.subscriptions),
    clientAddress: clientAddressResolver(rateLimit.trustedProxies, `${where}: rateLimit.trustedProxies`),
    headers: rateLimit.headers,
    cost: config.security.limits.cost,
  };

  const subgraphLimiters = new Map(Object.entries(rateLimit.subgraphs).map(([name, l]) => [name, limiterFor(`subgraph:${name}`, l.limit, l.window)]));

  // The response cache's store, made once (by the first version whose descriptors give a TTL) and shared by later ones.
  let cacheStore: ResponseCacheStore | undefined;
  const cacheFor = (sources: readonly LoadedSource[]): CacheRuntime | undefined => {
    if (!config.cache.enabled) return undefined;
    const hints = cacheHintsFor(sources);
    const channelTtl = Object.values(config.channels).some(
      (c) => c.cache && ((c.cache.defaultTtl ?? 0) > 0 || Object.values(c.cache.ttl).some((h) => (h.ttl ?? 0) > 0)),
    );
    const anyTtl = config.cache.defaultTtl > 0 || channelTtl || [...hints.values()].some((h) => (h.ttl ?? 0) > 0);
    if (!anyTtl) return undefined;
    cacheStore ??= responseCacheStore(config, stores);
    return { config: config.cache, store: cacheStore, hints };
  };
  const cache = cacheFor(options.sources);

  await stores.connected();

  const shared: Omit<Traffic, 'cache' | 'scopeHeaders' | 'scopeClaims' | 'forVersion'> = {
    stores,
    rateLimits,
    dedupe: config.cache.dedupe,
    wrapExecutor(descriptor, executor) {
      const limiter = subgraphLimiters.get(descriptor.name);
      if (!limiter) return executor;
      const name = descriptor.name;
      return async (request: ExecutionRequest) => {
        const outcome = await limiter.consume('all');
        if (!outcome.allowed) return { errors: [subgraphLimitError(name, limiter, outcome)] } satisfies ExecutionResult;
        return executor(request);
      };
    },
    close: () => stores.close(),
  };
  const build = (descriptors: readonly Descriptor[], versionCache: CacheRuntime | undefined): Traffic => ({
    ...shared,
    cache: versionCache,
    ...scopeOf(descriptors),
    forVersion(version) {
      const unknown = unknownSubgraphs(config, version.descriptors, where);
      if (unknown.length > 0) throw new ConfigError('CONFIG_INVALID', unknown);
      return build(version.descriptors, cacheFor(version.sources));
    },
  });
  return build(options.descriptors, cache);
}

/** gateway.yaml's rateLimit.subgraphs entries that name no subgraph of the set. */
function unknownSubgraphs(config: GatewayFileConfig, descriptors: readonly Descriptor[], where: string): string[] {
  const names = new Set(descriptors.map((d) => d.name));
  return Object.keys(config.rateLimit.subgraphs)
    .filter((name) => !names.has(name))
    .map((name) => `${where}: rateLimit.subgraphs.${name}: there is no subgraph named "${name}" (known: ${[...names].join(', ')})`);
}

/**
 * The client headers and identity claims some subgraph of the set receives (Traffic.scopeHeaders, scopeClaims),
 * and the headers a sticky canary places callers by (`canary.sticky.header`): callers that differ in one may be
 * answered by different versions, so they never share an in-flight execution or a cached answer.
 */
function scopeOf(descriptors: readonly Descriptor[]): { scopeHeaders: string[]; scopeClaims: string[] } {
  const forwarded = (d: Descriptor): readonly string[] => (d.headers.authorization === 'forward' ? [...d.headers.forward, 'authorization'] : d.headers.forward);
  const sticky = (d: Descriptor): string[] => (d.canary?.sticky?.header === undefined ? [] : [d.canary.sticky.header.toLowerCase()]);
  return {
    scopeHeaders: [...new Set(descriptors.flatMap((d) => [...forwarded(d), ...sticky(d)]))].sort(),
    scopeClaims: [
      ...new Set(
        descriptors.flatMap((d) =>
          Object.values(d.headers.identity)
            .filter((field) => field.startsWith('claim:'))
            .map((field) => field.slice('claim:'.length)),
        ),
      ),
    ].sort(),
  };
}
