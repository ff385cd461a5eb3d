/**
 * The demo's mobile channel (gateway.yaml): an include list (reads everything,
 * writes only reviews) and a composed `Product.card` built from the product's
 * name and its price, joined from another subgraph.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gql, startDemo } from '../kit/index.js';

test('the demo mobile channel serves Product.card built from name and the joined price, and only the addReview mutation', async (t) => {
  const demo = await startDemo(t);
  const mobile = demo.url.replace(/\/graphql$/, '/mobile/graphql');
  const res = await gql(mobile, '{ listProducts(limit: 2) { items { name price { amount currency } card } } }');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const items = res.body.data.listProducts.items as Array<{ name: string; price: { amount: number; currency: string } | null; card: string }>;
  assert.ok(items.some((item) => item.price), 'prices are joined from the catalog price service');
  for (const item of items) {
    assert.equal(item.card, `${item.name} – ${item.price?.amount ?? ''} ${item.price?.currency ?? ''}`);
  }
  const create = await gql(mobile, 'mutation { createProduct(input: { name: "x", categoryId: "c", skuCode: "s", status: ACTIVE, tags: [] }) { id } }');
  assert.equal(create.status, 400, 'not in the include list');
  assert.equal((await demo.query('{ listProducts(limit: 1) { items { card } } }')).status, 400, 'the default channel has no card');
});
