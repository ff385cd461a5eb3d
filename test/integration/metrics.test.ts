/**
 * /metrics (telemetry.metrics): real traffic through a gateway, then a scrape
 * of the Prometheus text, asserting exact counts with their labels: a
 * success, an upstream error, a retry, a dead upstream, operation names
 * bucketed and capped; off in production unless enabled. With the demo's
 * REST and gRPC services beside a scripted GraphQL upstream: errors by kind,
 * per REST operation and gRPC method, cache hits, rate-limit refusals by
 * rule, retries and their budget, in-flight calls, schema loads, the gateway
 * overhead, node:http's own refusals; and deploy/'s dashboard and alert
 * rules checked against the live exposition. `tessera serve --workers 2`:
 * metrics-workers.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { deferred, gql, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { createLogger } from '../../src/logger.js';
import { deployProblems, exposedFamilies, sample, total } from '../kit/metrics.js';
import { startDemoServices } from '../../subgraphs/demo.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';

const dir = new URL('../fixtures/graphql/slow', import.meta.url).pathname;

/** A GraphQL upstream over node:http whose next answers the test decides; counts the requests it received. */
async function scriptedUpstream(t: TestContext) {
  const script: Array<(res: ServerResponse) => void> = [];
  let requests = 0;
  const ok = (res: ServerResponse): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { slowField: 'ok' } }));
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      (script.shift() ?? ok)(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    answerNext: (...answers: Array<(res: ServerResponse) => void>) => void script.push(...answers),
    requests: () => requests,
  };
}

const busy = (res: ServerResponse): void => void res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');

async function scrape(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function metricsGateway(t: TestContext, upstreamUrl: string, gateway: GatewayFileInput = { mode: 'development' }) {
  const gw = await startGateway(t, [{ name: 'flaky', kind: 'graphql', url: upstreamUrl, source: 'schema.graphql', dir, retry: { attempts: 2, backoff: 1 } }], gateway);
  return { ...gw, metricsUrl: new URL('/metrics', gw.url).href };
}

test('a success, a retry and an upstream error are counted per operation and per upstream instance, with their codes', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url);

  assert.deepEqual((await gw.query('query Fine { slowField }')).body, { data: { slowField: 'ok' } });
  upstream.answerNext(busy);
  assert.deepEqual((await gw.query('query Fine { slowField }')).body, { data: { slowField: 'ok' } }, 'a 503 then a 200: the retry answers');
  upstream.answerNext(busy, busy);
  const failed = await gw.query('query Broken { slowField }');
  assert.equal(failed.body.errors?.[0]?.extensions?.code, 'SOURCE_BAD_RESPONSE');
  assert.equal(upstream.requests(), 5);

  const { status, type, text } = await scrape(gw.metricsUrl);
  assert.equal(status, 200);
  assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
  const request = { channel: 'default', route: 'direct' };
  assert.equal(sample(text, 'tessera_requests_total', { ...request, operation: 'Fine', code: 'OK' }), 2);
  assert.equal(sample(text, 'tessera_requests_total', { ...request, operation: 'Broken', code: 'SOURCE_BAD_RESPONSE' }), 1);
  assert.equal(sample(text, 'tessera_request_duration_seconds_count', { ...request, operation: 'Fine' }), 2);
  const instance = { subgraph: 'flaky', instance: upstream.url, version: '' };
  assert.equal(sample(text, 'tessera_upstream_calls_total', { ...instance, code: 'OK' }), 2);
  assert.equal(sample(text, 'tessera_upstream_calls_total', { ...instance, code: 'HTTP_5xx' }), 3);
  assert.equal(sample(text, 'tessera_upstream_retries_total', instance), 2);
  assert.equal(sample(text, 'tessera_upstream_duration_seconds_count', instance), 5);
  assert.ok((sample(text, 'nodejs_heap_size_used_bytes', {}) ?? 0) > 0, 'process metrics: heap');
  assert.ok(sample(text, 'nodejs_eventloop_lag_seconds', {}) !== undefined, 'process metrics: event-loop lag');
});

test('a dead upstream is counted by the error code of the attempt', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url);
  upstream.answerNext((res) => res.socket?.destroy(), (res) => res.socket?.destroy());
  const failed = await gw.query('{ slowField }');
  const code = failed.body.errors?.[0]?.extensions?.code;
  assert.equal(typeof code, 'string');
  const { text } = await scrape(gw.metricsUrl);
  assert.equal(sample(text, 'tessera_requests_total', { operation: '__anonymous', channel: 'default', route: 'direct', code }), 1, 'an unnamed operation is bucketed');
  assert.equal(sample(text, 'tessera_upstream_calls_total', { subgraph: 'flaky', instance: upstream.url, version: '', code }), 2);
});

test('operation names past telemetry.metrics.maxOperations count as __overflow; a refused document as __unknown', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url, { mode: 'development', telemetry: { metrics: { maxOperations: 2 } } });
  for (const name of ['A', 'B', 'C', 'D', 'A']) assert.equal((await gw.query(`query ${name} { slowField }`)).status, 200);
  const invalid = await gw.query('query Made { noSuchField }');
  assert.equal(invalid.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  const { text } = await scrape(gw.metricsUrl);
  const labels = (operation: string, code = 'OK', route = 'direct') => ({ operation, channel: 'default', route, code });
  assert.equal(sample(text, 'tessera_requests_total', labels('A')), 2);
  assert.equal(sample(text, 'tessera_requests_total', labels('B')), 1);
  assert.equal(sample(text, 'tessera_requests_total', labels('__overflow')), 2);
  assert.equal(sample(text, 'tessera_requests_total', labels('C')), undefined);
  assert.equal(sample(text, 'tessera_requests_total', labels('__unknown', 'GRAPHQL_VALIDATION_FAILED', 'none')), 1);
  assert.equal(sample(text, 'tessera_requests_total', labels('Made', 'GRAPHQL_VALIDATION_FAILED', 'none')), undefined);
});

test('a rate-limit refusal is counted under its operation with code RATE_LIMITED, and never reaches the upstream', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url, { mode: 'development', rateLimit: { rules: [{ name: 'tiny', by: 'channel', limit: 1, window: '1m' }] } });
  assert.equal((await gw.query('query Fine { slowField }')).status, 200);
  const refused = await gw.query('query Fine { slowField }');
  assert.equal(refused.status, 429);
  assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.equal(upstream.requests(), 1);
  const { text } = await scrape(gw.metricsUrl);
  assert.equal(sample(text, 'tessera_requests_total', { operation: 'Fine', channel: 'default', route: 'direct', code: 'OK' }), 1);
  assert.equal(sample(text, 'tessera_requests_total', { operation: 'Fine', channel: 'default', route: 'none', code: 'RATE_LIMITED' }), 1, 'refused before the router chose a route');
  assert.equal(sample(text, 'tessera_upstream_calls_total', { subgraph: 'flaky', instance: upstream.url, version: '', code: 'OK' }), 1);
});

test('response-cache lookups are counted as hit or miss, per channel; the upstream is called once', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await startGateway(t, [{ name: 'cached', kind: 'graphql', url: upstream.url, source: 'schema.graphql', dir, cache: { 'Query.slowField': '60s' } }], {
    mode: 'development',
    cache: { debugHeader: true },
  });
  const answers = [await gw.query('query Cached { slowField }'), await gw.query('query Cached { slowField }'), await gw.query('query Cached { slowField }')];
  assert.deepEqual(answers.map((a) => a.headers.get('x-tessera-cache')), ['MISS', 'HIT', 'HIT']);
  assert.equal(upstream.requests(), 1);
  const { text } = await scrape(new URL('/metrics', gw.url).href);
  assert.equal(sample(text, 'tessera_response_cache_total', { channel: 'default', result: 'miss' }), 1);
  assert.equal(sample(text, 'tessera_response_cache_total', { channel: 'default', result: 'hit' }), 2);
});

test('/metrics is off in production unless telemetry.metrics.enabled, and may move to another path', async (t) => {
  const upstream = await scriptedUpstream(t);
  const production = await metricsGateway(t, upstream.url, {});
  const off = await scrape(production.metricsUrl);
  assert.equal(off.status, 404);
  assert.doesNotMatch(off.text, /tessera_/);
  const enabled = await metricsGateway(t, upstream.url, { telemetry: { metrics: { enabled: true, path: '/internal/metrics' } } });
  await enabled.query('{ slowField }');
  assert.equal((await scrape(enabled.metricsUrl)).status, 404);
  const moved = await scrape(new URL('/internal/metrics', enabled.url).href);
  assert.equal(moved.status, 200);
  assert.equal(sample(moved.text, 'tessera_requests_total', { operation: '__anonymous', channel: 'default', route: 'direct', code: 'OK' }), 1);
});

test('a metrics path that is also a GraphQL or health path, or an unknown key, stops start-up', async (t) => {
  const upstream = await scriptedUpstream(t);
  await assert.rejects(metricsGateway(t, upstream.url, { mode: 'development', telemetry: { metrics: { path: '/graphql' } } }), /telemetry\.metrics\.path: \/graphql is already served/);
  await assert.rejects(metricsGateway(t, upstream.url, { telemetry: { metrics: { enabeld: true } } as never }), /enabeld/);
});

const subgraphsDir = new URL('../../subgraphs/', import.meta.url).pathname;
const graphqlErrors = (res: ServerResponse): void =>
  void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { slowField: null }, errors: [{ message: 'no slow field today' }] }));

/** Sends `bytes` on a connection of its own and reads the answer until the server closes it. */
async function sendRaw(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return answer;
}

/** Bytes that are not HTTP: node:http answers 400 itself (server 'clientError'). */
const sendGarbage = (port: number): Promise<string> => sendRaw(port, 'NOT HTTP AT ALL\r\n\r\n');

test('must show: real traffic (success, cache hit, retry, upstream errors of each kind, rate-limit refusal, REST and gRPC operations), then one scrape with the exact values', async (t) => {
  const upstream = await scriptedUpstream(t);
  const demo = await startDemoServices({ catalog: 0, inventory: 0 }, ['catalog', 'inventory']);
  t.after(() => demo.close());
  const catalog = demo.services.get('catalog')!;
  const inventory = demo.services.get('inventory')!;
  const gw = await startGateway(
    t,
    [
      { name: 'flaky', kind: 'graphql', url: upstream.url, source: 'schema.graphql', dir, retry: { attempts: 2, backoff: 1 }, cache: { 'Query.slowField': '60s' } },
      { name: 'catalog', kind: 'openapi', url: catalog.url, source: './openapi.yaml', dir: `${subgraphsDir}catalog` },
      { name: 'inventory', kind: 'grpc', url: `grpc://127.0.0.1:${inventory.port}`, source: './inventory.proto', dir: `${subgraphsDir}inventory` },
    ],
    { mode: 'development', cache: { debugHeader: true }, rateLimit: { rules: [{ name: 'limited-once', by: 'channel', operations: ['Limited'], limit: 1, window: '1m' }] } },
  );
  const metricsUrl = new URL('/metrics', gw.url).href;

  // A success, then the same query from the response cache.
  const cached = [await gw.query('query Fine { slowField }'), await gw.query('query Fine { slowField }')];
  assert.deepEqual(cached.map((a) => a.headers.get('x-tessera-cache')), ['MISS', 'HIT']);
  // A retry that answers (503, then 200), an upstream error (503 twice), GraphQL errors from the upstream.
  upstream.answerNext(busy);
  assert.deepEqual((await gw.query('query Retried { slowField }')).body, { data: { slowField: 'ok' } });
  upstream.answerNext(busy, busy);
  assert.equal((await gw.query('query Broken { slowField }')).body.errors?.[0]?.extensions?.code, 'SOURCE_BAD_RESPONSE');
  upstream.answerNext(graphqlErrors);
  assert.equal((await gw.query('query Partial { slowField }')).body.errors?.length, 1);
  // A 200 the source cannot use: HTML where GraphQL JSON belongs.
  upstream.answerNext((res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'));
  assert.equal((await gw.query('query Html { slowField }')).body.errors?.[0]?.extensions?.code, 'SOURCE_BAD_RESPONSE');
  // A rate-limit refusal by the rule "limited-once".
  assert.equal((await gw.query('query Limited { slowField }')).status, 200);
  assert.equal((await gw.query('query Limited { slowField }')).status, 429);
  assert.equal(upstream.requests(), 8);
  // A REST operation answered and one answered 404; a gRPC method answered and one answered NOT_FOUND.
  assert.equal((await gw.query('{ getProduct(id: "p1") { id } }')).body.data?.getProduct?.id, 'p1');
  await gw.query('{ getProduct(id: "no-such-product") { id } }');
  assert.equal(typeof (await gw.query('{ getStockLevel(productId: "p1") { available } }')).body.data?.getStockLevel?.available, 'number');
  const missing = await gw.query('{ getStockLevel(productId: "no-such-product") { available } }');
  assert.equal(missing.body.errors?.[0]?.extensions?.grpc?.code, 'NOT_FOUND');
  // node:http's own refusal of bytes that are not HTTP.
  assert.match(await sendGarbage(gw.port), /^HTTP\/1\.1 400 /);

  const { text } = await scrape(metricsUrl);
  const flaky = { subgraph: 'flaky', instance: upstream.url, version: '' };
  const request = (operation: string, code = 'OK', route = 'direct') => ({ operation, channel: 'default', route, code });
  assert.equal(sample(text, 'tessera_requests_total', request('Fine')), 1);
  assert.equal(sample(text, 'tessera_requests_total', request('Fine', 'OK', 'none')), 1, 'the cache hit: answered before any route');
  assert.equal(sample(text, 'tessera_requests_total', request('Retried')), 1);
  assert.equal(sample(text, 'tessera_requests_total', request('Partial', 'SUBGRAPH_ERROR')), 1);
  assert.equal(sample(text, 'tessera_requests_total', request('Broken', 'SOURCE_BAD_RESPONSE')), 1);
  assert.equal(sample(text, 'tessera_requests_total', request('Limited', 'RATE_LIMITED', 'none')), 1);
  assert.equal(sample(text, 'tessera_response_cache_total', { channel: 'default', result: 'hit' }), 1);
  assert.equal(sample(text, 'tessera_rate_limit_refusals_total', { channel: 'default', rule: 'limited-once' }), 1);
  assert.equal(sample(text, 'tessera_upstream_calls_total', { ...flaky, code: 'OK' }), 5, 'Fine, Retried (its retry), Partial, Html, Limited');
  assert.equal(sample(text, 'tessera_upstream_calls_total', { ...flaky, code: 'HTTP_5xx' }), 3);
  assert.equal(sample(text, 'tessera_upstream_retries_total', flaky), 2);
  assert.equal(sample(text, 'tessera_upstream_errors_total', { ...flaky, kind: 'http_5xx' }), 3);
  assert.equal(sample(text, 'tessera_upstream_errors_total', { ...flaky, kind: 'graphql' }), 1);
  assert.equal(sample(text, 'tessera_upstream_errors_total', { ...flaky, kind: 'other' }), 1, 'the HTML answer');
  assert.equal(sample(text, 'tessera_upstream_in_flight', flaky), 0, 'every attempt started has ended');
  const catalogInstance = { subgraph: 'catalog', instance: catalog.url, version: '' };
  assert.equal(sample(text, 'tessera_upstream_errors_total', { ...catalogInstance, kind: 'http_4xx' }), 1);
  assert.equal(sample(text, 'tessera_upstream_operation_calls_total', { subgraph: 'catalog', operation: 'GET /products/{id}', code: 'OK' }), 1);
  assert.equal(sample(text, 'tessera_upstream_operation_calls_total', { subgraph: 'catalog', operation: 'GET /products/{id}', code: 'HTTP_4xx' }), 1);
  assert.equal(sample(text, 'tessera_upstream_operation_duration_seconds_count', { subgraph: 'catalog', operation: 'GET /products/{id}' }), 2);
  const getStockLevel = '/tessera.inventory.v1.InventoryService/GetStockLevel';
  assert.equal(sample(text, 'tessera_upstream_operation_calls_total', { subgraph: 'inventory', operation: getStockLevel, code: 'OK' }), 1);
  assert.equal(sample(text, 'tessera_upstream_operation_calls_total', { subgraph: 'inventory', operation: getStockLevel, code: 'GRPC_STATUS' }), 1);
  assert.equal(sample(text, 'tessera_upstream_errors_total', { subgraph: 'inventory', instance: `grpc://127.0.0.1:${inventory.port}`, version: '', kind: 'grpc_NOT_FOUND' }), 1);
  assert.equal(total(text, 'tessera_upstream_operation_calls_total', { subgraph: 'flaky' }), 0, 'a GraphQL upstream has no operation of its own');
  assert.equal(sample(text, 'tessera_http_refusals_total', { reason: 'bad_request' }), 1);
  assert.equal(sample(text, 'tessera_schema_loads_total', { result: 'success' }), 1);
  const loadedAt = sample(text, 'tessera_schema_loaded_timestamp_seconds') ?? 0;
  assert.ok(loadedAt > 0 && loadedAt <= Date.now() / 1000, 'the schema was loaded before the scrape');
  // One overhead observation per request, under the request's channel and route.
  assert.equal(total(text, 'tessera_gateway_overhead_seconds_count'), total(text, 'tessera_request_duration_seconds_count'));
  assert.equal(sample(text, 'tessera_gateway_overhead_seconds_count', { channel: 'default', route: 'none' }), 2, 'the cache hit and the refused request');

  // deploy/'s dashboard and alert rules against this live exposition: every name exported, every label present; only
  // the gauge of an aggregated `--workers N` scrape is absent from one process's (metrics-workers.test.ts checks that one).
  assert.deepEqual(deployProblems(exposedFamilies(text)), ['alert TesseraMetricsWorkersMissing: tessera_metrics_workers_missing is not a metric the gateway exports']);
});

test('the retry budget: retries past it are skipped and counted per subgraph', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url);
  // The budget allows 3 retries per 10 s window for a subgraph this quiet: five failing calls, three retried.
  upstream.answerNext(...Array.from({ length: 8 }, () => busy));
  for (let i = 0; i < 5; i++) assert.equal((await gw.query('query Failing { slowField }')).body.errors?.[0]?.extensions?.code, 'SOURCE_BAD_RESPONSE');
  assert.equal(upstream.requests(), 8);
  const { text } = await scrape(gw.metricsUrl);
  assert.equal(sample(text, 'tessera_upstream_retries_total', { subgraph: 'flaky', instance: upstream.url, version: '' }), 3);
  assert.equal(sample(text, 'tessera_upstream_retry_budget_exhausted_total', { subgraph: 'flaky' }), 2);
});

test('gateway overhead: the request time minus its upstream wait, parallel calls counted once', async (t) => {
  const answerLater = (value: string) => () => new Promise<string>((resolve) => setTimeout(() => resolve(value), 100));
  const a = await startGraphqlUpstream(t, 'type Query { a: String }', { Query: { a: answerLater('a') } });
  const b = await startGraphqlUpstream(t, 'type Query { b: String }', { Query: { b: answerLater('b') } });
  const gw = await startGateway(t, [
    { name: 'a', kind: 'graphql', url: a.url },
    { name: 'b', kind: 'graphql', url: b.url },
  ], { mode: 'development' });
  const metricsUrl = new URL('/metrics', gw.url).href;
  const read = async () => {
    const { text } = await scrape(metricsUrl);
    return {
      request: total(text, 'tessera_request_duration_seconds_sum'),
      overhead: total(text, 'tessera_gateway_overhead_seconds_sum'),
      upstream: total(text, 'tessera_upstream_duration_seconds_sum'),
      upstreamCalls: total(text, 'tessera_upstream_duration_seconds_count'),
    };
  };

  // One upstream call: the overhead is the request's time minus that call's.
  assert.deepEqual((await gql(gw.url, '{ a }')).body, { data: { a: 'a' } });
  const one = await read();
  assert.equal(one.upstreamCalls, 1);
  assert.ok(one.overhead < one.request, 'the overhead is less than the total');
  assert.ok(Math.abs(one.overhead - (one.request - one.upstream)) < 1e-6, `overhead ${one.overhead} = request ${one.request} - upstream ${one.upstream}`);

  // Two calls at once: their durations add up to more than the request took, yet the overhead is the time outside both.
  assert.deepEqual((await gql(gw.url, '{ a b }')).body, { data: { a: 'a', b: 'b' } });
  const two = await read();
  const request = two.request - one.request;
  const overhead = two.overhead - one.overhead;
  const upstream = two.upstream - one.upstream;
  assert.equal(two.upstreamCalls - one.upstreamCalls, 2);
  assert.ok(upstream > request, `the calls overlapped: ${upstream} s of calls in a ${request} s request`);
  assert.ok(overhead > 0 && overhead < request, `overhead ${overhead} is within (0, ${request}): overlapping calls are not counted twice`);
});

test("node:http's own refusals are counted by reason and logged as one warning per 10 s, with how many there were", async (t) => {
  const upstream = await scriptedUpstream(t);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gw = await startGateway(t, [{ name: 'flaky', kind: 'graphql', url: upstream.url, source: 'schema.graphql', dir }], { mode: 'development' }, { logger: createLogger('warn', sink) });
  for (let i = 0; i < 3; i++) assert.match(await sendGarbage(gw.port), /^HTTP\/1\.1 400 /);
  assert.match(await sendRaw(gw.port, `GET /graphql HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  const { text } = await scrape(new URL('/metrics', gw.url).href);
  assert.equal(sample(text, 'tessera_http_refusals_total', { reason: 'bad_request' }), 3);
  assert.equal(sample(text, 'tessera_http_refusals_total', { reason: 'headers_too_large' }), 1);
  const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('node:http refused'));
  assert.equal(warnings.length, 1, 'four refusals within 10 s: one line');
  assert.equal(warnings[0]?.refused, 1);
  assert.equal(warnings[0]?.status, 400);
  assert.equal(warnings[0]?.level, 40);
});

test('in-flight upstream calls: counted while the upstream holds its answer, and no longer once it answers', async (t) => {
  const upstream = await scriptedUpstream(t);
  const gw = await metricsGateway(t, upstream.url);
  const held = deferred<ServerResponse>();
  upstream.answerNext((res) => held.resolve(res));
  const pending = gw.query('query Held { slowField }');
  const res = await held.promise;
  const instance = { subgraph: 'flaky', instance: upstream.url, version: '' };
  assert.equal(sample((await scrape(gw.metricsUrl)).text, 'tessera_upstream_in_flight', instance), 1, 'the call is under way');
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { slowField: 'late' } }));
  assert.deepEqual((await pending).body, { data: { slowField: 'late' } });
  assert.equal(sample((await scrape(gw.metricsUrl)).text, 'tessera_upstream_in_flight', instance), 0);
});
