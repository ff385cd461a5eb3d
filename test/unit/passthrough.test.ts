/**
 * The passthrough's conditions one by one (execution/passthrough.ts,
 * sources/json.ts parseUpstreamAnswer): which answer texts are kept, and
 * which results are written as that text when Yoga writes the answer.
 * docs/reliability.md row 89; test/integration/direct-passthrough.test.ts
 * runs them through a gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { answerTextOf, parseUpstreamAnswer } from '../../src/sources/json.js';
import { passedThrough, stringifyPassedThrough, type PassedThrough } from '../../src/execution/passthrough.js';

/** Strings holding `": ` and ending in a backslash: the key count reads neither as a key. */
const TEXT = '{ "data": { "items": [ { "id": "1", "name": "a \\"b\\": c \\\\" }, { "id": "2", "name": null } ] } }';

/** The result the direct route gives for an answer text: its data as parsed, with the passthrough's stringify when kept. */
function resultOf(text: string): ExecutionResult {
  const payload = parseUpstreamAnswer(text) as ExecutionResult;
  return passedThrough({ data: payload.data });
}

/** What Yoga's result processor writes (graphql-yoga plugins/result-processor/stringify.js). */
function written(result: ExecutionResult): string {
  return ((result as Partial<PassedThrough>).stringify ?? JSON.stringify)(result);
}

test('an answer that is `{"data": {...}}` alone, on one line, without a key the reviver drops, is written as its text', () => {
  const result = resultOf(TEXT);
  assert.equal(written(result), TEXT);
  // Its data as it was parsed, for the plugins that read it.
  assert.deepEqual(result.data, { items: [{ id: '1', name: 'a "b": c \\' }, { id: '2', name: null }] });
  // JSON leaves the function out: a result written as JSON elsewhere (Redis, a log line) is the answer alone.
  assert.equal(JSON.stringify(result), JSON.stringify({ data: result.data }));
});

test('an answer with errors, extensions or another key, data that is null or a list, a line break, or a key the reviver drops keeps no text', () => {
  for (const text of [
    '{"data": {"a": 1}, "errors": [{"message": "x"}]}',
    '{"errors": [], "data": {"a": 1}}',
    '{"data": {"a": 1}, "extensions": {"cost": 1}}',
    '{"data": {"a": 1}, "hasNext": false}',
    '{"data": null}',
    '{"data": [1]}',
    '{"data": {"a": 1},\n"data": {"a": 1}}',
    '{"data":\r{"a": 1}}',
    '{"data": {"a": {"__proto__": {"x": 1}}}}',
  ]) {
    const payload = parseUpstreamAnswer(text) as { data?: unknown };
    assert.equal(answerTextOf(payload.data), undefined, text);
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
    const expected = JSON.stringify(result);
    assert.equal(stringifyPassedThrough(result), expected, name);
  }
  // A copy of the result over the same data (in-flight dedupe's) is written as the text.
  assert.equal(written({ ...resultOf(TEXT) }), TEXT);
});

test('a text with a key given twice is written with JSON.stringify: the value checked is the last, another parser may read the first', () => {
  const result = resultOf('{"data": {"a": {"b": "x"}, "a": 1}}');
  assert.equal(written(result), '{"data":{"a":1}}');
});

test('a result with errors or without a kept text is given back as it is', () => {
  const parsed = parseUpstreamAnswer('{"data": {"a": 1}}') as ExecutionResult;
  const failed: ExecutionResult = { data: parsed.data, errors: [new GraphQLError('x')] };
  assert.equal(passedThrough(failed), failed);
  const other: ExecutionResult = { data: { a: 1 } };
  assert.equal(passedThrough(other), other);
});
