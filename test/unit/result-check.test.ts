/**
 * The compiled result check (plugins/result-check.ts) must answer exactly as
 * graphql-js's execute does over the same data: same values, same errors
 * (message, locations, path), same order. Each case runs both and compares
 * the JSON a client would receive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSchema, GraphQLError, parse } from 'graphql';
import type { ExecutionResult } from '@graphql-tools/utils';
import { checkingSchema, executedCheck, ResultChecker } from '../../src/plugins/result-check.js';

const schema = checkingSchema(
  buildSchema(/* GraphQL */ `
    scalar JSON
    enum Status { ACTIVE RETIRED }
    interface Node { id: ID! }
    type User implements Node { id: ID! name: String! age: Int status: Status tags: [String!] friends: [User!]! best: User meta: JSON }
    type Bot implements Node { id: ID! version: Float! }
    union Actor = User | Bot
    type Query { me: User viewer: User! nodes: [Node] actors: [Actor!]! count: Int! ratio: Float flag: Boolean }
  `),
);

const checker = new ResultChecker(schema);

function both(query: string, result: ExecutionResult, variableValues?: Record<string, unknown>) {
  const document = parse(query);
  const args = { document, variableValues };
  // Each check gets its own copy of the data; errors are GraphQLErrors, which structuredClone would not keep.
  const copy = (): ExecutionResult => ({ ...result, data: structuredClone(result.data) });
  const compiled = JSON.parse(JSON.stringify(checker.check(copy(), args)));
  const executed = JSON.parse(JSON.stringify(executedCheck(copy(), schema, args)));
  assert.deepEqual(compiled, executed, `compiled and executed checks differ for ${query}`);
  return compiled as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: unknown[]; locations?: unknown[] }> };
}

const ada = { id: 'u1', name: 'Ada', age: 36, status: 'ACTIVE', tags: ['math'], friends: [], best: null, meta: { any: ['thing'] } };

test('values pass through in the order selected; key fields and unselected fields are dropped', () => {
  const out = both('{ me { name id ...F k: age } count } fragment F on User { tags status meta }', {
    data: { count: 3, me: { ...ada, __key_id: 'u1', extra: true } },
  });
  assert.deepEqual(Object.keys(out.data!.me as object), ['name', 'id', 'tags', 'status', 'meta', 'k']);
});

test('wrong types, nulls for non-null fields and bubbling', () => {
  both('{ me { name age } count }', { data: { count: 1, me: { name: 'Ada', age: 'old' } } });
  both('{ me { name age } count }', { data: { count: 1.5, me: { name: null, age: 2 } } });
  both('{ viewer { name friends { name } } ratio }', { data: { ratio: 'x', viewer: { name: 'A', friends: [{ name: 'B' }, { name: null }, { name: 'C' }] } } });
  both('{ me { tags status } flag }', { data: { flag: 'yes', me: { tags: ['a', null, 'b'], status: 'UNKNOWN' } } });
  both('{ me { tags friends { id } } }', { data: { me: { tags: 'not a list', friends: { id: 1 } } } });
  both('{ viewer { id } }', { data: { viewer: null } });
  both('{ me { best { best { name } } } }', { data: { me: { best: { best: { name: 7 } } } } });
});

test('interfaces and unions by __typename, with the errors graphql-js gives', () => {
  const out = both('{ nodes { id __typename ... on User { name } ... on Bot { version } } actors { ... on Bot { id } } }', {
    data: { nodes: [{ __typename: 'User', ...ada }, { __typename: 'Bot', id: 'b1', version: 2 }, null], actors: [{ __typename: 'Bot', id: 'b2' }] },
  });
  assert.equal(out.errors, undefined);
  both('{ nodes { id } }', { data: { nodes: [{ id: 'x' }, { __typename: 'Robot', id: 'y' }, { __typename: 'Status', id: 'z' }] } });
  both('{ actors { __typename } }', { data: { actors: [{ __typename: 'Node' }] } });
});

test('upstream errors are raised where their value is missing; the others are passed on', () => {
  const located = new GraphQLError('users is down', { path: ['me', 'best', 'name'], extensions: { code: 'SOURCE_UNAVAILABLE' } });
  const elsewhere = new GraphQLError('noted', { path: ['viewer', 'name'] });
  const unlocated = new GraphQLError('no path');
  const out = both('{ me { best { name } } viewer { name } }', {
    data: { me: { best: { name: null } }, viewer: { name: 'Ada' } },
    errors: [located, elsewhere, unlocated],
  });
  assert.deepEqual(out.data, { me: { best: null }, viewer: { name: 'Ada' } });
  both('{ viewer { friends { name } } }', { data: { viewer: { friends: [{ name: 'a' }, { name: null }] } }, errors: [located, new GraphQLError('x', { path: ['viewer', 'friends', 1, 'name'] })] });
  assert.deepEqual(
    out.errors!.map((e) => e.message),
    ['users is down', 'no path', 'noted'],
  );
});

test('aliases merged by response key, repeated fragments, literal @skip/@include; variables fall back to execute', () => {
  both('{ me { name ... on User { name best { id } } best { name } ...F ...F x: name @skip(if: true) y: age @include(if: true) } } fragment F on User { id }', {
    data: { me: { ...ada, best: { id: 'u2', name: 'Bob' }, y: 5 } },
  });
  const out = both('query ($s: Boolean!) { me { name @skip(if: $s) id } }', { data: { me: ada } }, { s: true });
  assert.deepEqual(out.data, { me: { id: 'u1' } });
});

test('data null is passed on as it is', () => {
  const failed = { data: null, errors: [new GraphQLError('boom', { path: ['viewer'] })] };
  assert.equal(checker.check(failed, { document: parse('{ viewer { id } }') }), failed);
});
