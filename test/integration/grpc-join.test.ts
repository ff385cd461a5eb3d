/**
 * Product.stock from the gRPC inventory service joined to products from a
 * GraphQL service, through a running gateway: N products cost one
 * GetStockLevels call, answers come back in the order asked even though the
 * service answers in reverse, and unknown ids give a null stock.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startGateway, startGraphqlUpstream } from '../kit.js';
import { start as startInventory } from '../../subgraphs/inventory/server.js';

const INVENTORY_DIR = fileURLToPath(new URL('../../subgraphs/inventory/', import.meta.url));

const PRODUCTS_SDL = /* GraphQL */ `
  type Product { id: ID! name: String! }
  type Query { products(first: Int!): [Product!]! _productsByIds(ids: [ID!]!): [Product]! }
`;

test('stock for 50 products costs one gRPC call, in the order asked', async (t) => {
  const inventory = await startInventory(0);
  t.after(() => inventory.close());
  // 50 catalog products, and one the inventory does not know ("p999").
  const ids = [...Array.from({ length: 49 }, (_, i) => `p${i + 1}`), 'p999'];
  const products = await startGraphqlUpstream(t, PRODUCTS_SDL, {
    Query: {
      products: (_: unknown, { first }: { first: number }) => ids.slice(0, first).map((id) => ({ id, name: `Product ${id}` })),
      _productsByIds: (_: unknown, args: { ids: string[] }) => args.ids.map((id) => ({ id, name: `Product ${id}` })),
    },
  });
  const gateway = await startGateway(t, [
    {
      name: 'products',
      kind: 'graphql',
      url: products.url,
      entities: { Product: { key: 'id', batch: { field: '_productsByIds', argument: 'ids' } } },
      transforms: { hide: ['Query._productsByIds'] },
    },
    {
      name: 'inventory',
      kind: 'grpc',
      dir: INVENTORY_DIR,
      source: './inventory.proto',
      url: inventory.url,
      entities: { Product: { key: 'id', batch: { field: '_stockByProductIds', argument: 'ids' } } },
      joins: { Product: { method: 'GetStockLevels', keys: 'product_ids', results: 'levels', resultKey: 'product_id', field: 'stock' } },
      transforms: { hide: ['Query._stockByProductIds'] },
    },
  ]);
  products.stats.requests = 0;
  const response = await gateway.query('{ products(first: 50) { id name stock { productId available status byWarehouse { key value } } } }');
  assert.equal(response.status, 200);
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  const list = response.body.data.products as Array<{ id: string; name: string; stock: { productId: string; available: number; status: string } | null }>;
  assert.equal(list.length, 50);
  for (const [i, product] of list.entries()) {
    if (product.id === 'p999') {
      assert.equal(product.stock, null);
      continue;
    }
    const n = i + 1;
    assert.equal(product.id, `p${n}`);
    assert.equal(product.stock?.productId, product.id);
    assert.equal(product.stock?.available, (n * 37) % 101);
  }
  assert.equal(inventory.stats.byMethod.GetStockLevels, 1);
  assert.equal(inventory.stats.requests, 1);
  assert.equal(products.stats.requests, 1);
});
