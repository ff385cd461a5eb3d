/**
 * The running gateway: loads every descriptor's source, composes the unified
 * graph, serves it, and lets go of everything on close. This is the one place
 * where config, sources, compose, plugins and server meet.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { Descriptor, DescriptorInput } from './config/descriptor.js';
import type { GatewayFileConfig, GatewayFileInput } from './config/gateway.js';
import { displayPath, duplicateNames, loadConfiguredDescriptors, loadDescriptors, loadGatewayFile, parseDescriptor, parseGatewayConfig, withDescriptorFiles } from './config/load.js';
import { authRulesFor, type AuthRules } from './compose/auth-rules.js';
import { guardUpstreams } from './transport/upstream-guard.js';
import { channelProblems, channelView, declaredTagsWith, subgraphRoots } from './compose/channels.js';
import { channelFieldProblems, channelFields } from './compose/channel-fields.js';
import { declaredTags } from './compose/tags.js';
import { useChannelFields } from './plugins/use-channel-fields.js';
import { composeSources, type ComposedGraph } from './compose/index.js';
import type { ResolvedChannel } from './config/channel.js';
import { channelCors } from './config/cors.js';
import { ConfigError, isConfigError, listenError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { EVENTS, type CanaryEvent, type ConcurrencyEvent, type DiscoveryEvent, type InstanceHealthEvent } from './events.js';
import { breakerChannel, type BreakerEvent } from './transport/http.js';
import { shadowVersion } from './transport/stages/shadow.js';
import { CanaryBoard, canaryChannel } from './transport/canary.js';
import { DiscoveredInstances, watchAnswers, watchHealth } from './transport/probe.js';
import { buildPlugins } from './plugins/index.js';
import type { DownloadHandler } from './plugins/use-downloads.js';
import { createTraffic, type Traffic } from './plugins/traffic.js';
import { useSchemaExpiry } from './plugins/use-schema-expiry.js';
import { createHttpServer, type GatewayHttpServer } from './server/http.js';
import { attachWebSocket } from './server/websocket.js';
import type { RequestLog } from './plugins/use-request-account.js';
import { createCors, type Cors } from './server/cors.js';
import { buildYoga, type GatewayYoga } from './server/yoga.js';
import { loadGraphiqlAssets, type GraphiqlAssets } from './server/graphiql.js';
import type { RouteName } from './execution/router.js';
import { checkedExecutor } from './execution/result-check.js';
import { cursorKey, loadSource } from './sources/index.js';
import { channel as diagnosticsChannel } from 'node:diagnostics_channel';
import { descriptorFingerprint, fixedRegistry, SCHEMA_CHANNEL, schemaVersion, type Registry, type ReloadTrigger, type SchemaEvent } from './registry/index.js';
import { folderRegistry } from './registry/folder.js';
import { isEmptyRegistry, redisRegistry, stageRuleText, versionSummary, type Publisher, type RedisRegistry, type StageRule } from './registry/redis.js';
import { ServedVersions, type VersionsOptions } from './registry/versions.js';
import { readManifest } from './plugins/use-persisted-operations.js';
import { knownSdlOf, subgraphsOfSupergraph, withKnownSdl } from './sources/federation/supergraph.js';
import type { LoadedSource } from './sources/types.js';
import { GatewayMetrics } from './telemetry/metrics.js';
import { LogLevelControl } from './telemetry/log-level.js';
import { logShadowMismatches } from './telemetry/shadow-log.js';
import { BodySampler } from './telemetry/sampling.js';
import { UPSTREAM_BODY_CHANNEL_PREFIX } from './transport/sample.js';
import { ADMIN_API_PATHS, adminApiEndpoints, createAdminServer, metricsEndpoint, type AdminEndpoints, type AdminPublishRequest, type AdminHandler, type AdminServer } from './server/admin.js';
// Types only: the tracing module is loaded by import() when tracing is on (gatewayTracing); no OpenTelemetry SDK module is, unless a spanExporter is passed.
import type { SpanExporter, Tracing } from './telemetry/tracing.js';
import { StatusBoard, type Health } from './telemetry/status.js';
import { statusPageHandler } from './server/status-page.js';
import { adminGroup, workerAdminState } from './server/admin-group.js';
import { workerMetrics } from './store/index.js';

const schemaChannel = diagnosticsChannel(SCHEMA_CHANNEL);
/** Shed calls of one subgraph are logged at warn at most once in this long (with the count since the last line). */
const SHED_WARN_MS = 10_000;

export interface GatewayOptions {
  /** Path of gateway.yaml. Descriptors are found where it says. */
  configFile?: string;
  /** The gateway configuration given in code (same keys as gateway.yaml). */
  gateway?: GatewayFileInput;
  /** Descriptors given in code (same keys as a descriptor file); `dir` resolves their relative paths. */
  descriptors?: Array<DescriptorInput & { dir?: string }>;
  /**
   * With `configFile`: descriptor files that replace the configured
   * descriptor of the same subgraph name, or are added (`tessera check`'s
   * candidate).
   */
  descriptorFiles?: readonly string[];
  /** Environment for ${VAR} interpolation; process.env by default. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /**
   * Seals pagination cursors when gateway.yaml sets no `security.cursors.secret`
   * (`tessera serve` hands its workers one, so a cursor works on any of them);
   * without either, a random key for this gateway.
   */
  cursorSecret?: string;
  /**
   * Tests only: the routes the router may take ('direct', 'planned',
   * 'stitched'); an operation whose route is left out takes the next one.
   * The test that runs one operation through every route uses it.
   */
  routes?: readonly RouteName[];
  /**
   * Tests only: false serves every request through Yoga's own pipeline
   * instead of the JSON POST path (server/json-post.ts), so a test can
   * compare the two. Default true.
   */
  jsonPost?: boolean;
  /**
   * Where spans go when telemetry.tracing is enabled, instead of the OTLP/HTTP
   * exporter of `telemetry.tracing.exporter` (any OpenTelemetry SpanExporter;
   * the tests pass an InMemorySpanExporter). Batched like OTLP's; close() flushes it but leaves it open (it is yours).
   */
  spanExporter?: SpanExporter;
  /**
   * Serves POST /admin/registry/publish with the Redis registry: checks and publishes a request as `tessera publish`
   * does. `tessera serve` passes the CLI's (cli/registry.ts adminPublisher); without it that endpoint answers 404.
   */
  publisher?: Publisher;
}

export interface Gateway {
  readonly config: GatewayFileConfig;
  readonly descriptors: readonly Descriptor[];
  /** The unified schema currently served. */
  readonly schema: GraphQLSchema;
  /** Every channel with its path, and the schema (view) it serves. */
  readonly channels: ReadonlyArray<{ channel: ResolvedChannel; schema: GraphQLSchema }>;
  /** Subgraphs that failed to load but are not `required` (served without them). */
  readonly missing: readonly string[];
  /** A node:http request listener, for hosts that run their own server. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Fetch-API entry point (serverless hosts, tests). */
  fetch(request: Request): Promise<Response>;
  /**
   * Starts listening (defaults from `server.port` / `server.host`), and on the admin listener when gateway.yaml
   * has `admin:`; resolves with the URL of the GraphQL endpoint and the admin listener's base URL.
   */
  listen(port?: number, host?: string): Promise<{ url: string; port: number; address: AddressInfo; admin?: { url: string; port: number } }>;
  /** The schema version served: the first 12 hex digits of the SHA-256 of the unified SDL (`sha256sum schema/unified.graphql`). */
  readonly version: string;
  /**
   * Reads the registry again (the descriptors folder, or the descriptors given in code) and, if anything changed,
   * loads and composes the new set off the request path and swaps it in; on any problem the running version stays.
   * Resolves with the attempt's outcome (also logged and published on `tessera:schema`); never rejects.
   * `trigger` names what asked, for the log line and the event ('api' by default; `tessera serve` passes 'signal').
   */
  reload(trigger?: ReloadTrigger): Promise<SchemaEvent>;
  /** Drains in-flight requests (within `server.shutdownTimeout`), then closes upstream connections. Idempotent. */
  close(): Promise<void>;
}

interface ResolvedConfig {
  gateway: GatewayFileConfig;
  descriptors: Descriptor[];
}

/**
 * The subgraphs of gateway.yaml's `supergraph:` file as `kind: federation` descriptors, their SDL taken from the
 * file (sources/federation/supergraph.ts), added to the others. A `kind: federation` descriptor without `sdl:`
 * named like one of them gives that subgraph its settings (url, timeout, headers...); any other name used twice
 * is reported with both files.
 */
function withSupergraph(gateway: GatewayFileConfig, descriptors: Descriptor[], baseDir: string, configFile: string, env: NodeJS.ProcessEnv): Descriptor[] {
  if (!gateway.supergraph) return descriptors;
  const path = resolve(baseDir, gateway.supergraph);
  let subgraphs;
  try {
    subgraphs = subgraphsOfSupergraph(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${displayPath(path)} does not exist` : `${displayPath(path)}: ${(error as Error).message}`;
    throw new ConfigError('CONFIG_INVALID', [`${displayPath(configFile)}: supergraph: ${reason}`]);
  }
  const own = new Map(descriptors.filter((d) => d.kind === 'federation' && !d.sdl).map((d) => [d.name, d]));
  const added = subgraphs.flatMap((s) => {
    const described = own.get(s.name);
    if (described) {
      withKnownSdl(described, s.sdl);
      return [];
    }
    return [withKnownSdl(parseDescriptor({ name: s.name, kind: 'federation', url: s.url }, path, dirname(path), env), s.sdl)];
  });
  const all = [...descriptors, ...added];
  const problems = duplicateNames(all);
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return all;
}

function resolveConfig(options: GatewayOptions): ResolvedConfig {
  const env = options.env ?? process.env;
  if (options.configFile) {
    const loaded = loadGatewayFile(options.configFile, env);
    const descriptors = options.descriptorFiles?.length ? withDescriptorFiles(loaded.descriptors, options.descriptorFiles, env) : loaded.descriptors;
    return { gateway: loaded.gateway, descriptors: withSupergraph(loaded.gateway, descriptors, loaded.dir, loaded.file, env) };
  }
  const gateway = parseGatewayConfig(options.gateway ?? {}, '<inline gateway>', env);
  let descriptors: Descriptor[];
  if (options.descriptors) {
    const problems: string[] = [];
    descriptors = [];
    for (const [i, input] of options.descriptors.entries()) {
      const { dir, ...data } = input;
      try {
        descriptors.push(parseDescriptor(data, `<inline descriptor ${i} "${String(data.name)}">`, resolve(dir ?? process.cwd()), env));
      } catch (error) {
        if (isConfigError(error)) problems.push(...error.problems);
        else throw error;
      }
    }
    problems.push(...duplicateNames(descriptors));
    if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  } else if (!gateway.supergraph) {
    descriptors = loadDescriptors(gateway.descriptors, process.cwd(), '<inline gateway>', env);
  } else {
    descriptors = [];
  }
  return { gateway, descriptors: withSupergraph(gateway, descriptors, process.cwd(), '<inline gateway>', env) };
}

/** What loadAll loaded: every source served, the optional subgraphs left out, and the sources it loaded itself (not reused). */
interface LoadedSet {
  sources: LoadedSource[];
  missing: string[];
  fresh: LoadedSource[];
}

/**
 * Loads every source, or reuses the one `reusable` gives (a reload keeps an unchanged subgraph's source); required
 * ones that fail stop the load, with every reason at once, and what it loaded itself is closed again.
 */
async function loadAll(
  descriptors: Descriptor[],
  gateway: GatewayFileConfig,
  logger: Logger,
  key: Buffer,
  canaries: CanaryBoard,
  reusable: (descriptor: Descriptor) => LoadedSource | undefined = () => undefined,
): Promise<LoadedSet> {
  const reused = new Set<LoadedSource>();
  const results = await Promise.allSettled(
    descriptors.map((d) => {
      const kept = reusable(d);
      if (kept) reused.add(kept);
      return kept ?? loadSource(d, { mode: gateway.mode, logger: logger.child({ subgraph: d.name }), cursorKey: key, canaries });
    }),
  );
  const sources: LoadedSource[] = [];
  const missing: string[] = [];
  const problems: string[] = [];
  results.forEach((result, i) => {
    const descriptor = descriptors[i]!;
    if (result.status === 'fulfilled') return sources.push(result.value);
    const reasons = isConfigError(result.reason) ? result.reason.problems : [`subgraph "${descriptor.name}": ${(result.reason as Error).message}`];
    if (descriptor.required) problems.push(...reasons);
    else {
      missing.push(descriptor.name);
      logger.warn({ subgraph: descriptor.name, reasons }, 'optional subgraph not loaded; serving without it');
    }
  });
  const fresh = sources.filter((s) => !reused.has(s));
  if (problems.length > 0) {
    await Promise.all(fresh.map((s) => s.close()));
    throw new ConfigError('SOURCE_LOAD_FAILED', problems);
  }
  return { sources, missing, fresh };
}

/** Longest wait for one readiness probe (a TCP connection to an upstream instance), and the time between rounds. */
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_INTERVAL_MS = 2_000;

/** A subgraph whose schema was read from its upstream (GraphQL introspection, federation `_service`): it answered while loading. */
const introspected = (d: Descriptor): boolean => (d.kind === 'graphql' && !d.source) || (d.kind === 'federation' && !d.sdl && knownSdlOf(d) === undefined);

/**
 * The required subgraphs whose upstream has not answered yet, with their
 * instance URLs: every one except a GraphQL subgraph read by introspection,
 * which answered while loading.
 */
function unansweredSubgraphs(sources: readonly LoadedSource[]): Map<string, string[] | undefined> {
  return new Map(sources.filter((s) => s.descriptor.required && !introspected(s.descriptor)).map((s) => [s.descriptor.name, instanceUrls(s.descriptor)]));
}

/** A descriptor's instance URLs as written; undefined when some are found by discovery (transport/probe.ts then follows its `tessera:discovery` events). */
function instanceUrls(descriptor: Descriptor): string[] | undefined {
  return descriptor.upstreams.some((u) => u.discovery) ? undefined : descriptor.upstreams.map((u) => u.url);
}

/** The subgraphs whose instances are health-checked (`health:`), for the health watch. */
function healthChecked(descriptors: readonly Descriptor[]): Map<string, string[] | undefined> {
  return new Map(descriptors.filter((d) => d.health).map((d) => [d.name, instanceUrls(d)]));
}

/** A discovered upstream's instance set changed (info, with the addresses), or its resolution failed (warn: the last known set stays). */
function logDiscovery(logger: Logger, event: DiscoveryEvent): void {
  const fields = { subgraph: event.subgraph, name: event.name, instances: event.instances.map((i) => i.url) };
  if (event.error !== undefined) {
    logger.warn({ ...fields, error: event.error }, `discovery: resolving ${event.name} failed (${event.error}); the last known instances keep serving`);
    return;
  }
  if (event.added.length > 0) logger.info({ ...fields, added: event.added }, `discovery: instances added (${event.added.join(', ')})`);
  if (event.removed.length > 0) logger.info({ ...fields, removed: event.removed }, `discovery: instances removed (${event.removed.join(', ')}); draining: no new calls, calls in flight finish`);
}

/** A health-check verdict that changed: a warning when an instance goes down (with why), info when it is up again. */
function logInstanceHealth(logger: Logger, event: InstanceHealthEvent): void {
  const fields = { subgraph: event.subgraph, instance: event.instance, state: event.state, reason: event.reason };
  if (event.state === 'down') logger.warn(fields, `instance health check failing (${event.reason}): no traffic to it until it passes again (health: in its descriptor)`);
  else logger.info(fields, 'instance health check passing: it gets traffic');
}

/** Sticky callers moved off their version: at most one log line per subgraph and version in this long (with the count since the last). */
const FALLBACK_LOG_MS = 10_000;

/**
 * Canary events of this gateway's subgraphs as log lines: a guarded version is
 * a warning for the person on call (what was measured against the stable
 * version, and how to restore it); a restore is info; sticky callers falling
 * back to another version are a warning at most every FALLBACK_LOG_MS per
 * version, with how many calls fell back.
 */
function canaryLog(logger: Logger, gatewayId: string, ours: (subgraph: string) => boolean): (message: unknown) => void {
  const fallbacks = new Map<string, { loggedAt: number; count: number }>();
  const percent = (rate: number): string => `${Math.round(rate * 1000) / 10}%`;
  return (message) => {
    const event = message as CanaryEvent;
    if ((event.gateway !== undefined && event.gateway !== gatewayId) || !ours(event.subgraph)) return;
    const fields = { subgraph: event.subgraph, version: event.version };
    if (event.action === 'guarded') {
      const { measured, stable } = event;
      const what =
        event.reason === 'error-rate'
          ? `error rate ${percent(measured!.errorRate)} against ${percent(stable!.errorRate)} on stable ${stable!.version}`
          : `p99 ${measured!.p99Ms} ms against ${stable!.p99Ms} ms on stable ${stable!.version}`;
      logger.warn(
        { ...fields, kind: event.kind, reason: event.reason, measured, stable, ...(event.by && { by: event.by }) },
        `canary guard: version ${event.version} of subgraph ${event.subgraph} gets no traffic (weight 0): ${event.kind} ${what}, over ${measured!.calls} and ${stable!.calls} calls${event.by ? ' (decided by another gateway process, read from the shared store)' : ''}; restore it with \`tessera canary restore ${event.subgraph} ${event.version}\` or POST /admin/canary/restore once fixed`,
      );
      return;
    }
    if (event.action === 'restored') {
      logger.info({ ...fields, by: event.by }, `canary restored: version ${event.version} of subgraph ${event.subgraph} has its configured weights again`);
      return;
    }
    const key = `${event.subgraph}\u0000${event.version}`;
    const now = Date.now();
    const seen = fallbacks.get(key) ?? { loggedAt: 0, count: 0 };
    seen.count++;
    fallbacks.set(key, seen);
    if (now - seen.loggedAt < FALLBACK_LOG_MS) return;
    logger.warn({ ...fields, to: event.to, calls: seen.count }, `sticky callers of version ${event.version} moved to ${event.to}: no instance of ${event.version} available`);
    seen.loggedAt = now;
    seen.count = 0;
  };
}

/** How often each gateway process reads the canary guard's shared decisions (gateway.yaml `store:`). */
const CANARY_POLL_MS = 2_000;

/** A shared store that fails while the guard's decisions are read or written: one warning per minute at most. */
function canaryStoreError(logger: Logger): (error: unknown) => void {
  let loggedAt = 0;
  return (error) => {
    const now = Date.now();
    if (now - loggedAt < 60_000) return;
    loggedAt = now;
    logger.warn({ err: error }, "canary guard: the shared store (gateway.yaml store:) did not answer; each gateway process keeps its own decisions until it does");
  };
}

/** The unhealthy subgraphs that are required (an optional one never holds /readyz back). */
function requiredOnly(unhealthy: Record<string, Record<string, string>>, descriptors: readonly Descriptor[]): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(unhealthy).filter(([name]) => descriptors.some((d) => d.name === name && d.required)));
}

/** The channels of a configuration, the default one first, with every default filled in. */
export function resolveChannels(config: GatewayFileConfig, file = 'gateway.yaml'): ResolvedChannel[] {
  const development = config.mode === 'development';
  const { default: defaultChannel, ...others } = config.channels;
  const named: Array<[string, (typeof config.channels)[string] | undefined]> = [['default', defaultChannel], ...Object.entries(others)];
  const problems: string[] = [];
  const paths = new Map<string, string>();
  const channels = named.map(([name, channel]) => {
    const path = name === 'default' ? (channel?.path ?? config.server.graphqlPath) : (channel?.path ?? `/${name}/graphql`);
    const taken = paths.get(path);
    if (taken) problems.push(`${file}: channels.${name}.path: ${path} is already the path of channel "${taken}"`);
    paths.set(path, name);
    return {
      name,
      hide: [],
      ...channel,
      path,
      introspection: channel?.introspection ?? config.introspection ?? development,
      graphiql: {
        enabled: channel?.graphiql?.enabled ?? config.graphiql?.enabled ?? development,
        defaultQuery: channel?.graphiql?.defaultQuery ?? config.graphiql?.defaultQuery,
        configKey: channel?.graphiql?.enabled !== undefined ? `channels.${name}.graphiql` : 'graphiql',
      },
    } satisfies ResolvedChannel;
  });
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return channels;
}

interface Serving {
  schema: GraphQLSchema;
  channels: Array<{ channel: ResolvedChannel; schema: GraphQLSchema; yoga: GatewayYoga }>;
  byPath: Map<string, GatewayYoga>;
}

interface ServingOptions {
  config: GatewayFileConfig;
  channels: ResolvedChannel[];
  /** gateway.yaml's path, for error messages. */
  file: string;
  logger: Logger;
  traffic?: Traffic;
  security?: { authRules: AuthRules; baseDir: string };
  /** Download-link handlers by subgraph name (sources that hand out links). */
  downloads?: ReadonlyMap<string, DownloadHandler>;
  /** Some source passes upstream response headers on to the client (LoadedSource.passesResponseHeaders). */
  responseHeaders?: boolean;
  /** CORS of each channel by path (see channelOrigins). */
  cors?: ReadonlyMap<string, ChannelOrigins>;
  /** Tests only: GatewayOptions.routes. */
  routes?: readonly RouteName[];
  /** GraphiQL's files, when some channel has GraphiQL on. */
  graphiqlAssets?: GraphiqlAssets;
  /** Request metrics are counted by a plugin of each channel (telemetry.metrics on). */
  metrics?: GatewayMetrics;
  /** Requests are traced by a plugin of each channel (telemetry.tracing on). */
  tracing?: Tracing;
  /** The status page's request rings are fed by a plugin of each channel (telemetry.status on). */
  status?: StatusBoard;
  /** Aborted registry.subscriptionGrace after a reload replaced this version: its open subscriptions end (plugins/use-schema-expiry.ts). */
  expiry?: AbortSignal;
  /** The version's loaded sources (the tags their descriptors declare, for channel include lists). */
  sources?: readonly LoadedSource[];
  /** The line this version serves on: `staged` during a staged rollout (its request lines and metrics say so). */
  line?: 'current' | 'staged';
}

/** One Yoga per channel for a composed schema; built once per schema version. */
function buildServing(composed: ComposedGraph, options: ServingOptions): Serving {
  const { config, channels, file, logger, traffic, security, downloads, responseHeaders, cors, routes, graphiqlAssets, metrics, tracing, status, expiry, line = 'current' } = options;
  // A staged version's request lines carry `schema: staged`.
  const requestLogger = line === 'staged' ? logger.child({ schema: 'staged' }) : logger;
  const { schema } = composed;
  const roots = subgraphRoots(composed.subgraphs);
  // Tags: the descriptors' own, and what federation subgraphs tag in their SDL.
  const declared = declaredTagsWith(declaredTags(options.sources ?? []), composed.subgraphs);
  const problems = channels.flatMap((channel) => channelProblems(schema, channel, `channels.${channel.name}`, file, roots, declared));
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  const views = channels.map((channel) => channelView(schema, channel, roots, declared));
  const fieldProblems = channels.flatMap((channel, i) => channelFieldProblems(views[i]!, channel, `channels.${channel.name}`, file));
  if (fieldProblems.length > 0) throw new ConfigError('CONFIG_INVALID', fieldProblems);
  const built = channels.map((channel, i) => {
    const view = views[i]!;
    // The channel's own names and composed fields, when it has some: its clients see that schema.
    const own = channelFields(view, channel);
    const yoga = buildYoga({
      schema: own?.schema ?? view,
      mode: config.mode,
      graphqlPath: channel.path,
      graphiql: channel.graphiql.enabled && graphiqlAssets ? { assets: graphiqlAssets, defaultQuery: channel.graphiql.defaultQuery } : false,
      graphiqlKey: channel.graphiql.configKey,
      requestDeadline: config.server.requestDeadline,
      bodyLimit: config.server.bodyLimit,
      batching: channel.batching ?? config.security.requests.batching,
      cors: cors?.get(channel.path)?.cors,
      ...(config.logging.requests && { requestLog: { logger: requestLogger, channel: channel.name } }),
      // Observe only: they read each request's account when its response is ready.
      observers: [...(metrics ? [metrics.requestObserver(channel.name, line)] : []), ...(status ? [status.requestObserver(channel.name)] : [])],
      plugins: [
        // Observe only (telemetry/tracing.ts); first, so it sees every request, and the operation before a later plugin refuses it.
        ...(tracing ? [tracing.plugin(channel.name)] : []),
        ...(expiry ? [useSchemaExpiry(expiry)] : []),
        // Before every other plugin's onExecute: they see the operation in the unified graph's names.
        ...(own ? [useChannelFields({ fields: own, view })] : []),
        ...buildPlugins({ gateway: config, channel, schema: view, logger, traffic, subgraphs: composed.subgraphs, routes, file, ...security, downloads, responseHeaders }),
      ],
    });
    return { channel, schema: own?.schema ?? view, yoga };
  });
  return { schema, channels: built, byPath: new Map(built.map((b) => [b.channel.path, b.yoga])) };
}

interface ChannelOrigins {
  /** undefined: CORS off on this channel. */
  cors: Cors | undefined;
  /** Where the policy is set, for the person reading a refusal. */
  configKey: string;
}

/**
 * Each channel's CORS policy by path, compiled once for every schema version:
 * Yoga's CORS plugin, node:http's own refusals and WebSocket upgrades all ask
 * the same object.
 */
/** Where the request lines of the channel at `path` go, for operations over WebSocket (logging.requests). */
function requestLogAt(serving: Serving, path: string, logger: Logger): RequestLog | undefined {
  const channel = serving.channels.find((c) => c.channel.path === path)?.channel;
  return channel && { logger, channel: channel.name };
}

function channelOrigins(config: GatewayFileConfig, channels: ResolvedChannel[]): Map<string, ChannelOrigins> {
  return new Map(
    channels.map((channel) => {
      const policy = channelCors(config.security, channel);
      const configKey = channel.cors !== undefined ? `channels.${channel.name}.cors` : 'security.cors';
      return [channel.path, { cors: policy && createCors(policy), configKey }];
    }),
  );
}

/**
 * The gateway's metrics when telemetry.metrics is on (default: development only), refused at start-up when
 * its path is also a GraphQL or health path (one of the two would never be reachable).
 */
function gatewayMetrics(config: GatewayFileConfig, channels: readonly ResolvedChannel[], subgraphs: readonly string[], file: string, gatewayId: string): GatewayMetrics | undefined {
  const { enabled, path, maxOperations } = config.telemetry.metrics;
  if (!(enabled ?? adminDefault(config))) return undefined;
  const taken = [...channels.map((c) => c.path), '/healthz', '/readyz'];
  if (taken.includes(path)) {
    throw new ConfigError('CONFIG_INVALID', [`${file}: telemetry.metrics.path: ${path} is already served (GraphQL and health paths: ${taken.join(', ')}); choose another path`]);
  }
  return new GatewayMetrics({ subgraphs, maxOperations, gatewayId });
}

/**
 * The one rule for admin endpoints (/metrics, the admin API): on by default where an admin listener serves
 * them, or in development; off on the main port in production unless their key turns them on.
 */
function adminDefault(config: GatewayFileConfig): boolean {
  return config.admin !== undefined || config.mode === 'development';
}

function hostUrl(address: AddressInfo, secure: boolean): string {
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${secure ? 'https' : 'http'}://${shownHost}:${address.port}`;
}

/**
 * The gateway's tracing when telemetry.tracing is enabled: the tracing module is imported here, only then
 * (off, none of it is loaded; on, its own spans and OTLP encoder, and OpenTelemetry modules only to hand
 * spans to an embedder's spanExporter). checkTracing refuses, before anything starts,
 * enabled without an exporter endpoint unless the embedder passed a spanExporter.
 */
function checkTracing(config: GatewayFileConfig, options: GatewayOptions, file: string): void {
  const tracing = config.telemetry.tracing;
  if (tracing.enabled && !tracing.exporter.endpoint && !options.spanExporter) {
    throw new ConfigError('CONFIG_INVALID', [
      `${file}: telemetry.tracing.exporter.endpoint: required when telemetry.tracing.enabled is true (the OTLP/HTTP traces URL of your collector, e.g. http://127.0.0.1:4318/v1/traces)`,
    ]);
  }
}

async function gatewayTracing(config: GatewayFileConfig, options: GatewayOptions, logger: Logger): Promise<Tracing | undefined> {
  const tracing = config.telemetry.tracing;
  if (!tracing.enabled) return undefined;
  const { createTracing } = await import('./telemetry/tracing.js');
  return createTracing({ config: tracing, exporter: options.spanExporter, logger });
}

/**
 * Whether telemetry.status is on (default: development only); refused at start-up when its path, or a path
 * below it, is also a GraphQL, health or metrics path (the page would hide it).
 */
function statusEnabled(config: GatewayFileConfig, channels: readonly ResolvedChannel[], file: string): boolean {
  const { enabled, path } = config.telemetry.status;
  if (!(enabled ?? adminDefault(config))) return false;
  const metricsOn = config.telemetry.metrics.enabled ?? adminDefault(config);
  // What the listener serving the page serves besides: the admin endpoints, and on the main one GraphQL and health too.
  const taken = [
    ...(config.admin ? [] : [...channels.map((c) => c.path), '/healthz', '/readyz']),
    ...(metricsOn ? [config.telemetry.metrics.path] : []),
    ...ADMIN_API_PATHS,
  ];
  const clash = taken.filter((p) => p === path || p.startsWith(`${path}/`));
  if (clash.length > 0) {
    throw new ConfigError('CONFIG_INVALID', [
      `${file}: telemetry.status.path: ${path} would serve ${clash.join(', ')}, already served (${config.admin ? 'admin' : 'GraphQL, health and admin'} paths: ${taken.join(', ')}); choose another path`,
    ]);
  }
  return true;
}

/**
 * A subgraph's health for the status page, from what /readyz knows: the readiness watch for the subgraphs it
 * waits for, loading for the ones read by introspection, and nothing (not probed) for the others.
 */
function subgraphHealth(descriptor: Descriptor, missing: readonly string[], watched: ReadonlyMap<string, unknown>, waiting: () => readonly string[]): Health {
  const { name } = descriptor;
  if (missing.includes(name)) return 'not loaded';
  if (watched.has(name)) return waiting().includes(name) ? 'waiting' : 'answered';
  return introspected(descriptor) ? 'answered' : 'not probed';
}

/** One schema version: what it serves, and from which descriptors and sources. */
interface SchemaVersion {
  /** schemaVersion(): the hash of its unified SDL. */
  id: string;
  serving: Serving;
  descriptors: Descriptor[];
  sources: LoadedSource[];
  /** Optional subgraphs that failed to load. */
  missing: string[];
  /** descriptorFingerprint() by subgraph name. */
  fingerprints: Map<string, string>;
  loadedAt: Date;
  /** Aborted when this version was replaced `registry.subscriptionGrace` ago: its open subscriptions end. */
  expiry: AbortController;
  /** Set on the version a gateway starts with on an empty Redis registry: why it serves nothing (/readyz, NO_SCHEMA_YET). */
  empty?: string;
}

/** What GET /admin/status shows under `reload`. */
interface ReloadState {
  /** When the last reload attempt ended (ISO 8601); null before the first. */
  lastAttempt: string | null;
  lastResult: SchemaEvent['result'] | null;
  /** The problems of the last attempt, when it failed; null otherwise. */
  lastError: string[] | null;
  /** The version serving. */
  version: string;
}

/**
 * The registry of a gateway: the Redis registry with `registry.url`, else the descriptors folder gateway.yaml
 * names, or the descriptors given in code. `serving` says what this gateway serves (the Redis registry's heartbeat).
 */
function gatewayRegistry(
  options: GatewayOptions,
  config: GatewayFileConfig,
  configFile: string,
  logger: Logger,
  serving: () => { id: string; version: string; descriptors: readonly Descriptor[] } | undefined,
): Registry | RedisRegistry {
  const env = options.env ?? process.env;
  if (config.registry.url !== undefined) {
    const { url, prefix, history, poll } = config.registry;
    const redis = redisRegistry({ url, prefix, history, pollMs: poll, env, logger, serving });
    // `tessera check` and `tessera publish`: the candidate files replace the published descriptor of their subgraph, or are added.
    const load = async (): Promise<Descriptor[]> => {
      const published = await redis.load().catch((error: unknown) => {
        // Nothing published yet: a first publish's candidate is all there is.
        if (options.descriptorFiles?.length && isEmptyRegistry(error)) return [];
        throw error;
      });
      return options.descriptorFiles?.length ? withDescriptorFiles(published, options.descriptorFiles, env) : published;
    };
    return { ...redis, load };
  }
  if (options.configFile) {
    const baseDir = dirname(resolve(options.configFile));
    const file = resolve(options.configFile);
    // The supergraph file is watched beside the descriptors.
    const watched = [config.descriptors, config.supergraph ?? []].flat();
    const folder = folderRegistry({ locations: watched, baseDir, configFile: file, env, debounceMs: config.registry.debounce, logger });
    // Read as at start-up: `tessera check`'s candidate files stay in every set read, and the supergraph's subgraphs join it.
    const load = async (): Promise<Descriptor[]> => {
      const configured = loadConfiguredDescriptors(config, baseDir, file, env);
      const candidate = options.descriptorFiles?.length ? withDescriptorFiles(configured, options.descriptorFiles, env) : configured;
      return withSupergraph(config, candidate, baseDir, file, env);
    };
    return { ...folder, load };
  }
  return fixedRegistry(options.descriptors ? 'descriptors given in code' : configFile, () => resolveConfig(options).descriptors);
}

export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const started = performance.now();
  // Names this gateway's `tessera:schema` events.
  const gatewayId = randomUUID();
  const { gateway: config, descriptors: configured } = resolveConfig(options);
  let descriptors = configured;
  const configFile = options.configFile ?? '<inline gateway>';
  const channels = resolveChannels(config, configFile);
  // Before any source is loaded: nothing starts half-configured.
  checkTracing(config, options, configFile);
  const logger = options.logger ?? createLogger(config.logging.level);
  // Relative paths in gateway.yaml (TLS files, manifests, keys) are relative to it.
  const baseDir = options.configFile ? dirname(resolve(options.configFile)) : process.cwd();
  // Set once the first version serves; the Redis registry's heartbeat reads it.
  const served: { versions?: ServedVersions<SchemaVersion, LoadedSource> } = {};
  const registry = gatewayRegistry(options, config, configFile, logger, () =>
    served.versions && { id: gatewayId, version: served.versions.current.id, descriptors: served.versions.current.descriptors },
  );
  // The Redis registry holds the descriptors: the first set is read from it. On an empty registry the gateway
  // starts all the same (replicas may start before the first deploy publishes): it serves `registry.seed` when
  // set, else nothing (`empty` says why, for /readyz and GraphQL requests) until the first publish, which the
  // watch picks up like any other.
  let empty: string | undefined;
  if (config.registry.url !== undefined) {
    try {
      descriptors = await registry.load();
    } catch (error) {
      if (isEmptyRegistry(error) && config.registry.seed !== undefined) {
        try {
          descriptors = loadDescriptors(config.registry.seed, baseDir, configFile, options.env ?? process.env);
        } catch (seedError) {
          await registry.close?.();
          throw seedError;
        }
        logger.warn({ registry: registry.description, seed: config.registry.seed }, 'registry empty: serving registry.seed until the first publish');
      } else if (isEmptyRegistry(error)) {
        descriptors = [];
        empty = `nothing is published in ${registry.description} yet, and no registry.seed is set: the first \`tessera publish\` is served`;
        logger.warn({ registry: registry.description }, `registry empty: serving nothing, /readyz 503, until the first publish (registry.seed serves a descriptors folder meanwhile)`);
      } else {
        await registry.close?.();
        throw error;
      }
    }
  }
  const origins = channelOrigins(config, channels);
  // One key for every source and version, so a cursor stays valid as long as this gateway runs.
  const key = cursorKey(config.security.cursors.secret ?? options.cursorSecret);
  // The canaries of the descriptors with `canary:`, by subgraph: each upstream adds its own (GET /admin/canary, restore).
  const canaries = new CanaryBoard(gatewayId);
  // Health-check verdicts (descriptor `health:`): logged, and followed for /readyz. Before the upstreams exist, to hear their first verdicts.
  // Discovered instance sets (upstreams[].discovery): logged, and kept for the watches, the status page and GET /admin/status. Before the upstreams exist, to hear their first resolution.
  const discovered = new DiscoveredInstances();
  const onDiscovery = (message: unknown): void => logDiscovery(logger, message as DiscoveryEvent);
  diagnosticsChannel(EVENTS.discovery).subscribe(onDiscovery);
  const stopDiscovered = (): void => {
    diagnosticsChannel(EVENTS.discovery).unsubscribe(onDiscovery);
    discovered.close();
  };
  const health = watchHealth(healthChecked(descriptors), (event) => logInstanceHealth(logger, event), discovered);
  let loadedFirst: LoadedSet;
  try {
    // Before any source is fetched or connected to: a descriptor may not point the gateway anywhere (SSRF).
    await guardUpstreams(descriptors, config.security.upstreams, displayPath);
    loadedFirst = await loadAll(descriptors, config, logger, key, canaries);
    if (loadedFirst.sources.length === 0 && empty === undefined) {
      throw new ConfigError('SOURCE_LOAD_FAILED', ['no subgraph could be loaded, so there is nothing to serve']);
    }
  } catch (error) {
    health.close();
    stopDiscovered();
    await registry.close?.();
    throw error;
  }
  const { sources, missing } = loadedFirst;
  // Only a subgraph that was waited for is worth a log line when it answers.
  let probedOnce = false;
  const watched = config.server.readiness !== 'loaded' ? unansweredSubgraphs(sources) : new Map<string, string[] | undefined>();
  const answers = watchAnswers({
    subgraphs: watched,
    discovered,
    timeoutMs: PROBE_TIMEOUT_MS,
    intervalMs: PROBE_INTERVAL_MS,
    onAnswer: (subgraph) => {
      if (probedOnce) logger.info({ subgraph }, 'subgraph answered; /readyz no longer waits for it');
    },
  });
  // Known before the gateway listens: a live upstream makes /readyz pass from the first probe.
  await answers.firstRound;
  probedOnce = true;
  if (answers.waiting().length > 0) {
    logger.warn({ subgraphs: answers.waiting() }, `/readyz reports not ready until these required subgraphs answer (probed every ${PROBE_INTERVAL_MS / 1000} s; server.readiness: loaded turns this off)`);
  }
  let traffic: Traffic | undefined;
  let composed;
  let metrics: GatewayMetrics | undefined;
  let tracing: Tracing | undefined;
  let status: StatusBoard | undefined;
  let graphiqlAssets: GraphiqlAssets | undefined;
  let first: SchemaVersion;
  // The staged rollout as the status page shows it (set once the staged line exists, below).
  let stageView: () => { version: string; rule: string; subgraphs: Record<string, string> } | null = () => null;
  // What every version's serving shares; its sources and traffic view are its own.
  const servingFor = (versionSources: readonly LoadedSource[], versionTraffic: Traffic, expiry: AbortSignal): ServingOptions => ({
    config,
    channels,
    file: configFile,
    logger,
    traffic: versionTraffic,
    security: { authRules: authRulesFor([...versionSources]), baseDir },
    sources: versionSources,
    downloads: new Map(versionSources.flatMap((s) => (s.download ? [[s.descriptor.name, s.download.bind(s)] as const] : []))),
    responseHeaders: versionSources.some((s) => s.passesResponseHeaders),
    cors: origins,
    routes: options.routes,
    graphiqlAssets,
    metrics,
    tracing,
    status,
    expiry,
  });
  try {
    // Rate limiters and cache store: once per gateway, shared by every channel and schema version.
    traffic = await createTraffic({ config, descriptors, sources, logger, file: configFile });
    metrics = gatewayMetrics(config, channels, descriptors.map((d) => d.name), configFile, gatewayId);
    tracing = await gatewayTracing(config, options, logger);
    composed = composeSources(sources, { wrapExecutor: traffic.wrapExecutor, checkStitched: checkedExecutor });
    if (statusEnabled(config, channels, configFile)) {
      const byName = new Map(descriptors.map((d) => [d.name, d]));
      const board = new StatusBoard({
        subgraphs: descriptors.map((d) => ({
          name: d.name,
          kind: d.kind,
          instances: instanceUrls(d) ? d.upstreams : discovered.instances(d.name),
          breakers: d.breaker !== false || d.outliers !== false,
          checks: d.health !== undefined,
          shadow: d.shadow && shadowVersion(d.shadow),
          adaptive: d.adaptiveConcurrency?.initialLimit,
          canary: d.canary !== undefined,
        })),
        channels: channels.map((c) => ({ name: c.name, path: c.path })),
        schema: composed.schema,
        loadedAt: new Date(),
        health: (name) => subgraphHealth(byName.get(name)!, missing, watched, () => answers.waiting()),
        gatewayId,
        stage: () => stageView(),
      });
      status = board;
    }
    // Loaded once, and only when a channel serves GraphiQL (9 MB of scripts).
    graphiqlAssets = channels.some((c) => c.graphiql.enabled) ? await loadGraphiqlAssets() : undefined;
    const expiry = new AbortController();
    // An empty registry: no channel serves until the first publish (their include lists and renames name types it does not have yet).
    const serving: Serving = empty === undefined ? buildServing(composed, servingFor(sources, traffic, expiry.signal)) : { schema: composed.schema, channels: [], byPath: new Map() };
    first = {
      id: schemaVersion(composed.schema),
      serving,
      descriptors,
      sources,
      missing,
      fingerprints: new Map(descriptors.map((d) => [d.name, descriptorFingerprint(d)])),
      loadedAt: new Date(),
      expiry,
      ...(empty !== undefined && { empty }),
    };
  } catch (error) {
    metrics?.close();
    status?.close();
    await tracing?.close();
    answers.close();
    health.close();
    stopDiscovered();
    await Promise.all([...sources.map((s) => s.close()), traffic?.close(), registry.close?.()]);
    throw error;
  }
  const openTraffic = traffic;
  const openTracing = tracing;
  // A worker of `tessera serve --workers N` answers a scrape with every worker's metrics, through the primary.
  const clusterMetrics = metrics && workerMetrics(metrics.registry, logger);
  publishSchema({ gateway: gatewayId, result: 'loaded', version: first.id, durationMs: Math.round((performance.now() - started) * 10) / 10, trigger: 'start', at: new Date().toISOString() });

  // Closes of drained versions still running, awaited by close().
  const draining = new Set<Promise<void>>();
  const drainOptions: VersionsOptions<SchemaVersion, LoadedSource> = {
    onDrained: ({ version, closed, done }) => {
      version.expiry.abort();
      draining.add(done);
      void done.then(() => {
        draining.delete(done);
        logger.info({ version: version.id, closed: closed.map((s) => s.descriptor.name) }, 'schema version drained: its last request ended; the sources no later version uses are closed');
      });
    },
    onCloseError: (source, error) => logger.warn({ err: error, subgraph: source.descriptor.name }, 'error closing subgraph'),
  };
  const versions = new ServedVersions<SchemaVersion, LoadedSource>(first, sources, drainOptions);
  /**
   * The staged rollout's line (`tessera publish --stage`), while one is under way: its own served versions, built
   * from the registry's staged set with sources of its own (none shared with the current line, so neither line's
   * drain closes what the other uses), and the rule that sends a request to it (lineFor).
   */
  let staged: { versions: ServedVersions<SchemaVersion, LoadedSource>; rule: StageRule; ruleKey: string; subgraphs: Record<string, string> } | undefined;
  stageView = () => (staged ? { version: staged.versions.current.id, rule: stageRuleText(staged.rule), subgraphs: staged.subgraphs } : null);
  /** A replaced version's open subscriptions end `registry.subscriptionGrace` after it was replaced. */
  const graceFor = (previous: SchemaVersion, line: ServedVersions<SchemaVersion, LoadedSource>): void => {
    if (!line.live.includes(previous)) return;
    const timer = setTimeout(() => previous.expiry.abort(), config.registry.subscriptionGrace);
    timer.unref();
    previous.expiry.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  };
  served.versions = versions;
  const reloadState: ReloadState = { lastAttempt: null, lastResult: null, lastError: null, version: first.id };

  // Breaker changes are rare and matter to the person on call: one log line each. The last state of each
  // instance is kept for GET /admin/status (an instance with no change seen is closed).
  const breakerStates = new Map<string, BreakerEvent['state']>();
  const onBreaker = (message: unknown): void => {
    const event = message as BreakerEvent;
    if (!versions.current.descriptors.some((d) => d.name === event.subgraph)) return;
    breakerStates.set(`${event.subgraph} ${event.instance}`, event.state);
    if (event.cause === 'consecutive-failures' || event.cause === 'failure-rate') {
      const why = event.cause === 'failure-rate' ? 'a failure rate above the other instances\'' : 'consecutive failures';
      logger.warn(
        { subgraph: event.subgraph, instance: event.instance, state: event.state, cause: event.cause, openForMs: event.openForMs },
        `instance ejected after ${why}: no calls for ${(event.openForMs ?? 0) / 1000} s, then one probe (outliers: in its descriptor)`,
      );
      return;
    }
    logger[event.state === 'open' ? 'warn' : 'info']({ subgraph: event.subgraph, instance: event.instance, state: event.state, cause: event.cause }, `circuit breaker ${event.state}`);
  };
  breakerChannel.subscribe(onBreaker);
  // Shadow traffic: a warn line per sampled mismatch (the stage samples; telemetry/shadow-log.ts).
  const stopShadowLog = logShadowMismatches(logger, () => versions.current.descriptors.map((d) => d.name));

  // Adaptive concurrency: a limit change at debug; shed calls at warn, one line per subgraph per SHED_WARN_MS with the count since the last.
  const shedWarned = new Map<string, { at: number; since: number }>();
  const onConcurrency = (message: unknown): void => {
    const event = message as ConcurrencyEvent;
    if (event.change === 'in-flight' || !versions.current.descriptors.some((d) => d.name === event.subgraph)) return;
    if (event.change === 'limit') {
      logger.debug({ subgraph: event.subgraph, limit: event.limit, previous: event.previous, inFlight: event.inFlight }, 'adaptive concurrency limit changed');
      return;
    }
    let shed = shedWarned.get(event.subgraph);
    if (!shed) shedWarned.set(event.subgraph, (shed = { at: -Infinity, since: 0 }));
    shed.since++;
    const now = Date.now();
    if (now - shed.at < SHED_WARN_MS) return;
    const count = shed.since;
    shed.at = now;
    shed.since = 0;
    logger.warn(
      { subgraph: event.subgraph, limit: event.limit, inFlight: event.inFlight, shed: count },
      `subgraph overloaded: calls shed with SUBGRAPH_OVERLOADED at its adaptive concurrency limit of ${event.limit} (adaptiveConcurrency: in its descriptor); at most one such line per ${SHED_WARN_MS / 1000} s`,
    );
  };
  const concurrencyEvents = diagnosticsChannel(EVENTS.concurrency);
  concurrencyEvents.subscribe(onConcurrency);
  const onCanary = canaryLog(logger, gatewayId, (subgraph) => versions.current.descriptors.some((d) => d.name === subgraph));
  canaryChannel.subscribe(onCanary);
  // With a shared store (Redis, or the cluster primary for --workers), every process applies the guard decisions of the others.
  const stopCanarySharing =
    config.store.url !== 'memory' || openTraffic.stores.primary ? canaries.share(openTraffic.stores.kv(config.store, 'canary'), CANARY_POLL_MS, canaryStoreError(logger), config.canary.decisionTtl) : undefined;

  let closing: Promise<void> | undefined;

  /**
   * One reload attempt, off the request path: read the registry, load the changed subgraphs (reusing the
   * unchanged ones' sources), compose, build the serving, warm the persisted operations, then swap. Any failure
   * leaves the running version in place.
   */
  const attempt = async (trigger: ReloadTrigger): Promise<SchemaEvent> => {
    const began = performance.now();
    const previous = versions.current;
    let fresh: LoadedSource[] = [];
    const outcome = (event: Omit<SchemaEvent, 'gateway' | 'durationMs' | 'at' | 'trigger'>): SchemaEvent => {
      const full: SchemaEvent = { gateway: gatewayId, ...event, trigger, durationMs: Math.round((performance.now() - began) * 10) / 10, at: new Date().toISOString() };
      Object.assign(reloadState, { lastAttempt: full.at, lastResult: full.result, lastError: full.problems ?? null, version: versions.current.id });
      publishSchema(full);
      registry.reloaded?.();
      return full;
    };
    try {
      if (closing) throw new ConfigError('SOURCE_LOAD_FAILED', ['the gateway is closing or closed; nothing was reloaded']);
      const next = await registry.load();
      await guardUpstreams(next, config.security.upstreams, displayPath);
      const fingerprints = new Map(next.map((d) => [d.name, descriptorFingerprint(d)]));
      const before = new Set(previous.descriptors.map((d) => d.name));
      const added = next.filter((d) => !before.has(d.name)).map((d) => d.name);
      const changed = next.filter((d) => before.has(d.name) && previous.fingerprints.get(d.name) !== fingerprints.get(d.name)).map((d) => d.name);
      const removed = [...before].filter((name) => !fingerprints.has(name));
      if (added.length + changed.length + removed.length === 0 && previous.missing.length === 0) {
        logger.info({ version: previous.id, trigger, registry: registry.description }, 'schema reload: no descriptor changed; the running version stays');
        return outcome({ result: 'unchanged', version: previous.id });
      }
      const kept = new Map(previous.sources.map((s) => [s.descriptor.name, s]));
      const loaded = await loadAll(next, config, logger, key, canaries, (d) => (previous.fingerprints.get(d.name) === fingerprints.get(d.name) ? kept.get(d.name) : undefined));
      fresh = loaded.fresh;
      if (loaded.sources.length === 0) throw new ConfigError('SOURCE_LOAD_FAILED', ['no subgraph could be loaded, so there is nothing to serve']);
      const versionTraffic = openTraffic.forVersion({ descriptors: next, sources: loaded.sources });
      const nextComposed = composeSources(loaded.sources, { wrapExecutor: versionTraffic.wrapExecutor, checkStitched: checkedExecutor });
      const expiry = new AbortController();
      const serving = buildServing(nextComposed, servingFor(loaded.sources, versionTraffic, expiry.signal));
      const warmed = warmPersisted(serving, baseDir, configFile);
      if (warmed.invalid.length > 0) {
        logger.warn({ invalid: warmed.invalid }, 'schema reload: persisted operations that do not validate on the new version (clients sending them get errors); run `tessera check --operations` before publishing');
      }
      if (closing) throw new ConfigError('SOURCE_LOAD_FAILED', ['the gateway is closing; the reload was abandoned']);
      const version: SchemaVersion = { id: schemaVersion(nextComposed.schema), serving, descriptors: next, sources: loaded.sources, missing: loaded.missing, fingerprints, loadedAt: new Date(), expiry };
      versions.swap(version, loaded.sources);
      fresh = [];
      // The watches follow the version served: its health-checked subgraphs, and its new or changed ones to wait for (a removed one is not probed again).
      health.update(healthChecked(next));
      if (config.server.readiness !== 'loaded') {
        const wait = unansweredSubgraphs(loaded.fresh);
        for (const name of [...watched.keys()]) if (!fingerprints.has(name)) watched.delete(name);
        for (const [name, urls] of wait) watched.set(name, urls);
        answers.update(wait, new Set(fingerprints.keys()));
      }
      // Open subscriptions of the replaced version end at the bound; requests end by themselves (requestDeadline).
      graceFor(previous, versions);
      const subgraphs = { added, changed, removed };
      const event = outcome({ result: 'loaded', version: version.id, subgraphs });
      logger.info(
        { version: version.id, previous: previous.id, durationMs: event.durationMs, trigger, ...subgraphs, ...(loaded.missing.length > 0 && { missing: loaded.missing }), warmed: warmed.count },
        'schema reloaded',
      );
      return event;
    } catch (error) {
      await Promise.all(fresh.map((s) => s.close().catch((e: unknown) => logger.warn({ err: e, subgraph: s.descriptor.name }, 'error closing subgraph'))));
      const problems = isConfigError(error) ? error.problems : [(error as Error).message];
      logger.error(
        { version: previous.id, trigger, registry: registry.description, problems },
        `schema reload failed; version ${previous.id} keeps serving. Fix these problems (\`tessera check\` shows them too) and save again:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
      return outcome({ result: 'failed', version: previous.id, problems, error: problems.join('; ') });
    }
  };
  /** Ends the staged line: its version drains (its subscriptions at the bound), every request gets the current line. */
  const endStage = (why: string): void => {
    if (!staged) return;
    const line = staged.versions;
    const last = line.retire();
    graceFor(last, line);
    logger.info({ version: last.id, current: versions.current.id, subgraphs: staged.subgraphs }, `staged rollout ended (${why}): every request gets the current version`);
    staged = undefined;
  };
  /**
   * Brings the staged line in step with the registry's stage (after each reload attempt, and at start-up): built
   * off the request path like a reload; a stage that does not load or compose is not served (logged at error) and
   * every request keeps the current version.
   */
  const syncStage = async (): Promise<void> => {
    const redis = 'loadStage' in registry ? registry : undefined;
    if (!redis || closing) return;
    let wanted: Awaited<ReturnType<RedisRegistry['loadStage']>>;
    try {
      wanted = await redis.loadStage();
    } catch (error) {
      const problems = isConfigError(error) ? error.problems : [(error as Error).message];
      logger.error({ problems }, `staged rollout not served: every request gets the current version. Fix these problems and publish again:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return;
    }
    if (!wanted) return endStage(staged ? 'promoted or aborted in the registry' : 'none');
    const fingerprints = new Map(wanted.descriptors.map((d) => [d.name, descriptorFingerprint(d)]));
    const ruleKey = JSON.stringify(wanted.rule);
    const before = staged?.versions.current;
    const same = before && before.fingerprints.size === fingerprints.size && [...fingerprints].every(([name, f]) => before.fingerprints.get(name) === f);
    if (staged && same) {
      if (staged.ruleKey !== ruleKey) Object.assign(staged, { rule: wanted.rule, ruleKey });
      return;
    }
    let fresh: LoadedSource[] = [];
    try {
      await guardUpstreams(wanted.descriptors, config.security.upstreams, displayPath);
      const kept = new Map((before?.sources ?? []).map((s) => [s.descriptor.name, s]));
      const loaded = await loadAll(wanted.descriptors, config, logger, key, canaries, (d) => (before?.fingerprints.get(d.name) === fingerprints.get(d.name) ? kept.get(d.name) : undefined));
      fresh = loaded.fresh;
      const versionTraffic = openTraffic.forVersion({ descriptors: wanted.descriptors, sources: loaded.sources });
      const composedStage = composeSources(loaded.sources, { wrapExecutor: versionTraffic.wrapExecutor, checkStitched: checkedExecutor });
      const expiry = new AbortController();
      const serving = buildServing(composedStage, { ...servingFor(loaded.sources, versionTraffic, expiry.signal), line: 'staged' });
      if (closing) throw new ConfigError('SOURCE_LOAD_FAILED', ['the gateway is closing; the stage was abandoned']);
      const version: SchemaVersion = { id: schemaVersion(composedStage.schema), serving, descriptors: wanted.descriptors, sources: loaded.sources, missing: loaded.missing, fingerprints, loadedAt: new Date(), expiry };
      if (staged) {
        const previous = staged.versions.swap(version, loaded.sources);
        graceFor(previous, staged.versions);
        Object.assign(staged, { rule: wanted.rule, ruleKey, subgraphs: wanted.stage.subgraphs });
      } else staged = { versions: new ServedVersions(version, loaded.sources, drainOptions), rule: wanted.rule, ruleKey, subgraphs: wanted.stage.subgraphs };
      fresh = [];
      logger.info({ version: version.id, current: versions.current.id, rule: stageRuleText(wanted.rule), subgraphs: wanted.stage.subgraphs }, 'staged rollout serving');
    } catch (error) {
      await Promise.all(fresh.map((s) => s.close().catch((e: unknown) => logger.warn({ err: e, subgraph: s.descriptor.name }, 'error closing subgraph'))));
      const problems = isConfigError(error) ? error.problems : [(error as Error).message];
      logger.error({ problems }, `staged rollout not served: every request gets the current version. Fix these problems and publish again:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
  };
  // One attempt at a time; a request during one is served by one more attempt after it (requests meanwhile share it).
  let running: Promise<SchemaEvent> | undefined;
  let queued: Promise<SchemaEvent> | undefined;
  const reload = (trigger: ReloadTrigger): Promise<SchemaEvent> => {
    if (!running) {
      running = attempt(trigger)
        .then(async (event) => {
          await syncStage();
          return event;
        })
        .finally(() => (running = undefined));
      return running;
    }
    queued ??= running.then(() => {
      queued = undefined;
      return reload(trigger);
    });
    return queued;
  };
  let stopWatch: (() => void) | undefined;

  // Admin endpoints: one table, served by the admin listener when configured, else by the main one.
  const logLevel = new LogLevelControl(logger);
  const sampler = new BodySampler(logger, (subgraph) => UPSTREAM_BODY_CHANNEL_PREFIX + subgraph);
  const adminCanaries = {
    states: () => canaries.states() as unknown as Array<Record<string, unknown>>,
    sharing: () => canaries.sharing() as Record<string, unknown> | null,
    restore: (subgraph: string, version: string, by: string) => canaries.restore(subgraph, version, by),
  };
  const adminState = { logger, logLevel, sampler, board: status, breakers: () => Object.fromEntries(breakerStates), reload: () => reload('admin'), reloadState: () => ({ ...reloadState }), canaries: adminCanaries };
  // A worker of `tessera serve --workers N`: the status page and the admin API answer for every worker (server/admin-group.ts).
  const group = adminGroup(adminState);
  const adminEndpoints = new Map<string, AdminHandler>();
  if (metrics) adminEndpoints.set(config.telemetry.metrics.path, metricsEndpoint({ contentType: metrics.contentType, scrape: () => (clusterMetrics ?? metrics).scrape() }));
  if (status) {
    const board = status;
    const statusPage = statusPageHandler({ path: config.telemetry.status.path, snapshot: () => (group ? group.statusSnapshot() : board.snapshot()) });
    // The page at its path, its JSON and files below it.
    adminEndpoints.set(config.telemetry.status.path, statusPage);
    adminEndpoints.set(`${config.telemetry.status.path}/`, statusPage);
  }
  const loadedNames = (): string[] => versions.current.sources.map((s) => s.descriptor.name);
  if (config.admin ? config.admin.enabled.api : config.mode === 'development') {
    const adminStatus = (breakerOf: (subgraph: string, instance: string) => BreakerEvent['state']) => {
      const { current } = versions;
      const loaded = loadedNames();
      return {
        subgraphs: current.descriptors.map((d) => ({
          name: d.name,
          kind: d.kind,
          loaded: loaded.includes(d.name),
          instances: (instanceUrls(d) ? d.upstreams : discovered.instances(d.name)).map((u) => ({
            url: u.url,
            version: u.version ?? null,
            weight: u.weight,
            breaker: d.breaker === false && d.outliers === false ? 'off' : breakerOf(d.name, u.url),
          })),
        })),
        schema: { loadedAt: current.loadedAt.toISOString(), version: current.id },
        reload: { ...reloadState, registry: registry.description, draining: versions.live.filter((v) => v !== current).map((v) => ({ version: v.id, inFlight: versions.inFlight(v) })) },
        stage: staged ? { version: staged.versions.current.id, rule: staged.rule, subgraphs: staged.subgraphs, inFlight: staged.versions.inFlight(staged.versions.current) } : null,
        channels: current.serving.channels.map(({ channel }) => ({ name: channel.name, path: channel.path })),
        logLevel: logLevel.state(),
        sampling: sampler.current(),
      };
    };
    // The Redis registry's view, rollback and publish (GET /admin/registry, POST /admin/registry/rollback and /publish); a publish runs `tessera publish`'s check, through the publisher the CLI hands over.
    const redis = 'rollback' in registry ? registry : undefined;
    const registryApi = redis && {
      list: async () => ({
        registry: redis.description,
        revision: await redis.revision(),
        stage: (await redis.stage()) ?? null,
        subgraphs: (await redis.list()).map((s) => ({ ...s, versions: s.versions.map(versionSummary) })),
        replicas: await redis.replicas(),
      }),
      rollback: async (subgraph: string, by: string, to?: string) => {
        const outcome = await redis.rollback(subgraph, by, to);
        return 'aborted' in outcome ? outcome : { revision: outcome.revision, rolledBack: versionSummary(outcome.version) };
      },
      promote: async (subgraph: string, by: string) => redis.promote(subgraph, by),
      ...(options.publisher && { publish: (request: AdminPublishRequest) => options.publisher!(redis, request, logger) }),
    };
    const endpoints = adminApiEndpoints({
      status: adminStatus,
      state: () => workerAdminState(adminState),
      subgraphs: loadedNames,
      logLevel,
      sampler,
      group,
      reload: () => reload('admin'),
      canaries: adminCanaries,
      ...(registryApi && { registry: registryApi }),
    });
    for (const [path, handler] of endpoints) adminEndpoints.set(path, handler);
  }
  const adminServer: AdminServer | undefined =
    config.admin ? createAdminServer({ config: config.admin, endpoints: adminEndpoints, logger }) : undefined;
  const mainAdmin: AdminEndpoints | undefined = config.admin ? undefined : adminEndpoints;

  /**
   * The line a request goes to: the current one, or during a staged rollout the staged one for requests with its
   * header, or for its share of consumers: a request with an Authorization header is placed by a hash of it (one
   * consumer stays on one line for the whole stage), one without by chance.
   */
  const lineFor = (header: (name: string) => string | undefined): ServedVersions<SchemaVersion, LoadedSource> => {
    if (!staged) return versions;
    const { rule } = staged;
    if ('header' in rule) {
      const value = header(rule.header)?.trim();
      return value !== undefined && value !== '' && value !== '0' && value !== 'false' ? staged.versions : versions;
    }
    const identity = header('authorization');
    const bucket = identity ? (createHash('sha256').update(identity).digest().readUInt32BE(0) / 2 ** 32) * 100 : Math.random() * 100;
    return bucket < rule.share ? staged.versions : versions;
  };
  /**
   * The Yoga at `path` of the version the request's line serves, held for the request until `done` (server/http.ts,
   * websocket.ts); `served` hears which version it is while a staged rollout is under way (the x-tessera-schema header).
   */
  const routeHeld = (
    path: string,
    done: (release: () => void) => void,
    header: (name: string) => string | undefined = () => undefined,
    served?: (value: string) => void,
  ): GatewayYoga | undefined => {
    const line = lineFor(header);
    const yoga = line.current.serving.byPath.get(path);
    if (!yoga) return undefined;
    const held = line.hold();
    done(held.release);
    if (staged) served?.(`${line === versions ? 'current' : 'staged'} ${held.version.id}`);
    return yoga;
  };
  const nodeHeader = (req: IncomingMessage | undefined) => (name: string): string | undefined => {
    const value = req?.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const http: GatewayHttpServer = createHttpServer({
    config: config.server,
    logger,
    route: (path, res) =>
      routeHeld(
        path,
        (release) => res.once('close', release),
        nodeHeader(res.req),
        (value) => res.setHeader('x-tessera-schema', value),
      ),
    paths: () => channels.map((c) => c.path),
    notServing: () => versions.current.empty,
    cors: (path) => origins.get(path)?.cors,
    baseDir,
    // A subgraph a reload removed is not waited for any more.
    waitingFor: () => answers.waiting().filter((name) => versions.current.descriptors.some((d) => d.name === name)),
    // server.readiness: healthy: a required subgraph with health checks and no instance up.
    unhealthy: () => (config.server.readiness === 'healthy' ? requiredOnly(health.unhealthy(), versions.current.descriptors) : {}),
    admin: mainAdmin,
    jsonPost: options.jsonPost,
  });
  // GraphQL over WebSocket on every channel's path, through the same Yoga instances; browsers only from the channel's origins.
  const webSocket = attachWebSocket(http.server, {
    getYoga: (path, until) => {
      if (!until) return versions.current.serving.byPath.get(path);
      return routeHeld(path, (release) => (until.aborted ? release() : until.addEventListener('abort', release, { once: true })));
    },
    corsFor: (path) => origins.get(path),
    logger,
    ...(config.logging.requests && { requestLog: (path: string) => requestLogAt(versions.current.serving, path, logger) }),
    requestDeadline: config.server.requestDeadline,
    subscriptionDeadline: config.server.subscriptionDeadline,
    maxPayload: config.server.bodyLimit,
  });
  let listening = false;
  let adminListening = false;

  const gatewayApi: Gateway = {
    config,
    get descriptors() {
      return versions.current.descriptors;
    },
    get missing() {
      return versions.current.missing;
    },
    get schema() {
      return versions.current.serving.schema;
    },
    get version() {
      return versions.current.id;
    },
    get channels() {
      return versions.current.serving.channels.map(({ channel, schema }) => ({ channel, schema }));
    },
    handler: http.handler,
    async fetch(request) {
      let release: (() => void) | undefined;
      let served: string | undefined;
      const yoga = routeHeld(
        new URL(request.url).pathname,
        (r) => (release = r),
        (name) => request.headers.get(name) ?? undefined,
        (value) => (served = value),
      );
      if (!yoga) {
        const path = new URL(request.url).pathname;
        const nothing = versions.current.empty;
        if (nothing !== undefined && channels.some((c) => c.path === path)) {
          return Response.json({ errors: [{ message: `No schema to serve yet: ${nothing}`, extensions: { code: 'NO_SCHEMA_YET' } }] }, { status: 503, headers: { 'retry-after': '1' } });
        }
        return Response.json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] }, { status: 404 });
      }
      let response: Response;
      try {
        response = await yoga.fetch(request);
      } catch (error) {
        release?.();
        throw error;
      }
      if (served !== undefined) {
        const headers = new Headers(response.headers);
        headers.set('x-tessera-schema', served);
        response = new Response(response.body, { status: response.status, statusText: response.statusText, headers });
      }
      return releasedAtEnd(response, () => release?.());
    },
    reload: (trigger = 'api') => reload(trigger),
    async listen(port = config.server.port, host = config.server.host) {
      // A staged rollout under way at start-up is served from the first request; a gateway built and not listening
      // (as `tessera check` builds one) loads no stage until a reload.
      if (!staged) await syncStage();
      const address = await http.listen(port, host);
      listening = true;
      const url = `${hostUrl(address, http.secure)}${channels[0]!.path}`;
      let admin: { url: string; port: number } | undefined;
      if (adminServer) {
        const adminAddress = await adminServer.listen().catch(async (error: unknown) => {
          await http.drain(0);
          listening = false;
          throw listenError(error, { port: 'choose another admin.port in gateway.yaml', host: 'choose another admin.host in gateway.yaml' });
        });
        adminListening = true;
        admin = { url: hostUrl(adminAddress, false), port: adminAddress.port };
      }
      if (config.registry.watch && !stopWatch) {
        stopWatch = registry.watch((reason) => {
          logger.info({ registry: registry.description, reason }, 'descriptors changed; reloading');
          void reload('watch');
        });
      }
      logger.info({ url, ...(admin && { admin: admin.url }), subgraphs: loadedNames(), missing: versions.current.missing, version: versions.current.id }, 'gateway listening');
      return { url, port: address.port, address, ...(admin && { admin }) };
    },
    close() {
      closing ??= (async () => {
        stopWatch?.();
        // Draining starts at once (readiness fails, the listener closes); subscriptions, which do not
        // finish by themselves, are ended meanwhile (their upstream streams cancelled).
        const drained = listening ? http.drain(config.server.shutdownTimeout) : undefined;
        const adminDrained = adminListening ? adminServer?.drain(config.server.shutdownTimeout) : undefined;
        await webSocket.close();
        if (drained) {
          const { completed, cut } = await drained;
          logger.info({ completed, cut }, 'gateway drained');
        }
        await adminDrained;
        group?.close();
        // A reload under way finishes (and, seeing the gateway close, keeps nothing) before the sources close.
        await running?.catch(() => undefined);
        await queued?.catch(() => undefined);
        sampler.close();
        logLevel.revert();
        breakerChannel.unsubscribe(onBreaker);
        stopShadowLog();
        concurrencyEvents.unsubscribe(onConcurrency);
        canaryChannel.unsubscribe(onCanary);
        stopCanarySharing?.();
        clusterMetrics?.close();
        metrics?.close();
        status?.close();
        answers.close();
        health.close();
        stopDiscovered();
        // Clears the subscription grace timers (the drain above already ended every subscription).
        for (const version of [...versions.live, ...(staged?.versions.live ?? [])]) version.expiry.abort();
        await Promise.all(draining);
        await versions.closeAll();
        await staged?.versions.closeAll();
        await openTraffic.close();
        await registry.close?.();
        // Last: the spans of the requests drained above are exported before close() resolves.
        await openTracing?.close();
      })();
      return closing;
    },
  };
  return gatewayApi;
}

/**
 * `response`, with `release` called once its body has been read to the end, has failed or was cancelled (at
 * once when it has none): a streamed answer (a subscription over SSE) keeps its schema version until it ends.
 */
function releasedAtEnd(response: Response, release: () => void): Response {
  if (!response.body) {
    release();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** Publishes one schema load attempt on `tessera:schema` (metrics and the status page subscribe by name). */
function publishSchema(event: SchemaEvent): void {
  if (schemaChannel.hasSubscribers) schemaChannel.publish(event);
}

/**
 * Parses and validates every persisted operation of every channel with a manifest against a new version's
 * schema, through its Yoga (so its document cache holds them before the first request); returns how many
 * were warmed and the ones that do not validate.
 */
function warmPersisted(serving: Serving, baseDir: string, configFile: string): { count: number; invalid: Array<{ channel: string; id: string; errors: string[] }> } {
  let count = 0;
  const invalid: Array<{ channel: string; id: string; errors: string[] }> = [];
  for (const { channel, yoga } of serving.channels) {
    const manifest = channel.persistedOperations?.manifest;
    if (!manifest) continue;
    const documents = readManifest(resolve(baseDir, manifest), `${displayPath(configFile)}: channels.${channel.name}.persistedOperations.manifest`);
    for (const [id, text] of documents) {
      const request = new Request(`http://localhost${channel.path}`, { method: 'POST' });
      const { parse, validate, schema } = yoga.getEnveloped({ request, params: { query: text } });
      try {
        const errors = validate(schema, parse(text));
        if (errors.length > 0) invalid.push({ channel: channel.name, id, errors: errors.map((e: { message: string }) => e.message) });
        count++;
      } catch (error) {
        invalid.push({ channel: channel.name, id, errors: [(error as Error).message] });
      }
    }
  }
  return { count, invalid };
}
