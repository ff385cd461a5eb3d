/** The error catalog and its documentation stay in step. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS, TesseraError, isTesseraError } from '../../src/errors.js';
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
