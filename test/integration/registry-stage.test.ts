/**
 * Staged rollout with the Redis registry (README "Staged rollout"), with the
 * real Redis, a key prefix per test and two gateways sharing it: `tessera
 * publish --stage 30%` serves the staged version to that share of consumers
 * (sticky by credential) and `--stage header:x-canary` to requests with the
 * header; the line that served shows in `x-tessera-schema`, in
 * tessera_schema_requests_total and in GET /admin/status and
 * /admin/registry; `tessera promote` makes it current, `tessera rollback`
 * aborts it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createGateway, type Gateway } from '../../src/index.js';
import { adminPublisher } from '../../src/cli/registry.js';
import { createLogger } from '../../src/logger.js';
import { bundleDescriptor, redisRegistry } from '../../src/registry/redis.js';
import { runTessera, tempProject } from '../kit/index.js';
import { sample } from '../kit/metrics.js';
import { eventually, needRedis, REDIS_URL, uniquePrefix } from '../kit/redis.js';

const CREDENTIAL = 'stage-test-credential-0123456789abcdef';

function project(t: TestContext, prefix: string): { config: string; descriptor: string; sdl: string } {
  const dir = tempProject(t, {
    'gateway.yaml': `server: { port: 0, readiness: loaded }\nlogging: { level: silent }\nadmin: { port: 0, credential: ${CREDENTIAL} }\nregistry:\n  url: ${REDIS_URL}\n  prefix: "${prefix}"\n  poll: 1h\n`,
    'subgraphs/products/subgraph.yaml': 'name: products\nkind: graphql\nsource: ./products.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/products/products.graphql': 'type Query { name: String }\n',
  });
  return { config: join(dir, 'gateway.yaml'), descriptor: join(dir, 'subgraphs/products/subgraph.yaml'), sdl: join(dir, 'subgraphs/products/products.graphql') };
}

interface Replica {
  gateway: Gateway;
  url: string;
  admin: string;
}

async function replica(t: TestContext, config: string): Promise<Replica> {
  const gateway = await createGateway({ configFile: config, logger: createLogger('silent'), publisher: adminPublisher(config) });
  t.after(() => gateway.close());
  const { url, admin } = await gateway.listen(0, '127.0.0.1');
  return { gateway, url, admin: admin!.url };
}

/** Which line served `{ __typename }` for these headers: the x-tessera-schema header's first word, or 'none' when no stage is under way. */
async function line(r: Replica, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ __typename }' }) });
  assert.equal(response.status, 200);
  await response.text();
  return response.headers.get('x-tessera-schema')?.split(' ')[0] ?? 'none';
}

/** Whether the field `stock` (only in the staged SDL) validates for these headers. */
async function hasStock(r: Replica, headers: Record<string, string> = {}): Promise<boolean> {
  const response = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ stock }' }) });
  const body = (await response.json()) as { errors?: Array<{ message: string }> };
  return !body.errors?.some((e) => /Cannot query field "stock"/.test(e.message));
}

/** A registry with v1 published, and two gateways serving it (the project's schema file `sdl` to change for v2). */
async function twoReplicas(t: TestContext) {
  const prefix = uniquePrefix(t);
  const { config, descriptor, sdl } = project(t, prefix);
  const registry = redisRegistry({ url: REDIS_URL, prefix, history: 20, pollMs: 3_600_000, env: process.env, logger: createLogger('silent') });
  t.after(() => registry.close());
  await registry.publish([bundleDescriptor(descriptor, process.env)], { by: 'test' });
  return { config, descriptor, sdl, registry, a: await replica(t, config), b: await replica(t, config) };
}

const adminJson = async (r: Replica, path: string): Promise<Record<string, unknown>> =>
  (await (await fetch(`${r.admin}${path}`, { headers: { authorization: `Bearer ${CREDENTIAL}` } })).json()) as Record<string, unknown>;

test('a staged version serves its share of consumers (sticky by credential) on both gateways, shows in x-tessera-schema, metrics and the admin API; rollback aborts it (docs/reliability.md row 69)', async (t) => {
  if (!(await needRedis(t))) return;
  const { config, descriptor, sdl, registry, a, b } = await twoReplicas(t);
  assert.equal(await line(a), 'none', 'no stage: no x-tessera-schema header');

  writeFileSync(sdl, 'type Query { name: String, stock: Int }\n');
  const staged = await runTessera(['publish', '-c', config, descriptor, '--stage', '30%', '--by', 'alice']);
  assert.equal(staged.code, 0, staged.stderr);
  assert.match(staged.stdout, /published revision 2: products v2 \(staged: 30% of consumers; `tessera promote products` makes it current/);
  assert.equal((await registry.current()).products, 'v1', 'a staged version is not current');
  assert.ok(await eventually(async () => (await line(a)) !== 'none' && (await line(b)) !== 'none', 200, 50), 'both gateways serve the stage');

  // 200 consumers, each on either gateway: the share lands near 30%, and each consumer sees one line everywhere.
  const counts = { current: 0, staged: 0 };
  for (let i = 0; i < 200; i++) {
    const headers = { authorization: `Bearer consumer-${i}` };
    const first = await line(i % 2 === 0 ? a : b, headers);
    counts[first as 'current' | 'staged']++;
    if (i % 20 === 0) {
      for (const r of [a, b, a]) assert.equal(await line(r, headers), first, `consumer-${i} stays on its line`);
      assert.equal(await hasStock(b, headers), first === 'staged', 'the staged line serves the staged schema');
    }
  }
  assert.ok(counts.staged >= 40 && counts.staged <= 80, `staged share of 200 consumers within 30% ± 10: ${JSON.stringify(counts)}`);

  // Which version served: the header carries the line and version; the metric counts each line; the admin API shows the stage.
  const staticHeaders = { authorization: 'Bearer consumer-0' };
  const response = await fetch(a.url, { method: 'POST', headers: { 'content-type': 'application/json', ...staticHeaders }, body: JSON.stringify({ query: '{ __typename }' }) });
  assert.match(response.headers.get('x-tessera-schema') ?? '', /^(current|staged) [0-9a-f]{12}$/);
  const metrics = await (await fetch(`${a.admin}/metrics`, { headers: { authorization: `Bearer ${CREDENTIAL}` } })).text();
  // `{ __typename }` is forwarded to the subgraph, which does not run here: each answer's code is SOURCE_UNAVAILABLE.
  const stagedCount = sample(metrics, 'tessera_schema_requests_total', { channel: 'default', schema: 'staged', code: 'SOURCE_UNAVAILABLE' }) ?? 0;
  const currentCount = sample(metrics, 'tessera_schema_requests_total', { channel: 'default', schema: 'current', code: 'SOURCE_UNAVAILABLE' }) ?? 0;
  assert.ok(stagedCount > 0 && currentCount > 0, metrics);
  const status = (await adminJson(a, '/admin/status')) as { schema: { version: string }; stage: { version: string; rule: { share: number }; subgraphs: Record<string, string> } };
  assert.deepEqual([status.stage.rule, status.stage.subgraphs], [{ share: 30 }, { products: 'v2' }]);
  assert.notEqual(status.stage.version, status.schema.version);
  const page = (await adminJson(b, '/_tessera/api')) as { stage: { version: string; rule: string; subgraphs: Record<string, string> } | null };
  assert.deepEqual([page.stage?.rule, page.stage?.subgraphs], ['30% of consumers', { products: 'v2' }], 'the status page shows the stage');
  const listed = (await adminJson(b, '/admin/registry')) as { stage: { subgraphs: Record<string, string>; rule: unknown; by: string } };
  assert.deepEqual([listed.stage.subgraphs, listed.stage.rule, listed.stage.by], [{ products: 'v2' }, { share: 30 }, 'alice']);

  // A second stage while one is under way is refused.
  const second = await runTessera(['publish', '-c', config, descriptor, '--stage', '5%']);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /a staged rollout is under way \(products v2, 30% of consumers\)/);

  // Abort: every consumer is back on the current version on both gateways.
  const aborted = await runTessera(['rollback', '-c', config, 'products']);
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, /staged rollout aborted \(products v2\)/);
  assert.ok(await eventually(async () => (await line(a)) === 'none' && (await line(b)) === 'none', 200, 50), 'the stage ends on both gateways');
  for (let i = 0; i < 20; i++) assert.equal(await hasStock(i % 2 ? a : b, { authorization: `Bearer consumer-${i}` }), false);
  assert.equal((await registry.current()).products, 'v1');
  assert.equal(await registry.stage(), undefined);
});

test('a header-staged version serves only requests with the header; tessera promote makes it current on both gateways (docs/reliability.md row 69)', async (t) => {
  if (!(await needRedis(t))) return;
  const { config, descriptor, sdl, registry, a, b } = await twoReplicas(t);

  writeFileSync(sdl, 'type Query { name: String, stock: Int }\n');
  const bad = await runTessera(['publish', '-c', config, descriptor, '--stage', '150%']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--stage: "150%": expected a share of traffic above 0% and below 100% \(10%\) or a request header \(header:x-canary\)/);
  // Staged through the admin API this time: the same check and stage as the CLI's.
  const adminPost = (path: string, body: unknown): Promise<Response> =>
    fetch(`${a.admin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${CREDENTIAL}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = (await import('node:fs')).readFileSync(descriptor, 'utf8');
  const files = { 'products.graphql': 'type Query { name: String, stock: Int }\n' };
  const badStage = await adminPost('/admin/registry/publish', { descriptors: [{ file: 'subgraph.yaml', text, files }], stage: 'header:' });
  assert.equal(badStage.status, 400);
  const message = async (response: Response): Promise<string> => ((await response.json()) as { errors: Array<{ message: string }> }).errors[0]!.message;
  assert.match(await message(badStage), /^stage: "header:": expected a share of traffic/);
  const staged = await adminPost('/admin/registry/publish', { descriptors: [{ file: 'subgraph.yaml', text, files }], stage: 'header:x-canary', by: 'ci' });
  assert.equal(staged.status, 200, await staged.clone().text());
  assert.deepEqual(((await staged.json()) as { published: Array<{ id: string }> }).published.map((v) => v.id), ['v2']);
  // A gateway starting while the stage is under way serves it from its first request.
  assert.ok(await eventually(async () => (await line(a, { 'x-canary': '1' })) === 'staged', 200, 50));
  const late = await replica(t, config);
  assert.equal(await line(late, { 'x-canary': 'yes' }), 'staged');
  assert.equal(await line(late), 'current');
  const unknown = await adminPost('/admin/registry/promote', { subgraph: 'reviews' });
  assert.equal(unknown.status, 400);
  assert.match(await message(unknown), /no staged version of "reviews" to promote/);
  assert.ok(await eventually(async () => (await line(a, { 'x-canary': '1' })) === 'staged' && (await line(b, { 'x-canary': '1' })) === 'staged', 200, 50));
  for (const r of [a, b]) {
    for (let i = 0; i < 5; i++) {
      assert.equal(await line(r, { authorization: `Bearer consumer-${i}` }), 'current', 'without the header: the current version');
      assert.equal(await hasStock(r, { 'x-canary': '1', authorization: `Bearer consumer-${i}` }), true);
      assert.equal(await hasStock(r, { 'x-canary': '0' }), false, 'x-canary: 0 is no canary');
    }
  }

  const none = await runTessera(['promote', '-c', config, 'reviews']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no staged version of "reviews" to promote \(the stage under way is products\)/);
  const promoted = await runTessera(['promote', '-c', config, 'products', '--by', 'alice']);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.match(promoted.stdout, /promoted products v2: every request gets it, revision 3/);
  assert.ok(await eventually(async () => (await line(a)) === 'none' && (await line(b)) === 'none', 200, 50), 'the stage ends on both gateways');
  for (const r of [a, b]) assert.equal(await hasStock(r), true, 'promoted: every request gets the staged version');
  assert.equal((await registry.current()).products, 'v2');
});
