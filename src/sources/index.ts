/** The loader for each `kind`. */
import type { Descriptor } from '../config/descriptor.js';
import { loadGraphqlSource } from './graphql/load.js';
import type { LoadedSource, SourceOptions } from './types.js';

export async function loadSource(descriptor: Descriptor, options: SourceOptions): Promise<LoadedSource> {
  switch (descriptor.kind) {
    case 'graphql':
      return loadGraphqlSource(descriptor, options);
    case 'openapi':
    case 'grpc':
      throw new Error(`kind: ${descriptor.kind} is not implemented yet`);
  }
}

export type { LoadedSource, SourceOptions, Mode } from './types.js';
