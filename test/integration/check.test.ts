/**
 * `tessera check` catches the configurations that used to pass and then fail
 * or mislead at run time, each named by file and path: OpenAPI documents
 * with broken `$ref`s or invalid types, operations sharing an operationId,
 * response objects left without fields, names in `transforms` that the
 * subgraph does not have, upstreams that do not answer (and /readyz waiting
 * for them), batching advice for joins already batched; and `compose --check`
 * says what changed. Run as a process, as a user runs it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { GraphQLObjectType } from 'graphql';
import { test, type TestContext } from 'node:test';
import { startDemoServices, demoEnv } from '../../subgraphs/demo.js';
import { ok } from '../kit/openapi.js';
import { freePort, runTessera as tessera, startGateway, tempProject as folder } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;
const DEAD = 'http://127.0.0.1:9';

const order = { type: 'object', properties: { id: { type: 'string' }, total: { type: 'number' } } };
function shopDocument(extra: { paths?: object; schemas?: object } = {}): object {
  return {
    openapi: '3.0.3',
    info: { title: 'shop', version: '1' },
    paths: {
      '/orders': { get: { operationId: 'listOrders', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Order' } }) } },
      ...extra.paths,
    },
    components: { schemas: { Order: order, ...extra.schemas } },
  };
}

/** A project with one OpenAPI subgraph `shop` (descriptor lines after `source:`). */
function shop(t: TestContext, document: object, descriptor: string[] = [], url = DEAD): string {
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/shop/openapi.json': JSON.stringify(document),
    'subgraphs/shop/subgraph.yaml': ['name: shop', 'kind: openapi', 'source: ./openapi.json', `url: ${url}`, ...descriptor, ''].join('\n'),
  });
  return join(dir, 'gateway.yaml');
}

/** The lines `tessera check` printed for the user (log lines, JSON, left out). */
const said = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('tessera: ') || line.startsWith('  - '));

test('a $ref to a schema that does not exist and an invalid type stop check (exit 1), each named by file and JSON pointer, with the closest name', async (t) => {
  const document = shopDocument({
    paths: {
      '/orders/{id}': {
        get: {
          operationId: 'getOrder',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: ok({ $ref: '#/components/schemas/Ordr' }),
        },
      },
    },
    schemas: { Refund: { type: 'object', properties: { amount: { type: 'numbr' } } } },
  });
  const config = shop(t, document);
  const { code, stdout, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1, stdout);
  assert.deepEqual(said(stderr), [
    'tessera: 2 problems (SOURCE_LOAD_FAILED):',
    `  - ${join(config, '../subgraphs/shop/subgraph.yaml')}: source: ${join(config, '../subgraphs/shop/openapi.json')}#/paths/~1orders~1{id}/get/responses/200/content/application~1json/schema/$ref: "#/components/schemas/Ordr" names nothing in the document: #/components/schemas has no "Ordr" (did you mean "#/components/schemas/Order"?)`,
    `  - ${join(config, '../subgraphs/shop/subgraph.yaml')}: source: ${join(config, '../subgraphs/shop/openapi.json')}#/components/schemas/Refund/properties/amount/type: type "numbr" is not a JSON Schema type (expected one of string, number, integer, boolean, array, object, null) (did you mean "number"?)`,
  ]);
});

test('with nullability: lenient the same mistakes are warnings, the values map to JSON, and check exits 0', async (t) => {
  const document = shopDocument({ schemas: { Order: { type: 'object', properties: { id: { type: 'string' }, total: { type: 'numbr' } } } } });
  const config = shop(t, document, ['nullability: lenient']);
  const { code, stdout, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 0, stderr);
  assert.ok(
    said(stdout).includes(
      `tessera: warning: shop (openapi): ${join(config, '../subgraphs/shop/subgraph.yaml')}: source: ${join(config, '../subgraphs/shop/openapi.json')}#/components/schemas/Order/properties/total/type: type "numbr" is not a JSON Schema type (expected one of string, number, integer, boolean, array, object, null) (did you mean "number"?)`,
    ),
    stdout,
  );
  const gw = await startGateway(t, [{ name: 'shop', kind: 'openapi', source: join(config, '../subgraphs/shop/openapi.json'), url: DEAD, nullability: 'lenient' }]);
  const total = (gw.gateway.schema.getType('Order') as GraphQLObjectType).getFields().total!;
  assert.equal(String(total.type), 'JSON');
});

test('two operations with one operationId: a warning naming both and the fields they got', async (t) => {
  const document = shopDocument({
    paths: { '/v2/orders': { get: { operationId: 'listOrders', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Order' } }) } } },
  });
  const config = shop(t, document);
  const { code, stdout, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 0, stderr);
  assert.ok(
    said(stdout).includes(
      `tessera: warning: shop (openapi): ${join(config, '../subgraphs/shop/subgraph.yaml')}: operationId "listOrders" is used by 2 operations: GET /orders (field Query.listOrders), GET /v2/orders (field Query.listOrders2); descriptor keys naming "listOrders" select the first`,
    ),
    stdout,
  );
});

test('a response object whose properties are all writeOnly becomes JSON with a warning, and the schema (and the source) loads and answers', async (t) => {
  let upstream: Server | undefined;
  const answers = new Promise<string>((resolve) => {
    upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"stored"}'));
    upstream.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(upstream!.address() as AddressInfo).port}`));
  });
  const url = await answers;
  t.after(() => upstream!.close());
  const secret = { type: 'object', properties: { value: { type: 'string', writeOnly: true } } };
  const document = shopDocument({
    paths: { '/secret': { get: { operationId: 'getSecret', responses: ok({ $ref: '#/components/schemas/Secret' }) } } },
    schemas: { Secret: secret },
  });
  const config = shop(t, document, [], url);
  const { code, stdout, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 0, stderr);
  assert.ok(
    said(stdout).includes(
      `tessera: warning: shop (openapi): ${join(config, '../subgraphs/shop/subgraph.yaml')}: source: ${join(config, '../subgraphs/shop/openapi.json')}#/components/schemas/Secret: an object with no properties left for responses (all writeOnly) is mapped to the JSON scalar`,
    ),
    stdout,
  );
  const gw = await startGateway(t, [{ name: 'shop', kind: 'openapi', source: join(config, '../subgraphs/shop/openapi.json'), url }]);
  const res = await gw.query('{ getSecret }');
  assert.deepEqual(res.body, { data: { getSecret: { status: 'stored' } } });
});

test('names in transforms.hide and transforms.rename that the subgraph does not have stop check, with did-you-mean', async (t) => {
  const config = shop(t, shopDocument(), [
    'transforms:',
    '  hide: [Query.listOrder, Ordr]',
    '  rename: { types: { Customer: Client }, fields: { Order.totl: amount } }',
  ]);
  const { code, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1);
  const file = join(config, '../subgraphs/shop/subgraph.yaml');
  assert.deepEqual(said(stderr), [
    'tessera: 4 problems (CONFIG_INVALID):',
    `  - ${file}: transforms.hide: subgraph "shop" has no field Query.listOrder (did you mean "Query.listOrders"?)`,
    `  - ${file}: transforms.hide: subgraph "shop" has no type Ordr (did you mean "Order"?)`,
    `  - ${file}: transforms.rename.types.Customer: subgraph "shop" has no type Customer`,
    `  - ${file}: transforms.rename.fields."Order.totl": subgraph "shop" has no field Order.totl (did you mean "Order.total"?)`,
  ]);
});

test('check warns about each subgraph whose upstream does not answer: REST, gRPC and GraphQL with a schema from a file', async (t) => {
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/shop/openapi.json': JSON.stringify(shopDocument()),
    'subgraphs/shop/subgraph.yaml': `name: shop\nkind: openapi\nsource: ./openapi.json\nurl: ${DEAD}\n`,
    'subgraphs/kitchen/subgraph.yaml': `name: kitchen\nkind: grpc\nsource: ${join(root, 'test/fixtures/grpc/kitchen.proto')}\nincludePaths: [${join(root, 'test/fixtures/grpc/include')}]\nurl: grpc://127.0.0.1:9\nrequired: false\n`,
    'subgraphs/slow/subgraph.yaml': `name: slow\nkind: graphql\nsource: ${join(root, 'test/fixtures/graphql/slow/schema.graphql')}\nurl: ${DEAD}/graphql\n`,
  });
  const { code, stdout, stderr } = await tessera(['check', '-c', join(dir, 'gateway.yaml')]);
  assert.equal(code, 0, stderr);
  const warnings = said(stdout).filter((line) => line.includes('no upstream answered'));
  assert.deepEqual(warnings.sort(), [
    `tessera: warning: ${join(dir, 'subgraphs/kitchen/subgraph.yaml')}: subgraph "kitchen": no upstream answered (grpc://127.0.0.1:9: ECONNREFUSED 127.0.0.1:9)`,
    `tessera: warning: ${join(dir, 'subgraphs/shop/subgraph.yaml')}: subgraph "shop": no upstream answered (http://127.0.0.1:9: ECONNREFUSED 127.0.0.1:9); /readyz would not report ready until it does`,
    `tessera: warning: ${join(dir, 'subgraphs/slow/subgraph.yaml')}: subgraph "slow": no upstream answered (http://127.0.0.1:9/graphql: ECONNREFUSED 127.0.0.1:9); /readyz would not report ready until it does`,
  ]);
});

test('/readyz is not ready while a required subgraph has never answered, and is once a call to it is answered', async (t) => {
  const port = await freePort();
  const source = join(shop(t, shopDocument()), '../subgraphs/shop/openapi.json');
  const gw = await startGateway(t, [{ name: 'shop', kind: 'openapi', source, url: `http://127.0.0.1:${port}`, retry: { attempts: 1 } }]);
  const waiting = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
  assert.equal(waiting.status, 503);
  assert.deepEqual(await waiting.json(), { status: 'waiting', subgraphs: ['shop'] });

  const upstream = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[{"id":"o1","total":3}]'));
  await new Promise<void>((resolve) => upstream.listen(port, '127.0.0.1', resolve));
  t.after(() => upstream.close());
  assert.deepEqual((await gw.query('{ listOrders { id total } }')).body, { data: { listOrders: [{ id: 'o1', total: 3 }] } });
  const ready = await fetch(`http://127.0.0.1:${gw.port}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
});

test('server.readiness: loaded reports ready without waiting for an answer; an optional subgraph is never waited for', async (t) => {
  const source = join(shop(t, shopDocument()), '../subgraphs/shop/openapi.json');
  const loaded = await startGateway(t, [{ name: 'shop', kind: 'openapi', source, url: DEAD }], { server: { readiness: 'loaded' } });
  assert.equal((await fetch(`http://127.0.0.1:${loaded.port}/readyz`)).status, 200);
  const optional = await startGateway(t, [{ name: 'shop', kind: 'openapi', source, url: DEAD, required: false }]);
  assert.equal((await fetch(`http://127.0.0.1:${optional.port}/readyz`)).status, 200);
  await assert.rejects(startGateway(t, [{ name: 'shop', kind: 'openapi', source, url: DEAD }], { server: { readiness: 'always' } as never }), /server\.readiness/);
});

test('on the demo, check gives no batching advice for joins that are already batched (Price, Category)', async (t) => {
  const demo = await startDemoServices(Object.fromEntries(['accounts', 'reviews', 'catalog', 'inventory'].map((n) => [n, 0])));
  t.after(() => demo.close());
  const { code, stdout, stderr } = await tessera(['check', '-c', join(root, 'gateway.yaml')], demoEnv(demo, {}));
  assert.equal(code, 0, stderr);
  const lines = said(stdout);
  assert.deepEqual(lines.slice(1, lines.indexOf('tessera: compared with schema/ (snapshot folder): the unified graph and every channel')), [
    'tessera: catalog (openapi): entity keys proposed: Product by id (getProduct), Category by id (getCategory)',
    'tessera: catalog (openapi): bulk endpoints: Product by id (listProducts, parameter ids), Price by productId (listPrices, parameter productIds), Category by id (listCategories, parameter ids)',
  ]);
  // Then the comparison with the snapshots checked in beside gateway.yaml, which the demo matches.
  assert.deepEqual(lines.slice(-2), ['tessera: no change from what runs', 'tessera: nothing breaks: 0 dangerous changes, 0 safe changes (compared with schema/ (snapshot folder))']);
});

test('compose --check lists what changed in a stale snapshot, with its criticality', async (t) => {
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/shop/openapi.json': JSON.stringify(shopDocument()),
    'subgraphs/shop/subgraph.yaml': `name: shop\nkind: openapi\nsource: ./openapi.json\nurl: ${DEAD}\n`,
    'schema/unified.graphql': 'type Order {\n  id: ID\n  note: String\n}\n\ntype Query {\n  listOrders: [Order!]\n}\n',
  });
  const { code, stderr } = await tessera(['compose', '--check', '-c', join(dir, 'gateway.yaml')]);
  assert.equal(code, 3);
  assert.equal(
    stderr,
    [
      'tessera: the schema snapshot is stale; run `tessera compose` and commit:',
      `  - ${join(dir, 'schema/unified.graphql')}`,
      "      BREAKING: Field 'note' was removed from object type 'Order'",
      "      NON_BREAKING: Field 'total' was added to object type 'Order'",
      '',
    ].join('\n'),
  );
});
