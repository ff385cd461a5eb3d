/**
 * Our OTLP/HTTP JSON (telemetry/otlp-json.ts) against OpenTelemetry's own:
 * the same spans, adapted to the SDK's ReadableSpan (telemetry/trace-sdk.ts,
 * what an embedder's SpanExporter receives), serialized by
 * @opentelemetry/otlp-transformer's JsonTraceSerializer (what the SDK's
 * OTLP/HTTP exporter sends), must decode to the same export request field by
 * field, fields at their protobuf default aside (we leave those out, as the
 * protobuf JSON mapping allows).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { otlpJsonEncoder, quote } from '../../src/telemetry/otlp-json.js';
import { toReadableSpan } from '../../src/telemetry/trace-sdk.js';
import { hrTime, KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, LeanSpan, newTraceId, unixNanos } from '../../src/telemetry/trace-span.js';
import { cleanTraceState, clientContext } from '../../src/telemetry/tracing.js';

const RESOURCE = Object.freeze({ 'service.name': 'edge "gateway"', 'process.pid': 4242 });

/** A request's worth of spans, with every kind of attribute value, a client parent, a tracestate and an error. */
function requestSpans(): LeanSpan[] {
  const ended: LeanSpan[] = [];
  const queue = { add: (span: LeanSpan) => void ended.push(span) };
  const traceId = newTraceId();
  const state = 'vendor=opaque,other=x y';
  const root = new LeanSpan(queue, 'POST /graphql', KIND_SERVER, traceId, '00f067aa0ba902b7', true, state, undefined, Object.freeze({ 'http.request.method': 'POST', 'url.path': '/graphql', 'tessera.channel': 'web' }), undefined);
  new LeanSpan(queue, 'graphql.parse', KIND_INTERNAL, traceId, root.spanId, false, state, undefined, undefined, undefined).end();
  new LeanSpan(queue, 'graphql.validate', KIND_INTERNAL, traceId, root.spanId, false, state, undefined, undefined, undefined).end(undefined, 'GRAPHQL_VALIDATION_FAILED');
  const instance = Object.freeze({ 'tessera.subgraph': 'catalog', 'tessera.instance': 'http://127.0.0.1:4101', 'tessera.version': undefined, 'server.address': '127.0.0.1', 'server.port': 4101 });
  const upstream = new LeanSpan(queue, 'GET /products/{id}', KIND_CLIENT, traceId, root.spanId, false, state, instance, { 'http.request.method': 'GET', 'url.full': 'http://127.0.0.1:4101/products/p\u00e9\n"1"', 'url.template': '/products/{id}' }, 1);
  upstream.end({ 'http.response.status_code': 503, 'tessera.ratio': 0.25, 'tessera.retried': true, 'tessera.big': 2 ** 60 }, 'HTTP_5xx');
  root.name = 'query Product';
  root.end({ 'graphql.operation.name': 'Product', 'graphql.operation.type': 'query', 'tessera.route': undefined, 'http.response.status_code': 200 }, 'HTTP_5xx');
  return ended;
}

/** What a decoded export request holds, with fields at their protobuf default removed (0, "", [], {} once emptied). */
function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDefaults);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      const kept = withoutDefaults(field);
      // Inside an AnyValue the scalar is the value itself (intValue 0 is a value): keep it.
      const anyValue = ['intValue', 'doubleValue', 'boolValue', 'stringValue'].includes(key);
      if (!anyValue && (kept === 0 || kept === '' || kept === undefined || (Array.isArray(kept) && kept.length === 0))) continue;
      if (!anyValue && kept && typeof kept === 'object' && !Array.isArray(kept) && Object.keys(kept).length === 0) continue;
      out[key] = kept;
    }
    return out;
  }
  return value;
}

test("our OTLP JSON decodes to what OpenTelemetry's JsonTraceSerializer writes for the same spans, field by field", () => {
  const spans = requestSpans();
  const ours: unknown = JSON.parse(otlpJsonEncoder(RESOURCE, 'tessera')(spans).toString());
  const resource = resourceFromAttributes(RESOURCE);
  const readable = spans.map((span) => toReadableSpan(span, resource, 'tessera', (text) => new TraceState(text)));
  const theirs: unknown = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(readable)));
  assert.deepEqual(withoutDefaults(ours), withoutDefaults(theirs));

  // What a collector reads: ids as hex, times as unix-nanosecond strings, kinds and status as OTLP's numbers.
  const decoded = ours as { resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Array<Record<string, unknown>> }> }> };
  const [scope] = decoded.resourceSpans[0]!.scopeSpans;
  assert.equal(scope!.scope.name, 'tessera');
  const upstream = scope!.spans.find((s) => s.name === 'GET /products/{id}')!;
  assert.match(String(upstream.traceId), /^[0-9a-f]{32}$/);
  assert.match(String(upstream.spanId), /^[0-9a-f]{16}$/);
  assert.match(String(upstream.startTimeUnixNano), /^\d{19}$/);
  assert.ok(BigInt(String(upstream.endTimeUnixNano)) >= BigInt(String(upstream.startTimeUnixNano)));
  assert.equal(upstream.kind, 3);
  assert.deepEqual(upstream.status, { code: 2, message: 'HTTP_5xx' });
  assert.equal(upstream.traceState, 'vendor=opaque,other=x y');
  const attribute = (key: string): unknown => (upstream.attributes as Array<{ key: string; value: unknown }>).find((a) => a.key === key)?.value;
  assert.deepEqual(attribute('tessera.attempt'), { intValue: 1 });
  assert.deepEqual(attribute('tessera.ratio'), { doubleValue: 0.25 });
  assert.deepEqual(attribute('tessera.retried'), { boolValue: true });
  assert.deepEqual(attribute('url.full'), { stringValue: 'http://127.0.0.1:4101/products/p\u00e9\n"1"' });
  assert.equal(attribute('tessera.version'), undefined, 'an undefined value is left out');
  assert.deepEqual(attribute('error.type'), { stringValue: 'HTTP_5xx' });
  const root = scope!.spans.find((s) => s.kind === 2)!;
  assert.equal(root.flags, 0x301, "the request span's parent is the client's (remote)");
  assert.equal(upstream.flags, 0x101);
});

test('JSON strings are quoted as JSON.stringify quotes them', () => {
  for (const text of ['plain', '', 'a"b', 'back\\slash', 'line\nbreak', '\u0000\u001f', 'caf\u00e9 \u{1f600}', 'lone \ud800 surrogate', '</script>']) {
    assert.equal(quote(text), JSON.stringify(text), text);
  }
});

test('unix nanoseconds and HrTime agree with the clock and with each other', () => {
  const at = performance.now();
  const nanos = BigInt(unixNanos(at));
  const [seconds, rest] = hrTime(at);
  assert.equal(BigInt(seconds) * 1_000_000_000n + BigInt(rest), nanos);
  const wall = BigInt(Date.now()) * 1_000_000n;
  assert.ok(nanos <= wall + 5_000_000n && nanos >= wall - 1_000_000_000n, 'within a second of Date.now()');
  assert.ok(rest >= 0 && rest < 1e9);
});

test("a client's traceparent is read as W3C Trace Context says; tracestate keeps its valid members in order", () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.deepEqual(clientContext(new Headers({ traceparent: valid, tracestate: 'a=1, b=2' })), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    sampled: true,
    traceState: 'a=1,b=2',
  });
  assert.equal(clientContext(new Headers({ traceparent: valid.replace(/-01$/, '-02') }))?.sampled, false);
  for (const malformed of [
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    `${valid}-extra`,
    'not a traceparent',
  ]) {
    assert.equal(clientContext(new Headers({ traceparent: malformed })), undefined, malformed);
  }
  assert.equal(clientContext(new Headers({ traceparent: `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future` }))?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'a later version may add fields');
  assert.equal(cleanTraceState('Bad=1,ok=2,novalue,x=has=equals,y=fine'), 'ok=2,y=fine');
  assert.equal(cleanTraceState(Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',')), Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(','), 'at most 32 members');
  assert.equal(cleanTraceState(`a=${'x'.repeat(255)},b=${'y'.repeat(255)},c=z`), `a=${'x'.repeat(255)}`, 'at most 512 characters');
  assert.equal(cleanTraceState(null), undefined);
  assert.equal(cleanTraceState('=,,'), undefined);
});

test('a batch larger than its first size estimate (long, non-ASCII values) is written whole', () => {
  const ended: LeanSpan[] = [];
  const queue = { add: (span: LeanSpan) => void ended.push(span) };
  const long = '\u00e9\u{1f600}'.repeat(3000);
  for (let i = 0; i < 20; i++) new LeanSpan(queue, `span ${i}`, KIND_INTERNAL, newTraceId(), undefined, false, undefined, undefined, { long }, undefined).end();
  const decoded = JSON.parse(otlpJsonEncoder(RESOURCE, 'tessera')(ended).toString()) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; attributes: Array<{ value: { stringValue: string } }> }> }> }> };
  const spans = decoded.resourceSpans[0]!.scopeSpans[0]!.spans;
  assert.deepEqual(spans.map((s) => s.name), ended.map((s) => s.name));
  for (const span of spans) assert.equal(span.attributes[0]!.value.stringValue, long);
});
