/**
 * Document limits, each tripping with its own code and costing no subgraph a
 * call: docs/reliability.md rows 11 (deep nesting), 12 (aliases), 13 (huge
 * documents, refused before validation), 14 (directives), 15 (fragment
 * cycles and fan-out), 16 (list sizes and cost), 17 (suggestions masked),
 * 18 (introspection in production, introspection depth), plus root fields.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { gql, startGateway } from '../kit/index.js';
import { recordingUpstream } from '../kit/security.js';

const SDL = `
  type Query { hello: String node: Node users(first: Int, limit: Int): [User!]! status(is: Status): String }
  type Node { id: ID! name: String child: Node }
  type User { id: ID! name: String posts(first: Int): [Post!]! }
  type Post { id: ID! title: String }
  enum Status { ACTIVE RETIRED }
`;
const node = (depth: number): unknown => ({ id: `n${depth}`, name: 'n', child: depth > 0 ? node(depth - 1) : null });
const resolvers = {
  Query: {
    hello: () => 'hello',
    node: () => node(40),
    users: (_: unknown, { first }: { first?: number }) => Array.from({ length: Math.min(first ?? 2, 5) }, (_v, i) => ({ id: `u${i}`, name: `user ${i}`, posts: [] })),
    status: () => 'ok',
  },
};

async function setup(t: TestContext, gateway: GatewayFileInput = {}) {
  const upstream = await recordingUpstream(t, SDL, resolvers);
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], gateway);
  upstream.reset();
  return { gw, upstream };
}

function assertRefused(res: Awaited<ReturnType<typeof gql>>, code: string | RegExp): void {
  assert.equal(res.status, 400, res.text.slice(0, 300));
  const found = res.body.errors?.map((e) => String(e.extensions?.code)) ?? [];
  assert.ok(found.some((c) => (typeof code === 'string' ? c === code : code.test(c))), `expected ${code}, got ${found.join(', ')}: ${res.text.slice(0, 300)}`);
  assert.doesNotMatch(res.text, /RangeError|Maximum call stack|\bat \w+ \(/, 'no stack overflow, no stack trace');
}

const nested = (levels: number, leaf = 'name'): string => `{ node { ${'child { '.repeat(levels)}${leaf}${' }'.repeat(levels)} } }`;

test('row 11: nesting 10 000 deep is refused before the parser recurses (400, no stack overflow); depth over 12 gets MAX_DEPTH', async (t) => {
  const { gw, upstream } = await setup(t);
  assertRefused(await gw.query(`{${'a{'.repeat(10_000)}b${'}'.repeat(10_000)}}`), 'MAX_DEPTH');
  assertRefused(await gw.query(`{ users(first: ${'['.repeat(10_000)}1${']'.repeat(10_000)}) { id } }`), 'MAX_DEPTH');
  // node (1) + 11 children (12) + name (13)
  assertRefused(await gw.query(nested(11)), 'MAX_DEPTH');
  assert.equal(upstream.stats.requests, 0);
  const ok = await gw.query(nested(10));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(upstream.stats.requests, 1);
});

test('row 12: more aliases than the limit get MAX_ALIASES; 10 000 aliases of an expensive field never reach the subgraph', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { big: { limits: { maxTokens: 200_000 } } } });
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_v, i) => `a${i}: users(first: 5) { id }`).join(' ')} }`;
  assertRefused(await gw.query(aliases(31)), 'MAX_ALIASES');
  assertRefused(await gql(gw.url.replace(/\/graphql$/, '/big/graphql'), aliases(10_000)), 'MAX_ALIASES');
  assert.equal(upstream.stats.requests, 0);
  assert.equal((await gw.query('{ a: hello b: hello }')).status, 200);
});

test('row 13: a 1 MB document or a million tokens is refused by the token limit before validation', async (t) => {
  const { gw, upstream } = await setup(t);
  // Unknown fields: validation would say so; the refusal says MAX_TOKENS, so validation never ran.
  const megabyte = `{ ${'nope '.repeat(200_000)}}`;
  assert.ok(megabyte.length >= 1_000_000);
  assertRefused(await gw.query(megabyte), 'MAX_TOKENS');
  assertRefused(await gw.query(`{ ${'x,'.repeat(450_000)} }`), 'MAX_TOKENS');
  assert.equal(upstream.stats.requests, 0);
});

test('row 14: a directive repeated 10 000 times, or just over the limit, gets 400', async (t) => {
  const { gw, upstream } = await setup(t);
  assertRefused(await gw.query(`{ hello ${'@include(if: true) '.repeat(10_000)}}`), /MAX_TOKENS|MAX_DIRECTIVES/);
  assertRefused(await gw.query(`{ hello ${'@include(if: true) '.repeat(51)}}`), 'MAX_DIRECTIVES');
  assert.equal(upstream.stats.requests, 0);
  assert.equal((await gw.query(`{ hello ${'@include(if: true) '.repeat(3)}}`)).status, 400, 'repeating a directive is invalid anyway (UniqueDirectivesPerLocation)');
  assert.equal((await gw.query(`{ ${Array.from({ length: 10 }, (_v, i) => `h${i}: hello @skip(if: false)`).join(' ')} }`)).status, 200);
});

test('row 15: a fragment cycle is a validation error; exponential fragment fan-out is answered, refused, in bounded work', async (t) => {
  const { gw, upstream } = await setup(t);
  const cycle = await gw.query('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }');
  assert.equal(cycle.status, 400);
  assert.match(cycle.body.errors![0]!.message, /Cannot spread fragment/);
  // Each fragment spreads the next one twice: 2^40 expansions if anything walked it naively.
  const levels = 40;
  const fragments = Array.from({ length: levels }, (_v, i) => `fragment F${i} on Node { name ...F${i + 1} ...F${i + 1} }`).join(' ');
  const fanOut = await gw.query(`{ node { ...F0 } } ${fragments} fragment F${levels} on Node { id }`);
  assertRefused(fanOut, 'COST_ESTIMATED_TOO_EXPENSIVE');
  assert.equal(upstream.stats.requests, 0);
});

test('row 16: first: 1000000 is over the cost limit (400, no subgraph call); variables count; measure mode only logs', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { measured: { limits: { cost: { mode: 'measure' } } } } });
  assertRefused(await gw.query('{ users(first: 1000000) { id posts(first: 10) { title } } }'), 'COST_ESTIMATED_TOO_EXPENSIVE');
  const byVariable = 'query ($n: Int) { users(first: $n) { id name } }';
  assertRefused(await gw.query(byVariable, { n: 1_000_000 }), 'COST_ESTIMATED_TOO_EXPENSIVE');
  // Nested lists multiply: 100 users × 100 posts each (the default list size is 10 when no argument says).
  assertRefused(await gw.query('{ users(first: 100) { posts(first: 100) { id title } } }'), 'COST_ESTIMATED_TOO_EXPENSIVE');
  assert.equal(upstream.stats.requests, 0);
  const cheap = await gw.query(byVariable, { n: 3 });
  assert.equal(cheap.status, 200);
  assert.equal(cheap.body.data.users.length, 3);
  const measured = await gql(gw.url.replace(/\/graphql$/, '/measured/graphql'), byVariable, { n: 1_000_000 });
  assert.equal(measured.status, 200, 'measure mode answers');
});

test('row 17: "Did you mean" suggestions are masked in production and shown in development', async (t) => {
  const { gw } = await setup(t);
  for (const query of ['{ helo }', '{ users(frist: 1) { id } }']) {
    const res = await gw.query(query);
    assert.equal(res.status, 400);
    assert.doesNotMatch(res.text, /Did you mean/);
    assert.match(res.body.errors![0]!.message, /Cannot query field "helo"|Unknown argument "frist"/);
  }
  const enumTypo = await gw.query('query ($s: Status) { status(is: $s) }', { s: 'ACTIV' });
  assert.equal(enumTypo.status, 400);
  assert.doesNotMatch(enumTypo.text, /Did you mean/);
  const { gw: dev } = await setup(t, { mode: 'development' });
  assert.match((await dev.query('{ helo }')).body.errors![0]!.message, /Did you mean "hello"\?/);
});

test('row 18: __schema and __type are refused in production; where introspection is allowed its depth is capped', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { tools: { introspection: true } } });
  for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { name } }']) {
    const res = await gw.query(query);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.errors![0]!.message, /introspection/i);
  }
  const tools = gw.url.replace(/\/graphql$/, '/tools/graphql');
  const allowed = await gql(tools, '{ __type(name: "User") { name fields { name } } }');
  assert.equal(allowed.status, 200);
  assert.equal(allowed.body.data.__type.name, 'User');
  const deep = `{ __schema { types { fields { type ${'{ ofType '.repeat(20)}{ name }${' }'.repeat(20)} } } } }`;
  assertRefused(await gql(tools, deep), 'MAX_DEPTH');
  // GraphiQL's own introspection query fits.
  const { getIntrospectionQuery } = await import('graphql');
  assert.equal((await gql(tools, getIntrospectionQuery())).status, 200);
  assert.equal(upstream.stats.requests, 0);
});

test('more root fields than the limit get MAX_ROOT_FIELDS; limit values are exposed only in development', async (t) => {
  const { gw, upstream } = await setup(t);
  const roots = (n: number) => `{ ${Array.from({ length: n }, (_v, i) => `r${i}: hello`).join(' ')} }`;
  const res = await gw.query(roots(21));
  assertRefused(res, 'MAX_ROOT_FIELDS');
  assert.equal(res.body.errors![0]!.message, 'The query selects too many top-level fields.');
  assert.equal(upstream.stats.requests, 0);
  assert.equal((await gw.query(roots(20))).status, 200);
  const { gw: dev } = await setup(t, { mode: 'development' });
  assert.match((await dev.query(roots(21))).body.errors![0]!.message, /Root fields limit of 20 exceeded, found 21/);
});
