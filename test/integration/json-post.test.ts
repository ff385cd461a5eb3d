/**
 * The JSON POST path (server/json-post.ts) answers exactly as Yoga's own
 * pipeline does: the same requests, sent to a gateway serving them on the
 * lean path and to one with it off (GatewayOptions.jsonPost: false, tests
 * only), get the same status, headers and body, and write the same request
 * log line. Which requests take the lean path is checked on its own.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { test, type TestContext } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { captureLogs, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { parseExposition } from '../kit/metrics.js';
import { sha256 } from '../kit/security.js';
import { takesJsonPost } from '../../src/server/json-post.js';

const SDL = `type Query { hello(name: String): String  broken: String  deep: Node } type Node { next: Node  id: ID } type Mutation { bump: Int }`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request with exactly these headers (fetch would add its own). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const seen: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          seen[name] = seen[name] === undefined ? res.rawHeaders[i + 1]! : `${seen[name]}\n${res.rawHeaders[i + 1]}`;
        }
        resolve({ status: res.statusCode!, headers: seen, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What may differ between two answers to the same request: the date, a generated request id, times. */
function comparable(answer: Answer): Answer {
  const headers = { ...answer.headers };
  delete headers.date;
  if (headers['x-request-id']?.match(/^[0-9a-f-]{36}$/)) headers['x-request-id'] = '<generated>';
  for (const timed of ['retry-after', 'ratelimit-reset']) if (headers[timed] !== undefined) headers[timed] = '<seconds>';
  const body = answer.body.replace(/Retry in \d+s/, 'Retry in <seconds>').replace(/"retryAfter":\d+/, '"retryAfter":"<seconds>"');
  return { ...answer, headers, body };
}

async function pair(t: TestContext, gateway: Record<string, unknown>, options: { leanSpans?: InMemorySpanExporter; yogaSpans?: InMemorySpanExporter } = {}) {
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: {
      hello: (_: unknown, { name }: { name?: string }) => `hello ${name ?? 'world'}`,
      broken: () => {
        throw new Error('upstream says no');
      },
      deep: () => ({ id: '1', next: { id: '2', next: null } }),
    },
    Mutation: { bump: () => 1 },
  });
  const descriptors = [{ name: 'hello', kind: 'graphql' as const, url: upstream.url }];
  const leanLogs = captureLogs();
  const yogaLogs = captureLogs();
  const lean = await startGateway(t, descriptors, gateway, { logger: leanLogs.logger, spanExporter: options.leanSpans });
  const yoga = await startGateway(t, descriptors, gateway, { logger: yogaLogs.logger, spanExporter: options.yogaSpans, jsonPost: false });
  return { lean, yoga, leanLogs, yogaLogs, upstream };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ORIGIN = 'https://app.example';

/** Requests a client may send on the JSON POST path, well-formed or not. */
const REQUESTS: Array<{ name: string; headers: Record<string, string>; body: string; path?: string }> = [
  { name: 'a query', headers: JSON_TYPE, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'variables and an operation name', headers: { ...JSON_TYPE, 'x-request-id': 'client-id-1' }, body: JSON.stringify({ query: 'query Q($n: String) { hello(name: $n) }', variables: { n: 'Bo' }, operationName: 'Q' }) },
  { name: 'charset in the content type, graphql-response+json accepted', headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/graphql-response+json' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'a mutation', headers: JSON_TYPE, body: JSON.stringify({ query: 'mutation { bump }' }) },
  { name: 'malformed JSON', headers: JSON_TYPE, body: '{"query": "{ hello }"' },
  { name: 'a null body', headers: JSON_TYPE, body: 'null' },
  { name: 'a number body', headers: JSON_TYPE, body: '42' },
  { name: 'a batch (batching off)', headers: JSON_TYPE, body: JSON.stringify([{ query: '{ hello }' }]) },
  { name: 'no query', headers: JSON_TYPE, body: JSON.stringify({ variables: {} }) },
  { name: 'an unknown parameter', headers: JSON_TYPE, body: JSON.stringify({ query: '{ hello }', extra: 1 }) },
  { name: 'variables of the wrong type', headers: JSON_TYPE, body: JSON.stringify({ query: '{ hello }', variables: [] }) },
  { name: 'a syntax error', headers: JSON_TYPE, body: JSON.stringify({ query: '{ hello ' }) },
  { name: 'a validation error, application/json', headers: { ...JSON_TYPE, accept: 'application/json' }, body: JSON.stringify({ query: '{ nope }' }) },
  { name: 'a validation error, graphql-response+json', headers: { ...JSON_TYPE, accept: 'application/graphql-response+json' }, body: JSON.stringify({ query: '{ nope }' }) },
  { name: 'a variable coercion error', headers: JSON_TYPE, body: JSON.stringify({ query: 'query Q($n: String) { hello(name: $n) }', variables: { n: { a: 1 } } }) },
  { name: 'an upstream error (masked)', headers: JSON_TYPE, body: JSON.stringify({ query: '{ hello broken }' }) },
  { name: 'too deep', headers: JSON_TYPE, body: JSON.stringify({ query: '{ deep { next { next { next { next { id } } } } } }' }) },
  { name: 'introspection (off)', headers: JSON_TYPE, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) },
  { name: 'an Accept no GraphQL answer fits', headers: { ...JSON_TYPE, accept: 'text/html' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'an allowed origin', headers: { ...JSON_TYPE, origin: ORIGIN }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'another origin', headers: { ...JSON_TYPE, origin: 'https://evil.example' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'a wrong API key', headers: { ...JSON_TYPE, 'x-api-key': 'guess' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'a right API key', headers: { ...JSON_TYPE, 'x-api-key': 'sk_test_key_0123456789' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'an unsafe request id', headers: { ...JSON_TYPE, 'x-request-id': 'bad id\u00e9' }, body: JSON.stringify({ query: '{ hello }' }) },
  { name: 'APQ: an unknown hash', headers: JSON_TYPE, path: '/web/graphql', body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ hello }') } } }) },
  { name: 'APQ: registration', headers: JSON_TYPE, path: '/web/graphql', body: JSON.stringify({ query: '{ hello }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ hello }') } } }) },
  { name: 'APQ: a hit', headers: JSON_TYPE, path: '/web/graphql', body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ hello }') } } }) },
  { name: 'APQ: a hash that lies', headers: JSON_TYPE, path: '/web/graphql', body: JSON.stringify({ query: '{ hello }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ other }') } } }) },
  // One consumer's fifth operation in a minute is over the rate limit (every other request comes from a consumer of its own).
  ...Array.from({ length: 5 }, (_, i) => ({ name: `rate limited consumer, request ${i + 1}`, headers: { ...JSON_TYPE, 'x-forwarded-for': '203.0.113.7' }, path: '/rated/graphql', body: JSON.stringify({ query: '{ hello }' }) })),
];

const GATEWAY = {
  security: {
    cors: { origins: [ORIGIN], credentials: true },
    limits: { maxDepth: 4 },
    auth: { anonymous: true, apiKeys: { keys: [{ id: 'partner', sha256: sha256('sk_test_key_0123456789'), scopes: ['a:read'] }] } },
  },
  channels: {
    web: { path: '/web/graphql', persistedOperations: { apq: true } },
    rated: { path: '/rated/graphql' },
  },
  rateLimit: { trustedProxies: ['127.0.0.1', '::1'], rules: [{ name: 'per-client', by: 'consumer', limit: 4, window: '1m' }] },
};

test('the same requests get the same status, headers, body and request log line on the JSON POST path and through Yoga', async (t) => {
  for (const mode of ['production', 'development'] as const) {
    const { lean, yoga, leanLogs, yogaLogs } = await pair(t, { ...GATEWAY, mode });
    for (const [i, { name, headers: given, body, path = '/graphql' }] of REQUESTS.entries()) {
      const headers = { 'x-forwarded-for': `198.51.100.${i + 1}`, ...given };
      leanLogs.lines.length = 0;
      yogaLogs.lines.length = 0;
      const viaLean = await send(lean.url.replace(/\/graphql$/, path), 'POST', headers, body);
      const viaYoga = await send(yoga.url.replace(/\/graphql$/, path), 'POST', headers, body);
      assert.deepEqual(comparable(viaLean), comparable(viaYoga), `${mode}: ${name}`);
      const line = (lines: Array<Record<string, unknown>>) =>
        lines.filter((l) => l.msg === 'request').map(({ time: _t, durationMs: _d, requestId, subgraphs, pid: _p, hostname: _h, ...rest }) => ({
          ...rest,
          requestId: typeof requestId === 'string' && /^[0-9a-f-]{36}$/.test(requestId) ? '<generated>' : requestId,
          subgraphs: (subgraphs as Array<Record<string, unknown>> | undefined)?.map(({ durationMs: _ms, ...call }) => call),
        }));
      assert.deepEqual(line(leanLogs.lines), line(yogaLogs.lines), `${mode}: the request log line of ${name}`);
      assert.equal(line(leanLogs.lines).length, 1, `${mode}: one request line for ${name}`);
    }
  }
});

test('the same requests give the same metrics and the same trace spans on both paths', async (t) => {
  const leanSpans = new InMemorySpanExporter();
  const yogaSpans = new InMemorySpanExporter();
  const { lean, yoga, upstream } = await pair(t, { ...GATEWAY, telemetry: { metrics: { enabled: true }, tracing: { enabled: true, acceptClientContext: true } } }, { leanSpans, yogaSpans });
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const chosen = REQUESTS.filter((r) => /a query|variables|malformed|no query|validation error, app|upstream error|too deep|wrong API key|APQ: an unknown/.test(r.name));
  assert.ok(chosen.length >= 8);
  for (const [i, { headers, body, path = '/graphql' }] of chosen.entries()) {
    const sent = { 'x-forwarded-for': `198.51.100.${i + 1}`, ...(i % 2 === 0 && { traceparent }), ...headers };
    const calls = upstream.stats.requests;
    await send(lean.url.replace(/\/graphql$/, path), 'POST', sent, body);
    const leanCalls = upstream.stats.requests - calls;
    await send(yoga.url.replace(/\/graphql$/, path), 'POST', sent, body);
    assert.equal(upstream.stats.requests - calls - leanCalls, leanCalls, 'the same upstream calls');
  }
  // Counters and counts, not times (histogram buckets and sums hold durations). Upstream calls are seen by every
  // gateway in the process (both count both), so they are compared as they are; the request counters are each gateway's own.
  const counted = async (url: string) => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    return parseExposition(text)
      .samples.filter((s) => s.name.startsWith('tessera_') && !/_(bucket|sum)$/.test(s.name) && !/seconds$|bytes$|_info$|timestamp/.test(s.name))
      .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`)
      .sort();
  };
  const ownOnly = (lines: string[]) => lines.filter((line) => !line.startsWith('tessera_upstream_'));
  const metrics = ownOnly(await counted(lean.url));
  assert.ok(metrics.some((line) => line.startsWith('tessera_requests_total')), `request counters exposed: ${metrics.slice(0, 5).join('; ')}`);
  assert.deepEqual(metrics, ownOnly(await counted(yoga.url)));

  await lean.gateway.close();
  await yoga.gateway.close();
  const shape = (spans: ReadableSpan[]) => {
    const names = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
    return spans
      .map((s) => {
        const { 'tessera.request_id': _id, ...attributes } = s.attributes;
        const parent = s.parentSpanContext?.spanId ?? (s as { parentSpanId?: string }).parentSpanId;
        return JSON.stringify({ name: s.name, kind: s.kind, status: s.status, attributes, parent: parent ? (names.get(parent) ?? 'client') : undefined });
      })
      .sort();
  };
  const spans = shape(leanSpans.getFinishedSpans());
  assert.ok(spans.length >= chosen.length, `one span or more per request: ${spans.length}`);
  assert.deepEqual(spans, shape(yogaSpans.getFinishedSpans()));
});

test('which requests take the JSON POST path: a POST of application/json with a Content-Length and no streaming Accept', () => {
  const req = (method: string, headers: Record<string, string>) => ({ method, headers }) as unknown as IncomingMessage;
  const json = { 'content-type': 'application/json', 'content-length': '20' };
  assert.equal(takesJsonPost(req('POST', json)), true);
  assert.equal(takesJsonPost(req('POST', { ...json, 'content-type': 'application/json; charset=utf-8' })), true);
  assert.equal(takesJsonPost(req('POST', { ...json, accept: 'application/graphql-response+json, application/json' })), true);
  assert.equal(takesJsonPost(req('GET', json)), false, 'GET stays on Yoga');
  assert.equal(takesJsonPost(req('POST', { ...json, 'content-type': 'multipart/form-data; boundary=x' })), false, 'uploads stay on Yoga');
  assert.equal(takesJsonPost(req('POST', { ...json, 'content-type': 'text/plain' })), false, 'other media types are refused by Yoga');
  assert.equal(takesJsonPost(req('POST', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })), false, 'a chunked body is counted on Yoga');
  assert.equal(takesJsonPost(req('POST', { ...json, 'content-length': '2x' })), false);
  assert.equal(takesJsonPost(req('POST', { ...json, accept: 'text/event-stream' })), false, 'SSE stays on Yoga');
  assert.equal(takesJsonPost(req('POST', { ...json, accept: 'multipart/mixed' })), false, 'an Accept asking for multipart (a subscription over multipart) stays on Yoga');
  assert.equal(takesJsonPost(req('OPTIONS', json)), false, 'preflights stay on Yoga');
});
