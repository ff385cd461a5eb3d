/**
 * `adaptiveConcurrency:` in a descriptor: the subgraph's adaptive concurrency limit
 * (transport/concurrency.ts: AIMD on latency). Off when absent: no stage in
 * the pipeline, nothing counted. `adaptiveConcurrency: {}` turns it on with the
 * defaults below.
 */
import { z } from 'zod';
import { duration, integer } from './units.js';

const limit = integer.pipe(z.number().min(1).max(100_000));

export const concurrencySchema = z
  .strictObject({
    /** Attempts in flight allowed before any answer was seen (brought within minLimit..maxLimit). */
    initialLimit: limit.default(20),
    /** The limit never shrinks below this. */
    minLimit: limit.default(1),
    /** The limit never grows above this. */
    maxLimit: limit.default(200),
    /** An answer slower than this (or a timeout) shrinks the limit; faster answers grow it while it is in use. */
    latency: duration.pipe(z.number().min(1)).default(1_000),
    /** Factor the limit is multiplied by when it shrinks, at most once per round trip. */
    backoff: z.number().gt(0).lt(1).default(0.75),
  })
  .refine((c) => c.minLimit <= c.maxLimit, { message: 'minLimit must not be above maxLimit', path: ['minLimit'] });

/** As the transport takes it (transport/concurrency.ts ConcurrencyOptions), or undefined: off. */
export const concurrencyOptions = concurrencySchema
  .optional()
  .transform((c) => c && { initialLimit: Math.min(c.maxLimit, Math.max(c.minLimit, c.initialLimit)), minLimit: c.minLimit, maxLimit: c.maxLimit, latencyMs: c.latency, backoff: c.backoff });
