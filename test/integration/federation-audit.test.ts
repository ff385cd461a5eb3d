/**
 * Federation conformance in the shape of the public gateway audit
 * (the-guild-org/graphql-federation-gateway-audit, issue #18): for each
 * behaviour its suites check, a scenario of our own (subgraph SDL, resolvers,
 * queries), served by real @apollo/subgraph subgraphs on loopback to Tessera
 * (planned route) and to Apollo Gateway (test/kit/apollo.ts) at once; the
 * answers must be the same: data exactly, errors by message and path.
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
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { createGateway } from '../../src/index.js';
import { startApolloGateway, type ApolloAnswer } from '../kit/apollo.js';
import { gql, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';

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
}

interface Scenario {
  /** The audit suite(s) whose behaviour it checks. */
  audit: string;
  subgraphs: Record<string, Subgraph>;
  cases: Case[];
  /** Also served from a composed supergraph file: the same answers. */
  supergraph?: boolean;
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

async function run(t: TestContext, scenario: Scenario): Promise<void> {
  const names = Object.keys(scenario.subgraphs);
  const urls: Record<string, string> = {};
  for (const name of names) {
    const { sdl, resolvers } = scenario.subgraphs[name]!;
    urls[name] = (await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never }))).url;
  }
  const tessera = await startGateway(
    t,
    names.map((name) => ({ name, kind: 'federation' as const, url: urls[name]! })),
    { mode: 'development', security: { limits: { cost: { mode: 'measure' } } } } as never,
  );
  const apollo = await startApolloGateway(t, names.map((name) => ({ name, url: urls[name]!, sdl: scenario.subgraphs[name]!.sdl })));
  let served: string | undefined;
  if (scenario.supergraph) {
    const composed = composeServices(names.map((name) => ({ name, typeDefs: parse(scenario.subgraphs[name]!.sdl), url: urls[name] })));
    assert.equal(composed.errors, undefined);
    const dir = tempProject(t, {
      'gateway.yaml': 'supergraph: ./supergraph.graphql\nmode: development\nlogging: { level: silent }\nsecurity: { limits: { cost: { mode: measure } } }\n',
      'supergraph.graphql': composed.supergraphSdl!,
    });
    const gateway = await createGateway({ configFile: `${dir}/gateway.yaml` });
    t.after(() => gateway.close());
    served = (await gateway.listen(0, '127.0.0.1')).url;
  }
  for (const c of scenario.cases) {
    await t.test(`${scenario.audit}: ${c.name}`, async () => {
      const ours = await tessera.query(c.query, c.variables);
      const expected = c.expected ?? (await apollo(c.query, c.variables));
      const message = `${c.query}\nTessera: ${JSON.stringify(ours.body)}\nexpected: ${JSON.stringify(expected)}`;
      assert.deepEqual(comparable(ours.body), comparable(expected), message);
      const route = ours.headers.get('tessera-route');
      if (c.route) assert.equal(route, c.route, message);
      else assert.ok(route === 'planned' || route === 'direct' || ours.status === 400, `route ${route}: ${message}`);
      if (c.expected) assert.notDeepEqual(comparable(await apollo(c.query, c.variables)), comparable(c.expected), 'Apollo Gateway still answers differently (else drop `expected`)');
      if (served) {
        const fromFile = await gql(served, c.query, c.variables);
        assert.deepEqual(comparable(fromFile.body), comparable(expected), `supergraph file: ${c.query}\nTessera: ${JSON.stringify(fromFile.body)}\nexpected: ${JSON.stringify(expected)}`);
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
    { name: 'required fields with type conditions on an interface', query: '{ parcels { id handling } }' },
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
type Query { items: [Item!]! shelf: [Shelved!]! }
interface Item @key(fields: "id") { id: ID! title: String! cheaper: Item }
type Book implements Item @key(fields: "id") { id: ID! title: String! cheaper: Item pages: Int! }
type Film implements Item @key(fields: "id") { id: ID! title: String! cheaper: Item minutes: Int! }
union Shelved = Book | Film`,
      resolvers: {
        Query: { items: () => ITEMS, shelf: () => ITEMS },
        Item: { __resolveReference: item, ...typed },
        Shelved: typed,
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
    { name: 'a union one subgraph knows fewer members of', query: '{ shelf { ... on Book { id price } ... on Film { id title } } deals { __typename ... on Book { title } ... on Song { seconds } } }' },
    { name: 'a fragment on the interface inside a union', query: '{ deals { ... on Item { id title price } } shelf { ... on Item { title } } }' },
    { name: '__typename everywhere, aliased, on interfaces and unions', query: '{ __typename t: __typename items { __typename kind: __typename ... on Book { __typename } cheaper { __typename } } deals { __typename } accounts { __typename } }' },
    { name: 'only __typename of an abstract field', query: '{ deals { __typename } accounts { ... on Admin { __typename } } }' },
  ],
};

test('interfaces and unions across subgraphs: distributed members, intersections, circular references, mismatched member fields, __typename', async (t) => {
  await run(t, abstractScenario);
});
