/**
 * Descriptor keys for `kind: federation`: an Apollo Federation v2 subgraph.
 * Its SDL (with @key, @requires, @provides, @external, @shareable) comes from
 * `sdl:` (a file relative to the descriptor, or an http(s) URL) or, when
 * there is none, from the subgraph's own `_service { sdl }`. Entities come
 * from its @key directives, so `entities:` is refused here, and so are
 * `transforms:` (a renamed federation subgraph is not supported) and
 * `source:` (the SDL key is `sdl:`).
 */
import { z } from 'zod';
import { baseDescriptor, type EntityConfig } from './descriptor-base.js';
import { duration, integer } from './units.js';

const refused = (why: string) => z.undefined({ error: why }).optional();

export const federationDescriptor = baseDescriptor.extend({
  kind: z.literal('federation'),
  /** The subgraph's SDL: a file relative to this descriptor, or an http(s) URL; absent: `_service { sdl }` of the first upstream. */
  sdl: z.string().min(1).optional(),
  /** Used when `sdl` is not given: how often `_service { sdl }` is asked of the first upstream while it comes up. */
  introspection: z
    .strictObject({
      attempts: integer.pipe(z.number().min(1).max(20)).default(5),
      /** First wait between attempts; doubles each time. */
      backoff: duration.default(250),
    })
    .default({ attempts: 5, backoff: 250 }),
  source: refused('a federation subgraph takes its SDL from `sdl:` (a file or URL), or from its own `_service { sdl }` when `sdl:` is absent'),
  entities: refused('a federation subgraph declares its entities with @key in its SDL; remove `entities:`').transform((): Record<string, EntityConfig> => ({})),
  transforms: refused('transforms (prefix, rename, hide) are not supported on a federation subgraph; remove `transforms:`'),
});

export type FederationDescriptor = z.output<typeof federationDescriptor>;
