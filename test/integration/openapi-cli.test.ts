/**
 * `tessera check` on a REST subgraph, run as a process: besides "ok", it
 * prints the entity keys and bulk endpoints the OpenAPI document proposes,
 * the descriptor line that turns batching on, and a warning for each join
 * that would cost one upstream call per parent (N+1), saying whether a bulk
 * endpoint could batch it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ok } from '../kit/openapi.js';
import { runTessera as tessera, tempProject as folder } from '../kit/index.js';

const byId = (operationId: string, ref: string) => ({
  get: { operationId, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ $ref: `#/components/schemas/${ref}` }) },
});
const shop = {
  openapi: '3.0.3',
  info: { title: 'shop', version: '1' },
  paths: {
    '/orders': { get: { operationId: 'listOrders', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Order' } }) } },
    '/customers/{id}': byId('getCustomer', 'Customer'),
    '/products/{id}': byId('getProduct', 'Product'),
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
      Order: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, customerId: { type: 'string' }, productIds: { type: 'array', items: { type: 'string' } } } },
      Customer: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
      Product: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, title: { type: 'string' } } },
    },
  },
};

/** Runs `tessera check` on a gateway with the shop subgraph (descriptor lines after `url:`); returns its stdout once it exits 0. */
async function checkShop(t: TestContext, descriptor: string[]): Promise<string> {
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/shop/openapi.json': JSON.stringify(shop),
    'subgraphs/shop/subgraph.yaml': ['name: shop', 'kind: openapi', 'source: ./openapi.json', 'url: http://127.0.0.1:9', ...descriptor, ''].join('\n'),
  });
  const { code, stdout, stderr } = await tessera(['check', '-c', join(dir, 'gateway.yaml')]);
  assert.equal(code, 0, stderr);
  return withoutDeadUpstream(stdout);
}

/**
 * check's own lines (JSON log lines left out). The upstream here is a port nothing listens on (the report makes
 * no call), so check says so on its second line (check.test.ts tests that line); the report lines follow it. The
 * project has no schema snapshot, so check's last line says there is nothing to compare with (check-breaking.test.ts).
 */
function withoutDeadUpstream(stdout: string): string {
  const lines = stdout.split('\n').filter((line) => line.startsWith('tessera: '));
  assert.match(lines[1]!, /^tessera: warning: .*subgraph\.yaml: subgraph "\w+": no upstream answered \(http:\/\/127\.0\.0\.1:9: ECONNREFUSED 127\.0\.0\.1:9\)/);
  assert.match(lines.at(-1)!, /^tessera: note: nothing to compare with: no schema snapshot at /);
  return lines.filter((_, i) => i !== 1 && i !== lines.length - 1).join('\n');
}

test('tessera check reports proposed entity keys and bulk endpoints, and warns about N+1 joins of an OpenAPI subgraph', async (t) => {
  const stdout = await checkShop(t, [
    'joins:',
    '  Order.customer: { operation: getCustomer, from: customerId }',
    '  Order.products: { operation: getProduct, from: productIds }',
  ]);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^tessera: ok: 1 subgraphs \(shop\)/);
  assert.deepEqual(lines.slice(1), [
    'tessera: shop (openapi): entity keys proposed: Customer by id (getCustomer), Product by id (getProduct)',
    'tessera: shop (openapi): bulk endpoints: Product by id (listProducts, parameter ids)',
    'tessera: shop (openapi): to batch Product joins, add: entities: { Product: { key: id, batch: { field: shopProductsByIds, argument: ids } } }',
    'tessera: shop (openapi): fetched one at a time only (a join to them would cost one call per parent; declare `bulk.<Type>` if the service has a bulk endpoint): Customer',
    'tessera: warning: shop (openapi): N+1: Order.customer calls getCustomer once per parent and no bulk endpoint was found',
    'tessera: warning: shop (openapi): N+1: Order.products calls getProduct once per parent; batch it with `batch: { operation: listProducts, parameter: ids }`',
  ]);
});

test('after following the advice, check has no N+1 warning left for the batched joins', async (t) => {
  const stdout = await checkShop(t, [
    'entities:',
    '  Product: { key: id, batch: { field: shopProductsByIds, argument: ids } }',
    'joins:',
    '  Order.products: { operation: getProduct, from: productIds, batch: { operation: listProducts, parameter: ids } }',
  ]);
  // Exactly what the user sees: no N+1 warning and no batching advice left, the rest unchanged.
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^tessera: ok: 1 subgraphs \(shop\)/);
  assert.deepEqual(lines.slice(1), [
    'tessera: shop (openapi): entity keys proposed: Customer by id (getCustomer), Product by id (getProduct)',
    'tessera: shop (openapi): bulk endpoints: Product by id (listProducts, parameter ids)',
    'tessera: shop (openapi): fetched one at a time only (a join to them would cost one call per parent; declare `bulk.<Type>` if the service has a bulk endpoint): Customer',
  ]);
});

test('tessera check warns about each header parameter the schema does not offer: name, operation and why (Accept, ignored as the OpenAPI spec says, without a word)', async (t) => {
  const header = (name: string, required = false) => ({ name, in: 'header', required, schema: { type: 'string' } });
  const profiles = {
    openapi: '3.0.3',
    info: { title: 'profiles', version: '1' },
    paths: {
      '/profile': {
        get: { operationId: 'getProfile', parameters: [header('X-User-Id', true), header('Host'), header('Cookie'), header('Authorization'), header('Accept'), header('X-Request-Tag')], responses: ok({ type: 'object', properties: { ok: { type: 'boolean' } } }) },
      },
    },
  };
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/profiles/openapi.json': JSON.stringify(profiles),
    'subgraphs/profiles/subgraph.yaml': ['name: profiles', 'kind: openapi', 'source: ./openapi.json', 'url: http://127.0.0.1:9', 'headers: { identity: { x-user-id: subject } }', ''].join('\n'),
  });
  const { code, stdout, stderr } = await tessera(['check', '-c', join(dir, 'gateway.yaml')]);
  assert.equal(code, 0, stderr);
  // The report's lines (the same warnings are also in the load's JSON log lines, for `serve`).
  const lines = withoutDeadUpstream(stdout).trim().split('\n').filter((line) => line.startsWith('tessera: '));
  assert.match(lines[0]!, /^tessera: ok: 1 subgraphs \(profiles\)/);
  assert.deepEqual(lines.slice(1), [
    "tessera: warning: profiles (openapi): header parameter X-User-Id of getProfile is not offered as an argument: an identity header (headers.identity): only the verified caller's identity sets it (the document marks it required: the upstream gets no such header)",
    'tessera: warning: profiles (openapi): header parameter Host of getProfile is not offered as an argument: owned by the gateway (hop-by-hop, framing, Host or media type)',
    'tessera: warning: profiles (openapi): header parameter Cookie of getProfile is not offered as an argument: a credential: sent only where headers.forward lists cookie',
    'tessera: warning: profiles (openapi): header parameter Authorization of getProfile is not offered as an argument: a credential: headers.authorization alone decides what reaches the upstream',
  ]);
});
