/**
 * The fleet on loopback (`npm run test:fleet`; CI runs it after `npm test`):
 * a redis-server of its own (never the machine's shared one on 6379), three
 * `tessera serve` replicas as real processes (test/e2e/fleet/command.ts: the
 * image's command), and a round-robin balancer in node:http in front, which
 * does what a Kubernetes Service and its proxies do: it sends nothing to a
 * replica whose /readyz does not answer 200, takes a replica out before it is
 * signalled (the endpoints removal during preStop), and tries the next replica
 * when a connection is refused (nothing was sent). Under bounded load:
 *
 *   shared state   rate limit across replicas, cache, APQ        (docs/statelessness.md)
 *   (a) publish    `tessera publish` of a new descriptor version reaches every replica (pub/sub)
 *   (b) restarts   SIGTERM one replica (no request lost), SIGKILL another (only its in-flight fail)
 *   (c) Redis      stopped a few seconds: fail open, then shared again without a restart
 *                  (docs/reliability.md rows 64, 65, 66)
 *
 * It prints the figures (requests, failures by cause, limit accuracy,
 * propagation and recovery times). It asserts no time: waits are bounded polls.
 * Named *.e2e.ts so that `npm test` (every *.test.ts) does not run it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort, runTessera, startGraphqlUpstream, tempProject } from '../../kit/index.js';
import { startOwnRedis } from '../../kit/redis.js';
import { replicaArgv } from './command.js';

const LIMIT = 100;
/** Long enough for a replica to be signalled while some of these are in flight on it. */
const SLOW_MS = 2500;
/** The endpoints removal before the signal (Kubernetes: while the preStop sleep runs). */
const PRESTOP_MS = 1000;

const SDL_V1 = 'type Product { id: ID! name: String! }\ntype Query { product(id: ID!): Product slow(ms: Int!): String }\n';
const SDL_V2 = 'type Product { id: ID! name: String! price: Float }\ntype Query { product(id: ID!): Product slow(ms: Int!): String }\n';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const until = async (what: string, check: () => Promise<boolean> | boolean, waitMs = 60_000): Promise<void> => {
  const end = Date.now() + waitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting (${waitMs} ms): ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** One POST on a connection of its own (as the balancer's each request): the answer, or the socket error. */
function post(port: number, path: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Answer['body'] });
        } catch {
          resolve({ status: res.statusCode!, headers: res.headers, body: { errors: [{ message: text }] } });
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

class Replica {
  child?: ChildProcess;
  log = '';
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async start(): Promise<void> {
    const [node, ...args] = replicaArgv();
    const child = spawn(node!, args, { env: { ...process.env, ...this.env, PORT: String(this.port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        this.log += c.toString();
        if (out.includes('tessera: serving')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`replica ${this.name} exited (${code}) before serving:\n${this.log}`)));
    });
  }

  /** When it last exited (epoch ms). */
  exitedAt = 0;

  /** Signals it and resolves with its exit code (or signal), once it has exited. */
  stop(signal: NodeJS.Signals): Promise<number | string | null> {
    const child = this.child!;
    return new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        this.exitedAt = Date.now();
        resolve(code ?? sig);
      });
      child.kill(signal);
    });
  }
}

interface Sent {
  replica: string;
  at: number;
}

/** The round-robin balancer: /readyz-checked backends, taken out on request, the next one tried on a refused connection. */
async function balancer(t: TestContext, replicas: Replica[]) {
  const ready = new Map(replicas.map((r) => [r.name, false]));
  const out = new Set<string>();
  let next = 0;
  let stopped = false;
  const check = async (replica: Replica) => {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port: replica.port, path: '/readyz', agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    ready.set(replica.name, ok);
  };
  const health = (async () => {
    while (!stopped) {
      await Promise.all(replicas.map(check));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const candidates = () => replicas.filter((r) => ready.get(r.name) && !out.has(r.name));
      const attempt = (tries: number): void => {
        const live = candidates();
        if (live.length === 0 || tries > replicas.length) {
          res.writeHead(503, { 'x-fleet-failure': 'no-replica' }).end();
          return;
        }
        const replica = live[next++ % live.length]!;
        const sent: Sent = { replica: replica.name, at: Date.now() };
        const upstream = request({ host: '127.0.0.1', port: replica.port, path: req.url, method: req.method, headers: req.headers, agent: false }, (answer) => {
          res.writeHead(answer.statusCode!, { ...answer.headers, 'x-fleet-replica': replica.name });
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        });
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED') {
            // Nothing was sent: safe to send elsewhere, and this one is not ready.
            ready.set(replica.name, false);
            attempt(tries + 1);
          } else if (!res.headersSent) {
            res.writeHead(502, { 'x-fleet-failure': error.code ?? 'error', 'x-fleet-replica': sent.replica, 'x-fleet-sent': String(sent.at) }).end();
          } else res.destroy();
        });
        upstream.end(body);
      };
      attempt(1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    stopped = true;
    await health;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as AddressInfo).port,
    /** Every replica ready (after a start or a restart). */
    ready: (name?: string) => until(`${name ?? 'every replica'} ready at the balancer`, () => (name ? ready.get(name)! : [...ready.values()].every(Boolean))),
    takeOut: (name: string) => out.add(name),
    putBack: (name: string) => out.delete(name),
  };
}

/** Bounded load through the balancer: cacheable and slow queries from several clients, each outcome kept with its cause. */
function load(port: number, clients: number) {
  const outcomes: Array<{ ok: boolean; cause: string; replica?: string; sentAt: number; endedAt: number }> = [];
  let running = true;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      const slow = i % 4 === 0;
      const query = slow ? `{ slow(ms: ${SLOW_MS}) }` : `{ product(id: "${(c * 7 + i) % 20}") { id name } }`;
      const sentAt = Date.now();
      try {
        const answer = await post(port, '/graphql', { query });
        const replica = answer.headers['x-fleet-replica'] as string | undefined;
        const failure = answer.headers['x-fleet-failure'] as string | undefined;
        const code = answer.body.errors?.[0]?.extensions?.code;
        if (answer.status === 200 && answer.body.data && !answer.body.errors) outcomes.push({ ok: true, cause: 'ok', replica, sentAt, endedAt: Date.now() });
        else outcomes.push({ ok: false, cause: failure ?? `HTTP ${answer.status} ${code ?? answer.body.errors?.[0]?.message ?? ''}`, replica, sentAt: Number(answer.headers['x-fleet-sent'] ?? sentAt), endedAt: Date.now() });
      } catch (error) {
        outcomes.push({ ok: false, cause: `client ${(error as NodeJS.ErrnoException).code}`, sentAt, endedAt: Date.now() });
      }
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
    failures(from: number, to = Infinity) {
      return outcomes.filter((o) => !o.ok && o.endedAt >= from && o.sentAt <= to);
    },
  };
}

test('three replicas behind a balancer share state through Redis, and survive a publish, a SIGTERM, a SIGKILL and a Redis outage', async (t) => {
  const figures: Record<string, unknown> = {};
  const started = Date.now();
  const phases: Record<string, number> = {};
  const phase = (name: string) => (phases[name] = Math.round((Date.now() - started) / 100) / 10);
  const redis = await startOwnRedis(t);
  const upstream = await startGraphqlUpstream(t, SDL_V2, {
    Query: {
      product: (_: unknown, { id }: { id: string }) => ({ id, name: `product ${id}`, price: Number(id) + 0.5 }),
      slow: async (_: unknown, { ms }: { ms: number }) => {
        await new Promise((r) => setTimeout(r, ms));
        return 'slow';
      },
    },
  });
  const dir = tempProject(t, {
    'gateway.yaml': [
      'mode: production',
      'server: { host: 127.0.0.1, port: "${PORT:-0}", shutdownTimeout: 10s }',
      // A generous command timeout: this machine's two cores run three replicas and the load; the outage phase shows the fallback.
      'store: { url: "${REDIS_URL}", timeout: 250ms }',
      // A poll far longer than the test's waits: a publish seen here came by pub/sub.
      'registry: { url: "${REDIS_URL}", poll: 60s }',
      `rateLimit: { onStoreError: open, rules: [{ name: limited, by: [consumer, operation], operations: [Limited], limit: ${LIMIT}, window: 10m }] }`,
      'cache: { debugHeader: true }',
      'security: { cursors: { secret: "fleet-test-cursor-secret-0123456789abcdef" } }',
      'channels: { web: { persistedOperations: { apq: true } } }',
      'logging: { level: info }',
    ].join('\n'),
    'products/subgraph.yaml': `name: products\nkind: graphql\nsource: ./products.graphql\nurl: ${upstream.url}\ncache: { Product: 10m }\n`,
    'products/products.graphql': SDL_V1,
  });
  const env = { TESSERA_CONFIG: join(dir, 'gateway.yaml'), REDIS_URL: redis.url, LOG_LEVEL: 'info' };
  const published = await runTessera(['publish', join(dir, 'products/subgraph.yaml'), '--by', 'fleet-test'], env);
  assert.equal(published.code, 0, published.stdout + published.stderr);

  const replicas = await Promise.all(['r1', 'r2', 'r3'].map(async (name) => new Replica(name, await freePort(), env)));
  t.after(() => {
    for (const r of replicas) if (r.child && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  });
  await Promise.all(replicas.map((r) => r.start()));
  const [r1, r2, r3] = replicas as [Replica, Replica, Replica];
  const lb = await balancer(t, replicas);
  await lb.ready();
  phase('three replicas ready (s)');
  const traffic = load(lb.port, 6);
  t.after(() => traffic.stop());

  // Shared state. The rate limit: 1.5 × the limit through the balancer (round robin over the three).
  const limited: Answer[] = [];
  for (let batch = 0; batch < 15; batch++) {
    limited.push(...(await Promise.all(Array.from({ length: LIMIT / 10 }, () => post(lb.port, '/graphql', { query: 'query Limited { product(id: "1") { id } }' })))));
  }
  const allowed = limited.filter((a) => a.status === 200 && !a.body.errors).length;
  const refused = limited.filter((a) => a.status === 429).length;
  figures['rate limit'] = { limit: LIMIT, sent: limited.length, allowed, refused, accuracy: `${(((allowed - LIMIT) / LIMIT) * 100).toFixed(1)}%`, replicas: new Set(limited.map((a) => a.headers['x-fleet-replica'])).size };
  assert.ok(Math.abs(allowed - LIMIT) <= LIMIT * 0.05, `allowed ${allowed} of a limit of ${LIMIT} across replicas`);
  const other = limited.filter((a) => !(a.status === 200 && !a.body.errors) && a.status !== 429);
  assert.deepEqual(other.map((a) => ({ status: a.status, replica: a.headers['x-fleet-replica'], failure: a.headers['x-fleet-failure'], body: a.body })), [], 'every answer is an allowed one or a 429');
  // The cache: stored by r1, a hit on r2 and r3.
  const cached = '{ product(id: "cache-1") { id name } }';
  assert.equal((await post(r1.port, '/graphql', { query: cached })).headers['x-tessera-cache'], 'MISS');
  for (const r of [r2, r3]) assert.equal((await post(r.port, '/graphql', { query: cached })).headers['x-tessera-cache'], 'HIT', `${r.name} serves r1's cached response`);
  // APQ: registered on r1, found on r2 and r3.
  const apq = 'query Apq { product(id: "apq") { name } }';
  const hash = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(apq) } } };
  assert.deepEqual((await post(r1.port, '/web/graphql', { query: apq, ...hash })).body, { data: { product: { name: 'product apq' } } });
  for (const r of [r2, r3]) assert.deepEqual((await post(r.port, '/web/graphql', hash)).body, { data: { product: { name: 'product apq' } } }, `${r.name} knows the hash`);

  phase('shared state checked (s)');
  // (a) A new version published while the load runs: every replica serves Product.price, by pub/sub.
  const priceQuery = { query: '{ product(id: "1") { price } }' };
  const before = Date.now();
  const v2 = join(dir, 'products/products.graphql');
  writeFileSync(v2, SDL_V2);
  const publish = await runTessera(['publish', join(dir, 'products/subgraph.yaml'), '--by', 'fleet-test', '--reason', 'add price'], env);
  assert.equal(publish.code, 0, publish.stdout + publish.stderr);
  const publishedAt = Date.now();
  const seen = new Map<string, number>();
  await until('every replica serves the published version', async () => {
    for (const r of replicas) {
      if (seen.has(r.name)) continue;
      const answer = await post(r.port, '/graphql', priceQuery);
      if (answer.body.data?.product?.price === 1.5) seen.set(r.name, Date.now());
    }
    return seen.size === replicas.length;
  });
  figures['publish'] = { 'publish command (ms)': publishedAt - before, 'propagation after it ended (ms, the slowest replica)': Math.max(...seen.values()) - publishedAt };
  for (const r of replicas) assert.match(r.log, /published: revision 2/, `${r.name} heard the publish on pub/sub (the poll is 60 s)`);

  phase('publish seen by all (s)');
  // (b) SIGTERM r1, taken out of the balancer first, with slow requests in flight on it: none is lost.
  // Requests in flight on r1 when the signal comes: each holds the upstream for SLOW_MS, longer than the preStop pause.
  const inFlight = Array.from({ length: 3 }, () => post(r1.port, '/graphql', { query: `{ slow(ms: ${SLOW_MS}) }` }));
  lb.takeOut(r1.name);
  const termAt = Date.now();
  await new Promise((r) => setTimeout(r, PRESTOP_MS));
  const exited = r1.stop('SIGTERM');
  for (const answer of await Promise.all(inFlight)) assert.deepEqual(answer.body, { data: { slow: 'slow' } }, 'a request in flight at SIGTERM is answered');
  assert.equal(await exited, 0, 'SIGTERM drains and exits 0');
  await r1.start();
  lb.putBack(r1.name);
  await lb.ready(r1.name);
  const termFailures = traffic.failures(termAt).filter((o) => o.replica === r1.name || !o.replica);
  assert.deepEqual(termFailures, [], 'SIGTERM loses no request');
  const servedDuringDrain = traffic.outcomes.filter((o) => o.ok && o.replica === r1.name && o.endedAt > termAt + PRESTOP_MS).length;
  figures['SIGTERM'] = { 'in flight on r1 at the signal, answered': inFlight.length + servedDuringDrain, failures: termFailures.length };

  // (b) SIGKILL r2 with no warning: only what was in flight on it fails; the rest goes to r1 and r3.
  const killAt = Date.now();
  assert.equal(await r2.stop('SIGKILL'), 'SIGKILL');
  // In flight on r2: sent to it before it was gone (the signal takes effect when the kernel ends the process).
  const diedAt = r2.exitedAt;
  await r2.start();
  await lb.ready(r2.name);
  const killFailures = traffic.failures(killAt);
  for (const failure of killFailures) {
    assert.equal(failure.replica, r2.name, `a failure not on the killed replica: ${JSON.stringify(failure)}`);
    assert.ok(failure.sentAt <= diedAt, `a request sent to r2 after it was gone failed: ${JSON.stringify(failure)}`);
  }
  figures['SIGKILL'] = { 'failed (in flight on r2)': killFailures.length, causes: [...new Set(killFailures.map((f) => f.cause))] };

  phase('SIGTERM and SIGKILL, both restarted (s)');
  // (c) Redis stopped for a few seconds: fail open (queries served, the limit falls back to the local 10% per replica), then shared again.
  const outageStart = Date.now();
  await redis.stop();
  const during: Answer[] = [];
  const outageUntil = Date.now() + 3000;
  while (Date.now() < outageUntil) during.push(await post(lb.port, '/graphql', { query: `{ product(id: "outage-${during.length}") { id } }` }));
  const limitedDuring = await post(lb.port, '/graphql', { query: 'query Limited { product(id: "2") { id } }' });
  assert.ok(during.every((a) => a.status === 200 && a.body.data), 'fail open: every query answered while Redis is down');
  assert.equal(limitedDuring.headers['ratelimit-limit'], String(LIMIT * 0.1), 'the local limit (failOpenRatio 10%) applies while Redis is down');
  await redis.start();
  const back = Date.now();
  // Recovered, each replica without a restart: a response cached through one is a hit on the others again, and the shared limit applies.
  const recovered = new Map<string, number>();
  await until('every replica uses Redis again', async () => {
    for (const r of replicas) {
      if (recovered.has(r.name)) continue;
      const answer = await post(r.port, '/graphql', { query: 'query Limited { product(id: "3") { id } }' });
      if (answer.headers['ratelimit-limit'] === String(LIMIT)) recovered.set(r.name, Date.now());
    }
    return recovered.size === replicas.length;
  });
  const afterOutage = '{ product(id: "after-outage") { id name } }';
  await post(r3.port, '/graphql', { query: afterOutage });
  for (const r of [r1, r2]) assert.equal((await post(r.port, '/graphql', { query: afterOutage })).headers['x-tessera-cache'], 'HIT', `${r.name} shares the cache again`);
  figures['Redis outage'] = {
    'down (ms)': back - outageStart,
    'queries during it': during.length,
    'failed during it': traffic.failures(outageStart, back).length,
    'recovery after Redis returned (ms, the slowest replica)': Math.max(...recovered.values()) - back,
  };
  assert.deepEqual(traffic.failures(outageStart), [], 'no request failed during or after the outage');
  for (const r of replicas) assert.match(r.log, /store available again/, `${r.name} logged the store's return`);

  await traffic.stop();
  phase('Redis outage and recovery (s)');
  figures['timeline'] = phases;
  const causes: Record<string, number> = {};
  for (const o of traffic.outcomes) if (!o.ok) causes[o.cause] = (causes[o.cause] ?? 0) + 1;
  figures['load'] = { requests: traffic.outcomes.length, ok: traffic.outcomes.filter((o) => o.ok).length, 'failures by cause': causes };
  console.log(`fleet figures:\n${JSON.stringify(figures, null, 2)}`);
  assert.ok(traffic.outcomes.filter((o) => !o.ok).every((o) => o.replica === r2.name && o.sentAt <= diedAt), 'every failure of the run was in flight on the SIGKILLed replica');
});
