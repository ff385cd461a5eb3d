/**
 * Packages only some configurations need, loaded when first used instead of
 * with the modules that use them, so a gateway configured without them does
 * not hold their code for the life of the process (bench/heap-live.ts:
 * ioredis about 1 MB of heap, used by a Redis store or registry;
 * @theguild/federation-composition about 2 MB, used by federation sources).
 * Both are CommonJS builds; they share the gateway's graphql module (graphql
 * has one build that Node loads for both).
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export const ioredis = (): typeof import('ioredis') => requireHere('ioredis') as typeof import('ioredis');

export const federationComposition = (): typeof import('@theguild/federation-composition') =>
  requireHere('@theguild/federation-composition') as typeof import('@theguild/federation-composition');
