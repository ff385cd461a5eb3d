/**
 * /metrics (telemetry.metrics): real traffic through a gateway, then a scrape
 * of the Prometheus text, asserting exact counts with their labels: a
 * success, an upstream error, a retry, a dead upstream, operation names
 * bucketed and capped; off in production unless enabled.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { startGateway } from '../kit/index.js';
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

/** The value of the sample `name` whose labels are exactly `labels` (undefined when there is none). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(match[3]);
  }
  return undefined;
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
