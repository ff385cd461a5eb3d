/**
 * Progressive @override (`@override(from:, label: "percent(n)")`, federation
 * v2.7): the overriding subgraph answers the field for n% of requests, the
 * subgraph it was taken from for the others, decided once per request (every
 * occurrence of the field in one request is answered by the same subgraph);
 * a custom label is never on (no coprocessor to switch it); a label out of
 * range stops start-up naming the descriptor and the field. Real
 * @apollo/subgraph subgraphs on loopback.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createGateway } from '../../src/index.js';
import { startGateway, startGraphqlUpstream, type DemoService } from '../kit/index.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])';
const IDS = ['1', '2', '3'];

/** `products` serves Product.price (1) and stock (10); `pricing` takes price over (2) and stock (20) with the given labels. */
async function start(t: TestContext, priceLabel: string, stockLabel: string) {
  const calls = { products: 0, pricing: 0 };
  const products = await startGraphqlUpstream(
    t,
    buildSubgraphSchema({
      typeDefs: parse(`${LINK}
type Query { products: [Product!]! product(id: ID!): Product }
type Product @key(fields: "id") { id: ID! name: String! price: Int stock: Int }`),
      resolvers: {
        Query: { products: () => IDS.map((id) => ({ id })), product: (_: unknown, { id }: { id: string }) => ({ id }) },
        Product: { __resolveReference: (r: { id: string }) => ({ id: r.id }), name: (p: { id: string }) => `P${p.id}`, price: () => 1, stock: () => 10 },
      } as never,
    }),
    {},
    { plugins: [{ onParams: () => void calls.products++ }] },
  );
  const pricing = await startGraphqlUpstream(
    t,
    buildSubgraphSchema({
      typeDefs: parse(`${LINK}
type Product @key(fields: "id") { id: ID! price: Int @override(from: "products", label: "${priceLabel}") stock: Int @override(from: "products", label: "${stockLabel}") }`),
      resolvers: { Product: { __resolveReference: (r: { id: string }) => ({ id: r.id }), price: () => 2, stock: () => 20 } } as never,
    }),
    {},
    { plugins: [{ onParams: () => void calls.pricing++ }] },
  );
  const services: Record<string, DemoService> = { products, pricing };
  const gateway = await startGateway(
    t,
    Object.entries(services).map(([name, s]) => ({ name, kind: 'federation' as const, url: s.url })),
    { mode: 'development' },
  );
  // From here on, only the test's requests (not the `_service` reads at start-up).
  calls.products = 0;
  calls.pricing = 0;
  return { gateway, calls };
}

test('@override(label: "percent(30)"): the overriding subgraph answers about 30% of requests, every occurrence in one request the same', async (t) => {
  const { gateway, calls } = await start(t, 'percent(30)', 'rollout');
  const query = '{ products { id price stock } one: product(id: "2") { price } }';
  const N = 300;
  let overridden = 0;
  const routes = new Set<string>();
  // One at a time: identical requests in flight at once would share one answer (the gateway's dedupe).
  for (let sent = 0; sent < N; sent++) {
    for (const answer of [await gateway.query(query)]) {
      assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
      const prices = [...answer.body.data.products.map((p: { price: number }) => p.price), answer.body.data.one.price];
      assert.equal(new Set(prices).size, 1, `one subgraph answers price everywhere in a request: ${prices.join(',')}`);
      // A custom label ("rollout") is never on: products keeps answering stock.
      assert.ok(answer.body.data.products.every((p: { stock: number }) => p.stock === 10));
      if (prices[0] === 2) overridden++;
      routes.add(`${prices[0]} ${answer.headers.get('tessera-route')}`);
    }
  }
  // 30% of 300 is 90, with a standard deviation of about 7.9: 5 deviations either way.
  assert.ok(overridden >= 50 && overridden <= 130, `the overriding subgraph answered ${overridden} of ${N}`);
  // Off: everything is products' (sent as it is); on: pricing answers price through one _entities call per request.
  assert.deepEqual([...routes].sort(), ['1 direct', '2 planned']);
  assert.equal(calls.pricing, overridden);
  assert.equal(calls.products, N);
});

test('percent(0) never moves the field, percent(100) always does; the direct route follows the label', async (t) => {
  const { gateway, calls } = await start(t, 'percent(100)', 'percent(0)');
  for (let i = 0; i < 20; i++) {
    const answer = await gateway.query('{ products { price stock } }');
    assert.deepEqual(answer.body.data.products, IDS.map(() => ({ price: 2, stock: 10 })));
    assert.equal(answer.headers.get('tessera-route'), 'planned');
  }
  assert.equal(calls.pricing, 20);
  const stockOnly = await gateway.query('{ products { stock } }');
  assert.equal(stockOnly.headers.get('tessera-route'), 'direct');
  assert.deepEqual(stockOnly.body.data.products, IDS.map(() => ({ stock: 10 })));
});

test('an override label out of range stops start-up, naming the descriptor, the field and the label (docs/reliability.md row 71)', async (t) => {
  const sdl = `${LINK}\ntype Query { a: Int }\ntype Product @key(fields: "id") { id: ID! price: Int @override(from: "products", label: "percent(150)") }`;
  const other = `${LINK}\ntype Query { products: [Product] }\ntype Product @key(fields: "id") { id: ID! price: Int }`;
  const pricing = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl) }));
  const products = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(other) }));
  await assert.rejects(
    createGateway({
      gateway: { logging: { level: 'silent' } },
      descriptors: [
        { name: 'products', kind: 'federation', url: products.url },
        { name: 'pricing', kind: 'federation', url: pricing.url },
      ],
    }),
    /Product\.price @override\(label: "percent\(150\)"\)/,
  );
});
