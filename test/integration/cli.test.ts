/** The `tessera` command, run as a process: exit codes and what it prints. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { schemaSnapshot } from '../../src/cli/compose.js';
import { defaultWorkerCount } from '../../src/cli/cores.js';
import { runTessera as tessera, serveTessera as serveProcess, startDemo, startGraphqlUpstream, tempProject as folder } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;



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

test('the checked-in schema/ snapshots match the demo subgraphs and channels (run `npm run compose` after a schema change)', async (t) => {
  const demo = await startDemo(t);
  const files = new Map([['unified', schemaSnapshot(demo.gateway.schema)]]);
  for (const { channel, schema } of demo.gateway.channels) if (channel.name !== 'default') files.set(channel.name, schemaSnapshot(schema));
  assert.deepEqual([...files.keys()].sort(), ['mobile', 'unified', 'web']);
  for (const [name, expected] of files) {
    const actual = readFileSync(join(root, `schema/${name}.graphql`), 'utf8');
    assert.ok(actual === expected, `schema/${name}.graphql is stale: run \`npm run compose\` and commit the result`);
  }
  assert.doesNotMatch(files.get('mobile')!, /uploadProductImage|type Product \{[^}]*\bdimensions:/, 'the mobile view hides what gateway.yaml says');
  assert.match(files.get('web')!, /type Product \{[^}]*\bdimensions:/);
});

// The default (one worker per core: several on most machines) and one process: both drain on SIGTERM.
for (const workers of [[], ['--workers', '1']]) {
  test(`tessera serve${workers.length ? ` ${workers.join(' ')}` : ''}: SIGTERM lets the request in flight finish, then exits 0`, async (t) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    const up = await startGraphqlUpstream(t, 'type Query { slow: String }', {
      Query: {
        slow: async () => {
          arrived();
          await released;
          return 'done';
        },
      },
    });
    // A generous deadline: under a loaded machine the readiness polling below can take seconds, and the request must outlive it.
    const dir = folder(t, { 'gateway.yaml': 'server: { port: 0, requestDeadline: 60s }\n', 'subgraphs/subgraph.yaml': 'name: s\nkind: graphql\nurl: ${S_URL}\ntimeout: 30s\n' });
    const serve = serveProcess(t, ['-c', join(dir, 'gateway.yaml'), ...workers], { S_URL: up.url });
    const url = await serve.url;
    const count = workers.length ? 1 : defaultWorkerCount();
    if (count === 1) assert.doesNotMatch(serve.output(), /starting \d+ workers/, 'one process, no cluster primary');
    else assert.match(serve.output(), new RegExp(`starting ${count} workers[\\s\\S]*serving http:\\S+ \\(${count} workers\\)`));
    const inFlight = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ slow }' }) });
    await arrival;
    serve.child.kill('SIGTERM');
    // Readiness fails (503 on a kept-alive connection, or the port is closed) once the signal is handled, while the
    // request is still in flight; a probe is answered or refused at once, never left without an answer (cli-drain.test.ts).
    let ready: number | string = 200;
    for (let i = 0; i < 250 && ready === 200; i++) {
      ready = await fetch(url.replace('/graphql', '/readyz'), { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.status,
        (error: Error) => (error.name === 'TimeoutError' ? 'no answer' : 'refused'),
      );
      if (ready === 200) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(ready === 503 || ready === 'refused', `readiness during the drain: ${ready}`);
    release();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { slow: 'done' } });
    assert.equal(await serve.exited, 0);
  });
}

test('tessera serve --workers 2 serves from two processes on one port', async (t) => {
  const up = await startGraphqlUpstream(t, 'type Query { pid: String }', { Query: { pid: () => 'x' } });
  const dir = folder(t, { 'gateway.yaml': 'server: { port: 0 }\n', 'subgraphs/subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: ${S_URL}\n', 'subgraphs/s.graphql': 'type Query { pid: String }' });
  // port 0 would give each worker its own port under cluster round-robin only when
  // the primary listens; pick a free port instead.
  const { createServer } = await import('node:net');
  const probe = createServer();
  const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)));
  await new Promise<void>((r) => probe.close(() => r()));
  const serve = serveProcess(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2', '--port', String(port)], { S_URL: up.url });
  // The primary prints the URL once every worker listens.
  assert.equal(await serve.url, `http://127.0.0.1:${port}/graphql`);
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ pid }"}' });
    assert.deepEqual(await res.json(), { data: { pid: 'x' } });
  }
  assert.match(serve.output(), /starting 2 workers/);
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0);
});

test('tessera serve --workers 2: a worker that cannot start stops the start with its exit code instead of being restarted', async (t) => {
  const dir = folder(t, { 'gateway.yaml': 'server: { port: 0 }\n', 'subgraphs/subgraph.yaml': 'name: s\nkind: graphql\nurl: http://127.0.0.1:1/graphql\n' });
  const { code, stdout, stderr } = await tessera(['serve', '-c', join(dir, 'gateway.yaml'), '--workers', '2']);
  assert.equal(code, 1, stderr);
  assert.match(stdout, /starting 2 workers/);
  assert.match(stderr, /problems? \(SOURCE_LOAD_FAILED\)[\s\S]*before it could serve; stopping/);
  assert.doesNotMatch(stderr, /starting another/);
});
