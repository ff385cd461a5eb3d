/**
 * The spans of telemetry/tracing.ts: one small object per span, with the
 * attributes kept as the caller gave them (objects, not copies: an
 * instance's attributes are one frozen object shared by every span to it),
 * W3C ids from a pooled random buffer and times from performance.now()
 * (monotonic, hrtime-based). No OpenTelemetry module is loaded for them:
 * otlp-json.ts encodes them for a collector, trace-sdk.ts adapts them to the
 * SDK's ReadableSpan only for an embedder's SpanExporter.
 */
import { randomFillSync } from 'node:crypto';
import type { TraceAttributes, UpstreamSpan } from '../request-scope.js';

/** OTLP's span kinds (the protobuf enum: OpenTelemetry API's SpanKind plus one). */
export const KIND_INTERNAL = 1;
export const KIND_SERVER = 2;
export const KIND_CLIENT = 3;
export type SpanKindValue = typeof KIND_INTERNAL | typeof KIND_SERVER | typeof KIND_CLIENT;

/** Where ended spans go (trace-export.ts's SpanQueue). */
export interface SpanSinkQueue {
  add(span: LeanSpan): void;
}

/**
 * Random ids as hex, drawn from a pooled buffer: one crypto call and one hex
 * conversion per 256 span ids; each id is then a slice of that text.
 */
const POOL = Buffer.allocUnsafe(2048);
let pool = '';
let offset = 0;

function randomHex(chars: 16 | 32): string {
  if (offset + chars > pool.length) {
    pool = randomFillSync(POOL).toString('hex');
    offset = 0;
  }
  const hex = pool.slice(offset, (offset += chars));
  // An all-zero id is invalid in W3C Trace Context; one in 2^64 draws, drawn again.
  return hex === ZERO_SPAN || hex === ZERO_TRACE ? randomHex(chars) : hex;
}
const ZERO_SPAN = '0'.repeat(16);
const ZERO_TRACE = '0'.repeat(32);

export const newTraceId = (): string => randomHex(32);
export const newSpanId = (): string => randomHex(16);

/** performance.timeOrigin split once into whole and fractional milliseconds, so that unix time keeps sub-microsecond digits. */
const ORIGIN_MS = Math.floor(performance.timeOrigin);
const ORIGIN_FRACTION = performance.timeOrigin - ORIGIN_MS;

/** A performance.now() reading as OTLP wants it: unix nanoseconds, as a decimal string. */
export function unixNanos(at: number): string {
  const sinceOrigin = ORIGIN_FRACTION + at;
  const whole = Math.floor(sinceOrigin);
  const nanos = Math.round((sinceOrigin - whole) * 1e6);
  const ms = ORIGIN_MS + whole;
  if (nanos >= 1e6) return `${ms + 1}000000`;
  return `${ms}${nanos < 100_000 ? String(nanos).padStart(6, '0') : nanos}`;
}

/** A performance.now() reading as OpenTelemetry's HrTime: [unix seconds, nanoseconds]. */
export function hrTime(at: number): [number, number] {
  const sinceOrigin = ORIGIN_FRACTION + at;
  const whole = Math.floor(sinceOrigin);
  let ms = ORIGIN_MS + whole;
  let nanos = Math.round((sinceOrigin - whole) * 1e6);
  if (nanos >= 1e6) {
    ms++;
    nanos = 0;
  }
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6 + nanos];
}

/** W3C `traceparent` of a span: version 00, sampled or not. */
export const traceparent = (traceId: string, spanId: string, sampled: boolean): string => `00-${traceId}-${spanId}${sampled ? '-01' : '-00'}`;

/**
 * One recorded span. Its attributes are, in this order: `shared` (an
 * instance's, frozen), `attributes` (given at start), `attempt`
 * (`tessera.attempt` of an upstream span), `ended` (given at end) and
 * `error.type` (the error code); callers never give one key twice.
 */
export class LeanSpan implements UpstreamSpan {
  readonly spanId = newSpanId();
  /** performance.now() at start and at end (0 until ended). */
  readonly startAt = performance.now();
  endAt = 0;
  ended: TraceAttributes | undefined = undefined;
  errorCode: string | undefined = undefined;
  headers: Readonly<Record<string, string>>;

  constructor(
    private readonly queue: SpanSinkQueue,
    public name: string,
    readonly kind: SpanKindValue,
    readonly traceId: string,
    /** The parent's span id; undefined for a root span. */
    readonly parentSpanId: string | undefined,
    /** Whether the parent is the client's (from its traceparent), not a span of this gateway. */
    readonly remoteParent: boolean,
    /** The client's tracestate, passed on with the trace. */
    readonly traceState: string | undefined,
    readonly shared: TraceAttributes | undefined,
    readonly attributes: TraceAttributes | undefined,
    readonly attempt: number | undefined,
  ) {
    this.headers = kind === KIND_CLIENT ? upstreamHeaders(traceId, this.spanId, true, traceState) : NO_HEADERS;
  }

  /** Ends the span (once; later calls are ignored) and queues it for export. */
  end(attributes?: TraceAttributes, errorCode?: string): void {
    if (this.endAt !== 0) return;
    this.endAt = performance.now();
    this.ended = attributes;
    this.errorCode = errorCode;
    this.queue.add(this);
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What carries a span to an upstream: `traceparent`, and the client's `tracestate` when there was one. */
export function upstreamHeaders(traceId: string, spanId: string, sampled: boolean, traceState: string | undefined): Readonly<Record<string, string>> {
  const parent = traceparent(traceId, spanId, sampled);
  return traceState === undefined ? { traceparent: parent } : { traceparent: parent, tracestate: traceState };
}
