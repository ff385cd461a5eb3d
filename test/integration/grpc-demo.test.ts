/**
 * The demo graph across three protocols: products from the REST catalog,
 * stock from the gRPC inventory service, reviews from the GraphQL reviews
 * service. 50 products cost exactly one call to each backend.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDemo } from '../kit/index.js';

test('50 products with stock (gRPC) and reviews (GraphQL): one call to each backend', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query('{ listProducts(limit: 50) { items { id name stock { productId available status updatedAt } averageRating } } }');
  assert.equal(res.status, 200);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  const items = res.body.data.listProducts.items as Array<{ id: string; stock: { productId: string; available: number; updatedAt: string } | null }>;
  assert.equal(items.length, 50);
  for (const item of items) {
    const n = Number(item.id.slice(1));
    assert.equal(item.stock?.productId, item.id);
    assert.equal(item.stock?.available, (n * 37) % 101);
    assert.match(item.stock!.updatedAt, /^2024-01-\d\dT\d\d:00:00Z$/);
  }
  assert.deepEqual(demo.calls(), { ...demo.calls(), catalog: 1, inventory: 1, reviews: 1 });
});

test('the demo subscription: stock changes from the gRPC stream, delivered over SSE', async (t) => {
  const demo = await startDemo(t);
  const response = await fetch(demo.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { watchStock(productIds: ["p1", "p2"], count: 3, interval: "0.01s") { sequence productId delta available } }' }),
  });
  assert.equal(response.status, 200);
  const text = await response.text();
  const events = [...text.matchAll(/^event: next\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
  assert.deepEqual(events, [
    { data: { watchStock: { sequence: '1', productId: 'p1', delta: 1, available: 38 } } },
    { data: { watchStock: { sequence: '2', productId: 'p2', delta: -1, available: 73 } } },
    { data: { watchStock: { sequence: '3', productId: 'p1', delta: 0, available: 37 } } },
  ]);
});
