/**
 * `graphiql:` in gateway.yaml and in each channel: GraphiQL for browsers that
 * open a GraphQL path (GET, Accept: text/html). `true`/`false` only turns it
 * on or off; the object form also sets the query the editor opens with.
 */
import { z } from 'zod';
import { boolean } from './units.js';

const BOOLEAN_TEXT = new Set(['true', 'false']);

export const graphiqlSchema = z.preprocess(
  // `graphiql: true` is short for `graphiql: { enabled: true }` (also as text, from ${VAR}).
  (value) => (typeof value === 'boolean' || (typeof value === 'string' && BOOLEAN_TEXT.has(value)) ? { enabled: value } : value),
  z.strictObject(
    {
      /** Default: on in development only. */
      enabled: boolean.optional(),
      /** The document in GraphiQL's editor when it opens (GraphiQL's `defaultQuery`); absent: GraphiQL's own welcome text. */
      defaultQuery: z.string().trim().min(1, 'expected a GraphQL document, not an empty string').optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'expected true, false or { enabled, defaultQuery }' : undefined) },
  ),
);

export type GraphiqlConfig = z.output<typeof graphiqlSchema>;

/** GraphiQL on one channel, with every default filled in. */
export interface ResolvedGraphiql {
  enabled: boolean;
  defaultQuery?: string;
  /** The gateway.yaml key that turns it on or off here, for the page shown when it is off. */
  configKey: string;
}
