/**
 * The tier rule holds by itself: under `npm test`'s preload
 * (test/kit/no-sockets.ts) a test file in a test/unit/ folder that listens on
 * a socket fails, naming itself and where it belongs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('a unit test that opens a socket fails and is told to move to test/integration/', () => {
  const probe = 'test/fixtures/no-sockets/test/unit/listens.ts';
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/kit/no-sockets.ts', '--test', '--test-reporter=spec', probe], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_TEST_CONTEXT: undefined },
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /listens\.ts: a unit test may not listen on a socket; move it to test\/integration\//);
});
