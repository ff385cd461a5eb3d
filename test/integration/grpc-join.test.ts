/**
 * Product.stock from the gRPC inventory service joined to products from a
 * GraphQL service, through a running gateway: N products cost one
 * GetStockLevels call, answers come back in the order asked even though the
 * service answers in reverse, and unknown ids give a null stock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { productsWithStock } from '../kit/grpc.js';

test('stock for 50 products costs one gRPC call, in the order asked', async (t) => {
  // 50 catalog products, and one the inventory does not know ("p999").
  const { inventory, products, gateway } = await productsWithStock(t, [...Array.from({ length: 49 }, (_, i) => `p${i + 1}`), 'p999']);
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
