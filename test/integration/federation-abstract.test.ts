/**
 * Abstract types across federation subgraphs, planned (not stitched), with
 * answers compared to Apollo Gateway's on the same subgraphs
 * (test/kit/apollo.ts): an entity interface (`interface Media @key`) whose
 * implementations get fields from another subgraph; a union whose members'
 * fields come from another subgraph; and @interfaceObject: a subgraph that
 * knows `Media` as one object type adds fields to every implementation, and
 * its own root fields return objects whose concrete type the interface's
 * subgraph tells; with the planner off, stitching refuses what it cannot
 * answer of an @interfaceObject. Real @apollo/subgraph subgraphs on loopback.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { createGateway } from '../../src/index.js';
import { startApolloGateway } from '../kit/apollo.js';
import { captureLogs, gql, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@interfaceObject", "@shareable"])';
const ALL = [
  { __typename: 'Book', id: 'b1', title: 'Dune', author: 'Herbert' },
  { __typename: 'Movie', id: 'm1', title: 'Alien', director: 'Scott' },
  { __typename: 'Book', id: 'b2', title: 'Emma', author: 'Austen' },
];
const find = (id: string) => ALL.find((m) => m.id === id) ?? null;

const SUBGRAPHS = {
  media: {
    sdl: `${LINK}
interface Media @key(fields: "id") { id: ID! title: String! }
type Book implements Media @key(fields: "id") { id: ID! title: String! author: String! }
type Movie implements Media @key(fields: "id") { id: ID! title: String! director: String! }
union Result = Book | Movie
type Query { media: [Media!]! search: [Result!]! }`,
    resolvers: {
      Query: { media: () => ALL, search: () => ALL },
      Media: { __resolveReference: (r: { id: string }) => find(r.id), __resolveType: (m: { __typename: string }) => m.__typename },
      Result: { __resolveType: (m: { __typename: string }) => m.__typename },
      Book: { __resolveReference: (r: { id: string }) => find(r.id) },
      Movie: { __resolveReference: (r: { id: string }) => find(r.id) },
    },
  },
  /** Knows Media as an @interfaceObject: its reviews are on Book and Movie in the unified graph. */
  reviews: {
    sdl: `${LINK}
type Media @key(fields: "id") @interfaceObject { id: ID! reviews: [Review!]! }
type Review { score: Int! }
type Query { topRated: [Media!]! }`,
    resolvers: {
      Query: { topRated: () => [{ id: 'm1' }, { id: 'b2' }] },
      Media: { __resolveReference: (r: { id: string }) => ({ id: r.id }), reviews: (m: { id: string }) => [{ score: m.id === 'm1' ? 4 : 5 }, { score: 3 }] },
    },
  },
  /** Only books have a price. */
  pricing: {
    sdl: `${LINK}
type Book @key(fields: "id") { id: ID! price: Int }`,
    resolvers: { Book: { __resolveReference: (r: { id: string }) => ({ id: r.id, price: r.id === 'b1' ? 7 : 9 }) } },
  },
};
type Name = keyof typeof SUBGRAPHS;

async function startBoth(t: TestContext) {
  const urls = {} as Record<Name, string>;
  const calls = {} as Record<Name, number>;
  for (const name of Object.keys(SUBGRAPHS) as Name[]) {
    const { sdl, resolvers } = SUBGRAPHS[name];
    calls[name] = 0;
    const service = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }), {}, { plugins: [{ onParams: () => void calls[name]++ }] });
    urls[name] = service.url;
  }
  const tessera = await startGateway(
    t,
    (Object.keys(urls) as Name[]).map((name) => ({ name, kind: 'federation' as const, url: urls[name] })),
    { mode: 'development' },
  );
  const apollo = await startApolloGateway(t, (Object.keys(urls) as Name[]).map((name) => ({ name, url: urls[name], sdl: SUBGRAPHS[name].sdl })));
  return {
    calls,
    urls,
    /** Tessera's answer, checked against Apollo Gateway's; with the route Tessera took and the calls it made. */
    async compare(query: string): Promise<{ data: any; route: string | null; calls: Record<Name, number> }> {
      for (const name of Object.keys(calls) as Name[]) calls[name] = 0;
      const ours = await tessera.query(query);
      const made = { ...calls };
      const theirs = await apollo(query);
      assert.equal(ours.body.errors, undefined, JSON.stringify(ours.body.errors));
      assert.deepEqual(ours.body, theirs, query);
      return { data: ours.body.data, route: ours.headers.get('tessera-route'), calls: made };
    },
  };
}

test('an entity interface and a union whose members take fields from another subgraph are planned per concrete type, as Apollo Gateway answers', async (t) => {
  const both = await startBoth(t);
  const interfaced = await both.compare('{ media { id title ... on Book { price } ... on Movie { director } } }');
  assert.equal(interfaced.route, 'planned');
  assert.deepEqual(interfaced.data.media.map((m: { price?: number }) => m.price), [7, undefined, 9]);
  // One call to media, one _entities call to pricing with the two books only.
  assert.deepEqual(interfaced.calls, { media: 1, reviews: 0, pricing: 1 });
  const union = await both.compare('{ search { __typename ... on Book { title price } ... on Movie { title } } }');
  assert.equal(union.route, 'planned');
  assert.deepEqual(union.calls, { media: 1, reviews: 0, pricing: 1 });
  const alone = await both.compare('{ media { __typename id title } }');
  assert.equal(alone.route, 'direct');
});

test('@interfaceObject: its fields on every implementation, and its root fields\' objects typed by the interface\'s subgraph, as Apollo Gateway answers', async (t) => {
  const both = await startBoth(t);
  // Fields of the @interfaceObject subgraph on objects of the interface, and under a type condition.
  const added = await both.compare('{ media { id reviews { score } ... on Book { price reviews { s: score } } } }');
  assert.equal(added.route, 'planned');
  assert.deepEqual(added.calls, { media: 1, reviews: 1, pricing: 1 });
  // Its root field: it gives the keys and its own fields (never asked again through `_entities`), media tells each
  // object's type and its fields.
  const typed = await both.compare('{ topRated { __typename id title ... on Book { author price } ... on Movie { director } reviews { score } } }');
  assert.equal(typed.route, 'planned');
  assert.deepEqual(typed.data.topRated.map((m: { __typename: string }) => m.__typename), ['Movie', 'Book']);
  assert.deepEqual(typed.calls, { media: 1, reviews: 1, pricing: 1 });
  // Nothing selected needs the concrete type: reviews alone answers.
  const own = await both.compare('{ topRated { id reviews { score } } }');
  assert.deepEqual(own.calls, { media: 0, reviews: 1, pricing: 0 });
  await both.compare('{ search { ... on Movie { reviews { score } } } }');
});

test('a supergraph file with an @interfaceObject (`@join__type(isInterfaceObject: true)`) is served as its subgraphs: the same answers', async (t) => {
  const both = await startBoth(t);
  const composed = composeServices((Object.keys(both.urls) as Name[]).map((name) => ({ name, typeDefs: parse(SUBGRAPHS[name].sdl), url: both.urls[name] })));
  assert.equal(composed.errors, undefined);
  const dir = tempProject(t, { 'gateway.yaml': 'supergraph: ./supergraph.graphql\nlogging: { level: silent }\n', 'supergraph.graphql': composed.supergraphSdl! });
  const gateway = await createGateway({ configFile: `${dir}/gateway.yaml` });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  for (const query of ['{ topRated { __typename id title ... on Book { price } reviews { score } } }', '{ media { id ... on Movie { reviews { score } } } }']) {
    const expected = await both.compare(query);
    const served = await gql(url, query);
    assert.deepEqual(served.body, { data: expected.data }, query);
  }
});

test('with the planner off, an operation selecting an @interfaceObject\'s field is refused, located at it, not answered differently from Apollo Gateway (docs/reliability.md row 77)', async (t) => {
  const both = await startBoth(t);
  const { lines, logger } = captureLogs('info');
  const stitched = await startGateway(
    t,
    (Object.keys(both.urls) as Name[]).map((name) => ({ name, kind: 'federation' as const, url: both.urls[name] })),
    { mode: 'development', execution: { planner: false } } as never,
    { logger },
  );
  for (const [query, field, line, column] of [
    ['{ media { id title\n  reviews { score } } }', 'Media.reviews', 2, 3],
    ['query Top { topRated { id } }', 'Query.topRated', 1, 13],
    ['{ search { ... on Book { title price } ... on Movie { reviews { score } } } }', 'Movie.reviews', 1, 55],
  ] as const) {
    for (const name of Object.keys(both.calls) as Name[]) both.calls[name] = 0;
    const refused = await stitched.query(query);
    assert.equal(refused.status, 400, query);
    assert.equal(refused.body.data, undefined);
    assert.equal(refused.body.errors?.length, 1);
    const [error] = refused.body.errors!;
    assert.equal(error!.extensions?.code, 'OPERATION_NOT_PLANNABLE');
    assert.match(error!.message, new RegExp(`^Field "${field}" cannot be answered here: .*@interfaceObject.*\\(the query planner is off \\(execution\\.planner: false\\)\\)\\.$`));
    assert.deepEqual((error as { locations?: unknown }).locations, [{ line, column }], query);
    assert.deepEqual(both.calls, { media: 0, reviews: 0, pricing: 0 }, 'no subgraph is called');
    // The request line says why: the stitched route's reason, refused, and the code.
    const logged = lines.filter((l) => l.msg === 'request').at(-1)!;
    assert.equal(logged.route, 'stitched');
    assert.equal(logged.routeReason, `the query planner is off (execution.planner: false); refused: ${field} is answered by the planner only`);
    assert.equal(logged.status, 400);
    assert.deepEqual(logged.errors, ['OPERATION_NOT_PLANNABLE']);
  }
  // What stitching answers as Apollo Gateway does still runs there: the interface's own subgraph, and a plain join.
  for (const query of ['{ media { id title } }', '{ search { ... on Book { title price } } }']) {
    const expected = await both.compare(query);
    const answered = await stitched.query(query);
    assert.deepEqual(answered.body, { data: expected.data }, query);
  }
});
