/**
 * `telemetry:` in gateway.yaml. `metrics`: Prometheus text at `path`, on the
 * admin listener when `admin:` is configured (on there by default), else on
 * the main listener: default on in development, off in production unless
 * `enabled: true` (it names subgraphs, instances and operations).
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

export const telemetrySchema = z.strictObject({
  metrics: metricsSchema.prefault({}),
});

export type MetricsConfig = z.output<typeof metricsSchema>;
