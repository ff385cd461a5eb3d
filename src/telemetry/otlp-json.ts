/**
 * A batch of spans as an OTLP/HTTP JSON export request
 * (opentelemetry-proto's ExportTraceServiceRequest in the protobuf JSON
 * mapping: resourceSpans / scopeSpans / spans; trace and span ids as hex,
 * times as unix-nanosecond strings, attributes as key and typed value), built
 * straight into a Buffer: no intermediate objects per span, no JSON.stringify
 * of the batch. The fields are those @opentelemetry/otlp-transformer writes for the
 * same spans, less those at their protobuf default (test/unit/tracing-otlp-json.test.ts
 * compares them field by field), so a collector reads ours as it reads the SDK's.
 */
import type { TraceAttributes } from '../request-scope.js';
import { unixNanos, type LeanSpan } from './trace-span.js';

/** OTLP span flags: the W3C flags (sampled, 0x01) with HAS_IS_REMOTE (0x100), and IS_REMOTE (0x200) when the parent is the client's. */
const FLAGS_LOCAL_PARENT = 0x101;
const FLAGS_REMOTE_PARENT = 0x301;

const INT64_LIMIT = 2 ** 63;

/** `"key":` fragments by attribute key: attribute keys are a small fixed set, each escaped once. */
const keyPrefixes = new Map<string, string>();
const MAX_KEY_PREFIXES = 1000;

/** Encoded attribute lists of frozen attribute objects (an instance's, shared by its spans): encoded once each. */
const frozenEncodings = new WeakMap<TraceAttributes, string>();

/** A JSON string literal: as it is when nothing in it needs escaping (the common case, checked in one pass), else JSON.stringify's. */
export function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Control characters, '"', '\\' and surrogates (a lone one is escaped by JSON.stringify).
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** `"name":…,"kind":…` fragments by span kind, then name: span names repeat (`graphql.parse`, `POST /graphql`). */
const heads: Array<Map<string, string>> = [new Map(), new Map(), new Map(), new Map()];
const MAX_HEADS = 1000;

function head(name: string, kind: number): string {
  const byName = heads[kind]!;
  let fragment = byName.get(name);
  if (fragment === undefined) {
    fragment = `,"name":${quote(name)},"kind":${kind}`;
    if (byName.size < MAX_HEADS) byName.set(name, fragment);
  }
  return fragment;
}

function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${quote(key)},"value":`;
    if (keyPrefixes.size < MAX_KEY_PREFIXES) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

/** One attribute value as OTLP's AnyValue: strings, integers (intValue), other numbers (doubleValue), booleans. */
function anyValue(value: string | number | boolean): string {
  switch (typeof value) {
    case 'string':
      return `{"stringValue":${quote(value)}}`;
    case 'number':
      // As OpenTelemetry's serializer: an integer is an intValue (an int64: within ±2^63), any other number a doubleValue
      // (NaN and the infinities as the protobuf JSON mapping spells them).
      return Number.isInteger(value) && Math.abs(value) < INT64_LIMIT ? `{"intValue":${value}}` : Number.isFinite(value) ? `{"doubleValue":${value}}` : `{"doubleValue":"${value}"}`;
    default:
      return `{"boolValue":${value}}`;
  }
}

/** The key/value entries of `attributes` (undefined values left out), comma-separated. */
function entries(attributes: TraceAttributes): string {
  let out = '';
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out += `${out === '' ? '' : ','}${keyPrefix(key)}${anyValue(value)}}`;
  }
  return out;
}

function cachedEntries(attributes: TraceAttributes): string {
  if (!Object.isFrozen(attributes)) return entries(attributes);
  let encoded = frozenEncodings.get(attributes);
  if (encoded === undefined) frozenEncodings.set(attributes, (encoded = entries(attributes)));
  return encoded;
}

/** Two comma-separated lists as one (no slicing: a slice of a string built by concatenation would copy it). */
const join = (a: string, b: string): string => (a === '' ? b : b === '' ? a : `${a},${b}`);

function spanJson(span: LeanSpan): string {
  let attributes = span.shared ? cachedEntries(span.shared) : '';
  if (span.attributes) attributes = join(attributes, cachedEntries(span.attributes));
  if (span.attempt !== undefined) attributes = join(attributes, `${keyPrefix('tessera.attempt')}${anyValue(span.attempt)}}`);
  if (span.ended) attributes = join(attributes, cachedEntries(span.ended));
  const { errorCode } = span;
  if (errorCode !== undefined) attributes = join(attributes, `${keyPrefix('error.type')}${anyValue(errorCode)}}`);
  // Fields at their protobuf default (no events, no links, nothing dropped, status UNSET) are left out, as the
  // protobuf JSON mapping allows: a collector reads them as those defaults.
  return (
    `{"traceId":"${span.traceId}","spanId":"${span.spanId}"` +
    (span.parentSpanId === undefined ? '' : `,"parentSpanId":"${span.parentSpanId}"`) +
    (span.traceState === undefined ? '' : `,"traceState":${quote(span.traceState)}`) +
    head(span.name, span.kind) +
    `,"startTimeUnixNano":"${unixNanos(span.startAt)}","endTimeUnixNano":"${unixNanos(span.endAt)}","attributes":[${attributes}]` +
    (errorCode === undefined ? '' : `,"status":{"code":2,"message":${quote(errorCode)}}`) +
    `,"flags":${span.remoteParent ? FLAGS_REMOTE_PARENT : FLAGS_LOCAL_PARENT}}`
  );
}

/**
 * The encoder of one gateway: its resource (service.name, process.pid) and
 * instrumentation scope encoded once; the function it returns writes one
 * export request into a Buffer, span by span (one string of a whole batch,
 * built by concatenation, costs more to flatten and convert than to make).
 */
export function otlpJsonEncoder(resource: TraceAttributes, scopeName: string): (spans: readonly LeanSpan[]) => Buffer {
  const head = `{"resourceSpans":[{"resource":{"attributes":[${entries(resource)}]},"scopeSpans":[{"scope":{"name":${quote(scopeName)}},"spans":[`;
  const tail = ']}]}]}';
  return (spans) => {
    // About 500 bytes a span; grown when a span would not fit (3 bytes per UTF-16 unit at most).
    let buffer = Buffer.allocUnsafe(Buffer.byteLength(head) + tail.length + spans.length * 640);
    let at = buffer.write(head, 0);
    for (let i = 0; i < spans.length; i++) {
      const json = i === 0 ? spanJson(spans[i]!) : `,${spanJson(spans[i]!)}`;
      if (at + json.length * 3 + tail.length > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, at + json.length * 3 + tail.length));
        buffer.copy(grown, 0, 0, at);
        buffer = grown;
      }
      at += buffer.write(json, at);
    }
    at += buffer.write(tail, at);
    return buffer.subarray(0, at);
  };
}
