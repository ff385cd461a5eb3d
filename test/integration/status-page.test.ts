/**
 * The status page (telemetry.status) over HTTP: its JSON after real traffic
 * through two versions of a subgraph, the page and its files with their
 * content types, CSP and caching, 404s for unknown paths under it, off in
 * production unless enabled, and a path clash refused at start-up.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import type { StatusSnapshot } from '../../src/telemetry/status.js';

const SDL = 'type Query { hello: String }';

/** A gateway over one GraphQL subgraph served by two upstreams, versions v1 (weight 1) and v2 (weight 1). */
async function statusGateway(t: TestContext, gateway: GatewayFileInput = { mode: 'development' }) {
  const v1 = await startGraphqlUpstream(t, SDL, { Query: { hello: () => 'v1' } });
  const v2 = await startGraphqlUpstream(t, SDL, { Query: { hello: () => 'v2' } });
  const gw = await startGateway(
    t,
    [
      {
        name: 'greetings',
        kind: 'graphql',
        upstreams: [
          { url: v1.url, version: 'v1', weight: 1 },
          { url: v2.url, version: 'v2', weight: 1 },
        ],
      },
    ],
    gateway,
  );
  return { ...gw, v1: v1.url, v2: v2.url, at: (path: string) => new URL(path, gw.url).href };
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

test('the JSON: the subgraph with its kind, instances, versions, weights, breakers and health, the schema, the channels and the traffic just sent', async (t) => {
  const gw = await statusGateway(t);
  for (let i = 0; i < 4; i++) assert.equal((await gw.query('{ hello }')).status, 200);
  const invalid = await gw.query('{ nope }');
  assert.equal(invalid.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');

  const res = await fetch(gw.at('/_tessera/api'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const snapshot = (await res.json()) as StatusSnapshot;
  assert.match(snapshot.schema.hash, /^[0-9a-f]{12}$/);
  assert.ok(Date.parse(snapshot.schema.loadedAt) <= Date.now());
  assert.deepEqual(
    snapshot.channels.map((c) => [c.name, c.path]),
    [['default', '/graphql']],
  );
  const channel = snapshot.channels[0]!.series;
  assert.equal(sum(channel.count), 5, 'every request the channel answered');
  assert.equal(sum(channel.errors), 1, 'the invalid document');

  assert.equal(snapshot.subgraphs.length, 1);
  const greetings = snapshot.subgraphs[0]!;
  assert.equal(greetings.kind, 'graphql');
  assert.equal(greetings.health, 'answered', 'read by introspection: it answered while loading');
  assert.deepEqual(greetings.instances, [
    { url: gw.v1, version: 'v1', weight: 1, breaker: 'closed', check: 'off', canary: 'off' },
    { url: gw.v2, version: 'v2', weight: 1, breaker: 'closed', check: 'off', canary: 'off' },
  ]);
  assert.equal(sum(greetings.series.count), 4, 'the invalid document called no upstream');
  assert.equal(sum(greetings.series.errors), 0);
  const perVersion = Object.fromEntries(greetings.versions.map((v) => [v.version, sum(v.series.count)]));
  assert.deepEqual(perVersion, { v1: 2, v2: 2 }, 'equal weights: two calls each');
  assert.equal(greetings.series.p50.filter((p) => p !== null).length >= 1, true);
  assert.equal(snapshot.timeline.length, greetings.series.count.length);
});

test('the page, its script, style and uPlot: content types, a strict CSP, caching, and 404s under the prefix', async (t) => {
  const gw = await statusGateway(t);
  for (const path of ['/_tessera', '/_tessera/']) {
    const res = await fetch(gw.at(path));
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|; )default-src 'none'(;|$)/);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script: every script has a src and no body');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another host');
    assert.match(html, /data-api="\/_tessera\/api"/);
  }

  const html = await (await fetch(gw.at('/_tessera'))).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/_tessera\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(
    assets.map((a) => a.replace(/\.[0-9a-f]{16}\./, '.<hash>.')).sort(),
    ['/_tessera/assets/status.<hash>.css', '/_tessera/assets/status.<hash>.js', '/_tessera/assets/uPlot.<hash>.css', '/_tessera/assets/uPlot.<hash>.js'],
  );
  for (const asset of assets) {
    const res = await fetch(gw.at(asset));
    assert.equal(res.status, 200, asset);
    assert.equal(res.headers.get('content-type'), asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', asset);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const body = await res.text();
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body));
    if (asset.includes('uPlot') && asset.endsWith('.js')) assert.match(body, /uPlot/, 'uPlot from the installed package');
  }
  const head = await fetch(gw.at(assets[0]!), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');

  for (const path of ['/_tessera/assets/uPlot.0000000000000000.js', '/_tessera/assets/', '/_tessera/nothing', '/_tessera/api/more']) {
    const res = await fetch(gw.at(path));
    assert.equal(res.status, 404, path);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    assert.equal(body.errors[0]!.extensions.code, 'NOT_FOUND');
    assert.match(body.errors[0]!.message, /\/_tessera/);
  }
  assert.equal((await fetch(gw.at('/_tesserax'))).status, 404, 'a path that only starts with the prefix is not the page');
});

test('off in production unless telemetry.status.enabled, and it may move to another path', async (t) => {
  const production = await statusGateway(t, {});
  for (const path of ['/_tessera', '/_tessera/api']) {
    const res = await fetch(production.at(path));
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(await res.text(), /timeline/);
  }
  const enabled = await statusGateway(t, { telemetry: { status: { enabled: true, path: '/ops/status' } } });
  assert.equal((await fetch(enabled.at('/_tessera'))).status, 404);
  assert.equal((await fetch(enabled.at('/ops/status'))).status, 200);
  const snapshot = (await (await fetch(enabled.at('/ops/status/api'))).json()) as StatusSnapshot;
  assert.equal(snapshot.subgraphs[0]!.name, 'greetings');
  const html = await (await fetch(enabled.at('/ops/status'))).text();
  assert.match(html, /src="\/ops\/status\/assets\/status\.[0-9a-f]{16}\.js"/);
});

test('a status path that would hide a GraphQL, health or metrics path, a trailing slash or an unknown key stops start-up', async (t) => {
  await assert.rejects(statusGateway(t, { mode: 'development', telemetry: { status: { path: '/graphql' } } }), /telemetry\.status\.path: \/graphql would serve \/graphql/);
  await assert.rejects(statusGateway(t, { mode: 'development', telemetry: { status: { path: '/readyz' } } }), /telemetry\.status\.path: \/readyz would serve \/readyz/);
  await assert.rejects(
    statusGateway(t, { mode: 'development', telemetry: { metrics: { path: '/ops/metrics' }, status: { path: '/ops' } } }),
    /telemetry\.status\.path: \/ops would serve \/ops\/metrics/,
  );
  await assert.rejects(statusGateway(t, { mode: 'development', channels: { web: { path: '/ops/graphql' } }, telemetry: { status: { path: '/ops' } } }), /would serve \/ops\/graphql/);
  await assert.rejects(statusGateway(t, { mode: 'development', telemetry: { status: { path: '/ops/' } } }), /telemetry\.status\.path.*no trailing slash/s);
  await assert.rejects(statusGateway(t, { telemetry: { status: { enabeld: true } } as never }), /enabeld/);
  // Off, the path is not checked: production without the page starts whatever the path.
  const off = await statusGateway(t, { telemetry: { status: { path: '/graphql' } } });
  assert.equal((await off.query('{ hello }')).status, 200);
});

test('health and breaker state as the gateway knows them: waiting for a dead upstream, its breaker open, not probed with readiness: loaded', async (t) => {
  const dir = new URL('../fixtures/graphql/slow', import.meta.url).pathname;
  const dead = { name: 'dead', kind: 'graphql' as const, url: 'http://127.0.0.1:1/graphql', source: 'schema.graphql', dir, retry: { attempts: 1 }, breaker: { minCalls: 2, openFor: '1h' } };
  const waiting = await startGateway(t, [dead], { mode: 'development' });
  const snapshot = async (url: string): Promise<StatusSnapshot> => (await (await fetch(new URL('/_tessera/api', url))).json()) as StatusSnapshot;
  assert.equal((await snapshot(waiting.url)).subgraphs[0]!.health, 'waiting', 'required, never answered: /readyz is 503');
  assert.equal((await fetch(new URL('/readyz', waiting.url))).status, 503);
  for (let i = 0; i < 2; i++) assert.equal((await waiting.query('{ slowField }')).body.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  const after = (await snapshot(waiting.url)).subgraphs[0]!;
  assert.deepEqual(after.instances, [{ url: dead.url, version: null, weight: 1, breaker: 'open', check: 'off', canary: 'off' }]);
  assert.equal(sum(after.series.errors), 2, 'two refused connections');

  const unprobed = await startGateway(t, [dead], { mode: 'development', server: { readiness: 'loaded' } });
  assert.equal((await snapshot(unprobed.url)).subgraphs[0]!.health, 'not probed');
});
