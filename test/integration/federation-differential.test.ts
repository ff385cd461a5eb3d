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
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
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
