/**
 * `telemetry:` in gateway.yaml. `metrics`: Prometheus text at `path`, on the
 * admin listener when `admin:` is configured (on there by default), else on
 * the main listener: default on in development, off in production unless
 * `enabled: true` (it names subgraphs, instances and operations).
 * `tracing`: OpenTelemetry spans exported over OTLP/HTTP; off by default, and
 * then no tracing code is loaded at all (telemetry/tracing.ts).
 * `status`: the live status page at `path` and below it (its JSON and its
 * files), served where /metrics is, with the same default.
 */
import { z } from 'zod';
import { boolean, duration, headerName, integer } from './units.js';

export const metricsSchema = z.strictObject({
  /** Default: on in development only. */
  enabled: boolean.optional(),
  path: z.string().startsWith('/', 'expected a path such as /metrics').default('/metrics'),
  /** Distinct operation names kept as label values; later names count as `__overflow`. */
  maxOperations: integer.pipe(z.number().min(1).max(10_000)).default(200),
});

/** Where spans go: an OTLP/HTTP collector. */
export const traceExporterSchema = z.strictObject({
  /** The collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces. Required when tracing is enabled (createGateway's spanExporter aside). */
  endpoint: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as http://127.0.0.1:4318/v1/traces' }).optional(),
  /** Sent with every export (an API key for a hosted collector: write it as ${ENV_VAR}). */
  headers: z.record(headerName, z.string()).default({}),
  /** Longest one export may take, then it is dropped. */
  timeout: duration.default(10_000),
});

export const tracingSchema = z.strictObject({
  enabled: boolean.default(false),
  /** `service.name` of every span. */
  serviceName: z.string().min(1).default('tessera'),
  /** Share of new traces recorded, 0 to 1; a client's traceparent decides for its own trace (parent-based). */
  sampling: z
    .union([z.number(), z.string().regex(/^(\d+\.?\d*|\.\d+)$/, 'expected a ratio from 0 to 1')])
    .transform(Number)
    .pipe(z.number().min(0, 'expected a ratio from 0 to 1').max(1, 'expected a ratio from 0 to 1'))
    .default(1),
  /** Continue the trace of a client's W3C traceparent/tracestate; false: every request starts a new trace. */
  acceptClientContext: boolean.default(true),
  exporter: traceExporterSchema.prefault({}),
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
  tracing: tracingSchema.prefault({}),
  status: statusSchema.prefault({}),
});

export type MetricsConfig = z.output<typeof metricsSchema>;
export type TracingConfig = z.output<typeof tracingSchema>;
export type StatusConfig = z.output<typeof statusSchema>;
