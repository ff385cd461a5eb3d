/*
 * The audit's suites (graphql-hive/federation-gateway-audit, formerly the-guild-org/graphql-federation-gateway-audit,
 * src/test-suites/) and our scenario for each behaviour (test name here, or another file):
 *   abstract-types, child-type-mismatch, circular-reference-interface, typename,
 *   union-interface-distributed, union-intersection            → "interfaces and unions across subgraphs"
 *   authenticated-and-scopes                                    → federation.test.ts "@authenticated and @requiresScopes ..."
 *   complex-entity-call, keys-mashup, null-keys,
 *   parent-entity-call, parent-entity-call-complex, simple-entity-call → "entities and keys"
 *   corrupted-supergraph-node-id, node, shared-root            → "shared root fields and node(id:)"; node also
 *                                                                "... node(id:) and a type implementing Node elsewhere"
 *   defer/shared-root (its queries have no @defer)              → "shared non-null root fields of a value type ..."
 *   enum-intersection, input-object-intersection, simple-inaccessible → "@inaccessible fields, input fields and enum values"
 *   executable-directive-definition-default-arguments          → "an executable directive whose argument has a default ..."
 *   fed1-external-extends, fed1-external-extends-resolvable, fed1-external-extension,
 *   fed2-external-extends, fed2-external-extension             → "Federation 1 subgraphs and type extensions"
 *   i-will-name-you-later, requires-circular                   → "@requires in a circle across two subgraphs"
 *   include-skip, nested-requires, requires-interface, requires-requires,
 *   requires-with-argument, simple-requires-provides           → "@requires: plain, nested, with fragments, ..."; nested-requires
 *                                                                also "representations hold exactly their field sets ..."
 *   requires-with-fragments                                     → "@requires with type conditions under an interface"
 *   requires-with-argument-conflict                             → "the same field required with two arguments ..."
 *   interface-object-indirect-extension, partial-union, partial-union-complex,
 *   provides-only-requested-fields                              → "partial unions, an implementation extended beside ..."
 *   interface-object-with-requires, non-resolvable-interface-object,
 *   simple-interface-object                                     → "@interfaceObject: fields on every implementation ...";
 *                                                                simple-interface-object also "... answered by type condition"
 *   mutations                                                   → "mutations over several subgraphs ..."
 *   mysterious-external, nested-provides, provides-on-interface,
 *   provides-on-union                                           → "@provides (nested, on an interface, on a union) ..."
 *   override-type-interface, override-with-requires, simple-override,
 *   unavailable-override                                        → "@override: the new subgraph answers ..."
 * All 52 covered; 43 were before this list (the 41 of the audit's report, nested-requires, authenticated-and-scopes),
 * the 9 others (interface-object-indirect-extension, partial-union(-complex), provides-only-requested-fields,
 * requires-circular, i-will-name-you-later, executable-directive-definition-default-arguments,
 * requires-with-argument-conflict, defer/shared-root) came with it.
 */

/**
 * Federation conformance in the shape of the public gateway audit
 * (the-guild-org/graphql-federation-gateway-audit, issue #18): for each
 * behaviour its suites check, a scenario of our own (subgraph SDL, resolvers,
 * queries), served by real @apollo/subgraph subgraphs on loopback to Tessera
 * (planned route) and to Apollo Gateway (test/kit/apollo.ts) at once; the
 * answers must be the same: data exactly, errors by message and path; and
 * the representations each subgraph receives must hold the same fields as
 * Apollo Gateway's (exactly their field sets: no gateway's own aliases or
 * keys), except where Tessera's plan makes other calls (Case.callsDiffer).
 * Where Apollo Gateway answers against the spec (APOLLO_WRONG cases), the
 * expected answer is written out instead. Some scenarios are also served
 * from a supergraph file (`supergraph:` in gateway.yaml), as the audit
 * serves its gateways, composed here with @theguild/federation-composition.
 *
 * One test per group of behaviours; each scenario starts its subgraphs and
 * both gateways once, and runs its queries as subtests.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, valueFromASTUntyped, visit, type FieldNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startApolloGateway, type ApolloAnswer } from '../kit/apollo.js';
import { captureLogs, deferred, gql, serveSupergraph, sse, startGateway, startGraphqlUpstream, type GraphqlResponse } from '../kit/index.js';

const link = (version: string, imports: string[]) => `extend schema @link(url: "https://specs.apollo.dev/federation/v${version}", import: [${imports.map((i) => `"@${i}"`).join(', ')}])`;

interface Subgraph {
  sdl: string;
  resolvers: Record<string, unknown>;
}

/** One query of a scenario; `expected` where Apollo Gateway answers against the spec (the answer written out). */
interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  expected?: ApolloAnswer;
  /** The route Tessera must take (default: planned, or direct when one subgraph serves it all). */
  route?: string;
  /**
   * Why Tessera makes other `_entities` calls than Apollo Gateway for this query (a plan of its own, the answer
   * the same): the representations are then not compared with Apollo Gateway's.
   */
  callsDiffer?: string;
  /**
   * The representations each named subgraph must receive in its `_entities` calls for this query (as a set, each
   * object's keys in any order), written out; the scenario's other subgraphs are not checked.
   */
  representations?: Record<string, unknown[]>;
  /**
   * Text each named subgraph must have received for this query from Tessera, each in one of its documents
   * (whitespace collapsed to one space): `name @mark(tone: LOUD)` for a directive it was to be sent on that field.
   */
  documents?: Record<string, string[]>;
  /**
   * Also sent to a Tessera with `execution: { planner: false }` (the stitched route): the same answer, and the
   * representations' fields the same as Apollo Gateway's there too (docs/reliability.md row 88).
   */
  alsoStitched?: boolean;
  /**
   * Errors compared by path only: Apollo Gateway words the errors of its own value completion its own way
   * ("Invalid value found for field Query.level."), Tessera as graphql-js does ('Enum "Level" cannot represent value').
   */
  pathsOnly?: boolean;
}

/** Case.callsDiffer: where Tessera's plan makes other `_entities` calls than Apollo Gateway's. */
const EXCLUDED_TYPE_CONDITION =
  'Apollo Gateway sends the objects of a type condition the client leaves out by a variable (@include false) in the fetch it shares with the other types, the directive inside; Tessera fetches per concrete type, and does not send the fetch left out';

interface Scenario {
  /** The audit suite(s) whose behaviour it checks. */
  audit: string;
  subgraphs: Record<string, Subgraph>;
  cases: Case[];
  /** Also served from a composed supergraph file: the same answers. */
  supergraph?: boolean;
  /** Run before each gateway's query (subgraphs with state: mutations). */
  reset?: () => void;
}

/**
 * The answer as compared: data as JSON, errors as sorted "path: message" lines. Apollo Gateway lists the errors
 * of its own value completion (a null for a non-null field) under `extensions.valueCompletion`, where the
 * GraphQL spec has them in `errors` (as Tessera does): they are compared as errors.
 */
function comparable(answer: ApolloAnswer & { extensions?: { valueCompletion?: ApolloAnswer['errors'] } }): { data: unknown; errors: string[] } {
  return {
    data: JSON.parse(JSON.stringify(answer.data ?? null)) as unknown,
    errors: [...(answer.errors ?? []), ...(answer.extensions?.valueCompletion ?? [])].map((e) => `${(e.path ?? []).join('.')}: ${e.message}`).sort(),
  };
}

/** An object with its keys sorted, at every depth: two representations compared whatever their key order. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
}

/**
 * The fields the representations of each subgraph hold, as "Type: a.b" paths (lists walked through): what is
 * compared with Apollo Gateway's, which may group the same fields into other calls (one representation per
 * requiring field where Tessera sends one with the fields of all the fields it asks that subgraph at once).
 */
function fieldPaths(received: Record<string, string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, list] of Object.entries(received)) {
    const paths = new Set<string>();
    const walk = (typename: string, value: unknown, at: string): void => {
      if (Array.isArray(value)) for (const item of value) walk(typename, item, at);
      else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(typename, v, at ? `${at}.${k}` : k);
      else paths.add(`${typename}: ${at}`);
    };
    for (const json of list) {
      const representation = JSON.parse(json) as Record<string, unknown>;
      walk(String(representation.__typename), representation, '');
    }
    out[name] = [...paths].sort();
  }
  return out;
}

/**
 * A Yoga plugin recording, into `into`, every representation the subgraph receives: the `representations` argument
 * of each `_entities` field of each request (a variable or inline), as sorted-key JSON; and into `documents`, each
 * document it receives, whitespace collapsed.
 */
function recordRepresentations(into: Set<string>, documents: Set<string>) {
  return {
    onParams({ params }: { params: { query?: string; variables?: Record<string, unknown> } }) {
      if (params.query) documents.add(params.query.replace(/\s+/g, ' '));
      if (!params.query?.includes('_entities')) return;
      visit(parse(params.query), {
        Field(node) {
          if (node.name.value !== '_entities') return;
          const argument = node.arguments?.find((a) => a.name.value === 'representations');
          if (!argument) return;
          const list = argument.value.kind === Kind.VARIABLE ? params.variables?.[argument.value.name.value] : valueFromASTUntyped(argument.value, params.variables);
          for (const representation of Array.isArray(list) ? list : [list]) into.add(JSON.stringify(sortedKeys(representation)));
        },
      });
    },
  };
}

async function run(t: TestContext, scenario: Scenario): Promise<void> {
  const names = Object.keys(scenario.subgraphs);
  const urls: Record<string, string> = {};
  const received: Record<string, Set<string>> = {};
  const documents: Record<string, Set<string>> = {};
  for (const name of names) {
    const { sdl, resolvers } = scenario.subgraphs[name]!;
    received[name] = new Set();
    documents[name] = new Set();
    urls[name] = (await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }), {}, { plugins: [recordRepresentations(received[name], documents[name])] })).url;
  }
  /** What each subgraph received since the last call, as sorted lists (subgraphs that received none left out). */
  const takeReceived = (): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    for (const name of names) {
      if (received[name]!.size > 0) out[name] = [...received[name]!].sort();
      received[name]!.clear();
    }
    return out;
  };
  const tessera = await startGateway(
    t,
    names.map((name) => ({ name, kind: 'federation' as const, url: urls[name]! })),
    { mode: 'development', security: { limits: { cost: { mode: 'measure' } } } } as never,
  );
  const apollo = await startApolloGateway(t, names.map((name) => ({ name, url: urls[name]!, sdl: scenario.subgraphs[name]!.sdl })));
  const stitched = scenario.cases.some((c) => c.alsoStitched)
    ? await startGateway(
        t,
        names.map((name) => ({ name, kind: 'federation' as const, url: urls[name]! })),
        { mode: 'development', execution: { planner: false }, security: { limits: { cost: { mode: 'measure' } } } } as never,
      )
    : undefined;
  let served: string | undefined;
  if (scenario.supergraph) {
    const subgraphs = names.map((name) => ({ name, url: urls[name]!, sdl: scenario.subgraphs[name]!.sdl }));
    served = (await serveSupergraph(t, subgraphs, 'mode: development\nsecurity: { limits: { cost: { mode: measure } } }\n')).url;
  }
  for (const c of scenario.cases) {
    await t.test(`${scenario.audit}: ${c.name}`, async () => {
      scenario.reset?.();
      takeReceived();
      for (const name of names) documents[name]!.clear();
      const ours = await tessera.query(c.query, c.variables);
      const sent = takeReceived();
      for (const [name, texts] of Object.entries(c.documents ?? {})) {
        for (const text of texts) assert.ok([...documents[name]!].some((d) => d.includes(text)), `${name} was not sent "${text}": ${JSON.stringify([...documents[name]!])}`);
      }
      scenario.reset?.();
      const expected = c.expected ?? (await apollo(c.query, c.variables));
      const sentByApollo = takeReceived();
      const message = `${c.query}\nTessera: ${JSON.stringify(ours.body)}\nexpected: ${JSON.stringify(expected)}`;
      const shape = (answer: ApolloAnswer) => {
        const { data, errors } = comparable(answer);
        return { data, errors: c.pathsOnly ? errors.map((e) => e.slice(0, e.indexOf(': '))) : errors };
      };
      assert.deepEqual(shape(ours.body), shape(expected), message);
      for (const [name, list] of Object.entries(c.representations ?? {})) {
        assert.deepEqual(sent[name] ?? [], list.map((r) => JSON.stringify(sortedKeys(r))).sort(), `representations sent to ${name}: ${message}`);
      }
      // Every case: the representations each subgraph receives hold the same fields as Apollo Gateway's, exactly
      // their @key and @requires field sets (nested ones too), never a gateway's internal aliases.
      if (!c.expected && !c.callsDiffer) {
        assert.deepEqual(fieldPaths(sent), fieldPaths(sentByApollo), `fields of the representations sent (Tessera, then Apollo Gateway): ${message}\nTessera: ${JSON.stringify(sent)}\nApollo Gateway: ${JSON.stringify(sentByApollo)}`);
      }
      const route = ours.headers.get('tessera-route');
      if (c.route) assert.equal(route, c.route, message);
      else assert.ok(route === 'planned' || route === 'direct' || ours.status === 400, `route ${route}: ${message}`);
      scenario.reset?.();
      if (c.expected) assert.notDeepEqual(comparable(await apollo(c.query, c.variables)), comparable(c.expected), 'Apollo Gateway still answers differently (else drop `expected`)');
      if (c.alsoStitched) {
        scenario.reset?.();
        takeReceived();
        const theirs = await stitched!.query(c.query, c.variables);
        const sentStitched = takeReceived();
        assert.equal(theirs.headers.get('tessera-route'), 'stitched', message);
        assert.deepEqual(shape(theirs.body), shape(expected), `stitched: ${c.query}\nTessera: ${JSON.stringify(theirs.body)}\nexpected: ${JSON.stringify(expected)}`);
        if (!c.expected && !c.callsDiffer) {
          assert.deepEqual(fieldPaths(sentStitched), fieldPaths(sentByApollo), `fields of the representations sent on the stitched route: ${c.query}\nTessera: ${JSON.stringify(sentStitched)}\nApollo Gateway: ${JSON.stringify(sentByApollo)}`);
        }
      }
      if (served) {
        scenario.reset?.();
        const fromFile = await gql(served, c.query, c.variables);
        assert.deepEqual(shape(fromFile.body), shape(expected), `supergraph file: ${c.query}\nTessera: ${JSON.stringify(fromFile.body)}\nexpected: ${JSON.stringify(expected)}`);
      }
    });
  }
}

const byId = <T extends { id: string }>(list: readonly T[]) => (ref: { id: string }) => list.find((x) => x.id === ref.id) ?? null;

// ---------------------------------------------------------------------------------------------------------------
// Entities and keys: simple-entity-call, parent-entity-call(-complex), complex-entity-call, keys-mashup, null-keys
// ---------------------------------------------------------------------------------------------------------------

const KEYS = ['key', 'shareable', 'external', 'requires', 'provides'];

const CRATES = [
  { id: 'c1', code: { site: 'north', lot: 7 }, label: 'apples', serial: 's-1', fruitIds: ['f1', 'f2'] },
  { id: 'c2', code: { site: 'south', lot: 9 }, label: 'pears', serial: 's-2', fruitIds: ['f3'] },
];
const FRUITS = [
  { id: 'f1', name: 'Gala', isbn: 'x1' },
  { id: 'f2', name: 'Fuji', isbn: null },
  { id: 'f3', name: 'Bosc', isbn: 'x3' },
];

const entityCalls: Scenario = {
  audit: 'simple-entity-call, parent-entity-call, complex-entity-call, keys-mashup, null-keys',
  supergraph: true,
  subgraphs: {
    // Crates by id, with a compound nested key it cannot be asked by, and fruit references.
    depot: {
      sdl: `${link('2.5', KEYS)}
type Query { crates: [Crate!]! crate(id: ID!): Crate }
type Crate @key(fields: "id") @key(fields: "code { site lot }", resolvable: false) {
  id: ID!
  code: Code!
  label: String!
  fruits: [Fruit!]!
  place: Place!
}
type Code @shareable { site: String! lot: Int! }
type Place { aisle: String! crate: Crate! }
type Fruit @key(fields: "id", resolvable: false) { id: ID! }`,
      resolvers: {
        Query: { crates: () => CRATES, crate: (_: unknown, { id }: { id: string }) => CRATES.find((c) => c.id === id) ?? null },
        Crate: { __resolveReference: byId(CRATES), fruits: (c: (typeof CRATES)[number]) => c.fruitIds.map((id) => ({ id })), place: (c: { id: string }) => ({ aisle: `A-${c.id}`, crate: c }) },
      },
    },
    // Knows crates only by their compound key; their weight needs the label from depot (@requires) .
    ledger: {
      sdl: `${link('2.5', KEYS)}
type Crate @key(fields: "code { site lot }") @key(fields: "id", resolvable: false) {
  id: ID!
  code: Code!
  label: String! @external
  serial: String!
  weight: Int! @requires(fields: "label")
}
type Code @shareable { site: String! lot: Int! }`,
      resolvers: {
        Crate: {
          __resolveReference: (ref: { code: { site: string; lot: number }; label?: string }) => {
            const crate = CRATES.find((c) => c.code.site === ref.code.site && c.code.lot === ref.code.lot);
            return crate ? { ...crate, label: ref.label } : null;
          },
          weight: (c: { label?: string }) => {
            if (c.label === undefined) throw new Error('label was not sent');
            return c.label.length * 10;
          },
        },
      },
    },
    // Fruits by id, whose isbn may be null: a nullable key of another subgraph.
    orchard: {
      sdl: `${link('2.5', KEYS)}
type Fruit @key(fields: "id") { id: ID! name: String! isbn: ID @shareable crate: Crate }
type Crate @key(fields: "id") { id: ID! heaviestFruit: Fruit }`,
      resolvers: {
        Fruit: { __resolveReference: byId(FRUITS), crate: (f: { id: string }) => ({ id: CRATES.find((c) => c.fruitIds.includes(f.id))!.id }) },
        Crate: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), heaviestFruit: (c: { id: string }) => byId(FRUITS)({ id: CRATES.find((x) => x.id === c.id)!.fruitIds[0]! }) },
      },
    },
    // Knows fruits only by isbn (nullable): a fruit without one has no representation here.
    library: {
      sdl: `${link('2.5', KEYS)}
type Fruit @key(fields: "isbn") { isbn: ID @shareable note: String }`,
      resolvers: { Fruit: { __resolveReference: (ref: { isbn: string | null }) => (ref.isbn === null ? null : { isbn: ref.isbn, note: `note ${ref.isbn}` }) } },
    },
  },
  cases: [
    { name: 'one field from a second subgraph', query: '{ crates { id label fruits { id name } } }' },
    { name: 'a compound nested key another subgraph resolves by, with @requires on a field of the first', query: '{ crates { id serial weight code { site } } }' },
    { name: 'an entity under a value type, back to its parent entity', query: '{ crate(id: "c2") { place { aisle crate { id serial heaviestFruit { name crate { label weight } } } } } }' },
    { name: 'a key that is null for one object: no representation, the field null', query: '{ crates { fruits { id isbn note } } }' },
    { name: 'the same entity reached twice through different keys', query: '{ crates { id serial fruits { crate { serial heaviestFruit { note } } } } }' },
    { name: 'an unknown id', query: '{ crate(id: "nope") { id weight } }' },
  ],
};

test('entities and keys: simple and parent entity calls, compound keys, a key mix, null keys', async (t) => {
  await run(t, entityCalls);
});

// ---------------------------------------------------------------------------------------------------------------
// @requires: simple-requires-provides, requires-requires, requires-with-argument, requires-with-fragments,
// requires-interface, nested-requires, include-skip
// ---------------------------------------------------------------------------------------------------------------

const PARCELS = [
  { id: 'p1', name: 'Lamp', price: 40, weight: 3, dims: { w: 2, h: 5 }, wrap: { __typename: 'Crate', id: 'w1', slats: 6 }, tags: ['fragile'] },
  { id: 'p2', name: 'Rug', price: 90, weight: 12, dims: { w: 8, h: 1 }, wrap: { __typename: 'Sack', id: 'w2', handles: 2 }, tags: [] },
  { id: 'p3', name: 'Vase', price: 15, weight: 1, dims: { w: 1, h: 3 }, wrap: { __typename: 'Crate', id: 'w3', slats: 4 }, tags: ['fragile', 'glass'] },
];
const parcel = byId(PARCELS);
const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`${what} was not sent`);
  return value;
};

const requiresScenario: Scenario = {
  audit: 'simple-requires-provides, requires-requires, requires-with-argument, requires-with-fragments, requires-interface, nested-requires, include-skip',
  supergraph: true,
  subgraphs: {
    warehouse: {
      sdl: `${link('2.5', KEYS)}
type Query { parcels: [Parcel!]! parcel(id: ID!): Parcel }
type Parcel @key(fields: "id") {
  id: ID!
  name: String!
  price: Int!
  weight: Int!
  dims: Dims!
  wrap: Wrap!
  priceIn(currency: String!): Int!
}
type Dims @shareable { w: Int! h: Int! }
interface Wrap { id: ID! }
type Crate implements Wrap @shareable { id: ID! slats: Int! }
type Sack implements Wrap @shareable { id: ID! handles: Int! }`,
      resolvers: {
        Query: { parcels: () => PARCELS, parcel: (_: unknown, { id }: { id: string }) => parcel({ id }) },
        Parcel: { __resolveReference: parcel, priceIn: (p: { price: number }, { currency }: { currency: string }) => (currency === 'EUR' ? p.price * 2 : p.price) },
        Wrap: { __resolveType: (w: { __typename: string }) => w.__typename },
      },
    },
    shipping: {
      sdl: `${link('2.5', KEYS)}
type Parcel @key(fields: "id") {
  id: ID!
  price: Int! @external
  weight: Int! @external
  dims: Dims! @external
  wrap: Wrap! @external
  priceIn(currency: String!): Int! @external
  estimate: Int! @requires(fields: "price weight")
  volume: Int! @requires(fields: "dims { w h }")
  handling: String! @requires(fields: "wrap { id ... on Crate { slats } ... on Sack { handles } }")
  euroFee: Int! @requires(fields: "priceIn(currency: \\"EUR\\")")
  slatCount: Int @requires(fields: "wrap { ... on Crate { slats } }")
}
type Dims @shareable { w: Int! h: Int! }
interface Wrap { id: ID! }
type Crate implements Wrap @shareable { id: ID! slats: Int! }
type Sack implements Wrap @shareable { id: ID! handles: Int! }`,
      resolvers: {
        Parcel: {
          __resolveReference: (ref: Record<string, unknown>) => ref,
          estimate: (p: { price?: number; weight?: number }) => need(p.price, 'price') + need(p.weight, 'weight') * 10,
          volume: (p: { dims?: { w: number; h: number } }) => need(p.dims, 'dims').w * need(p.dims, 'dims').h,
          handling: (p: { wrap?: { id: string; slats?: number; handles?: number } }) => {
            const wrap = need(p.wrap, 'wrap');
            return `${wrap.id}: ${wrap.slats !== undefined ? `${wrap.slats} slats` : `${need(wrap.handles, 'handles')} handles`}`;
          },
          euroFee: (p: { priceIn?: number }) => need(p.priceIn, 'priceIn') + 1,
          slatCount: (p: { wrap?: { slats?: number } }) => need(p.wrap, 'wrap').slats ?? null,
        },
        Wrap: { __resolveType: (w: { __typename?: string; slats?: number }) => w.__typename ?? (w.slats === undefined ? 'Sack' : 'Crate') },
      },
    },
    // Requires a field that itself requires fields of a third subgraph.
    insurance: {
      sdl: `${link('2.5', KEYS)}
type Parcel @key(fields: "id") {
  id: ID!
  estimate: Int! @external
  volume: Int! @external
  premium: Int! @requires(fields: "estimate volume")
}`,
      resolvers: { Parcel: { __resolveReference: (ref: Record<string, unknown>) => ref, premium: (p: { estimate?: number; volume?: number }) => need(p.estimate, 'estimate') + need(p.volume, 'volume') } },
    },
  },
  cases: [
    { name: 'a field requiring two fields not selected', query: '{ parcels { id estimate } }' },
    { name: 'requiring fields also selected', query: '{ parcels { name price weight estimate } }' },
    { name: 'nested required fields', query: '{ parcels { volume dims { w } } }' },
    {
      // A client alias with the planner's key prefix: the planner's own are `__key1_` here. Stitching adds
      // `__typename` under the union: the representations hold the field sets alone on that route too.
      name: 'nested and abstract required fields, a client alias with the planner\'s key prefix, planned and stitched',
      query: '{ parcels { __key_x: id __key_id: id volume handling dims { w } wrap { id } } }',
      route: 'planned',
      alsoStitched: true,
    },
    { name: 'required fields with type conditions on an interface', query: '{ parcels { id handling } }' },
    { name: 'a required type condition the object does not match: an empty object sent', query: '{ parcels { id slatCount wrap { id } } }' },
    { name: 'a required field with an argument', query: '{ parcels { euroFee } }' },
    {
      // Apollo Gateway 2.14 merges the required `priceIn(currency: "EUR")` into the client's `priceIn(currency: "USD")`.
      name: 'a required field with an argument beside the same field with another argument (APOLLO_WRONG)',
      query: '{ parcels { euroFee priceIn(currency: "USD") } }',
      expected: { data: { parcels: [{ euroFee: 81, priceIn: 40 }, { euroFee: 181, priceIn: 90 }, { euroFee: 31, priceIn: 15 }] } },
    },
    { name: 'a required field requiring fields of another subgraph (a chain)', query: '{ parcels { id premium } }' },
    { name: 'all of them under one object', query: '{ parcel(id: "p2") { premium handling euroFee estimate volume name } }' },
    { name: '@include false on the requiring field', query: 'query Q($on: Boolean!) { parcels { id estimate @include(if: $on) premium @include(if: $on) } }', variables: { on: false } },
    { name: '@include false on the requiring field, selected again without it', query: 'query Q($on: Boolean!) { parcels { id estimate @include(if: $on) ... on Parcel { estimate } } }', variables: { on: false } },
    { name: '@include true on the requiring field', query: 'query Q($on: Boolean!) { parcels { id estimate @include(if: $on) premium @include(if: $on) } }', variables: { on: true } },
    { name: '@skip on a fragment holding the requiring field', query: 'query Q($off: Boolean!) { parcels { id ... on Parcel @skip(if: $off) { handling } name @skip(if: $off) } }', variables: { off: true } },
    { name: '@skip false on a fragment holding the requiring field', query: 'query Q($off: Boolean!) { parcels { id ... on Parcel @skip(if: $off) { handling } name @skip(if: $off) } }', variables: { off: false } },
  ],
};

test('@requires: plain, nested, with fragments, with an argument, chained, under @skip/@include', async (t) => {
  await run(t, requiresScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// @provides and @external: nested-provides, provides-on-interface, provides-on-union, mysterious-external
// ---------------------------------------------------------------------------------------------------------------

const MEMBERS = [
  { id: 'm1', name: 'Ada', friendIds: ['m2', 'm3'] },
  { id: 'm2', name: 'Bea', friendIds: ['m1'] },
  { id: 'm3', name: 'Cy', friendIds: [] },
];
const member = byId(MEMBERS);
const POSTS = [
  { id: 't1', text: 'hello', authorId: 'm1', media: { __typename: 'Photo', id: 'ph1' } },
  { id: 't2', text: 'bye', authorId: 'm2', media: { __typename: 'Clip', id: 'cl1' } },
];
const MEDIA = [
  { __typename: 'Photo', id: 'ph1', caption: 'sunset', pixels: 100 },
  { __typename: 'Clip', id: 'cl1', caption: 'surf', seconds: 30 },
];

const providesScenario: Scenario = {
  audit: 'nested-provides, provides-on-interface, provides-on-union, mysterious-external',
  supergraph: true,
  subgraphs: {
    members: {
      sdl: `${link('2.3', KEYS)}
type Query { members: [Member!]! }
type Member @key(fields: "id") { id: ID! name: String! friends: [Member!]! since: Int! }`,
      resolvers: {
        Query: { members: () => MEMBERS },
        Member: { __resolveReference: member, friends: (m: { friendIds: string[] }) => m.friendIds.map((id) => member({ id })), since: () => 2020 },
      },
    },
    // Provides the author's name and the names of the author's friends (which it spells in capitals: whose value is used shows).
    posts: {
      sdl: `${link('2.3', KEYS)}
type Query { posts: [Post!]! }
type Post @key(fields: "id") {
  id: ID!
  text: String!
  author: Member! @provides(fields: "name friends { name }")
  media: Media @provides(fields: "... on Photo { caption } ... on Clip { caption }")
  attachment: Attachment @provides(fields: "... on Photo { caption }")
}
type Member @key(fields: "id") { id: ID! name: String! @external friends: [Member!]! @external }
interface Media { id: ID! caption: String! }
type Photo implements Media @key(fields: "id") { id: ID! caption: String! @external }
type Clip implements Media @key(fields: "id") { id: ID! caption: String! @external }
union Attachment = Photo | Clip`,
      resolvers: {
        Query: { posts: () => POSTS },
        Post: {
          author: (p: { authorId: string }) => {
            const m = member({ id: p.authorId })!;
            return { id: m.id, name: m.name.toUpperCase(), friends: m.friendIds.map((id) => ({ id, name: member({ id })!.name.toUpperCase() })) };
          },
          media: (p: (typeof POSTS)[number]) => ({ ...p.media, caption: `provided ${p.media.id}` }),
          attachment: (p: (typeof POSTS)[number]) => ({ ...p.media, caption: `attached ${p.media.id}` }),
        },
        Media: { __resolveType: (m: { __typename: string }) => m.__typename },
        Attachment: { __resolveType: (m: { __typename: string }) => m.__typename },
      },
    },
    media: {
      sdl: `${link('2.3', KEYS)}
type Query { allMedia: [Media!]! }
interface Media { id: ID! caption: String! }
type Photo implements Media @key(fields: "id") { id: ID! caption: String! pixels: Int! }
type Clip implements Media @key(fields: "id") { id: ID! caption: String! seconds: Int! }`,
      resolvers: {
        Query: { allMedia: () => MEDIA },
        Media: { __resolveType: (m: { __typename: string }) => m.__typename },
        Photo: { __resolveReference: byId(MEDIA) },
        Clip: { __resolveReference: byId(MEDIA) },
      },
    },
    // A Fed 2 subgraph extending Member with an @external key (the "mysterious" extension) and a root field of its own.
    badges: {
      sdl: `${link('2.3', KEYS)}
extend type Member @key(fields: "id") { id: ID! @external badge: String }
type Query { topMember: Member }`,
      resolvers: { Query: { topMember: () => ({ id: 'm2' }) }, Member: { badge: (m: { id: string }) => `badge-${m.id}` } },
    },
  },
  cases: [
    { name: 'provided fields, nested: no call to the owner, its values', query: '{ posts { id author { id name friends { name } } } }' },
    { name: 'a field not provided beside provided ones', query: '{ posts { author { name since friends { name since } } } }' },
    { name: 'provided fields on an interface field, by type condition', query: '{ posts { media { id caption ... on Photo { pixels } } } }' },
    { name: 'provided on one member of a union only', query: '{ posts { attachment { ... on Photo { caption pixels } ... on Clip { caption seconds } } } }' },
    { name: 'the same types reached without @provides', query: '{ allMedia { id caption } members { name friends { name } } }' },
    { name: 'an extension with an @external key and its own root field', query: '{ topMember { id badge name } members { badge } }' },
  ],
};

test('@provides (nested, on an interface, on a union) and @external', async (t) => {
  await run(t, providesScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Interfaces and unions: abstract-types, union-interface-distributed, union-intersection, circular-reference-interface,
// child-type-mismatch, typename
// ---------------------------------------------------------------------------------------------------------------

const PEOPLE = [
  { __typename: 'User', id: 'u1', name: 'Uma' },
  { __typename: 'Admin', id: 'a1', name: 'Abe' },
];
const ITEMS = [
  { __typename: 'Book', id: 'b1', title: 'Dune', price: 10 },
  { __typename: 'Film', id: 'f1', title: 'Alien', price: 10 },
  { __typename: 'Book', id: 'b2', title: 'Emma', price: 7 },
];
const item = byId(ITEMS);
const typed = { __resolveType: (o: { __typename: string }) => o.__typename };

const abstractScenario: Scenario = {
  audit: 'abstract-types, union-interface-distributed, union-intersection, circular-reference-interface, child-type-mismatch, typename',
  supergraph: true,
  subgraphs: {
    // User.id is ID! here and ID in directory (so ID in the unified graph); Admin.id is ID: one selection of both
    // under a union is valid for the client, not as such for this subgraph.
    people: {
      sdl: `${link('2.3', KEYS)}
type Query { accounts: [Account!]! users: [User!]! }
union Account = User | Admin
type User @key(fields: "id") { id: ID! name: String similar: [Account!]! }
type Admin { id: ID name: String similar: [Account!]! }`,
      resolvers: {
        Query: { accounts: () => PEOPLE, users: () => PEOPLE.filter((p) => p.__typename === 'User') },
        Account: typed,
        User: { __resolveReference: (r: { id: string }) => PEOPLE.find((p) => p.id === r.id), similar: () => PEOPLE },
        Admin: { similar: () => PEOPLE },
      },
    },
    directory: {
      sdl: `${link('2.3', KEYS)}
type User @key(fields: "id") { id: ID email: String }`,
      resolvers: { User: { __resolveReference: (r: { id: string }) => ({ id: r.id, email: `${r.id}@example.com` }) } },
    },
    // An entity interface: every item has a price here, and a cheaper item of the same kind (circular).
    shop: {
      sdl: `${link('2.3', KEYS)}
type Query { items: [Item!]! shelf: [Shelved!]! mixed: [Mixed!]! }
interface Item @key(fields: "id") { id: ID! title: String! cheaper: Item }
type Book implements Item @key(fields: "id") { id: ID! title: String! cheaper: Item pages: Int! }
type Film implements Item @key(fields: "id") { id: ID! title: String! cheaper: Item minutes: Int! }
type Toy { id: ID! name: String! }
union Shelved = Book | Film
union Mixed = Book | Toy | Film`,
      resolvers: {
        Query: { items: () => ITEMS, shelf: () => ITEMS, mixed: () => [ITEMS[0], { __typename: 'Toy', id: 't1', name: 'Yoyo' }, ITEMS[1]] },
        Item: { __resolveReference: item, ...typed },
        Shelved: typed,
        Mixed: typed,
        Book: { __resolveReference: item, cheaper: (b: { id: string }) => (b.id === 'b1' ? item({ id: 'b2' }) : null), pages: () => 300 },
        Film: { __resolveReference: item, cheaper: () => item({ id: 'b2' }), minutes: () => 117 },
      },
    },
    // Prices of the items, and a union with a member the shop does not have.
    pricing: {
      sdl: `${link('2.3', KEYS)}
type Query { deals: [Shelved!]! }
interface Item @key(fields: "id") { id: ID! price: Int! samePrice: [Item!]! }
type Book implements Item @key(fields: "id") { id: ID! price: Int! samePrice: [Item!]! }
type Film implements Item @key(fields: "id") { id: ID! price: Int! samePrice: [Item!]! }
type Song @key(fields: "id") { id: ID! seconds: Int! }
union Shelved = Book | Song`,
      resolvers: {
        Query: { deals: () => [ITEMS[0], { __typename: 'Song', id: 's1', seconds: 200 }] },
        Item: { __resolveReference: item, ...typed },
        Shelved: typed,
        Book: { __resolveReference: item, samePrice: (b: { price: number }) => ITEMS.filter((i) => i.price === b.price) },
        Film: { __resolveReference: item, samePrice: (f: { price: number }) => ITEMS.filter((i) => i.price === f.price) },
        Song: { __resolveReference: (r: { id: string }) => ({ id: r.id, seconds: 200 }) },
      },
    },
  },
  cases: [
    { name: 'a field typed differently in two members, under a union', query: '{ users { id name } accounts { ... on User { id name } ... on Admin { id name } } }' },
    { name: 'the same, nested (internal aliases)', query: '{ accounts { ... on User { id similar { ... on User { id email } ... on Admin { id } } } ... on Admin { id similar { ... on User { id } ... on Admin { id name } } } } }' },
    { name: 'an entity interface with fields of another subgraph', query: '{ items { id title price ... on Book { pages } ... on Film { minutes } } }' },
    { name: 'circular references through the interface, across subgraphs', query: '{ items { id cheaper { id price samePrice { id title cheaper { title } } } } }' },
    // Fields on the entity interface itself go through pricing's `Item` by the interface's key (`__typename: "Item"`).
    { name: 'a field on the entity interface, again under a type condition: fetched once, by the interface', query: '{ items { price ... on Book { price pages } } }' },
    { name: 'inline and named fragments on the entity interface', query: '{ items { ... on Item { price } } cheap: items { ...P } } fragment P on Item { price }' },
    { name: '@include false on a field of the entity interface', query: 'query ($on: Boolean!) { items { id price @include(if: $on) ... on Film { minutes } } }', variables: { on: false }, representations: { pricing: [] } },
    { name: '@include true on a field of the entity interface', query: 'query ($on: Boolean!) { items { id price @include(if: $on) ... on Film { minutes } } }', variables: { on: true } },
    { name: 'a union one subgraph knows fewer members of', query: '{ shelf { ... on Book { id price } ... on Film { id title } } deals { __typename ... on Book { title } ... on Song { seconds } } }' },
    { name: 'a fragment on the interface inside a union', query: '{ deals { ... on Item { id title price } } shelf { ... on Item { title } } }' },
    { name: 'a fragment on the entity interface inside a union, its field of another subgraph', query: '{ shelf { ... on Item { id price } } }' },
    { name: 'the same, a named fragment, with a type condition on a member', query: '{ shelf { ...I ... on Film { minutes } } } fragment I on Item { price ... on Book { pages } }' },
    { name: 'a fragment on the entity interface inside a union, from the other side', query: '{ deals { ... on Item { title cheaper { id } } } }' },
    {
      name: 'a fragment on the entity interface inside a union with another member: its objects alone fetched by the interface',
      query: '{ mixed { ... on Toy { name } ... on Item { price } ... on Film { minutes } } }',
      representations: { pricing: [{ __typename: 'Item', id: 'b1' }, { __typename: 'Item', id: 'f1' }] },
    },
    // Apollo Gateway fetches the members' objects by their own types there.
    { name: 'the same, one of its fields selected again for a member', query: '{ mixed { ... on Toy { name } ... on Item { price } ... on Film { price minutes } } }' },
    { name: 'the same, with a field of the union\'s subgraph in the fragment', query: '{ mixed { ... on Toy { name } ... on Item { price title } ... on Film { price minutes } } }' },
    { name: 'the same, with the key in the fragment', query: '{ mixed { ... on Item { id price } ... on Film { price } } }' },
    { name: 'the same, two fragments on the interface, one named', query: '{ mixed { ... on Item { id } ...I ... on Toy { id } } } fragment I on Item { price title }', representations: { pricing: [{ __typename: 'Item', id: 'b1' }, { __typename: 'Item', id: 'f1' }] } },
    { name: 'the same, the field selected again in a fragment on the union', query: '{ mixed { ... on Item { price } ...M } } fragment M on Mixed { ... on Book { price } }' },
    { name: 'the same under @include on a variable, left out', query: 'query ($p: Boolean!) { mixed { __typename ... on Item @include(if: $p) { price } } }', variables: { p: false }, representations: { pricing: [] } },
    { name: 'the same under @include on a variable, included', query: 'query ($p: Boolean!) { mixed { __typename ... on Item @include(if: $p) { price } } }', variables: { p: true } },
    { name: '__typename everywhere, aliased, on interfaces and unions', query: '{ __typename t: __typename items { __typename kind: __typename ... on Book { __typename } cheaper { __typename } } deals { __typename } accounts { __typename } }' },
    // The planner's own alias prefixes in a client's document: the planner takes others for it (`__key1_`, `__alias1_`).
    { name: 'a client alias with the planner\'s internal prefix', query: '{ users { __alias_id: email id } }', route: 'planned' },
    { name: 'a client alias that is the planner\'s key alias', query: '{ users { __key_id: email name } }', route: 'planned' },
    {
      name: 'a client alias with the internal prefix where the planner aliases fields typed otherwise',
      query: '{ accounts { ... on User { __alias_id: name id email } ... on Admin { id __alias_name: name } } }',
      route: 'planned',
    },
    { name: 'only __typename of an abstract field', query: '{ deals { __typename } accounts { ... on Admin { __typename } } }' },
    { name: '@include with a variable\'s default on a type condition needing another subgraph', query: 'query ($on: Boolean = true) { items { id ... on Book @include(if: $on) { title price } ... on Film { price } } }' },
    {
      name: '@include false by default on a type condition',
      query: 'query ($on: Boolean = false) { items { id ... on Book @include(if: $on) { price } ... on Film { price } } }',
      callsDiffer: EXCLUDED_TYPE_CONDITION,
      representations: { pricing: [{ __typename: 'Film', id: 'f1' }] },
    },
    { name: '@skip nested in @include, the same field in two fragments', query: 'query ($on: Boolean = true) { items { id ... on Book @include(if: $on) { title ... on Book @skip(if: $on) { price } } ... on Book { price } } }' },
    { name: 'a named fragment on a union inside type conditions', query: '{ items { ... on Book { cheaper { ...S } } ... on Film { cheaper { ...S } } } } fragment S on Item { id ... on Book { pages price } ... on Film { minutes } }' },
  ],
};

test('interfaces and unions across subgraphs: distributed members, intersections, circular references, mismatched member fields, __typename', async (t) => {
  await run(t, abstractScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Shared root fields and the Node interface: shared-root, node, corrupted-supergraph-node-id
// ---------------------------------------------------------------------------------------------------------------

const NODES = [
  { __typename: 'Account', id: 'a1', username: 'ann', chatIds: ['c1'] },
  { __typename: 'Chat', id: 'c1', text: 'hi there', accountId: 'a1' },
];
const nodeOf = (kind: string) => (_: unknown, { id }: { id: string }) => NODES.find((n) => n.id === id && n.__typename === kind) ?? null;

const rootsScenario: Scenario = {
  audit: 'shared-root, node, corrupted-supergraph-node-id',
  supergraph: true,
  subgraphs: {
    // A value type (no key) served by a root field both subgraphs share, each with fields of its own.
    names: {
      sdl: `${link('2.3', KEYS)}
type Query { gadget: Gadget @shareable gadgets: [Gadget!]! @shareable }
type Gadget @shareable { id: ID! name: String! }`,
      resolvers: { Query: { gadget: () => ({ id: 'g1', name: 'Widget' }), gadgets: () => [{ id: 'g1', name: 'Widget' }, { id: 'g2', name: 'Gizmo' }] } },
    },
    prices: {
      sdl: `${link('2.3', KEYS)}
type Query { gadget: Gadget @shareable gadgets: [Gadget!]! @shareable }
type Gadget @shareable { id: ID! price: Int! }`,
      resolvers: { Query: { gadget: () => ({ id: 'g1', price: 5 }), gadgets: () => [{ id: 'g1', price: 5 }, { id: 'g2', price: 8 }] } },
    },
    // node(id:) in two subgraphs, each resolving its own type only; the other type is known by an external key.
    accounts: {
      sdl: `${link('2.3', KEYS)}
type Query { node(id: ID!): Node @shareable account(id: ID!): Account }
interface Node { id: ID! }
type Account implements Node @key(fields: "id") { id: ID! username: String! }
type Chat implements Node @key(fields: "id") { id: ID! @external account: Account! }`,
      resolvers: {
        Query: { node: nodeOf('Account'), account: nodeOf('Account') },
        Node: typed,
        Account: { __resolveReference: (r: { id: string }) => NODES.find((n) => n.id === r.id) },
        Chat: { __resolveReference: (r: { id: string }) => ({ id: r.id }), account: (c: { id: string }) => NODES.find((n) => n.__typename === 'Account' && n.chatIds?.includes(c.id)) },
      },
    },
    chats: {
      sdl: `${link('2.3', KEYS)}
type Query { node(id: ID!): Node @shareable chat(id: ID!): Chat }
interface Node { id: ID! }
type Chat implements Node @key(fields: "id") { id: ID! text: String! }
type Account implements Node @key(fields: "id") { id: ID! @external chats: [Chat!]! }`,
      resolvers: {
        Query: { node: nodeOf('Chat'), chat: nodeOf('Chat') },
        Node: typed,
        Chat: { __resolveReference: (r: { id: string }) => NODES.find((n) => n.id === r.id) },
        Account: { __resolveReference: (r: { id: string }) => ({ id: r.id }), chats: (a: { id: string }) => NODES.filter((n) => n.__typename === 'Chat' && n.accountId === a.id) },
      },
    },
  },
  cases: [
    { name: 'a shared root field of a value type: each subgraph its fields', query: '{ gadget { id name price } gadgets { name price } }' },
    { name: 'a shared root field, one subgraph\'s fields only', query: '{ gadget { price } }' },
    { name: 'node(id:) asked of the subgraph that resolves each type condition', query: '{ account: node(id: "a1") { ... on Account { id username } } chat: node(id: "c1") { ... on Chat { id text } } }' },

    { name: 'node(id:) with __typename only', query: '{ account: node(id: "a1") { __typename } chat: node(id: "c1") { __typename } }' },
    { name: 'node(id:) with a type condition that does not match', query: '{ account: node(id: "a1") { ... on Chat { id } } chat: node(id: "c1") { ... on Account { id } } }' },
    { name: 'entities both ways across the two', query: '{ chat(id: "c1") { id text account { id username chats { text } } } account(id: "a1") { chats { account { username } } } }' },
  ],
};

test('shared root fields and node(id:) across subgraphs', async (t) => {
  await run(t, rootsScenario);
});

/**
 * A shared root field whose selection none of its subgraphs can answer (node(id:) { id }: each subgraph has the
 * other type's `id` only as an @external key): Apollo Gateway's planner fails on it (an exception, not an
 * answer); stitching would answer a silent null. Refused, located, no subgraph called (docs/reliability.md row 82).
 */
test('a shared root field no subgraph can answer is refused, located, not answered null (docs/reliability.md row 82)', async (t) => {
  let calls = 0;
  const descriptors = [];
  for (const name of ['accounts', 'chats'] as const) {
    const { sdl, resolvers } = rootsScenario.subgraphs[name]!;
    const service = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }), {}, { plugins: [{ onParams: () => void calls++ }] });
    descriptors.push({ name, kind: 'federation' as const, url: service.url });
  }
  const gateway = await startGateway(t, descriptors, { mode: 'development' });
  calls = 0; // the gateway asked each for its SDL
  const refused = await gateway.query('{ account(id: "a1") { id }\n  node(id: "a1") { id } }');
  assert.equal(refused.status, 400);
  assert.equal(refused.body.data, undefined);
  assert.deepEqual(refused.body.errors, [
    {
      message: 'Field "Query.node" cannot be answered: no subgraph serving it ("accounts", "chats") can answer this selection.',
      locations: [{ line: 2, column: 3 }],
      extensions: { code: 'OPERATION_NOT_PLANNABLE' },
    },
  ]);
  assert.equal(calls, 0);
  // With a type condition one of them answers, it goes to that one.
  const answered = await gateway.query('{ node(id: "c1") { ... on Chat { id text } } }');
  assert.deepEqual(answered.body, { data: { node: { id: 'c1', text: 'hi there' } } });
  assert.equal(answered.headers.get('tessera-route'), 'direct');
});

// ---------------------------------------------------------------------------------------------------------------
// @interfaceObject: simple-interface-object, interface-object-with-requires, non-resolvable-interface-object
// ---------------------------------------------------------------------------------------------------------------

const SHOWS = [
  { __typename: 'Book', id: 'b1', title: 'Dune', pages: 412 },
  { __typename: 'Movie', id: 'm1', title: 'Alien', minutes: 117 },
];
const show = byId(SHOWS);

const interfaceObjectScenario: Scenario = {
  audit: 'simple-interface-object, interface-object-with-requires, non-resolvable-interface-object',
  supergraph: true,
  subgraphs: {
    library: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { shows: [Show!]! }
interface Show @key(fields: "id") { id: ID! title: String! }
type Book implements Show @key(fields: "id") { id: ID! title: String! pages: Int! }
type Movie implements Show @key(fields: "id") { id: ID! title: String! minutes: Int! }`,
      resolvers: { Query: { shows: () => SHOWS }, Show: { __resolveReference: show, ...typed }, Book: { __resolveReference: show }, Movie: { __resolveReference: show } },
    },
    // Knows Show as one object type; its blurb needs the title (@requires on an @interfaceObject).
    notes: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { pinned: [Show!]! }
type Show @key(fields: "id") @interfaceObject { id: ID! title: String! @external stars: Int! blurb: String! @requires(fields: "title") }`,
      resolvers: {
        Query: { pinned: () => [{ id: 'm1' }, { id: 'b1' }] },
        Show: {
          __resolveReference: (r: { id: string; title?: string }) => r,
          stars: (r: { id: string }) => (r.id === 'b1' ? 5 : 3),
          blurb: (r: { id: string; title?: string }) => `${need(r.title, 'title')} (${r.id})`,
        },
      },
    },
    // Knows Show as an @interfaceObject it cannot be asked about (no resolvable key): its root field only.
    picks: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { pick: Show }
type Show @key(fields: "id", resolvable: false) @interfaceObject { id: ID! }`,
      resolvers: { Query: { pick: () => ({ id: 'b1' }) } },
    },
  },
  cases: [
    { name: 'fields of the @interfaceObject on each implementation', query: '{ shows { id title stars ... on Book { pages } ... on Movie { minutes stars } } }' },
    { name: '@requires on an @interfaceObject field', query: '{ shows { id blurb } }' },
    { name: 'its root field: concrete types from the interface\'s subgraph', query: '{ pinned { __typename id title blurb ... on Movie { minutes } } }' },
    // Nothing selected needs the concrete type: the root call answers its own fields, the interface's subgraph is not
    // asked for the type, nor notes again through `_entities` for what it already answered.
    { name: 'its root field, its own fields only', query: '{ pinned { id stars } }' },
    { name: 'its root field, a field of the interface\'s subgraph and one requiring it, in a fragment on the interface', query: '{ pinned { ...S } } fragment S on Show { stars title blurb }' },
    {
      name: 'its root field, its own fields only, under @include on a variable',
      query: 'query ($all: Boolean!) { pinned { id stars @include(if: $all) } }',
      variables: { all: true },
    },
    { name: 'its root field, its own fields only, one left out by @include on a variable', query: 'query ($all: Boolean!) { pinned { id stars @include(if: $all) } }', variables: { all: false } },
    {
      name: 'its root field, its own fields in a fragment under @skip on a variable\'s default',
      query: 'query ($brief: Boolean = false) { pinned { id ... on Show @skip(if: $brief) { stars } ...S @include(if: $brief) } } fragment S on Show { stars }',
    },
    // The concrete type is asked only when what needs it is included (docs/reliability.md row 93).
    { name: 'its root field, __typename under @include on a variable', query: 'query ($t: Boolean!) { pinned { stars __typename @include(if: $t) } }', variables: { t: false }, representations: { library: [] } },
    { name: 'its root field, __typename under @include on a variable, included', query: 'query ($t: Boolean!) { pinned { stars __typename @include(if: $t) } }', variables: { t: true } },
    {
      name: 'its root field, a type condition under @skip on a variable',
      query: 'query ($brief: Boolean!) { pinned { id stars ... on Movie @skip(if: $brief) { minutes } ...B } } fragment B on Book { pages @skip(if: $brief) }',
      variables: { brief: true },
      representations: { library: [] },
    },
    {
      name: 'its root field, a type condition under @skip on a variable, not skipped',
      query: 'query ($brief: Boolean!) { pinned { id stars ... on Movie @skip(if: $brief) { minutes } ...B } } fragment B on Book { pages @skip(if: $brief) }',
      variables: { brief: false },
    },
    { name: 'its root field, __typename and a field of the interface\'s subgraph under @include', query: 'query ($t: Boolean = false) { pinned { stars ... @include(if: $t) { __typename title } } }' },
    { name: 'its root field under a type condition: the concrete type first', query: '{ pinned { ... on Book { stars } ... on Movie { id } } }' },
    { name: 'its root field with __typename beside its own field', query: '{ pinned { stars __typename } }' },
    { name: 'a non-resolvable @interfaceObject\'s root field: the key only', query: '{ pick { id } }' },
    { name: 'its root field twice, its own fields in one and the concrete type in the other', query: '{ pinned { id stars } ...P } fragment P on Query { pinned { __typename } }' },
    { name: 'a non-resolvable @interfaceObject\'s root field, with the concrete type', query: '{ pick { __typename id title ... on Book { pages } } }' },
  ],
};

test('@interfaceObject: fields on every implementation, with @requires, root fields, a non-resolvable one', async (t) => {
  await run(t, interfaceObjectScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// @override: simple-override, unavailable-override, override-with-requires, override-type-interface
// ---------------------------------------------------------------------------------------------------------------

const ARTICLES = [
  { id: 'r1', title: 'first', votes: 1 },
  { id: 'r2', title: 'second', votes: 2 },
];
const article = byId(ARTICLES);

const overrideScenario: Scenario = {
  audit: 'simple-override, unavailable-override, override-with-requires, override-type-interface',
  supergraph: true,
  subgraphs: {
    legacy: {
      sdl: `${link('2.3', [...KEYS, 'override'])}
type Query { articles: [Article!]! }
interface Entry { id: ID! title: String! }
type Article implements Entry @key(fields: "id") { id: ID! title: String! votes: Int! }`,
      resolvers: { Query: { articles: () => ARTICLES }, Entry: typed, Article: { __resolveReference: article } },
    },
    // Takes title and votes over (with its own values, so the answer shows who answered), and a field from a subgraph that does not exist.
    modern: {
      sdl: `${link('2.3', [...KEYS, 'override'])}
type Article @key(fields: "id") { id: ID! title: String! @override(from: "legacy") votes: Int! @override(from: "legacy") badge: String! @override(from: "nowhere") }
interface Entry { id: ID! title: String! }
type Memo implements Entry @key(fields: "id") { id: ID! title: String! text: String! }
type Query { memos: [Entry!]! }`,
      resolvers: { Query: { memos: () => [{ __typename: 'Memo', id: 'o1', title: 'memo', text: 'remember' }] }, Entry: typed, Article: { __resolveReference: article, title: (a: { title: string }) => a.title.toUpperCase(), votes: (a: { votes: number }) => a.votes * 100, badge: (a: { id: string }) => `badge ${a.id}` } },
    },
    ranking: {
      sdl: `${link('2.3', [...KEYS, 'override'])}
type Article @key(fields: "id") { id: ID! votes: Int! @external rank: Int! @requires(fields: "votes") }`,
      resolvers: { Article: { __resolveReference: (r: { id: string; votes?: number }) => r, rank: (a: { votes?: number }) => need(a.votes, 'votes') + 1 } },
    },
  },
  cases: [
    { name: 'an overridden field: the new subgraph answers', query: '{ articles { id title votes } }' },
    { name: 'an override from a subgraph that does not exist', query: '{ articles { badge } }' },
    { name: '@requires of an overridden field: the new subgraph\'s value is sent', query: '{ articles { id rank } }' },
    { name: 'through an interface', query: '{ articles { ... on Entry { title } } }' },
    { name: 'a type condition on an implementation the root field\'s subgraph does not have', query: '{ articles { ... on Memo { id text } } memos { id ... on Memo { text } ... on Article { votes } } }' },
    { name: 'the interface\'s fields, each subgraph its implementations', query: '{ articles { id title } memos { __typename id title } }' },
  ],
};

test('@override: the new subgraph answers, also for @requires; an override from a missing subgraph', async (t) => {
  await run(t, overrideScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// @inaccessible, enums and input types: simple-inaccessible, enum-intersection, input-object-intersection
// ---------------------------------------------------------------------------------------------------------------

const hiddenScenario: Scenario = {
  audit: 'simple-inaccessible, enum-intersection, input-object-intersection',
  supergraph: true,
  subgraphs: {
    staff: {
      sdl: `${link('2.3', [...KEYS, 'inaccessible'])}
type Query { staff(filter: StaffFilter): [Member!]! levels: [Level!]! }
input StaffFilter { team: String secret: String @inaccessible }
enum Level { JUNIOR SENIOR ROOT @inaccessible }
type Member @key(fields: "id") { id: ID! name: String! level: Level! salary: Int! @inaccessible }`,
      resolvers: {
        Query: {
          staff: (_: unknown, { filter }: { filter?: { team?: string } }) => [{ id: 's1', name: 'Sam', level: 'JUNIOR', salary: 10 }, { id: 's2', name: 'Sue', level: 'SENIOR', salary: 20 }].filter((m) => !filter?.team || m.name.startsWith(filter.team)),
          levels: () => ['JUNIOR', 'ROOT'],
        },
        Member: { __resolveReference: (r: { id: string }) => ({ id: r.id, name: r.id === 's1' ? 'Sam' : 'Sue', level: r.id === 's1' ? 'JUNIOR' : 'ROOT', salary: r.id === 's1' ? 10 : 20 }) },
      },
    },
    payroll: {
      sdl: `${link('2.3', [...KEYS, 'inaccessible'])}
type Query { topLevel: Level }
enum Level { JUNIOR SENIOR ROOT @inaccessible }
type Member @key(fields: "id") { id: ID! salary: Int! @external bonus: Int! @requires(fields: "salary") }`,
      resolvers: { Query: { topLevel: () => 'ROOT' }, Member: { __resolveReference: (r: Record<string, unknown>) => r, bonus: (m: { salary?: number }) => need(m.salary, 'salary') / 10 } },
    },
  },
  cases: [
    { name: 'an @inaccessible field used by @requires', query: '{ staff { name bonus } }' },
    { name: 'an @inaccessible field asked for: a validation error', query: '{ staff { salary } }' },
    { name: 'an @inaccessible input field: a validation error', query: '{ staff(filter: { secret: "x" }) { name } }' },
    { name: 'an input field', query: '{ staff(filter: { team: "Su" }) { name level } }' },
    { name: 'an @inaccessible enum value answered by a subgraph: an error at its path', query: '{ levels }', pathsOnly: true },
    { name: 'an @inaccessible enum value in a nullable root field', query: '{ topLevel staff { level } }', pathsOnly: true },
    { name: 'an @inaccessible enum value in a value read through an entity', query: '{ staff { id name level bonus } }' },
    { name: 'introspection leaves them out', query: '{ level: __type(name: "Level") { enumValues { name } } filter: __type(name: "StaffFilter") { inputFields { name } } }', route: 'stitched' },
  ],
};

test('@inaccessible fields, input fields and enum values (a value the unified graph lacks: docs/reliability.md row 81); enums and input types across subgraphs', async (t) => {
  await run(t, hiddenScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Mutations: mutations (root fields of several subgraphs run in the client's order)
// ---------------------------------------------------------------------------------------------------------------

const ledger: { total: number; log: string[] } = { total: 0, log: [] };

const mutationsScenario: Scenario = {
  audit: 'mutations',
  reset: () => {
    ledger.total = 0;
    ledger.log = [];
  },
  subgraphs: {
    adder: {
      sdl: `${link('2.3', KEYS)}
type Query { total: Int! }
type Mutation { add(n: Int!): Tally! }
type Tally @key(fields: "id") { id: ID! value: Int! }`,
      resolvers: {
        Query: { total: () => ledger.total },
        Mutation: { add: (_: unknown, { n }: { n: number }) => { ledger.total += n; ledger.log.push(`add ${n}`); return { id: `t${ledger.log.length}`, value: ledger.total }; } },
        Tally: { __resolveReference: (r: { id: string }) => ({ id: r.id, value: ledger.total }) },
      },
    },
    multiplier: {
      sdl: `${link('2.3', KEYS)}
type Mutation { times(n: Int!): Int! }
type Tally @key(fields: "id") { id: ID! history: [String!]! }`,
      resolvers: {
        Mutation: { times: (_: unknown, { n }: { n: number }) => { ledger.total *= n; ledger.log.push(`times ${n}`); return ledger.total; } },
        Tally: { __resolveReference: (r: { id: string }) => ({ id: r.id }), history: () => [...ledger.log] },
      },
    },
  },
  cases: [
    { name: 'root fields of two subgraphs, interleaved, in order', query: 'mutation { a: add(n: 2) { value } b: times(n: 10) c: add(n: 1) { value history } d: times(n: 3) }' },
    { name: 'entity fields under a mutation\'s result, fetched before the next field runs', query: 'mutation { a: add(n: 5) { id history } b: times(n: 2) c: add(n: 1) { history } }' },
    { name: 'a mutation with variables', query: 'mutation M($x: Int!, $y: Int!) { add(n: $x) { value } times(n: $y) }', variables: { x: 4, y: 4 } },
  ],
};

test('mutations over several subgraphs run their root fields in the client\'s order', async (t) => {
  await run(t, mutationsScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Federation 1 and extensions: fed1-external-extends, fed1-external-extends-resolvable, fed1-external-extension,
// fed2-external-extends, fed2-external-extension
// ---------------------------------------------------------------------------------------------------------------

const WRITERS = [
  { id: 'w1', name: 'Ann', rid: 'r-1' },
  { id: 'w2', name: 'Ben', rid: 'r-2' },
];

const extensionsScenario: Scenario = {
  audit: 'fed1-external-extends, fed1-external-extends-resolvable, fed1-external-extension, fed2-external-extends, fed2-external-extension',
  supergraph: true,
  subgraphs: {
    writers: {
      sdl: `${link('2.3', KEYS)}
type Query { writers: [Writer!]! }
type Writer @key(fields: "id") @key(fields: "rid") { id: ID! name: String! rid: ID! }`,
      resolvers: { Query: { writers: () => WRITERS }, Writer: { __resolveReference: (r: { id?: string; rid?: string }) => WRITERS.find((w) => w.id === r.id || w.rid === r.rid) } },
    },
    // Federation 1 (no @link): `extend type` with an @external key, and a root field of its own.
    bios: {
      sdl: `extend type Query { writerByRid(rid: ID!): Writer }
extend type Writer @key(fields: "rid") { rid: ID! @external bio: String! }`,
      resolvers: { Query: { writerByRid: (_: unknown, { rid }: { rid: string }) => ({ rid }) }, Writer: { __resolveReference: (r: { rid: string }) => r, bio: (w: { rid: string }) => `bio of ${w.rid}` } },
    },
    // Federation 2 with `@extends` and an @external key.
    avatars: {
      sdl: `${link('2.3', [...KEYS, 'extends'])}
type Writer @extends @key(fields: "id") { id: ID! @external avatar: String! }
type Query { randomWriter: Writer }`,
      resolvers: { Query: { randomWriter: () => ({ id: 'w2' }) }, Writer: { __resolveReference: (r: { id: string }) => r, avatar: (w: { id: string }) => `${w.id}.png` } },
    },
    // Federation 2 with `extend type`.
    stats: {
      sdl: `${link('2.3', KEYS)}
extend type Writer @key(fields: "id") { id: ID! @external books: Int! }`,
      resolvers: { Writer: { __resolveReference: (r: { id: string }) => r, books: (w: { id: string }) => Number(w.id.slice(1)) * 3 } },
    },
  },
  cases: [
    { name: 'fields of every extension', query: '{ writers { id name bio avatar books } }' },
    { name: 'from a Federation 1 root field, by its key, to the others', query: '{ writerByRid(rid: "r-1") { rid bio name avatar books } }' },
    { name: 'from a Federation 2 @extends root field', query: '{ randomWriter { id avatar name rid bio } }' },
    { name: 'an unknown key', query: '{ writerByRid(rid: "r-9") { bio name } }' },
  ],
};

test('Federation 1 subgraphs and type extensions (extend type, @extends) with @external keys', async (t) => {
  await run(t, extensionsScenario);
});

/**
 * Subscriptions are planned: the root field's call is its subgraph's own subscription, and each event's data goes
 * through the rest of the plan as a query's root answer does (entity fetches by key, @requires, @interfaceObject
 * fields, a progressive @override label rolled once per subscription), one `_entities` call per subgraph per event.
 * An event whose entity fetch fails carries its located error, and the stream goes on (docs/reliability.md row 92);
 * closing the client's stream closes the subgraph's.
 */
test('a subscription is planned: each event answered as the same selection as a query, @interfaceObject and per-request @override fields included (docs/reliability.md row 92)', async (t) => {
  const shows = [
    { __typename: 'Movie', id: 'm1', title: 'Alien', minutes: 117 },
    { __typename: 'Book', id: 'b1', title: 'Dune', pages: 412 },
    { __typename: 'Movie', id: 'm2', title: 'Heat', minutes: 170 },
    { __typename: 'Movie', id: 'm3', title: 'Ran', minutes: 160 },
  ];
  const tickets = [{ id: 't1', seat: 'A1' }, { id: 't2', seat: 'A2' }, { id: 't3', seat: 'A3' }];
  let subscribed = 0;
  const batch = [shows[0], shows[1], shows[3], shows[0]];
  const closed = { showAdded: deferred(), showsAdded: deferred(), ticketSold: deferred() };
  /** An event stream that stays open after its events until it is closed (its `return` called, when the gateway goes). */
  const stream = (field: keyof typeof closed, values: readonly unknown[]): AsyncIterableIterator<unknown> => {
    subscribed++;
    const ended = (closed[field] = deferred());
    let i = 0;
    let stop: (() => void) | undefined;
    const done = { value: undefined, done: true } as const;
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => (i < values.length ? Promise.resolve({ value: { [field]: values[i++] }, done: false }) : new Promise((resolve) => (stop = () => resolve(done)))),
      return: () => {
        ended.resolve();
        stop?.();
        return Promise.resolve(done);
      },
    };
  };
  const showOf = byId(shows);
  const subgraphs: Record<string, Subgraph> = {
    library: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { show(id: ID!): Show shows: [Show!]! }
type Subscription { showAdded: Show! showsAdded: [Show!]! ticketSold: Ticket! }
interface Show @key(fields: "id") { id: ID! title: String! }
type Book implements Show @key(fields: "id") { id: ID! title: String! pages: Int! }
type Movie implements Show @key(fields: "id") { id: ID! title: String! minutes: Int! }
type Ticket @key(fields: "id") { id: ID! seat: String! }`,
      resolvers: {
        Query: { show: (_: unknown, { id }: { id: string }) => showOf({ id }), shows: () => batch },
        Subscription: {
          showAdded: { subscribe: () => stream('showAdded', shows) },
          showsAdded: { subscribe: () => stream('showsAdded', [batch]) },
          ticketSold: { subscribe: () => stream('ticketSold', tickets) },
        },
        Show: { __resolveReference: showOf, ...typed },
        Book: { __resolveReference: showOf },
        Movie: { __resolveReference: showOf },
        Ticket: { __resolveReference: (r: { id: string }) => tickets.find((x) => x.id === r.id) },
      },
    },
    // Knows Show as an @interfaceObject; its blurb needs the title (@requires).
    notes: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Show @key(fields: "id") @interfaceObject { id: ID! title: String! @external stars: Int! blurb: String! @requires(fields: "title") }`,
      resolvers: {
        Show: {
          __resolveReference: (r: { id: string; title?: string }) => r,
          stars: (r: { id: string }) => (r.id === 'b1' ? 5 : 3),
          blurb: (r: { id: string; title?: string }) => `${need(r.title, 'title')} (${r.id})`,
        },
      },
    },
    // A third subgraph's field on one implementation; fails for m2.
    ratings: {
      sdl: `${link('2.3', KEYS)}
type Movie @key(fields: "id") { id: ID! score: Int }`,
      resolvers: {
        Movie: {
          __resolveReference: (r: { id: string }) => {
            if (r.id === 'm2') throw new Error('ratings of m2 are down');
            return { id: r.id, score: Number(r.id.slice(1)) * 2 };
          },
        },
      },
    },
    box: {
      sdl: `${link('2.7', [...KEYS, 'override'])}
type Ticket @key(fields: "id") { id: ID! seat: String! @override(from: "library", label: "percent(50)") }`,
      resolvers: { Ticket: { __resolveReference: (r: { id: string }) => ({ id: r.id, seat: 'B2' }) } },
    },
  };
  const entityCalls: Record<string, number> = {};
  const descriptors = [];
  for (const [name, { sdl, resolvers }] of Object.entries(subgraphs)) {
    entityCalls[name] = 0;
    const counting = { onParams: ({ params }: { params: { query?: string } }) => void (params.query?.includes('_entities') && entityCalls[name]!++) };
    const service = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }), {}, { plugins: [counting] });
    descriptors.push({ name, kind: 'federation' as const, url: service.url });
  }
  const logs = captureLogs('debug');
  const gateway = await startGateway(t, descriptors, { mode: 'development' }, { logger: logs.logger });

  const selection = '{ __typename id title stars blurb ... on Movie { minutes score } ... on Book { pages } }';
  const streamed = await sse(t, gateway.url, `subscription { showAdded ${selection} }`);
  assert.equal(streamed.headers.get('tessera-route'), 'planned');
  const events: Array<GraphqlResponse['body'] | undefined> = [];
  for (let i = 0; i < shows.length; i++) events.push(await streamed.next());
  // The route where routes are seen: the header above, the router's debug line, the request log line.
  assert.ok(logs.lines.some((l) => l.msg === 'operation routed: planned' && /^subgraphs "library", "notes", "ratings"; override labels on: /.test(String(l.reason))), JSON.stringify(logs.lines.filter((l) => l.level === 20)));
  assert.equal(logs.lines.find((l) => l.msg === 'request')?.route, 'planned');
  // One `_entities` call per subgraph per event that has objects for it: notes for every show, ratings for each movie.
  assert.deepEqual(entityCalls, { library: 0, notes: 4, ratings: 3, box: 0 });
  streamed.close();
  await closed.showAdded.promise;

  for (const [i, { id }] of shows.entries()) {
    const query = await gql(gateway.url, `{ show(id: "${id}") ${selection} }`);
    assert.equal(query.headers.get('tessera-route'), 'planned');
    const event = events[i]!;
    assert.deepEqual(event.data, { showAdded: query.body.data.show }, JSON.stringify(event));
    assert.deepEqual(event.errors?.map((e) => ({ message: e.message, path: e.path })), query.body.errors?.map((e) => ({ message: e.message, path: e.path?.map((k) => (k === 'show' ? 'showAdded' : k)) })));
  }
  assert.deepEqual(events[0], { data: { showAdded: { __typename: 'Movie', id: 'm1', title: 'Alien', stars: 3, blurb: 'Alien (m1)', minutes: 117, score: 2 } } });
  // The failed entity fetch: that event's field null with its located error; the next event came as usual.
  assert.equal(events[2]!.data?.showAdded.score, null);
  assert.deepEqual(events[2]!.errors?.map((e) => e.path), [['showAdded', 'score']]);
  assert.deepEqual((events[2]!.errors?.[0] as { locations?: unknown }).locations, [{ line: 1, column: 83 }]);
  assert.equal(events[3]!.data?.showAdded.score, 6);

  // An event with a list: one `_entities` call per subgraph for all of its objects, as a query's.
  Object.assign(entityCalls, { notes: 0, ratings: 0 });
  const listed = await sse(t, gateway.url, `subscription { showsAdded ${selection} }`);
  const list = await listed.next();
  assert.deepEqual(entityCalls, { library: 0, notes: 1, ratings: 1, box: 0 });
  listed.close();
  await closed.showsAdded.promise;
  const shown = await gql(gateway.url, `{ shows ${selection} }`);
  assert.deepEqual(list, { data: { showsAdded: shown.body.data.shows } });
  assert.equal(list?.data?.showsAdded.length, 4);

  // The same over WebSocket (graphql-ws); completing it closes the subgraph's subscription.
  const client = createClient({ url: gateway.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  t.after(() => client.dispose());
  const overSocket: Array<{ data?: unknown; errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number> }> }> = [];
  const gotAll = deferred();
  const unsubscribe = client.subscribe(
    { query: `subscription { showAdded ${selection} }` },
    {
      next: (event) => {
        overSocket.push(event);
        if (overSocket.length === shows.length) gotAll.resolve();
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await gotAll.promise;
  unsubscribe();
  await closed.showAdded.promise;
  assert.deepEqual(
    overSocket.map((e) => ({ data: e.data, errors: e.errors?.map(({ message, path }) => ({ message, path })) })),
    events.map((e) => ({ data: e?.data, errors: e?.errors?.map(({ message, path }) => ({ message, path })) })),
  );

  // The subscription's variables reach its plan: `@include(if: $more)` false leaves out the other subgraphs' fields
  // (no `_entities` call for any event), true brings them; each event as the same selection with the same variables
  // as a query.
  const varied = '{ id title stars @include(if: $more) ... on Movie @include(if: $more) { score } }';
  for (const more of [false, true]) {
    Object.assign(entityCalls, { notes: 0, ratings: 0 });
    const got: Array<{ data?: unknown; errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number> }> }> = [];
    const all = deferred();
    let failed: unknown;
    const stop = client.subscribe(
      { query: `subscription ($more: Boolean!) { showAdded ${varied} }`, variables: { more } },
      {
        next: (event) => {
          got.push(event);
          if (got.length === shows.length) all.resolve();
        },
        error: (error) => {
          failed = error;
          all.resolve();
        },
        complete: () => undefined,
      },
    );
    await all.promise;
    assert.equal(failed, undefined, `the subscription failed: ${JSON.stringify(failed)}`);
    stop();
    await closed.showAdded.promise;
    assert.deepEqual(entityCalls, { library: 0, notes: more ? 4 : 0, ratings: more ? 3 : 0, box: 0 }, `more: ${more}`);
    for (const [i, { id }] of shows.entries()) {
      const query = await gql(gateway.url, `query ($more: Boolean!) { show(id: "${id}") ${varied} }`, { more });
      assert.deepEqual(got[i]!.data, { showAdded: query.body.data.show }, `more: ${more}, ${JSON.stringify(got[i])}`);
      assert.deepEqual(got[i]!.errors?.map((e) => e.path), query.body.errors?.map((e) => e.path?.map((k) => (k === 'show' ? 'showAdded' : k))));
    }
    if (!more) assert.deepEqual(got[0]!.data, { showAdded: { id: 'm1', title: 'Alien' } });
  }

  // A field a progressive @override moves per request: the label is rolled once for the whole subscription.
  const sold = await sse(t, gateway.url, 'subscription { ticketSold { id seat } }');
  assert.equal(sold.headers.get('tessera-route'), 'planned');
  const seats: unknown[] = [];
  for (let i = 0; i < tickets.length; i++) seats.push((await sold.next())?.data?.ticketSold);
  assert.ok(
    [tickets.map(({ id, seat }) => ({ id, seat })), tickets.map(({ id }) => ({ id, seat: 'B2' }))].some((all) => JSON.stringify(all) === JSON.stringify(seats)),
    JSON.stringify(seats),
  );
  sold.close();
  await closed.ticketSold.promise;
  assert.equal(subscribed, 6);

  // On a channel with names of its own and the planner off, a subscription selecting an @interfaceObject field is
  // refused as a query is, at the client's field, named in the channel's names (docs/reliability.md rows 80, 84).
  const renamed = await startGateway(t, descriptors, {
    mode: 'development',
    execution: { planner: false },
    channels: { tv: { path: '/tv/graphql', rename: { types: { Show: 'Program' }, fields: { 'Show.stars': 'rating', 'Movie.stars': 'rating', 'Book.stars': 'rating' } } } },
  } as never);
  const tv = renamed.url.replace(/\/graphql$/, '/tv/graphql');
  const query = await gql(tv, '{ show(id: "m1") { id\n  rating } }');
  assert.equal(query.status, 400, JSON.stringify(query.body));
  assert.equal(query.body.errors?.[0]?.extensions?.code, 'OPERATION_NOT_PLANNABLE');
  assert.match(query.body.errors![0]!.message, /^Field "Program\.rating" cannot be answered here: subgraph "notes" answers it for the interface Program as an @interfaceObject, .*\(the query planner is off \(execution\.planner: false\)\)\.$/);
  assert.deepEqual((query.body.errors?.[0] as { locations?: unknown }).locations, [{ line: 2, column: 3 }]);
  const subscription = await sse(t, tv, 'subscription { showAdded { id title rating } }');
  const event = await subscription.next();
  assert.equal(event?.errors?.[0]?.extensions?.code, 'OPERATION_NOT_PLANNABLE', JSON.stringify(event));
  assert.match(event!.errors![0]!.message, /^Field "Program\.rating" cannot be answered here: .*Program.*\(the query planner is off \(execution\.planner: false\)\)\.$/);
  assert.doesNotMatch(event!.errors![0]!.message, /Show/);
  assert.deepEqual((event?.errors?.[0] as { locations?: unknown }).locations, [{ line: 1, column: 37 }]);
  assert.equal(subscribed, 6, 'no subgraph was asked to subscribe');
});

// ---------------------------------------------------------------------------------------------------------------
// @requires through type conditions, with an @inaccessible implementation: requires-with-fragments
// ---------------------------------------------------------------------------------------------------------------

const PARTS = `interface Part { name: String! }
interface Metal implements Part { name: String! hardness: Int! }
type Iron implements Part & Metal @shareable { name: String! hardness: Int! rust: Boolean! }
type Gold implements Part & Metal @shareable { name: String! hardness: Int! karat: Int! }
type Wood implements Part @shareable @inaccessible { name: String! grain: String! }`;
const THINGS = [
  { id: 't1', part: { __typename: 'Iron', name: 'nail', hardness: 4, rust: true } },
  { id: 't2', part: { __typename: 'Gold', name: 'ring', hardness: 2, karat: 18 } },
  { id: 't3', part: { __typename: 'Wood', name: 'plank', grain: 'fine' } },
];
const thing = byId(THINGS);

const fragmentsScenario: Scenario = {
  audit: 'requires-with-fragments',
  supergraph: true,
  subgraphs: {
    things: {
      sdl: `${link('2.5', [...KEYS, 'inaccessible'])}
type Query { things: [Thing!]! }
type Thing @key(fields: "id") { id: ID! part: Part }
${PARTS}`,
      resolvers: { Query: { things: () => THINGS }, Thing: { __resolveReference: thing }, Part: typed, Metal: typed },
    },
    appraisal: {
      sdl: `${link('2.5', [...KEYS, 'inaccessible'])}
type Query { appraised: [Thing!]! }
type Thing @key(fields: "id") {
  id: ID!
  part: Part @external
  value: String! @requires(fields: "part { name ... on Iron { hardness rust } ... on Gold { hardness karat } }")
  label: String! @requires(fields: "part { ... on Part { name } }")
  grain: String @requires(fields: "part { ... on Wood { grain } }")
}
${PARTS}`,
      resolvers: {
        Query: { appraised: () => THINGS.map(({ id }) => ({ id })) },
        Thing: {
          __resolveReference: (r: Record<string, unknown>) => r,
          value: (t: { part?: { name: string; hardness?: number; rust?: boolean; karat?: number } | null }) => {
            const part = need(t.part, 'part');
            return part ? `${part.name}/${part.hardness ?? '-'}/${part.rust ?? part.karat ?? '-'}` : 'nothing';
          },
          label: (t: { part?: { name: string } | null }) => `label ${need(t.part, 'part')?.name ?? 'none'}`,
          grain: (t: { part?: { grain?: string } | null }) => need(t.part, 'part')?.grain ?? null,
        },
        Part: typed,
        Metal: typed,
      },
    },
  },
  cases: [
    { name: 'type conditions on an interface\'s implementations in a required field set', query: '{ things { id value } }' },
    { name: 'a type condition on the field\'s own interface', query: '{ things { label } }' },
    { name: 'a type condition on the @inaccessible implementation', query: '{ things { id grain } }' },
    // An object of the @inaccessible type reaching the client: null, an error at its path (docs/reliability.md row 81).
    { name: 'both, beside the required field itself', query: '{ things { id part { name ... on Metal { hardness } } value label } }', pathsOnly: true },
    { name: 'from the requiring subgraph\'s root field', query: '{ appraised { id value label part { __typename } } }', pathsOnly: true },
  ],
};

test('@requires with type conditions under an interface, and an @inaccessible implementation', async (t) => {
  await run(t, fragmentsScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Partial unions, an indirect @interfaceObject extension, @provides of only what is asked: partial-union,
// partial-union-complex, interface-object-indirect-extension, provides-only-requested-fields
// ---------------------------------------------------------------------------------------------------------------

const GEMS = [
  { id: 'g1', name: 'Opal', note: 'milky', cut: 'oval' },
  { id: 'g2', name: 'Jade', note: 'green', cut: 'round' },
];

const partialScenario: Scenario = {
  audit: 'partial-union, partial-union-complex, interface-object-indirect-extension, provides-only-requested-fields',
  supergraph: true,
  subgraphs: {
    // The whole union, under a shareable value type and under an entity.
    desk: {
      sdl: `${link('2.3', KEYS)}
type Query { inbox: Inbox! tray: Tray! }
type Inbox @shareable { note: String entries: [Entry!]! }
type Tray @key(fields: "id") { id: ID! inbox: Inbox! @shareable }
union Entry = Memo | Call | Task
type Memo @shareable { id: ID! text: String }
type Call { id: ID! minutes: Int }
type Task { id: ID! due: String }`,
      resolvers: {
        Query: { inbox: () => INBOX, tray: () => ({ id: 't1' }) },
        Tray: { __resolveReference: (r: { id: string }) => r, inbox: () => INBOX },
        Entry: typed,
      },
    },
    // The same value types with one member of the union only; the entity's field reached here first.
    side: {
      sdl: `${link('2.3', KEYS)}
type Query { trays: [Tray!]! }
type Inbox @shareable { note: String entries: [Entry!]! }
type Tray @key(fields: "id") { id: ID! inbox: Inbox! @shareable label: String! }
union Entry = Memo
type Memo @shareable { id: ID! text: String }`,
      resolvers: {
        Query: { trays: () => [{ id: 't1' }] },
        Tray: { __resolveReference: (r: { id: string }) => r, label: (r: { id: string }) => `tray ${r.id}`, inbox: () => ({ note: 'side', entries: [INBOX.entries[0]] }) },
        Entry: typed,
      },
    },
    // An entity interface and its implementations.
    media: {
      sdl: `${link('2.3', KEYS)}
type Query { clip: Clip }
interface Clip @key(fields: "id") { id: ID! title: String }
type Song implements Clip @key(fields: "id") { id: ID! title: String length: Int }
type Talk implements Clip @key(fields: "id") { id: ID! title: String host: String }`,
      resolvers: {
        Query: { clip: () => ({ __typename: 'Song', id: 's1', title: 'Blue', length: 200 }) },
        Clip: { __resolveReference: (r: { id: string }) => ({ __typename: r.id.startsWith('s') ? 'Song' : 'Talk', id: r.id }), ...typed },
        Song: { __resolveReference: (r: { id: string }) => ({ id: r.id, title: r.id === 's1' ? 'Blue' : 'Red', length: 100 * Number(r.id.slice(1)) }) },
        Talk: { __resolveReference: (r: { id: string }) => ({ id: r.id, title: 'talk', host: 'Hal' }) },
      },
    },
    // Extends one implementation directly (not knowing the interface).
    artists: {
      sdl: `${link('2.3', KEYS)}
extend type Song @key(fields: "id") { id: ID! artist: String }`,
      resolvers: { Song: { __resolveReference: (r: { id: string }) => r, artist: (s: { id: string }) => `artist of ${s.id}` } },
    },
    // Knows the interface only as an @interfaceObject, its own entity's field of that type.
    lists: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { mix: Mix }
type Mix @key(fields: "id") { id: ID! name: String clip: Clip }
type Clip @key(fields: "id") @interfaceObject { id: ID! }`,
      resolvers: { Query: { mix: () => ({ id: 'x1', name: 'mix one', clip: { id: 's1' } }) }, Mix: { __resolveReference: (r: { id: string }) => r } },
    },
    vault: {
      sdl: `${link('2.3', KEYS)}
type Gem @key(fields: "id") { id: ID! name: String! note: String! cut: String! }`,
      resolvers: { Gem: { __resolveReference: byId(GEMS) } },
    },
    // Provides name and note; its note throws: asked only when the client asked for it.
    showcase: {
      sdl: `${link('2.3', KEYS)}
type Query { gem: Gem @provides(fields: "name note") gems: [Gem!]! @provides(fields: "name note") }
type Gem @key(fields: "id") { id: ID! name: String! @external note: String! @external }`,
      resolvers: {
        Query: { gem: () => ({ id: 'g1', name: 'OPAL' }), gems: () => GEMS.map((g) => ({ id: g.id, name: g.name.toUpperCase() })) },
        Gem: { note: () => { throw new Error('note was asked of showcase'); } },
      },
    },
  },
  cases: [
    { name: 'every member of a union one subgraph knows part of', query: '{ inbox { note entries { __typename ... on Memo { id text } ... on Call { id minutes } ... on Task { id due } } } }' },
    { name: 'only the members the other subgraph lacks', query: '{ inbox { entries { __typename ... on Call { minutes } ... on Task { due } } } }' },
    {
      // Apollo Gateway 2.14 answers the Call's minutes null (no error): it asks the subgraph without Call for them.
      name: 'a partial union under an entity\'s shareable field, from either subgraph (APOLLO_WRONG)',
      query: '{ tray { id inbox { entries { __typename ... on Call { minutes } } } } trays { label inbox { note entries { __typename ... on Task { due } ... on Memo { text } } } } }',
      expected: { data: { tray: { id: 't1', inbox: { entries: [{ __typename: 'Memo' }, { __typename: 'Call', minutes: 4 }, { __typename: 'Task' }] } }, trays: [{ label: 'tray t1', inbox: { note: 'side', entries: [{ __typename: 'Memo', text: 'call back' }] } }] } },
    },
    { name: 'an implementation extended directly, reached through the interface', query: '{ clip { id title ... on Song { length artist } ... on Talk { host } } }' },
    { name: 'an implementation extended directly, reached through an @interfaceObject', query: '{ mix { id name clip { id title ... on Song { length artist } } } }' },
    { name: '@provides: the key only', query: '{ gem { id } }' },
    { name: '@provides: one of the provided fields, aliased', query: '{ gem { id shown: name } }' },
    { name: '@provides: in fragments, inline and named', query: '{ gem { id ... on Gem { name } ...N } } fragment N on Gem { shown: name }' },
    { name: '@provides: beside a field of the owner', query: '{ gem { id name cut } gems { id name cut } }' },
    { name: '@provides: a provided field under @skip(if: true) and @include(if: false)', query: '{ gem { id ... on Gem @skip(if: true) { note } ... @include(if: false) { note } } }' },
    { name: '@provides: fields in sibling fragments without a type', query: '{ gem { id ... { name } ... { cut } } }' },
  ],
};
const INBOX = {
  note: 'desk',
  entries: [
    { __typename: 'Memo', id: 'e1', text: 'call back' },
    { __typename: 'Call', id: 'e2', minutes: 4 },
    { __typename: 'Task', id: 'e3', due: 'friday' },
  ],
};

test('partial unions, an implementation extended beside an @interfaceObject, @provides of the fields asked only', async (t) => {
  await run(t, partialScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// @requires across subgraphs both ways: requires-circular, i-will-name-you-later
// ---------------------------------------------------------------------------------------------------------------

const LAPS = [
  { id: 'l1', driverId: 'd1', sectorIds: ['s1', 's2'] },
  { id: 'l2', driverId: 'd2', sectorIds: ['s3'] },
];
const DRIVERS = [
  { id: 'd1', name: 'Nico', age: 19 },
  { id: 'd2', name: 'Kimi', age: 41 },
];
const SECTORS = [
  { id: 's1', sponsorId: 'p1' },
  { id: 's2', sponsorId: 'p2' },
  { id: 's3', sponsorId: 'p2' },
];

const circularScenario: Scenario = {
  audit: 'requires-circular, i-will-name-you-later',
  supergraph: true,
  subgraphs: {
    track: {
      sdl: `${link('2.3', KEYS)}
type Query { laps: [Lap] }
type Lap @key(fields: "id") {
  id: ID!
  rookie: Boolean! @external
  veteran: Boolean! @requires(fields: "rookie")
  sponsorId: ID @external
  sponsor: Sponsor @requires(fields: "sponsorId")
}
type Driver @key(fields: "id") { id: ID! name: String! age: Int! }
type Sector @key(fields: "id") { id: ID! sponsorId: ID }
type Sponsor { id: ID! name: String! }`,
      resolvers: {
        Query: { laps: () => LAPS.map(({ id }) => ({ id })) },
        Lap: {
          __resolveReference: (r: Record<string, unknown>) => r,
          veteran: (l: { rookie?: boolean }) => !need(l.rookie, 'rookie'),
          sponsor: (l: { sponsorId?: string | null }) => {
            const id = need(l.sponsorId, 'sponsorId');
            return id ? { id, name: `sponsor ${id}` } : null;
          },
        },
        Driver: { __resolveReference: byId(DRIVERS) },
        Sector: { __resolveReference: byId(SECTORS) },
      },
    },
    timing: {
      sdl: `${link('2.3', KEYS)}
type Lap @key(fields: "id") {
  id: ID!
  driver: Driver!
  rookie: Boolean! @requires(fields: "driver { age }")
  greeting: String! @requires(fields: "driver { name }")
  sectors: [Sector!]!
  sponsorId: ID @requires(fields: "sectors { sponsorId }")
}
type Driver @key(fields: "id") { id: ID! age: Int! @external name: String! @external }
type Sector @key(fields: "id") { id: ID! sponsorId: ID @external }`,
      resolvers: {
        Lap: {
          __resolveReference: (r: Record<string, unknown>) => ({ ...LAPS.find((l) => l.id === r.id), ...r }),
          driver: (l: { driverId: string }) => ({ id: l.driverId }),
          rookie: (l: { driver?: { age: number } }) => need(l.driver, 'driver').age < 21,
          greeting: (l: { driver?: { name?: string } }) => `hello ${need(need(l.driver, 'driver').name, 'driver.name')}`,
          sectors: (l: { sectorIds: string[] }) => l.sectorIds.map((id) => ({ id })),
          sponsorId: (l: { sectors?: Array<{ sponsorId?: string }> }) => need(need(l.sectors, 'sectors').at(-1)?.sponsorId, 'sectors.sponsorId'),
        },
      },
    },
  },
  cases: [
    // Requirements that go from one subgraph to the other and back (rookie needs driver { age }, age is track's):
    // the required field is fetched first with its nested fields (`__key_driver`), the requiring fetch after.
    // Stitched, `{ laps { id veteran rookie } }` was answered with rookie null.
    // A representation holds exactly its field set, nested objects included: `driver { age }`, without the key
    // the gateway joined `age` by (`driver: { __key_id, age }` was sent); timing is first asked for `driver` by key.
    {
      name: 'a field requiring a field of another subgraph that requires one of the first',
      query: '{ laps { rookie } }',
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1' },
          { __typename: 'Lap', id: 'l2' },
          { __typename: 'Lap', id: 'l1', driver: { age: 19 } },
          { __typename: 'Lap', id: 'l2', driver: { age: 41 } },
        ],
      },
    },
    { name: 'the field at the end of the circle', query: '{ laps { veteran } }' },
    { name: 'two fields requiring other fields of one object of another subgraph', query: '{ laps { rookie greeting } }' },
    {
      name: 'a required field whose own requirement is a list of entities of the first subgraph',
      query: '{ laps { sponsor { id name } } }',
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1' },
          { __typename: 'Lap', id: 'l2' },
          { __typename: 'Lap', id: 'l1', sectors: [{ sponsorId: 'p1' }, { sponsorId: 'p2' }] },
          { __typename: 'Lap', id: 'l2', sectors: [{ sponsorId: 'p2' }] },
        ],
        track: [
          { __typename: 'Sector', id: 's1' },
          { __typename: 'Sector', id: 's2' },
          { __typename: 'Sector', id: 's3' },
          { __typename: 'Lap', id: 'l1', sponsorId: 'p2' },
          { __typename: 'Lap', id: 'l2', sponsorId: 'p2' },
        ],
      },
    },
    { name: 'the circle and its middle in one query', query: '{ laps { id veteran rookie } }' },
    { name: 'all of them', query: '{ laps { id rookie veteran sponsor { name } } }' },
  ],
};

test('@requires in a circle across two subgraphs', async (t) => {
  await run(t, circularScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// What a representation holds: its field sets alone, whatever the gateway asked for to get them (nested-requires)
// ---------------------------------------------------------------------------------------------------------------

const VANS = [
  { id: 'v1', vin: { make: 'ford', serial: 1 }, crewIds: ['p1', 'p2'], cargo: { __typename: 'Parcel', kg: 3 } },
  { id: 'v2', vin: { make: 'fiat', serial: 2 }, crewIds: ['p2'], cargo: { __typename: 'Pallet', tons: 2 } },
];
const CREW = [
  { id: 'p1', licence: { number: 'L1' } },
  { id: 'p2', licence: { number: 'L2' } },
];
const LICENCES = [
  { number: 'L1', class: 'B' },
  { number: 'L2', class: 'C' },
];

const representationScenario: Scenario = {
  audit: 'nested-requires',
  supergraph: true,
  subgraphs: {
    fleet: {
      sdl: `${link('2.3', KEYS)}
type Query { vans: [Van!]! }
type Van @key(fields: "id") @key(fields: "vin { make serial }") { id: ID! vin: Vin! crew: [Person!]! cargo: Cargo! }
type Vin @shareable { make: String! serial: Int! }
type Person @key(fields: "id") { id: ID! }
union Cargo = Parcel | Pallet
type Parcel @shareable { kg: Int! }
type Pallet @shareable { tons: Int! }`,
      resolvers: {
        Query: { vans: () => VANS },
        Van: {
          __resolveReference: (r: { id?: string; vin?: { make: string; serial: number } }) => VANS.find((v) => v.id === r.id || (v.vin.make === r.vin?.make && v.vin.serial === r.vin.serial)) ?? null,
          crew: (v: { crewIds: string[] }) => v.crewIds.map((id) => ({ id })),
        },
        Cargo: typed,
      },
    },
    // A person's licence, itself an entity whose class is a third subgraph's.
    hr: {
      sdl: `${link('2.3', KEYS)}
type Person @key(fields: "id") { id: ID! licence: Licence! }
type Licence @key(fields: "number") { number: ID! }`,
      resolvers: { Person: { __resolveReference: byId(CREW) } },
    },
    registry: {
      sdl: `${link('2.3', KEYS)}
type Licence @key(fields: "number") { number: ID! class: String! }`,
      resolvers: { Licence: { __resolveReference: (r: { number: string }) => LICENCES.find((l) => l.number === r.number) ?? null } },
    },
    // Knows vans by their nested key only, and requires fields two and three subgraphs away, and a union's.
    insurer: {
      sdl: `${link('2.3', KEYS)}
type Van @key(fields: "vin { make serial }") {
  vin: Vin!
  crew: [Person!]! @external
  cargo: Cargo! @external
  risk: String! @requires(fields: "crew { licence { class } }")
  load: String! @requires(fields: "cargo { __typename ... on Parcel { kg } ... on Pallet { tons } }")
}
type Vin @shareable { make: String! serial: Int! }
type Person @key(fields: "id", resolvable: false) { id: ID! licence: Licence! @external }
type Licence @key(fields: "number", resolvable: false) { number: ID! class: String! @external }
union Cargo = Parcel | Pallet
type Parcel @shareable { kg: Int! }
type Pallet @shareable { tons: Int! }`,
      resolvers: {
        Van: {
          __resolveReference: (r: Record<string, unknown>) => r,
          risk: (v: { crew?: Array<{ licence: { class: string } }> }) => need(v.crew, 'crew').map((p) => p.licence.class).join(''),
          load: (v: { cargo?: { __typename: string; kg?: number; tons?: number } }) => {
            const cargo = need(v.cargo, 'cargo');
            return `${cargo.__typename}: ${cargo.kg ?? cargo.tons}`;
          },
        },
        Cargo: typed,
      },
    },
  },
  cases: [
    {
      // Asked through fleet, hr, then registry (each joined by a key the gateway asks for: `__key_id`, `__key_number`);
      // `crew` in fleet's first call, not again through its `_entities`.
      name: 'a required list whose nested fields are two subgraphs away: the field set alone',
      query: '{ vans { risk } }',
      representations: {
        fleet: [],
        insurer: [
          { __typename: 'Van', vin: { make: 'ford', serial: 1 }, crew: [{ licence: { class: 'B' } }, { licence: { class: 'C' } }] },
          { __typename: 'Van', vin: { make: 'fiat', serial: 2 }, crew: [{ licence: { class: 'C' } }] },
        ],
      },
    },
    {
      // `__typename` only where the field set has it (the gateway asks for it under every union, to match type conditions).
      name: 'a required union with __typename and type conditions',
      query: '{ vans { load } }',
      representations: {
        insurer: [
          { __typename: 'Van', vin: { make: 'ford', serial: 1 }, cargo: { __typename: 'Parcel', kg: 3 } },
          { __typename: 'Van', vin: { make: 'fiat', serial: 2 }, cargo: { __typename: 'Pallet', tons: 2 } },
        ],
      },
    },
    { name: 'both, beside the fields they require', query: '{ vans { id risk load vin { make } crew { id licence { class } } cargo { ... on Parcel { kg } } } }' },
  ],
};

test('representations hold exactly their field sets: nested keys, nested required fields of other subgraphs, lists, unions (docs/reliability.md row 88)', async (t) => {
  await run(t, representationScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// An @interfaceObject's @shareable field beside the same field of one implementation (simple-interface-object);
// node(id:) answering a type that implements Node only in another subgraph (node)
// ---------------------------------------------------------------------------------------------------------------

const SEATS = [
  { __typename: 'Box', id: 'v1', open: true, row: 'A' },
  { __typename: 'Box', id: 'v2', open: true, row: 'B' },
  { __typename: 'Stall', id: 'v3', open: false, row: 'C' },
];

const typeConditionScenario: Scenario = {
  audit: 'simple-interface-object, node',
  supergraph: true,
  subgraphs: {
    // The interface with its implementations; Box has its own `open`, shareable with the @interfaceObject's.
    hall: {
      sdl: `${link('2.3', KEYS)}
interface Seat @key(fields: "id") { id: ID! }
type Box implements Seat @key(fields: "id") { id: ID! row: String! open: Boolean! @shareable }
type Stall implements Seat @key(fields: "id") { id: ID! row: String! }`,
      resolvers: {
        Seat: { __resolveReference: byId(SEATS), ...typed },
        Box: { __resolveReference: (r: { id: string }) => SEATS.find((s) => s.id === r.id && s.__typename === 'Box') ?? null },
        Stall: { __resolveReference: (r: { id: string }) => SEATS.find((s) => s.id === r.id && s.__typename === 'Stall') ?? null },
      },
    },
    // The root field, through an @interfaceObject (a wrong __typename on purpose: never to be used).
    usher: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Query { seats: [Seat!]! }
type Seat @key(fields: "id") @interfaceObject { id: ID! }`,
      resolvers: { Query: { seats: () => SEATS.map(({ id }) => ({ __typename: 'Nothing', id })) }, Seat: { __resolveReference: (r: { id: string }) => ({ id: r.id }) } },
    },
    // The same field for every Seat, with a value of its own (so which subgraph answered shows).
    lights: {
      sdl: `${link('2.3', [...KEYS, 'interfaceObject'])}
type Seat @key(fields: "id") @interfaceObject { id: ID! open: Boolean! @shareable }`,
      resolvers: { Seat: { __resolveReference: (r: { id: string }) => ({ id: r.id }), open: () => false } },
    },
    // node(id:) here knows Ticket, and knows Pass without it implementing Node.
    gate: {
      sdl: `${link('2.3', KEYS)}
type Query { node(id: ID!): Node @shareable pass(id: ID!): Pass }
interface Node { id: ID! }
type Ticket implements Node @key(fields: "id") { id: ID! price: Int! }
type Pass @key(fields: "id") { id: ID! }`,
      resolvers: {
        Query: { node: (_: unknown, { id }: { id: string }) => (id.startsWith('k') ? { __typename: 'Ticket', id, price: 12 } : null), pass: (_: unknown, { id }: { id: string }) => ({ id }) },
        Node: typed,
        Ticket: { __resolveReference: (r: { id: string }) => ({ id: r.id, price: 12 }) },
      },
    },
    // Pass implements Node here, and node(id:) answers passes.
    passes: {
      sdl: `${link('2.3', KEYS)}
type Query { node(id: ID!): Node @shareable }
interface Node { id: ID! }
type Pass implements Node @key(fields: "id") { id: ID! holder: String! }`,
      resolvers: { Query: { node: (_: unknown, { id }: { id: string }) => (id.startsWith('p') ? { __typename: 'Pass', id, holder: `holder of ${id}` } : null) }, Node: typed, Pass: { __resolveReference: (r: { id: string }) => ({ id: r.id, holder: `holder of ${r.id}` }) } },
    },
  },
  cases: [
    { name: 'the @interfaceObject\'s shareable field on the interface: its subgraph answers', query: '{ seats { id open } }' },
    { name: 'the same field under an implementation\'s type condition: the implementation\'s subgraph answers', query: '{ seats { id ... on Box { open } } }' },
    { name: 'both in one query', query: '{ seats { id open ... on Box { boxOpen: open row } ... on Stall { row } } }' },
    {
      // Apollo Gateway 2.14 answers null with "Cannot return null for non-nullable field Ticket.price" for a Ticket gate resolves.
      name: 'node(id:) with a type condition on a type implementing Node only in another subgraph (APOLLO_WRONG)',
      query: '{ node(id: "k1") { id ... on Ticket { price } ... on Pass { holder } } }',
      expected: { data: { node: { id: 'k1', price: 12 } } },
    },
    { name: 'that type reached by its own root field', query: '{ pass(id: "p1") { id holder } }' },
    { name: 'node(id:) of that type, by the subgraph where it implements Node', query: '{ node(id: "p1") { ... on Pass { id holder } ... on Ticket { price } } }' },
    {
      // Not sent to gate, where `... on Pass` under Node is invalid (Pass is no Node there): passes, which answers
      // all of it, is asked. Apollo Gateway 2.14 asks gate without the type condition: null.
      name: 'node(id:) of that type, __typename only beside the type condition (APOLLO_WRONG)',
      query: '{ node(id: "p2") { __typename ... on Pass { id } } }',
      expected: { data: { node: { __typename: 'Pass', id: 'p2' } } },
    },
  ],
};

test('an @interfaceObject\'s shareable field answered by type condition; node(id:) and a type implementing Node elsewhere (docs/reliability.md row 85)', async (t) => {
  await run(t, typeConditionScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// Shared non-null root fields of a value type, each subgraph with a nested object of its own: defer/shared-root
// (its queries have no @defer: the subgraphs answer at different speeds)
// ---------------------------------------------------------------------------------------------------------------

const KIT = { id: 'kit1', label: { id: 'l1', maker: 'Acme', line: 'Pro' }, shelf: { id: 's1', title: 'Tools' }, tag: { id: 't1', cents: 1250, unit: 'EUR' } };
/** A value answered after `ms` (the subgraphs answer at different speeds; which one answers first must not matter). */
const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

const sharedValueSubgraph = (field: 'label' | 'shelf' | 'tag', type: string, fields: string, ms: number): Subgraph => ({
  sdl: `${link('2.3', KEYS)}
type Query { kit: Kit! @shareable kits: [Kit!]! @shareable }
type Kit { id: ID! @shareable ${field}: ${type}! }
type ${type} { ${fields} }`,
  resolvers: {
    Query: { kit: () => ({ id: KIT.id }), kits: () => [{ id: KIT.id }] },
    Kit: { [field]: () => later(ms, KIT[field]) },
  },
});

const sharedValueScenario: Scenario = {
  audit: 'defer/shared-root',
  supergraph: true,
  subgraphs: {
    labels: sharedValueSubgraph('label', 'Label', 'id: ID! maker: String! line: String!', 40),
    shelves: sharedValueSubgraph('shelf', 'Shelf', 'id: ID! title: String!', 20),
    tags: sharedValueSubgraph('tag', 'Tag', 'id: ID! cents: Int! unit: String!', 0),
  },
  cases: [
    { name: 'a non-null shared root field: each subgraph its nested object', query: '{ kit { id label { id maker line } shelf { id title } tag { id cents unit } } }' },
    { name: 'a non-null list of them', query: '{ kits { id label { id maker line } shelf { id title } tag { id cents unit } } }' },
    { name: 'two of the three, aliased', query: '{ k: kit { s: shelf { title } l: label { maker } } }' },
  ],
};

test('shared non-null root fields of a value type, each subgraph answering a nested object of its own', async (t) => {
  await run(t, sharedValueScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// The same field required with two arguments by two fields of one subgraph: requires-with-argument-conflict
// ---------------------------------------------------------------------------------------------------------------

const GOODS = [
  { sku: 'k1', mass: 2, kind: { usd: 10, eur: 9 } },
  { sku: 'k2', mass: 5, kind: { usd: 30, eur: 27 } },
];

const conflictScenario: Scenario = {
  audit: 'requires-with-argument-conflict',
  supergraph: true,
  subgraphs: {
    goods: {
      sdl: `${link('2.3', KEYS)}
type Query { goods: [Good!]! }
type Good @key(fields: "sku") { sku: ID! mass: Int! cost(unit: String!): Int! kind: Kind! }
type Kind @shareable { average(unit: String!): Int! }`,
      resolvers: {
        Query: { goods: () => GOODS },
        Good: { __resolveReference: (r: { sku: string }) => GOODS.find((g) => g.sku === r.sku), cost: (g: { mass: number }, { unit }: { unit: string }) => g.mass * (unit === 'EUR' ? 3 : unit === 'USD' ? 4 : 5) },
        Kind: { average: (k: { usd: number; eur: number }, { unit }: { unit: string }) => (unit === 'EUR' ? k.eur : k.usd) },
      },
    },
    // Its two freights require the cost in two currencies.
    freight: {
      sdl: `${link('2.3', KEYS)}
type Good @key(fields: "sku") {
  sku: ID!
  mass: Int! @external
  cost(unit: String!): Int! @external
  kind: Kind! @external
  freight: Int! @requires(fields: "cost(unit: \\"USD\\") mass")
  freightEur: Int! @requires(fields: "cost(unit: \\"EUR\\") mass")
  pricey: Boolean! @requires(fields: "kind { average(unit: \\"USD\\") }")
  priceyEur: Boolean! @requires(fields: "kind { average(unit: \\"EUR\\") }")
}
type Kind @shareable { average(unit: String!): Int! @external }`,
      resolvers: {
        Good: {
          __resolveReference: (r: Record<string, unknown>) => r,
          freight: (g: { cost?: number; mass?: number }) => need(g.cost, 'cost') * 10 + need(g.mass, 'mass'),
          freightEur: (g: { cost?: number; mass?: number }) => need(g.cost, 'cost') * 10 + need(g.mass, 'mass'),
          pricey: (g: { kind?: { average?: number } }) => need(need(g.kind, 'kind').average, 'kind.average') > 20,
          priceyEur: (g: { kind?: { average?: number } }) => need(need(g.kind, 'kind').average, 'kind.average') > 9,
        },
      },
    },
  },
  // Apollo Gateway 2.14 sends one cost for both: freightEur computed from the USD cost, or the other way round (APOLLO_WRONG).
  cases: [
    {
      name: 'the same field required with two arguments by two fields (APOLLO_WRONG)',
      query: '{ goods { sku freight freightEur pricey } }',
      expected: { data: { goods: [{ sku: 'k1', freight: 82, freightEur: 62, pricey: false }, { sku: 'k2', freight: 205, freightEur: 155, pricey: true }] } },
    },
    {
      name: 'the same, beside the field itself with a third argument (APOLLO_WRONG)',
      query: '{ goods { freightEur cost(unit: "GBP") freight } }',
      expected: { data: { goods: [{ freightEur: 62, cost: 10, freight: 82 }, { freightEur: 155, cost: 25, freight: 205 }] } },
    },
    { name: 'one of them', query: '{ goods { sku freightEur } }' },
    // A nested field's arguments differ: two passes, as for the field's own (`__key_kind`, `__key_1_kind`).
    {
      name: 'a nested field required with two arguments by two fields',
      query: '{ goods { pricey priceyEur } }',
      representations: {
        freight: [
          { __typename: 'Good', sku: 'k1', kind: { average: 10 } },
          { __typename: 'Good', sku: 'k2', kind: { average: 30 } },
          { __typename: 'Good', sku: 'k1', kind: { average: 9 } },
          { __typename: 'Good', sku: 'k2', kind: { average: 27 } },
        ],
      },
    },
  ],
};

test('the same field required with two arguments by two fields of one subgraph: each gets its own', async (t) => {
  await run(t, conflictScenario);
});

// The same, where the required field is fetched first (its nested field is another subgraph's): each requiring field's
// own arguments, nested (`driver { age(unit: "MONTHS") }`) or on the required field itself (`pilot(stint: 2)`).

const STINTS: Record<string, string[]> = { l1: ['d1', 'd2'], l2: ['d2', 'd1'] };
const ageIn = (unit: string, years: number): number => (unit === 'MONTHS' ? years * 12 : years);

const prefetchConflictScenario: Scenario = {
  audit: 'requires-with-argument-conflict, requires-circular',
  supergraph: true,
  subgraphs: {
    track: {
      sdl: `${link('2.3', KEYS)}
type Query { laps: [Lap] }
type Lap @key(fields: "id") { id: ID! }
type Driver @key(fields: "id") { id: ID! name: String! age(unit: String!): Int! }`,
      resolvers: {
        Query: { laps: () => LAPS.map(({ id }) => ({ id })) },
        Driver: { __resolveReference: byId(DRIVERS), age: (d: { age: number }, { unit }: { unit: string }) => ageIn(unit, d.age) },
      },
    },
    timing: {
      sdl: `${link('2.3', KEYS)}
type Query { stints: [Lap] }
type Lap @key(fields: "id") {
  id: ID!
  driver: Driver!
  pilot(stint: Int!): Driver!
  rookie: Boolean! @requires(fields: "driver { age(unit: \\"YEARS\\") }")
  months: Int! @requires(fields: "driver { age(unit: \\"MONTHS\\") }")
  opener: String! @requires(fields: "pilot(stint: 1) { name }")
  closer: String! @requires(fields: "pilot(stint: 2) { name }")
}
type Driver @key(fields: "id") { id: ID! name: String! @external age(unit: String!): Int! @external }`,
      resolvers: {
        Query: { stints: () => LAPS },
        Lap: {
          __resolveReference: (r: Record<string, unknown>) => ({ ...LAPS.find((l) => l.id === r.id), ...r }),
          driver: (l: { driverId: string }) => ({ id: l.driverId }),
          pilot: (l: { id: string }, { stint }: { stint: number }) => ({ id: STINTS[l.id]![stint - 1] }),
          rookie: (l: { driver?: { age?: number } }) => need(need(l.driver, 'driver').age, 'driver.age') < 21,
          months: (l: { driver?: { age?: number } }) => need(need(l.driver, 'driver').age, 'driver.age'),
          opener: (l: { pilot?: { name?: string } }) => need(need(l.pilot, 'pilot').name, 'pilot.name'),
          closer: (l: { pilot?: { name?: string } }) => need(need(l.pilot, 'pilot').name, 'pilot.name'),
        },
      },
    },
  },
  // Apollo Gateway 2.14 fetches `driver` (`pilot`) once, with one field's arguments, and sends that value for both
  // (APOLLO_WRONG). Tessera fetches it once per set of arguments (`__key_driver`, `__key_2_driver`); each
  // representation holds the field set alone: `driver: { age }`, nothing of the alias or the key `age` was joined by.
  cases: [
    {
      name: 'a nested required field with two arguments, fetched first (APOLLO_WRONG)',
      query: '{ laps { id rookie months } }',
      expected: { data: { laps: [{ id: 'l1', rookie: true, months: 228 }, { id: 'l2', rookie: false, months: 492 }] } },
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1' },
          { __typename: 'Lap', id: 'l2' },
          { __typename: 'Lap', id: 'l1', driver: { age: 19 } },
          { __typename: 'Lap', id: 'l2', driver: { age: 41 } },
          { __typename: 'Lap', id: 'l1', driver: { age: 228 } },
          { __typename: 'Lap', id: 'l2', driver: { age: 492 } },
        ],
        track: [
          { __typename: 'Driver', id: 'd1' },
          { __typename: 'Driver', id: 'd2' },
        ],
      },
    },
    {
      name: 'a required field with two arguments, its nested field fetched first (APOLLO_WRONG)',
      query: '{ laps { opener closer } }',
      expected: { data: { laps: [{ opener: 'Nico', closer: 'Kimi' }, { opener: 'Kimi', closer: 'Nico' }] } },
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1' },
          { __typename: 'Lap', id: 'l2' },
          { __typename: 'Lap', id: 'l1', pilot: { name: 'Nico' } },
          { __typename: 'Lap', id: 'l1', pilot: { name: 'Kimi' } },
          { __typename: 'Lap', id: 'l2', pilot: { name: 'Kimi' } },
          { __typename: 'Lap', id: 'l2', pilot: { name: 'Nico' } },
        ],
      },
    },
    {
      name: 'all four (APOLLO_WRONG)',
      query: '{ laps { months closer rookie opener } }',
      expected: { data: { laps: [{ months: 228, closer: 'Kimi', rookie: true, opener: 'Nico' }, { months: 492, closer: 'Nico', rookie: false, opener: 'Kimi' }] } },
    },
    { name: 'one of them', query: '{ laps { months } }' },
    { name: 'one of them beside the fields it requires', query: '{ laps { rookie driver { age(unit: "DAYS") name } } }' },
    // The required field is the subgraph's own where it is already called (its root field): asked in that very call,
    // once per set of arguments (`pilot(stint: 1)`, `pilot(stint: 2)`), its nested field fetched from track for each.
    {
      name: 'from the subgraph already called: a nested required field with two arguments (APOLLO_WRONG)',
      query: '{ stints { id rookie months } }',
      expected: { data: { stints: [{ id: 'l1', rookie: true, months: 228 }, { id: 'l2', rookie: false, months: 492 }] } },
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1', driver: { age: 19 } },
          { __typename: 'Lap', id: 'l2', driver: { age: 41 } },
          { __typename: 'Lap', id: 'l1', driver: { age: 228 } },
          { __typename: 'Lap', id: 'l2', driver: { age: 492 } },
        ],
        track: [
          { __typename: 'Driver', id: 'd1' },
          { __typename: 'Driver', id: 'd2' },
        ],
      },
    },
    {
      name: 'from the subgraph already called: a required field with two arguments (APOLLO_WRONG)',
      query: '{ stints { opener closer } }',
      expected: { data: { stints: [{ opener: 'Nico', closer: 'Kimi' }, { opener: 'Kimi', closer: 'Nico' }] } },
      representations: {
        timing: [
          { __typename: 'Lap', id: 'l1', pilot: { name: 'Nico' } },
          { __typename: 'Lap', id: 'l1', pilot: { name: 'Kimi' } },
          { __typename: 'Lap', id: 'l2', pilot: { name: 'Kimi' } },
          { __typename: 'Lap', id: 'l2', pilot: { name: 'Nico' } },
        ],
      },
    },
    {
      name: 'from the subgraph already called: all four, beside the required fields themselves (APOLLO_WRONG)',
      query: '{ stints { months closer pilot(stint: 2) { id } rookie opener driver { age(unit: "DAYS") } } }',
      expected: {
        data: {
          stints: [
            { months: 228, closer: 'Kimi', pilot: { id: 'd2' }, rookie: true, opener: 'Nico', driver: { age: 19 } },
            { months: 492, closer: 'Nico', pilot: { id: 'd1' }, rookie: false, opener: 'Kimi', driver: { age: 41 } },
          ],
        },
      },
    },
  ],
};

test('two fields require the same nested field with different arguments, fetched first from another subgraph: each gets its own (docs/reliability.md row 90)', async (t) => {
  await run(t, prefetchConflictScenario);
});

// ---------------------------------------------------------------------------------------------------------------
// An executable directive composed with @composeDirective, its argument's default in one subgraph only:
// executable-directive-definition-default-arguments
// ---------------------------------------------------------------------------------------------------------------

const markLink = '@link(url: "https://example.dev/mark/v1.0", import: ["@mark"]) @composeDirective(name: "@mark")';
const hushLink = '@link(url: "https://example.dev/hush/v1.0", import: ["@hush"]) @composeDirective(name: "@hush")';

/**
 * A resolver answering `value` followed by the directives its field was sent with, as the subgraph read them
 * (`left @mark(tone: QUIET)`): the answer shows what each subgraph received, variables given their values.
 */
const sentWith =
  (value: (parent: Record<string, unknown>) => string) =>
  (parent: Record<string, unknown>, _args: unknown, _context: unknown, info: { fieldNodes: readonly FieldNode[]; variableValues: Record<string, unknown> }): string => {
    const directives = info.fieldNodes[0]!.directives ?? [];
    const args = (d: (typeof directives)[number]) => (d.arguments?.length ? `(${d.arguments.map((a) => `${a.name.value}: ${String(valueFromASTUntyped(a.value, info.variableValues))}`).join(', ')})` : '');
    return [value(parent), ...directives.map((d) => `@${d.name.value}${args(d)}`)].join(' ');
  };

const directiveScenario: Scenario = {
  audit: 'executable-directive-definition-default-arguments',
  subgraphs: {
    // Its definition has no default: a use without the argument is invalid here. It does not declare @hush.
    left: {
      sdl: `${link('2.1', ['key', 'composeDirective'])} ${markLink}
directive @mark(tone: Tone!) on FIELD
enum Tone { LOUD QUIET }
type Query { left: String note: Note }
type Note @key(fields: "id") { id: ID! text: String }`,
      resolvers: {
        Query: { left: sentWith(() => 'left'), note: () => ({ id: 'n1', text: 'hello' }) },
        Note: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, text: 'hello' }), text: sentWith((n) => String(n.text)) },
      },
    },
    // The notes' authors: a nested field of an entity, fetched through `_entities`.
    right: {
      sdl: `${link('2.1', ['key', 'composeDirective'])} ${markLink} ${hushLink}
directive @mark(tone: Tone! = QUIET) on FIELD
directive @hush on FIELD
enum Tone { LOUD QUIET }
type Query { right: String }
type Note @key(fields: "id") { id: ID! author: Author }
type Author { name: String }`,
      resolvers: {
        Query: { right: sentWith(() => 'right') },
        Note: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), author: () => ({ name: 'Ann' }) },
        Author: { name: sentWith((a) => String(a.name)) },
      },
    },
  },
  // Apollo Gateway 2.14 leaves executable directives out of its API schema: "Unknown directive "@mark"." (APOLLO_WRONG).
  // Tessera forwards a directive on a field to the call that answers the field, as written (planner.ts forwardable).
  cases: [
    {
      name: 'the directive without its argument, on fields of both subgraphs (APOLLO_WRONG)',
      query: '{ left @mark right @mark }',
      expected: { data: { left: 'left @mark(tone: QUIET)', right: 'right @mark(tone: QUIET)' } },
      route: 'planned',
    },
    { name: 'the directive without its argument, on one subgraph\'s field (APOLLO_WRONG)', query: '{ left @mark }', expected: { data: { left: 'left @mark(tone: QUIET)' } }, route: 'direct' },
    {
      name: 'the directive with its argument (APOLLO_WRONG)',
      query: '{ left @mark(tone: LOUD) right @mark(tone: LOUD) }',
      expected: { data: { left: 'left @mark(tone: LOUD)', right: 'right @mark(tone: LOUD)' } },
      route: 'planned',
    },
    {
      // The variable is used in the directives alone: each call declares it.
      name: 'the directive with a variable argument (APOLLO_WRONG)',
      query: 'query ($tone: Tone!) { left @mark(tone: $tone) right @mark(tone: QUIET) r: right @mark(tone: $tone) }',
      variables: { tone: 'LOUD' },
      expected: { data: { left: 'left @mark(tone: LOUD)', right: 'right @mark(tone: QUIET)', r: 'right @mark(tone: LOUD)' } },
      route: 'planned',
      documents: { left: ['query ($tone: Tone!) { left @mark(tone: $tone)'], right: ['query ($tone: Tone!) { right @mark(tone: QUIET) r: right @mark(tone: $tone) }'] },
    },
    {
      name: 'the directive on a nested field of an entity fetched from another subgraph (APOLLO_WRONG)',
      query: 'query ($tone: Tone!) { note { text @mark(tone: LOUD) author { name @mark(tone: $tone) } } }',
      variables: { tone: 'QUIET' },
      expected: { data: { note: { text: 'hello @mark(tone: LOUD)', author: { name: 'Ann @mark(tone: QUIET)' } } } },
      route: 'planned',
      documents: { right: ['query ($__k0: [_Any!]!, $tone: Tone!) { __e0: _entities(representations: $__k0) { ... on Note { author { name @mark(tone: $tone) } } } }'] },
    },
    {
      // Its answer comes from two calls: declined by the planner (a directive goes on a field one call answers
      // whole); stitching sends it to the subgraph of the field.
      name: 'the directive on a field with fields of another subgraph under it (APOLLO_WRONG)',
      query: '{ note @mark { text author { name } } }',
      expected: { data: { note: { text: 'hello', author: { name: 'Ann' } } } },
      route: 'stitched',
    },
    { name: 'a directive only one subgraph declares, on its field (APOLLO_WRONG)', query: '{ left right @hush }', expected: { data: { left: 'left', right: 'right @hush' } }, route: 'planned' },
    {
      // On the other subgraph's field: declined by the planner (never sent where it is not declared); stitching sends
      // it to that subgraph, which refuses it, and that field alone is null with its error.
      name: 'a directive only one subgraph declares, on the other\'s field (APOLLO_WRONG)',
      query: '{ left @hush right }',
      expected: { data: { left: null, right: 'right' }, errors: [{ message: 'Unknown directive "@hush".', path: ['left'] }] },
      route: 'stitched',
    },
  ],
};

test('an executable directive whose argument has a default in one subgraph only: the default is sent to the other (docs/reliability.md row 83)', async (t) => {
  await run(t, directiveScenario);
});
