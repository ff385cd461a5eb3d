/**
 * Rate limits in Redis: two gateway replicas share every bucket, and a Redis
 * that stops or slows down mid-test gives the configured behaviour (fail open
 * under a local cap, or fail closed with 503), is counted on `tessera:store`,
 * never crashes or hangs a request, and recovers when Redis returns
 * (row 31 of docs/reliability.md).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startGateway, startGraphqlUpstream, type RunningGateway } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { costOf, PRODUCTS, productsResolvers } from '../kit/rate-limit.js';
import { storeChannel, type StoreEvent } from '../../src/store/index.js';
import { eventually, needRedis, REDIS_URL, startOwnRedis, uniquePrefix } from '../kit/redis.js';

/**
 * These tests are about sharing state through Redis, not about Redis being slow (the outage tests below
 * keep the 50 ms default): a test machine under load may take longer than 50 ms to answer, which would
 * make a replica fall back to its local cap.
 */
const SHARING_TIMEOUT = '1s';

const STOCK = `type Query { stock(sku: ID!): Int }`;

async function replicas(t: TestContext, config: GatewayFileInput, count = 2) {
  const products = await startGraphqlUpstream(t, PRODUCTS, productsResolvers);
  const inventory = await startGraphqlUpstream(t, STOCK, { Query: { stock: () => 7 } });
  const descriptors = [
    { name: 'products', kind: 'graphql' as const, url: products.url },
    { name: 'inventory', kind: 'graphql' as const, url: inventory.url, retry: { attempts: 1 } },
  ];
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < count; i++) gateways.push(await startGateway(t, descriptors, config));
  return { gateways, inventory, products };
}

function storeEvents(t: TestContext): StoreEvent[] {
  const events: StoreEvent[] = [];
  const listener = (message: unknown): void => {
    events.push(message as StoreEvent);
  };
  storeChannel.subscribe(listener);
  t.after(() => storeChannel.unsubscribe(listener));
  return events;
}

const from = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });

test('two replicas share one per-consumer limit through Redis', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { gateways: [a, b] } = await replicas(t, {
    store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT },
    rateLimit: { trustedProxies: ['127.0.0.1'], rules: [{ name: 'per-client', limit: 4, window: '1m' }] },
  });
  const query = '{ product(id: "1") { name } }';
  const seen: number[] = [];
  for (const gw of [a!, b!, a!, b!]) seen.push((await gw.query(query, undefined, from('203.0.113.5'))).status);
  assert.deepEqual(seen, [200, 200, 200, 200]);
  const fifth = await b!.query(query, undefined, from('203.0.113.5'));
  assert.equal(fifth.status, 429, 'the fifth operation is refused whichever replica gets it');
  assert.equal(fifth.headers.get('ratelimit-remaining'), '0');
  assert.ok(Number(fifth.headers.get('retry-after')) >= 1);
  assert.equal((await a!.query(query, undefined, from('203.0.113.5'))).status, 429);
  assert.equal((await a!.query(query, undefined, from('203.0.113.6'))).status, 200, 'another consumer is untouched');
});

test('two replicas share per-operation and cost limits through Redis', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const search = 'query Search { products(first: 2) { id } }';
  const big = 'query Big { products(first: 12) { id name } }';
  const cheap = 'query Cheap { product(id: "1") { id } }';
  // Two searches, two big ones and one cheap one fit; a refused operation gives its points back.
  const limit = 2 * costOf(search) + 2 * costOf(big) + costOf(cheap);
  const { gateways: [a, b] } = await replicas(t, {
    store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT },
    rateLimit: {
      rules: [
        { name: 'search', by: 'operation', operations: ['Search'], limit: 2 },
        { name: 'points', by: [], cost: true, limit },
      ],
    },
  });
  assert.equal((await a!.query(search)).status, 200);
  assert.equal((await b!.query(search)).status, 200);
  const third = await a!.query(search);
  assert.equal(third.status, 429);
  assert.match(third.body.errors?.[0]?.message ?? '', /"search" exceeded: 2 operations/);

  const first = await b!.query(big);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('ratelimit-remaining'), String(costOf(big) + costOf(cheap)));
  const second = await a!.query(big);
  assert.equal(second.status, 200);
  assert.equal(second.headers.get('ratelimit-remaining'), String(costOf(cheap)));
  const over = await b!.query(big);
  assert.equal(over.status, 429);
  assert.match(over.body.errors?.[0]?.message ?? '', new RegExp(`"points" exceeded: ${limit} cost points per 60s`));
  const last = await a!.query(cheap);
  assert.equal(last.status, 200);
  assert.equal(last.headers.get('ratelimit-remaining'), '0');
});

test('two replicas share one per-subgraph limit through Redis: over it, a located error and the other fields', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { gateways: [a, b], inventory } = await replicas(t, {
    store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT },
    rateLimit: { subgraphs: { inventory: { limit: 3, window: '1m' } } },
  });
  const before = inventory.stats.requests;
  const query = '{ product(id: "1") { name } stock(sku: "1") }';
  for (const gw of [a!, b!, a!]) assert.deepEqual((await gw.query(query)).body, { data: { product: { name: 'product 1' }, stock: 7 } });
  const limited = await b!.query(query);
  assert.equal(limited.status, 200);
  assert.deepEqual(limited.body.data, { product: { name: 'product 1' }, stock: null });
  assert.deepEqual(limited.body.errors?.[0]?.path, ['stock']);
  assert.equal(limited.body.errors?.[0]?.extensions?.code, 'SUBGRAPH_RATE_LIMITED');
  assert.equal(inventory.stats.requests - before, 3);
});

test('row 31, fail open: with Redis killed mid-test requests go on under the local cap (10% of the limit), are counted, and the shared limit is back when Redis is', async (t) => {
  const redis = await startOwnRedis(t);
  const events = storeEvents(t);
  const { gateways: [gw] } = await replicas(t, { store: redis.url, rateLimit: { rules: [{ name: 'all', by: [], limit: 20 }] } }, 1);
  const query = '{ product(id: "1") { name } }';
  const before = await gw!.query(query);
  assert.equal(before.status, 200);
  assert.equal(before.headers.get('ratelimit-limit'), '20');

  await redis.stop();
  const open = [await gw!.query(query), await gw!.query(query), await gw!.query(query)];
  assert.deepEqual(open.map((r) => r.status), [200, 200, 429], 'the local cap is 2 (10% of 20)');
  assert.equal(open[0]!.body.data?.product.name, 'product 1');
  assert.equal(open[0]!.headers.get('ratelimit-limit'), '2');
  assert.equal(open[2]!.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.ok(events.filter((e) => e.use === 'rate-limit' && e.fallback === 'open').length >= 3, 'each fallback is counted on tessera:store');

  await redis.start();
  const recovered = await eventually(async () => (await gw!.query(query)).headers.get('ratelimit-limit') === '20');
  assert.ok(recovered, 'the shared limit applies again once Redis is back');
});

test('row 31, fail closed: with Redis killed requests are refused with 503 and Retry-After, then served again when it returns', async (t) => {
  const redis = await startOwnRedis(t);
  const events = storeEvents(t);
  const { gateways: [gw], products } = await replicas(t, { store: redis.url, rateLimit: { onStoreError: 'closed', rules: [{ name: 'all', limit: 100 }] } }, 1);
  const query = '{ product(id: "1") { name } }';
  assert.equal((await gw!.query(query)).status, 200);
  await redis.stop();
  const calls = products.stats.requests;
  const refused = await gw!.query(query);
  assert.equal(refused.status, 503);
  assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMIT_STORE_UNAVAILABLE');
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(products.stats.requests, calls, 'nothing reaches the subgraph');
  assert.ok(events.some((e) => e.use === 'rate-limit' && e.fallback === 'closed'));
  await redis.start();
  assert.ok(await eventually(async () => (await gw!.query(query)).status === 200), 'served again once Redis is back');
});

test('row 31, slow Redis: a command that takes longer than the timeout falls back instead of holding the request', async (t) => {
  const redis = await startOwnRedis(t);
  const { gateways: [gw] } = await replicas(t, { store: redis.url, rateLimit: { rules: [{ name: 'all', by: [], limit: 50 }] } }, 1);
  const query = '{ product(id: "1") { name } }';
  assert.equal((await gw!.query(query)).headers.get('ratelimit-limit'), '50');
  await redis.sleep(3);
  const during = await gw!.query(query);
  assert.equal(during.status, 200);
  assert.equal(during.headers.get('ratelimit-limit'), '5', 'answered under the local cap, not after Redis woke up');
});
