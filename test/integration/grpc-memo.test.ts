/**
 * Identical read-only gRPC calls within one GraphQL request are made once
 * (the request scope's memo, keyed by method, metadata and the encoded
 * request bytes); calls with side effects never are, and a write makes the
 * reads after it in the same request go upstream again. Counted on real
 * servers: the kitchen fixture and the demo inventory service behind a
 * running gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScope } from '../../src/request-scope.js';
import { kitchenDescriptor, loadGrpc, productsWithStock, type GrpcHarness } from '../kit/grpc.js';
import { startKitchen, type KitchenServer } from '../fixtures/grpc/kitchen-server.js';


let server: KitchenServer;
let kitchen: GrpcHarness;

before(async () => {
  server = await startKitchen();
  kitchen = await loadGrpc(undefined, kitchenDescriptor(server.url, { name: 'memo' }));
});

after(async () => {
  await kitchen.source.close();
  await server.close();
});

/** Upstream calls of `method` made while `run` runs. */
async function callsDuring(method: string, run: () => Promise<unknown>): Promise<number> {
  const before = server.calls[method] ?? 0;
  await run();
  return (server.calls[method] ?? 0) - before;
}

describe('one request, one call per distinct read', () => {
  test('aliases asking the same thing make one call; a different argument makes its own', async () => {
    let result: Awaited<ReturnType<GrpcHarness['run']>> | undefined;
    const calls = await callsDuring('GetNextDay', async () => {
      result = await kitchen.run(`{
        a: getNextDay(input: "2024-01-01T00:00:00Z")
        b: getNextDay(input: "2024-01-01T00:00:00Z")
        c: getNextDay(input: "2024-03-01T00:00:00Z")
      }`);
    });
    assert.deepEqual(result, { data: { a: '2024-01-02T00:00:00Z', b: '2024-01-02T00:00:00Z', c: '2024-03-02T00:00:00Z' } });
    assert.equal(calls, 2);
  });

  test('the key is the encoded request: a variable and a literal that encode alike share one call', async () => {
    const query = `query($at: Timestamp, $text: String) {
      a: kitchenEcho(text: $text, at: $at) { text at }
      b: kitchenEcho(at: "2024-01-01T00:00:00.000Z", text: "same") { text at }
    }`;
    let result: Awaited<ReturnType<GrpcHarness['run']>> | undefined;
    const calls = await callsDuring('Echo', async () => {
      result = await kitchen.run(query, { at: '2024-01-01T00:00:00Z', text: 'same' });
    });
    assert.equal(result?.errors, undefined, JSON.stringify(result?.errors));
    assert.deepEqual(result?.data?.a, result?.data?.b);
    assert.equal(calls, 1);
  });

  test('two requests make two calls', async () => {
    const calls = await callsDuring('GetNextDay', async () => {
      await kitchen.run('{ getNextDay(input: "2024-05-01T00:00:00Z") }');
      await kitchen.run('{ getNextDay(input: "2024-05-01T00:00:00Z") }');
    });
    assert.equal(calls, 2);
  });

  test('a failure is shared like an answer: both fields carry the status, one call made', async () => {
    let result: Awaited<ReturnType<GrpcHarness['run']>> | undefined;
    const calls = await callsDuring('GetFailure', async () => {
      result = await kitchen.run('{ a: getFailure(code: 5, message: "gone") b: getFailure(code: 5, message: "gone") }');
    });
    assert.equal(calls, 1);
    assert.deepEqual(result?.data, { a: null, b: null });
    assert.deepEqual(
      result?.errors?.map((e) => [e.path?.[0], e.extensions?.code, (e.extensions?.grpc as { code: string }).code]).sort(),
      [
        ['a', 'GRPC_STATUS', 'NOT_FOUND'],
        ['b', 'GRPC_STATUS', 'NOT_FOUND'],
      ],
    );
  });

  test('methods with side effects are never shared', async () => {
    let result: Awaited<ReturnType<GrpcHarness['run']>> | undefined;
    const calls = await callsDuring('BumpFlaky', async () => {
      result = await kitchen.run('mutation { a: bumpFlaky(key: "memo-m", failures: 0) b: bumpFlaky(key: "memo-m", failures: 0) }');
    });
    assert.deepEqual(result, { data: { a: 'ok after 1', b: 'ok after 2' } });
    assert.equal(calls, 2);
  });

  test('a write empties the memo: the same read after it, in the same request, is made again', async () => {
    // One scope is one client request; its operations share the memo.
    const scope = createScope({ deadlineMs: 5000 });
    const read = '{ getNextDay(input: "2024-07-01T00:00:00Z") }';
    const calls = await callsDuring('GetNextDay', async () => {
      await kitchen.run(read, undefined, scope);
      await kitchen.run(read, undefined, scope);
      await kitchen.run('mutation { bumpFlaky(key: "memo-w", failures: 0) }', undefined, scope);
      await kitchen.run(read, undefined, scope);
    });
    assert.equal(calls, 2);
  });
});

describe('through the gateway (inventory service and a products service)', () => {
  test('the same stock asked by aliases and by two paths (a root field and the Product.stock join) costs one call each', async (t) => {
    const { inventory, gateway } = await productsWithStock(t, ['p1', 'p2']);
    const response = await gateway.query(`{
      one: getStockLevel(productId: "p1") { available }
      again: getStockLevel(productId: "p1") { available status }
      levels: getStockLevels(productIds: ["p1", "p2"]) { levels { productId available } }
      products(first: 2) { id stock { productId available } }
    }`);
    assert.equal(response.status, 200);
    assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
    const available = (n: number): number => (n * 37) % 101;
    assert.equal(response.body.data.one.available, available(1));
    assert.equal(response.body.data.again.available, available(1));
    assert.deepEqual(
      [...response.body.data.levels.levels].sort((x: { productId: string }, y: { productId: string }) => x.productId.localeCompare(y.productId)),
      [
        { productId: 'p1', available: available(1) },
        { productId: 'p2', available: available(2) },
      ],
    );
    assert.deepEqual(response.body.data.products, [
      { id: 'p1', stock: { productId: 'p1', available: available(1) } },
      { id: 'p2', stock: { productId: 'p2', available: available(2) } },
    ]);
    assert.equal(inventory.stats.byMethod.GetStockLevel, 1);
    assert.equal(inventory.stats.byMethod.GetStockLevels, 1, 'the join reused the root field call: same method, same request bytes');

    // A second client request is a new memo: the same query calls again.
    await gateway.query('{ a: getStockLevel(productId: "p1") { available } b: getStockLevel(productId: "p1") { available } }');
    assert.equal(inventory.stats.byMethod.GetStockLevel, 2);
  });
});
