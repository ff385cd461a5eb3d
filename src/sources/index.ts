/**
 * The loader for each `kind`. Each kind's module (and what it pulls in:
 * protobufjs and grpc-js, the OpenAPI parser) is imported on first use, so a
 * gateway without gRPC or REST subgraphs does not carry them in memory.
 */
import type { Descriptor } from '../config/descriptor.js';
import type { LoadedSource, SourceOptions } from './types.js';

export async function loadSource(descriptor: Descriptor, options: SourceOptions): Promise<LoadedSource> {
  switch (descriptor.kind) {
    case 'graphql':
      return (await import('./graphql/load.js')).loadGraphqlSource(descriptor, options);
    case 'grpc':
      return (await import('./grpc/load.js')).loadGrpcSource(descriptor, options);
    case 'openapi':
      return (await import('./openapi/load.js')).loadOpenapiSource(descriptor, options);
    case 'federation':
      return (await import('./federation/load.js')).loadFederationSource(descriptor, options);
  }
}

export type { LoadedSource, SourceOptions, Mode } from './types.js';
export { cursorKey } from './openapi/cursors.js';
