/**
 * Real-world .proto files (Google's APIs from google-proto-files) build a
 * valid, stitchable schema: every entry point of scripts/grpc-corpus.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCorpus, CORPUS } from '../../scripts/grpc-corpus.js';

test(`all ${CORPUS.length} google-proto-files entry points build a valid schema`, async () => {
  assert.ok(CORPUS.length >= 15);
  const results = await checkCorpus();
  const failed = results.filter((r) => !r.ok).map((r) => `${r.entry}: ${r.detail}`);
  assert.deepEqual(failed, []);
  assert.equal(results.length, CORPUS.length);
});
