/**
 * What authorization sends upstream when it takes a field out of a hostile
 * document: the fragments and variables only that field used go with it (the
 * upstream would otherwise refuse the whole document and the allowed fields
 * with it), and @skip/@include are decided on the variables as the GraphQL
 * spec coerces them, so a field is never forwarded on a reading of the
 * variables the upstream does not share.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSchema, parse, validate } from 'graphql';
import { startGateway } from '../kit/index.js';
import { recordingUpstream, sha256, type RecordingUpstream } from '../kit/security.js';

const ACCOUNTS = `
  type Query { me: User }
  type User { id: ID! name: String! publicProfile: Profile profile: Profile email: String }
  type Profile { bio: String avatar(size: Int): String }
`;
const ORDERS = 'type Query { orders: [Order!] } type Order { id: ID! }';

const KEY = 'key-ops-0123456789abcdef';
const ops = { 'x-api-key': KEY };

async function setup(t: TestContext) {
  const profile = { bio: 'Ada writes', avatar: ({ size }: { size?: number }) => `ada-${size ?? 0}.png` };
  const accounts = await recordingUpstream(t, ACCOUNTS, {
    Query: { me: () => ({ id: 'u1', name: 'Ada', email: 'ada@example.com', publicProfile: profile, profile }) },
  });
  const orders = await recordingUpstream(t, ORDERS, { Query: { orders: () => [{ id: 'o1' }] } });
  const gw = await startGateway(
    t,
    [
      { name: 'accounts', kind: 'graphql', url: accounts.url, auth: { 'User.profile': ['pii'], 'User.email': ['pii'] } },
      { name: 'orders', kind: 'graphql', url: orders.url },
    ],
    { security: { auth: { anonymous: true, apiKeys: { keys: [{ id: 'ops', sha256: sha256(KEY), scopes: ['orders:read'] }] } } } },
  );
  accounts.reset();
  orders.reset();
  return { gw, accounts, orders };
}

/** Every document the upstream received is one its own schema accepts (what graphql-js validation says of it). */
function assertValidDocuments(upstream: RecordingUpstream, sdl: string): void {
  const schema = buildSchema(sdl);
  assert.ok(upstream.queries.length > 0, 'the upstream was called');
  for (const query of upstream.queries) {
    assert.deepEqual(validate(schema, parse(query)).map((e) => e.message), [], `the upstream received an invalid document: ${query}`);
  }
}

// A forbidden field whose selection is the only user of two fragments (one spread from the other) and of two
// variables, beside an allowed field using a third fragment and a third variable.
const ORPHANING = `
  query Me($full: Boolean!, $size: Int, $keep: Boolean!) {
    me {
      name
      publicProfile { ...Bio @include(if: $keep) }
      profile { ...Bio ...Private avatar(size: $size) @include(if: $full) }
    }
  }
  fragment Bio on Profile { bio }
  fragment Private on Profile { avatar(size: $size) ...Deeper }
  fragment Deeper on Profile { bio @skip(if: $full) }
`;

test('a removed field takes the fragments and variables only it used with it: the upstream gets a valid document and the allowed fields answer', async (t) => {
  const { gw, accounts, orders } = await setup(t);
  const res = await gw.query(ORPHANING, { full: true, size: 64, keep: true }, ops);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.data, { me: { name: 'Ada', publicProfile: { bio: 'Ada writes' }, profile: null } });
  assert.deepEqual(
    res.body.errors?.map((e) => [e.extensions?.code, e.path]),
    [['FORBIDDEN', ['me', 'profile']]],
    res.text,
  );
  assertValidDocuments(accounts, ACCOUNTS);
  const sent = accounts.queries.join('\n');
  assert.doesNotMatch(sent, /\bprofile\b|Private|Deeper|\$full|\$size/, sent);
  assert.match(sent, /fragment Bio on Profile/, 'a fragment an allowed field still spreads stays');
  assert.deepEqual(accounts.variables, [{ keep: true }], 'the values of removed variables are not sent either');

  // Across two subgraphs (planned or stitched rather than forwarded as it is): the same holds for each upstream.
  accounts.reset();
  const both = await gw.query(ORPHANING.replace('me {', 'orders { id } me {'), { full: false, size: 64, keep: true }, ops);
  assert.equal(both.status, 200, both.text);
  assert.deepEqual(both.body.data, { orders: [{ id: 'o1' }], me: { name: 'Ada', publicProfile: { bio: 'Ada writes' }, profile: null } });
  assert.deepEqual(both.body.errors?.map((e) => [e.extensions?.code, e.path]), [['FORBIDDEN', ['me', 'profile']]], both.text);
  assertValidDocuments(accounts, ACCOUNTS);
  assertValidDocuments(orders, ORDERS);
  assert.doesNotMatch(accounts.queries.join('\n'), /\bprofile\b/);
});

test('@skip/@include are decided on spec-coerced variables: an explicit null never lets a forbidden field through, and is the request error graphql-js gives', async (t) => {
  const { gw, accounts } = await setup(t);
  // Non-null with a default: an explicit null is a variable error (spec 6.4.1, CoerceVariableValues), not the default.
  const nonNull = await gw.query('query ($s: Boolean! = true) { me { name email @skip(if: $s) } }', { s: null }, ops);
  assert.equal(nonNull.status, 400, nonNull.text);
  assert.deepEqual(nonNull.body, { errors: [{ message: 'Variable "$s" of non-null type "Boolean!" must not be null.', locations: [{ line: 1, column: 8 }] }] });
  // Nullable with a default: an explicit null is null, and null is no value for `if: Boolean!`.
  const nullable = await gw.query('query ($s: Boolean = true) { me { name email @skip(if: $s) } }', { s: null }, ops);
  assert.equal(nullable.status, 400, nullable.text);
  assert.deepEqual(nullable.body, { errors: [{ message: 'Argument "if" of non-null type "Boolean!" must not be null.', locations: [{ line: 1, column: 56 }] }] });
  assert.equal(accounts.stats.requests, 0, `no upstream call; received: ${accounts.queries.join(' | ')}`);

  // The default applies only when the variable is left out: the field is skipped there as upstream, and nothing is refused.
  const defaulted = await gw.query('query ($s: Boolean = true) { me { name email @skip(if: $s) } }', {}, ops);
  assert.deepEqual(defaulted.body, { data: { me: { name: 'Ada' } } });
  const included = await gw.query('query ($s: Boolean = true) { me { name email @skip(if: $s) } }', { s: false }, ops);
  assert.deepEqual(included.body.data, { me: { name: 'Ada', email: null } });
  assert.equal(included.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.doesNotMatch(accounts.queries.at(-1)!, /\bemail\b/, 'an included forbidden field is not forwarded');
});
