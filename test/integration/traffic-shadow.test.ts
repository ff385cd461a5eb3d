/**
 * Shadow traffic (descriptor `shadow:`) with real GraphQL servers on
 * loopback: read-only calls copied to a shadow target after the primary
 * answered, compared and counted (scraped from /metrics, read from the
 * status page's JSON), a mismatch logged; the client only ever sees the
 * primary's answer, whatever the shadow does (answers differently, hangs,
 * refuses connections); a mutation is never copied.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createScope } from '../../src/request-scope.js';
import type { TesseraError } from '../../src/errors.js';
import type { ShadowEvent } from '../../src/events.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { shadowChannel } from '../../src/transport/stages/shadow.js';
import { captureLogs, freePort, grpcUpstream, type RunningGateway, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';
import { sample } from '../kit/metrics.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import type { StatusSnapshot } from '../../src/telemetry/status.js';

const SDL = /* GraphQL */ `
  type Query { product(id: ID!): Product }
  type Mutation { rename(id: ID!, name: String!): Product }
  type Product { id: ID! name: String! price: Int! updatedAt: String! }
`;

/** A product catalog as one version of the service answers it: `price` of product 2 and `updatedAt` are what versions may change. */
async function catalog(t: TestContext, version: { price2: number; updatedAt: string }) {
  const mutations: string[] = [];
  const service = await startGraphqlUpstream(t, SDL, {
    Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: `product ${id}`, price: id === '2' ? version.price2 : 100, updatedAt: version.updatedAt }) },
    Mutation: {
      rename: (_: unknown, { id, name }: { id: string; name: string }) => {
        mutations.push(id);
        return { id, name, price: 100, updatedAt: version.updatedAt };
      },
    },
  });
  return { url: service.url, requests: () => service.stats.requests, mutations };
}

/** Waits (bounded polling, no fixed sleep) until `check` holds; fails with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function scrape(gw: RunningGateway): Promise<string> {
  return (await fetch(new URL('/metrics', gw.url))).text();
}

/** tessera_shadow_calls_total of subgraph `shop` for one version and outcome (0 when the series does not exist yet). */
async function shadowCount(gw: RunningGateway, version: string, outcome: string): Promise<number> {
  return sample(await scrape(gw), 'tessera_shadow_calls_total', { subgraph: 'shop', version, outcome }) ?? 0;
}

/** A gateway in front of `primary` with `shadow`; the schema from a file, so no start-up introspection is sent (or copied). */
async function shopGateway(t: TestContext, descriptor: Partial<DescriptorInput>, logger = captureLogs().logger) {
  const dir = tempProject(t, { 'schema.graphql': SDL });
  return startGateway(
    t,
    [{ name: 'shop', kind: 'graphql', source: 'schema.graphql', dir, ...descriptor } as DescriptorInput & { dir: string }],
    { mode: 'development', telemetry: { metrics: { enabled: true } } },
    { logger },
  );
}

const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id name price updatedAt } }';

test('shadow answers are compared and counted while the client sees only the primary\'s; ignored paths honoured; a mismatch logged and counted (docs/reliability.md row 53)', async (t) => {
  const primary = await catalog(t, { price2: 200, updatedAt: '2026-12-06T06:00:00Z' });
  const shadow = await catalog(t, { price2: 250, updatedAt: '2026-12-06T07:30:00Z' });
  const { lines, logger } = captureLogs();
  const gw = await shopGateway(
    t,
    { upstreams: [{ url: primary.url, version: 'v1' }], shadow: { url: shadow.url, version: 'v2', percent: 100, ignore: ['data.product.updatedAt'] } },
    logger,
  );

  // Product 1: the versions differ only in updatedAt, which is ignored.
  for (let i = 0; i < 5; i++) {
    const res = await gw.query(PRODUCT, { id: '1' });
    assert.deepEqual(res.body, { data: { product: { id: '1', name: 'product 1', price: 100, updatedAt: '2026-12-06T06:00:00Z' } } }, 'the primary\'s answer, never the shadow\'s');
  }
  await until('5 matches counted', async () => (await shadowCount(gw, 'v2', 'match')) === 5);
  assert.equal(shadow.requests(), 5, 'each query copied once');
  assert.equal(await shadowCount(gw, 'v2', 'mismatch'), 0, 'updatedAt differs on every answer, and is ignored');

  // Product 2: the shadow's price differs.
  const res = await gw.query(PRODUCT, { id: '2' });
  assert.equal(res.body.data?.product?.price, 200, 'the client gets the primary\'s price');
  await until('a mismatch counted', async () => (await shadowCount(gw, 'v2', 'mismatch')) === 1);
  const text = await scrape(gw);
  assert.equal(sample(text, 'tessera_shadow_duration_seconds_count', { subgraph: 'shop', version: 'v2' }), 6);
  // The shadow's calls are not the primary's: the upstream metrics count only the six primary attempts.
  assert.equal(sample(text, 'tessera_upstream_calls_total', { subgraph: 'shop', instance: primary.url, version: 'v1', code: 'OK' }), 6);
  assert.equal(text.includes(shadow.url), false, 'no upstream series for the shadow instance');

  const warn = lines.find((l) => l.msg?.toString().startsWith('shadow answer differs'));
  assert.ok(warn, 'a warn line for the mismatch');
  assert.equal(warn.level, 40);
  assert.deepEqual(
    { subgraph: warn.subgraph, version: warn.version, primaryVersion: warn.primaryVersion, operation: warn.operation, path: warn.path, primary: warn.primary, shadow: warn.shadow, suppressed: warn.suppressed },
    { subgraph: 'shop', version: 'v2', primaryVersion: 'v1', operation: 'POST', path: 'data.product.price', primary: '200', shadow: '250', suppressed: 0 },
  );

  // The status page counts them too.
  const snapshot = (await (await fetch(new URL('/_tessera/api', gw.url))).json()) as StatusSnapshot;
  assert.deepEqual(snapshot.subgraphs.find((s) => s.name === 'shop')?.shadow, { version: 'v2', match: 5, mismatch: 1, dropped: 0, failed: 0, timeout: 0 });
});

test('a shadow that hangs: the client is unaffected, copies beyond shadow.concurrency are dropped and counted, the sent ones time out and are counted (docs/reliability.md row 54)', async (t) => {
  const primary = await catalog(t, { price2: 200, updatedAt: 'now' });
  // Receives each copy and never answers it.
  const held: IncomingMessage[] = [];
  const hanging = createServer((req: IncomingMessage, _res: ServerResponse) => void held.push(req));
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    hanging.closeAllConnections();
    return new Promise((resolve) => hanging.close(resolve));
  });
  const hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/graphql`;
  // A timeout long enough for all six queries to be answered before the first two copies end (it is not a figure the test checks).
  const gw = await shopGateway(t, { url: primary.url, shadow: { url: hangingUrl, percent: 100, concurrency: 2, timeout: '5s' } });

  // Six different queries at once (identical ones in flight would be shared by the gateway's dedupe).
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => gw.query(PRODUCT, { id: `1${i}` })));
  answers.forEach((res, i) => assert.deepEqual(res.body, { data: { product: { id: `1${i}`, name: `product 1${i}`, price: 100, updatedAt: 'now' } } }));
  await until('two copies at the hanging shadow', () => held.length === 2);
  assert.equal(await shadowCount(gw, 'shadow', 'dropped'), 4, 'the copies beyond the bound of 2 are dropped, not queued');
  await until('both copies timed out', async () => (await shadowCount(gw, 'shadow', 'timeout')) === 2);
  assert.equal(held.length, 2, 'never more than 2 sent');

  // Their slots are free again: the next query is copied.
  assert.equal((await gw.query(PRODUCT, { id: '1' })).body.data?.product?.price, 100);
  await until('a third copy sent', () => held.length === 3);
});

test('a mutation is never copied (shadow.version: a weight-0 version among the upstreams); queries are (docs/reliability.md row 53)', async (t) => {
  const primary = await catalog(t, { price2: 200, updatedAt: 'now' });
  const candidate = await catalog(t, { price2: 200, updatedAt: 'now' });
  const gw = await shopGateway(t, {
    upstreams: [
      { url: primary.url, version: 'v1', weight: 1 },
      { url: candidate.url, version: 'v2', weight: 0 },
    ],
    shadow: { version: 'v2', percent: 100 },
  });
  for (let i = 0; i < 3; i++) {
    const res = await gw.query('mutation { rename(id: "1", name: "renamed") { id name } }');
    assert.deepEqual(res.body, { data: { rename: { id: '1', name: 'renamed' } } });
  }
  assert.deepEqual(primary.mutations, ['1', '1', '1']);
  assert.equal((await gw.query(PRODUCT, { id: '2' })).body.data?.product?.price, 200);
  await until('the query copied and matched', async () => (await shadowCount(gw, 'v2', 'match')) === 1);
  assert.deepEqual(candidate.mutations, [], 'no mutation reached the shadow version');
  assert.equal(candidate.requests(), 1, 'the weight-0 version got the query copy and nothing else');
});

test('a shadow that refuses connections: clients never see it, each copy counted as failed (docs/reliability.md row 55)', async (t) => {
  const primary = await catalog(t, { price2: 200, updatedAt: 'now' });
  const refused = `http://127.0.0.1:${await freePort()}/graphql`;
  const gw = await shopGateway(t, { url: primary.url, shadow: { url: refused, version: 'v2', percent: 100 } });
  for (let i = 0; i < 4; i++) {
    const res = await gw.query(PRODUCT, { id: '2' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { data: { product: { id: '2', name: 'product 2', price: 200, updatedAt: 'now' } } });
  }
  await until('4 failed copies counted', async () => (await shadowCount(gw, 'v2', 'failed')) === 4);
  const text = await scrape(gw);
  // The primary's golden signals are untouched by the shadow's failures.
  assert.equal(sample(text, 'tessera_upstream_calls_total', { subgraph: 'shop', instance: primary.url, version: '', code: 'OK' }), 4);
  assert.equal(sample(text, 'tessera_upstream_errors_total', { subgraph: 'shop', instance: primary.url, version: '', kind: 'connection' }), undefined);
});

/** The shadow events of one subgraph as they come (transport-level tests, without a gateway), and a wait for a count of them. */
function shadowEvents(t: TestContext, subgraph: string) {
  const seen: ShadowEvent[] = [];
  const onEvent = (message: unknown): void => {
    if ((message as ShadowEvent).subgraph === subgraph) seen.push(message as ShadowEvent);
  };
  shadowChannel.subscribe(onEvent);
  t.after(() => shadowChannel.unsubscribe(onEvent));
  return { seen, count: (n: number) => until(`${n} shadow events`, () => seen.length >= n) };
}

const HEALTH_PROTO = fileURLToPath(new URL('../fixtures/grpc/health.proto', import.meta.url));

test('gRPC: a read-only method is copied and compared, its status codes too (NOT_FOUND on both sides is a match); a method that is not read-only never is', async (t) => {
  const definition = protoLoader.loadSync(HEALTH_PROTO, { enums: String });
  const check = (definition['grpc.health.v1.Health'] as Record<string, protoLoader.MethodDefinition<object, object>>).Check!;
  /** A health server answering `statuses[service]`, NOT_FOUND for a service it does not know; counts its calls. */
  const server = async (statuses: Record<string, string>) => {
    const grpcServer = new grpc.Server();
    let calls = 0;
    grpcServer.addService((grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        calls++;
        const status = statuses[call.request.service];
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: `no service ${call.request.service}` });
      },
    });
    const port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    t.after(() => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve())));
    return { url: `grpc://127.0.0.1:${port}`, calls: () => calls };
  };
  const primary = await server({ a: 'SERVING', b: 'SERVING' });
  const shadow = await server({ a: 'SERVING', b: 'NOT_SERVING' });
  const events = shadowEvents(t, 'grpc-shadow');
  const upstream = grpcUpstream(t, {
    subgraph: 'grpc-shadow',
    instances: [{ url: primary.url, version: 'v1', weight: 1 }],
    shadow: { url: shadow.url, version: 'v2', percent: 100, timeoutMs: 2000, concurrency: 4, ignore: [], logPerMinute: 10 },
  });
  const method = (readOnly: boolean) => ({
    path: check.path,
    serialize: (value: { service: string }) => check.requestSerialize(value),
    deserialize: (bytes: Buffer) => check.responseDeserialize(bytes) as { status: string },
    readOnly,
  });
  const call = (service: string, readOnly = true) => upstream.unary(method(readOnly), { request: { service }, scope: createScope({ deadlineMs: 5000 }) });

  assert.deepEqual(await call('a'), { status: 'SERVING' });
  assert.deepEqual(await call('b'), { status: 'SERVING' }, 'the primary\'s answer');
  await assert.rejects(call('missing'), (error: TesseraError) => (error.extensions.grpc as { code: string }).code === 'NOT_FOUND');
  await events.count(3);
  assert.deepEqual(
    events.seen.map((e) => [e.operation, e.outcome, e.diff?.path, e.diff?.primary, e.diff?.shadow]),
    [
      ['/grpc.health.v1.Health/Check', 'match', undefined, undefined, undefined],
      ['/grpc.health.v1.Health/Check', 'mismatch', 'status', '"SERVING"', '"NOT_SERVING"'],
      ['/grpc.health.v1.Health/Check', 'match', undefined, undefined, undefined],
    ],
  );
  assert.equal(events.seen[1]!.primaryVersion, 'v1');
  assert.equal(shadow.calls(), 3);

  assert.deepEqual(await call('a', false), { status: 'SERVING' });
  assert.equal(primary.calls(), 4);
  assert.equal(shadow.calls(), 3, 'a method that is not read-only is never copied');
});

test('REST: a GET is copied and its JSON compared, a POST never is; the shadow gets the headers the primary got; mismatches past logPerMinute are counted without a diff', async (t) => {
  const rest = async (price: number) => {
    const received: Array<{ method: string; url: string; key: string | undefined }> = [];
    const server = createServer((req, res) => {
      received.push({ method: req.method!, url: req.url!, key: req.headers['x-api-key'] as string | undefined });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 7, price, servedAt: String(Math.random()) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
  };
  const primary = await rest(10);
  const shadow = await rest(12);
  const events = shadowEvents(t, 'rest-shadow');
  const upstream = new HttpUpstream({
    subgraph: 'rest-shadow',
    instances: [{ url: primary.url, weight: 1 }],
    timeout: 2000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 4,
    retry: { attempts: 1, backoff: 10 },
    shadow: { url: shadow.url, percent: 100, timeoutMs: 2000, concurrency: 4, ignore: ['servedAt'], logPerMinute: 1 },
  });
  t.after(() => upstream.close());
  const send = (method: string) =>
    upstream.request({ method, path: '/products/7', headers: { 'x-api-key': 'k' }, idempotent: method === 'GET', endpoint: `${method} /products/{id}`, scope: createScope({ deadlineMs: 5000 }) });

  const answer = await send('GET');
  assert.equal((JSON.parse(answer.body.toString()) as { price: number }).price, 10);
  await events.count(1);
  assert.deepEqual([events.seen[0]!.operation, events.seen[0]!.outcome, events.seen[0]!.version, events.seen[0]!.diff?.path], ['GET /products/{id}', 'mismatch', 'shadow', 'price']);
  assert.deepEqual(shadow.received, [{ method: 'GET', url: '/products/7', key: 'k' }]);
  await send('POST');
  assert.equal(primary.received.length, 2);
  assert.equal(shadow.received.length, 1, 'a POST is never copied');

  // logPerMinute: 1: the next mismatches within the minute carry no diff (no log line), and the count of them waits for the next sampled one.
  await send('GET');
  await send('GET');
  await events.count(3);
  assert.deepEqual(events.seen.map((e) => [e.outcome, e.diff === undefined]), [['mismatch', false], ['mismatch', true], ['mismatch', true]]);
});
