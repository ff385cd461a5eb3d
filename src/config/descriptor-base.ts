/**
 * The part of a subgraph descriptor every kind shares. Each kind adds its own
 * keys in its own file (graphql.ts, openapi.ts, grpc.ts); descriptor.ts joins
 * them into one schema discriminated by `kind`. Every object refuses unknown
 * keys, so a misspelled `timout:` stops start-up instead of being ignored.
 */
import { z } from 'zod';
import { descriptorCache } from './cache.js';
import { concurrencyOptions } from './concurrency.js';
import { canarySchema } from './canary.js';
import { authRulesSchema } from './auth.js';
import { upstreamTlsSchema } from './tls.js';
import { checkUpstreamCredentials, upstreamCredentialKeys } from './upstreams.js';
import { shadowSchema } from './shadow.js';
import { duration, headerName, integer, size } from './units.js';

const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;

export const upstream = z.strictObject({
  /** Base URL of one instance of the service. */
  url: z.url({ protocol: /^(https?|grpcs?|dns|unix)$/, error: 'expected an http(s):// or grpc(s):// URL' }),
  /** Free-form label (v1, v2, canary) used in metrics and logs. */
  version: z.string().min(1).optional(),
  /** Relative share of traffic among the upstreams; an omitted weight counts as 1. */
  weight: integer.pipe(z.number().min(0).max(10_000)).default(1),
  /**
   * The URL's host is a DNS name whose records are the instances (a Kubernetes
   * headless Service): `dns` resolves its A and AAAA records (one instance per
   * address, at the URL's port), `srv` its SRV records (one instance per
   * target and port). Each instance carries the entry's `version`; the
   * entry's `weight` is shared by its instances now. Re-resolved every
   * `discovery.interval` and after a connection failure; http(s):// URLs,
   * and for gRPC upstreams grpc(s):// ones.
   */
  discovery: z.enum(['dns', 'srv']).optional(),
});

/** How discovered upstreams (`upstreams[].discovery`) are resolved. */
export const discovery = z.strictObject({
  /** Time between two resolutions of each discovered name. */
  interval: duration.pipe(z.number().min(100)).default(30_000),
  /** Shortest time between two resolutions asked for by connection failures. */
  minInterval: duration.pipe(z.number().min(0)).default(1_000),
  /** Longest wait for one resolution's answer. */
  timeout: duration.pipe(z.number().min(1)).default(2_000),
  /**
   * DNS servers to ask (`127.0.0.1:5353`, `[::1]:53`) instead of the system's
   * (/etc/resolv.conf): for tests and special setups.
   */
  servers: z.array(z.string().regex(/^(\d+\.\d+\.\d+\.\d+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/, 'expected an IP address with an optional port: "127.0.0.1:5353", "[::1]:53"')).min(1).optional(),
});

const DISCOVERY_DEFAULT = { interval: 30_000, minInterval: 1_000, timeout: 2_000 };

export const entityKey = z.union([
  z.string().regex(graphqlName, 'expected a field name'),
  z.array(z.string().regex(graphqlName, 'expected a field name')).min(1),
]);

export const entity = z
  .strictObject({
    /** The field (or fields) that identify the entity across subgraphs. */
    key: entityKey,
    /** A root field taking a list of keys and returning the entities in the same order. */
    batch: z
      .strictObject({
        field: z.string().regex(graphqlName),
        argument: z.string().regex(graphqlName),
      })
      .optional(),
    /** A root field taking one key (used when there is no batch field; still one request per subgraph). */
    field: z.string().regex(graphqlName).optional(),
    argument: z.string().regex(graphqlName).optional(),
    /** false: this subgraph only references the entity and cannot resolve it by key. */
    resolvable: z.boolean().default(true),
  })
  .refine((e) => !e.resolvable || e.batch || e.field, {
    message: 'an entity needs `batch: { field, argument }` or `field` (with `argument`) to be resolved by key, or `resolvable: false`',
  });

export const transforms = z.strictObject({
  /** Prefix every type name (Product -> CatalogProduct) and root field (products -> catalogProducts). */
  prefix: z.string().regex(graphqlName).optional(),
  rename: z
    .strictObject({
      types: z.record(z.string().regex(graphqlName), z.string().regex(graphqlName)).default({}),
      /** "Type.field": "newName" */
      fields: z.record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/, 'expected "Type.field"'), z.string().regex(graphqlName)).default({}),
    })
    .optional(),
  /** Hide types ("Internal") and fields ("Query.debug", "User.passwordHash") from the unified graph. */
  hide: z.array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/, 'expected "Type" or "Type.field"')).default([]),
});


export const headers = z.strictObject({
  /** Client request headers copied to every upstream call (after hop-by-hop headers are removed). */
  forward: z.array(headerName).default([]),
  /** Static headers added to every upstream call; values may use ${ENV}. */
  set: z.record(headerName, z.string().regex(/^[^\r\n]*$/, 'header values cannot contain CR or LF')).default({}),
  /** authorization (forward | strip | service) and identity headers: see docs/security.md. */
  ...upstreamCredentialKeys,
}).superRefine(checkUpstreamCredentials);

export const retry = z.strictObject({
  /** Total attempts for a query, the first included (1 = no retry). Mutations are never retried. */
  attempts: integer.pipe(z.number().min(1).max(5)).default(2),
  /** Base of the full-jitter backoff between attempts. */
  backoff: duration.default(100),
});

export const breaker = z.union([
  z.literal(false),
  z.strictObject({
    /** Share of failed calls (connection errors, timeouts, 5xx) that opens the breaker. */
    errorRate: z.number().gt(0).max(1).default(0.5),
    /** Calls needed in the window before the rate counts. */
    minCalls: integer.pipe(z.number().min(1)).default(20),
    window: duration.default(10_000),
    /** How long an open breaker fails calls at once before one probe is let through. */
    openFor: duration.default(30_000),
  }),
]);

const BREAKER_DEFAULT = { errorRate: 0.5, minCalls: 20, window: 10_000, openFor: 30_000 };

/** The breaker as the transport takes it (transport/breaker.ts BreakerOptions), or false. */
const breakerOptions = breaker
  .default(BREAKER_DEFAULT)
  .transform((b) => (b === false ? (false as const) : { errorRate: b.errorRate, minCalls: b.minCalls, windowMs: b.window, openForMs: b.openFor }));

/**
 * Failure-rate outliers (Envoy's failure-percentage idea, relative to the
 * fleet): an instance with at least `minCalls` calls in the breaker's window
 * whose failure rate is `margin` or more above that of the other instances
 * together (at least `minCalls` calls between them) is ejected.
 */
export const failureRate = z.strictObject({
  minCalls: integer.pipe(z.number().min(1).max(100_000)).default(20),
  /** How far above the others' failure rate (a share, 0.2: 20 points) an instance must be. */
  margin: z.number().gt(0).max(1).default(0.2),
});

/**
 * Passive outlier detection: an instance that fails `consecutiveFailures`
 * calls in a row, or (with `failureRate`) fails a larger share of its calls
 * than the others, is ejected (its breaker opens) for `baseEjection` × the
 * times it was ejected in a row, never more than `maxEjectedPercent` of the
 * subgraph's instances at once. `false` turns it off.
 */
export const outliers = z.union([
  z.literal(false),
  z.strictObject({
    consecutiveFailures: integer.pipe(z.number().min(1).max(1000)).default(5),
    baseEjection: duration.pipe(z.number().min(1)).default(30_000),
    maxEjectedPercent: integer.pipe(z.number().min(0).max(100)).default(50),
    /** Failure-rate ejection; off when absent (`failureRate: {}`: the defaults). */
    failureRate: failureRate.optional(),
  }),
]);

const OUTLIERS_DEFAULT = { consecutiveFailures: 5, baseEjection: 30_000, maxEjectedPercent: 50 };

/** Outlier detection as the transport takes it (transport/breaker.ts OutlierOptions), or false. */
const outlierOptions = outliers
  .default(OUTLIERS_DEFAULT)
  .transform((o) =>
    o === false
      ? (false as const)
      : { consecutiveFailures: o.consecutiveFailures, baseEjectionMs: o.baseEjection, maxEjectedPercent: o.maxEjectedPercent, ...(o.failureRate && { failureRate: o.failureRate }) },
  );

/**
 * Active health checks of every instance: REST `GET path` (2xx: healthy),
 * GraphQL `{ __typename }` (or `GET path` when given), gRPC
 * `grpc.health.v1.Health/Check` for `service` (SERVING: healthy).
 */
export const health = z.strictObject({
  /** REST: the path to GET (default `/`); GraphQL: a path to GET instead of the `{ __typename }` query. */
  path: z.string().regex(/^\/[^\s]*$/, 'expected a path starting with "/"').optional(),
  /** gRPC: the service name asked about (default "": the server as a whole). */
  service: z.string().default(''),
  /** Time between two checks of one instance (each wait jittered by ±10%). */
  interval: duration.pipe(z.number().min(100)).default(5_000),
  /** Longest wait for one check's answer. */
  timeout: duration.pipe(z.number().min(1)).default(1_000),
  /** Failed checks in a row that mark an instance down. */
  unhealthyAfter: integer.pipe(z.number().min(1).max(100)).default(2),
  /** Passed checks in a row that mark a down instance up again. */
  healthyAfter: integer.pipe(z.number().min(1).max(100)).default(2),
});

/** Health checks as the transport takes them (transport/health.ts HealthOptions), or undefined: off. */
const healthOptions = health
  .optional()
  .transform((h) => h && { path: h.path, service: h.service, intervalMs: h.interval, timeoutMs: h.timeout, unhealthyAfter: h.unhealthyAfter, healthyAfter: h.healthyAfter });

export const baseDescriptor = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected a name of letters, digits, "-" and "_", starting with a letter'),
  /** Schema file (SDL, OpenAPI, .proto) relative to the descriptor, or an http(s) URL. */
  source: z.string().min(1).optional(),
  /** Shorthand for `upstreams: [{ url }]`. */
  url: z.string().optional(),
  upstreams: z.array(upstream).min(1).optional(),
  /** Total time for one upstream call, capped by what is left of the request deadline. */
  timeout: duration.default(5000),
  connectTimeout: duration.default(2000),
  retry: retry.default({ attempts: 2, backoff: 100 }),
  /**
   * A shared HTTP cache for the upstream's GET responses (openapi sources),
   * honouring Cache-Control and ETag/Last-Modified. Off by default.
   */
  httpCache: z
    .union([
      z.boolean(),
      z.strictObject({
        maxEntries: integer.pipe(z.number().min(1)).default(1000),
        maxEntrySize: size.default(1024 * 1024),
      }),
    ])
    .default(false)
    // As the transport takes it (transport/http-cache.ts HttpCacheOptions): off is undefined, on is the defaults.
    .transform((c) => (c === false ? undefined : c === true ? { maxEntries: 1000, maxEntrySize: 1024 * 1024 } : c)),
  /** Per-instance circuit breaker; `false` turns it off. */
  breaker: breakerOptions,
  /** Passive outlier detection (consecutive failures, or a failure rate above the others', eject an instance); `false` turns it off. */
  outliers: outlierOptions,
  /** Active health checks per instance; off when absent. */
  health: healthOptions,
  /** Adaptive concurrency limit of the subgraph, all instances together (AIMD on latency; excess calls fail with SUBGRAPH_OVERLOADED); off when absent. */
  adaptiveConcurrency: concurrencyOptions,
  /** How discovered upstreams (`upstreams[].discovery: dns | srv`) are resolved: interval, timeout, DNS servers. */
  discovery: discovery.default(DISCOVERY_DEFAULT),
  /** How an attempt's instance is chosen among the available ones, by weight. */
  balance: z.enum(['round-robin', 'least-outstanding', 'p2c']).default('round-robin'),
  /** Read-only calls copied to a shadow target and compared with the primary's answer (shadow.ts); off when absent. */
  shadow: shadowSchema.optional(),
  /** Sticky canaries across the upstreams' versions and the automatic canary guard (canary.ts); off when absent. */
  canary: canarySchema.optional(),
  /** Largest upstream response body accepted. */
  maxResponseSize: size.default(10 * 1024 * 1024),
  /** Connections kept per upstream instance. */
  connections: integer.pipe(z.number().min(1).max(1024)).default(32),
  entities: z.record(z.string().regex(graphqlName), entity).default({}),
  transforms: transforms.optional(),
  headers: headers.default({ forward: [], set: {}, identity: {} }),
  /** Scopes needed per "Type" or "Type.field" (subgraph names): `{ Query.orders: [orders:read] }`; see docs/security.md. */
  auth: authRulesSchema.default({}),
  /** TLS to the upstream: CA, client certificate (mTLS), server name; paths relative to this file. */
  tls: upstreamTlsSchema.optional(),
  /**
   * Tags of this subgraph's types and fields, in its own names: `{ mobile: [Product, Query.products] }`; a channel's
   * `include: [tag:mobile]` serves them (as it serves what carries `@tag(name: "mobile")` in the SDL).
   */
  tags: z
    .record(
      z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'expected a tag name (letters, digits, _ . : -)'),
      z.array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/, 'expected "Type" or "Type.field"')).min(1),
    )
    .default({}),
  /** Response-cache TTLs (and `private`) by "Type" or "Type.field": `{ Product: 60s }`. */
  cache: descriptorCache.default({}),
  /** false: the gateway starts (and /readyz passes) without this subgraph. */
  required: z.boolean().default(true),
  errors: z
    .strictObject({
      /** Pass upstream error messages to clients in production (they are always passed in development). */
      expose: z.boolean().default(false),
      /** extensions.code values passed to clients as they are. */
      allowCodes: z.array(z.string()).default([]),
    })
    .default({ expose: false, allowCodes: [] }),
});

export type BaseDescriptor = z.output<typeof baseDescriptor>;
export type EntityConfig = z.output<typeof entity>;
