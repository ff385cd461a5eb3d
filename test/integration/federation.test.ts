/**
 * `kind: federation` subgraphs (real @apollo/subgraph subgraphs on loopback),
 * directive by directive: several keys, a compound and nested key,
 * `resolvable: false`, @requires with a nested selection on a field with
 * arguments, @provides, @external, @shareable (the subgraph already asked,
 * else the first by name), an error of one `_entities` item at that item's
 * path, a federation entity extended by a plain GraphQL source and the
 * other way round, a per-subgraph rate limit and metrics, descriptor
 * validation and composition errors (also through `tessera check`),
 * @override, @inaccessible, @authenticated and @requiresScopes, and
 * Federation 1 subgraphs.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { createGateway } from '../../src/index.js';
import { total } from '../kit/metrics.js';
import { runTessera, startGateway, startGraphqlUpstream, tempProject, type DemoService } from '../kit/index.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

interface ProductRow {
  sku: string;
  id: string;
  org: string;
  name: string;
  size: number;
  weight: number;
}
const PRODUCTS: ProductRow[] = [
  { sku: 's1', id: '1', org: 'o1', name: 'Lamp', size: 2, weight: 1.5 },
  { sku: 's2', id: '2', org: 'o1', name: 'Desk', size: 40, weight: 30 },
  { sku: 's3', id: '1', org: 'o2', name: 'Chair', size: 10, weight: 7 },
];
const bySku = (sku: unknown) => PRODUCTS.find((p) => p.sku === sku);
const byIdOrg = (id: unknown, org: unknown) => PRODUCTS.find((p) => p.id === id && p.org === org);
const productObject = (p: ProductRow | undefined) => p && { sku: p.sku, id: p.id, org: { id: p.org }, name: p.name, dimensions: { size: p.size, weight: p.weight } };

/** catalog: Product by two keys (sku; the compound, nested `id org { id }`), its name @shareable. */
const CATALOG = `${LINK}
type Query { products: [Product!]! }
type Product @key(fields: "sku") @key(fields: "id org { id }") {
  sku: String!
  id: ID!
  org: Org!
  name: String! @shareable
  dimensions: Dimensions!
}
type Org @shareable { id: ID! }
type Dimensions @shareable { size: Int! weight: Float! }`;

/** shipping: knows Product by `id org { id }` only; shippingCost @requires a nested field of catalog's. */
const SHIPPING = `${LINK}
type Query { cheapest: Product }
type Product @key(fields: "id org { id }") {
  id: ID!
  org: Org!
  dimensions: Dimensions! @external
  shippingCost(express: Boolean = false): Float! @requires(fields: "dimensions { weight }")
}
type Org @shareable { id: ID! }
type Dimensions @shareable { size: Int! weight: Float! }`;

/** reviews: Product by sku (its name @shareable too); User referenced only (resolvable: false), its name @provides'd. */
const REVIEWS = `${LINK}
type Query { reviews: [Review!]! }
type Review { id: ID! stars: Int! product: Product author: User @provides(fields: "name") }
type Product @key(fields: "sku") { sku: String! name: String! @shareable reviews: [Review!]! }
type User @key(fields: "id", resolvable: false) { id: ID! name: String @external }`;

/** accounts: resolves User. */
const ACCOUNTS = `${LINK}
type Query { me: User }
type User @key(fields: "id") { id: ID! name: String email: String }`;

const USERS: Record<string, { id: string; name: string; email: string }> = {
  u1: { id: 'u1', name: 'Ada', email: 'ada@example.com' },
  u2: { id: 'u2', name: 'Alan', email: 'alan@example.com' },
};
const REVIEW_ROWS = [
  { id: 'r1', stars: 5, sku: 's1', author: 'u1' },
  { id: 'r2', stars: 3, sku: 's2', author: 'u2' },
  { id: 'r3', stars: 4, sku: 's1', author: 'u2' },
  { id: 'r4', stars: 1, sku: 'broken', author: 'u1' },
];

interface Received {
  query: string;
  variables: Record<string, unknown> | undefined;
}

interface Subgraphs {
  services: Record<string, DemoService>;
  received: Record<string, Received[]>;
  reset(): void;
}

async function startSubgraph(t: TestContext, sdl: string, resolvers: Record<string, unknown>, log: Received[]): Promise<DemoService> {
  const schema = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as never });
  return startGraphqlUpstream(t, schema, {}, {
    plugins: [
      {
        onParams({ params }: { params: { query?: string; variables?: Record<string, unknown> } }) {
          if (!params.query?.includes('_service')) log.push({ query: params.query ?? '', variables: params.variables });
        },
      },
    ],
  });
}

async function startSubgraphs(t: TestContext): Promise<Subgraphs> {
  const received: Record<string, Received[]> = { catalog: [], shipping: [], reviews: [], accounts: [] };
  const services: Record<string, DemoService> = {};
  services.catalog = await startSubgraph(
    t,
    CATALOG,
    {
      Query: { products: () => PRODUCTS.map(productObject) },
      Product: {
        // Async, as a data loader is: a rejection fails that item only (a synchronous throw fails the whole _entities field).
        __resolveReference: async (r: { sku?: string; id?: string; org?: { id: string } }) => {
          if (r.sku === 'broken') throw new Error('catalog cannot read product "broken"');
          return productObject(r.sku !== undefined ? bySku(r.sku) : byIdOrg(r.id, r.org?.id)) ?? null;
        },
      },
    },
    received.catalog!,
  );
  services.shipping = await startSubgraph(
    t,
    SHIPPING,
    {
      Query: { cheapest: () => ({ id: '1', org: { id: 'o1' } }) },
      Product: {
        __resolveReference: (r: Record<string, unknown>) => r,
        shippingCost: (p: { dimensions?: { weight?: number } }, { express }: { express: boolean }) => {
          const weight = p.dimensions?.weight;
          if (weight === undefined) throw new Error('shippingCost needs dimensions.weight in the representation');
          return weight * (express ? 3 : 1);
        },
      },
    },
    received.shipping!,
  );
  services.reviews = await startSubgraph(
    t,
    REVIEWS,
    {
      Query: { reviews: () => REVIEW_ROWS },
      Review: {
        product: (r: { sku: string }) => ({ sku: r.sku, name: bySku(r.sku)?.name ?? 'unknown' }),
        author: (r: { author: string }) => ({ id: r.author, name: USERS[r.author]!.name }),
      },
      Product: {
        __resolveReference: (r: { sku: string }) => ({ sku: r.sku, name: bySku(r.sku)?.name ?? 'unknown' }),
        reviews: (p: { sku: string }) => REVIEW_ROWS.filter((r) => r.sku === p.sku),
      },
    },
    received.reviews!,
  );
  services.accounts = await startSubgraph(
    t,
    ACCOUNTS,
    { Query: { me: () => USERS.u1 }, User: { __resolveReference: (r: { id: string }) => USERS[r.id] ?? null } },
    received.accounts!,
  );
  const reset = () => {
    for (const list of Object.values(received)) list.length = 0;
  };
  return { services, received, reset };
}

const descriptorsOf = (services: Record<string, DemoService>) =>
  Object.entries(services).map(([name, service]) => ({ name, kind: 'federation' as const, url: service.url }));

const count = (list: Received[]) => list.length;

test('several keys, a compound nested key, @requires with a nested selection, resolvable: false: one _entities call per subgraph per hop', async (t) => {
  const { services, received, reset } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services));
  reset();
  // products (catalog) → shippingCost (shipping, by `id org { id }` with dimensions { weight } in the representation).
  const first = await gw.query('{ products { sku name cost: shippingCost(express: true) } }');
  assert.equal(first.body.errors, undefined, JSON.stringify(first.body.errors));
  assert.deepEqual(first.body.data, {
    products: [
      { sku: 's1', name: 'Lamp', cost: 4.5 },
      { sku: 's2', name: 'Desk', cost: 90 },
      { sku: 's3', name: 'Chair', cost: 21 },
    ],
  });
  assert.deepEqual([count(received.catalog!), count(received.shipping!)], [1, 1]);
  const representations = Object.values(received.shipping![0]!.variables ?? {}).flat();
  assert.deepEqual(representations, [
    { __typename: 'Product', id: '1', org: { id: 'o1' }, dimensions: { weight: 1.5 } },
    { __typename: 'Product', id: '2', org: { id: 'o1' }, dimensions: { weight: 30 } },
    { __typename: 'Product', id: '1', org: { id: 'o2' }, dimensions: { weight: 7 } },
  ]);

  // From reviews (which knows Product by sku only): catalog by sku first (the key reviews can give), then shipping by
  // the nested key and the required weight, which catalog answers. Representations are sent once each: s1 is reviewed twice.
  reset();
  const second = await gw.query('{ reviews { id product { sku shippingCost } } }');
  assert.deepEqual(second.body.data?.reviews.slice(0, 3), [
    { id: 'r1', product: { sku: 's1', shippingCost: 1.5 } },
    { id: 'r2', product: { sku: 's2', shippingCost: 30 } },
    { id: 'r3', product: { sku: 's1', shippingCost: 1.5 } },
  ]);
  assert.deepEqual([count(received.reviews!), count(received.catalog!), count(received.shipping!)], [1, 1, 1]);
  assert.deepEqual(Object.values(received.catalog![0]!.variables ?? {}).flat(), [
    { __typename: 'Product', sku: 's1' },
    { __typename: 'Product', sku: 's2' },
    { __typename: 'Product', sku: 'broken' },
  ]);
  assert.equal(Object.values(received.shipping![0]!.variables ?? {}).flat().length, 2);
});

test('an error of one _entities item is located at that item; the other items resolve (docs/reliability.md row 45)', async (t) => {
  const { services } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services), { mode: 'development' });
  const response = await gw.query('{ reviews { id product { sku dimensions { size } } } }');
  assert.deepEqual(response.body.data?.reviews, [
    { id: 'r1', product: { sku: 's1', dimensions: { size: 2 } } },
    { id: 'r2', product: { sku: 's2', dimensions: { size: 40 } } },
    { id: 'r3', product: { sku: 's1', dimensions: { size: 2 } } },
    { id: 'r4', product: null },
  ]);
  assert.equal(response.body.errors?.length, 1);
  // At the item's own path (where Apollo Gateway and Router put it): its non-null dimensions bubble to it, with no error of their own.
  assert.deepEqual(response.body.errors?.[0]?.path, ['reviews', 3, 'product']);
  assert.match(response.body.errors?.[0]?.message ?? '', /catalog cannot read product "broken"/);
  // The same products reached through two paths in one hop share one _entities field (each representation sent
  // once): the item's error is located at each place it is joined to.
  const twice = await gw.query('{ a: reviews { product { sku dimensions { size } } } b: reviews { product { sku dimensions { size } } } }');
  assert.deepEqual(twice.body.data?.a, twice.body.data?.b);
  assert.deepEqual(twice.body.data?.a.map((r: { product: { sku: string } | null }) => r.product?.sku ?? null), ['s1', 's2', 's1', null]);
  assert.deepEqual(twice.body.errors?.map((e) => e.path), [['a', 3, 'product'], ['b', 3, 'product']]);
  // The whole call fails (catalog is gone): every item's fields are null, each with the error at its own path.
  await services.catalog!.close();
  const gone = await gw.query('{ reviews { id product { sku dimensions { size } } } }');
  assert.deepEqual(gone.body.data?.reviews.map((r: { product: unknown }) => r.product), [null, null, null, null]);
  assert.deepEqual(gone.body.errors?.map((e) => e.path), [0, 1, 2, 3].map((i) => ['reviews', i, 'product', 'dimensions']));
  assert.ok(gone.body.errors?.every((e) => e.extensions?.subgraph === 'catalog'));
});

test('@shareable: the subgraph already asked answers; else the first by name. @provides: no call for a provided field', async (t) => {
  const { services, received, reset } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services));
  reset();
  // reviews serves Product.name itself (@shareable) and User.name where Review.author @provides it.
  const fromReviews = await gw.query('{ reviews { product { name } author { name } } }');
  assert.equal(fromReviews.body.data?.reviews[1].product.name, 'Desk');
  assert.equal(fromReviews.body.data?.reviews[1].author.name, 'Alan');
  assert.deepEqual([count(received.reviews!), count(received.catalog!), count(received.accounts!)], [1, 0, 0]);
  // From shipping, name is served by catalog and reviews: catalog comes first by name (and it can be given shipping's key).
  reset();
  const fromShipping = await gw.query('{ cheapest { name } }');
  assert.deepEqual(fromShipping.body.data, { cheapest: { name: 'Lamp' } });
  assert.deepEqual([count(received.shipping!), count(received.catalog!), count(received.reviews!)], [1, 1, 0]);
  // An author's email is not provided: accounts is asked, with the key reviews gives.
  reset();
  const email = await gw.query('{ reviews { author { name email } } }');
  assert.equal(email.body.data?.reviews[0].author.email, 'ada@example.com');
  assert.deepEqual(Object.values(received.accounts![0]!.variables ?? {}).flat(), [
    { __typename: 'User', id: 'u1' },
    { __typename: 'User', id: 'u2' },
  ]);
});

test('mixed graph: a plain GraphQL source extends the federation Product, and its Order joins the federation Product back', async (t) => {
  const { services } = await startSubgraphs(t);
  const orders = await startGraphqlUpstream(
    t,
    /* GraphQL */ `
      type Product { sku: String! orderCount: Int! }
      type Order { id: ID! product: Product! }
      type Query { orders: [Order!]! productsBySkus(skus: [String!]!): [Product]! }
    `,
    {
      Query: {
        orders: () => [{ id: 'o-1', product: { sku: 's2' } }],
        productsBySkus: (_: unknown, { skus }: { skus: string[] }) => skus.map((sku) => ({ sku, orderCount: sku === 's2' ? 1 : 0 })),
      },
    },
  );
  const gw = await startGateway(t, [
    ...descriptorsOf(services),
    {
      name: 'orders',
      kind: 'graphql',
      url: orders.url,
      entities: { Product: { key: 'sku', batch: { field: 'productsBySkus', argument: 'skus' } } },
      transforms: { hide: ['Query.productsBySkus'] },
    },
  ]);
  const response = await gw.query('{ products { sku orderCount } orders { id product { name shippingCost } } }');
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, {
    products: [
      { sku: 's1', orderCount: 0 },
      { sku: 's2', orderCount: 1 },
      { sku: 's3', orderCount: 0 },
    ],
    orders: [{ id: 'o-1', product: { name: 'Desk', shippingCost: 30 } }],
  });
});

test('policy: a per-subgraph rate limit applies to a federation subgraph\'s _entities calls, counted in the metrics under its name', async (t) => {
  const { services, received, reset } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services), { rateLimit: { subgraphs: { shipping: { limit: 1, window: '1m' } } }, telemetry: { metrics: { enabled: true } } });
  reset();
  const ok = await gw.query('{ products { sku shippingCost } }');
  assert.equal(ok.body.data?.products[0].shippingCost, 1.5);
  const limited = await gw.query('{ products { sku shippingCost } }');
  assert.equal(limited.status, 200);
  assert.equal(limited.body.data, null);
  assert.equal(limited.body.errors?.[0]?.extensions?.code, 'SUBGRAPH_RATE_LIMITED');
  assert.deepEqual(limited.body.errors?.[0]?.path, ['products', 0, 'shippingCost']);
  assert.equal(count(received.shipping!), 1, 'the refused call was not made');
  const metrics = await (await fetch(new URL('/metrics', gw.url))).text();
  assert.equal(total(metrics, 'tessera_upstream_calls_total', { subgraph: 'shipping', code: 'OK' }), 1);
  assert.equal(total(metrics, 'tessera_upstream_calls_total', { subgraph: 'catalog', code: 'OK' }), 2);
  assert.equal(total(metrics, 'tessera_requests_total', { route: 'planned' }), 2);
});

test('a federation descriptor names its wrong key; a composition error names the subgraph, field and directive, also in tessera check', async (t) => {
  await assert.rejects(
    createGateway({ gateway: { logging: { level: 'silent' } }, descriptors: [{ name: 'a', kind: 'federation', url: 'http://127.0.0.1:1', entities: {} } as never] }),
    /entities: a federation subgraph declares its entities with @key in its SDL/,
  );
  const dir = tempProject(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\nlogging: { level: silent }\n',
    'subgraphs/catalog.subgraph.yaml': 'name: catalog\nkind: federation\nurl: http://127.0.0.1:1\nsdl: ./catalog.graphql\n',
    'subgraphs/catalog.graphql': CATALOG,
    'subgraphs/shipping.subgraph.yaml': 'name: shipping\nkind: federation\nurl: http://127.0.0.1:1\nsdl: ./shipping.graphql\n',
    'subgraphs/shipping.graphql': SHIPPING.replace('dimensions { weight }', 'dimensions { volume }'),
  });
  const ran = await runTessera(['check', '--config', `${dir}/gateway.yaml`]);
  assert.notEqual(ran.code, 0);
  assert.match(ran.stderr + ran.stdout, /shipping\.subgraph\.yaml: federation composition: \[shipping\] On field "Product\.shippingCost", for @requires\(fields: "dimensions \{ volume \}"\)/);
});

test('aliases, fragments, variables and @include inside entity fetches; the same field twice with different arguments', async (t) => {
  const { services, received, reset } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services));
  reset();
  const query = /* GraphQL */ `
    query Costs($express: Boolean!, $withSize: Boolean!) {
      products {
        ...Cost
        slow: shippingCost
        fast: shippingCost(express: $express)
        __typename
      }
    }
    fragment Cost on Product {
      sku
      dimensions @include(if: $withSize) { size }
    }
  `;
  const response = await gw.query(query, { express: true, withSize: false });
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data?.products[1], { sku: 's2', slow: 30, fast: 90, __typename: 'Product' });
  assert.deepEqual([count(received.catalog!), count(received.shipping!)], [1, 1]);
  const withSize = await gw.query(query, { express: false, withSize: true });
  assert.deepEqual(withSize.body.data?.products[0], { sku: 's1', dimensions: { size: 2 }, slow: 1.5, fast: 1.5, __typename: 'Product' });
});

test('fetches the client leaves out with @skip/@include are not sent: entity fetches, what is under them, their key fetches, root calls', async (t) => {
  const { services, received, reset } = await startSubgraphs(t);
  const gw = await startGateway(t, descriptorsOf(services));
  const calls = () => ({ catalog: count(received.catalog!), shipping: count(received.shipping!), reviews: count(received.reviews!), accounts: count(received.accounts!) });
  /** The answer and the calls each subgraph received; `errors`: the errors expected (the review of a product catalog fails). */
  const asked = async (query: string, variables?: Record<string, unknown>, errors?: string[]) => {
    reset();
    const response = await gw.query(query, variables);
    assert.deepEqual(response.body.errors?.map((e) => e.path?.join('.')), errors, JSON.stringify(response.body.errors));
    return { data: response.body.data, calls: calls() };
  };

  // The only field of shipping's fetch, left out: shipping is not called; included, it is, and answers.
  const cost = 'query Q($on: Boolean!) { products { sku shippingCost @include(if: $on) } }';
  assert.deepEqual(await asked(cost, { on: false }), { data: { products: [{ sku: 's1' }, { sku: 's2' }, { sku: 's3' }] }, calls: { catalog: 1, shipping: 0, reviews: 0, accounts: 0 } });
  assert.deepEqual(await asked(cost, { on: true }), {
    data: { products: [{ sku: 's1', shippingCost: 1.5 }, { sku: 's2', shippingCost: 30 }, { sku: 's3', shippingCost: 7 }] },
    calls: { catalog: 1, shipping: 1, reviews: 0, accounts: 0 },
  });
  // @skip wins over @include; a variable's default counts when the request has none.
  assert.deepEqual((await asked('query Q($on: Boolean = true) { products { sku shippingCost @skip(if: $on) @include(if: true) } }')).calls.shipping, 0);
  assert.deepEqual((await asked('query Q($on: Boolean = true) { products { sku shippingCost @skip(if: $on) @include(if: true) } }', { on: false })).calls.shipping, 1);

  // Selected twice, once unconditionally: included, so the call is made.
  const twice = await asked('query Q($on: Boolean!) { products { sku shippingCost @include(if: $on) ... on Product { shippingCost } } }', { on: false });
  assert.deepEqual(twice.data, { products: [{ sku: 's1', shippingCost: 1.5 }, { sku: 's2', shippingCost: 30 }, { sku: 's3', shippingCost: 7 }] });
  assert.deepEqual(twice.calls, { catalog: 1, shipping: 1, reviews: 0, accounts: 0 });

  // A left-out field of another subgraph (reviews) whose subtree needs three more fetches (catalog for the key and
  // the weight shipping requires, shipping, accounts): none is sent.
  const nested = 'query Q($on: Boolean!) { products { sku reviews @include(if: $on) { stars author { email } product { shippingCost } } } }';
  assert.deepEqual(await asked(nested, { on: false }), { data: { products: [{ sku: 's1' }, { sku: 's2' }, { sku: 's3' }] }, calls: { catalog: 1, shipping: 0, reviews: 0, accounts: 0 } });
  const all = await asked(nested, { on: true });
  assert.deepEqual(all.data.products[0], {
    sku: 's1',
    reviews: [
      { stars: 5, author: { email: 'ada@example.com' }, product: { shippingCost: 1.5 } },
      { stars: 4, author: { email: 'alan@example.com' }, product: { shippingCost: 1.5 } },
    ],
  });
  assert.deepEqual(all.calls, { catalog: 2, shipping: 1, reviews: 1, accounts: 1 });

  // The fetch that only brings a left-out field its key and required weight (catalog, for shipping): not sent either.
  const keyed = 'query Q($on: Boolean!) { reviews { id product { sku shippingCost @include(if: $on) } } }';
  assert.deepEqual((await asked(keyed, { on: false })).calls, { catalog: 0, shipping: 0, reviews: 1, accounts: 0 });
  assert.deepEqual((await asked(keyed, { on: true }, ['reviews.3.product'])).calls, { catalog: 1, shipping: 1, reviews: 1, accounts: 0 });

  // A root call whose fields are all left out.
  const root = await asked('query Q($me: Boolean!) { products { sku } me @include(if: $me) { email } }', { me: false });
  assert.deepEqual(root.calls, { catalog: 1, shipping: 0, reviews: 0, accounts: 0 });
  assert.deepEqual((await asked('query Q($me: Boolean!) { products { sku } me @include(if: $me) { email } }', { me: true })).data.me, { email: 'ada@example.com' });
});

test('@override: the field is asked of the overriding subgraph only; @inaccessible: out of the unified graph, still a key', async (t) => {
  const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@override", "@inaccessible"])';
  const people = [
    { id: '1', internalId: 'i-1', name: 'ada' },
    { id: '2', internalId: 'i-2', name: 'alan' },
  ];
  const usersLog: Received[] = [];
  const profilesLog: Received[] = [];
  const users = await startSubgraph(
    t,
    `${link}
type Query { users: [User!]! }
type User @key(fields: "id") @key(fields: "internalId") { id: ID! internalId: ID! @inaccessible name: String }`,
    { Query: { users: () => people }, User: { __resolveReference: (r: { id: string }) => people.find((p) => p.id === r.id), name: () => 'stale name from users' } },
    usersLog,
  );
  const profiles = await startSubgraph(
    t,
    `${link}
type User @key(fields: "internalId") { internalId: ID! @inaccessible name: String @override(from: "users") bio: String }`,
    {
      User: {
        __resolveReference: (r: { internalId: string }) => ({ internalId: r.internalId }),
        name: (u: { internalId: string }) => people.find((p) => p.internalId === u.internalId)!.name.toUpperCase(),
        bio: (u: { internalId: string }) => `bio of ${u.internalId}`,
      },
    },
    profilesLog,
  );
  const gw = await startGateway(t, [
    { name: 'users', kind: 'federation', url: users.url },
    { name: 'profiles', kind: 'federation', url: profiles.url },
  ]);
  usersLog.length = 0;
  const response = await gw.query('{ users { id name bio } }');
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, {
    users: [
      { id: '1', name: 'ADA', bio: 'bio of i-1' },
      { id: '2', name: 'ALAN', bio: 'bio of i-2' },
    ],
  });
  assert.doesNotMatch(usersLog[0]!.query, /\bname\b/);
  assert.deepEqual(Object.values(profilesLog.at(-1)!.variables ?? {}).flat(), [
    { __typename: 'User', internalId: 'i-1' },
    { __typename: 'User', internalId: 'i-2' },
  ]);
  const hidden = await gw.query('{ users { internalId } }');
  assert.match(hidden.body.errors?.[0]?.message ?? '', /Cannot query field "internalId" on type "User"/);
});

test('Federation 1 subgraphs (no @link): `extend type` with @key and @external key fields', async (t) => {
  const productsLog: Received[] = [];
  const reviewsLog: Received[] = [];
  const products = await startSubgraph(
    t,
    `type Query { topProducts: [Product] }
type Product @key(fields: "upc") { upc: String! name: String }`,
    { Query: { topProducts: () => [{ upc: '1', name: 'Table' }, { upc: '2', name: 'Couch' }] }, Product: { __resolveReference: (r: { upc: string }) => ({ upc: r.upc, name: r.upc === '1' ? 'Table' : 'Couch' }) } },
    productsLog,
  );
  const reviews = await startSubgraph(
    t,
    `extend type Product @key(fields: "upc") { upc: String! @external stars: Int }`,
    { Product: { stars: (p: { upc: string }) => Number(p.upc) + 3 } },
    reviewsLog,
  );
  const gw = await startGateway(t, [
    { name: 'products', kind: 'federation', url: products.url },
    { name: 'reviews', kind: 'federation', url: reviews.url },
  ]);
  const response = await gw.query('{ topProducts { name stars } }');
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, { topProducts: [{ name: 'Table', stars: 4 }, { name: 'Couch', stars: 5 }] });
});

test('@authenticated and @requiresScopes become the gateway\'s authorization rules: a forbidden field is null with FORBIDDEN and never asked', async (t) => {
  const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@authenticated", "@requiresScopes"])';
  const log: Received[] = [];
  const accounts = await startSubgraph(
    t,
    `${link}
type Query { me: User @authenticated }
type User @key(fields: "id") { id: ID! name: String email: String @requiresScopes(scopes: [["pii"], ["admin"]]) }`,
    { Query: { me: () => USERS.u1 }, User: { __resolveReference: (r: { id: string }) => USERS[r.id] } },
    log,
  );
  const { sha256 } = await import('../kit/security.js');
  const gw = await startGateway(t, [{ name: 'accounts', kind: 'federation', url: accounts.url }], {
    security: { auth: { anonymous: true, apiKeys: { keys: [{ id: 'reader', sha256: sha256('reader-key'), scopes: [] }, { id: 'pii', sha256: sha256('pii-key'), scopes: ['pii'] }] } } },
  });
  log.length = 0;
  const anonymous = await gw.query('{ me { name } }');
  assert.equal(anonymous.body.data?.me ?? null, null);
  assert.equal(anonymous.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  assert.match(anonymous.body.errors?.[0]?.message ?? '', /Sign in to access Query\.me/);
  const reader = await gw.query('{ me { name email } }', undefined, { 'x-api-key': 'reader-key' });
  assert.deepEqual(reader.body.data, { me: { name: 'Ada', email: null } });
  assert.equal(reader.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.ok(log.every((call) => !/\bemail\b/.test(call.query)), 'email was never asked');
  const allowed = await gw.query('{ me { name email } }', undefined, { 'x-api-key': 'pii-key' });
  assert.deepEqual(allowed.body.data, { me: { name: 'Ada', email: 'ada@example.com' } });
});

test('@requires of a field that itself @requires (a chain over three subgraphs) is planned: one call each; an interface needing a second subgraph is planned too', async (t) => {
  const logs: Record<string, Received[]> = { a: [], b: [], c: [] };
  const a = await startSubgraph(
    t,
    `${LINK}
type Query { product: Product node: Node }
interface Node { id: ID! }
type Product implements Node @key(fields: "id") { id: ID! price: Int }`,
    {
      Query: { product: () => ({ id: 'p1', price: 10 }), node: () => ({ __typename: 'Product', id: 'p1', price: 10 }) },
      Product: { __resolveReference: (r: { id: string }) => ({ id: r.id, price: 10 }) },
    },
    logs.a!,
  );
  const b = await startSubgraph(
    t,
    `${LINK}
type Product @key(fields: "id") { id: ID! price: Int @external tax: Int @requires(fields: "price") }`,
    { Product: { __resolveReference: (r: unknown) => r, tax: (p: { price: number }) => p.price / 10 } },
    logs.b!,
  );
  const c = await startSubgraph(
    t,
    `${LINK}
type Product @key(fields: "id") { id: ID! tax: Int @external total: Int @requires(fields: "tax") }`,
    { Product: { __resolveReference: (r: unknown) => r, total: (p: { tax: number }) => 10 + p.tax } },
    logs.c!,
  );
  const gw = await startGateway(
    t,
    Object.entries({ a, b, c }).map(([name, service]) => ({ name, kind: 'federation' as const, url: service.url })),
    { mode: 'development' },
  );
  for (const log of Object.values(logs)) log.length = 0;
  const chained = await gw.query('{ product { id total } }');
  assert.deepEqual(chained.body, { data: { product: { id: 'p1', total: 11 } } });
  assert.equal(chained.headers.get('tessera-route'), 'planned');
  assert.deepEqual(Object.values(logs).map((log) => log.length), [1, 1, 1]);
  assert.deepEqual(Object.values(logs.c![0]!.variables ?? {}).flat(), [{ __typename: 'Product', id: 'p1', tax: 1 }]);
  const abstract = await gw.query('{ node { id ... on Product { total } } }');
  assert.deepEqual(abstract.body, { data: { node: { id: 'p1', total: 11 } } });
  // Planned per concrete type: a's answer says Product, so b and c join that object only.
  assert.equal(abstract.headers.get('tessera-route'), 'planned');
});
