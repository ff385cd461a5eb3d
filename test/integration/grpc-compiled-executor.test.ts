/**
 * The gRPC source's executor (the compiled executor of generated schemas,
 * src/sources/compiled-executor.ts) answers exactly as graphql-tools' general
 * executor does on the same schema: the same data, the same errors at the
 * same paths, the same upstream calls. Each case runs both against real gRPC
 * servers on loopback, and says which path answered: clean answers are built
 * by the compiled path (double and float fields read as properties, enums
 * serialized by the same ProtoEnumType), values GraphQL cannot hold (NaN,
 * ±Infinity) are replayed by the general executor with finiteResolver's own
 * located errors, and subscriptions never take the compiled path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalizedExecutor } from '@graphql-tools/executor';
import type { ExecutionRequest, Executor } from '@graphql-tools/utils';
import { execute, parse, type ExecutionResult } from 'graphql';
import pino from 'pino';
import { composeSources } from '../../src/compose/index.js';
import { parseDescriptor } from '../../src/config/load.js';
import { loadSource, type LoadedSource } from '../../src/sources/index.js';
import { createScope } from '../../src/request-scope.js';
import { start as startInventory, type InventoryService } from '../../subgraphs/inventory/server.js';
import { kitchenDescriptor, loadGrpc, located, type GrpcHarness } from '../kit/grpc.js';
import { startKitchen, type KitchenServer } from '../fixtures/grpc/kitchen-server.js';
import { ODD_ENUMS, startOddities, unrepresentable, type OdditiesServer } from '../fixtures/grpc/oddities-server.js';
import { plain } from '../kit/openapi.js';
import { startGraphqlUpstream } from '../kit/index.js';

const INVENTORY_DIR = fileURLToPath(new URL('../../subgraphs/inventory/', import.meta.url));
const INVENTORY = {
  name: 'inventory',
  source: './inventory.proto',
  entities: { Product: { key: 'id', batch: { field: '_stockByProductIds', argument: 'ids' } } },
  joins: { Product: { method: 'GetStockLevels', keys: 'product_ids', results: 'levels', resultKey: 'product_id', field: 'stock' } },
  transforms: { hide: ['Query._stockByProductIds'] },
};
const STOCK = 'productId available reserved status updatedAt incoming restockIn byWarehouse { key value }';

/**
 * Whether the compiled path built this answer: only it builds objects with a
 * prototype (graphql-tools' executor, which also runs the replay, builds
 * them without one).
 */
function compiled(result: ExecutionResult): boolean {
  return result.data != null && Object.getPrototypeOf(result.data) === Object.prototype;
}

const total = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

/**
 * Runs the document through the source's executor and through the general
 * executor on the same schema (each with its own request scope), checks they
 * agree, calls included, and tells which path the source's executor took.
 */
async function both(
  source: LoadedSource,
  calls: () => number,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ result: ReturnType<typeof plain>; compiled: boolean }> {
  const document = parse(query);
  const context = () => ({ tessera: createScope({ deadlineMs: 5000 }) });
  const start = calls();
  const fast = (await source.executor({ document, variables, context: context() })) as ExecutionResult;
  const fastCalls = calls() - start;
  const middle = calls();
  const general = (await normalizedExecutor({ schema: source.schema, document, variableValues: variables, contextValue: context() })) as ExecutionResult;
  assert.deepEqual(plain(fast), plain(general));
  assert.equal(fastCalls, calls() - middle, 'the same upstream calls');
  return { result: plain(fast), compiled: compiled(fast) };
}


describe('gRPC executor: the compiled path answers as the general executor', () => {
  let kitchenServer: KitchenServer;
  let kitchen: GrpcHarness;
  let odditiesServer: OdditiesServer;
  let oddities: GrpcHarness;
  let inventoryServer: InventoryService;
  let inventory: GrpcHarness;
  before(async () => {
    [kitchenServer, odditiesServer, inventoryServer] = await Promise.all([startKitchen(), startOddities(), startInventory(0)]);
    kitchen = await loadGrpc(undefined, kitchenDescriptor(kitchenServer.url));
    oddities = await loadGrpc(undefined, { name: 'oddities', source: './oddities.proto', readOnly: ['Get*'], url: odditiesServer.url });
    inventory = await loadGrpc(undefined, { ...INVENTORY, url: inventoryServer.url }, 'development', INVENTORY_DIR);
  });
  /** both() on the oddities source, counting its calls. */
  const odd = (query: string) => both(oddities.source, () => total(odditiesServer.calls), query);
  after(async () => {
    await Promise.all([kitchen.source.close(), oddities.source.close(), inventory.source.close()]);
    await Promise.all([kitchenServer.close(), odditiesServer.close(), inventoryServer.close()]);
  });

  /** Every field of kitchen.v1.Everything, as a fragment S. */
  const EVERYTHING = `fragment S on Everything {
    big ubig sbig fbig u32 ratio flag text blob maybe plain color
    counts { key value } itemsById { key value { id qty } } ids nested { id qty } list { id qty }
    at took maybeBig maybeText maybeFlag maybeBlob meta anyJson tags extra mask nothing
    sharedItem { sku } inner { note } byFlag { key value } colors
  }`;

  test('a clean message: int64s, a oneof case, maps, enums, well-known types, aliases, fragments, variables', async () => {
    const { result, compiled } = await both(
      kitchen.source,
      () => total(kitchenServer.calls),
      `query Q($twice: Boolean!) {
        __typename
        getSample { ...S choice name number item { id qty __typename } same: big }
        again: getSample { big ratio @include(if: true) ... on Everything { colors } }
        skipped: getSample @skip(if: false) { text }
        flag: getSample { flag @skip(if: $twice) }
      }
      ${EVERYTHING}`,
      { twice: false },
    );
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    // A @skip on a variable depends on the request: the whole document goes to the general executor.
    assert.equal(compiled, false);
    const again = await both(
      kitchen.source,
      () => total(kitchenServer.calls),
      `{
        __typename
        getSample { ...S choice name number item { id qty __typename } same: big }
        again: getSample { big ratio @include(if: true) ... on Everything { colors } }
        echoed: kitchenEcho(big: "-5", name: "n") { big choice name }
      }
      ${EVERYTHING}`,
    );
    assert.equal(again.result.errors, undefined, JSON.stringify(again.result.errors));
    assert.equal(again.compiled, true, 'the compiled path answered');
    const s = again.result.data.getSample;
    assert.equal(s.big, '-9223372036854775808');
    assert.equal(s.same, '-9223372036854775808');
    assert.equal(s.ubig, '18446744073709551615');
    assert.equal(s.choice, 'item');
    assert.equal(s.name, null);
    assert.deepEqual(s.item, { id: 'i1', qty: 3, __typename: 'KitchenV1Item' });
    assert.deepEqual(s.counts, [{ key: 'a', value: '9007199254740993' }]);
    assert.deepEqual(s.ids, ['1', '9007199254740993']);
    assert.equal(s.ratio, 0.25);
    assert.equal(s.color, 'GREEN');
    assert.deepEqual(s.meta, { a: 1, b: ['x', null] });
    assert.deepEqual(again.result.data.echoed, { big: '-5', choice: 'name', name: 'n' });
    assert.equal(again.result.data.__typename, 'Query');
  });

  test('finite doubles and floats (fields, lists, wrappers, map values) are read as properties by the compiled path', async () => {
    const { result, compiled } = await odd('{ getReading(id: "plain") { id ratio score samples maybeRatio weights { key value } probe { level } mood moods verdict } }');
    assert.equal(compiled, true, 'the compiled path answered');
    assert.deepEqual(result, {
      data: {
        getReading: { id: 'plain', ratio: 0.5, score: 2, samples: [1.5], maybeRatio: 0.25, weights: [{ key: 'v', value: 0.5 }], probe: { level: 3 }, mood: 'HAPPY', moods: ['SAD'], verdict: 'UNRECOGNIZED' },
      },
    });
  });

  test('a NaN double: the general executor replays, with the error located at that value as before', async () => {
    const code = 'RESPONSE_VALIDATION_FAILED';
    const ratio = await odd('{ getReading(id: "odd") { id ratio } plain: getReading(id: "plain") { id } }');
    assert.equal(ratio.compiled, false);
    assert.deepEqual(ratio.result.data, { getReading: null, plain: { id: 'plain' } }, 'ratio is Float!, so the reading is null');
    assert.deepEqual(located(ratio.result), [['getReading.ratio', code, unrepresentable('oddities.v1.Reading.ratio', 'NaN')]]);
    const wrapper = await odd('{ getReading(id: "odd") { id maybeRatio score } }');
    assert.deepEqual(wrapper.result.data, { getReading: null });
    assert.deepEqual(
      located(wrapper.result).map(([path]) => path),
      ['getReading.maybeRatio', 'getReading.score'],
    );
    const answer = await odd('{ odd: getRatio(id: "odd") plain: getRatio(id: "plain") }');
    assert.deepEqual(answer.result.data, { odd: null, plain: 0.25 });
    assert.deepEqual(located(answer.result), [['odd', code, unrepresentable('the google.protobuf.DoubleValue answer', 'Infinity')]]);
  });

  test('a list of floats and a map holding ±Infinity: the items fail one by one, as before', async () => {
    const samples = await odd('{ getReading(id: "odd") { samples } }');
    assert.equal(samples.compiled, false);
    assert.equal(samples.result.data.getReading, null);
    assert.deepEqual(located(samples.result)[0], ['getReading.samples.1', 'RESPONSE_VALIDATION_FAILED', unrepresentable('oddities.v1.Reading.samples', 'NaN')]);
    const weights = await odd('{ getReading(id: "odd") { id weights { key value } } }');
    assert.equal(weights.compiled, false);
    assert.equal(weights.result.data.getReading, null);
    assert.deepEqual(located(weights.result), [['getReading.weights.0.value', 'RESPONSE_VALIDATION_FAILED', unrepresentable('the value of oddities.v1.Reading.weights', 'Infinity')]]);
    const probe = await odd('{ getReading(id: "odd") { id probe { level } } }');
    assert.deepEqual(probe.result.data, { getReading: { id: 'odd', probe: null } });
  });

  test('enum numbers the .proto does not name are UNRECOGNIZED on the compiled path too', async () => {
    const { result, compiled } = await odd(ODD_ENUMS.query);
    assert.equal(compiled, true, 'the compiled path answered');
    assert.deepEqual(result.data.getReading, ODD_ENUMS.reading);
  });

  test('a replay keeps the generated types: unnamed enum numbers are UNRECOGNIZED beside a non-finite double', async () => {
    const { result, compiled } = await odd('{ getReading(id: "odd") { id mood moods moodByName { value } probe { level } } }');
    assert.equal(compiled, false);
    assert.deepEqual(result.data, {
      getReading: { id: 'odd', mood: 'UNRECOGNIZED', moods: ['HAPPY', 'UNRECOGNIZED'], moodByName: [{ value: 'UNRECOGNIZED' }, { value: 'SAD' }], probe: null },
    });
    assert.deepEqual(located(result), [['getReading.probe.level', 'RESPONSE_VALIDATION_FAILED', unrepresentable('oddities.v1.Probe.level', '-Infinity')]]);
  });

  test('mutations run in order on the compiled path', async () => {
    const before = odditiesServer.moods.length;
    const { result, compiled } = await odd('mutation { a: setMood(mood: HAPPY) { id mood } b: setMood(mood: SAD) { mood ratio } }');
    assert.equal(compiled, true);
    assert.deepEqual(result.data, { a: { id: 'set', mood: 'HAPPY' }, b: { mood: 'SAD', ratio: 0 } });
    assert.deepEqual(odditiesServer.moods.slice(before), [1, 2, 1, 2], 'HAPPY then SAD, by each executor');
  });

  test('the join field: one call, one entity per key in the order asked, null stock for unknown keys', async () => {
    const { result, compiled } = await both(
      inventory.source,
      () => inventoryServer.stats.requests,
      `query($ids: [ID!]!) { _stockByProductIds(ids: $ids) { __typename id stock { ${STOCK} } } }`,
      { ids: ['p2', 'p999', 'p1', 'p2', 'nope'] },
    );
    assert.equal(compiled, true, 'the compiled path answered');
    const list = result.data._stockByProductIds as Array<{ id: string; stock: { productId: string; byWarehouse: unknown[] } | null }>;
    assert.deepEqual(
      list.map((p) => [p.id, p.stock?.productId ?? null]),
      [
        ['p2', 'p2'],
        ['p999', null],
        ['p1', 'p1'],
        ['p2', 'p2'],
        ['nope', null],
      ],
    );
    assert.equal(list[0]!.stock!.byWarehouse.length, 2);
    const none = await both(inventory.source, () => inventoryServer.stats.requests, '{ _stockByProductIds(ids: []) { id } }');
    assert.deepEqual(none.result.data, { _stockByProductIds: [] });
    const missing = await both(inventory.source, () => inventoryServer.stats.requests, '{ getStockLevel(productId: "p999") { productId } }');
    assert.equal(missing.compiled, false, 'an upstream error is replayed');
    assert.equal(missing.result.errors?.[0]?.path.join('.'), 'getStockLevel');
  });

  test('subscriptions (server streams) go through the general executor', async () => {
    const events: unknown[] = [];
    const stream = (await kitchen.source.executor({
      document: parse('subscription { count(count: 2, intervalMs: 1) { n } }'),
      context: { tessera: createScope({ deadlineMs: 5000 }) },
    })) as AsyncIterable<ExecutionResult>;
    assert.ok(Symbol.asyncIterator in stream);
    for await (const event of stream) events.push(plain(event));
    assert.deepEqual(events, [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }]);
  });

  test('through stitching (the shop scenario: products joined to stock) the gRPC source answers on the compiled path', async (t) => {
    const ids = ['p1', 'p2', 'p999', 'p3'];
    const products = await startGraphqlUpstream(t, 'type Product { id: ID! name: String! } type Query { products(first: Int!): [Product!]! _productsByIds(ids: [ID!]!): [Product]! }', {
      Query: {
        products: (_: unknown, { first }: { first: number }) => ids.slice(0, first).map((id) => ({ id, name: `Product ${id}` })),
        _productsByIds: (_: unknown, args: { ids: string[] }) => args.ids.map((id) => ({ id, name: `Product ${id}` })),
      },
    });
    const load = (descriptor: Record<string, unknown>, dir: string) =>
      loadSource(parseDescriptor(descriptor, `${dir}/subgraph.yaml`, dir, {}), { mode: 'development', logger: pino({ level: 'silent' }) });
    const catalog = await load(
      {
        name: 'products',
        kind: 'graphql',
        url: products.url,
        entities: { Product: { key: 'id', batch: { field: '_productsByIds', argument: 'ids' } } },
        transforms: { hide: ['Query._productsByIds'] },
      },
      INVENTORY_DIR,
    );
    t.after(() => catalog.close());
    const paths: boolean[] = [];
    const spied = (async (request: ExecutionRequest) => {
      const result = (await inventory.source.executor(request)) as ExecutionResult;
      paths.push(compiled(result));
      return result;
    }) as Executor;
    const { schema } = composeSources([catalog, { ...inventory.source, executor: spied }]);
    const result = await execute({
      schema,
      document: parse('{ products(first: 4) { id name stock { available status byWarehouse { key value } } } }'),
      contextValue: { tessera: createScope({ deadlineMs: 5000 }) },
    });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const list = plain(result).data.products as Array<{ id: string; stock: { available: number } | null }>;
    assert.deepEqual(
      list.map((p) => [p.id, p.stock?.available ?? null]),
      [
        ['p1', 37],
        ['p2', 74],
        ['p999', null],
        ['p3', 10],
      ],
    );
    assert.deepEqual(paths, [true], 'one delegated call, answered by the compiled path');
  });
});
