/**
 * The Redis registry (README "Publishing and hot reload"), with the real
 * Redis and a key prefix per test: `tessera publish` checks the candidate
 * against the registry's current set and refuses a breaking change unless
 * --allow-breaking gives a reason; every gateway sharing the prefix hears a
 * publish through pub/sub, or at its next poll when the message is missed;
 * `tessera rollback`, `list` and `status`; a broken published descriptor
 * never replaces the working schema.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createGateway, SCHEMA_CHANNEL, type Gateway, type SchemaEvent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { bundleDescriptor, redisRegistry } from '../../src/registry/redis.js';
import { adminPublisher } from '../../src/cli/registry.js';
import { runTessera, tempProject } from '../kit/index.js';
import { eventually, needRedis, REDIS_URL, uniquePrefix } from '../kit/redis.js';

/** A project whose one subgraph's schema is a file (no upstream needed to load it), sharing the registry at `prefix`. */
function project(t: TestContext, prefix: string, poll: string, extra = ''): { config: string; descriptor: string; sdl: string } {
  const dir = tempProject(t, {
    'gateway.yaml': `server: { port: 0, readiness: loaded }\nlogging: { level: silent }\nregistry:\n  url: ${REDIS_URL}\n  prefix: "${prefix}"\n  poll: ${poll}\n${extra}`,
    'subgraphs/products/subgraph.yaml': 'name: products\nkind: graphql\nsource: ./products.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/products/products.graphql': 'type Query { name: String, price: Int }\n',
  });
  return { config: join(dir, 'gateway.yaml'), descriptor: join(dir, 'subgraphs/products/subgraph.yaml'), sdl: join(dir, 'subgraphs/products/products.graphql') };
}

/** Starts a gateway on the project (listening: it watches the registry and writes its heartbeat); closed after the test. */
async function replica(t: TestContext, config: string): Promise<Gateway & { adminUrl?: string }> {
  const gateway = await createGateway({ configFile: config, logger: createLogger('silent') });
  t.after(() => gateway.close());
  const { admin } = await gateway.listen(0, '127.0.0.1');
  return Object.assign(gateway, { adminUrl: admin?.url });
}

/** The next `count` reload events with result `result`, each from a different gateway. */
function reloads(t: TestContext, count: number, result: SchemaEvent['result']): Promise<SchemaEvent[]> {
  const seen = new Map<string, SchemaEvent>();
  return new Promise((resolve) => {
    const listener = (message: unknown): void => {
      const event = message as SchemaEvent;
      if (event.trigger !== 'watch' || event.result !== result || seen.has(event.gateway)) return;
      seen.set(event.gateway, event);
      if (seen.size === count) {
        unsubscribe(SCHEMA_CHANNEL, listener);
        resolve([...seen.values()]);
      }
    };
    subscribe(SCHEMA_CHANNEL, listener);
    t.after(() => unsubscribe(SCHEMA_CHANNEL, listener));
  });
}

const fields = (gateway: Gateway): string[] => Object.keys(gateway.schema.getQueryType()!.getFields()).sort();

test('tessera publish reaches every gateway sharing the registry through pub/sub; a breaking change is refused, then allowed with its reason recorded; rollback; list; status', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  // A poll of an hour: only the pub/sub message can bring the publish in this test.
  const { config, descriptor, sdl } = project(t, prefix, '1h');
  const first = await runTessera(['publish', '-c', config, descriptor, '--reason', 'first deploy', '--by', 'alice']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /published revision 1: products v1/);

  const a = await replica(t, config);
  const b = await replica(t, config);
  assert.deepEqual(fields(b), ['name', 'price']);

  // Safe change: a field added; both gateways reload, each announcing it on tessera:schema.
  writeFileSync(sdl, 'type Query { name: String, price: Int, stock: Int }\n');
  const heard = reloads(t, 2, 'loaded');
  const added = await runTessera(['publish', '-c', config, descriptor, '--reason', 'stock level', '--by', 'alice']);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /safe changes \(1\):[\s\S]*published revision 2: products v2/);
  await heard;
  assert.deepEqual(fields(a), ['name', 'price', 'stock']);
  assert.deepEqual(fields(b), ['name', 'price', 'stock']);

  // Breaking change: refused, nothing published, the gateways keep v2.
  writeFileSync(sdl, 'type Query { name: String, stock: Int }\n');
  const refused = await runTessera(['publish', '-c', config, descriptor, '--by', 'bob']);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stdout, /breaking: Query\.price: Field 'price' was removed/);
  assert.match(refused.stdout, /not published: the candidate breaks what runs/);
  const json = await runTessera(['list', '-c', config, 'products', '--json']);
  const listed = JSON.parse(json.stdout) as { revision: number; subgraphs: Array<{ current: string; versions: Array<{ id: string }> }> };
  assert.equal(listed.revision, 2);
  assert.deepEqual(listed.subgraphs[0]!.versions.map((v) => v.id), ['v2', 'v1']);

  const heardBreaking = reloads(t, 2, 'loaded');
  const allowed = await runTessera(['publish', '-c', config, descriptor, '--by', 'bob', '--allow-breaking', 'price moved to the pricing subgraph', '--json']);
  assert.equal(allowed.code, 0, allowed.stderr);
  const outcome = JSON.parse(allowed.stdout) as { ok: boolean; revision: number; published: Array<{ id: string; allowBreaking: string; check: { breaking: number } }> };
  assert.equal(outcome.revision, 3);
  assert.deepEqual(outcome.published.map((v) => [v.id, v.allowBreaking, v.check.breaking]), [['v3', 'price moved to the pricing subgraph', 1]]);
  await heardBreaking;
  assert.deepEqual(fields(b), ['name', 'stock']);

  const list = await runTessera(['list', '-c', config]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /products \(current v3\)\n {2}\* v3 .* by bob: breaking allowed: price moved to the pricing subgraph\n {4}v2 .* by alice: reason: stock level\n/);

  // Rollback: the version before the current one serves again, recorded as v4.
  const heardRollback = reloads(t, 2, 'loaded');
  const rolled = await runTessera(['rollback', '-c', config, 'products', '--by', 'carol']);
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /products rolled back to v2 \(recorded as v4\), revision 4/);
  await heardRollback;
  assert.deepEqual(fields(a), ['name', 'price', 'stock']);
  assert.deepEqual(fields(b), ['name', 'price', 'stock']);
  const after = await runTessera(['list', '-c', config, 'products']);
  assert.match(after.stdout, /\* v4 .* by carol: reason: rollback to v2 by carol/);
  const none = await runTessera(['rollback', '-c', config, 'products', '--to', 'v9']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /subgraph "products" has no version v9 in its history \(v4, v3, v2, v1\)/);

  // Status: both replicas reported; each rewrites its heartbeat after a reload, so both serve revision 4, products v4.
  const status = async (): Promise<{ revision: number; replicas: Array<{ revision: number; version: string; upToDate: boolean; subgraphs: Record<string, string> }> }> =>
    JSON.parse((await runTessera(['status', '-c', config, '--json'])).stdout) as { revision: number; replicas: Array<{ revision: number; version: string; upToDate: boolean; subgraphs: Record<string, string> }> };
  let shown = await status();
  // Each heartbeat is written just after its gateway's reload event: read again until both are.
  await eventually(async () => (shown = await status()).replicas.every((r) => r.revision === 4), 20, 100);
  assert.equal(shown.revision, 4);
  assert.deepEqual(
    shown.replicas.map((r) => [r.version, r.revision, r.upToDate, r.subgraphs.products]),
    [a.version, b.version].map((version) => [version, 4, true, 'v4']),
    JSON.stringify(shown),
  );
  const text = await runTessera(['status', '-c', config]);
  assert.match(text.stdout, /revision 4: products v4\ntessera: replicas that reported \(2\):\n {2}- \S+ on \S+ pid \d+: schema [0-9a-f]{12}, revision 4, up to date; products v4\n/);
});

test('a publish whose pub/sub message is missed is caught up by the poll (docs/reliability.md row 49)', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { config, descriptor, sdl } = project(t, prefix, '100ms');
  const registry = redisRegistry({ url: REDIS_URL, prefix, history: 20, pollMs: 100, env: process.env, logger: createLogger('silent') });
  t.after(() => registry.close());
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' });
  const gateway = await replica(t, config);
  // Its first comparison (once subscribed) has run when its heartbeat is there: only a later poll can find the publish below.
  assert.ok(await eventually(async () => (await registry.replicas()).length === 1));
  writeFileSync(sdl, 'type Query { name: String, price: Int, stock: Int }\n');
  const heard = reloads(t, 1, 'loaded');
  // Not announced on the channel: only the poll can find it.
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' }, { announce: false });
  await heard;
  assert.deepEqual(fields(gateway), ['name', 'price', 'stock']);
  assert.ok(await eventually(async () => (await registry.replicas()).some((r) => r.revision === 2 && r.subgraphs.products === 'v2')), 'the heartbeat reports revision 2, products v2');
});

test('a broken published descriptor never replaces the working schema; the next good publish serves (docs/reliability.md row 44)', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { config, descriptor, sdl } = project(t, prefix, '1h');
  const registry = redisRegistry({ url: REDIS_URL, prefix, history: 20, pollMs: 3_600_000, env: process.env, logger: createLogger('silent') });
  t.after(() => registry.close());
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' });
  const gateway = await replica(t, config);
  const working = gateway.version;

  // Published without the CLI's check: an SDL that does not parse.
  writeFileSync(sdl, 'type Query { name: String, price: Int\n');
  const failed = reloads(t, 1, 'failed');
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' });
  const [event] = await failed;
  assert.equal(event!.version, working);
  assert.match(event!.problems!.join('\n'), /products\.graphql/);
  assert.equal(gateway.version, working);
  assert.deepEqual(fields(gateway), ['name', 'price']);

  writeFileSync(sdl, 'type Query { name: String, price: Int, stock: Int }\n');
  const loaded = reloads(t, 1, 'loaded');
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' });
  await loaded;
  assert.deepEqual(fields(gateway), ['name', 'price', 'stock']);
  assert.equal(readFileSync(sdl, 'utf8').includes('stock'), true);
});

test('the admin API mirrors the registry: GET /admin/registry lists, POST /admin/registry/rollback rolls back, behind the admin credential; 404 naming registry.url without it', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { config, descriptor, sdl } = project(t, prefix, '1h', 'admin: { port: 0, credential: registry-test-credential-0123456789abcdef }\n');
  const registry = redisRegistry({ url: REDIS_URL, prefix, history: 20, pollMs: 3_600_000, env: process.env, logger: createLogger('silent') });
  t.after(() => registry.close());
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'alice', reason: 'first' });
  writeFileSync(sdl, 'type Query { name: String, price: Int, stock: Int }\n');
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'alice', reason: 'stock' });
  const gateway = await replica(t, config);
  const auth = { authorization: 'Bearer registry-test-credential-0123456789abcdef' };

  assert.equal((await fetch(`${gateway.adminUrl}/admin/registry`)).status, 401);
  const listed = (await (await fetch(`${gateway.adminUrl}/admin/registry`, { headers: auth })).json()) as {
    revision: number;
    subgraphs: Array<{ subgraph: string; current: string; versions: Array<{ id: string; by: string; reason: string; files: string[] }> }>;
  };
  assert.equal(listed.revision, 2);
  assert.deepEqual(listed.subgraphs.map((s) => [s.subgraph, s.current, s.versions.map((v) => `${v.id} ${v.by} ${v.reason} ${v.files.join()}`)]), [
    ['products', 'v2', ['v2 alice stock products.graphql', 'v1 alice first products.graphql']],
  ]);

  const heard = reloads(t, 1, 'loaded');
  const rollback = (body: unknown): Promise<Response> => fetch(`${gateway.adminUrl}/admin/registry/rollback`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const rolled = await rollback({ subgraph: 'products', by: 'ops' });
  assert.equal(rolled.status, 200);
  const { rolledBack } = (await rolled.json()) as { rolledBack: { id: string; rollbackOf: string; reason: string } };
  assert.deepEqual([rolledBack.id, rolledBack.rollbackOf, rolledBack.reason], ['v3', 'v1', 'rollback to v1 by ops']);
  await heard;
  assert.deepEqual(fields(gateway), ['name', 'price']);
  const unknown = await rollback({ subgraph: 'products', to: 'v9' });
  assert.equal(unknown.status, 400);
  assert.match(await unknown.text(), /no version v9 in its history/);

  // A gateway on the descriptors folder has no registry to show.
  const folder = tempProject(t, {
    'gateway.yaml': 'server: { port: 0, readiness: loaded }\nlogging: { level: silent }\nadmin: { port: 0 }\n',
    'subgraphs/products/subgraph.yaml': 'name: products\nkind: graphql\nsource: ./products.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/products/products.graphql': 'type Query { name: String }\n',
  });
  const plain = await replica(t, join(folder, 'gateway.yaml'));
  const missing = await fetch(`${plain.adminUrl}/admin/registry`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /registry\.url in gateway\.yaml/);
});

test('POST /admin/registry/publish runs the check `tessera publish` runs: a safe change is published, a breaking one refused (409) unless allowBreaking gives a reason; behind the admin credential (docs/reliability.md row 67)', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { config, descriptor } = project(t, prefix, '1h', 'admin: { port: 0, credential: registry-test-credential-0123456789abcdef }\n');
  const registry = redisRegistry({ url: REDIS_URL, prefix, history: 20, pollMs: 3_600_000, env: process.env, logger: createLogger('silent') });
  t.after(() => registry.close());
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'alice', reason: 'first' });
  const gateway = await createGateway({ configFile: config, logger: createLogger('silent'), publisher: adminPublisher(config) });
  t.after(() => gateway.close());
  const { admin } = await gateway.listen(0, '127.0.0.1');
  const auth = { authorization: 'Bearer registry-test-credential-0123456789abcdef', 'content-type': 'application/json' };
  const text = readFileSync(descriptor, 'utf8');
  const publishSdl = (sdl: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = auth): Promise<Response> =>
    fetch(`${admin!.url}/admin/registry/publish`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ descriptors: [{ file: 'subgraph.yaml', text, files: { 'products.graphql': sdl } }], by: 'deploy-bot', ...extra }),
    });

  assert.equal((await publishSdl('type Query { name: String }\n', {}, { 'content-type': 'application/json' })).status, 401);

  // Safe: published as v2, heard by the gateway itself.
  const heard = reloads(t, 1, 'loaded');
  const safe = await publishSdl('type Query { name: String, price: Int, stock: Int }\n', { reason: 'stock level' });
  const safeBody = (await safe.json()) as { ok: boolean; revision: number; published: Array<{ id: string; by: string; reason: string }>; check: { summary: { safe: number } } };
  assert.equal(safe.status, 200, JSON.stringify(safeBody));
  assert.deepEqual([safeBody.ok, safeBody.revision, safeBody.published.map((v) => `${v.id} ${v.by} ${v.reason}`), safeBody.check.summary.safe], [true, 2, ['v2 deploy-bot stock level'], 1]);
  await heard;
  assert.deepEqual(fields(gateway), ['name', 'price', 'stock']);

  // Breaking: refused with the check's findings, nothing published.
  const refused = await publishSdl('type Query { name: String, stock: Int }\n');
  const refusedBody = (await refused.json()) as { ok: boolean; published?: unknown; check: { summary: { breaking: number } } };
  assert.equal(refused.status, 409);
  assert.deepEqual([refusedBody.ok, refusedBody.published, refusedBody.check.summary.breaking], [false, undefined, 1]);
  assert.match(JSON.stringify(refusedBody.check), /Field 'price' was removed/);
  assert.equal(await registry.revision(), 2);

  // Allowed with a reason: recorded with the version.
  const allowed = await publishSdl('type Query { name: String, stock: Int }\n', { allowBreaking: 'price moved to pricing' });
  assert.equal(allowed.status, 200);
  const [listed] = await registry.list('products');
  assert.deepEqual([listed!.current, listed!.versions[0]!.allowBreaking, listed!.versions[0]!.by], ['v3', 'price moved to pricing', 'deploy-bot']);

  // Bad input names the field; a descriptor naming a file it was not sent is refused, nothing published.
  const bad = await fetch(`${admin!.url}/admin/registry/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ descriptors: [], allowBreaking: ' ' }) });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /descriptors: give at least one descriptor; allowBreaking: allowBreaking needs a reason/);
  const missing = await fetch(`${admin!.url}/admin/registry/publish`, { method: 'POST', headers: auth, body: JSON.stringify({ descriptors: [{ file: 'subgraph.yaml', text }] }) });
  assert.equal(missing.status, 400);
  assert.match(await missing.text(), /names .*products\.graphql, which does not exist; nothing was published/);
  assert.equal(await registry.revision(), 3);
});

test('a gateway starts on an empty Redis registry: /readyz 503 `empty` and GraphQL NO_SCHEMA_YET until the first publish, which it serves; registry.seed serves a folder meanwhile (docs/reliability.md row 68)', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { config, descriptor } = project(t, prefix, '1h');
  const gateway = await createGateway({ configFile: config, logger: createLogger('silent') });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  const base = url.replace(/\/graphql$/, '');
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(JSON.stringify(await ready.json()), /"status":"empty","reason":"nothing is published in Redis registry .* yet, and no registry\.seed is set/);
  const query = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ name }' }) });
  const refused = await query();
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), /"message":"No schema to serve yet: nothing is published .*"code":"NO_SCHEMA_YET"/);

  const heard = reloads(t, 1, 'loaded');
  const published = await runTessera(['publish', '-c', config, descriptor, '--by', 'first-deploy']);
  assert.equal(published.code, 0, published.stderr);
  assert.match(published.stdout, /the registry is empty: this is the first publish/);
  const [event] = await heard;
  assert.deepEqual(event!.subgraphs?.added, ['products']);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.deepEqual(fields(gateway), ['name', 'price']);
  const served = await query();
  assert.equal(served.status, 200);
  // Served by the published version (its upstream is not running here: the field's error names it).
  assert.match(JSON.stringify(await served.json()), /"data":\{"name":null\},"errors":\[.*"code":"SOURCE_UNAVAILABLE","subgraph":"products"/);

  // With registry.seed: the seed folder serves (ready) until the first publish replaces it.
  const seeded = project(t, uniquePrefix(t), '1h', 'registry_seed_placeholder');
  writeFileSync(seeded.config, readFileSync(seeded.config, 'utf8').replace('registry_seed_placeholder', '').replace('  poll: 1h\n', '  poll: 1h\n  seed: ./subgraphs\n'));
  const seedGateway = await createGateway({ configFile: seeded.config, logger: createLogger('silent') });
  t.after(() => seedGateway.close());
  const seedListen = await seedGateway.listen(0, '127.0.0.1');
  assert.equal((await fetch(seedListen.url.replace(/\/graphql$/, '/readyz'))).status, 200);
  assert.deepEqual(fields(seedGateway), ['name', 'price']);
  writeFileSync(seeded.sdl, 'type Query { name: String, price: Int, stock: Int }\n');
  const heardSeed = reloads(t, 1, 'loaded');
  assert.equal((await runTessera(['publish', '-c', seeded.config, seeded.descriptor])).code, 0);
  await heardSeed;
  assert.deepEqual(fields(seedGateway), ['name', 'price', 'stock']);
});
