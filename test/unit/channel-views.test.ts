/**
 * Channel views (compose/channels.ts): `include` lists by type, field and
 * subgraph, what the kept fields need, and `hide` after them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchema, GraphQLError, parse, print, printSchema, type GraphQLSchema } from 'graphql';
import { channelProblems, channelView } from '../../src/compose/channels.js';
import { channelFieldProblems, channelFields } from '../../src/compose/channel-fields.js';

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
  const roots = new Map([['subgraph:reviews', ['Query.reviews']], ['subgraph:catalog', ['Query.product', 'Mutation.buy']]]);
  const view = channelView(unified, { include: ['subgraph:reviews'], hide: [] }, roots);
  assert.deepEqual(fieldsOf(view, 'Query'), ['reviews']);
  assert.equal(view.getType('Product'), undefined);
});

test('an include entry naming nothing is refused with the key and the closest name', () => {
  const roots = new Map([['subgraph:reviews', ['Query.reviews']]]);
  const problems = channelProblems(unified, { include: ['Prodct', 'Product.nme', 'subgraph:reveiws'], hide: [] }, 'channels.mobile', 'gateway.yaml', roots);
  assert.deepEqual(problems, [
    'gateway.yaml: channels.mobile.include: "Prodct" is not in the unified graph: no type Prodct (did you mean "Product"?)',
    'gateway.yaml: channels.mobile.include: "Product.nme" is not in the unified graph: no field Product.nme (did you mean "Product.name"?)',
    'gateway.yaml: channels.mobile.include: "subgraph:reveiws": there is no subgraph named "reveiws" (did you mean "subgraph:reviews"?)',
  ]);
});

test('renames and composed fields: the channel schema has the new names, operations are translated back and answers forward', () => {
  const view = channelView(unified, { hide: [] });
  const naming = {
    rename: { types: { Product: 'Item', Money: 'Amount' }, fields: { 'Product.name': 'title', 'Query.product': 'item' } },
    fields: { 'Product.card': { from: ['name', 'price { amount currency }'], template: '{name} – {price.amount} {price.currency}' } },
  };
  assert.deepEqual(channelFieldProblems(view, naming, 'channels.mobile', 'gateway.yaml'), []);
  const fields = channelFields(view, naming)!;
  assert.deepEqual(fieldsOf(fields.schema, 'Item'), ['card', 'dimensions', 'id', 'owner', 'price', 'title']);
  assert.equal(fields.schema.getType('Product'), undefined);
  assert.equal(String(fields.schema.getQueryType()!.getFields().item!.type), 'Item');
  const document = parse('query($f: ProductFilter) { item(id: "1", filter: $f) { title label: card kind: __typename ... on Item { t2: title } } }');
  const translation = fields.translate(document)!;
  assert.equal(
    print(translation.document),
    print(parse('query($f: ProductFilter) { item: product(id: "1", filter: $f) { title: name tessera__c0__name: name tessera__c0__price: price { amount currency } tessera__t0: __typename ... on Product { t2: name } } }')),
  );
  const answer = fields.answer(
    { data: { item: { title: 'lamp', tessera__c0__name: 'lamp', tessera__c0__price: { amount: 9.5, currency: 'EUR' }, tessera__t0: 'Product', t2: 'lamp' } } },
    translation,
  );
  assert.deepEqual(answer, { data: { item: { title: 'lamp', label: 'lamp – 9.5 EUR', kind: 'Item', t2: 'lamp' } } });
  assert.equal(fields.translate(parse('{ me { id } }')), undefined, 'nothing renamed or composed: run as it is');
  const failed = fields.answer({ data: { item: null }, errors: [new GraphQLError('price service down', { path: ['item', 'tessera__c0__price'] })] }, translation);
  assert.deepEqual(failed.errors!.map((e) => [e.message, e.path]), [['price service down', ['item', 'label']]], "an error's path names the client's field");
});

test('a composed field whose from or template reads nothing is refused, naming the key', () => {
  const view = channelView(unified, { hide: [] });
  const problems = channelFieldProblems(
    view,
    { rename: { types: { Prodcut: 'Item' }, fields: {} }, fields: { 'Product.card': { from: ['nmae'], template: '{name}' }, 'Product.tag': { from: ['name'], template: '{price.amount}' } } },
    'channels.mobile',
    'gateway.yaml',
  );
  assert.deepEqual(problems, [
    `gateway.yaml: channels.mobile.rename.types.Prodcut: this channel's view has no type Prodcut (did you mean "Product"?)`,
    'gateway.yaml: channels.mobile.fields."Product.card".from: Cannot query field "nmae" on type "Product". Did you mean "name"?',
    'gateway.yaml: channels.mobile.fields."Product.tag".template: "{price.amount}" reads no leaf that `from` selects (from: name)',
  ]);
});
