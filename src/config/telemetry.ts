/**
 * `telemetry:` in gateway.yaml. `metrics`: Prometheus text at `path` on the
 * main listener; default on in development, off in production unless
 * `enabled: true` (it names subgraphs, instances and operations). `status`:
 * the live status page at `path` and below it (its JSON and its files), with
 * the same default for the same reason.
 */
import { z } from 'zod';
import { boolean, integer } from './units.js';

export const metricsSchema = z.strictObject({
  /** Default: on in development only. */
  enabled: boolean.optional(),
  path: z.string().startsWith('/', 'expected a path such as /metrics').default('/metrics'),
  /** Distinct operation names kept as label values; later names count as `__overflow`. */
  maxOperations: integer.pipe(z.number().min(1).max(10_000)).default(200),
});

export const statusSchema = z.strictObject({
  /** Default: on in development only. */
  enabled: boolean.optional(),
  /** The page; its JSON is at `<path>/api`, its files under `<path>/assets/`. */
  path: z
    .string()
    .regex(/^\/[^?#]*[^/?#]$/, 'expected a path such as /_tessera (no trailing slash, no ? or #)')
    .default('/_tessera'),
});

export const telemetrySchema = z.strictObject({
  metrics: metricsSchema.prefault({}),
  status: statusSchema.prefault({}),
});

export type MetricsConfig = z.output<typeof metricsSchema>;
export type StatusConfig = z.output<typeof statusSchema>;
