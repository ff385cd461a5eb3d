/** Descriptor keys for `kind: graphql`: a GraphQL service, schema from SDL or introspection. */
import { z } from 'zod';
import { baseDescriptor } from './descriptor-base.js';
import { duration, integer } from './units.js';

export const graphqlDescriptor = baseDescriptor.extend({
  kind: z.literal('graphql'),
  /** Used when `source` is not given: the schema is read by introspecting the first upstream. */
  introspection: z
    .strictObject({
      attempts: integer.pipe(z.number().min(1).max(20)).default(5),
      /** First wait between attempts; doubles each time. */
      backoff: duration.default(250),
    })
    .default({ attempts: 5, backoff: 250 }),
});

export type GraphqlDescriptor = z.output<typeof graphqlDescriptor>;
