/**
 * The gateway's plugin chain, in order. The order is the request's path
 * through the gateway (see DESIGN.md): cheap refusals first, so a hostile or
 * malformed request costs as little as possible and never reaches a source.
 *
 *   request hygiene (413/415/403 CSRF) ─► persisted operations ─► document
 *   limits and introspection policy (parse/validate) ─► authentication ─►
 *   authorization ─► router ─► rate limit ─► dedupe ─► response cache
 *   ─► execute; each entry below says why it is where it is (security ones:
 *   security.ts and docs/security.md).
 *
 * The list is built once per schema version, never per request.
 */
import type { Plugin } from 'graphql-yoga';
import { useExecutionCancellation } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { ResolvedChannel } from '../config/channel.js';
import type { GatewayFileConfig } from '../config/gateway.js';
import type { Logger } from 'pino';
import type { ComposedSubgraph } from '../compose/index.js';
import type { RouteName } from '../execution/router.js';
import { useRouter } from './use-router.js';
import { securityPlugins } from './security.js';
import type { AuthRules } from '../compose/auth-rules.js';
import { useErrorLog } from './use-error-log.js';
import { useSubscriptionScope } from './use-subscription-scope.js';
import { useIntrospectionPolicy } from './use-introspection-policy.js';
import { channelCache, type Traffic } from './traffic.js';
import { useDedupe } from './use-dedupe.js';
import { useRateLimit } from './use-rate-limit.js';
import { useResponseCache } from './use-response-cache.js';
import { useUpstreamResponseHeaders } from './use-upstream-response-headers.js';
import { useDownloads, type DownloadHandler } from './use-downloads.js';

export interface PluginChainOptions {
  gateway: GatewayFileConfig;
  channel: ResolvedChannel;
  /** The channel's schema (its view of the unified graph). */
  schema: GraphQLSchema;
  logger: Logger;
  /** Gateway-wide rate limiters, cache store and hints (plugins/traffic.ts); built once per gateway. */
  traffic?: Traffic;
  /** The subgraphs, for the router (direct and planned routes); absent: every operation is stitched. */
  subgraphs?: readonly ComposedSubgraph[];
  /** Tests only: the routes the router may take (GatewayOptions.routes). */
  routes?: readonly RouteName[];
  /** Scopes required per unified-graph coordinate, from descriptors' `auth:` (compose/auth-rules.ts). */
  authRules?: AuthRules;
  /** Folder of gateway.yaml, for relative paths in it (manifests, key files). */
  baseDir?: string;
  /** gateway.yaml's path, for error messages. */
  file?: string;
  /** Download-link handlers of the subgraphs that hand out links, by subgraph name (LoadedSource.download). */
  downloads?: ReadonlyMap<string, DownloadHandler>;
  /** Some source passes upstream response headers on (LoadedSource.passesResponseHeaders); without one, the plugin that copies them is left out. */
  responseHeaders?: boolean;
}

/** Rate limit, dedupe and response cache, in that order; each left out when not configured. */
function trafficPlugins({ traffic, channel, schema, gateway }: PluginChainOptions): Plugin[] {
  if (!traffic) return [];
  const plugins: Plugin[] = [];
  plugins.push(useRateLimit({ limits: traffic.rateLimits, channel: channel.name }));
  // Before the cache in the chain, so it wraps only executions the cache did not answer.
  if (traffic.dedupe) plugins.push(useDedupe({ channel: channel.name, scopeHeaders: traffic.scopeHeaders, scopeClaims: traffic.scopeClaims }));
  if (traffic.cache) {
    const debugHeader = gateway.cache.debugHeader ?? gateway.mode === 'development';
    plugins.push(useResponseCache({ cache: channelCache(traffic.cache, channel), channel: channel.name, schema, scopeHeaders: traffic.scopeHeaders, scopeClaims: traffic.scopeClaims, debugHeader }));
  }
  return plugins;
}

/**
 * APQ documents in the shared store when there is one (any replica then serves any hash). With a memory
 * store, in the cluster primary for a worker of `tessera serve` (any worker then serves any hash), one
 * namespace per channel as in one process; else undefined: in this process (security.ts).
 */
function operationStore({ traffic, gateway, channel }: PluginChainOptions) {
  if (!traffic) return undefined;
  if (gateway.store.url !== 'memory') return traffic.stores.kv(gateway.store, 'apq');
  if (!traffic.stores.primary || !channel.persistedOperations?.apq) return undefined;
  return traffic.stores.kv(gateway.store, `apq:${channel.name}`, { maxEntries: channel.persistedOperations.maxEntries, use: 'apq' });
}

export function buildPlugins(options: PluginChainOptions): Plugin[] {
  const security = securityPlugins({ ...options, operationStore: operationStore(options) });
  return [
    // Stops resolvers from running once the client has gone (row 10 of docs/reliability.md).
    useExecutionCancellation(),
    // Signed download links (`?download=`, OpenAPI binary responses as URL fields) are answered in onRequest,
    // before hygiene and CSRF: the link itself is the capability, and an <img src> sends no GraphQL request.
    useDownloads({ handlers: options.downloads ?? new Map() }),
    // Request hygiene (media type, CSRF, body size), persisted operations, document limits (depth,
    // aliases, tokens, cost…): the cheapest refusals, before any GraphQL work and without an identity.
    ...security.edge,
    useIntrospectionPolicy({
      allowed: options.channel.introspection,
      configKey: options.gateway.channels[options.channel.name]?.introspection !== undefined ? `channels.${options.channel.name}.introspection` : 'introspection',
    }),
    useSubscriptionScope({ deadlineMs: options.gateway.server.subscriptionDeadline }),
    // Authentication (sets context.tessera.identity), then authorization, which swaps the document for
    // one without the fields the caller may not read: before direct routing and the traffic plugins,
    // so whatever executes, meters or caches sees only what the caller may read.
    ...security.access,
    // The router replaces the execute function (direct, planned or stitched); placed before the
    // traffic plugins so dedupe wraps it and a cached answer skips it.
    useRouter({
      schema: options.schema,
      subgraphs: options.subgraphs ?? [],
      planner: options.gateway.execution.planner,
      routes: options.routes,
      logger: options.logger,
      header: options.gateway.mode === 'development',
    }),
    // After authentication/authorization (the consumer is known; a refused request costs no point),
    // right before execution: the rate limit meters cached answers too, the cache answers only allowed requests.
    ...trafficPlugins(options),
    // Copies the upstream response headers sources collected (responseHeaders in a descriptor) onto the
    // client's response in onResponse; it only notes the scope in onExecute, so its place changes no outcome.
    ...(options.responseHeaders ? [useUpstreamResponseHeaders()] : []),
    // Last, so it sees every error the chain and the sources produced.
    useErrorLog({ logger: options.logger, channel: options.channel.name }),
  ];
}
