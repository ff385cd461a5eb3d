/**
 * The kit's closers run even when an after hook added before them throws
 * (node:test then skips the later hooks): otherwise a gateway, a demo service
 * or a browser keeps the test file's process alive, and the suite waits for it
 * until CI's time runs out (it did once, 75 minutes, behind one failed test).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('atTestEnd closes after a failed after hook, and the test file exits', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/fixtures/kit/hook-fails-first.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(run.error, undefined, 'the file exited by itself');
  assert.equal(run.status, 1, 'its test fails, for the hook');
  assert.match(run.stdout, /closed by atTestEnd/);
  assert.match(run.stdout, /an earlier hook fails/);
});
