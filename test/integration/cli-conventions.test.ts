/**
 * The `tessera` command as the person on call meets it, run as a process:
 * errors that say what and where (a taken port, a YAML or SDL syntax error,
 * a misspelled key) without a stack, --version, help, and SIGHUP (which reloads, see reload.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { START_FLAGS, withoutYoungFlag } from '../../src/cli/runtime.js';
import { runTessera as tessera, serveTessera, tempProject as folder } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;

/** A port some other process holds, for the length of the test. */
async function takenPort(t: TestContext): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** A project whose one subgraph's schema is a file: it loads without an upstream. */
function project(t: TestContext, gatewayYaml: string, extra: Record<string, string> = {}): string {
  return join(
    folder(t, {
      'gateway.yaml': gatewayYaml,
      'subgraphs/s/subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1/graphql\n',
      'subgraphs/s/s.graphql': 'type Query { hello: String }\n',
      ...extra,
    }),
    'gateway.yaml',
  );
}

const NO_STACK = /internal error|\n\s+at /;

test('a port already in use: exit 1, the address and the flag or setting that changes it, no stack', async (t) => {
  const port = await takenPort(t);
  const config = project(t, `server: { port: ${port} }\n`);
  const fromConfig = await tessera(['serve', '-c', config, '--workers', '1']);
  assert.equal(fromConfig.code, 1, fromConfig.stderr);
  assert.match(fromConfig.stderr, new RegExp(`one problem \\(LISTEN_FAILED\\):\\n  - cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  assert.match(fromConfig.stderr, /choose another port with --port N \(or server\.port in \S*gateway\.yaml\)/);
  assert.doesNotMatch(fromConfig.stderr, NO_STACK);

  const fromFlag = await tessera(['serve', '-c', project(t, 'server: { port: 0 }\n'), '--port', String(port), '--workers', '2']);
  assert.equal(fromFlag.code, 1, fromFlag.stderr);
  assert.match(fromFlag.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*; choose another port with --port N\\n`));
  assert.match(fromFlag.stderr, /before it could serve; stopping/, 'the cluster primary stops the start');
  assert.doesNotMatch(fromFlag.stderr, NO_STACK);
});

test("npm start: a demo service's port in use names the service and the variable that moves it", async (t) => {
  const port = await takenPort(t);
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'subgraphs/demo.ts')], {
    env: { ...process.env, ACCOUNTS_PORT: String(port), LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`LISTEN_FAILED[\\s\\S]*cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use .*; it is the accounts demo service's port; choose another with ACCOUNTS_PORT=N npm start`));
  assert.doesNotMatch(stderr, NO_STACK);
});

test('a YAML syntax error: file, line and column, and the lines there with a caret', async (t) => {
  const config = project(t, 'server:\n  port: 4000\n  host: [127.0.0.1\nmode: development\n');
  const { code, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1);
  assert.match(stderr, /one problem \(CONFIG_PARSE_ERROR\):\n {2}- \S*gateway\.yaml:4:1: cannot parse: Flow sequence in block collection must be sufficiently indented and end with a \]\n/);
  assert.match(stderr, /\n {6}3 \| {3}host: \[127\.0\.0\.1\n {6}4 \| mode: development\n {8}\| \^\n/);
});

test('a descriptor that does not parse has the code gateway.yaml would have (CONFIG_PARSE_ERROR)', async (t) => {
  const config = project(t, 'server: { port: 0 }\n', { 'subgraphs/s/subgraph.yaml': 'name: s\nkind: graphql\n  url: http://127.0.0.1:1\n' });
  const { code, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1);
  assert.match(stderr, /one problem \(CONFIG_PARSE_ERROR\):\n {2}- \S*subgraphs\/s\/subgraph\.yaml:2:7: cannot parse: Nested mappings are not allowed in compact mappings\n/);
});

test('an SDL syntax error: the schema file, line and column', async (t) => {
  const config = project(t, 'server: { port: 0 }\n', { 'subgraphs/s/s.graphql': 'type Query {\n  hello: String\n  greet(: String\n}\n' });
  const { code, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1);
  assert.match(stderr, /SOURCE_LOAD_FAILED[\s\S]*invalid SDL in \S*subgraphs\/s\/s\.graphql:3:9: Syntax Error: Expected Name, found ":"\.\n {6}2 \| {3}hello: String\n {6}3 \| {3}greet\(: String\n {8}\| {9}\^/);
});

test('a misspelled key: did you mean the closest known key', async (t) => {
  const config = project(t, 'server: { port: 0 }\n', { 'subgraphs/s/subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1/graphql\ntimout: 2s\n' });
  const { code, stderr } = await tessera(['check', '-c', config]);
  assert.equal(code, 1);
  assert.match(stderr, /subgraphs\/s\/subgraph\.yaml: timout: unknown key \(did you mean `timeout`\?\)/);
});

test('tessera --version prints the version of its package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const { code, stdout } = await tessera(['--version']);
  assert.equal(code, 0);
  assert.equal(stdout, `${version}\n`);
});

test("help lists the commands; a command's --help has its own flags, environment variables, exit codes", async () => {
  const help = await tessera(['help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: tessera <command> \[options\]\n\nCommands:\n {2}serve +Start the gateway\.\n {2}compose +[\s\S]*\n {2}check +[\s\S]*\n {2}help +/);

  const serve = await tessera(['serve', '--help']);
  assert.equal(serve.code, 0);
  assert.equal((await tessera(['help', 'serve'])).stdout, serve.stdout, 'tessera help serve is tessera serve --help');
  assert.match(serve.stdout, /^Usage: tessera serve \[--config FILE\] \[--port N\] \[--host H\] \[--workers N\|auto\]\n/);
  assert.match(serve.stdout, /Options:\n {2}-c, --config FILE[\s\S]*-p, --port N +Listen on this port \(overrides server\.port\)\./);
  assert.match(serve.stdout, /Environment:\n {2}TESSERA_CONFIG +The configuration file when --config is not given\./);
  assert.match(serve.stdout, /Exit codes:\n {2}0 +[^\n]+\n {2}1 +[^\n]+LISTEN_FAILED[\s\S]*\n {2}2 +wrong usage[\s\S]*\n {2}70 +a bug/);
  assert.match(serve.stdout, /Signals:[\s\S]*SIGHUP +Reload the descriptors \(hot reload\)/);

  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(readme.includes(`$ tessera help\n${help.stdout}\`\`\``), "README's CLI section shows tessera help as it prints");
  assert.ok(readme.includes(`$ tessera serve --help\n${serve.stdout}\`\`\``), "README's CLI section shows tessera serve --help as it prints");

  const check = await tessera(['check', '-h']);
  assert.equal(check.code, 0);
  assert.doesNotMatch(check.stdout, /--port|--out/, 'only its own flags');
  const compose = await tessera(['compose', '--help']);
  assert.match(compose.stdout, /--check +Write nothing; exit 3[\s\S]*Exit codes:[\s\S]*\n {2}3 +--check: the snapshot is stale/);

  const wrong = await tessera(['check', '--port', '1', '-c', join(root, 'gateway.yaml')]);
  assert.equal(wrong.code, 2, "another command's flag is wrong usage");
  assert.match(wrong.stderr, /unknown flag --port for tessera check\n\nUsage: tessera check \[--config FILE\] \[--against URL\|DIR\] \[--header 'NAME: VALUE'\] \[--operations DIR\] \[--json\] \[DESCRIPTOR\.\.\.\]\nRun `tessera check --help`/);
  const folderGiven = await tessera(['check', '-c', root]);
  assert.equal(folderGiven.code, 2, 'a folder for --config is wrong usage, not an internal error');
  assert.match(folderGiven.stderr, /is a folder; give --config the gateway\.yaml in it/);
  assert.doesNotMatch(folderGiven.stderr, NO_STACK);
  const unknown = await tessera(['help', 'frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no command "frobnicate"/);
});

test('SIGHUP does not stop the gateway: it keeps serving and logs that it reloads the descriptors', async (t) => {
  for (const workers of ['1', '2']) {
    const config = project(t, 'server: { port: 0 }\nlogging: { level: info }\n');
    const served = serveTessera(t, ['-c', config, '--workers', workers]);
    const url = await served.url;
    const logged = new Promise<string>((resolve) => {
      const look = (): void => {
        const line = served.output().split('\n').find((l) => l.includes('"signal":"SIGHUP"'));
        if (line) resolve(line);
      };
      served.child.stdout!.on('data', look);
      look();
    });
    served.child.kill('SIGHUP');
    const line = JSON.parse(await logged) as Record<string, unknown>;
    assert.equal(line.level, 30);
    assert.equal(line.pid, served.child.pid, `the process signalled logs it (--workers ${workers})`);
    assert.match(String(line.msg), workers === '1' ? /^SIGHUP: reloading the descriptors/ : /^SIGHUP: asking every worker to reload the descriptors/);
    const health = await fetch(new URL('/healthz', url));
    assert.equal(health.status, 200, `still serving after SIGHUP (--workers ${workers})`);
    assert.equal(served.child.exitCode, null);
    served.child.kill('SIGTERM');
    assert.equal(await served.exited, 0);
  }
});

test('tessera serve logs its V8 start flags: one process without them names what it lacks; --workers hands them to its workers', async (t) => {
  const startLines = async (served: ReturnType<typeof serveTessera>, count: number): Promise<Array<Record<string, any>>> => {
    await served.url;
    const lines = (): Array<Record<string, any>> =>
      served
        .output()
        .split('\n')
        .filter((l) => l.includes('"v8":'))
        .map((l) => JSON.parse(l) as Record<string, any>);
    for (const deadline = Date.now() + 10_000; lines().length < count; ) {
      assert.ok(Date.now() < deadline, `${count} start line(s) with "v8" within 10 s; printed: ${served.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    served.child.kill('SIGTERM');
    assert.equal(await served.exited, 0);
    return lines();
  };
  const config = project(t, 'server: { port: 0 }\nlogging: { level: info }\n');

  const [alone] = await startLines(serveTessera(t, ['-c', config, '--workers', '1']), 1);
  assert.equal(alone!.level, 30);
  assert.deepEqual(alone!.v8.missingStartFlags, [...START_FLAGS]);
  assert.deepEqual(alone!.v8.startFlags, []);
  const [, , young] = START_FLAGS;
  assert.match(young!, /^--max-semi-space-size=\d+$/);

  const [half] = await startLines(serveTessera(t, ['-c', config, '--workers', '1'], {}, ['--no-memory-reducer']), 1);
  assert.deepEqual([half!.v8.startFlags, half!.v8.missingStartFlags], [['--no-memory-reducer'], ['--no-flush-bytecode', young]]);
  assert.ok(half!.msg.startsWith(`V8: node was started without --no-flush-bytecode ${young}: after some ten seconds without requests V8 drops compiled code`), half!.msg);
  assert.ok(half!.msg.includes(`; ${withoutYoungFlag()}; start node with`), half!.msg);
  assert.equal(alone!.msg.split('after some ten seconds').length, 2, 'one clause per effect, each once');
  assert.ok(alone!.msg.startsWith(`V8: node was started without ${START_FLAGS.join(' ')}: `), alone!.msg);
  assert.ok(alone!.msg.includes(`start node with ${START_FLAGS.join(' ')} (the image does`), alone!.msg);

  const [sized] = await startLines(serveTessera(t, ['-c', config, '--workers', '1'], { NODE_OPTIONS: '--max-semi-space-size=16' }, ['--no-memory-reducer', '--no-flush-bytecode']), 1);
  assert.deepEqual(sized!.v8.missingStartFlags, [], "the operator's own young generation, in NODE_OPTIONS");

  const [flagged] = await startLines(serveTessera(t, ['-c', config, '--workers', '1'], {}, START_FLAGS), 1);
  assert.deepEqual(flagged!.v8.missingStartFlags, []);
  assert.deepEqual(flagged!.v8.startFlags, [...START_FLAGS]);
  assert.equal(flagged!.msg, `V8: started with ${START_FLAGS.join(' ')}`);
  assert.deepEqual(flagged!.v8.heap, ['--heap-growing-percent=150', '--no-allocation-site-pretenuring'], 'the heap settings applied at run time');
  // Node refuses this flag in NODE_OPTIONS: node's own arguments carry it.
  const [own] = await startLines(serveTessera(t, ['-c', config, '--workers', '1'], {}, [...START_FLAGS, '--allocation-site-pretenuring']), 1);
  assert.deepEqual(own!.v8.heap, ['--heap-growing-percent=150'], "the operator's own pretenuring stays");

  const primary = serveTessera(t, ['-c', config, '--workers', '2']);
  const workers = await startLines(primary, 2);
  assert.equal(workers.length, 2, 'one line per worker, none from the primary');
  for (const line of workers) {
    assert.notEqual(line.pid, primary.child.pid);
    assert.equal(line.msg, `V8: started with ${START_FLAGS.join(' ')}`, 'the primary, started without them, gave them to its workers');
    assert.deepEqual(line.v8.heap, ['--heap-growing-percent=150', '--no-allocation-site-pretenuring'], 'each worker applies the run-time settings itself');
  }
});

test('a SIGTERM the moment tessera serve says it serves is a drain: exit 0, not node\'s default exit by the signal (docs/reliability.md row 94)', async (t) => {
  const config = project(t, 'server: { port: 0 }\n');
  for (let i = 0; i < 5; i++) {
    const served = serveTessera(t, ['-c', config, '--workers', '1']);
    // Signalled from the stdout listener itself, as a supervisor reading the line would, before anything else runs here.
    const onData = (): void => {
      if (!/serving http/.test(served.output())) return;
      served.child.stdout!.off('data', onData);
      served.child.kill('SIGTERM');
    };
    served.child.stdout!.on('data', onData);
    await served.url;
    assert.equal(await served.exited, 0, `start ${i + 1}: ${served.output()}`);
  }
});
