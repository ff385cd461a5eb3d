/**
 * Joins without a bulk endpoint, and what the document proposes for joins:
 * the entity entry point falls back to one GET per distinct key (shared
 * within the request, at most `concurrency` in flight), and the inspection
 * used by `tessera check` names keys, bulk endpoints and N+1 joins.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphQLObjectType } from 'graphql';
import pino from 'pino';
import { parseDescriptor } from '../../src/config/load.js';
import { inspectOpenapiSource } from '../../src/sources/openapi/load.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, FIXTURES, json, loadOpenapi, plain, run, startRest } from '../kit/openapi.js';

const user = { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' }, teamId: { type: 'string' } } };
const team = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, title: { type: 'string' } } };
const spec = {
  openapi: '3.0.3',
  info: { title: 'joins', version: '1' },
  paths: {
    '/users/{id}': { get: { operationId: 'getUser', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ $ref: '#/components/schemas/User' }) } },
    '/users': { get: { operationId: 'listUsers', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/User' } }) } },
    '/teams/{teamId}': { get: { operationId: 'getTeam', parameters: [{ name: 'teamId', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ $ref: '#/components/schemas/Team' }) } },
    '/teams/search': {
      post: {
        operationId: 'searchTeams',
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } } } } },
        responses: ok({ type: 'object', properties: { results: { type: 'array', items: { $ref: '#/components/schemas/Team' } } } }),
      },
    },
  },
  components: { schemas: { User: user, Team: team } },
};

test('an entity without a bulk endpoint is fetched once per distinct key, with at most `concurrency` calls in flight; 404 is null', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const server = await startRest(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight--;
    const id = req.url.split('/')[2]!;
    if (id === 'u404') return json(res, 404, { message: 'gone' });
    json(res, 200, { id, name: `User ${id}` });
  });
  const source = await loadOpenapi(spec, server.url, {
    concurrency: 3,
    entities: { User: { key: 'id', batch: { field: 'usersByIds', argument: 'ids' } } },
  });
  try {
    const ids = ['u1', 'u2', 'u1', 'u3', 'u404', 'u4', 'u5', 'u2', 'u6', 'u7'];
    const result = plain(await run(source, 'query($ids: [ID!]!) { usersByIds(ids: $ids) { id name } }', { variables: { ids } }));
    assert.deepEqual(
      result.data.usersByIds,
      ids.map((id) => (id === 'u404' ? null : { id, name: `User ${id}` })),
    );
    assert.equal(result.errors, undefined);
    assert.equal(server.calls.length, 8, 'one call per distinct key');
    assert.ok(maxInFlight <= 3, `at most 3 in flight, saw ${maxInFlight}`);
  } finally {
    await source.close();
    await server.close();
  }
});

test('a POST …/search endpoint taking ids in its body is detected as a bulk endpoint and used for the entity', async () => {
  const server = await startRest((req, res) => {
    const { ids } = JSON.parse(req.body.toString('utf8')) as { ids: string[] };
    json(res, 200, { results: ids.filter((id) => id !== 't9').map((id) => ({ id, title: `Team ${id}` })).reverse() });
  });
  const source = await loadOpenapi(spec, server.url, { entities: { Team: { key: 'id', batch: { field: 'teamsByIds', argument: 'ids' } } } });
  try {
    const result = plain(await run(source, '{ teamsByIds(ids: ["t1", "t9", "t2"]) { id title } }'));
    assert.deepEqual(result.data.teamsByIds, [{ id: 't1', title: 'Team t1' }, null, { id: 't2', title: 'Team t2' }]);
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0]!.url, '/teams/search');
  } finally {
    await source.close();
    await server.close();
  }
});

test('a descriptor join without a batch endpoint shares identical GETs: 4 users of 2 teams cost 1 + 2 calls', async () => {
  const server = await startRest((req, res) => {
    if (req.url === '/users') return json(res, 200, ['a', 'b', 'c', 'd'].map((id, i) => ({ id, name: id, teamId: i % 2 ? 't2' : 't1' })));
    json(res, 200, { id: req.url.split('/')[2], title: 'T' });
  });
  const source = await loadOpenapi(spec, server.url, { joins: { 'User.team': { operation: 'getTeam', from: 'teamId' } } });
  try {
    const result = plain(await run(source, '{ listUsers { id team { id } } }'));
    assert.deepEqual(result.data.listUsers.map((u: { team: { id: string } }) => u.team.id), ['t1', 't2', 't1', 't2']);
    assert.equal(server.calls.length, 3);
  } finally {
    await source.close();
    await server.close();
  }
});

test('a join naming an unknown operation or field is a located configuration error', async () => {
  await assert.rejects(
    loadOpenapi(spec, 'http://127.0.0.1:9', { joins: { 'User.team': { operation: 'getTeem', from: 'teamId' }, 'Nope.x': { operation: 'getTeam', from: 'id' } } }),
    (error: Error) => {
      assert.match(error.message, /<test>: joins\.User\.team\.operation: no operation "getTeem"/);
      assert.match(error.message, /<test>: joins\.Nope\.x: the document has no object type Nope/);
      return true;
    },
  );
});

test('inspection proposes entity keys and bulk endpoints, and names the N+1 joins', async () => {
  const descriptor = parseDescriptor({ name: 'rest', kind: 'openapi', source: 'zoo.yaml', url: 'http://127.0.0.1:9' }, '<test>', FIXTURES, {});
  const { joins: zoo } = await inspectOpenapiSource(descriptor as never, { mode: 'production', logger: pino({ level: 'silent' }) });
  assert.deepEqual(zoo, { entities: [{ type: 'Category', key: 'id', operation: 'getCategory' }], bulk: [], nPlusOne: ['Category'], unbatched: [], batched: [] });

  const catalog = parseDescriptor({ name: 'c', kind: 'openapi', source: '../../../subgraphs/catalog/openapi.yaml', url: 'http://127.0.0.1:9' }, '<test>', FIXTURES, {});
  const { joins: report } = await inspectOpenapiSource(catalog as never, { mode: 'production', logger: pino({ level: 'silent' }) });
  assert.deepEqual(report.bulk, [
    { type: 'Product', operation: 'listProducts', parameter: 'ids', key: 'id' },
    // productIds matches Price.productId (the singular of the parameter)
    { type: 'Price', operation: 'listPrices', parameter: 'productIds', key: 'productId' },
    { type: 'Category', operation: 'listCategories', parameter: 'ids', key: 'id' },
  ]);
  assert.deepEqual(report.nPlusOne, []);
});

const product = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } };
const orderSpec = {
  openapi: '3.0.3',
  info: { title: 'orders', version: '1' },
  paths: {
    '/orders': { get: { operationId: 'listOrders', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Order' } }) } },
    '/products/{id}': { get: { operationId: 'getProduct', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ $ref: '#/components/schemas/Product' }) } },
    '/products': {
      get: {
        operationId: 'listProducts',
        parameters: [{ name: 'ids', in: 'query', explode: false, schema: { type: 'array', items: { type: 'string' } } }],
        responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Product' } }),
      },
    },
  },
  components: {
    schemas: {
      Order: { type: 'object', required: ['id', 'productIds'], properties: { id: { type: 'string' }, productIds: { type: 'array', items: { type: 'string' } } } },
      Product: product,
    },
  },
};
const ORDERS = [
  { id: 'o1', productIds: ['p1', 'p2'] },
  { id: 'o2', productIds: ['p2', 'p404', 'p3'] },
  { id: 'o3', productIds: [] },
];

async function orderServer() {
  return startRest((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/orders') return json(res, 200, ORDERS);
    if (url.pathname === '/products') {
      // The bulk endpoint answers in its own order and leaves out what it does not know.
      const ids = (url.searchParams.get('ids') ?? '').split(',').filter((id) => id !== 'p404');
      return json(res, 200, ids.reverse().map((id) => ({ id, name: `Product ${id}` })));
    }
    const id = url.pathname.split('/')[2]!;
    if (id === 'p404') return json(res, 404, { message: 'no such product' });
    if (id === 'p500') return json(res, 500, { message: 'boom' });
    json(res, 200, { id, name: `Product ${id}` });
  });
}

test('a join whose key is a list (Order.products from productIds) with a bulk endpoint: every order\'s products in one bulk call, in key order', async () => {
  const server = await orderServer();
  const source = await loadOpenapi(orderSpec, server.url, {
    joins: { 'Order.products': { operation: 'getProduct', from: 'productIds', batch: { operation: 'listProducts', parameter: 'ids' } } },
  });
  try {
    assert.equal(String((source.schema.getType('Order') as GraphQLObjectType).getFields().products!.type), '[Product]');
    const result = plain(await run(source, '{ listOrders { id products { id name } } }'));
    assert.equal(result.errors, undefined);
    assert.deepEqual(result.data.listOrders, [
      { id: 'o1', products: [{ id: 'p1', name: 'Product p1' }, { id: 'p2', name: 'Product p2' }] },
      { id: 'o2', products: [{ id: 'p2', name: 'Product p2' }, null, { id: 'p3', name: 'Product p3' }] },
      { id: 'o3', products: [] },
    ]);
    assert.deepEqual(server.calls.map((c) => c.url), ['/orders', '/products?ids=p1%2Cp2%2Cp404%2Cp3'], 'distinct keys of every order in one call');
  } finally {
    await source.close();
    await server.close();
  }
});

test('a list-key join without a bulk endpoint: one GET per distinct key; 404 is a null item, another failure an error at that item', async () => {
  const server = await orderServer();
  const source = await loadOpenapi(orderSpec, server.url, { joins: { 'Order.products': { operation: 'getProduct', from: 'productIds' } } });
  const failing = [{ id: 'o9', productIds: ['p1', 'p500'] }];
  try {
    const result = plain(await run(source, '{ listOrders { id products { id } } }'));
    assert.deepEqual(result.data.listOrders.map((o: { products: Array<{ id: string } | null> }) => o.products.map((p) => p?.id ?? null)), [['p1', 'p2'], ['p2', null, 'p3'], []]);
    assert.equal(result.errors, undefined);
    assert.deepEqual(server.calls.map((c) => c.url).sort(), ['/orders', '/products/p1', '/products/p2', '/products/p3', '/products/p404']);

    ORDERS.push(...failing);
    const partial = plain(await run(source, '{ listOrders { id products { id } } }'));
    assert.deepEqual(partial.data.listOrders[3], { id: 'o9', products: [{ id: 'p1' }, null] });
    assert.equal(partial.errors!.length, 1);
    assert.deepEqual(partial.errors![0].path, ['listOrders', 3, 'products', 1]);
    assert.equal(partial.errors![0].extensions.upstream.status, 500);
  } finally {
    ORDERS.splice(3);
    await source.close();
    await server.close();
  }
});

test('inspection names the declared joins that cost one call per parent, with the bulk endpoint that could batch them', async () => {
  const descriptor = parseDescriptor(
    {
      name: 'rest',
      kind: 'openapi',
      source: 'zoo.yaml',
      url: 'http://127.0.0.1:9',
      entities: { Category: { key: 'id', batch: { field: 'categoriesByIds', argument: 'ids' } } },
    },
    '<test>',
    FIXTURES,
    {},
  );
  const { joins: zoo } = await inspectOpenapiSource(descriptor as never, { mode: 'production', logger: pino({ level: 'silent' }) });
  assert.deepEqual(zoo.unbatched, [{ join: 'entities.Category', operation: 'getCategory' }]);

  const dir = mkdtempSync(join(tmpdir(), 'tessera-joins-'));
  writeFileSync(join(dir, 'orders.json'), JSON.stringify(orderSpec));
  const orders = parseDescriptor(
    { name: 'orders', kind: 'openapi', source: 'orders.json', url: 'http://127.0.0.1:9', joins: { 'Order.products': { operation: 'getProduct', from: 'productIds' } } },
    '<test>',
    dir,
    {},
  );
  const { joins: report } = await inspectOpenapiSource(orders as never, { mode: 'production', logger: pino({ level: 'silent' }) });
  assert.deepEqual(report.unbatched, [{ join: 'Order.products', operation: 'getProduct', bulk: { operation: 'listProducts', parameter: 'ids' } }]);
  assert.deepEqual(report.nPlusOne, []);
});
