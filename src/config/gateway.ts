/**
 * gateway.yaml: where the gateway listens, where descriptors live, and the
 * limits that protect it. Every limit has a safe default here, in one place;
 * no library default is left to decide.
 */
import { z } from 'zod';
import { adminProblem, adminSchema } from './admin.js';
import { cacheSchema } from './cache.js';
import { gatewayCanarySchema } from './canary.js';
import { channelSchema } from './channel.js';
import { graphiqlSchema } from './graphiql.js';
import { rateLimitSchema } from './rate-limit.js';
import { registrySchema } from './registry.js';
import { securitySchema } from './security.js';
import { listenerTlsSchema } from './tls.js';
import { storeSchema } from './store.js';
import { telemetrySchema } from './telemetry.js';
import { boolean, duration, integer, port, size } from './units.js';

export const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(4000),
  graphqlPath: z.string().startsWith('/').default('/graphql'),
  /** Largest request body; a larger one gets 413 before it is parsed. */
  bodyLimit: size.default(1024 * 1024),
  /** Overall time for one GraphQL request; each upstream call gets what is left of it. */
  requestDeadline: duration.default(10_000),
  /** Longest a subscription (SSE or WebSocket) lives; its upstream streams are cancelled then. */
  subscriptionDeadline: duration.default(3_600_000),
  /** Time to receive the request headers (slowloris guard). */
  headersTimeout: duration.default(10_000),
  /** Time to receive the whole request. */
  requestTimeout: duration.default(30_000),
  keepAliveTimeout: duration.default(5_000),
  /** On SIGTERM: how long in-flight requests may take before connections are cut. */
  shutdownTimeout: duration.default(10_000),
  maxHeaderSize: size.default(16 * 1024),
  maxHeaders: integer.pipe(z.number().min(1)).default(100),
  /** HTTPS for the listener (files reloaded when they change); see docs/security.md. */
  tls: listenerTlsSchema.optional(),
  /**
   * When /readyz reports ready. `answered`: once every required subgraph is
   * loaded and has answered at least once (an accepted TCP connection or any
   * call answered); `loaded`: as soon as every required subgraph is loaded;
   * `healthy`: as `answered`, and while every required subgraph with
   * `health:` checks has an instance checked up.
   */
  readiness: z.enum(['answered', 'loaded', 'healthy']).default('answered'),
  /**
   * How many GraphQL requests are worked on at once (server/admission.ts): `auto` limits them only while the
   * event loop is saturated, to what keeps it busy; a number, always at most that many; `off`, no limit. The
   * others wait in arrival order.
   */
  admission: z.union([z.enum(['auto', 'off']), integer.pipe(z.number().min(1))]).default('auto'),
});

export const gatewaySchema = z.strictObject({
  /** production masks errors and turns GraphiQL and introspection off unless asked for. */
  mode: z.enum(['production', 'development']).default('production'),
  server: serverSchema.default(serverSchema.parse({})),
  /** Folders (searched for `subgraph.yaml` / `*.subgraph.yaml`) or descriptor files, relative to this file. */
  descriptors: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('./subgraphs'),
  /** Watching the descriptors and hot reload: see README "Publishing and hot reload". */
  registry: registrySchema.prefault({}),
  /**
   * A supergraph file (`@join__*` directives, made by rover, Hive or federation-composition), relative to this
   * file: each of its subgraphs is served as a `kind: federation` descriptor (name and URL from `@join__graph`).
   * With it, the default `./subgraphs` folder may be absent.
   */
  supergraph: z.string().min(1).optional(),
  /** GraphiQL for browsers opening a GraphQL path (`true`, `false` or `{ enabled, defaultQuery }`); default: on in development only. */
  graphiql: graphiqlSchema.optional(),
  /** __schema / __type queries; default: allowed in development only. */
  introspection: boolean.optional(),
  /** Client channels (BFF views). `default` is served at server.graphqlPath. */
  channels: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case channel name'), channelSchema).default({}),
  logging: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** One info line per GraphQL request (plugins/use-request-account.ts); false: none (the request id is still echoed). */
      requests: boolean.default(true),
    })
    .default({ level: 'info', requests: true }),
  /** Shared state (rate limits, response cache, persisted operations): memory, or redis:// for several replicas. */
  store: storeSchema.prefault('memory'),
  /** The canary guard's shared decisions (descriptors' `canary:`): their lifetime in the store; see README "Canaries". */
  canary: gatewayCanarySchema.prefault({}),
  rateLimit: rateLimitSchema.prefault({}),
  cache: cacheSchema.prefault({}),
  /** Authentication, query limits, request hygiene and the upstream allowlist; see docs/security.md. */
  security: securitySchema,
  execution: z
    .strictObject({
      /** Operations over several subgraphs run as planned upstream calls; false: through @graphql-tools/stitch. */
      planner: boolean.default(true),
    })
    .default({ planner: true }),
  /** Metrics at /metrics (Prometheus text) and the status page at /_tessera; see README "Metrics" and "Status page". */
  telemetry: telemetrySchema.prefault({}),
  /** A second listener for /metrics and the admin API; see README "Admin listener and API". */
  admin: adminSchema.optional(),
  schema: z
    .strictObject({
      /** Where `tessera compose` writes the unified schema, relative to this file. */
      snapshot: z.string().default('./schema/unified.graphql'),
    })
    .default({ snapshot: './schema/unified.graphql' }),
}).superRefine((config, ctx) => {
  const problem = adminProblem(config.mode, config.admin);
  if (problem) ctx.addIssue({ code: 'custom', path: ['admin', 'credential'], message: problem });
});

export type GatewayFileInput = z.input<typeof gatewaySchema>;
export type GatewayFileConfig = z.output<typeof gatewaySchema>;
export type ServerConfig = z.output<typeof serverSchema>;
