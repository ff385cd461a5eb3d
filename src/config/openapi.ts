/** Descriptor keys for `kind: openapi`: a REST service described by OpenAPI 3.x or Swagger 2.0. */
import { z } from 'zod';
import { baseDescriptor } from './descriptor-base.js';

export const openapiDescriptor = baseDescriptor.extend({
  kind: z.literal('openapi'),
  source: z.string().min(1),
});

export type OpenapiDescriptor = z.output<typeof openapiDescriptor>;
