/**
 * `registry:` in gateway.yaml: how the descriptors folder is watched and how
 * a hot reload treats what still runs on the version it replaces (README
 * "Publishing and hot reload").
 */
import { z } from 'zod';
import { boolean, duration } from './units.js';

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
});

export type RegistryConfig = z.output<typeof registrySchema>;
