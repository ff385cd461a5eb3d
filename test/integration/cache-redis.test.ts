/**
 * The response cache in Redis: replicas share cached responses and
 * invalidations, private data stays per caller across replicas, and a Redis
 * that stops mid-test turns into cache misses (counted), never into errors,
 * until it returns (row 31 of docs/reliability.md).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startGateway, startGraphqlUpstream, type RunningGateway } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { storeChannel, type StoreEvent } from '../../src/store/index.js';
import { eventually, needRedis, REDIS_URL, startOwnRedis, uniquePrefix } from '../kit/redis.js';

/**
 * These tests are about sharing state through Redis, not about Redis being slow (the outage tests below
 * keep the 50 ms default): a test machine under load may take longer than 50 ms to answer, which would
 * make a replica fall back to its local cap.
 */
const SHARING_TIMEOUT = '1s';

const SDL = `
  type Product { id: ID! name: String! }
  type Account { id: ID! email: String! }
  type Query { product(id: ID!): Product me: Account }
  type Mutation { renameProduct(id: ID!, name: String!): Product }
`;

async function replicas(t: TestContext, config: GatewayFileInput, count = 2) {
  const names = new Map([['1', 'lamp'], ['2', 'desk']]);
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: {
      product: (_: unknown, { id }: { id: string }) => ({ id, name: names.get(id) }),
      me: (_: unknown, __: unknown, ctx: { request: Request }) => {
        const user = ctx.request.headers.get('authorization')?.replace('Bearer ', '');
        return user ? { id: user, email: `${user}@example.com` } : null;
      },
    },
    Mutation: {
      renameProduct: (_: unknown, { id, name }: { id: string; name: string }) => {
        names.set(id, name);
        return { id, name };
      },
    },
  });
  const descriptor = {
    name: 'shop',
    kind: 'graphql' as const,
    url: upstream.url,
    headers: { forward: ['authorization'] },
    cache: { Product: '60s', Account: { ttl: '60s', private: true } },
  };
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < count; i++) gateways.push(await startGateway(t, [descriptor], { cache: { debugHeader: true }, ...config }));
  const base = upstream.stats.requests;
  return { gateways, calls: () => upstream.stats.requests - base };
}

test('two replicas share one cache through Redis: a response cached by one is a hit on the other', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { gateways: [a, b], calls } = await replicas(t, { store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT } });
  const first = await a!.query('{ product(id: "1") { id name } }');
  assert.equal(first.headers.get('x-tessera-cache'), 'MISS');
  const second = await b!.query('{ product(id: "1") { id name } }');
  assert.deepEqual(second.body, { data: { product: { id: '1', name: 'lamp' } } });
  assert.equal(second.headers.get('x-tessera-cache'), 'HIT');
  assert.equal(second.headers.get('etag'), first.headers.get('etag'), 'one ETag for one entry, whichever replica answers');
  assert.equal(calls(), 1);
});

test('row 32 across replicas: a private response cached for one user is never served to another', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { gateways: [a, b], calls } = await replicas(t, { store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT } });
  assert.equal((await a!.query('{ me { email } }', undefined, { authorization: 'Bearer alice' })).body.data?.me.email, 'alice@example.com');
  const bob = await b!.query('{ me { email } }', undefined, { authorization: 'Bearer bob' });
  assert.equal(bob.body.data?.me.email, 'bob@example.com');
  assert.equal(bob.headers.get('x-tessera-cache'), 'MISS');
  const alice = await b!.query('{ me { email } }', undefined, { authorization: 'Bearer alice' });
  assert.equal(alice.body.data?.me.email, 'alice@example.com');
  assert.equal(alice.headers.get('x-tessera-cache'), 'HIT');
  assert.equal(calls(), 2);
});

test('a mutation on one replica invalidates the entity\'s responses cached by another', async (t) => {
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  const { gateways: [a, b], calls } = await replicas(t, { store: { url: REDIS_URL, prefix, timeout: SHARING_TIMEOUT } });
  await a!.query('{ product(id: "1") { name } }');
  await a!.query('{ product(id: "2") { name } }');
  assert.equal((await b!.query('{ product(id: "1") { name } }')).headers.get('x-tessera-cache'), 'HIT');
  await b!.query('mutation { renameProduct(id: "1", name: "bright lamp") { id name } }');
  const after = await a!.query('{ product(id: "1") { name } }');
  assert.equal(after.body.data?.product.name, 'bright lamp');
  assert.equal(after.headers.get('x-tessera-cache'), 'MISS');
  assert.equal((await a!.query('{ product(id: "2") { name } }')).headers.get('x-tessera-cache'), 'HIT', 'Product:2 was not touched');
  assert.equal(calls(), 2 + 1 + 1);
});

test('row 31: with the cache\'s Redis killed, queries are answered from the subgraph (counted misses), and caching resumes when it returns', async (t) => {
  const redis = await startOwnRedis(t);
  const events: StoreEvent[] = [];
  const listener = (message: unknown): void => {
    events.push(message as StoreEvent);
  };
  storeChannel.subscribe(listener);
  t.after(() => storeChannel.unsubscribe(listener));
  const { gateways: [gw], calls } = await replicas(t, { store: redis.url }, 1);
  const query = '{ product(id: "1") { name } }';
  await gw!.query(query);
  assert.equal((await gw!.query(query)).headers.get('x-tessera-cache'), 'HIT');

  await redis.stop();
  const during = [await gw!.query(query), await gw!.query(query)];
  for (const res of during) {
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { data: { product: { name: 'lamp' } } });
    assert.equal(res.headers.get('x-tessera-cache'), 'MISS');
  }
  assert.equal(calls(), 3);
  const mutation = await gw!.query('mutation { renameProduct(id: "2", name: "oak desk") { id } }');
  assert.deepEqual(mutation.body.data, { renameProduct: { id: '2' } }, 'a failed invalidation does not fail the mutation');
  assert.ok(events.some((e) => e.use === 'response-cache' && e.fallback === 'miss'), 'the misses are counted on tessera:store');
  // docs/reliability.md row 64: the writes Redis could not take are not lost without a trace either.
  assert.ok(events.some((e) => e.use === 'response-cache' && e.fallback === 'dropped'), 'the entries not stored are counted as dropped');
  assert.ok(events.some((e) => e.use === 'cache-invalidation' && e.fallback === 'dropped'), 'the invalidation not made is counted as dropped');

  await redis.start();
  const resumed = await eventually(async () => (await gw!.query(query)).headers.get('x-tessera-cache') === 'HIT');
  assert.ok(resumed, 'responses are cached again once Redis is back');
});
