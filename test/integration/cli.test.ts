/** The `tessera` command, run as a process: exit codes and what it prints. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { schemaSnapshot } from '../../src/cli/main.js';
import { startDemo, startGraphqlUpstream } from '../kit.js';

const root = new URL('../..', import.meta.url).pathname;

function tessera(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/bin.ts'), ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function folder(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

test('tessera check exits 1 and prints every problem', async (t) => {
  const dir = folder(t, {
    'gateway.yaml': 'server: { port: 99999 }\n',
    'subgraphs/a/subgraph.yaml': 'name: a\nkind: graphql\nurl: http://127.0.0.1:1\ntimout: 1s\n',
  });
  const { code, stderr } = await tessera(['check', '--config', join(dir, 'gateway.yaml')]);
  assert.equal(code, 1);
  assert.match(stderr, /server\.port: /);
});

test('tessera check reports the subgraphs, and compose writes, then verifies, the snapshot', async (t) => {
  const up = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hi' } });
  const dir = folder(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\nchannels:\n  web: {}\n',
    'subgraphs/subgraph.yaml': 'name: hello\nkind: graphql\nurl: ${HELLO_URL}\n',
  });
  const env = { HELLO_URL: up.url };
  const checked = await tessera(['check', '-c', join(dir, 'gateway.yaml')], env);
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /ok: 1 subgraphs \(hello\).*channels: default \/graphql, web \/web\/graphql/);
  const stale = await tessera(['compose', '--check', '-c', join(dir, 'gateway.yaml')], env);
  assert.equal(stale.code, 3);
  assert.match(stale.stderr, /schema snapshot is stale/);
  const written = await tessera(['compose', '-c', join(dir, 'gateway.yaml')], env);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(readFileSync(join(dir, 'schema/unified.graphql'), 'utf8'), 'type Query {\n  hello: String\n}\n');
  assert.equal(readFileSync(join(dir, 'schema/web.graphql'), 'utf8'), 'type Query {\n  hello: String\n}\n');
  assert.equal((await tessera(['compose', '--check', '-c', join(dir, 'gateway.yaml')], env)).code, 0);
});

test('wrong usage exits 2 with the usage text', async () => {
  const { code, stderr } = await tessera(['frobnicate', '--config', join(root, 'gateway.yaml')]);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command "frobnicate"[\s\S]*Usage: tessera/);
});

test('the checked-in schema/unified.graphql matches the demo subgraphs (run `npm run compose` after a schema change)', async (t) => {
  const demo = await startDemo(t);
  const expected = schemaSnapshot(demo.gateway.schema);
  const actual = readFileSync(join(root, 'schema/unified.graphql'), 'utf8');
  assert.equal(actual, expected, 'schema/unified.graphql is stale: run `npm run compose` and commit the result');
});
