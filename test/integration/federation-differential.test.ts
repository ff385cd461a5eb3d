/**
 * Differential test: the four subgraphs of the public gateways benchmark
 * (bench/services/federation, built with @apollo/subgraph) served on loopback
 * to two gateways at once, Tessera and Apollo Gateway (@apollo/gateway,
 * in-process, composing the same subgraphs), and a corpus of queries whose
 * answers are compared: data exactly, errors by message and path.
 *
 * Apollo Gateway runs without @apollo/server (test/kit/apollo.ts).
 *
 * Intended differences (not compared): error `extensions` (Tessera gives its
 * own codes and the subgraph's name; Apollo Gateway its own), and the order
 * of errors (each side lists them in the order its fetches return). Where a
 * whole `_entities` call fails, Apollo Gateway gives one error at a path with
 * "@" for every list index, ending in `_entities` (not a response path);
 * Tessera gives the error at each item's field that call was to fill
 * (docs/reliability.md row 45): the test checks that every such copy matches
 * Apollo's pattern and message, and that there is at least one. Where Apollo
 * Gateway itself answers wrongly (APOLLO_WRONG), Tessera is compared with
 * graphql-js over the monolith of the same data.
 *
 * Then two subgraphs of its own (mergeSubgraphs) for the types the federation
 * spec merges (input types, enums, unions) and override labels on for every
 * request or none, compared on both of Tessera's routes (planned, and
 * stitched with the planner off); and what the stitched route refuses rather
 * than answer differently (a label rolled per request).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse } from 'graphql';
import { FEDERATION_QUERY } from '../../bench/services/federation/data.js';
import { monolith, SUBGRAPHS, subgraphSchema, type SubgraphDefinition, type SubgraphName } from '../../bench/services/federation/subgraphs.js';
import { startApolloGateway, type ApolloAnswer } from '../kit/apollo.js';
import { startGateway, startGraphqlUpstream, type DemoService } from '../kit/index.js';

const NAMES: SubgraphName[] = ['accounts', 'inventory', 'products', 'reviews'];

type Answer = ApolloAnswer;

/** The answer as compared: data as JSON, errors as sorted "path: message" lines. */
function comparable(answer: Answer): { data: unknown; errors: string[] } {
  return {
    data: JSON.parse(JSON.stringify(answer.data ?? null)) as unknown,
    errors: (answer.errors ?? []).map((e) => `${(e.path ?? []).join('.')}: ${e.message}`).sort(),
  };
}

/**
 * Apollo Gateway's errors of a whole failed `_entities` call ("a.@.b.@.c._entities") matched against Tessera's
 * copies at each item ("a.0.b.1.c.name"): both sides' lines without them, once each is found on Tessera's side.
 */
function withoutWholeCallErrors(ours: string[], theirs: string[]): [string[], string[]] {
  let kept = ours;
  const rest: string[] = [];
  for (const line of theirs) {
    const match = /^(.*\.@(?:\.[^.:]+)*)\._entities: (.*)$/.exec(line);
    if (!match) {
      rest.push(line);
      continue;
    }
    const pattern = new RegExp(`^${match[1]!.split('.').map((k) => (k === '@' ? '\\d+' : k)).join('\\.')}\\.[^.:]+: ${match[2]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const copies = kept.filter((l) => pattern.test(l));
    assert.ok(copies.length > 0, `Tessera has Apollo's whole-call error at each item: ${line}`);
    kept = kept.filter((l) => !pattern.test(l));
  }
  return [kept, rest];
}

/** Apollo Gateway over the same subgraphs, run in-process: query in, answer out. */
function startApollo(t: TestContext, services: Record<SubgraphName, DemoService>, definitions: Record<SubgraphName, SubgraphDefinition>) {
  return startApolloGateway(t, NAMES.map((name) => ({ name, url: services[name].url, sdl: definitions[name].sdl })));
}

async function startBoth(t: TestContext, definitions: Record<SubgraphName, SubgraphDefinition>) {
  const services = {} as Record<SubgraphName, DemoService>;
  for (const name of NAMES) services[name] = await startGraphqlUpstream(t, subgraphSchema(definitions[name]));
  const tessera = await startGateway(
    t,
    NAMES.map((name) => ({ name, kind: 'federation' as const, url: services[name].url })),
    { mode: 'development', security: { limits: { cost: { mode: 'measure' } } } } as never,
  );
  const apollo = await startApollo(t, services, definitions);
  return {
    tessera,
    apollo,
    async compare(query: string, variables?: Record<string, unknown>): Promise<{ data: unknown; errors: string[] }> {
      const [ours, theirs] = await Promise.all([tessera.query(query, variables), apollo(query, variables)]);
      const a = comparable(ours.body);
      const b = comparable(theirs);
      const answer = { data: a.data, errors: a.errors };
      [a.errors, b.errors] = withoutWholeCallErrors(a.errors, b.errors);
      assert.deepEqual(a, b, `${query}\nTessera: ${JSON.stringify(ours.body)}\nApollo: ${JSON.stringify(theirs)}`);
      return answer;
    },
  };
}

const plain = (): Record<SubgraphName, SubgraphDefinition> => Object.fromEntries(NAMES.map((n) => [n, SUBGRAPHS[n]()])) as Record<SubgraphName, SubgraphDefinition>;

/** The corpus: each query, and variables where it has some. */
const CORPUS: Array<[name: string, query: string, variables?: Record<string, unknown>]> = [
  ['the benchmark query', FEDERATION_QUERY],
  ['nested entities across every subgraph', '{ topProducts(first: 9) { name reviews { author { name reviews { product { name inStock reviews { id } } } } } } }'],
  ['@requires alone (price and weight not selected)', '{ topProducts(first: 9) { upc shippingEstimate } }'],
  ['@requires under a review', '{ users { reviews { product { shippingEstimate inStock } } } }'],
  ['@provides: username answered by reviews', '{ me { reviews { author { username } } } }'],
  ['@provides not covering name', '{ me { reviews { author { username name birthday } } } }'],
  ['aliases at every level', '{ a: me { n: name i: id r: reviews { b: body p: product { u: upc s: shippingEstimate } } } b: user(id: "2") { name } c: topProducts(first: 2) { x: name } }'],
  ['the same field twice under two aliases with different arguments', '{ one: topProducts(first: 1) { name } three: topProducts(first: 3) { name inStock } }'],
  ['named and inline fragments, nested', 'query Q { me { ...U } } fragment U on User { id ... on User { name reviews { ...R } } } fragment R on Review { body product { ... on Product { upc inStock } } }'],
  ['__typename everywhere', '{ __typename me { __typename reviews { __typename product { __typename inStock } author { __typename name } } } topProducts { __typename t: __typename } }'],
  ['variables, defaults and @skip/@include', 'query V($id: ID!, $first: Int, $withReviews: Boolean!, $noStock: Boolean = false) { user(id: $id) { name reviews @include(if: $withReviews) { body } } topProducts(first: $first) { name inStock @skip(if: $noStock) } }', { id: '3', first: 4, withReviews: true }],
  ['an unknown user: null', '{ user(id: "404") { name reviews { body } } }'],
  ['an empty list', '{ topProducts(first: 0) { name inStock } }'],
  ['only key fields of an entity from another subgraph', '{ me { reviews { product { upc } author { id } } } }'],
  ['a fragment spread on the root type', 'query Q { ...Root } fragment Root on Query { me { name } topProducts(first: 2) { ...P } } fragment P on Product { upc shippingEstimate }'],
  ['__typename alone at the root', '{ __typename }'],
  ['@skip and @include on entity fields and fragments', 'query S($on: Boolean!) { me { name @include(if: $on) reviews { body @skip(if: $on) product @include(if: $on) { inStock ... on Product @skip(if: $on) { name } } } } }', { on: true }],
  ['a required variable left out', 'query R($id: ID!) { user(id: $id) { name } }'],
  ['introspection beside fields of several subgraphs (planned, introspection answered by the gateway)', '{ __schema { queryType { name } } product: __type(name: "Product") { name kind } topProducts(first: 2) { name inStock } }'],
];

test('Tessera and Apollo Gateway give the same answers over the benchmark\'s four federation subgraphs', async (t) => {
  const both = await startBoth(t, plain());
  for (const [name, query, variables] of CORPUS) {
    await t.test(name, async () => {
      const answer = await both.compare(query, variables);
      assert.ok(answer.data !== null || answer.errors.length > 0);
    });
  }
});

/**
 * Where Apollo Gateway 2.14 answers wrongly, so the answer is compared with graphql-js over the monolith (the same
 * data in one schema) instead: an alias named like a key field of the entity (`id: name` on a User, whose key is
 * `id`) gets the key's value from Apollo Gateway, the aliased field's from graphql-js and Tessera.
 */
const APOLLO_WRONG: Array<[name: string, query: string]> = [['aliases swapping field names with a key field', '{ me { id: name name: id reviews { upc: id product { id: upc name: inStock } } } }']];

test('where Apollo Gateway differs from GraphQL execution, Tessera answers as graphql-js over the monolith', async (t) => {
  const both = await startBoth(t, plain());
  for (const [name, query] of APOLLO_WRONG) {
    await t.test(name, async () => {
      const ours = await both.tessera.query(query);
      const expected = await execute({ schema: monolith(), document: parse(query) });
      assert.deepEqual(ours.body, JSON.parse(JSON.stringify(expected)));
      assert.notDeepEqual(comparable(await both.apollo(query)).data, ours.body.data, 'Apollo Gateway still answers differently (else move the case to CORPUS)');
    });
  }
});

/**
 * The same subgraphs with faults: inventory fails inStock of one product; accounts rejects one user's reference
 * (one `_entities` item fails); products fails a root field, and throws from its reference resolver for one
 * product (@apollo/subgraph then fails the whole `_entities` call).
 */
function faulty(): Record<SubgraphName, SubgraphDefinition> {
  const definitions = plain();
  const inventory = definitions.inventory.resolvers.Product!;
  definitions.inventory.resolvers.Product = {
    ...inventory,
    inStock: (p: { upc: string; inStock: boolean }) => {
      if (p.upc === '2') throw new Error('inventory is down for upc 2');
      return p.inStock;
    },
  };
  const accounts = definitions.accounts.resolvers.User!;
  definitions.accounts.resolvers.User = {
    ...accounts,
    __resolveReference: async (r: { id: string }, ...rest: unknown[]) => {
      if (r.id === '5') throw new Error('user 5 cannot be read');
      return (accounts.__resolveReference as (...a: unknown[]) => unknown)(r, ...rest);
    },
  };
  const products = definitions.products.resolvers.Query!;
  definitions.products.resolvers.Query = {
    ...products,
    topProducts: (parent: unknown, args: { first: number }, ...rest: unknown[]) => {
      if (args.first === 7) throw new Error('seven is not allowed');
      return (products.topProducts as (...a: unknown[]) => unknown)(parent, args, ...rest);
    },
  };
  const product = definitions.products.resolvers.Product!;
  definitions.products.resolvers.Product = {
    ...product,
    __resolveReference: (r: { upc: string }, ...rest: unknown[]) => {
      if (r.upc === '4') throw new Error('product 4 cannot be read');
      return (product.__resolveReference as (...a: unknown[]) => unknown)(r, ...rest);
    },
  };
  return definitions;
}

const FAULTS: Array<[name: string, query: string, variables?: Record<string, unknown>]> = [
  ['one _entities item failing a field (inventory, upc 2): that item\'s path only', '{ topProducts(first: 4) { upc name inStock } }'],
  ['one _entities item failing its reference (accounts, user 5): the others resolve', '{ topProducts(first: 9) { name reviews { id author { id name } } } }'],
  ['a whole _entities call failing (products, a reference resolver throwing)', '{ users { id reviews { product { upc name price } } } }'],
  ['a root field failing (products): null with its path, the other root fields answer', '{ me { name } topProducts(first: 7) { name } }'],
  ['errors at several depths in one query', '{ users { name reviews { product { upc inStock } author { name } } } }'],
  ['a validation error', '{ me { nope } }'],
  ['a variable of the wrong type', 'query V($first: Int) { topProducts(first: $first) { name } }', { first: 'many' }],
];

test('Tessera and Apollo Gateway locate subgraph errors the same way (data, error messages and paths)', async (t) => {
  const both = await startBoth(t, faulty());
  for (const [name, query, variables] of FAULTS) {
    await t.test(name, async () => {
      const answer = await both.compare(query, variables);
      assert.ok(answer.errors.length > 0, 'each case has an error');
    });
  }
});

/**
 * Two subgraphs sharing types merged by the federation spec's rules (docs/reliability.md row 78): the input
 * `Filter` (its fields: the intersection; `onlyCatalog` and `onlyPricing` are in one subgraph each), `Page` (its
 * field nullable in one subgraph and required in the other: required), `Color` used
 * only as an input (values: the intersection), `Size` only as an output (the union), `Kind` as both (equal
 * everywhere), the union `Result` (the union of its members); and `pricing` taking Product.price over with
 * `percent(100)` and stock with `percent(0)`. Each subgraph echoes the arguments it was sent.
 */
const MERGE_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])';
const ITEMS = [
  { id: 'p1', name: 'Lamp', size: 'S', kind: 'BOOK' },
  { id: 'p2', name: 'Desk', size: 'L', kind: 'FILM' },
  { id: 'p3', name: 'Chair', size: 'M', kind: 'BOOK' },
];
const item = (id: string) => ITEMS.find((i) => i.id === id) ?? null;
const echo = (_: unknown, args: unknown) => JSON.stringify(args);

function mergeSubgraphs(priceLabel: string, stockLabel: string) {
  return {
    catalog: {
      sdl: `${MERGE_LINK}
input Filter { name: String limit: Int = 10 onlyCatalog: Boolean }
input Page { size: Int }
enum Color { RED GREEN BLUE }
enum Size { S M L }
enum Kind { BOOK FILM }
type Note { text: String! }
union Result = Product | Note
type Product @key(fields: "id") { id: ID! name: String! size: Size! kind: Kind! price: Int stock: Int }
type Query {
  products(filter: Filter, kind: Kind): [Product!]!
  search: [Result!]!
  catalogEcho(filter: Filter, color: Color, page: Page): String!
}`,
      resolvers: {
        Query: {
          products: (_: unknown, { filter, kind }: { filter?: { limit?: number }; kind?: string }) => ITEMS.filter((i) => !kind || i.kind === kind).slice(0, filter?.limit ?? 10),
          search: () => [{ __typename: 'Note', text: 'hello' }, { __typename: 'Product', ...ITEMS[1] }],
          catalogEcho: echo,
        },
        Result: { __resolveType: (r: { __typename: string }) => r.__typename },
        Product: { __resolveReference: (r: { id: string }) => item(r.id), price: () => 1, stock: () => 10 },
      },
    },
    pricing: {
      sdl: `${MERGE_LINK}
input Filter { name: String limit: Int = 10 onlyPricing: String }
input Page { size: Int! }
enum Color { RED GREEN }
enum Size { S M XL }
enum Kind { BOOK FILM }
type Offer { discount: Int! }
union Result = Product | Offer
type Product @key(fields: "id") { id: ID! price: Int @override(from: "catalog", label: "${priceLabel}") stock: Int @override(from: "catalog", label: "${stockLabel}") }
type Query {
  deals: [Result!]!
  sizes: [Size!]!
  kinds: [Kind!]!
  cheapest(kind: Kind!): Product
  pricingEcho(filter: Filter, color: Color, page: Page): String!
}`,
      resolvers: {
        Query: {
          deals: () => [{ __typename: 'Product', ...ITEMS[0] }, { __typename: 'Offer', discount: 5 }],
          sizes: () => ['XL', 'S'],
          kinds: () => ['FILM'],
          cheapest: (_: unknown, { kind }: { kind: string }) => ITEMS.find((i) => i.kind === kind) ?? null,
          pricingEcho: echo,
        },
        Result: { __resolveType: (r: { __typename: string }) => r.__typename },
        Product: { __resolveReference: (r: { id: string }) => item(r.id), price: () => 2, stock: () => 20 },
      },
    },
  };
}
type MergeName = 'catalog' | 'pricing';

/**
 * Tessera (both routes: planned, and stitched with `execution.planner: false`) and Apollo Gateway over the same two
 * subgraphs. Apollo Gateway (@apollo/gateway 2.14) switches no override label on (its query planner is called
 * without override conditions), so where a label is on for every request (`percent(100)`, as Apollo Router has
 * it) its reference is the same subgraphs with that override unlabelled: what "on for every request" means.
 */
async function startMerged(t: TestContext, priceLabel: string, stockLabel: string) {
  const definitions = mergeSubgraphs(priceLabel, stockLabel);
  const urls = {} as Record<MergeName, string>;
  for (const name of ['catalog', 'pricing'] as const) {
    const { sdl, resolvers } = definitions[name];
    urls[name] = (await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }))).url;
  }
  const descriptors = (['catalog', 'pricing'] as const).map((name) => ({ name, kind: 'federation' as const, url: urls[name] }));
  const planned = await startGateway(t, descriptors, { mode: 'development' });
  const stitched = await startGateway(t, descriptors, { mode: 'development', execution: { planner: false } } as never);
  const always = (sdl: string) => sdl.replace(/, label: "percent\(100\)"/g, '');
  const apollo = await startApolloGateway(t, (['catalog', 'pricing'] as const).map((name) => ({ name, url: urls[name], sdl: always(definitions[name].sdl) })));
  return {
    planned,
    stitched,
    /** Both of Tessera's routes answer as Apollo Gateway does; the routes Tessera took. */
    async compare(query: string, variables?: Record<string, unknown>): Promise<{ data: any; routes: string[] }> {
      const theirs = comparable(await apollo(query, variables));
      const routes: string[] = [];
      let data: unknown;
      for (const gateway of [planned, stitched]) {
        const ours = await gateway.query(query, variables);
        routes.push(ours.headers.get('tessera-route') ?? 'none');
        assert.deepEqual(comparable(ours.body), theirs, `${query} (${routes.at(-1)})\nTessera: ${JSON.stringify(ours.body)}`);
        data = ours.body.data;
      }
      return { data, routes };
    },
  };
}

const MERGED: Array<[name: string, query: string, variables?: Record<string, unknown>]> = [
  ['the shared input type as an argument in both subgraphs', '{ catalogEcho(filter: { name: "a", limit: 2 }) pricingEcho(filter: { name: "b" }) products(filter: { limit: 2 }) { id name } }'],
  ['the shared input type in variables, with its default', 'query F($c: Filter, $p: Filter) { catalogEcho(filter: $c) pricingEcho(filter: $p) }', { c: { name: 'x' }, p: { limit: 3 } }],
  ['an input field only one subgraph has: refused by validation', '{ catalogEcho(filter: { onlyCatalog: true }) }'],
  ['an input field only one subgraph has, in a variable: refused', 'query F($f: Filter) { pricingEcho(filter: $f) }', { f: { onlyPricing: 'x' } }],
  ['an input field required in one subgraph: required in the unified graph', '{ catalogEcho(page: { size: 3 }) }'],
  ['an input field required in one subgraph, left out: refused', '{ catalogEcho(page: {}) }'],
  ['an input-only enum: the values of every subgraph', '{ catalogEcho(color: GREEN) pricingEcho(color: RED) }'],
  ['an input-only enum value one subgraph lacks: refused', '{ catalogEcho(color: BLUE) }'],
  ['an output-only enum: the values of any subgraph', '{ products { id size } sizes }'],
  ['an enum used both ways, equal in both subgraphs', '{ products(kind: FILM) { id kind } cheapest(kind: BOOK) { id kind name } kinds }'],
  ['a union: the members of every subgraph, fields joined across them', '{ deals { __typename ... on Product { id name size } ... on Offer { discount } } search { __typename ... on Note { text } ... on Product { id kind } } }'],
  ['the merged types as introspection shows them', '{ filter: __type(name: "Filter") { inputFields { name defaultValue type { name } } } page: __type(name: "Page") { inputFields { name type { kind ofType { name } } } } color: __type(name: "Color") { enumValues { name } } size: __type(name: "Size") { enumValues { name } } kind: __type(name: "Kind") { enumValues { name } } result: __type(name: "Result") { possibleTypes { name } } }'],
  ['override percent(100) and percent(0): price from pricing, stock from catalog', '{ products { id name price stock } deals { ... on Product { price stock } } }'],
];

test('input types, enums and unions shared by federation subgraphs, and override labels at 0% and 100%: both routes answer as Apollo Gateway', async (t) => {
  const both = await startMerged(t, 'percent(100)', 'percent(0)');
  for (const [name, query, variables] of MERGED) {
    await t.test(name, async () => {
      const { routes } = await both.compare(query, variables);
      // The stitched gateway runs no planner: what is not direct is stitched there.
      assert.ok(!routes[1]!.includes('planned'), routes.join(' / '));
    });
  }
  const { data, routes } = await both.compare('{ products { id price stock } }');
  assert.deepEqual(data.products.map((p: { price: number; stock: number }) => [p.price, p.stock]), [[2, 10], [2, 10], [2, 10]]);
  assert.deepEqual(routes, ['planned', 'stitched']);
  // The merged input type as the unified graph has it (the intersection, with the composed default).
  const filter = await both.planned.query('{ __type(name: "Filter") { inputFields { name } } }');
  assert.deepEqual(filter.body.data.__type.inputFields.map((f: { name: string }) => f.name), ['name', 'limit']);
});

test('a field moved by an override label rolled per request (percent(50)): planned, one subgraph per request; stitching refuses it, located (docs/reliability.md row 77)', async (t) => {
  const both = await startMerged(t, 'percent(50)', 'percent(0)');
  const query = '{ products { id price } deals { ... on Product { id\n  price } } }';
  const prices = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const answer = await both.planned.query(query);
    assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
    const seen = new Set([...answer.body.data.products, ...answer.body.data.deals].flatMap((p: { price?: number }) => (p.price === undefined ? [] : [p.price])));
    assert.equal(seen.size, 1, 'one subgraph answers price everywhere in a request');
    prices.add([...seen][0]!);
    assert.equal(answer.headers.get('tessera-route'), 'planned');
  }
  assert.ok([...prices].every((p) => p === 1 || p === 2));
  const refused = await both.stitched.query(query);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.data, undefined);
  const [error] = refused.body.errors!;
  assert.equal(error!.extensions?.code, 'OPERATION_NOT_PLANNABLE');
  assert.equal(
    error!.message,
    'Field "Product.price" cannot be answered here: it moves from subgraph "catalog" to "pricing" for 50% of requests (@override(label: "percent(50)")), which only the query planner answers as federation specifies, and the planner declines this operation (the query planner is off (execution.planner: false)).',
  );
  assert.deepEqual((error as { locations?: unknown }).locations, [{ line: 1, column: 17 }]);
  // A field with no rolled label beside it is still stitched.
  const plain = await both.stitched.query('{ products { id name stock } deals { ... on Offer { discount } } }');
  assert.equal(plain.body.errors, undefined);
  assert.equal(plain.headers.get('tessera-route'), 'stitched');
});

test('composition errors of shared input types and enums name the subgraphs, the type, the field or values (docs/reliability.md row 78)', async (t) => {
  const start = async (catalog: string, pricing: string) => {
    const catalogService = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(`${MERGE_LINK}\n${catalog}`) }));
    const pricingService = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(`${MERGE_LINK}\n${pricing}`) }));
    return startGateway(t, [
      { name: 'catalog', kind: 'federation', url: catalogService.url },
      { name: 'pricing', kind: 'federation', url: pricingService.url },
    ]);
  };
  await assert.rejects(
    start('input Filter { name: String limit: Int! }\ntype Query { a(f: Filter): Int }', 'input Filter { name: String }\ntype Query { b(f: Filter): Int }'),
    (error: Error) => {
      assert.match(error.message, /"catalog".*"pricing".*: federation composition: Input object field "Filter\.limit" is required in some subgraphs but does not appear in all subgraphs: it is required in subgraph "catalog" but does not appear in subgraph "pricing" \(REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH\)/);
      return true;
    },
  );
  await assert.rejects(
    start('enum Kind { BOOK FILM }\ntype Query { a(k: Kind): Kind }', 'enum Kind { BOOK GAME }\ntype Query { b(k: Kind): Kind }'),
    (error: Error) => {
      assert.match(error.message, /Enum type "Kind" is used as both input type .* value "FILM" is not defined in all the subgraphs defining "Kind": "FILM" is defined in subgraph "catalog" but not in subgraph "pricing" \(ENUM_VALUE_MISMATCH\)/);
      assert.match(error.message, /"GAME" is defined in subgraph "pricing" but not in subgraph "catalog"/);
      return true;
    },
  );
});
