/**
 * `registry:` in gateway.yaml: how the descriptors folder is watched and how
 * a hot reload treats what still runs on the version it replaces (README
 * "Publishing and hot reload").
 */
import { z } from 'zod';
import { boolean, duration, integer } from './units.js';

export const registrySchema = z.strictObject({
  /** Reload when a descriptor file under `descriptors:` is created, changed, renamed or deleted (`tessera serve` and listen() only). */
  watch: boolean.default(true),
  /** Quiet time after the last file event before the reload starts (an editor or a deploy writes several files). */
  debounce: duration.default(300),
  /**
   * How long an open subscription keeps running on the schema version a reload replaced; then it gets one
   * SCHEMA_RELOADED error and completes (between two events, never inside one).
   */
  subscriptionGrace: duration.default(600_000),
  /**
   * The Redis registry (registry/redis.ts): descriptors published with `tessera publish` live in this Redis,
   * shared by every replica; absent, the descriptors folder (`descriptors:`) is the registry.
   */
  url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional(),
  /**
   * With `url`: descriptors (folders or files, like `descriptors:`) served when the gateway starts on an empty
   * registry (nothing published yet), until the first publish replaces them. Absent: a gateway on an empty
   * registry serves nothing and /readyz answers 503 `empty` until then.
   */
  seed: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Prefix of every Redis key (and the pub/sub channel) of this registry: gateways sharing it serve the same set. */
  prefix: z.string().min(1).default('tessera:registry:'),
  /** Versions kept per subgraph (the current one included); older ones are deleted at the next publish. */
  history: integer.pipe(z.number().int().min(2).max(1000)).default(20),
  /** How often a replica compares the registry's set revision with the one it loaded (catches a missed pub/sub message) and writes its heartbeat. */
  poll: duration.default(10_000),
});

export type RegistryConfig = z.output<typeof registrySchema>;
