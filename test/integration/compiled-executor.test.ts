/**
 * The compiled executor of generated schemas (src/sources/compiled-executor.ts),
 * as the OpenAPI source uses it, answers exactly as graphql-tools' general
 * executor does on the same schema: the same data, the same errors at the
 * same paths, the same upstream calls (the gRPC source has its own cases in
 * grpc-compiled-executor.test.ts). Each case runs both against a real REST
 * server whose next answer the case chooses: clean answers (served by the
 * compiled fast path), answers that break the schema (replayed by the
 * general executor), and documents the fast path does not take.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { normalizedExecutor } from '@graphql-tools/executor';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { createCompiledExecutor, propertyResolver } from '../../src/sources/compiled-executor.js';
import { createScope } from '../../src/request-scope.js';
import type { LoadedSource } from '../../src/sources/index.js';
import { ok, loadOpenapi, plain, startRest, type RestServer } from '../kit/openapi.js';

const spec = {
  openapi: '3.0.3',
  info: { title: 'orders', version: '1' },
  paths: {
    '/orders': {
      get: {
        operationId: 'listOrders',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', format: 'int32' } }],
        responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Order' } }),
      },
      post: {
        operationId: 'createOrder',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } },
        responses: ok({ $ref: '#/components/schemas/Order' }, { status: 201 }),
      },
    },
    '/orders/{id}': {
      get: {
        operationId: 'getOrder',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: ok({ $ref: '#/components/schemas/Order' }),
      },
    },
    '/pets': { get: { operationId: 'listPets', responses: ok({ type: 'array', items: { $ref: '#/components/schemas/Pet' } }) } },
  },
  components: {
    schemas: {
      Money: { type: 'object', required: ['amount', 'currency'], properties: { amount: { type: 'number' }, currency: { type: 'string' } } },
      Order: {
        type: 'object',
        required: ['id', 'number', 'status', 'total', 'items'],
        properties: {
          id: { type: 'string' },
          number: { type: 'integer' },
          status: { type: 'string', enum: ['pending', 'paid'] },
          total: { $ref: '#/components/schemas/Money' },
          'gift-note': { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          meta: { type: 'object' },
          customer: { type: 'object', nullable: true, properties: { name: { type: 'string' } } },
          items: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, quantity: { type: 'integer', format: 'int32' } } } },
        },
      },
      Cat: { type: 'object', required: ['kind', 'meows'], properties: { kind: { type: 'string' }, meows: { type: 'boolean' } } },
      Dog: { type: 'object', required: ['kind', 'barks'], properties: { kind: { type: 'string' }, barks: { type: 'boolean' } } },
      Pet: { oneOf: [{ $ref: '#/components/schemas/Cat' }, { $ref: '#/components/schemas/Dog' }], discriminator: { propertyName: 'kind' } },
    },
  },
};

const order = (id: string, extra: object = {}) => ({
  id,
  number: 7,
  status: 'paid',
  total: { amount: 12.5, currency: 'EUR' },
  'gift-note': 'for you',
  tags: ['a', 'b'],
  meta: { any: ['json', 1] },
  customer: { name: 'Ada' },
  items: [{ sku: 'S1', quantity: 2 }],
  ...extra,
});

describe('compiled executor on an OpenAPI source: the fast path answers as the general executor', () => {
  let server: RestServer;
  let source: LoadedSource;
  /** What the REST server answers next, by method and path without the query. */
  let answers: Record<string, { status: number; body: unknown }> = {};
  before(async () => {
    server = await startRest((req, res) => {
      const answer = answers[`${req.method} ${req.url.split('?')[0]}`] ?? { status: 404, body: { message: 'not found' } };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    source = await loadOpenapi(spec, server.url, {}, 'production');
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await server.close();
  });

  /** The upstream calls the last `both()` made through the fast path. */
  let lastCalls: string[] = [];

  /** Runs the document through both executors (each with its own request scope) and checks they agree, calls included. */
  async function both(query: string, variables?: Record<string, unknown>): Promise<ExecutionResult> {
    const document = parse(query);
    const request = (scope = createScope({ deadlineMs: 5000 })) => ({ document, variables, context: { tessera: scope } });
    const start = server.calls.length;
    const fast = (await source.executor(request())) as ExecutionResult;
    const fastCalls = server.calls.slice(start).map((c) => `${c.method} ${c.url}`);
    const middle = server.calls.length;
    const general = (await normalizedExecutor({ schema: source.schema, document, variableValues: variables, contextValue: request().context })) as ExecutionResult;
    const generalCalls = server.calls.slice(middle).map((c) => `${c.method} ${c.url}`);
    assert.deepEqual(plain(fast), plain(general));
    assert.deepEqual(fastCalls, generalCalls, 'the same upstream calls');
    lastCalls = fastCalls;
    return fast;
  }

  test('clean answers: fields, aliases, __typename, fragments, renamed properties, JSON, lists, variables', async () => {
    answers = { 'GET /orders': { status: 200, body: [order('o1'), order('o2', { customer: null, tags: [] })] }, 'GET /orders/o1': { status: 200, body: order('o1') } };
    const result = await both(`
      query Q($n: Int, $id: String!) {
        __typename
        first: listOrders(limit: $n) { ...O total { currency } customer { name __typename } }
        one: getOrder(id: $id) { id ... on Order { number status } giftNote ref: id items { sku quantity } meta }
      }
      fragment O on Order { id total { amount } tags __typename }`, { n: 2, id: 'o1' });
    assert.equal(result.errors, undefined);
    // Only the fast path builds objects with a prototype (graphql-tools' have none): this one was not replayed.
    assert.equal(Object.getPrototypeOf(result.data), Object.prototype);
    assert.deepEqual(plain(result).data.first[0], { id: 'o1', total: { amount: 12.5, currency: 'EUR' }, tags: ['a', 'b'], __typename: 'Order', customer: { name: 'Ada', __typename: 'OrderCustomer' } });
  });

  test('answers that break the schema: a null in a non-null field, an unknown enum value, wrong shapes', async () => {
    for (const broken of [{ id: null }, { status: 'lost' }, { total: 'cheap' }, { items: { sku: 'S1' } }, { items: [{ sku: null }] }, { number: 'seven' }]) {
      answers = { 'GET /orders': { status: 200, body: [order('o1'), order('o2', broken)] } };
      const result = await both('{ listOrders { id number status total { amount } items { sku } customer { name } } }');
      assert.ok(result.errors?.length, JSON.stringify(broken));
    }
    // An array where an object is expected is read property by property, as the general executor does: no error.
    answers = { 'GET /orders': { status: 200, body: [order('o1', { customer: [1] })] } };
    await both('{ listOrders { customer { name } } }');
  });

  test('upstream failures, alone and beside fields that succeed', async () => {
    answers = { 'GET /orders': { status: 500, body: { message: 'down' } }, 'GET /orders/o1': { status: 200, body: order('o1') } };
    const result = await both('{ a: getOrder(id: "o1") { id } b: listOrders { id } c: getOrder(id: "o1") { number } }');
    assert.equal(result.errors?.length, 1);
  });

  test('bad arguments and variables are refused before any call', async () => {
    answers = { 'GET /orders/o1': { status: 200, body: order('o1') } };
    const missing = await both('query($id: String!) { getOrder(id: $id) { id } }', {});
    assert.match(missing.errors?.[0]?.message ?? '', /Variable "\$id" of required type "String!" was not provided/);
    assert.deepEqual(lastCalls, [], 'a missing variable: no call');
    const wrong = await both('query($n: Int) { listOrders(limit: $n) { id } a: getOrder(id: "o1") { id } }', { n: 'many' });
    assert.match(wrong.errors?.[0]?.message ?? '', /Variable "\$n" got invalid value "many"/);
    assert.equal(wrong.data, undefined);
    assert.deepEqual(lastCalls, [], 'a variable of the wrong type: no call, not even for the field that does not use it');
    // Not validated first (as a stitched call is not): an argument literal of the wrong type fails that field only.
    const literal = await both('{ a: getOrder(id: "o1") { id } b: getOrder(id: 5) { id } }');
    assert.deepEqual(plain(literal).data, { a: { id: 'o1' }, b: null });
    assert.deepEqual(lastCalls, ['GET /orders/o1']);
  });

  test('mutations run one after another, in document order, also after one that fails', async () => {
    const input = (id: string) => `{ id: "${id}", number: 1, status: pending, total: { amount: 1, currency: "EUR" }, items: [] }`;
    const twice = `mutation { a: createOrder(input: ${input('o9')}) { id } b: createOrder(input: ${input('o10')}) { number } }`;
    answers = { 'POST /orders': { status: 201, body: order('o9') } };
    let start = server.calls.length;
    const ok = await both(twice);
    assert.deepEqual(plain(ok).data, { a: { id: 'o9' }, b: { number: 7 } });
    // Both runs (fast, then general) sent o9 before o10.
    assert.deepEqual(server.calls.slice(start).map((c) => (JSON.parse(c.body.toString()) as { id: string }).id), ['o9', 'o10', 'o9', 'o10']);
    answers = { 'POST /orders': { status: 201, body: order('o9', { id: null }) } };
    start = server.calls.length;
    const failed = await both(twice);
    assert.equal(plain(failed).data.a, null);
    assert.deepEqual(plain(failed).data.b, { number: 7 }, 'the mutation after a failed one still runs');
    assert.deepEqual(server.calls.slice(start).map((c) => (JSON.parse(c.body.toString()) as { id: string }).id), ['o9', 'o10', 'o9', 'o10']);
  });

  test('documents the fast path leaves to the general executor: directives, unions, introspection', async () => {
    answers = { 'GET /orders': { status: 200, body: [order('o1')] }, 'GET /pets': { status: 200, body: [{ kind: 'Cat', meows: true }, { kind: 'Dog', barks: false }] } };
    for (const [query, variables] of [
      ['query($all: Boolean!) { listOrders { id number @include(if: $all) } }', { all: false }],
      ['{ listPets { __typename ... on Cat { meows } ... on Dog { barks } } }', undefined],
      ['{ __schema { queryType { name } } listOrders { id } }', undefined],
    ] as const) {
      const result = await both(query, variables);
      assert.equal(result.errors, undefined, query);
      // The general executor builds prototype-less objects, the fast path plain ones: this answer came from the former.
      assert.equal(Object.getPrototypeOf(result.data), null, `left to the general executor: ${query}`);
    }
  });
});

test('a schema whose fields reach the Query type answers as the general executor does, replay included (the root resolvers are wrapped in place)', async () => {
  const schema = buildSchema('type Query { viewer: Query! count: Int! }');
  const query = schema.getQueryType()!.getFields();
  query.viewer!.resolve = () => ({ count: null });
  query.count!.resolve = propertyResolver('count');
  const document = parse('{ viewer { count } }');
  const result = (await createCompiledExecutor(schema)({ document })) as ExecutionResult;
  assert.deepEqual(plain(result), plain((await normalizedExecutor({ schema, document })) as ExecutionResult));
  assert.equal(result.data, null);
  assert.equal(result.errors?.[0]?.path?.join('.'), 'viewer.count');
});
