/**
 * Channel views (compose/channels.ts): `include` lists by type, field and
 * subgraph, what the kept fields need, and `hide` after them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema, printSchema, type GraphQLSchema } from 'graphql';
import { channelProblems, channelView } from '../../src/compose/channels.js';

const unified = buildSchema(`
  type Query { product(id: ID!, filter: ProductFilter): Product  me: User  node(id: ID!): Node  reviews: [Review] }
  type Mutation { buy(id: ID!): Product }
  input ProductFilter { inStock: Boolean }
  interface Node { id: ID! }
  type Product implements Node { id: ID! name: String price: Money dimensions: String owner: User }
  type Money { amount: Float currency: String }
  type User implements Node { id: ID! email: String name: String }
  type Review { body: String }
`);

const fieldsOf = (schema: GraphQLSchema, type: string): string[] => {
  const t = schema.getType(type);
  return t && 'getFields' in t ? Object.keys(t.getFields()).sort() : [];
};

test('include by field keeps the field, its argument types and its type; "Type.field" entries narrow that type', () => {
  const view = channelView(unified, { include: ['Query.product', 'Product.name', 'Product.price'], hide: [] });
  assert.deepEqual(fieldsOf(view, 'Query'), ['product']);
  assert.deepEqual(fieldsOf(view, 'Product'), ['id', 'name', 'price'], 'id comes with the Node interface Product implements');
  assert.deepEqual(fieldsOf(view, 'Money'), ['amount', 'currency'], 'a type no entry narrows is kept whole');
  assert.ok(view.getType('ProductFilter'), "the argument's input type is kept");
  assert.equal(view.getMutationType(), undefined, 'no Mutation field listed: no Mutation');
  assert.equal(view.getType('Review'), undefined);
  assert.equal(view.getType('User'), undefined, 'Product.owner is not listed, so User is not needed');
});

test('include by type keeps it whole; an interface brings its implementations; hide applies after include', () => {
  const view = channelView(unified, { include: ['Query.node', 'Mutation'], hide: ['User.email'] });
  assert.deepEqual(fieldsOf(view, 'Query'), ['node']);
  assert.deepEqual(fieldsOf(view, 'Mutation'), ['buy']);
  assert.deepEqual(fieldsOf(view, 'User'), ['id', 'name']);
  assert.deepEqual(fieldsOf(view, 'Product'), ['dimensions', 'id', 'name', 'owner', 'price']);
  assert.doesNotThrow(() => printSchema(view));
});

test('include by subgraph keeps the root fields that subgraph serves', () => {
  const roots = new Map([['reviews', ['Query.reviews']], ['catalog', ['Query.product', 'Mutation.buy']]]);
  const view = channelView(unified, { include: ['subgraph:reviews'], hide: [] }, roots);
  assert.deepEqual(fieldsOf(view, 'Query'), ['reviews']);
  assert.equal(view.getType('Product'), undefined);
});

test('an include entry naming nothing is refused with the key and the closest name', () => {
  const roots = new Map([['reviews', ['Query.reviews']]]);
  const problems = channelProblems(unified, { include: ['Prodct', 'Product.nme', 'subgraph:reveiws'], hide: [] }, 'channels.mobile', 'gateway.yaml', roots);
  assert.deepEqual(problems, [
    'gateway.yaml: channels.mobile.include: "Prodct" is not in the unified graph: no type Prodct (did you mean "Product"?)',
    'gateway.yaml: channels.mobile.include: "Product.nme" is not in the unified graph: no field Product.nme (did you mean "Product.name"?)',
    'gateway.yaml: channels.mobile.include: "subgraph:reveiws": there is no subgraph named "reveiws" (did you mean "subgraph:reviews"?)',
  ]);
});
