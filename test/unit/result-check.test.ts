/**
 * The compiled result check (execution/result-check.ts) must answer exactly as
 * graphql-js's execute does over the same data: same values, same errors
 * (message, locations, path), same order. Each case runs both and compares
 * the JSON a client would receive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSchema, GraphQLError, parse } from 'graphql';
import type { ExecutionResult } from '@graphql-tools/utils';
import { checkingSchema, executedCheck, ResultChecker } from '../../src/execution/result-check.js';

const schema = checkingSchema(
  buildSchema(/* GraphQL */ `
    scalar JSON
    enum Status { ACTIVE RETIRED }
    interface Node { id: ID! }
    type User implements Node { id: ID! name: String! age: Int status: Status tags: [String!] friends: [User!]! best: User meta: JSON }
    type Bot implements Node { id: ID! version: Float! }
    union Actor = User | Bot
    type Query { me: User viewer: User! nodes: [Node] actors: [Actor!]! count: Int! ratio: Float flag: Boolean }
    directive @mark(tone: String) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
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

test('aliases merged by response key, repeated fragments, literal @skip/@include', () => {
  both('{ me { name ... on User { name best { id } } best { name } ...F ...F x: name @skip(if: true) y: age @include(if: true) } } fragment F on User { id }', {
    data: { me: { ...ada, best: { id: 'u2', name: 'Bob' }, y: 5 } },
  });
});

test('@skip/@include on variables: compiled per set of their values, the same answer and field order as execute; at most 32 sets kept per operation (docs/reliability.md row 93)', () => {
  const out = both('query ($s: Boolean!) { me { name @skip(if: $s) id } }', { data: { me: ada } }, { s: true });
  assert.deepEqual(out.data, { me: { id: 'u1' } });
  // The order of the fields depends on the values: `name` first where its first selection is included.
  const query = 'query ($a: Boolean!, $b: Boolean = true) { me { name @include(if: $a) id ...F @skip(if: $b) ... on User @include(if: $b) { best { name @include(if: $a) id } } name } } fragment F on User { age name }';
  const data = { me: { ...ada, best: { id: 'u2', name: 'Bob' } } };
  const orders: string[] = [];
  for (const variables of [{ a: true }, { a: false }, { a: true, b: false }, { a: false, b: false }, { a: true }]) {
    const answer = both(query, { data: structuredClone(data) }, variables);
    orders.push(Object.keys(answer.data!.me as object).join(','));
  }
  assert.deepEqual(orders, ['name,id,best', 'id,best,name', 'name,id,age', 'id,age,name', 'name,id,best']);
  // Not a boolean (null for a variable with a default): execute answers, with the spec's error.
  const refused = both('query ($b: Boolean = true) { me { id name @include(if: $b) } }', { data: { me: ada } }, { b: null });
  assert.equal(refused.errors?.length, 1);
  // Past the variants kept per operation, each request is still checked as execute would (compiled for it alone).
  const many = `query (${Array.from({ length: 6 }, (_, i) => `$v${i}: Boolean!`).join(', ')}) { me { ${Array.from({ length: 6 }, (_, i) => `f${i}: name @include(if: $v${i})`).join(' ')} id } }`;
  for (let n = 0; n < 64; n++) {
    const variables = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`v${i}`, ((n >> i) & 1) === 1]));
    const answer = both(many, { data: { me: { id: 'u1', ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, 'Ada'])) } } }, variables);
    assert.equal(Object.keys(answer.data!.me as object).length, 1 + Object.values(variables).filter(Boolean).length);
  }
  // One document, checked with each of its 64 sets of values: 32 compiled checks kept, the others made per request.
  const manyDocument = parse(many);
  for (let n = 0; n < 64; n++) {
    const variableValues = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`v${i}`, ((n >> i) & 1) === 1]));
    checker.check({ data: { me: { id: 'u1' } } }, { document: manyDocument, variableValues });
  }
  const kept = (checker as unknown as { compiled: WeakMap<object, Map<string, { variants: Map<string, unknown> }>> }).compiled.get(manyDocument)!.get('')!;
  assert.equal(kept.variants.size, 32);
});

test('a subgraph\'s own directive (composed, sent on to it) takes no part in the check: compiled, the same answer as execute, @skip/@include beside it still applied', () => {
  const query = 'query ($s: Boolean!) { me { name @mark(tone: "loud") ... on User @mark { id age @skip(if: $s) } ...F @mark(tone: "x") best { name @mark } } } fragment F on User { status }';
  const data = { me: { ...ada, best: { id: 'u2', name: null } } };
  const out = both(query, { data }, { s: true });
  assert.deepEqual(out.errors?.map((e) => [e.message, e.path]), [['Cannot return null for non-nullable field User.name.', ['me', 'best', 'name']]]);
  assert.deepEqual(Object.keys(out.data!.me as object), ['name', 'id', 'status', 'best']);
  // Compiled (not left to execute): the checker keeps a compiled check for the document.
  const document = parse(query);
  checker.check({ data: structuredClone(data) }, { document, variableValues: { s: false } });
  const kept = (checker as unknown as { compiled: WeakMap<object, Map<string, { variants: Map<string, unknown> } | null>> }).compiled.get(document)!.get('');
  assert.equal(kept?.variants.size, 1);
});

test('data null is passed on as it is', () => {
  const failed = { data: null, errors: [new GraphQLError('boom', { path: ['viewer'] })] };
  assert.equal(checker.check(failed, { document: parse('{ viewer { id } }') }), failed);
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

test('an answer already in the shape asked for is passed on as it is, not copied; any other is copied, the source left untouched', () => {
  const query = '{ me { id name tags friends { id name } best { id } } count }';
  // What a subgraph that answered exactly the query sends: the checked data is the same objects.
  const exact = deepFreeze({ me: { id: 'u1', name: 'Ada', tags: ['math', 'logic'], friends: [{ id: 'u2', name: 'Bob' }], best: null }, count: 2 });
  const same = checker.check({ data: exact }, { document: parse(query) });
  assert.equal(same.data, exact);
  assert.equal(same.errors, undefined);

  // Each of these differs from the shape somewhere; frozen, so a write to the source would throw.
  const cases: Array<Record<string, unknown>> = [
    { me: { name: 'Ada', id: 'u1', tags: [], friends: [], best: null }, count: 2 }, // keys in another order
    { me: { id: 'u1', name: 'Ada', tags: [], friends: [], best: null, extra: 1 }, count: 2 }, // a key not asked for
    { me: { id: 'u1', name: 'Ada', tags: [], friends: [], best: null } }, // a key missing
    { me: { id: 'u1', name: 'Ada', tags: ['a', 'b'], friends: [{ id: 'u2', name: 'Bob' }, { id: 3, name: 'Cy' }], best: null }, count: 2 }, // an ID sent as a number, in a list
    { me: { id: 'u1', name: 'Ada', tags: ['a', null, 'c'], friends: [], best: null }, count: 2 }, // a null in a list of non-null
    { me: { id: 'u1', name: null, tags: [], friends: [], best: null }, count: 2 }, // null bubbling
    { me: { id: 'u1', name: 'Ada', tags: [], friends: [], best: { id: 'u9', __typename: 'User' } }, count: 2 }, // __typename not asked for
  ];
  for (const data of cases) {
    const before = JSON.stringify(data);
    const out = both(query, { data: deepFreeze(data) });
    assert.equal(JSON.stringify(data), before, 'the source is left as it was');
    assert.notEqual(out.data, data);
  }
  // A shared source object completed with two shapes gets each its own answer.
  const shared = deepFreeze({ id: 'u2', name: 'Bob' });
  both('{ me { best { id } } viewer { best { id name } } }', { data: deepFreeze({ me: { best: shared }, viewer: { best: shared } }) });
  // The copy starts at the first field that differs: what comes before is the source's own.
  const friend = deepFreeze({ id: 'u2', name: 'Bob' });
  const partly = checker.check({ data: deepFreeze({ me: { id: 'u1', name: 'Ada', tags: [], friends: [friend, { id: 7, name: 'Cy' }], best: null }, count: 2 }) }, { document: parse(query) });
  const friends = (partly.data as { me: { friends: unknown[] } }).me.friends;
  assert.equal(friends[0], friend);
  assert.deepEqual(friends[1], { id: '7', name: 'Cy' });
});

test('an object of an interface whose __typename is the interface\'s own name (a federation @interfaceObject\'s): completed as the interface where nothing selected depends on its concrete type, else the error graphql-js gives', () => {
  const document = (query: string) => ({ document: parse(query) });
  const asked = { data: { nodes: [{ __typename: 'Node', id: 'n1', k: 'n1', __key_id: 'n1' }] } };
  const planned = checker.check(structuredClone(asked), document('{ nodes { id ... on Node { k: id } ...N } } fragment N on Node { id }'));
  assert.deepEqual(JSON.parse(JSON.stringify(planned)), { data: { nodes: [{ id: 'n1', k: 'n1' }] } });
  for (const query of ['{ nodes { id __typename } }', '{ nodes { id ... on User { name } } }']) {
    const out = JSON.parse(JSON.stringify(checker.check(structuredClone(asked), document(query)))) as { errors: Array<{ message: string }> };
    assert.deepEqual(out.errors.map((e) => e.message), ['Abstract type "Node" was resolved to a non-object type "Node".'], query);
  }
  // What depends on the concrete type left out by @skip/@include (the planner does not ask it then): completed as the
  // interface; kept, the error.
  const conditional = 'query ($t: Boolean!) { nodes { id __typename @include(if: $t) ... on User @include(if: $t) { name } ... on Bot { version @include(if: $t) } } }';
  assert.deepEqual(JSON.parse(JSON.stringify(checker.check(structuredClone(asked), { document: parse(conditional), variableValues: { t: false } }))), { data: { nodes: [{ id: 'n1' }] } });
  const kept = JSON.parse(JSON.stringify(checker.check(structuredClone(asked), { document: parse(conditional), variableValues: { t: true } }))) as { errors: Array<{ message: string }> };
  assert.deepEqual(kept.errors.map((e) => e.message), ['Abstract type "Node" was resolved to a non-object type "Node".']);
  // The same with @skip/@include on a variable (graphql-js's execute, which the check used for such a document, would
  // have failed the object: the planner asked its concrete type for it).
  for (const on of [true, false]) {
    const variables = { document: parse('query ($on: Boolean!) { nodes { id k: id @include(if: $on) ...N @skip(if: $on) } } fragment N on Node { id }'), variableValues: { on } };
    assert.deepEqual(JSON.parse(JSON.stringify(checker.check(structuredClone(asked), variables))), { data: { nodes: [on ? { id: 'n1', k: 'n1' } : { id: 'n1' }] } });
  }
});
