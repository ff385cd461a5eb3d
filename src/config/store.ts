/**
 * Where shared state lives: `memory` (this process only, the default) or a
 * Redis URL, so that several replicas share rate-limit counters, cached
 * responses and persisted operations. Written either as a bare location or as
 * an object with the key prefix, the command timeout and the tries of a
 * shared write.
 */
import { z } from 'zod';
import { duration } from './units.js';

const location = z.string().refine((v) => v === 'memory' || /^rediss?:\/\/\S+$/.test(v), 'expected "memory" or a redis:// (or rediss://) URL');

const storeObject = z.strictObject({
  url: location,
  /** Prepended to every key, so several gateways (or test runs) can share one Redis. */
  prefix: z.string().max(200).default('tessera:'),
  /** Longest wait for one Redis command; a slower answer counts as the store being down. */
  timeout: duration.pipe(z.number().min(1).max(1000)).default(50),
  /**
   * Tries of one shared write (an APQ document, a cache entry or invalidation) whose command timed out while
   * Redis is connected; one that never got through is counted and logged as dropped. 1: no retry.
   */
  writeAttempts: z.number().int().min(1).max(10).default(3),
});

/** `store: redis://…` is short for `store: { url: redis://… }`. */
export const storeSchema = z
  .union([z.string(), z.object({ url: z.string() }).loose()])
  .transform((value) => (typeof value === 'string' ? { url: value } : value))
  .pipe(storeObject);

export type StoreConfig = z.output<typeof storeSchema>;

export const MEMORY_STORE: StoreConfig = { url: 'memory', prefix: 'tessera:', timeout: 50, writeAttempts: 3 };
