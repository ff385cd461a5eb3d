/**
 * The response cache (memory store) and in-flight deduplication, as a client
 * sees them: upstream call counts, Cache-Control / ETag / 304, private data
 * kept per caller (row 32 of docs/reliability.md), mutations invalidating what they
 * touch.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { deferred, startGateway, startGraphqlUpstream } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { dedupeChannel } from '../../src/plugins/use-dedupe.js';

type DescriptorCacheInput = Record<string, string | { ttl?: string; private?: boolean }>;

const SDL = `
  type Product { id: ID! name: String! price: Int! }
  type Account { id: ID! email: String! }
  type Order { id: ID! total: Int! }
  type Query { product(id: ID!): Product products: [Product!]! me: Account orders: [Order!]! broken: Product }
  type Mutation { renameProduct(id: ID!, name: String!): Product }
`;

function catalog() {
  const names = new Map([['1', 'lamp'], ['2', 'desk']]);
  const product = (id: string) => (names.has(id) ? { id, name: names.get(id)!, price: 10 } : null);
  let gate: Promise<void> | undefined;
  const resolvers = {
    Query: {
      product: async (_: unknown, { id }: { id: string }) => {
        await gate;
        return product(id);
      },
      products: () => [...names.keys()].map(product),
      me: (_: unknown, __: unknown, ctx: { request: Request }) => {
        const user = ctx.request.headers.get('authorization')?.replace('Bearer ', '');
        return user ? { id: user, email: `${user}@example.com` } : null;
      },
      orders: () => [{ id: 'o1', total: 5 }],
      broken: () => {
        throw new Error('boom');
      },
    },
    Mutation: {
      renameProduct: (_: unknown, { id, name }: { id: string; name: string }) => {
        names.set(id, name);
        return product(id);
      },
    },
  };
  return { resolvers, hold: (until: Promise<void>) => (gate = until) };
}

async function setup(
  t: TestContext,
  gateway: GatewayFileInput = {},
  cache: DescriptorCacheInput = { Product: '60s', Account: { ttl: '60s', private: true } },
  headers: { forward: string[] } = { forward: ['authorization'] },
) {
  const shop = catalog();
  const upstream = await startGraphqlUpstream(t, SDL, shop.resolvers);
  const gw = await startGateway(t, [{ name: 'shop', kind: 'graphql', url: upstream.url, headers, cache }], {
    cache: { debugHeader: true },
    ...gateway,
  });
  const base = upstream.stats.requests;
  return { gw, upstream, calls: () => upstream.stats.requests - base, hold: shop.hold };
}

test('a query of cached types is answered from the cache: one upstream call, HIT, Cache-Control and ETag', async (t) => {
  const { gw, calls } = await setup(t);
  const first = await gw.query('{ product(id: "1") { id name } }');
  assert.deepEqual(first.body, { data: { product: { id: '1', name: 'lamp' } } });
  assert.equal(first.headers.get('x-tessera-cache'), 'MISS');
  assert.match(first.headers.get('cache-control') ?? '', /^public, max-age=(59|60)$/);
  const second = await gw.query('{ product(id: "1") { id name } }');
  assert.deepEqual(second.body, first.body);
  assert.equal(second.headers.get('x-tessera-cache'), 'HIT');
  assert.equal(second.headers.get('etag'), first.headers.get('etag'));
  assert.equal(calls(), 1);
  const otherVariables = await gw.query('query($id: ID!) { product(id: $id) { id name } }', { id: '2' });
  assert.equal(otherVariables.body.data?.product.name, 'desk');
  assert.equal(calls(), 2, 'other variables are another entry');
});

test('If-None-Match with the current ETag gets 304 and no body', async (t) => {
  const { gw } = await setup(t);
  const first = await gw.query('{ product(id: "1") { name } }');
  const etag = first.headers.get('etag');
  assert.ok(etag);
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'if-none-match': etag },
    body: JSON.stringify({ query: '{ product(id: "1") { name } }' }),
  });
  assert.equal(res.status, 304);
  assert.equal(await res.text(), '');
  assert.equal(res.headers.get('etag'), etag);
  const stale = await gw.query('{ product(id: "1") { name } }', undefined, { 'if-none-match': '"something-else"' });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.data?.product.name, 'lamp');
});

test('a response with a type that has no TTL, or with errors, is not cached', async (t) => {
  const { gw, calls } = await setup(t);
  await gw.query('{ orders { id total } }');
  const again = await gw.query('{ orders { id total } }');
  assert.equal(again.headers.get('x-tessera-cache'), 'MISS');
  assert.equal(again.headers.get('cache-control'), null);
  assert.equal(calls(), 2);
  await gw.query('{ broken { id } }');
  await gw.query('{ broken { id } }');
  assert.equal(calls(), 4);
  await gw.query('{ product(id: "1") { id } orders { id } }');
  await gw.query('{ product(id: "1") { id } orders { id } }');
  assert.equal(calls(), 6, 'one uncacheable type makes the whole response uncacheable');
});

test('row 32: a private type is cached per caller and never served to another; anonymous callers are not cached', async (t) => {
  const { gw, calls } = await setup(t);
  const alice = await gw.query('{ me { email } }', undefined, { authorization: 'Bearer alice' });
  assert.equal(alice.body.data?.me.email, 'alice@example.com');
  assert.match(alice.headers.get('cache-control') ?? '', /^private, max-age=/);
  const bob = await gw.query('{ me { email } }', undefined, { authorization: 'Bearer bob' });
  assert.equal(bob.body.data?.me.email, 'bob@example.com', 'bob never gets alice\'s cached answer');
  assert.equal(calls(), 2);
  const aliceAgain = await gw.query('{ me { email } }', undefined, { authorization: 'Bearer alice' });
  assert.equal(aliceAgain.body.data?.me.email, 'alice@example.com');
  assert.equal(aliceAgain.headers.get('x-tessera-cache'), 'HIT');
  assert.equal(calls(), 2);
  await gw.query('{ me { email } }');
  const anonymous = await gw.query('{ me { email } }');
  assert.equal(anonymous.body.data?.me, null);
  assert.equal(anonymous.headers.get('x-tessera-cache'), 'MISS');
  assert.equal(calls(), 4, 'private data without a caller to key it by is not cached');
});

test('a mutation returning an entity invalidates every cached response containing it, and only those', async (t) => {
  const { gw, calls } = await setup(t);
  await gw.query('{ product(id: "1") { name } }');
  await gw.query('{ products { id name } }');
  await gw.query('{ product(id: "2") { name } }');
  assert.equal(calls(), 3);
  const renamed = await gw.query('mutation { renameProduct(id: "1", name: "bright lamp") { id name } }');
  assert.deepEqual(renamed.body.data, { renameProduct: { id: '1', name: 'bright lamp' } });
  const one = await gw.query('{ product(id: "1") { name } }');
  assert.equal(one.body.data?.product.name, 'bright lamp');
  assert.equal(one.headers.get('x-tessera-cache'), 'MISS');
  const all = await gw.query('{ products { id name } }');
  assert.deepEqual(all.body.data?.products.map((p: { name: string }) => p.name), ['bright lamp', 'desk']);
  const two = await gw.query('{ product(id: "2") { name } }');
  assert.equal(two.headers.get('x-tessera-cache'), 'HIT', 'a response without Product:1 stays cached');
  assert.equal(calls(), 3 + 1 + 2);
});

test('concurrent identical queries run once; different callers and mutations are never merged', async (t) => {
  const { gw, calls, hold } = await setup(t, {}, {});
  const gate = deferred();
  hold(gate.promise);
  const query = '{ product(id: "1") { name } }';
  const same = [gw.query(query, undefined, { authorization: 'Bearer alice' }), gw.query(query, undefined, { authorization: 'Bearer alice' }), gw.query(query, undefined, { authorization: 'Bearer alice' })];
  const other = gw.query(query, undefined, { authorization: 'Bearer bob' });
  // Let the upstream answer once alice's second and third queries have joined her first.
  let joined = 0;
  const onJoin = (): void => {
    if (++joined === 2) gate.resolve();
  };
  dedupeChannel.subscribe(onJoin);
  t.after(() => dedupeChannel.unsubscribe(onJoin));
  const results = await Promise.all([...same, other]);
  for (const r of results) assert.equal(r.body.data?.product.name, 'lamp');
  assert.equal(calls(), 2, 'alice\'s three queries share one call; bob gets his own');

  const mutation = 'mutation { renameProduct(id: "2", name: "oak desk") { id } }';
  await Promise.all([gw.query(mutation), gw.query(mutation)]);
  assert.equal(calls(), 4, 'two mutations, two calls');
});

test('cache.enabled: false turns the response cache off whatever the descriptors say', async (t) => {
  const { gw, calls } = await setup(t, { cache: { enabled: false, debugHeader: true } });
  await gw.query('{ product(id: "1") { name } }');
  const second = await gw.query('{ product(id: "1") { name } }');
  assert.equal(second.headers.get('x-tessera-cache'), null);
  assert.equal(calls(), 2);
});

test('a descriptor cache hint naming an unknown type or field stops start-up', async (t) => {
  await assert.rejects(setup(t, {}, { Prodcut: '60s' }), /cache\.Prodcut: subgraph "shop" has no type Prodcut/);
  await assert.rejects(setup(t, {}, { 'Product.nme': '60s' }), /cache\.Product\.nme: subgraph "shop" has no field Product\.nme/);
});
