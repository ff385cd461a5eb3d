/** The error catalog and its documentation stay in step. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GraphQLError } from 'graphql';
import { ERRORS, TesseraError, isTesseraError, withoutStackTraces } from '../../src/errors.js';
import { readmeWithErrors } from '../../scripts/errors-doc.js';

test('the README lists every error code with its status (npm run docs:errors)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, readmeWithErrors(readme), 'README error table is stale: run `npm run docs:errors`');
  for (const code of Object.keys(ERRORS)) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`));
});

test('a TesseraError carries its code and status, keeps its cause out of the client view', () => {
  const error = new TesseraError('GATEWAY_TIMEOUT', 'Subgraph "x" did not answer within 5 ms', { cause: new Error('socket detail 10.0.0.1') });
  assert.equal(error.status, 504);
  assert.deepEqual(error.extensions, { code: 'GATEWAY_TIMEOUT' });
  assert.equal(error.originalError, undefined);
  assert.doesNotMatch(JSON.stringify(error.toJSON()), /10\.0\.0\.1/);
  assert.ok(isTesseraError(error));
  assert.ok(!isTesseraError(new Error('x')));
});

test('withoutStackTraces: errors made inside have no stack frames, the limit comes back, also when make throws (docs/reliability.md row 87)', () => {
  const before = Error.stackTraceLimit;
  const cause = new Error('the call failed');
  const made = withoutStackTraces(() => [1, 2, 3].map((i) => new GraphQLError(`item ${i}`, { path: ['posts', i, 'author'] })));
  for (const error of made) assert.doesNotMatch(error.stack ?? '', /\n\s+at /, 'a bulk error carries no frames');
  const moved = withoutStackTraces(() => new GraphQLError('moved', { path: ['posts', 0], originalError: cause }));
  assert.equal(moved.stack, cause.stack, 'one made with an original takes the original\'s stack');
  assert.match(cause.stack ?? '', /\n\s+at /, 'the cause keeps its own stack');
  assert.equal(Error.stackTraceLimit, before);
  assert.throws(() => withoutStackTraces(() => { throw new Error('inside'); }), /inside/);
  assert.equal(Error.stackTraceLimit, before);
  assert.match(new Error('after').stack ?? '', /\n\s+at /);
});
