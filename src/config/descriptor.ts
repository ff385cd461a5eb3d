/**
 * A subgraph descriptor: one file per backend service, owned by its team.
 * The shared keys are in descriptor-base.ts; each kind adds its own.
 */
import { z } from 'zod';
import { graphqlDescriptor } from './graphql.js';
import { federationDescriptor } from './federation.js';
import { grpcDescriptor } from './grpc.js';
import { openapiDescriptor } from './openapi.js';

export const descriptorSchema = z.discriminatedUnion('kind', [graphqlDescriptor, openapiDescriptor, grpcDescriptor, federationDescriptor], {
  error: (issue) => (issue.code === 'invalid_union' ? 'expected `kind` to be one of: graphql, openapi, grpc, federation' : undefined),
});

export type DescriptorInput = z.input<typeof descriptorSchema>;
export type Descriptor = z.output<typeof descriptorSchema> & {
  /** Absolute path of the file this descriptor was read from ("<inline>" when given in code). */
  file: string;
  /** Folder that relative paths in the descriptor are resolved against. */
  dir: string;
  /** The upstream list, with `url:` folded in. */
  upstreams: Array<{ url: string; version?: string; weight: number; discovery?: 'dns' | 'srv' }>;
};

export type DescriptorKind = Descriptor['kind'];
