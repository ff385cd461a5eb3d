/**
 * The passthrough's conditions one by one (execution/passthrough.ts): which
 * direct answers are written as the subgraph's text when Yoga writes the
 * answer, and which with JSON.stringify. docs/reliability.md row 89;
 * test/integration/direct-passthrough.test.ts runs them through a gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { parseUpstreamJson } from '../../src/sources/json.js';
import { withAnswerText } from '../../src/sources/graphql/executor.js';
import { passedThrough, stringifyPassedThrough, type PassedThrough } from '../../src/execution/passthrough.js';

/** Strings holding `": ` and ending in a backslash: the key count reads neither as a key. */
const TEXT = '{ "data": { "items": [ { "id": "1", "name": "a \\"b\\": c \\\\" }, { "id": "2", "name": null } ] } }';

/** The subgraph's answer as the GraphQL executor gives it: its data (and errors) as parsed, with its text. */
function answerOf(text: string): ExecutionResult {
  const payload = parseUpstreamJson(text) as ExecutionResult;
  return withAnswerText({ data: payload.data, ...(payload.errors && { errors: payload.errors }) }, text);
}

/** The direct route's result for an answer the check kept as it was (the same data object). */
function resultOf(text: string): ExecutionResult {
  const answer = answerOf(text);
  return passedThrough({ data: answer.data }, answer);
}

/** What Yoga's result processor writes (graphql-yoga plugins/result-processor/stringify.js). */
function written(result: ExecutionResult): string {
  return ((result as Partial<PassedThrough>).stringify ?? JSON.stringify)(result);
}

test('an answer that is `{"data": {...}}` alone, on one line, kept as parsed by the check, is written as its text', () => {
  const result = resultOf(TEXT);
  assert.equal(written(result), TEXT);
  assert.deepEqual(result.data, { items: [{ id: '1', name: 'a "b": c \\' }, { id: '2', name: null }] });
  // JSON leaves the function out: a result written as JSON elsewhere (Redis, a log line) is the answer alone.
  assert.equal(JSON.stringify(result), JSON.stringify({ data: result.data }));
  // A copy of the result over the same data (in-flight dedupe's) is written as the text too.
  assert.equal(written({ ...result }), TEXT);
});

test("an answer text with the subgraph's errors or extensions, a key twice, a line break or a key the reviver drops is written with JSON.stringify", () => {
  for (const text of [
    '{"data": {"a": 1}, "errors": [{"message": "x"}]}',
    '{"errors": [], "data": {"a": 1}}',
    '{"data": {"a": 1}, "extensions": {"cost": 1}}',
    '{"data": {"a": {"b": "x"}, "a": 1}}',
    '{"data": {"a": 1}, "data": {"a": 1}}',
    '{"data": {"a": 1}\n}',
    '{"data":\r{"a": 1}}',
    '{"data": {"a": {"__proto__": {"x": 1}, "b": 1}}}',
    '{"data": {"a": {"constructor": {"prototype": {"x": 1}}, "b": 1}}}',
  ]) {
    // As if the check kept the data: only the text differs from it.
    const answer = answerOf(text);
    const result = passedThrough({ data: answer.data }, answer);
    assert.equal(written(result), JSON.stringify({ data: answer.data }), text);
  }
});

test('a result that is no longer exactly the parsed data is written with JSON.stringify', () => {
  const cases: Array<[string, (result: ExecutionResult) => ExecutionResult]> = [
    ['extensions added in place', (r) => Object.assign(r, { extensions: { tracing: 1 } })],
    ['errors added in place', (r) => Object.assign(r, { errors: [new GraphQLError('late')] })],
    ['an empty errors list', (r) => ({ ...r, errors: [] })],
    ["Yoga's copy of a result with extensions.http", (r) => ({ ...r, extensions: undefined })],
    ['the data replaced by a copy', (r) => Object.assign(r, { data: { ...r.data } })],
    ['a key added inside the data', (r) => (((r.data as { items: Array<Record<string, unknown>> }).items[1]!.extra = 1), r)],
    ['a key removed inside the data', (r) => (delete (r.data as { items: Array<Record<string, unknown>> }).items[0]!.name, r)],
    ['another stringify', (r) => ({ ...r, stringify: (x: ExecutionResult) => JSON.stringify(x) })],
  ];
  for (const [name, change] of cases) {
    const result = change(resultOf(TEXT));
    assert.equal(stringifyPassedThrough(result), JSON.stringify(result), name);
  }
});

test('a checked result with errors, other data than the answer, or an answer without its text is given back as it is', () => {
  const answer = answerOf('{"data": {"a": 1}}');
  const failed: ExecutionResult = { data: answer.data, errors: [new GraphQLError('x')] };
  assert.equal(passedThrough(failed, answer), failed);
  const copied: ExecutionResult = { data: { a: 1 } };
  assert.equal(passedThrough(copied, answer), copied);
  const noText: ExecutionResult = { data: { a: 1 } };
  assert.equal(passedThrough(noText, { data: noText.data }), noText);
});
