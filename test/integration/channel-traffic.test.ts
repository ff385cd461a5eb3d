/**
 * Per-channel response-cache lifetimes (`channels.<name>.cache`) and rate-limit
 * rules (`channels.<name>.rateLimit`): the same query on two channels gets
 * different TTLs and different limits, through a real upstream.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { gql, startGateway, startGraphqlUpstream } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';

const SDL = `
  type Product { id: ID! name: String! }
  type Query { product(id: ID!): Product }
`;
const resolvers = { Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: `product ${id}` }) } };

async function setup(t: TestContext, gateway: GatewayFileInput) {
  const upstream = await startGraphqlUpstream(t, SDL, resolvers);
  const gw = await startGateway(t, [{ name: 'shop', kind: 'graphql', url: upstream.url, cache: { Product: '60s' } }], { cache: { debugHeader: true }, ...gateway });
  const base = upstream.stats.requests;
  return { gw, mobile: gw.url.replace(/\/graphql$/, '/mobile/graphql'), calls: () => upstream.stats.requests - base };
}

const QUERY = '{ product(id: "1") { id name } }';

test('channels.<name>.cache.ttl replaces the descriptor TTL on that channel only', async (t) => {
  const { gw, mobile } = await setup(t, { channels: { mobile: { cache: { ttl: { Product: '5s' } } } } });
  const web = await gw.query(QUERY);
  assert.match(web.headers.get('cache-control') ?? '', /^public, max-age=(59|60)$/, 'the default channel keeps the descriptor TTL');
  const onMobile = await gql(mobile, QUERY);
  assert.deepEqual(onMobile.body, web.body);
  assert.match(onMobile.headers.get('cache-control') ?? '', /^public, max-age=[45]$/, "the mobile channel's TTL");
});

test('channels.<name>.cache with a TTL of 0 keeps that channel uncached while the default channel caches', async (t) => {
  const { gw, mobile, calls } = await setup(t, { channels: { mobile: { cache: { ttl: { Product: '0s' } } } } });
  await gql(mobile, QUERY);
  const again = await gql(mobile, QUERY);
  assert.equal(again.headers.get('x-tessera-cache'), 'MISS');
  assert.equal(calls(), 2, 'each mobile query reaches the upstream');
  await gw.query(QUERY);
  assert.equal((await gw.query(QUERY)).headers.get('x-tessera-cache'), 'HIT');
  assert.equal(calls(), 3);
});

test('channels.<name>.rateLimit.rules replace the gateway rules on that channel; the others keep the gateway rules', async (t) => {
  const { gw, mobile } = await setup(t, {
    cache: { enabled: false },
    rateLimit: { rules: [{ name: 'everyone', by: 'channel', limit: 3 }] },
    channels: { mobile: { rateLimit: { rules: [{ name: 'everyone', by: 'channel', limit: 1 }] } } },
  });
  assert.equal((await gql(mobile, QUERY)).status, 200);
  const refused = await gql(mobile, QUERY);
  assert.equal(refused.status, 429, "the mobile channel's own limit of 1");
  assert.equal(refused.headers.get('ratelimit-limit'), '1');
  for (let i = 0; i < 3; i++) assert.equal((await gw.query(QUERY)).status, 200, 'the default channel: the gateway rule of 3, its own bucket');
  const fourth = await gw.query(QUERY);
  assert.equal(fourth.status, 429);
  assert.equal(fourth.headers.get('ratelimit-limit'), '3');
});

test('a channel cache TTL naming nothing in the unified graph stops start-up with the closest name', async (t) => {
  await assert.rejects(
    setup(t, { channels: { mobile: { cache: { ttl: { 'Product.nmae': '5s' } } } } }),
    /channels\.mobile\.cache\.ttl\."Product\.nmae": the unified graph has no field Product\.nmae \(did you mean "Product\.name"\?\)/,
  );
});

test('a renamed field and a composed field on a channel: routed direct to an unrenamed subgraph, cached, and answered in the channel names on a hit', async (t) => {
  const { gw, mobile, calls } = await setup(t, {
    mode: 'development',
    channels: { mobile: { rename: { fields: { 'Product.name': 'title' } }, fields: { 'Product.card': { from: ['id', 'name'], template: '#{id} {name}' } } } },
  });
  const query = '{ product(id: "1") { title card } }';
  const first = await gql(mobile, query);
  assert.deepEqual(first.body, { data: { product: { title: 'product 1', card: '#1 product 1' } } });
  assert.equal(first.headers.get('tessera-route'), 'direct', 'the translated operation is the subgraph’s own: sent as it is');
  const second = await gql(mobile, query);
  assert.equal(second.headers.get('x-tessera-cache'), 'HIT');
  assert.deepEqual(second.body, first.body);
  assert.equal(calls(), 1);
  assert.deepEqual((await gw.query('{ product(id: "1") { name } }')).body, { data: { product: { name: 'product 1' } } });
});
