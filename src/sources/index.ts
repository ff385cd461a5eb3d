/** The loader for each `kind`. */
import type { Descriptor } from '../config/descriptor.js';
import { loadGraphqlSource } from './graphql/load.js';
import { loadOpenapiSource } from './openapi/load.js';
import { loadGrpcSource } from './grpc/load.js';
import type { LoadedSource, SourceOptions } from './types.js';

export async function loadSource(descriptor: Descriptor, options: SourceOptions): Promise<LoadedSource> {
  switch (descriptor.kind) {
    case 'graphql':
      return loadGraphqlSource(descriptor, options);
    case 'grpc':
      return loadGrpcSource(descriptor, options);
    case 'openapi':
      return loadOpenapiSource(descriptor, options);
  }
}

export type { LoadedSource, SourceOptions, Mode } from './types.js';
