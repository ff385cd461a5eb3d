/** Descriptor keys for `kind: grpc`: a gRPC service described by .proto files or reflection. */
import { z } from 'zod';
import { baseDescriptor } from './descriptor-base.js';

export const grpcDescriptor = baseDescriptor.extend({
  kind: z.literal('grpc'),
});

export type GrpcDescriptor = z.output<typeof grpcDescriptor>;
