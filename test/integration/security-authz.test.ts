/**
 * Authorization from descriptors' `auth:` rules: forbidden fields inside a
 * larger query come back null with located errors while the rest runs (and
 * are never asked of the subgraph), non-null fields null their parent, the
 * whole operation is refused when a channel says so (403, or 401 without
 * credentials), and rules naming nothing stop start-up.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { gql, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { recordingUpstream, sha256 } from '../kit/security.js';

const ACCOUNTS = `
  type Query { me: User users(ids: [ID!]!): [User]! }
  type User { id: ID! name: String! email: String phone: String! }
`;
const users: Record<string, { id: string; name: string; email: string; phone: string }> = {
  u1: { id: 'u1', name: 'Ada', email: 'ada@example.com', phone: '+100' },
  u2: { id: 'u2', name: 'Bob', email: 'bob@example.com', phone: '+200' },
};
const ORDERS = `
  type Query { orders: [Order!] }
  type Order { id: ID! total: Int customer: User invoice: Invoice }
  type Invoice { number: String! }
  type User { id: ID! }
`;
const orders = [
  { id: 'o1', total: 10, customer: { id: 'u1' }, invoice: { number: 'I-1' } },
  { id: 'o2', total: 20, customer: { id: 'u2' }, invoice: { number: 'I-2' } },
];

const KEYS = {
  ops: 'key-ops-0123456789abcdef',
  admin: 'key-admin-0123456789abcdef',
};

async function setup(t: TestContext, gateway: Record<string, unknown> = {}) {
  const accounts = await recordingUpstream(t, ACCOUNTS, {
    Query: { me: () => users.u1, users: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => users[id] ?? null) },
  });
  const ordersService = await recordingUpstream(t, ORDERS, { Query: { orders: () => orders } });
  const gw = await startGateway(
    t,
    [
      {
        name: 'accounts',
        kind: 'graphql',
        url: accounts.url,
        entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } },
        auth: { 'User.email': ['pii'], 'User.phone': ['pii'] },
      },
      {
        name: 'orders',
        kind: 'graphql',
        url: ordersService.url,
        entities: { User: { key: 'id', resolvable: false } },
        auth: { 'Query.orders': ['orders:read'], 'Order.total': [['finance'], ['admin']], Invoice: ['finance'] },
      },
    ],
    {
      security: {
        auth: {
          anonymous: true,
          apiKeys: {
            keys: [
              { id: 'ops', sha256: sha256(KEYS.ops), scopes: ['orders:read'] },
              { id: 'admin', sha256: sha256(KEYS.admin), scopes: ['orders:read', 'pii', 'admin'] },
            ],
          },
        },
      },
      ...gateway,
    },
  );
  accounts.reset();
  ordersService.reset();
  return { gw, accounts, orders: ordersService };
}

const as = (key: keyof typeof KEYS) => ({ 'x-api-key': KEYS[key] });

test('forbidden fields inside a larger query: null with located FORBIDDEN errors, the rest resolves, and no subgraph is asked for them', async (t) => {
  const { gw, accounts, orders: ordersService } = await setup(t);
  const res = await gw.query('{ orders { id total customer { name email } } me { name } }', undefined, as('ops'));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.data, {
    orders: [
      { id: 'o1', total: null, customer: { name: 'Ada', email: null } },
      { id: 'o2', total: null, customer: { name: 'Bob', email: null } },
    ],
    me: { name: 'Ada' },
  });
  const errors = res.body.errors!.map((e) => ({ code: e.extensions?.code, path: e.path, message: e.message }));
  assert.deepEqual(
    errors.map((e) => [e.code, e.path]).sort(),
    [
      ['FORBIDDEN', ['orders', 0, 'total']],
      ['FORBIDDEN', ['orders', 0, 'customer', 'email']],
      ['FORBIDDEN', ['orders', 1, 'total']],
      ['FORBIDDEN', ['orders', 1, 'customer', 'email']],
    ].sort(),
    JSON.stringify(errors),
  );
  assert.match(errors[0]!.message, /Order\.total|User\.email/);
  assert.ok(res.body.errors!.every((e) => Array.isArray((e as { locations?: unknown }).locations)), 'errors are located in the document');
  assert.ok(accounts.queries.length > 0 && ordersService.queries.length > 0);
  assert.ok(accounts.queries.every((q) => !/\bemail\b/.test(q)), `accounts was asked for email: ${accounts.queries.join(' | ')}`);
  assert.ok(ordersService.queries.every((q) => !/\btotal\b/.test(q)), `orders was asked for total: ${ordersService.queries.join(' | ')}`);

  const admin = await gw.query('{ orders { id total customer { email } } }', undefined, as('admin'));
  assert.equal(admin.body.errors, undefined, admin.text);
  assert.deepEqual(admin.body.data.orders[1], { id: 'o2', total: 20, customer: { email: 'bob@example.com' } });
});

test('a forbidden non-null field nulls its nearest nullable parent; aliases and fragments are followed; type rules guard every field returning the type', async (t) => {
  const { gw } = await setup(t);
  const res = await gw.query(
    'query { me { name phone } first: orders { ...O } } fragment O on Order { id bill: invoice { number } customer { mail: email } }',
    undefined,
    as('ops'),
  );
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.data.me, null, 'User.phone is String!, so me is null');
  assert.deepEqual(res.body.data.first[0], { id: 'o1', bill: null, customer: { mail: null } });
  const paths = res.body.errors!.map((e) => JSON.stringify(e.path));
  for (const path of [['me'], ['first', 0, 'bill'], ['first', 1, 'customer', 'mail']]) assert.ok(paths.includes(JSON.stringify(path)), `${JSON.stringify(path)} in ${paths}`);
  assert.match(res.body.errors!.find((e) => JSON.stringify(e.path) === '["me"]')!.message, /User\.phone/);
});

test('@skip/@include are honoured: a forbidden field the request does not select is no error', async (t) => {
  const { gw } = await setup(t);
  const query = 'query ($private: Boolean!) { me { name email @include(if: $private) } }';
  const skipped = await gw.query(query, { private: false }, as('ops'));
  assert.deepEqual(skipped.body, { data: { me: { name: 'Ada' } } });
  const asked = await gw.query(query, { private: true }, as('ops'));
  assert.deepEqual(asked.body.data, { me: { name: 'Ada', email: null } });
  assert.equal(asked.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('without credentials: fields needing scopes get UNAUTHENTICATED; when nothing is left the operation gets 401 with WWW-Authenticate', async (t) => {
  const { gw, accounts, orders: ordersService } = await setup(t);
  const partial = await gw.query('{ me { name email } }');
  assert.equal(partial.status, 200);
  assert.deepEqual(partial.body.data, { me: { name: 'Ada', email: null } });
  assert.equal(partial.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  // A one-subgraph query is forwarded as it is (direct route): still without the field.
  assert.equal(accounts.queries.length, 1);
  assert.doesNotMatch(accounts.queries[0]!, /email/);
  const nothing = await gw.query('{ orders { id } }');
  assert.equal(nothing.status, 401, nothing.text);
  assert.match(nothing.headers.get('www-authenticate') ?? '', /ApiKey realm="tessera"/);
  assert.equal(nothing.body.data, undefined);
  assert.equal(ordersService.stats.requests, 0);
});

test('onForbidden: reject refuses the whole operation with 403 and calls no subgraph', async (t) => {
  const { gw, accounts, orders: ordersService } = await setup(t, { channels: { strict: { onForbidden: 'reject' } } });
  const strict = gw.url.replace(/\/graphql$/, '/strict/graphql');
  const res = await gql(strict, '{ me { name email } orders { id } }', undefined, as('ops'));
  assert.equal(res.status, 403, res.text);
  assert.equal(res.body.data, undefined);
  assert.deepEqual(res.body.errors!.map((e) => e.extensions?.code), ['FORBIDDEN']);
  assert.equal(accounts.stats.requests + ordersService.stats.requests, 0);
  const allowed = await gql(strict, '{ me { name } orders { id } }', undefined, as('ops'));
  assert.equal(allowed.status, 200);
  assert.equal(allowed.body.errors, undefined);
});

test('an auth rule naming a type or field the subgraph does not have stops start-up, naming the descriptor', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { a: String }', { Query: { a: () => 'a' } });
  await assert.rejects(
    startGateway(undefined, [{ name: 'x', kind: 'graphql', url: upstream.url, auth: { 'Query.b': ['s'], Nope: [] } }]),
    (error: Error) => /auth\."Query\.b": subgraph "x" has no field Query\.b/.test(error.message) && /auth\."Nope"/.test(error.message),
  );
});

test('rules follow renames: a prefixed subgraph is guarded under its unified names', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { secret: String open: String }', { Query: { secret: () => 's', open: () => 'o' } });
  const gw = await startGateway(t, [{ name: 'x', kind: 'graphql', url: upstream.url, transforms: { prefix: 'Vault' }, auth: { 'Query.secret': ['vault'] } }]);
  const res = await gw.query('{ vaultOpen vaultSecret }');
  assert.deepEqual(res.body.data, { vaultOpen: 'o', vaultSecret: null });
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
});
