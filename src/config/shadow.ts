/**
 * A descriptor's `shadow:` key: a share of the subgraph's read-only calls
 * (GraphQL queries, REST GETs, read-only gRPC methods) copied, after the
 * primary answered, to a shadow target, whose answer is compared with the
 * primary's and never reaches the client (transport/stages/shadow.ts).
 *
 * The target is either an instance of its own (`url`, with a `version`
 * label for metrics and logs) or the instances of one `version` among the
 * descriptor's `upstreams` (usually listed with `weight: 0`, so that they
 * get shadow traffic only). Which of the two, and that such a version
 * exists, is checked in load.ts (parseDescriptor), where `upstreams` is known.
 */
import { z } from 'zod';
import { duration, integer } from './units.js';

/**
 * A path inside an answer: segments joined by `.`, each a key, an array
 * index, `*` (any one key or index) or `**` (any number of segments, none
 * included): `data.product.updatedAt`, `items.*.etag`, `**.timestamp`.
 */
const ignoredPath = z
  .string()
  .regex(/^(\*\*|\*|[^.*\s]+)(\.(\*\*|\*|[^.*\s]+))*$/, 'expected a path like "data.product.updatedAt", "items.*.etag" or "**.timestamp"');

export const shadowSchema = z
  .strictObject({
    /** An instance of its own to copy calls to (http(s):// or grpc(s)://); give `url` or `version`, not both. */
    url: z.url({ protocol: /^(https?|grpcs?)$/, error: 'expected an http(s):// or grpc(s):// URL' }).optional(),
    /**
     * With `url`: its label in metrics and logs (default `shadow`). Without:
     * the version among `upstreams` whose instances receive the copies.
     */
    version: z.string().min(1).optional(),
    /** Share of read-only calls copied, 0 to 100 (fractions allowed). */
    percent: z.number().min(0).max(100).default(10),
    /** The shadow call's own time limit (the client's deadline does not apply: it has its answer already). */
    timeout: duration.pipe(z.number().min(1)).default(1_000),
    /** Shadow calls in flight at once per gateway process; a copy beyond it is dropped and counted, never queued. */
    concurrency: integer.pipe(z.number().min(1).max(1024)).default(16),
    /** Paths left out of the comparison (timestamps, request ids): see `ignoredPath`. */
    ignore: z.array(ignoredPath).default([]),
    /** Mismatches logged per minute per subgraph (a warn line each, with the first difference); the rest only counted. 0: none logged. */
    logPerMinute: integer.pipe(z.number().min(0).max(600)).default(10),
  })
  .refine((s) => s.url !== undefined || s.version !== undefined, { message: 'give `url` (an instance of its own) or `version` (a version among `upstreams`)' });

export type ShadowConfig = z.output<typeof shadowSchema>;
