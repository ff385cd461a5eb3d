/**
 * The gateway's plugin chain, in order. The order is the request's path
 * through the gateway (see DESIGN.md): cheap refusals first, so a hostile or
 * malformed request costs as little as possible and never reaches a source.
 *
 *   1. introspection policy  validation rule: refuses __schema/__type when off
 *   ... (auth, limits, rate limits and caching are added here, each with the
 *       reason for its place)
 *
 * The list is built once per schema version, never per request.
 */
import type { Plugin } from 'graphql-yoga';
import { useExecutionCancellation } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { ResolvedChannel } from '../config/channel.js';
import type { GatewayFileConfig } from '../config/gateway.js';
import type { Logger } from 'pino';
import { useErrorLog } from './use-error-log.js';
import { useIntrospectionPolicy } from './use-introspection-policy.js';

export interface PluginChainOptions {
  gateway: GatewayFileConfig;
  channel: ResolvedChannel;
  /** The channel's schema (its view of the unified graph). */
  schema: GraphQLSchema;
  logger: Logger;
}

export function buildPlugins(options: PluginChainOptions): Plugin[] {
  return [
    // Stops resolvers from running once the client has gone (row 10 of RELIABILITY.md).
    useExecutionCancellation(),
    useIntrospectionPolicy({ allowed: options.channel.introspection }),
    // Last, so it sees every error the chain and the sources produced.
    useErrorLog({ logger: options.logger, channel: options.channel.name }),
  ];
}
