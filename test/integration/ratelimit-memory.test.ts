/**
 * Rate limits with the memory store: per consumer, per operation, per channel,
 * by cost and per subgraph, each tripping at the configured count, and what a
 * client sees when it does (429, Retry-After, RateLimit-* headers; a located
 * error for a per-subgraph limit with the other fields resolved).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { costOf, PRODUCTS, productsResolvers } from '../kit/rate-limit.js';

const STOCK = `type Query { stock(sku: ID!): Int }`;
const stockResolvers = { Query: { stock: () => 7 } };

async function gateway(t: TestContext, config: GatewayFileInput) {
  const products = await startGraphqlUpstream(t, PRODUCTS, productsResolvers);
  const inventory = await startGraphqlUpstream(t, STOCK, stockResolvers);
  const gw = await startGateway(
    t,
    [
      { name: 'products', kind: 'graphql', url: products.url },
      { name: 'inventory', kind: 'graphql', url: inventory.url, retry: { attempts: 1 } },
    ],
    config,
  );
  return { gw, products, inventory };
}

/** Anonymous consumers told apart by address: the test client is a trusted proxy forwarding for them. */
const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });

test('a per-consumer limit trips at the configured count, for that consumer only, with 429, Retry-After and RateLimit-* headers', async (t) => {
  const { gw, products } = await gateway(t, {
    rateLimit: { trustedProxies: ['127.0.0.1', '::1'], rules: [{ name: 'per-client', by: 'consumer', limit: 3, window: '1m' }] },
  });
  for (let i = 1; i <= 3; i++) {
    const ok = await gw.query('{ product(id: "1") { name } }', undefined, from('203.0.113.7'));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data?.product.name, 'product 1');
    assert.equal(ok.headers.get('ratelimit-limit'), '3');
    assert.equal(ok.headers.get('ratelimit-remaining'), String(3 - i));
  }
  const calls = products.stats.requests;
  const refused = await gw.query('{ product(id: "1") { name } }', undefined, from('203.0.113.7'));
  assert.equal(refused.status, 429);
  assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.match(refused.body.errors?.[0]?.message ?? '', /per-client/);
  assert.equal(refused.body.errors?.[0]?.extensions?.http, undefined, 'the http extension is not shown to clients');
  assert.equal(refused.body.data, undefined);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.deepEqual(refused.body.errors?.[0]?.extensions?.rateLimit, { rule: 'per-client', retryAfter }, 'the body says which rule and when, as the header does');
  assert.equal(refused.headers.get('ratelimit-limit'), '3');
  assert.equal(refused.headers.get('ratelimit-remaining'), '0');
  assert.ok(Number(refused.headers.get('ratelimit-reset')) >= 1);
  assert.equal(refused.headers.get('ratelimit-policy'), '3;w=60');
  assert.equal(products.stats.requests, calls, 'a refused operation never reaches the subgraph');

  const other = await gw.query('{ product(id: "1") { name } }', undefined, from('198.51.100.9'));
  assert.equal(other.status, 200, 'another consumer has its own bucket');
});

test('X-Forwarded-For is ignored unless the peer is a trusted proxy', async (t) => {
  const { gw } = await gateway(t, { rateLimit: { rules: [{ name: 'per-client', limit: 2 }] } });
  assert.equal((await gw.query('{ product(id: "1") { id } }', undefined, from('203.0.113.1'))).status, 200);
  assert.equal((await gw.query('{ product(id: "1") { id } }', undefined, from('203.0.113.2'))).status, 200);
  const third = await gw.query('{ product(id: "1") { id } }', undefined, from('203.0.113.3'));
  assert.equal(third.status, 429, 'a client cannot pick a fresh bucket by sending X-Forwarded-For');
});

test('behind a trusted proxy, X-Forwarded-For entries with a port and RFC 7239 Forwarded elements name the client: a bucket each, the port left out', async (t) => {
  const { gw } = await gateway(t, { rateLimit: { trustedProxies: ['127.0.0.1', '::1'], rules: [{ name: 'per-client', limit: 2, window: '1m' }] } });
  const status = async (headers: Record<string, string>) => (await gw.query('{ product(id: "1") { id } }', undefined, headers)).status;
  assert.equal(await status({ 'x-forwarded-for': '203.0.113.7:1234' }), 200);
  assert.equal(await status({ 'x-forwarded-for': '203.0.113.7:5678' }), 200);
  assert.equal(await status({ 'x-forwarded-for': '203.0.113.7:1234' }), 429, 'another source port is the same client');
  assert.equal(await status({ 'x-forwarded-for': '[2001:db8::1]:443' }), 200, 'a second client has its own bucket');
  assert.equal(await status({ forwarded: 'for=192.0.2.60;proto=http' }), 200);
  assert.equal(await status({ forwarded: 'for=192.0.2.60;proto=https' }), 200);
  assert.equal(await status({ forwarded: 'for=192.0.2.60' }), 429);
  assert.equal(await status({ forwarded: 'for="[2001:db8:cafe::17]:4711"' }), 200);
  assert.equal(await status({ forwarded: 'for="[2001:db8:cafe::17]:4712"' }), 200);
  assert.equal(await status({ forwarded: 'for="[2001:db8:cafe::17]"' }), 429);
});

test('a per-operation limit counts each operation name separately and leaves other operations alone', async (t) => {
  const { gw } = await gateway(t, {
    rateLimit: { rules: [{ name: 'search', by: 'operation', operations: ['Search'], limit: 2, window: '1m' }] },
  });
  const search = 'query Search { products { id } }';
  assert.equal((await gw.query(search)).status, 200);
  assert.equal((await gw.query(search)).status, 200);
  const third = await gw.query(search);
  assert.equal(third.status, 429);
  assert.match(third.body.errors?.[0]?.message ?? '', /"search" exceeded: 2 operations per 60s/);
  const other = await gw.query('query One { product(id: "2") { id } }');
  assert.equal(other.status, 200, 'an operation the rule does not name is not limited');
  assert.equal(other.headers.get('ratelimit-limit'), null, 'and carries no RateLimit headers');
});

test('a channel rule limits only its channel', async (t) => {
  const { gw } = await gateway(t, {
    channels: { mobile: {} },
    rateLimit: { rules: [{ name: 'mobile', by: 'channel', channels: ['mobile'], limit: 1 }] },
  });
  const mobile = gw.url.replace(/\/graphql$/, '/mobile/graphql');
  const { gql } = await import('../kit/index.js');
  assert.equal((await gql(mobile, '{ product(id: "1") { id } }')).status, 200);
  assert.equal((await gql(mobile, '{ product(id: "1") { id } }')).status, 429);
  assert.equal((await gw.query('{ product(id: "1") { id } }')).status, 200, 'the default channel is not limited');
  assert.equal((await gw.query('{ product(id: "1") { id } }')).status, 200);
});

test('a cost rule charges each operation its estimated cost and trips when the points run out', async (t) => {
  const query = '{ products(first: 8) { id name } }';
  const cheap = '{ product(id: "1") { id } }';
  // Room for two of the big one and one cheap one.
  const limit = 2 * costOf(query) + costOf(cheap);
  const { gw } = await gateway(t, { rateLimit: { rules: [{ name: 'points', cost: true, limit, window: '1m' }] } });
  const first = await gw.query(query);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('ratelimit-remaining'), String(limit - costOf(query)));
  const second = await gw.query(query);
  assert.equal(second.headers.get('ratelimit-remaining'), String(costOf(cheap)));
  const third = await gw.query(query);
  assert.equal(third.status, 429);
  assert.match(third.body.errors?.[0]?.message ?? '', new RegExp(`${limit} cost points per 60s`));
  // A refused operation is not charged, so the cheap one still fits.
  const last = await gw.query(cheap);
  assert.equal(last.status, 200);
  assert.equal(last.headers.get('ratelimit-remaining'), '0');
});

test('a per-subgraph limit nulls that subgraph\'s fields with a located error; the other fields resolve, HTTP 200', async (t) => {
  const { gw, inventory, products } = await gateway(t, {
    rateLimit: { subgraphs: { inventory: { limit: 2, window: '1m' } } },
  });
  const query = '{ product(id: "1") { name } stock(sku: "1") }';
  const before = { inventory: inventory.stats.requests, products: products.stats.requests };
  for (let i = 0; i < 2; i++) {
    const ok = await gw.query(query);
    assert.deepEqual(ok.body.data, { product: { name: 'product 1' }, stock: 7 });
  }
  const limited = await gw.query(query);
  assert.equal(limited.status, 200);
  assert.deepEqual(limited.body.data, { product: { name: 'product 1' }, stock: null });
  assert.equal(limited.body.errors?.length, 1);
  assert.deepEqual(limited.body.errors?.[0]?.path, ['stock']);
  assert.equal(limited.body.errors?.[0]?.extensions?.code, 'SUBGRAPH_RATE_LIMITED');
  assert.match(limited.body.errors?.[0]?.message ?? '', /inventory/);
  assert.equal(inventory.stats.requests - before.inventory, 2, 'the limited call was not made');
  assert.equal(products.stats.requests - before.products, 3);
});

test('an unknown subgraph or a malformed proxy address in rateLimit stops start-up with the path', async (t) => {
  await assert.rejects(gateway(t, { rateLimit: { subgraphs: { inventroy: { limit: 1 } } } }), /rateLimit\.subgraphs\.inventroy: there is no subgraph named "inventroy"/);
  await assert.rejects(gateway(t, { rateLimit: { trustedProxies: ['10.0.0.0/33'], rules: [{ name: 'a', limit: 1 }] } }), /rateLimit\.trustedProxies\[0\]/);
  await assert.rejects(gateway(t, { rateLimit: { rules: [{ name: 'a', limit: 1, window: '1500ms' }] } }), /whole number of seconds/);
});
