/**
 * The router's routes: an operation that only touches one subgraph's own
 * schema is forwarded as it is (`direct`); one over several subgraphs is
 * planned, or stitched with the planner off. Each test asserts the route
 * taken (the `tessera-route` header of development mode) beside the answer.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSchema, parse } from 'graphql';
import { directRouteOf } from '../../src/execution/router.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';

const USERS = `type User { id: ID! name: String! } interface Node { id: ID! } type Query { users(ids: [ID!]!): [User]! me: User! }`;
const POSTS = `type Post { id: ID! title: String! author: User } type User { id: ID! posts: [Post!]! } type Query { posts: [Post!]! _usersByIds(ids: [ID!]!): [User]! } type Mutation { addPost(title: String!): Post! }`;

async function setup(t: TestContext, gateway: GatewayFileInput = { mode: 'development' }, options: Parameters<typeof startGateway>[3] = {}) {
  const seen: string[] = [];
  const users = await startGraphqlUpstream(t, USERS, {
    Query: { users: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id, name: `user ${id}` })), me: () => ({ id: 'u1', name: 'user u1' }) },
  });
  const posts = await startGraphqlUpstream(
    t,
    POSTS,
    {
      Query: {
        posts: () => [1, 2].map((n) => ({ id: `p${n}`, title: `post ${n}`, author: { id: `u${n}` } })),
        _usersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
      },
      User: { posts: (u: { id: string }) => [{ id: `p-${u.id}`, title: `by ${u.id}`, author: { id: u.id } }] },
      Mutation: { addPost: (_: unknown, { title }: { title: string }) => ({ id: 'p9', title, author: { id: 'u1' } }) },
    },
    { plugins: [{ onParams: ({ params }: { params: { query?: string } }) => void seen.push(params.query ?? '') }] },
  );
  const gw = await startGateway(t, [
    { name: 'users', kind: 'graphql', url: users.url, entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } } },
    { name: 'posts', kind: 'graphql', url: posts.url, entities: { User: { key: 'id', batch: { field: '_usersByIds', argument: 'ids' } } }, transforms: { hide: ['Query._usersByIds'] } },
  ], gateway, options);
  return { users, posts, gw, seen };
}

test('a single-subgraph query is forwarded as it is: one call, aliases and fragments intact', async (t) => {
  const { posts, users, gw, seen } = await setup(t);
  const before = { posts: posts.stats.requests, users: users.stats.requests };
  const query = 'query Q($x: Boolean!) { first: posts { id ...F t2: title @include(if: $x) __typename } } fragment F on Post { title }';
  const res = await gw.query(query, { x: true });
  assert.equal(res.headers.get('tessera-route'), 'direct');
  assert.deepEqual(res.body, {
    data: { first: [{ id: 'p1', title: 'post 1', t2: 'post 1', __typename: 'Post' }, { id: 'p2', title: 'post 2', t2: 'post 2', __typename: 'Post' }] },
  });
  assert.equal(posts.stats.requests - before.posts, 1);
  assert.equal(users.stats.requests - before.users, 0);
  const sent = seen.at(-1)!;
  assert.match(sent, /fragment F on Post/, 'the document is sent as the client wrote it, not rewritten by the stitcher');
  assert.match(sent, /t2: title @include\(if: \$x\)/);
});

test('a query that needs two subgraphs is planned; with the planner off it is stitched, with the same answer', async (t) => {
  const planned = await setup(t);
  const stitched = await setup(t, { mode: 'development', execution: { planner: false } });
  const query = '{ posts { id author { id name posts { id } } } }';
  const before = { posts: planned.posts.stats.requests, users: planned.users.stats.requests };
  const res = await planned.gw.query(query);
  assert.equal(res.headers.get('tessera-route'), 'planned');
  assert.equal(res.body.errors, undefined);
  assert.deepEqual(res.body.data.posts[0], { id: 'p1', author: { id: 'u1', name: 'user u1', posts: [{ id: 'p-u1' }] } });
  assert.deepEqual({ posts: planned.posts.stats.requests - before.posts, users: planned.users.stats.requests - before.users }, { posts: 1, users: 1 }, 'posts (which also has User.posts), then users for the names: one call each');
  const other = await stitched.gw.query(query);
  assert.equal(other.headers.get('tessera-route'), 'stitched');
  assert.deepEqual(other.body, res.body);
});

test('mutations go direct too, and a dead subgraph gives the same located error as stitching', async (t) => {
  const { users, gw } = await setup(t);
  const mutation = await gw.query('mutation { addPost(title: "hello") { id title } }');
  assert.equal(mutation.headers.get('tessera-route'), 'direct');
  assert.deepEqual(mutation.body, { data: { addPost: { id: 'p9', title: 'hello' } } });
  await users.close();
  const res = await gw.query('{ me { id } posts { id } }');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('tessera-route'), 'planned');
  // `me` is non-null, so data is null
  assert.equal(res.body.data, null);
  const direct = await gw.query('{ viewer: users(ids: ["u1"]) { id } }');
  assert.equal(direct.status, 200);
  assert.equal(direct.headers.get('tessera-route'), 'direct');
  assert.deepEqual(direct.body.data, null, 'users(...) is non-null, so its null bubbles to data');
  assert.deepEqual(direct.body.errors![0]!.path, ['viewer']);
  assert.equal(direct.body.errors![0]!.extensions?.code, 'SOURCE_UNAVAILABLE');
  assert.equal(direct.body.errors![0]!.extensions?.subgraph, 'users');
});

test('the planner: one subgraph for everything, or none', () => {
  const users = buildSchema(USERS);
  const posts = buildSchema(POSTS);
  const gateway = buildSchema(`type User { id: ID! name: String! posts: [Post!]! } type Post { id: ID! title: String! author: User }
    type Query { users(ids: [ID!]!): [User]! me: User! posts: [Post!]! } type Mutation { addPost(title: String!): Post! } type Subscription { tick: Int }`);
  const routes = [
    { name: 'users', schema: users, executor: () => ({}), trusted: false },
    { name: 'posts', schema: posts, executor: () => ({}), trusted: false },
  ];
  const plan = (q: string) => directRouteOf(parse(q), gateway, routes)?.name;
  assert.equal(plan('{ me { id name } }'), 'users');
  assert.equal(plan('{ posts { author { id posts { title } } } }'), 'posts');
  assert.equal(plan('{ posts { author { name } } }'), undefined, 'User.name lives in users');
  assert.equal(plan('{ me { id } posts { id } }'), undefined);
  assert.equal(plan('{ __schema { types { name } } }'), undefined, 'introspection is answered by the gateway');
  assert.equal(plan('subscription { tick }'), undefined);
  assert.equal(plan('{ ...F } fragment F on Query { me { id } }'), undefined, 'root fragments are stitched');
  assert.equal(plan('{ me { ... on User { name } } }'), 'users');
});

test('the route is a header in development mode only, and in every error log line', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  const production = await setup(t, { mode: 'production' }, { logger });
  const res = await production.gw.query('{ posts { id } }');
  assert.deepEqual(res.body, { data: { posts: [{ id: 'p1' }, { id: 'p2' }] } });
  assert.equal(res.headers.get('tessera-route'), null, 'production answers carry no route header');
  await production.users.close();
  const planned = await production.gw.query('{ posts { id author { name } } }');
  assert.equal(planned.body.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  assert.deepEqual(planned.body.errors?.[0]?.path, ['posts', 0, 'author', 'name']);
  const logged = lines.find((l) => l.code === 'SOURCE_UNAVAILABLE');
  assert.ok(logged, `a warn line for the dead subgraph; got ${JSON.stringify(lines)}`);
  assert.equal(logged.route, 'planned');
  assert.equal(logged.subgraph, 'users');
});
