/**
 * `tessera serve --workers 2` with `admin:`: every worker opens the admin
 * listener (node:cluster shares its port), and whichever worker an admin
 * request lands on answers for the whole process group, through the cluster
 * primary (src/server/admin-group.ts, src/store/cluster-group.ts): the status
 * page's JSON merges both workers' rings, a log level and a sampling window
 * are applied by both.
 *
 * Which worker answers: every request goes on a connection of its own, and
 * the primary hands each new connection to the next worker in turn (round
 * robin), as in cli-workers.test.ts and metrics-workers.test.ts. That both
 * workers served is checked from the upstream's side (each worker has its
 * own connection pool, so the upstream sees one socket per worker) and from
 * the log lines, which carry the pid of the worker that wrote them.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from 'undici';
import { freePort, requestOnce, serveTessera, startGraphqlUpstream, tempProject, type ServedTessera } from '../kit/index.js';

const SDL = 'type Query { hello: String }';

const DESCRIPTOR = `
name: shop
kind: graphql
url: \${SHOP_URL}
source: ./shop.graphql
`;

/** A request on a connection of its own (the kit's requestOnce), its body read as JSON. */
async function once(url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const { status, text } = await requestOnce(url, body);
  return { status, json: JSON.parse(text) };
}

interface Line {
  level: number;
  pid?: number;
  msg: string;
  [field: string]: any;
}

/** The JSON log lines the workers wrote so far (the primary's own output is plain text). */
function lines(serve: ServedTessera): Line[] {
  return serve
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

/**
 * Resolves once the workers' log lines satisfy `done` (checked now and at each output), with the lines that do.
 * Lines that never come leave it waiting: the test's `timeout` turns that into a failure.
 */
function logged(serve: ServedTessera, done: (lines: Line[]) => boolean): Promise<Line[]> {
  return new Promise((resolve) => {
    const check = (): void => {
      const now = lines(serve);
      if (!done(now)) return;
      serve.child.stdout!.off('data', check);
      resolve(now);
    };
    serve.child.stdout!.on('data', check);
    check();
  });
}

const pids = (found: Line[]): Set<number | undefined> => new Set(found.map((line) => line.pid));

async function start(t: Parameters<typeof tempProject>[0]) {
  /** The gateway socket (its port) of every upstream call. */
  const sockets = new Set<number>();
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: { hello: (_: unknown, __: unknown, ctx: { req: IncomingMessage }) => (sockets.add(ctx.req.socket.remotePort!), 'hello') },
  });
  const adminPort = await freePort();
  const gateway = `
server: { host: 127.0.0.1, port: 0 }
descriptors: ./subgraphs
logging: { level: info, requests: false }
admin: { port: ${adminPort} }
`;
  const dir = tempProject(t, { 'gateway.yaml': gateway, 'subgraphs/subgraph.yaml': DESCRIPTOR, 'subgraphs/shop.graphql': SDL });
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { SHOP_URL: upstream.url, LOG_LEVEL: 'info' });
  const url = await serve.url;
  return { serve, url, admin: `http://127.0.0.1:${adminPort}`, sockets };
}

test('tessera serve --workers 2: one request to /_tessera/api on the admin port shows the traffic of both workers', async (t) => {
  const { url, admin, sockets } = await start(t);
  const hello = 8;
  for (let i = 0; i < hello; i++) assert.equal((await once(url, { query: 'query Hello { hello }' })).status, 200);
  assert.ok(sockets.size >= 2, `the upstream calls came over ${sockets.size} socket(s): both workers should have served`);

  const { status, json: snapshot } = await once(`${admin}/_tessera/api`);
  assert.equal(status, 200);
  assert.equal(snapshot.workers, 2);
  assert.equal(snapshot.missing, 0);
  const shop = snapshot.subgraphs.find((s: { name: string }) => s.name === 'shop');
  const total = (counts: number[]): number => counts.reduce((a, b) => a + b, 0);
  assert.equal(total(shop.series.count), hello, 'the upstream calls of both workers, in one count');
  assert.equal(shop.series.recent.count, hello);
  assert.equal(typeof shop.series.recent.p99, 'number', 'a p99 from the merged histograms');
  assert.equal(total(snapshot.channels.find((c: { name: string }) => c.name === 'default').series.count), hello, 'the gateway requests of both workers');
  assert.equal(shop.instances[0].breaker, 'closed');

  // GET /admin/status: both workers asked, whichever answers.
  const read = await once(`${admin}/admin/status`);
  assert.equal(read.status, 200);
  assert.equal(read.json.workers.length, 2);
  assert.deepEqual(read.json.missing, []);
  assert.equal(read.json.subgraphs[0].instances[0].breaker, 'closed');
});

/** A guard against a wait for log lines that never come, not a measure: the test takes a few seconds. */
const NEVER = { timeout: 120_000 };

test('tessera serve --workers 2: a log-level POST makes both workers log at debug, a sample POST samples the calls of both', NEVER, async (t) => {
  const { url, admin, serve } = await start(t);

  const raised = await once(`${admin}/admin/log-level`, { level: 'debug', durationSeconds: 300 });
  assert.equal(raised.status, 200);
  assert.equal(raised.json.level, 'debug', "the receiving worker's level");
  assert.equal(raised.json.workers.length, 2, 'applied by both workers');
  assert.deepEqual(
    raised.json.workers.map((w: { level: string }) => w.level),
    ['debug', 'debug'],
  );
  assert.deepEqual(raised.json.missing, []);
  const workerPids = new Set<number>(raised.json.workers.map((w: { pid: number }) => w.pid));
  // The GET form, on another connection (so another worker): its own level, and the group's.
  const level = await once(`${admin}/admin/log-level`);
  assert.deepEqual(
    level.json.workers.map((w: { level: string }) => w.level),
    ['debug', 'debug'],
  );

  // A document not seen before: each worker's router decides (and logs at debug) once per document.
  for (let i = 0; i < 4; i++) assert.equal((await once(url, { query: `query Debug${i} { hello }` })).status, 200);
  const debug = await logged(serve, (found) => pids(found.filter((l) => l.level === 20)).size === 2);
  assert.deepEqual(pids(debug.filter((l) => l.level === 20)), workerPids, 'debug lines from both workers, with their pids');

  const opened = await once(`${admin}/admin/sample`, { subgraph: 'shop', maxBodies: 10 });
  assert.equal(opened.status, 200);
  assert.equal(opened.json.subgraph, 'shop');
  assert.deepEqual(
    opened.json.workers.map((w: { subgraph: string; maxBodies: number }) => [w.subgraph, w.maxBodies]),
    [
      ['shop', 10],
      ['shop', 10],
    ],
  );
  const windows = await once(`${admin}/admin/sample`);
  assert.deepEqual(
    windows.json.workers.map((w: { sampling: unknown[] }) => w.sampling.length),
    [1, 1],
  );
  for (let i = 0; i < 4; i++) assert.equal((await once(url, { query: 'query Sampled { hello }' })).status, 200);
  const sampled = await logged(serve, (found) => pids(found.filter((l) => l.msg === 'upstream body sample')).size === 2);
  assert.deepEqual(pids(sampled.filter((l) => l.msg === 'upstream body sample')), workerPids, 'sampled calls from both workers, each line with its pid');
});

test('tessera serve --workers 2 with the cluster primary stopped (SIGSTOP): a worker answers an admin request for itself alone, says so in groupError and logs a warning (docs/reliability.md row 43)', NEVER, async (t) => {
  const { admin, serve } = await start(t);
  // A kept-alive connection: it stays with the worker the primary handed it to, which a stopped primary cannot do for a new one.
  const client = new Client(admin, { pipelining: 1 });
  t.after(() => client.destroy());
  const get = async (path: string): Promise<{ status: number; json: any }> => {
    const response = await client.request({ method: 'GET', path });
    return { status: response.statusCode, json: await response.body.json() };
  };
  const before = await get('/admin/log-level');
  assert.equal(before.json.workers.length, 2, 'the whole group answers while the primary runs');

  const primary = serve.child.pid!;
  process.kill(primary, 'SIGSTOP');
  try {
    const alone = await get('/admin/log-level');
    assert.equal(alone.status, 200, 'answered all the same');
    assert.match(alone.json.groupError, /the cluster primary did not answer .*this answer is worker \d+'s alone/);
    assert.deepEqual(
      alone.json.workers.map((w: { pid: number }) => w.pid),
      [alone.json.pid],
      'the receiving worker alone',
    );
    const page = await get('/_tessera/api');
    assert.equal(page.status, 200);
    assert.match(page.json.groupError, /the cluster primary did not answer/, 'the status page says whose figures it shows');
    assert.equal(page.json.workers, 1);
  } finally {
    process.kill(primary, 'SIGCONT');
  }
  const warned = await logged(serve, (found) => found.some((l) => l.level === 40 && /admin: the cluster primary did not answer/.test(l.msg)));
  assert.ok(warned.some((l) => /restart tessera serve/.test(l.msg)), 'the warning says what to do');
  const after = await get('/admin/log-level');
  assert.equal(after.json.workers.length, 2, 'the group answers again once the primary runs');
});
