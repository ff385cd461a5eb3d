/**
 * compose/schema-diff.ts, the pure half of `tessera check`: how each kind of
 * change the issue names is classified (removed or retyped fields,
 * nullability, arguments, enum values, union members), and how a client
 * document is split into operations that carry the fragments they spread.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSchema, parse } from 'graphql';
import { operationErrors, schemaChanges, splitOperations } from '../../src/compose/schema-diff.js';

const before = buildSchema(`
  enum Status { OPEN CLOSED }
  type Book { id: ID! title: String! price: Float }
  type Film { id: ID! }
  union Item = Book | Film
  type Query { book(id: ID!): Book  items(first: Int): [Item!]!  status: Status  "gone soon" legacy: String }
`);

test('each change is classified breaking, dangerous or safe, with its coordinate, breaking first', async () => {
  const after = buildSchema(`
    enum Status { OPEN ARCHIVED }
    type Book { id: ID! title: String price: Float! isbn: String }
    type Film { id: ID! }
    type Song { id: ID! }
    union Item = Book | Film | Song
    type Query { book(id: ID!, lang: String!): Book  items(first: Int = 10): [Item!]!  status: Status  "kept" legacy: String }
  `);
  const changes = (await schemaChanges(before, after)).map((c) => `${c.level} ${c.type} ${c.path}`);
  assert.deepEqual(changes, [
    'breaking FIELD_TYPE_CHANGED Book.title',
    'breaking FIELD_ARGUMENT_ADDED Query.book.lang',
    'breaking ENUM_VALUE_REMOVED Status.CLOSED',
    'dangerous UNION_MEMBER_ADDED Item',
    'dangerous FIELD_ARGUMENT_DEFAULT_CHANGED Query.items.first',
    'dangerous ENUM_VALUE_ADDED Status.ARCHIVED',
    'safe FIELD_ADDED Book.isbn',
    'safe FIELD_TYPE_CHANGED Book.price',
    'safe TYPE_ADDED Song',
    'safe FIELD_ADDED Song.id',
  ]);
});

test('the same schema: no change', async () => {
  assert.deepEqual(await schemaChanges(before, before), []);
});

test('each operation of a document is validated on its own, with the fragments it spreads, from its file or shared ones', () => {
  const shared = parse('fragment Priced on Book { price ...Named }  fragment Named on Book { title }');
  const fragments = new Map(shared.definitions.flatMap((d) => (d.kind === 'FragmentDefinition' ? [[d.name.value, d] as const] : [])));
  const operations = splitOperations(parse('query A { book(id: 1) { ...Priced } }  query B { book(id: 2) { ...Own } }  fragment Own on Book { id }  { status }'), fragments);
  assert.deepEqual(
    operations.map((o) => [o.name, o.document.definitions.map((d) => ('name' in d && d.name ? d.name.value : d.kind))]),
    [
      ['A', ['A', 'Priced', 'Named']],
      ['B', ['B', 'Own']],
      ['(anonymous)', ['OperationDefinition']],
    ],
  );
  const after = buildSchema('type Book { id: ID! price: Float }  type Query { book(id: ID!): Book  status: String }');
  assert.deepEqual(operations.map((o) => operationErrors(after, o)), [['Cannot query field "title" on type "Book".'], [], []]);
});
