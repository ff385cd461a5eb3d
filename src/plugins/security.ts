/**
 * The security plugins of one channel, with the channel's settings resolved
 * against the gateway's (`security:` in gateway.yaml, overridden per channel).
 * Two groups, because they sit at two places in the chain (plugins/index.ts):
 *
 *   edge    request hygiene (onRequestParse), persisted operations
 *           (onParams), document limits (onParse, onValidate): refusals that
 *           cost no GraphQL work and need no identity
 *   access  authentication (onContextBuilding), then authorization
 *           (onExecute, onSubscribe): before anything that executes
 *
 * What is read from disk (manifests, keys) and what keeps state (the APQ
 * store, the JWKS and token caches) is built once per configuration and
 * shared across schema versions.
 */
import { resolve } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { AuthRules } from '../compose/auth-rules.js';
import type { ResolvedChannel } from '../config/channel.js';
import type { GatewayFileConfig } from '../config/gateway.js';
import type { PersistedOperationsConfig } from '../config/persisted.js';
import { ConfigError } from '../errors.js';
import { authenticatorFor, useAuth } from './use-auth.js';
import { useAuthz } from './use-authz.js';
import { useLimits } from './use-limits.js';
import { memoryOperationStore, readManifest, usePersistedOperations, type OperationStore } from './use-persisted-operations.js';
import { useRequestHygiene } from './use-request-hygiene.js';

export interface SecurityPluginOptions {
  gateway: GatewayFileConfig;
  channel: ResolvedChannel;
  schema: GraphQLSchema;
  logger?: Logger;
  /** Scopes required per unified-graph coordinate (compose/auth-rules.ts). */
  authRules?: AuthRules;
  /** Folder of gateway.yaml (relative paths in it). */
  baseDir?: string;
  /** gateway.yaml's path, for error messages. */
  file?: string;
  /** Where APQ documents are kept (the shared store for several replicas); in memory when not given. */
  operationStore?: OperationStore;
}

const manifests = new WeakMap<PersistedOperationsConfig, Map<string, string>>();
const stores = new WeakMap<PersistedOperationsConfig, OperationStore>();

function persistedPlugin(options: SecurityPluginOptions): Plugin | undefined {
  const config = options.channel.persistedOperations;
  if (!config) return undefined;
  let manifest = config.manifest ? manifests.get(config) : undefined;
  if (config.manifest && !manifest) {
    const where = `${options.file ?? 'gateway.yaml'}: channels.${options.channel.name}.persistedOperations.manifest`;
    manifest = readManifest(resolve(options.baseDir ?? process.cwd(), config.manifest), where);
    manifests.set(config, manifest);
  }
  let store: OperationStore | undefined;
  if (config.apq) {
    store = options.operationStore ?? stores.get(config);
    if (!store) stores.set(config, (store = memoryOperationStore(config.maxEntries)));
  }
  return usePersistedOperations({ manifest, only: config.only ?? Boolean(config.manifest), apq: store });
}

export function securityPlugins(options: SecurityPluginOptions): { edge: Plugin[]; access: Plugin[] } {
  const { gateway, channel } = options;
  const { security } = gateway;
  const development = gateway.mode === 'development';
  const { cost: costOverride, ...limitOverride } = channel.limits ?? {};
  const limits = { ...security.limits, ...limitOverride, cost: { ...security.limits.cost, ...costOverride } };
  const where = `${options.file ?? 'gateway.yaml'}: channels.${channel.name}`;

  const edge: Plugin[] = [
    useRequestHygiene({ bodyLimit: gateway.server.bodyLimit, csrf: channel.csrf ?? security.requests.csrf }),
  ];
  const persisted = persistedPlugin(options);
  if (persisted) edge.push(persisted);
  edge.push(
    useLimits({
      limits: {
        ...limits,
        exposeLimits: limits.exposeLimits ?? development,
        fieldSuggestions: limits.fieldSuggestions ?? (development && channel.introspection),
      },
      logger: options.logger,
    }),
  );

  const auth = security.auth;
  const authenticator = authenticatorFor({ auth, baseDir: options.baseDir ?? process.cwd(), file: options.file });
  const anonymous = channel.anonymous ?? auth.anonymous ?? !authenticator.enabled;
  if (!anonymous && !authenticator.enabled) {
    throw new ConfigError('CONFIG_INVALID', [`${where}: anonymous callers are refused, but security.auth has no jwt provider or apiKeys to authenticate anyone`]);
  }
  const access: Plugin[] = [
    useAuth({ auth, anonymous, baseDir: options.baseDir ?? process.cwd(), file: options.file }),
    useAuthz({
      rules: options.authRules ?? new Map(),
      schema: options.schema,
      onForbidden: channel.onForbidden ?? auth.onForbidden,
      challenge: authenticator.challenge || undefined,
    }),
  ];
  return { edge, access };
}
