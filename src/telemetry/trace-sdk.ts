/**
 * An embedder's OpenTelemetry SpanExporter as a span sink
 * (createGateway's `spanExporter`): each batch of our spans is adapted to the
 * SDK's ReadableSpan shape and handed to it. Imported by tracing.ts only when
 * an embedder passes one, so only then are OpenTelemetry modules loaded
 * (@opentelemetry/resources and @opentelemetry/core, for a real Resource and
 * the export result codes).
 */
import type { Attributes, HrTime, SpanContext, TraceState as TraceStateType } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TraceAttributes } from '../request-scope.js';
import type { SpanSink } from './trace-export.js';
import { hrTime, type LeanSpan } from './trace-span.js';

function merged(span: LeanSpan): Attributes {
  const out: Attributes = {};
  const add = (attributes: TraceAttributes | undefined): void => {
    if (!attributes) return;
    for (const key in attributes) if (attributes[key] !== undefined) out[key] = attributes[key];
  };
  add(span.shared);
  add(span.attributes);
  if (span.attempt !== undefined) out['tessera.attempt'] = span.attempt;
  add(span.ended);
  if (span.errorCode !== undefined) out['error.type'] = span.errorCode;
  return out;
}

/** One ended span as the SDK's ReadableSpan (OpenTelemetry API kinds are OTLP's minus one). */
export function toReadableSpan(span: LeanSpan, resource: Resource, scopeName: string, traceStateOf: (text: string) => SpanContext['traceState']): ReadableSpan {
  const traceState = span.traceState === undefined ? undefined : traceStateOf(span.traceState);
  const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags: 1, traceState };
  const startTime = hrTime(span.startAt);
  const endTime = hrTime(span.endAt);
  const durationNs = Math.max(0, Math.round((span.endAt - span.startAt) * 1e6));
  const duration: HrTime = [Math.floor(durationNs / 1e9), durationNs % 1e9];
  return {
    name: span.name,
    kind: span.kind - 1,
    spanContext: () => context,
    parentSpanContext: span.parentSpanId === undefined ? undefined : { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1, traceState, isRemote: span.remoteParent },
    startTime,
    endTime,
    status: span.errorCode === undefined ? { code: 0 } : { code: 2, message: span.errorCode },
    attributes: merged(span),
    links: [],
    events: [],
    duration,
    ended: true,
    resource,
    instrumentationScope: { name: scopeName },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** The sink over an embedder's exporter: flushed on close, never shut down (its owner does that). */
export async function exporterSink(exporter: SpanExporter, resourceAttributes: TraceAttributes, scopeName: string): Promise<SpanSink> {
  const [{ resourceFromAttributes }, { ExportResultCode, TraceState }] = await Promise.all([import('@opentelemetry/resources'), import('@opentelemetry/core')]);
  const traceStateOf = (text: string): TraceStateType => new TraceState(text);
  const attributes: Attributes = {};
  for (const key in resourceAttributes) if (resourceAttributes[key] !== undefined) attributes[key] = resourceAttributes[key];
  const resource = resourceFromAttributes(attributes);
  return {
    send: (spans) =>
      new Promise((resolve, reject) => {
        exporter.export(
          spans.map((span) => toReadableSpan(span, resource, scopeName, traceStateOf)),
          (result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('the span exporter reported a failed export'))),
        );
      }),
    close: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
