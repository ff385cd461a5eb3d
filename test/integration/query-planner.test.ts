/**
 * The query planner (execution/planner.ts, execution/run-plan.ts) against
 * stitching: every query here is sent to two gateways over the same real
 * upstreams, one planning (the default) and one with `execution.planner:
 * false`, and the two answers must be the same JSON. The planner's own
 * promises are checked beside: upstream calls per request, the order of
 * mutations, and errors at the client's paths.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSchema, parse, print } from 'graphql';
import { planGraph, planOperation, Unplannable, type PlanSubgraph } from '../../src/execution/planner.js';
import { entityEntry } from '../../src/compose/index.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import { startGateway, startGraphqlUpstream, type DemoService } from '../kit/index.js';

const USERS = /* GraphQL */ `
  enum Role { ADMIN MEMBER }
  type Address { city: String! }
  type User { id: ID! name: String! role: Role! address: Address }
  type Query { users(ids: [ID!]!): [User]! me: User }
  type Mutation { rename(id: ID!, name: String!): User! }
`;
const POSTS = /* GraphQL */ `
  interface Node { id: ID! }
  type Post implements Node { id: ID! title: String! author: User tags: [String!]! product: Product }
  type Comment implements Node { id: ID! text: String! }
  union SearchResult = Post | Comment
  type User { id: ID! posts(first: Int): [Post!]! }
  type Product { sku: ID! }
  type Query { posts: [Post!]! node(id: ID!): Node search(text: String!): [SearchResult!]! _usersByIds(ids: [ID!]!): [User]! }
  type Mutation { addPost(title: String!): Post! }
`;
const CATALOG = /* GraphQL */ `
  type Product { sku: ID! name: String! price: Float! weight: Float! }
  type Query { products(skus: [ID!]!): [Product]! product(sku: ID!): Product topProducts: [Product!]! }
`;
const SHIPPING = /* GraphQL */ `
  input ProductKey { sku: ID! price: Float! weight: Float! }
  type Product { sku: ID! price: Float! weight: Float! shippingCost: Float! }
  type Query { _productsByKeys(keys: [ProductKey!]!): [Product]! }
`;

const PRODUCTS: Record<string, { name: string; price: number; weight: number }> = {
  s1: { name: 'Lamp', price: 20, weight: 2 },
  s2: { name: 'Desk', price: 150, weight: 30 },
};

interface World {
  log: string[];
  /** Users whose name resolver fails. */
  broken: Set<string>;
  /** From now on catalog's product(sku: "s2") fails. */
  breakProducts(): void;
  users: DemoService;
  posts: DemoService;
  catalog: DemoService;
  shipping: DemoService;
}

async function upstreams(t: TestContext): Promise<World> {
  const log: string[] = [];
  const broken = new Set<string>();
  const names: Record<string, string> = { u1: 'Ada', u2: 'Grace', u3: 'Barbara' };
  const user = (id: string) => (names[id] ? { id, role: id === 'u1' ? 'ADMIN' : 'MEMBER', address: id === 'u2' ? null : { city: `city of ${id}` } } : null);
  const users = await startGraphqlUpstream(t, USERS, {
    Query: { users: (_: unknown, { ids }: { ids: string[] }) => ids.map(user), me: () => user('u1') },
    User: {
      name: (u: { id: string }) => {
        if (broken.has(u.id)) throw new Error(`name of ${u.id} is not available`);
        return names[u.id];
      },
    },
    Mutation: {
      rename: (_: unknown, { id, name }: { id: string; name: string }) => {
        log.push(`rename ${id}`);
        names[id] = name;
        return user(id);
      },
    },
  });
  let nextPost = 10;
  const post = (n: number) => ({ id: `p${n}`, title: `post ${n}`, author: n === 4 ? null : { id: `u${(n % 3) + 1}` }, tags: [`t${n}`], product: n === 2 ? null : { sku: n % 2 ? 's1' : 's2' } });
  const posts = await startGraphqlUpstream(t, POSTS, {
    Query: {
      posts: () => [1, 2, 3, 4].map(post),
      node: (_: unknown, { id }: { id: string }) => (id.startsWith('p') ? { ...post(Number(id.slice(1))), __typename: 'Post' } : { id, text: `comment ${id}`, __typename: 'Comment' }),
      search: () => [{ ...post(1), __typename: 'Post' }, { id: 'c1', text: 'first!', __typename: 'Comment' }],
      _usersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
    },
    User: { posts: (u: { id: string }, { first }: { first?: number }) => [1, 2, 3].map(post).filter((p) => p.author?.id === u.id).slice(0, first ?? 10) },
    Mutation: {
      addPost: (_: unknown, { title }: { title: string }) => {
        log.push(`addPost ${title}`);
        return { ...post(nextPost++), title };
      },
    },
  });
  let brokenProducts = false;
  const catalog = await startGraphqlUpstream(t, CATALOG, {
    Query: {
      products: (_: unknown, { skus }: { skus: string[] }) => skus.map((sku) => (PRODUCTS[sku] ? { sku, ...PRODUCTS[sku] } : null)),
      product: (_: unknown, { sku }: { sku: string }) => {
        if (sku === 's2' && brokenProducts) throw new Error('s2 is being restocked');
        return PRODUCTS[sku] ? { sku, ...PRODUCTS[sku] } : null;
      },
      topProducts: () => Object.entries(PRODUCTS).map(([sku, p]) => ({ sku, ...p })),
    },
  });
  const shipping = await startGraphqlUpstream(t, SHIPPING, {
    Query: {
      _productsByKeys: (_: unknown, { keys }: { keys: Array<{ sku: string; price: number; weight: number }> }) =>
        keys.map((k) => ({ ...k, shippingCost: Math.round(k.weight * 1.5 + k.price / 100) })),
    },
  });
  return { log, broken, breakProducts: () => void (brokenProducts = true), users, posts, catalog, shipping };
}

function descriptors(world: World, options: { oneKeyProducts?: boolean } = {}): DescriptorInput[] {
  const product = options.oneKeyProducts ? { key: 'sku', field: 'product', argument: 'sku' } : { key: 'sku', batch: { field: 'products', argument: 'skus' } };
  return [
    { name: 'users', kind: 'graphql' as const, url: world.users.url, entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } } },
    {
      name: 'posts',
      kind: 'graphql' as const,
      url: world.posts.url,
      entities: { User: { key: 'id', batch: { field: '_usersByIds', argument: 'ids' } }, Product: { key: 'sku', resolvable: false } },
      transforms: { hide: ['Query._usersByIds'] },
    },
    { name: 'catalog', kind: 'graphql' as const, url: world.catalog.url, entities: { Product: product } },
    {
      name: 'shipping',
      kind: 'graphql' as const,
      url: world.shipping.url,
      entities: { Product: { key: ['sku', 'price', 'weight'], batch: { field: '_productsByKeys', argument: 'keys' } } },
      transforms: { hide: ['Query._productsByKeys', 'Product.price', 'Product.weight'] },
    },
  ];
}

async function setup(t: TestContext) {
  const world = await upstreams(t);
  // Development mode: every answer names its route (tessera-route).
  const planned = await startGateway(t, descriptors(world), { mode: 'development' });
  const stitched = await startGateway(t, descriptors(world), { mode: 'development', execution: { planner: false } });
  const calls = () => ({ users: world.users.stats.requests, posts: world.posts.stats.requests, catalog: world.catalog.stats.requests, shipping: world.shipping.stats.requests });
  /** The planned gateway's answer and route, after checking it equals the stitched one; with its upstream calls. */
  const both = async (query: string, variables?: Record<string, unknown>) => {
    const before = calls();
    const mine = await planned.query(query, variables);
    const after = calls();
    const theirs = await stitched.query(query, variables);
    assert.deepEqual(mine.body, theirs.body, `planned and stitched answers differ for ${query}`);
    assert.equal(mine.status, theirs.status);
    assert.equal(theirs.headers.get('tessera-route'), 'stitched');
    const used = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]).filter(([, v]) => v !== 0));
    return { body: mine.body, calls: used, route: mine.headers.get('tessera-route') };
  };
  return { world, planned, stitched, both };
}

test('entity joins: one call per subgraph per level, the same answer as stitching', async (t) => {
  const { both } = await setup(t);
  const res = await both('{ posts { id title author { id name role posts(first: 1) { id } } } }');
  assert.equal(res.body.errors, undefined);
  assert.deepEqual(res.body.data.posts[0], { id: 'p1', title: 'post 1', author: { id: 'u2', name: 'Grace', role: 'MEMBER', posts: [{ id: 'p1' }] } });
  assert.equal(res.body.data.posts[3].author, null, 'a null reference stays null and asks nobody');
  // posts serves author.id and author.posts itself; users is asked once, for every author's name and role
  assert.deepEqual(res.calls, { posts: 1, users: 1 });
  assert.equal(res.route, 'planned');
});

test('a key the current subgraph lacks is fetched first: posts → catalog → shipping', async (t) => {
  const { both } = await setup(t);
  const res = await both('{ posts { id product { sku name shippingCost } } topProducts { name shippingCost } }');
  assert.equal(res.body.errors, undefined);
  assert.deepEqual(res.body.data.posts[0], { id: 'p1', product: { sku: 's1', name: 'Lamp', shippingCost: 3 } });
  assert.equal(res.body.data.posts[1].product, null);
  assert.deepEqual(res.body.data.topProducts, [
    { name: 'Lamp', shippingCost: 3 },
    { name: 'Desk', shippingCost: 47 },
  ]);
  // wave 0: posts and catalog (topProducts); wave 1: catalog (posts' products) and shipping (topProducts); wave 2: shipping
  assert.deepEqual(res.calls, { posts: 1, catalog: 2, shipping: 2 });
  assert.equal(res.route, 'planned');
});

test('aliases, fragments, variables, @include and @skip are kept', async (t) => {
  const { both } = await setup(t);
  const query = `query Q($on: Boolean!, $off: Boolean = false, $first: Int) {
    a: posts { ...P author { n: name ... @include(if: $on) { role where: address { city } } skipped: name @skip(if: $on) } }
    b: posts @include(if: $off) { id }
  }
  fragment P on Post { id t: title author { ps: posts(first: $first) { title } } }`;
  for (const on of [true, false]) {
    const res = await both(query, { on, first: 1 });
    assert.equal(res.body.errors, undefined);
    const author = res.body.data.a[0].author;
    assert.equal(author.n, 'Grace');
    assert.equal('role' in author, on);
    assert.equal('skipped' in author, !on);
    assert.equal('b' in res.body.data, false);
    assert.equal(res.route, 'planned');
  }
});

test('interfaces and unions are planned, served by one subgraph or needing a second one', async (t) => {
  const { both } = await setup(t);
  const planned = await both('{ search(text: "x") { __typename ... on Post { id tags } ... on Comment { text } } me { name } }');
  assert.deepEqual(planned.body.data.search, [{ __typename: 'Post', id: 'p1', tags: ['t1'] }, { __typename: 'Comment', text: 'first!' }]);
  assert.deepEqual(planned.calls, { posts: 1, users: 1 });
  assert.equal(planned.route, 'planned');
  const joined = await both('{ node(id: "p3") { id ... on Post { author { name } } } }');
  assert.deepEqual(joined.body.data, { node: { id: 'p3', author: { name: 'Ada' } } });
  assert.equal(joined.route, 'planned', 'Node.author needs users under an interface: planned for the Post objects');
});

test('an upstream error lands at the client path; non-null bubbling as stitching does', async (t) => {
  const { world, both } = await setup(t);
  world.broken.add('u3');
  // p2's author is u3, whose name fails: name is non-null, so author (nullable) becomes null
  const res = await both('{ posts { id author { id name } } }');
  assert.deepEqual(res.body.data.posts[1], { id: 'p2', author: null });
  assert.deepEqual(res.body.data.posts[0], { id: 'p1', author: { id: 'u2', name: 'Grace' } });
  const errors = res.body.errors ?? [];
  assert.equal(errors.length, 1);
  assert.deepEqual(errors[0]!.path, ['posts', 1, 'author', 'name']);
  assert.deepEqual(errors[0]!.extensions, { code: 'SUBGRAPH_ERROR', subgraph: 'users' });
  assert.equal(res.route, 'planned');
});

test('a dead subgraph in a join: partial data, the error at every path it was to fill', async (t) => {
  const { world, planned, stitched } = await setup(t);
  await world.users.close();
  const query = '{ posts { id author { id address { city } } } }';
  const [mine, theirs] = await Promise.all([planned.query(query), stitched.query(query)]);
  assert.equal(mine.status, 200);
  assert.deepEqual([mine.headers.get('tessera-route'), theirs.headers.get('tessera-route')], ['planned', 'stitched']);
  assert.deepEqual(mine.body.data, theirs.body.data);
  assert.deepEqual(mine.body.data.posts[0], { id: 'p1', author: { id: 'u2', address: null } });
  const errors = mine.body.errors ?? [];
  const paths = errors.map((e) => e.path?.join('.'));
  assert.deepEqual(paths, ['posts.0.author.address', 'posts.1.author.address', 'posts.2.author.address']);
  for (const error of errors) assert.deepEqual(error.extensions, { code: 'SOURCE_UNAVAILABLE', subgraph: 'users' });
});

test('a mutation over several subgraphs runs its root fields in order, each with its joins', async (t) => {
  const { world, planned, stitched } = await setup(t);
  const mutation = 'mutation { a: addPost(title: "x") { id author { name } } r: rename(id: "u2", name: "Grace H") { name } b: addPost(title: "y") { title author { name } } }';
  const mine = await planned.query(mutation);
  assert.equal(mine.body.errors, undefined);
  assert.equal(mine.headers.get('tessera-route'), 'planned');
  assert.deepEqual(world.log.splice(0), ['addPost x', 'rename u2', 'addPost y']);
  // p10's author is u2: read before the rename
  assert.deepEqual(mine.body.data.a, { id: 'p10', author: { name: 'Grace' } });
  assert.deepEqual(mine.body.data.r, { name: 'Grace H' });
  const theirs = await stitched.query(mutation);
  assert.deepEqual(world.log.splice(0), ['addPost x', 'rename u2', 'addPost y']);
  assert.deepEqual(Object.keys(theirs.body.data), Object.keys(mine.body.data));
});

test('variables are checked before any subgraph is called', async (t) => {
  const { both } = await setup(t);
  const res = await both('query ($first: Int) { posts { author { name posts(first: $first) { id } } } }', { first: 'many' });
  assert.equal(res.body.data, undefined);
  assert.match(res.body.errors?.[0]?.message ?? '', /\$first/);
  assert.deepEqual(res.calls, {});
  assert.equal(res.route, 'planned');
});

test('the plan: calls per wave and the documents sent', () => {
  const subgraph = (name: string, sdl: string, entities: Record<string, [string[], string, string]>): PlanSubgraph => {
    const schema = buildSchema(sdl);
    const entries = Object.entries(entities).map(([type, [keys, field, argument]]) => [type, entityEntry(schema, keys, field, argument)!] as const);
    return { name, executor: () => ({}), visible: schema, entities: new Map(entries) };
  };
  const graph = planGraph([
    subgraph('users', USERS, { User: [['id'], 'users', 'ids'] }),
    subgraph('posts', POSTS, { User: [['id'], '_usersByIds', 'ids'] }),
    subgraph('catalog', CATALOG, { Product: [['sku'], 'products', 'skus'] }),
  ]);
  const unified = buildSchema(/* GraphQL */ `
    enum Role { ADMIN MEMBER }
    type Address { city: String! }
    type User { id: ID! name: String! role: Role! address: Address posts(first: Int): [Post!]! }
    interface Node { id: ID! }
    type Post implements Node { id: ID! title: String! author: User tags: [String!]! product: Product }
    type Comment implements Node { id: ID! text: String! }
    union SearchResult = Post | Comment
    type Product { sku: ID! name: String! price: Float! weight: Float! }
    type Query { users(ids: [ID!]!): [User]! me: User posts: [Post!]! node(id: ID!): Node search(text: String!): [SearchResult!]! products(skus: [ID!]!): [Product]! topProducts: [Product!]! }
    type Mutation { rename(id: ID!, name: String!): User! addPost(title: String!): Post! }
    type Subscription { tick: Int }
  `);
  const plan = (query: string) => {
    const document = parse(query);
    const operation = document.definitions[0] as never;
    return planOperation(document, operation, unified, graph);
  };
  const shape = (query: string) =>
    plan(query).steps.map((step) => step.waves.map((wave) => wave.map((call) => `${call.subgraph.name}: ${print(call.documentFor([])).replace(/\s+/g, ' ')}`)));
  assert.deepEqual(shape('{ posts { title author { name } product { name } } }'), [
    [
      ['posts: { posts { title author { __key_id: id } product { __key_sku: sku } } }'],
      [
        'users: query ($__k0: [ID!]!) { __e0: users(ids: $__k0) { name } }',
        'catalog: query ($__k0: [ID!]!) { __e0: products(skus: $__k0) { name } }',
      ],
    ],
  ]);
  assert.deepEqual(shape('query ($n: Int) { me { name posts(first: $n) { title } } }'), [
    [['users: { me { name __key_id: id } }'], ['posts: query ($__k0: [ID!]!, $n: Int) { __e0: _usersByIds(ids: $__k0) { posts(first: $n) { title } } }']],
  ]);
  assert.equal(plan('mutation { addPost(title: "a") { id } rename(id: "u1", name: "b") { name } }').steps.length, 2);
  assert.throws(() => plan('subscription { tick }'), Unplannable);
  // A subscription of a subgraph that is not a federation subgraph: stitched, with the reason.
  const ticking = planGraph([subgraph('ticks', 'type Query { a: Int } type Subscription { tick: Int }', {})]);
  assert.throws(() => planOperation(parse('subscription { tick }'), parse('subscription { tick }').definitions[0] as never, unified, ticking), {
    message: 'Subscription.tick: subscriptions are planned over federation subgraphs only',
  });
  // Under an interface, a field of another subgraph: one fetch per concrete type that needs it.
  assert.equal(plan('{ node(id: "p1") { ... on Post { author { name } } } }').steps[0]!.waves.length, 2);
  assert.throws(() => plan('{ __schema { types { name } } }'), Unplannable);
  // A client's alias with the planner's prefix: the planner's own take another one in this document.
  assert.deepEqual(shape('{ posts { __key_id: title author { name } } }'), [
    [['posts: { posts { __key_id: title author { __key1_id: id } } }'], ['users: query ($__k0: [ID!]!) { __e0: users(ids: $__k0) { name } }']],
  ]);
  // So does a client's variable with the prefix of the planner's key lists.
  assert.deepEqual(shape('query ($__k0: Int) { me { name posts(first: $__k0) { title } } }'), [
    [['users: { me { name __key_id: id } }'], ['posts: query ($__k1_0: [ID!]!, $__k0: Int) { __e0: _usersByIds(ids: $__k1_0) { posts(first: $__k0) { title } } }']],
  ]);
});

test('the plan: an executable directive on a field goes to the call that answers it, as written; elsewhere declined with the reason', () => {
  const MARK = 'directive @mark(tone: String, if: Boolean) on FIELD | INLINE_FRAGMENT';
  const subgraph = (name: string, sdl: string, entities: Record<string, [string[], string, string]>): PlanSubgraph => {
    const schema = buildSchema(sdl);
    const entries = Object.entries(entities).map(([type, [keys, field, argument]]) => [type, entityEntry(schema, keys, field, argument)!] as const);
    return { name, executor: () => ({}), visible: schema, entities: new Map(entries) };
  };
  // catalog does not declare @mark.
  const graph = planGraph([
    subgraph('users', `${USERS} ${MARK}`, { User: [['id'], 'users', 'ids'] }),
    subgraph('posts', `${POSTS} ${MARK}`, { User: [['id'], '_usersByIds', 'ids'] }),
    subgraph('catalog', CATALOG, { Product: [['sku'], 'products', 'skus'] }),
  ]);
  const unified = buildSchema(/* GraphQL */ `
    ${MARK}
    type User { id: ID! name: String! posts(first: Int): [Post!]! }
    type Post { id: ID! title: String! author: User product: Product }
    type Product { sku: ID! name: String! }
    type Query { me: User posts: [Post!]! }
  `);
  const plan = (query: string) => {
    const document = parse(query);
    return planOperation(document, document.definitions[0] as never, unified, graph);
  };
  const shape = (query: string) => plan(query).steps[0]!.waves.map((wave) => wave.map((call) => `${call.subgraph.name}: ${print(call.documentFor([])).replace(/\s+/g, ' ')}`));
  // On a field of an entity fetch too; a variable used only in a directive is declared in the call that uses it.
  assert.deepEqual(shape('query ($t: String) { posts { title @mark author { name @mark(tone: $t) } } }'), [
    ['posts: { posts { title @mark author { __key_id: id } } }'],
    ['users: query ($__k0: [ID!]!, $t: String) { __e0: users(ids: $__k0) { name @mark(tone: $t) } }'],
  ]);
  // Its `if:` is no @include: the fetch is always needed.
  assert.equal(plan('query ($x: Boolean!) { posts { author { name @mark(if: $x) } } }').steps[0]!.waves[1]![0]!.fetches[0]!.neededWhen, undefined);
  assert.deepEqual(plan('query ($x: Boolean!) { posts { author { name @include(if: $x) } } }').steps[0]!.waves[1]![0]!.fetches[0]!.neededWhen, [[{ variable: 'x', skip: false, fallback: undefined }]]);
  assert.throws(() => plan('{ posts { product { name @mark } } }'), { message: 'directive @mark on Product.name: subgraph "catalog", which would answer the field, does not declare it' });
  assert.throws(() => plan('{ posts @mark { title author { name } } }'), {
    message: 'directive @mark on Query.posts: fields under it come from other calls ("users"), and the planner forwards a directive only on a field one call answers whole',
  });
  assert.throws(() => plan('{ posts { ... on Post @mark { title } } }'), { message: 'directive @mark on an inline fragment: the planner forwards a directive other than @skip/@include only on a field' });
  assert.throws(() => plan('{ posts { title @defer } }'), { message: "directive @defer: not an executable directive of the gateway's schema" });
});

test('a batch field that answers the wrong number of entities: the fields it was to fill are null with SOURCE_BAD_RESPONSE', async (t) => {
  const world = await upstreams(t);
  // A users service that drops the first key: its answers can no longer be matched to the keys by position.
  const short = await startGraphqlUpstream(t, USERS, {
    Query: { users: (_: unknown, { ids }: { ids: string[] }) => ids.slice(1).map((id) => ({ id, role: 'MEMBER' })) },
    User: { name: (u: { id: string }) => `name of ${u.id}` },
  });
  const planned = await startGateway(t, descriptors({ ...world, users: short }), { mode: 'development' });
  const res = await planned.query('{ posts { id author { id name } } }');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('tessera-route'), 'planned');
  // name is non-null: each author with an unmatched answer becomes null; posts keep their own fields
  assert.deepEqual(res.body.data?.posts[0], { id: 'p1', author: null });
  assert.deepEqual(res.body.data?.posts[3], { id: 'p4', author: null });
  const errors = res.body.errors ?? [];
  assert.deepEqual(errors.map((e) => e.path?.join('.')), ['posts.0.author.name', 'posts.1.author.name', 'posts.2.author.name']);
  for (const error of errors) {
    assert.equal(error.extensions?.code, 'SOURCE_BAD_RESPONSE');
    assert.match(error.message, /users answered 2 entities for 3 keys/);
  }
});

test('an entity resolved one key at a time: one call per level all the same, one aliased field per key', async (t) => {
  const world = await upstreams(t);
  const planned = await startGateway(t, descriptors(world, { oneKeyProducts: true }), { mode: 'development' });
  const stitched = await startGateway(t, descriptors(world, { oneKeyProducts: true }), { mode: 'development', execution: { planner: false } });
  const query = '{ posts { id product { sku name shippingCost } } }';
  const before = world.catalog.stats.requests;
  const mine = await planned.query(query);
  assert.equal(world.catalog.stats.requests - before, 1, 'two products, one request');
  assert.equal(mine.headers.get('tessera-route'), 'planned');
  const theirs = await stitched.query(query);
  assert.equal(theirs.headers.get('tessera-route'), 'stitched');
  assert.deepEqual(mine.body, theirs.body);
  assert.deepEqual(mine.body.data?.posts[2], { id: 'p3', product: { sku: 's1', name: 'Lamp', shippingCost: 3 } });
  world.breakProducts();
  const failing = await planned.query(query);
  // s2's lookup fails: its name (non-null) nulls each product with that key; s1's products are whole
  assert.deepEqual(failing.body.data?.posts.map((p: { product: unknown }) => p.product), [
    { sku: 's1', name: 'Lamp', shippingCost: 3 },
    null,
    { sku: 's1', name: 'Lamp', shippingCost: 3 },
    null,
  ]);
  assert.deepEqual(failing.body.errors?.map((e) => e.path?.join('.')), ['posts.3.product.name']);
  assert.equal(failing.body.errors?.[0]?.extensions?.code, 'SUBGRAPH_ERROR');
});

test('with the response cache on, planned answers are the same and a repeat costs no upstream call', async (t) => {
  const world = await upstreams(t);
  // The cache rewrites documents (`__responseCacheTypeName: __typename`, `__responseCacheId: id`): the planner takes those too.
  const lifetimes: Record<string, Record<string, string>> = { users: { User: '60s' }, posts: { Post: '60s' }, catalog: { Product: '60s' }, shipping: { Product: '60s' } };
  const cached = descriptors(world).map((d) => ({ ...d, cache: lifetimes[d.name] }));
  const planned = await startGateway(t, cached, { mode: 'development', cache: { debugHeader: true } });
  const stitched = await startGateway(t, descriptors(world), { execution: { planner: false } });
  const query = '{ posts { id title author { name role } product { name shippingCost } } }';
  const expected = (await stitched.query(query)).body;
  const calls = () => world.users.stats.requests + world.posts.stats.requests + world.catalog.stats.requests + world.shipping.stats.requests;
  const first = await planned.query(query);
  assert.deepEqual(first.body, expected);
  assert.equal(first.headers.get('tessera-route'), 'planned');
  const before = calls();
  const second = await planned.query(query);
  assert.deepEqual(second.body, expected);
  assert.equal(calls() - before, 0);
  assert.match(second.headers.get('x-tessera-cache') ?? '', /HIT/);
});
