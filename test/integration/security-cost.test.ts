/**
 * The cost estimate counts the items a size argument asks for wherever the
 * list is: behind a page object (`listProducts(limit:) { items }`), in a
 * generated connection's edges and nodes, whatever the argument's name
 * (`per_page`, `page_size`, `top`) or scalar type (Int, BigInt, a numeric
 * string), given as a literal or a variable, or the source's default when it
 * is absent. A refused query costs no upstream a call; a small page is
 * answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { json, ok, startRest, type RestServer } from '../kit/openapi.js';
import { recordingUpstream } from '../kit/security.js';
import { startDemo, startGateway, tempProject, type GraphqlResponse, type RunningDemo } from '../kit/index.js';

function assertTooExpensive(res: GraphqlResponse): void {
  assert.equal(res.status, 400, res.text.slice(0, 300));
  assert.deepEqual(res.body.errors?.map((e) => e.extensions?.code), ['COST_ESTIMATED_TOO_EXPENSIVE'], res.text.slice(0, 300));
}

// Each product: its reviews, their authors, and their reviews (about 120 fields).
const PRODUCT = '{ id reviews { author { reviews { body } } } }';

describe('the demo graph: list sizes behind a page object, a connection and per_page', () => {
  let demo: RunningDemo;
  before(async () => {
    demo = await startDemo(undefined);
  });
  after(() => demo.gateway.close().then(() => demo.demo.close()));

  test('listProducts(limit: 1000) { items } is refused like topProducts(first: 60), and no service is called', async () => {
    demo.resetCalls();
    assertTooExpensive(await demo.query(`{ listProducts(limit: 1000) { items ${PRODUCT} } }`));
    assertTooExpensive(await demo.query(`query ($n: Int) { listProducts(limit: $n) { total items ${PRODUCT} } }`, { n: 1000 }));
    assertTooExpensive(await demo.query(`{ page: listProducts(limit: 1000) { ...Page } } fragment Page on ProductPage { items ${PRODUCT} }`));
    assertTooExpensive(await demo.query(`{ topProducts(first: 60) ${PRODUCT} }`));
    assert.deepEqual(demo.calls(), { accounts: 0, catalog: 0, inventory: 0, reviews: 0 });
    const small = await demo.query(`query ($n: Int) { listProducts(limit: $n) { items ${PRODUCT} } }`, { n: 3 });
    assert.equal(small.status, 200, small.text.slice(0, 300));
    assert.equal(small.body.data.listProducts.items.length, 3);
    assert.ok(demo.calls().catalog! >= 1);
  });

  test('a per_page argument and a connection\'s first count the items they ask for', async () => {
    demo.resetCalls();
    assertTooExpensive(await demo.query(`{ searchProducts(q: "p", per_page: 1000) ${PRODUCT} }`));
    assertTooExpensive(await demo.query(`{ listProductsConnection(first: 1000) { edges { node ${PRODUCT} } } }`));
    assertTooExpensive(await demo.query(`query ($n: Int) { listProductsConnection(first: $n) { nodes ${PRODUCT} } }`, { n: 1000 }));
    assert.deepEqual(demo.calls(), { accounts: 0, catalog: 0, inventory: 0, reviews: 0 });
    const connection = await demo.query(`{ listProductsConnection(first: 2) { nodes ${PRODUCT} } }`);
    assert.equal(connection.status, 200, connection.text.slice(0, 300));
    assert.equal(connection.body.data.listProductsConnection.nodes.length, 2);
  });
});

describe('an OpenAPI source: BigInt and string sizes, a size by any name, the default page size', () => {
  let rest: RestServer;
  const thing = { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } };
  const spec = {
    openapi: '3.0.3',
    info: { title: 'things', version: '1' },
    paths: {
      // page_size is `integer` without a format: a BigInt, which a client may send as "100000".
      '/things': {
        get: {
          operationId: 'things',
          parameters: [{ name: 'page_size', in: 'query', schema: { type: 'integer' } }, { name: '$top', in: 'query', schema: { type: 'string' } }],
          responses: ok({ type: 'object', properties: { rows: { type: 'array', items: thing }, total: { type: 'integer', format: 'int32' } } }),
        },
      },
      // No size given: the upstream sends its default page of 500.
      '/feed': { get: { operationId: 'feed', parameters: [{ name: 'per_page', in: 'query', schema: { type: 'integer', format: 'int32', default: 500 } }], responses: ok({ type: 'array', items: thing }) } },
    },
  };
  before(async () => {
    rest = await startRest((req, res) => {
      const size = Number(new URL(req.url, 'http://x').searchParams.get('page_size') ?? 1);
      json(res, 200, { rows: Array.from({ length: size }, (_v, i) => ({ id: `t${i}`, name: `thing ${i}` })), total: 9 });
    });
  });
  after(() => rest.close());

  const gateway = async (t: TestContext, keys: Record<string, unknown> = {}) => {
    const dir = tempProject(t, { 'openapi.json': JSON.stringify(spec) });
    const gw = await startGateway(t, [{ name: 'shop', kind: 'openapi', source: './openapi.json', dir, url: rest.url, ...keys }], { security: { limits: { cost: { max: 1000 } } } });
    await rest.watch.declare(gw.gateway.descriptors[0]!);
    return gw;
  };

  test('a BigInt size as a string literal, as a variable, and a numeric-string $top are counted; no upstream call', async (t) => {
    const gw = await gateway(t);
    rest.calls.length = 0;
    assertTooExpensive(await gw.query('{ things(page_size: "100000") { rows { id name } } }'));
    assertTooExpensive(await gw.query('{ things(page_size: 100000) { rows { id name } } }'));
    assertTooExpensive(await gw.query('query ($n: BigInt) { things(page_size: $n) { rows { id name } } }', { n: '100000' }));
    // `$top` in the document, `top` in GraphQL, a String: "5000" is 5000 items.
    assertTooExpensive(await gw.query('{ things(top: "5000") { rows { id } } }'));
    assertTooExpensive(await gw.query('{ feed { id name } }'));
    assert.equal(rest.calls.length, 0);
    const small = await gw.query('query ($n: BigInt) { things(page_size: $n) { rows { id name } } }', { n: '4' });
    assert.equal(small.status, 200, small.text.slice(0, 300));
    assert.equal(small.body.data.things.rows.length, 4);
    assert.equal(rest.calls.length, 1);
  });

  test('a descriptor that renames the page\'s list field keeps it sized', async (t) => {
    const gw = await gateway(t, { transforms: { rename: { fields: { 'ThingsResponse.rows': 'list' } } } });
    rest.calls.length = 0;
    assertTooExpensive(await gw.query('{ things(page_size: 100000) { list { id name } } }'));
    assert.equal(rest.calls.length, 0);
    const small = await gw.query('{ things(page_size: 2) { list { id } } }');
    assert.equal(small.status, 200, small.text.slice(0, 300));
    assert.equal(small.body.data.things.list.length, 2);
  });
});

describe('a GraphQL source: a size argument on a page object or a connection sizes the lists under it', () => {
  const SDL = `
    type Query { products(per_page: Int): ProductPage productsConnection(first: Int): ProductConnection }
    type ProductPage { items: [Product!]! total: Int }
    type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! }
    type ProductEdge { cursor: String node: Product }
    type Product { id: ID! name: String }
  `;
  const products = (n: number) => Array.from({ length: n }, (_v, i) => ({ id: `p${i}`, name: `product ${i}` }));
  const resolvers = {
    Query: {
      products: (_: unknown, { per_page }: { per_page?: number }) => ({ items: products(per_page ?? 2), total: 9 }),
      productsConnection: (_: unknown, { first }: { first?: number }) => ({ edges: products(first ?? 2).map((node) => ({ cursor: node.id, node })), nodes: products(first ?? 2) }),
    },
  };

  test('products(per_page: 1000) { items } and productsConnection(first: 1000) { edges } are refused; a small page is answered', async (t) => {
    const upstream = await recordingUpstream(t, SDL, resolvers);
    const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], { security: { limits: { cost: { max: 1000 } } } });
    upstream.reset();
    assertTooExpensive(await gw.query('{ products(per_page: 1000) { items { id name } } }'));
    assertTooExpensive(await gw.query('query ($n: Int) { productsConnection(first: $n) { edges { node { id name } } } }', { n: 1000 }));
    assert.equal(upstream.stats.requests, 0);
    const small = await gw.query('{ products(per_page: 3) { items { id name } } }');
    assert.equal(small.status, 200, small.text.slice(0, 300));
    assert.equal(small.body.data.products.items.length, 3);
    assert.equal(upstream.stats.requests, 1);
  });
});
