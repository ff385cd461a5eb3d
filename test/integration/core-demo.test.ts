/**
 * The demo graph end to end: real accounts and reviews services on loopback,
 * the repository's gateway.yaml, requests over HTTP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDemo } from '../kit/index.js';

test('a list of 50 entities with a field from a second subgraph costs one request per subgraph', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query('{ reviews(first: 50) { id body author { id name username } } }');
  assert.equal(res.status, 200);
  assert.equal(res.body.errors, undefined);
  assert.equal(res.body.data.reviews.length, 50);
  assert.deepEqual(res.body.data.reviews[0], { id: 'r1', body: 'Would buy again.', author: { id: 'u2', name: 'Grace Dijkstra', username: 'grace2' } });
  for (const review of res.body.data.reviews) assert.match(review.author.name, /\w+ \w+/);
  const calls = demo.calls();
  assert.equal(calls.reviews, 1, 'one request to reviews');
  assert.equal(calls.accounts, 1, 'one request to accounts for all 50 authors');
});

test('entities join both ways: users from accounts carry their reviews from the reviews subgraph', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query('{ allUsers(first: 5) { id name reviews { id rating product { id averageRating } } } }');
  assert.equal(res.body.errors, undefined);
  assert.equal(res.body.data.allUsers.length, 5);
  assert.ok(res.body.data.allUsers[0].reviews.length > 0);
  assert.deepEqual(demo.calls(), { ...demo.calls(), accounts: 1, reviews: 1 });
});

test('the entity entry points hidden in the descriptor are not in the unified graph', async (t) => {
  const demo = await startDemo(t);
  const res = await demo.query('{ _usersByIds(ids: ["u1"]) { id } }');
  assert.equal(res.status, 400);
  assert.match(res.body.errors![0]!.message, /Cannot query field "_usersByIds"/);
  assert.equal(demo.gateway.schema.getQueryType()!.getFields()._productsByIds, undefined);
});

test('mutations are delegated to the owning subgraph', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query('mutation { addReview(productId: "p2", authorId: "u3", body: "Fine.", rating: 4) { id rating author { name } } }');
  assert.equal(res.body.errors, undefined);
  assert.equal(res.body.data.addReview.rating, 4);
  assert.equal(res.body.data.addReview.author.name, 'Alan Allen');
  // The mutation goes to reviews, its author's name is one call to accounts; the other subgraphs are not asked.
  assert.equal(res.headers.get('tessera-route'), 'planned');
  assert.deepEqual(demo.calls(), { accounts: 1, catalog: 0, inventory: 0, reviews: 1 });
  demo.resetCalls();
  const own = await demo.query('mutation { addReview(productId: "p2", authorId: "u3", body: "Again.", rating: 5) { id rating } }');
  assert.equal(own.body.data.addReview.rating, 5);
  assert.equal(own.headers.get('tessera-route'), 'direct', 'every field is in reviews: sent as written');
  assert.deepEqual(demo.calls(), { accounts: 0, catalog: 0, inventory: 0, reviews: 1 });
});

test('/healthz and /readyz answer, and unknown paths get a JSON 404 naming the GraphQL paths', async (t) => {
  const demo = await startDemo(t);
  const base = demo.url.replace(/\/graphql$/, '');
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  const missing = await fetch(`${base}/nope`);
  assert.equal(missing.status, 404);
  const body = (await missing.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
  assert.equal(body.errors[0]!.extensions.code, 'NOT_FOUND');
  assert.match(body.errors[0]!.message, /\/graphql/);
});

test('the README query across three protocols: one call per hop for 50 products', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query(`{
    topProducts(first: 50) {
      id averageRating
      name price { amount currency }
      stock { available status }
      reviews(first: 1) { body author { name } }
    }
  }`);
  assert.equal(res.body.errors, undefined);
  assert.equal(res.body.data.topProducts.length, 50);
  for (const product of res.body.data.topProducts) {
    assert.equal(typeof product.name, 'string');
    assert.equal(typeof product.price.amount, 'number');
    assert.equal(typeof product.stock.available, 'number');
    assert.equal(typeof product.reviews[0].author.name, 'string');
  }
  assert.deepEqual(demo.calls(), { accounts: 1, catalog: 2, inventory: 1, reviews: 1 });
});

test('the README tour: with accounts down, reviews still come back, authors null with located errors', async (t) => {
  const demo = await startDemo(t);
  await demo.demo.services.get('accounts')!.close();
  const res = await demo.query('{ reviews(first: 2) { body author { name } } }');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.data, { reviews: [{ body: 'Would buy again.', author: null }, { body: 'Sturdy and well made.', author: null }] });
  assert.deepEqual(res.body.errors![0], {
    message: 'Subgraph "accounts" is unavailable',
    // The client's field, whichever route ran the operation.
    locations: [{ line: 1, column: 37 }],
    path: ['reviews', 0, 'author', 'name'],
    extensions: { code: 'SOURCE_UNAVAILABLE', subgraph: 'accounts' },
  });
});
