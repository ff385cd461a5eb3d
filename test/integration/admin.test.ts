/**
 * The admin listener (`admin:` in gateway.yaml) and the admin API: /metrics
 * and /admin/* move off the main port when it is configured; the admin
 * credential; the log level raised for a bounded time and back by itself;
 * upstream bodies sampled for one subgraph (HTTP and gRPC), redacted, up to
 * maxBodies; the listener closed with the gateway.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createGateway } from '../../src/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { parseGatewayConfig } from '../../src/config/load.js';
import { startDemoServices, demoEnv } from '../../subgraphs/demo.js';
import { gql, startGateway, startGraphqlUpstream } from '../kit/index.js';

type Line = Record<string, any>;

/** The gateway's own logger (createLogger: its redaction included) into `lines`; `next()` waits for a line to come. */
function capture(level: string): { lines: Line[]; raw: string[]; logger: Logger; next(match: (line: Line) => boolean): Promise<Line> } {
  const lines: Line[] = [];
  const raw: string[] = [];
  const waiters: Array<{ match: (line: Line) => boolean; resolve: (line: Line) => void }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Line;
        raw.push(text);
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      done();
    },
  });
  const next = (match: (line: Line) => boolean): Promise<Line> => new Promise((resolve) => waiters.push({ match, resolve }));
  return { lines, raw, logger: createLogger(level, sink), next };
}

const starts = (prefix: string) => (line: Line): boolean => typeof line.msg === 'string' && line.msg.startsWith(prefix);

async function oneSubgraph(t: TestContext, gateway: Record<string, unknown>, options: { logger?: Logger; env?: NodeJS.ProcessEnv } = {}) {
  const upstream = await startGraphqlUpstream(t, 'type Query { a: String }', { Query: { a: () => 'A' } });
  return startGateway(t, [{ name: 'items', kind: 'graphql', url: upstream.url }], gateway, options);
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

test('with admin: /metrics, the status page and the admin API are served on the admin port only, never on the main port', async (t) => {
  const gw = await oneSubgraph(t, { admin: { port: 0 } });
  assert.ok(gw.adminUrl, 'listen() reports the admin listener');
  assert.deepEqual((await gw.query('{ a }')).body, { data: { a: 'A' } });

  const metrics = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(metrics.status, 200, 'metrics on by default on the admin listener, in production too');
  assert.match(await metrics.text(), /tessera_requests_total\{operation="__anonymous",channel="default",route="direct",code="OK"\} 1/);
  const status = await fetch(`${gw.adminUrl}/admin/status`);
  assert.equal(status.status, 200);
  const body = (await status.json()) as Line;
  assert.equal(body.subgraphs[0].name, 'items');
  assert.deepEqual(body.subgraphs[0].instances.map((i: Line) => [typeof i.url, i.weight, i.breaker]), [['string', 1, 'closed']]);
  assert.deepEqual(body.channels, [{ name: 'default', path: '/graphql' }]);
  assert.equal(typeof body.schema.loadedAt, 'string');

  const page = await fetch(`${gw.adminUrl}/_tessera`);
  assert.equal(page.status, 200, 'the status page is on by default on the admin listener, in production too');
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  await page.body?.cancel();
  const pageData = await fetch(`${gw.adminUrl}/_tessera/api`);
  assert.equal(((await pageData.json()) as Line).subgraphs[0].name, 'items', 'the files and JSON below the page are served there too');

  for (const path of ['/metrics', '/admin/status', '/admin/log-level', '/_tessera', '/_tessera/api']) {
    const onMain = await fetch(new URL(path, gw.url));
    assert.equal(onMain.status, 404, `${path} is not on the main port`);
    await onMain.body?.cancel();
  }
  const graphqlOnAdmin = await fetch(`${gw.adminUrl}/graphql`);
  assert.equal(graphqlOnAdmin.status, 404, 'the admin listener serves no GraphQL');
  assert.match(((await graphqlOnAdmin.json()) as Line).errors[0].message, /served here: \/metrics, \/_tessera, \/_tessera\/, \/admin\/status/);
});

test('without admin: /metrics and the admin API on the main port in development, off in production', async (t) => {
  const dev = await oneSubgraph(t, { mode: 'development' });
  assert.equal(dev.adminUrl, undefined);
  for (const path of ['/metrics', '/admin/status']) {
    const res = await fetch(new URL(path, dev.url));
    assert.equal(res.status, 200, `${path} in development`);
    await res.body?.cancel();
  }
  const prod = await oneSubgraph(t, { mode: 'production' });
  for (const path of ['/metrics', '/admin/status']) {
    const res = await fetch(new URL(path, prod.url));
    assert.equal(res.status, 404, `${path} off in production`);
    await res.body?.cancel();
  }
});

test('admin.credential: every admin request needs the bearer token; a production listener beyond loopback needs one', async (t) => {
  const token = 'a-credential-of-at-least-32-characters-0123';
  const gw = await oneSubgraph(t, { admin: { port: 0, credential: '${ADMIN_TOKEN}' } }, { env: { ADMIN_TOKEN: token } });
  const refused: Array<Record<string, string>> = [{}, { authorization: 'Bearer not-the-token' }, { authorization: token }];
  for (const headers of refused) {
    const res = await fetch(`${gw.adminUrl}/metrics`, { headers });
    assert.equal(res.status, 401, `refused with ${JSON.stringify(headers)}`);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="tessera-admin"');
    assert.equal(((await res.json()) as Line).errors[0].extensions.code, 'UNAUTHENTICATED');
  }
  const unknownPath = await fetch(`${gw.adminUrl}/nothing`);
  assert.equal(unknownPath.status, 401, 'refused before the path is looked up');
  await unknownPath.body?.cancel();
  const ok = await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();

  assert.throws(() => parseGatewayConfig({ admin: { host: '0.0.0.0', port: 9464 } }, 'gateway.yaml'), /gateway\.yaml: admin\.credential: .*set admin\.credential/);
  assert.doesNotThrow(() => parseGatewayConfig({ mode: 'development', admin: { host: '0.0.0.0', port: 9464 } }, 'gateway.yaml'));
  assert.doesNotThrow(() => parseGatewayConfig({ admin: { host: '0.0.0.0', port: 9464, credential: token } }, 'gateway.yaml'));
  assert.throws(() => parseGatewayConfig({ admin: { port: 9464, credential: 'short' } }, 'gateway.yaml'), /admin\.credential: use at least 32 characters/);
  assert.throws(() => parseGatewayConfig({ admin: { host: '127.0.0.1' } }, 'gateway.yaml'), /admin\.port/);
});

test('POST /admin/log-level raises the level for a bounded time, then it drops back by itself with a log line', async (t) => {
  const log = capture('info');
  const gw = await oneSubgraph(t, { admin: { port: 0 } }, { logger: log.logger });
  assert.equal(log.lines.find(starts('gateway listening'))?.admin, gw.adminUrl, 'the listening line names the admin listener');
  const debugLines = (): Line[] => log.lines.filter((l) => l.level === 20);

  await gw.query('{ a }');
  assert.equal(debugLines().length, 0);
  const reverted = log.next(starts('log level back'));
  const raised = await post(`${gw.adminUrl}/admin/log-level`, { level: 'debug', durationSeconds: 1 }, { 'x-request-id': 'admin-req-1' });
  assert.equal(raised.status, 200);
  assert.equal(raised.headers.get('x-request-id'), 'admin-req-1');
  assert.equal(raised.body.level, 'debug');
  assert.equal(raised.body.configured, 'info');
  assert.equal(typeof raised.body.revertsAt, 'string');
  const change = log.lines.find(starts('log level raised'));
  assert.deepEqual([change?.requestId, change?.from, change?.to, change?.until], ['admin-req-1', 'info', 'debug', raised.body.revertsAt]);

  // A document not seen before: the router decides (and logs at debug) once per document.
  await gw.query('query WhileRaised { a }');
  assert.ok(debugLines().some(starts('operation routed')), 'a debug line while raised');

  const back = await reverted;
  assert.deepEqual([back.raisedBy, back.from, back.to], ['admin-req-1', 'debug', 'info']);
  const state = await fetch(`${gw.adminUrl}/admin/log-level`);
  assert.deepEqual(await state.json(), { level: 'info', configured: 'info' });
  const before = debugLines().length;
  await gw.query('query AfterRevert { a }');
  assert.equal(debugLines().length, before, 'no debug line once reverted');
});

test('admin API requests that are not JSON, have unknown fields or out-of-range values: 400 naming the field', async (t) => {
  const log = capture('info');
  const gw = await oneSubgraph(t, { admin: { port: 0 } }, { logger: log.logger });
  const cases: Array<[string, unknown, RegExp]> = [
    ['/admin/log-level', '{"level":', /not JSON/],
    ['/admin/log-level', { level: 'debug', durationSeconds: 60, colour: 'red' }, /colour: unknown field/],
    ['/admin/log-level', { level: 'debug', durationSeconds: 7200 }, /durationSeconds: .*3600/],
    ['/admin/log-level', { level: 'loud', durationSeconds: 60 }, /level: /],
    ['/admin/log-level', { level: 'warn', durationSeconds: 60 }, /level: "warn" is not more verbose than the configured level "info"/],
    ['/admin/sample', { subgraph: 'nope' }, /subgraph: no subgraph "nope"; known: items/],
    ['/admin/sample', { subgraph: 'items', maxBodies: 0 }, /maxBodies: /],
  ];
  for (const [path, body, message] of cases) {
    const res = await post(`${gw.adminUrl}${path}`, body, { 'x-request-id': 'bad-1' });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.errors[0].extensions.code, 'BAD_REQUEST');
    assert.match(res.body.errors[0].message, message);
  }
  const refusals = log.lines.filter(starts('admin request refused'));
  assert.equal(refusals.length, cases.length);
  assert.ok(refusals.every((l) => l.level === 40 && l.requestId === 'bad-1'), 'refusals at warn with the request id');
  assert.equal(log.lines.filter(starts('log level raised')).length, 0);
});

test('POST /admin/sample logs one subgraph\'s upstream bodies, headers redacted, until maxBodies, then stops with a line', async (t) => {
  const log = capture('info');
  const seen: string[] = [];
  const catalog = await startGraphqlUpstream(t, 'type Query { a: String }', {
    Query: { a: (_: unknown, __: unknown, ctx: { request: Request }) => (seen.push(ctx.request.headers.get('authorization') ?? ''), 'A-value') },
  });
  const other = await startGraphqlUpstream(t, 'type Query { d: String }', { Query: { d: () => 'D-value' } });
  const gw = await startGateway(
    t,
    [
      { name: 'catalog', kind: 'graphql', url: catalog.url, headers: { forward: ['authorization'] } },
      { name: 'other', kind: 'graphql', url: other.url, headers: { forward: ['authorization'] } },
    ],
    { admin: { port: 0 } },
    { logger: log.logger },
  );
  const secret = 'Bearer sampled-secret-token-42';
  await gw.query('{ a }', undefined, { authorization: secret });
  const opened = await post(`${gw.adminUrl}/admin/sample`, { subgraph: 'catalog', durationSeconds: 60, maxBodies: 2 }, { 'x-request-id': 'sample-1' });
  assert.equal(opened.status, 200);
  assert.deepEqual([opened.body.subgraph, opened.body.maxBodies, opened.body.logged, opened.body.openedBy], ['catalog', 2, 0, 'sample-1']);
  const stopped = log.next(starts('body sampling stopped'));

  assert.deepEqual((await gw.query('{ a }', undefined, { authorization: secret })).body, { data: { a: 'A-value' } });
  assert.deepEqual((await gw.query('{ d }', undefined, { authorization: secret })).body, { data: { d: 'D-value' } });
  assert.deepEqual((await gw.query('{ a }', undefined, { authorization: secret })).body, { data: { a: 'A-value' } });
  const stop = await stopped;
  assert.match(stop.msg, /maxBodies \(2\) reached/);
  await gw.query('{ a }', undefined, { authorization: secret });

  assert.deepEqual(seen, [secret, secret, secret, secret], 'the token did reach the upstream');
  const samples = log.lines.filter(starts('upstream body sample'));
  assert.deepEqual(samples.map((l) => l.subgraph), ['catalog', 'catalog'], 'only the chosen subgraph, only maxBodies of it');
  for (const sample of samples) {
    assert.equal(sample.level, 30);
    assert.equal(sample.method, 'POST');
    assert.equal(sample.request.headers.authorization, '[redacted]');
    assert.equal((JSON.parse(sample.request.body.text) as { query: string }).query.replace(/\s/g, ''), '{a}');
    assert.equal(sample.response.status, 200);
    assert.deepEqual(JSON.parse(sample.response.body.text), { data: { a: 'A-value' } });
  }
  assert.ok(!log.raw.some((line) => line.includes('sampled-secret-token-42')), 'the token is in no log line');
  assert.equal(log.lines.find(starts('body sampling started'))?.requestId, 'sample-1');
  assert.deepEqual(((await (await fetch(`${gw.adminUrl}/admin/sample`)).json()) as Line).sampling, [], 'no window open any more');
});

test('gRPC bodies are sampled too (the demo inventory, admin API on the main port in development)', async (t) => {
  const log = capture('info');
  const demo = await startDemoServices({ accounts: 0, reviews: 0, catalog: 0, inventory: 0 });
  t.after(() => demo.close());
  const gw = await createGateway({
    configFile: new URL('../../gateway.yaml', import.meta.url).pathname,
    env: { ...demoEnv(demo), TESSERA_MODE: 'development' },
    logger: log.logger,
  });
  const { url } = await gw.listen(0, '127.0.0.1');
  t.after(() => gw.close());
  const opened = await post(new URL('/admin/sample', url).href, { subgraph: 'inventory', maxBodies: 1 });
  assert.equal(opened.status, 200);
  const stopped = log.next(starts('body sampling stopped'));
  const res = await gql(url, '{ getStockLevel(productId: "p1") { productId available } }');
  assert.equal(res.body.data?.getStockLevel?.productId, 'p1');
  await stopped;
  const [sample, ...more] = log.lines.filter(starts('upstream body sample'));
  assert.equal(more.length, 0);
  assert.equal(sample?.subgraph, 'inventory');
  assert.match(sample?.method, /\/GetStockLevel$/);
  assert.deepEqual(JSON.parse(sample?.request.body.text), { productId: 'p1' });
  assert.equal(JSON.parse(sample?.response.body.text).productId, 'p1');
});

test('gateway.close() closes the admin listener: its port refuses afterwards', async () => {
  const upstream = await startGraphqlUpstream(undefined, 'type Query { a: String }', { Query: { a: () => 'A' } });
  const gw = await startGateway(undefined, [{ name: 'items', kind: 'graphql', url: upstream.url }], { admin: { port: 0 } });
  // A kept-alive connection open to the admin listener while it closes.
  const before = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(before.status, 200);
  await before.text();
  await gw.gateway.close();
  await upstream.close();
  await assert.rejects(fetch(`${gw.adminUrl}/metrics`), (error: Error) => /ECONNREFUSED/.test(String((error.cause as Error | undefined)?.message ?? error.message)));
});

test('a sampled body longer than 4 KiB is cut, with its full size in the line', async (t) => {
  const log = capture('info');
  const upstream = await startGraphqlUpstream(t, 'type Query { big: String }', { Query: { big: () => 'x'.repeat(10_000) } });
  const gw = await startGateway(t, [{ name: 'items', kind: 'graphql', url: upstream.url }], { admin: { port: 0 } }, { logger: log.logger });
  assert.equal((await post(`${gw.adminUrl}/admin/sample`, { subgraph: 'items', maxBodies: 1 })).status, 200);
  const stopped = log.next(starts('body sampling stopped'));
  assert.equal((await gw.query('{ big }')).body.data?.big.length, 10_000);
  await stopped;
  const sample = log.lines.find(starts('upstream body sample'));
  assert.equal(sample?.response.body.truncated, true);
  assert.equal(sample?.response.body.text.length, 4096);
  assert.equal(sample?.response.body.bytes, JSON.stringify({ data: { big: 'x'.repeat(10_000) } }).length);
  assert.equal(sample?.request.body.truncated, undefined);
});
