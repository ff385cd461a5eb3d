/**
 * The README's tour, "When a backend fails", as printed: the accounts service
 * in a process of its own (`npm start -- --only accounts`), the rest of the
 * demo and the gateway in another (`npm start -- --without accounts`); the
 * query answers in full, then, with the accounts process stopped, it still
 * answers the reviews, each author null with SOURCE_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { gql } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;
// The README's query.
const TOUR_QUERY = '{ reviews(first: 3) { body rating author { name username } product { id averageRating } } }';

interface Demo {
  child: ChildProcess;
  /** Resolves with the first match of `pattern` in what the process printed; rejects if it exits first. */
  printed(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  output(): string;
}

/** `npm start -- <args>`, as the start script runs it (tsx subgraphs/demo.ts); every port free unless `env` says. */
function startDemoProcess(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Demo {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'subgraphs/demo.ts'), ...args], {
    cwd: root,
    env: { ...process.env, PORT: '0', ACCOUNTS_PORT: '0', REVIEWS_PORT: '0', CATALOG_PORT: '0', INVENTORY_PORT: '0', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const listeners = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (c: Buffer) => {
      output += c.toString();
      for (const listener of listeners) listener();
    });
  }
  const printed = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const match = pattern.exec(output);
        if (match) {
          listeners.delete(look);
          resolve(match);
        }
      };
      listeners.add(look);
      look();
      void exited.then((code) => {
        listeners.delete(look);
        reject(new Error(`demo ${args.join(' ')} exited ${code} before printing ${pattern}:\n${output}`));
      });
    });
  return { child, printed, exited, output: () => output };
}

test('npm start -- --only accounts, then --without accounts: the query answers, and with accounts stopped the reviews come back with SOURCE_UNAVAILABLE authors', async (t) => {
  const accounts = startDemoProcess(t, ['--only', 'accounts']);
  const [, accountsPort] = await accounts.printed(/demo service accounts\s+http:\/\/127\.0\.0\.1:(\d+)\//);
  await accounts.printed(/no gateway in this process/);

  const rest = startDemoProcess(t, ['--without', 'accounts'], { ACCOUNTS_PORT: accountsPort });
  const [, url] = await rest.printed(/serving the demo graph at (http:\/\/\S+)/);
  assert.doesNotMatch(rest.output(), /demo service accounts/, 'accounts is not started by the --without process');

  const before = await gql(url!, TOUR_QUERY);
  assert.equal(before.status, 200);
  assert.equal(before.body.errors, undefined);
  assert.deepEqual(before.body.data!.reviews[0].author, { name: 'Grace Dijkstra', username: 'grace2' });

  accounts.child.kill('SIGINT');
  assert.equal(await accounts.exited, 0);

  const after = await gql(url!, TOUR_QUERY);
  assert.equal(after.status, 200, 'the response carries data');
  assert.equal(after.body.data!.reviews.length, 3);
  for (const review of after.body.data!.reviews) {
    assert.equal(review.author, null);
    assert.equal(typeof review.body, 'string');
    assert.equal(typeof review.product.averageRating, 'number', 'the other subgraphs still answer');
  }
  assert.deepEqual(after.body.errors![0], {
    message: 'Subgraph "accounts" is unavailable',
    locations: [{ line: 1, column: 44 }],
    path: ['reviews', 0, 'author', 'name'],
    extensions: { code: 'SOURCE_UNAVAILABLE', subgraph: 'accounts' },
  });
});

test('npm start -- --without accounts with accounts running nowhere: exits 1 and says to start it first', async (t) => {
  // Port 1: nothing listens there, so accounts' introspection is refused at once.
  const demo = startDemoProcess(t, ['--without', 'accounts'], { ACCOUNTS_PORT: '1' });
  assert.equal(await demo.exited, 1);
  assert.match(demo.output(), /tessera: cannot start \(\w+\):\n {2}- .*accounts/);
  assert.match(demo.output(), /Not started here \(--without\): accounts\. Start it first, in another terminal: npm start -- --only accounts/);
});

test('npm start -- --without with a name that is not a demo service: exits 2 and lists the services', async (t) => {
  const demo = startDemoProcess(t, ['--without', 'acounts']);
  assert.equal(await demo.exited, 2);
  assert.match(demo.output(), /demo: no demo service "acounts" \(there are: accounts, catalog, inventory, reviews\)/);
});
