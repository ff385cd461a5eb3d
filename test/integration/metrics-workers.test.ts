/**
 * `tessera serve --workers 2`: one scrape of /metrics shows the whole process
 * group. The worker that receives the scrape asks the cluster primary, which
 * aggregates every worker's metrics (src/store/cluster-metrics.ts): counters
 * summed, no per-worker label.
 *
 * Which worker answers: every request goes on a connection of its own, and the
 * primary hands each new connection to the next worker in turn (round robin),
 * as in cli-workers.test.ts. That both workers served is checked from the
 * upstream's side: each worker has its own connection pool, so the upstream
 * sees its calls arrive over one socket per worker.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { requestOnce, serveTessera, tempProject } from '../kit/index.js';
import { deployProblems, exposedFamilies, sample } from '../kit/metrics.js';

const GATEWAY = `
mode: development
server: { host: 127.0.0.1, port: 0 }
descriptors: ./subgraphs
logging: { level: silent }
rateLimit:
  rules:
    - { name: limited-once, by: channel, operations: [Limited], limit: 1, window: 1m }
`;

const DESCRIPTOR = `
name: shop
kind: graphql
url: \${SHOP_URL}
source: ./shop.graphql
retry: { attempts: 2, backoff: 1 }
cache: { Product: 60s }
`;

const SDL = `
  type Product { id: ID! name: String! }
  type Query { hello: String retried: String broken: String product(id: ID!): Product }
`;

/**
 * A GraphQL upstream over node:http that answers by the field asked for:
 * `retried` 503 on every other call (so each such query is retried once),
 * `broken` 503 always; records the gateway socket (its port) of every call.
 */
async function shopUpstream(t: TestContext) {
  const sockets = new Set<number>();
  let retriedCalls = 0;
  const answer = (res: ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      sockets.add(req.socket.remotePort!);
      const { query } = JSON.parse(text) as { query: string };
      if (query.includes('retried')) return (retriedCalls++ % 2 === 0 ? answer(res, 503, { message: 'busy' }) : answer(res, 200, { data: { retried: 'ok' } }));
      if (query.includes('broken')) return answer(res, 503, { message: 'busy' });
      if (query.includes('product')) return answer(res, 200, { data: { product: { id: '1', name: 'lamp' } } });
      return answer(res, 200, { data: { hello: 'hello' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, sockets };
}

const once = requestOnce;

test('tessera serve --workers 2: traffic served by both workers, then one scrape shows the totals of the whole process group', async (t) => {
  const upstream = await shopUpstream(t);
  const dir = tempProject(t, { 'gateway.yaml': GATEWAY, 'subgraphs/subgraph.yaml': DESCRIPTOR, 'subgraphs/shop.graphql': SDL });
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { SHOP_URL: upstream.url });
  const url = await serve.url;
  const metricsUrl = new URL('/metrics', url).href;

  const hello = 8;
  for (let i = 0; i < hello; i++) assert.equal((await once(url, { query: 'query Hello { hello }' })).status, 200);
  assert.ok(upstream.sockets.size >= 2, `the upstream calls came over ${upstream.sockets.size} socket(s): both workers should have served`);
  assert.equal((await once(url, { query: 'query Retried { retried }' })).status, 200);
  const broken = JSON.parse((await once(url, { query: 'query Broken { broken }' })).text) as { errors?: Array<{ extensions?: { code?: string } }> };
  assert.equal(broken.errors?.[0]?.extensions?.code, 'SOURCE_BAD_RESPONSE');
  const cached = [await once(url, { query: 'query P { product(id: "1") { id name } }' }), await once(url, { query: 'query P { product(id: "1") { id name } }' })];
  assert.equal(cached[1]!.status, 200);
  assert.equal((await once(url, { query: 'query Limited { hello }' })).status, 200);
  assert.equal((await once(url, { query: 'query Limited { hello }' })).status, 429);

  // Two scrapes, on two connections: whichever worker answers, the same totals.
  const scrapes = [await once(metricsUrl), await once(metricsUrl)];
  for (const { status, headers, text } of scrapes) {
    assert.equal(status, 200);
    assert.match(String(headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const request = (operation: string, code = 'OK', route = 'direct') => ({ operation, channel: 'default', route, code });
    assert.equal(sample(text, 'tessera_requests_total', request('Hello')), hello, 'every Hello, from both workers, in one count');
    assert.equal(sample(text, 'tessera_requests_total', request('Broken', 'SOURCE_BAD_RESPONSE')), 1);
    assert.equal(sample(text, 'tessera_requests_total', request('Limited', 'RATE_LIMITED', 'none')), 1);
    assert.equal(sample(text, 'tessera_rate_limit_refusals_total', { channel: 'default', rule: 'limited-once' }), 1);
    assert.equal(sample(text, 'tessera_response_cache_total', { channel: 'default', result: 'hit' }), 1);
    const shop = { subgraph: 'shop', instance: upstream.url, version: '' };
    assert.equal(sample(text, 'tessera_upstream_calls_total', { ...shop, code: 'OK' }), hello + 3, 'Hello, Retried (its retry), P, Limited');
    assert.equal(sample(text, 'tessera_upstream_calls_total', { ...shop, code: 'HTTP_5xx' }), 3);
    assert.equal(sample(text, 'tessera_upstream_retries_total', shop), 2);
    assert.equal(sample(text, 'tessera_upstream_errors_total', { ...shop, kind: 'http_5xx' }), 3);
    assert.equal(sample(text, 'tessera_upstream_in_flight', shop), 0);
    assert.equal(sample(text, 'tessera_schema_loads_total', { result: 'success' }), 2, 'each worker loaded the schema once');
    assert.equal(sample(text, 'tessera_metrics_workers'), 2);
    assert.equal(sample(text, 'tessera_metrics_workers_missing'), 0);
    assert.doesNotMatch(text, /\b(worker|pid)="/, 'no per-worker label');
    // deploy/'s dashboard and alert rules against the aggregated exposition, the one Prometheus scrapes.
    assert.deepEqual(deployProblems(exposedFamilies(text)), []);
  }
});
