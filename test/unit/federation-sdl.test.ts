/**
 * Reading a federation subgraph's SDL (sources/federation/sdl.ts): directive
 * names as its @link imports them (renamed with `as`, or `@federation__*`
 * when not imported), the schema the gateway sees (no federation machinery,
 * no unresolved @external field, `_entities` over the resolvable entities),
 * a Federation 1 `extend type` read as the definition, and a supergraph
 * split back into its subgraphs (sources/federation/supergraph.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, printSchema, Kind } from 'graphql';
import { readFederationSdl } from '../../src/sources/federation/sdl.js';

const read = (sdl: string) => readFederationSdl(sdl, parse(sdl));

test('imported, renamed and prefixed federation directives are all read', () => {
  const sdl = `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: [{ name: "@key", as: "@id" }, "@external"])
    type Query { product: Product }
    type Product @id(fields: "sku") @id(fields: "id org { id }") @federation__key(fields: "ean", resolvable: false) {
      sku: String!
      id: ID!
      ean: String!
      org: Org!
      weight: Int @external
      cost: Int @federation__requires(fields: "weight")
      seller: Seller @federation__provides(fields: "name")
    }
    type Org { id: ID! }
    type Seller @id(fields: "id") { id: ID! name: String @external }
  `;
  const { info, schema } = read(sdl);
  assert.deepEqual([...info.entities.keys()], ['Product', 'Seller']);
  const productKeys = info.entities.get('Product')!.map((set) => set.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '')).join(' '));
  assert.deepEqual(productKeys, ['sku', 'id org']);
  assert.deepEqual([...info.keyed].sort(), ['Product', 'Seller']);
  assert.deepEqual([...info.requires.keys()], ['Product.cost']);
  assert.deepEqual([...info.provides.keys()], ['Product.seller']);
  const printed = printSchema(schema);
  assert.doesNotMatch(printed, /weight|@id|@federation__|@link|_service/);
  assert.doesNotMatch(printed, /type Seller \{\s+id: ID!\s+name/);
  assert.match(printed, /union _Entity = Product \| Seller/);
  assert.match(printed, /_entities\(representations: \[_Any!\]!\): \[_Entity\]!/);
});

test('without a federation @link (Federation 1) the bare names count, and `extend type` alone is the definition', () => {
  const { info, schema } = read(`
    extend type Product @key(fields: "upc") {
      upc: String! @external
      stock: Int
    }
  `);
  assert.deepEqual([...info.entities.keys()], ['Product']);
  // An @external key field is kept: the subgraph gets it in the representation.
  assert.match(printSchema(schema), /type Product \{\s+upc: String!\s+stock: Int\s+\}/);
});

test('a field set that cannot be parsed names the type and directive', () => {
  assert.throws(() => read('type Product @key(fields: "id {") { id: ID! }'), /type Product @key: field set "id \{" is not valid/);
});

test('a supergraph made by composition is split back into subgraphs that compose again: keys, @requires, @override, @inaccessible, unions, enums, interfaces', async () => {
  const { composeServices } = await import('@theguild/federation-composition');
  const { subgraphsOfSupergraph } = await import('../../src/sources/federation/supergraph.js');
  const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible"])';
  const services = [
    {
      name: 'a',
      url: 'http://127.0.0.1:1/a',
      sdl: `${link}
type Query { search: [Result!]! node(id: ID!): Node }
interface Node { id: ID! }
union Result = Book | Film
enum Genre { DRAMA COMEDY }
type Book implements Node @key(fields: "id") { id: ID! title: String genre: Genre secret: String @inaccessible }
type Film @key(fields: "id") { id: ID! name: String @shareable }`,
    },
    {
      name: 'b',
      url: 'http://127.0.0.1:1/b',
      sdl: `${link}
type Book @key(fields: "id") { id: ID! title: String @external pages: Int @requires(fields: "title") }
type Film @key(fields: "id") { id: ID! name: String @shareable rating: Int @override(from: "a") }`,
    },
  ];
  const composed = composeServices(services.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  assert.equal(composed.errors, undefined);
  const split = subgraphsOfSupergraph(composed.supergraphSdl!);
  assert.deepEqual(split.map((s) => [s.name, s.url]), services.map((s) => [s.name, s.url]));
  const again = composeServices(split.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  assert.equal(again.errors, undefined, again.errors?.map((e) => e.message).join('\n'));
  assert.equal(again.publicSdl, composed.publicSdl);
  const b = read(split[1]!.sdl).info;
  assert.deepEqual([...b.requires.keys()], ['Book.pages']);
  assert.deepEqual([...b.overrides], [['Film.rating', { from: 'a' }]]);
  assert.ok(read(split[0]!.sdl).info.inaccessible.has('Book.secret'));
});
