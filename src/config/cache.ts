/**
 * `cache:` in gateway.yaml (the response cache and in-flight deduplication)
 * and `cache:` in a descriptor (how long its types and fields may be cached,
 * and which are private to one caller).
 */
import { z } from 'zod';
import { storeSchema } from './store.js';
import { boolean, duration, integer } from './units.js';

export const cacheSchema = z.strictObject({
  /** false: no response cache, whatever the descriptors say. */
  enabled: boolean.default(true),
  /** Where cached responses live; default: the gateway's `store` (memory unless set). */
  store: storeSchema.optional(),
  /** Responses kept by the memory store (least recently used go first). */
  maxEntries: integer.pipe(z.number().min(1).max(10_000_000)).default(1000),
  /**
   * TTL of an object type no descriptor gives one. 0: a response containing
   * such a type is not cached (a TTL is always an explicit decision).
   */
  defaultTtl: duration.default(0),
  /** A mutation result naming an entity (Type + id) drops every cached response containing it. */
  invalidateOnMutation: boolean.default(true),
  /** Identical concurrent queries of the same caller share one execution. Mutations never are. */
  dedupe: boolean.default(true),
  /** x-tessera-cache: HIT | MISS on responses; default: in development only. */
  debugHeader: boolean.optional(),
});

export type CacheConfig = z.output<typeof cacheSchema>;

const hint = z.union([
  duration.transform((ttl) => ({ ttl, private: false })),
  z.strictObject({
    ttl: duration.optional(),
    /** Per-caller data: cached only per authenticated caller, never shared. */
    private: z.boolean().default(false),
  }),
]);

/**
 * Descriptor `cache:`, keyed by "Type" or "Type.field" in the subgraph's own
 * names: `{ Product: 60s, User: { ttl: 30s, private: true } }`. A response
 * lives as long as the shortest TTL of what it contains.
 */
export const descriptorCache = z.record(
  z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/, 'expected "Type" or "Type.field"'),
  hint,
);

export type CacheHint = { ttl?: number; private: boolean };
