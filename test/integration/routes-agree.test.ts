/**
 * The routes agree: every operation of the corpus (test/fixtures/routes/
 * corpus.ts) is sent to three gateways over the same upstreams, one that may
 * take every route, one that may not go direct, one that may only stitch, and
 * every route able to serve it must give the same answer: status, data, and
 * errors with their messages, paths and extensions (codes, subgraph). Each
 * answer's route is read from the `tessera-route` header (development mode),
 * and the first gateway's must be the one the corpus names.
 *
 * Errors are compared as a set (sorted by path, then message): GraphQL
 * gives their order no meaning, and the routes find them in different orders.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createGateway, type Gateway } from '../../src/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import { demoEnv, startDemoServices } from '../../subgraphs/demo.js';
import type { GraphqlResponse } from '../kit/index.js';
import { DEMO, FAULTS, RENAMED, type CorpusOperation, type RouteName } from '../fixtures/routes/corpus.js';
import { startFaults } from '../fixtures/routes/faults.js';
import { startRenamed } from '../fixtures/routes/renamed.js';

const LIMITS: ReadonlyArray<readonly RouteName[]> = [['direct', 'planned', 'stitched'], ['planned', 'stitched'], ['stitched']];

type Started = { gateway: Gateway; url: string };

async function listen(t: TestContext, gateway: Gateway): Promise<Started> {
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  return { gateway, url };
}

/** What must be the same whatever the route. */
function comparable(res: GraphqlResponse): unknown {
  const errors = res.body.errors?.slice().sort((a, b) => {
    const pa = JSON.stringify(a.path ?? []);
    const pb = JSON.stringify(b.path ?? []);
    return pa < pb ? -1 : pa > pb ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
  });
  return { status: res.status, data: res.body.data, ...(errors && { errors }) };
}

/**
 * Sends every operation to the three gateways in turn. Returns how many
 * operations each set of routes served, and every disagreement (all of them,
 * so one run shows what a change broke).
 */
async function agree(gateways: readonly Started[], corpus: Record<string, CorpusOperation>): Promise<{ served: Map<string, number>; differences: string[] }> {
  const served = new Map<string, number>();
  const differences: string[] = [];
  for (const [name, operation] of Object.entries(corpus)) {
    const answers: Array<{ route: string | null; res: GraphqlResponse }> = [];
    for (const { url } of gateways) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: operation.query, variables: operation.variables, operationName: operation.operationName }),
      });
      const text = await res.text();
      const body = JSON.parse(text) as GraphqlResponse['body'];
      answers.push({ route: res.headers.get('tessera-route'), res: { status: res.status, headers: res.headers, body, text } });
    }
    const routes = answers.map((a) => a.route);
    if (routes[0] !== operation.route) differences.push(`${name}: took ${routes[0]}, the corpus says ${operation.route}`);
    if (routes[2] !== 'stitched') differences.push(`${name}: the stitching-only gateway took ${routes[2]}`);
    const expected = answers[2]!.res;
    for (const [i, answer] of answers.entries()) {
      if (i === 2 || routes[i] === 'stitched') continue;
      try {
        assert.deepEqual(comparable(answer.res), comparable(expected));
      } catch {
        differences.push(`${name}: ${routes[i]} answered\n    ${answer.res.status} ${answer.res.text}\n  stitched answered\n    ${expected.status} ${expected.text}`);
      }
    }
    const key = [...new Set(routes)].join('+');
    served.set(key, (served.get(key) ?? 0) + 1);
  }
  return { served, differences };
}

async function threeGateways(t: TestContext, config: { configFile?: string; env?: NodeJS.ProcessEnv; gateway?: GatewayFileInput; descriptors?: Array<DescriptorInput & { dir?: string }> }): Promise<Started[]> {
  const started: Started[] = [];
  // One cursor key for the three, as for replicas: a connection's cursors are then the same whichever route answered.
  for (const routes of LIMITS) started.push(await listen(t, await createGateway({ ...config, routes, cursorSecret: 'routes-agree: one key for the three gateways' })));
  return started;
}

test('the demo graph: every route able to serve an operation gives the same answer', async (t) => {
  assert.ok(Object.keys(DEMO).length + Object.keys(FAULTS).length + Object.keys(RENAMED).length >= 100, 'the corpus holds at least 100 operations');
  const demo = await startDemoServices(Object.fromEntries(['accounts', 'reviews', 'catalog', 'inventory'].map((n) => [n, 0])));
  t.after(() => demo.close());
  const gateways = await threeGateways(t, {
    configFile: new URL('../../gateway.yaml', import.meta.url).pathname,
    env: { ...demoEnv(demo), LOG_LEVEL: 'silent', TESSERA_MODE: 'development' },
  });
  const { served, differences } = await agree(gateways, DEMO);
  assert.deepEqual(differences, []);
  // Each route is exercised, and compared with the others.
  assert.ok((served.get('direct+planned+stitched') ?? 0) >= 20, JSON.stringify([...served]));
  assert.ok((served.get('planned+stitched') ?? 0) >= 20, JSON.stringify([...served]));
  assert.ok((served.get('stitched') ?? 0) >= 1, JSON.stringify([...served]));
});

test('broken, slow and dead subgraphs: every route gives the same answer, errors included', async (t) => {
  const world = await startFaults(t);
  const gateways = await threeGateways(t, { gateway: { mode: 'development', logging: { level: 'silent' } }, descriptors: world.descriptors });
  const { served, differences } = await agree(gateways, FAULTS);
  assert.deepEqual(differences, []);
  assert.ok((served.get('direct+planned+stitched') ?? 0) >= 10, JSON.stringify([...served]));
  assert.ok((served.get('planned+stitched') ?? 0) >= 10, JSON.stringify([...served]));
  assert.ok(world.held() > 0, 'the slow subgraph was called');
});

test('renamed subgraphs (prefix, renamed types and fields) are planned, with the same answers as stitching', async (t) => {
  const world = await startRenamed(t);
  const gateways = await threeGateways(t, { gateway: { mode: 'development', logging: { level: 'silent' } }, descriptors: world.descriptors });
  const { served, differences } = await agree(gateways, RENAMED);
  assert.deepEqual(differences, []);
  assert.ok((served.get('planned+stitched') ?? 0) >= 10, JSON.stringify([...served]));
  // A planned operation on one renamed subgraph is one call, in the subgraph's own names.
  const before = world.shop.stats.requests;
  const res = await fetch(gateways[0]!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ allProducts { name } }' }) });
  assert.equal(res.headers.get('tessera-route'), 'planned');
  assert.deepEqual(await res.json(), { data: { allProducts: [{ name: 'Hammer' }, { name: 'Saw' }] } });
  assert.equal(world.shop.stats.requests - before, 1);
  assert.match(world.shopQueries.at(-1)!.replace(/\s+/g, ' '), /\{ allProducts: products \{ name: title \} \}/, 'sent in the shop\'s own names, aliased to the client\'s keys');
});
