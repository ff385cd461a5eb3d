/**
 * Throughput of one query through Tessera: uncached vs answered from the
 * response cache, and the cost of the rate-limit plugin on an uncached query
 * with the memory store and with Redis (REDIS_URL, default
 * redis://127.0.0.1:6379; skipped if unreachable). Everything runs on
 * 127.0.0.1: a GraphQL upstream in a child process, the gateway in this
 * process, autocannon in a worker thread.
 *
 *   npx tsx bench/cache-ratelimit.ts            # 3 rounds × 10 s per scenario, 10 connections
 *   BENCH_SECONDS=20 BENCH_ROUNDS=5 BENCH_CONNECTIONS=50 npx tsx bench/cache-ratelimit.ts
 *
 * Dedupe is off in every scenario, so "uncached" means one upstream call per
 * request; a last scenario shows what dedupe (on by default) adds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createGateway, type Gateway } from '../src/index.js';
import type { GatewayFileInput } from '../src/config/gateway.js';
import type { StoreConfig } from '../src/config/store.js';
import { median } from './lib/load.js';
import { REDIS_URL, redisReachable } from '../test/kit/redis.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QUERY = JSON.stringify({ query: '{ products(first: 5) { id name price } }' });

const SDL = `type Product { id: ID! name: String! price: Int! } type Query { products(first: Int): [Product!]! }`;

/** The upstream, in its own process so it does not share this event loop. */
async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  if (process.argv[2] === 'upstream') throw new Error('unreachable');
  const child = fork(fileURLToPath(import.meta.url), ['upstream'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/graphql`, child };
}

async function runUpstream(): Promise<void> {
  const { createSchema, createYoga } = await import('graphql-yoga');
  const { createServer } = await import('node:http');
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: SDL,
      resolvers: { Query: { products: (_: unknown, { first }: { first?: number }) => Array.from({ length: first ?? 5 }, (_v, i) => ({ id: `p${i}`, name: `product ${i}`, price: i * 10 })) } },
    }),
    logging: false,
    graphiql: false,
  });
  const server = createServer(yoga);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('disconnect', () => process.exit(0));
}

interface Scenario {
  name: string;
  gateway: GatewayFileInput;
  cache?: Record<string, string>;
}

async function measure(url: string, durationSec: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: QUERY,
    connections: CONNECTIONS,
    duration: durationSec,
    workers: 1,
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

/**
 * What the rate-limit plugin adds per operation, without HTTP noise: the mean
 * time of one limiter check (sequential, so it is latency, not throughput).
 */
async function limiterCost(redis: boolean, prefix: string): Promise<void> {
  const { Limiter } = await import('../src/plugins/limiter.js');
  const { createStores } = await import('../src/store/index.js');
  const { createLogger } = await import('../src/logger.js');
  const stores = createStores(createLogger('silent'));
  const locations: Array<[string, StoreConfig]> = [['memory', { url: 'memory', prefix, timeout: 50, writeAttempts: 3 }]];
  if (redis) locations.push(['Redis', { url: REDIS_URL, prefix, timeout: 50, writeAttempts: 3 }]);
  const rows: Array<Record<string, string | number>> = [];
  for (const [name, store] of locations) {
    const limiter = new Limiter({ name: 'bench', limit: 1_000_000_000, windowMs: 60_000, store, stores, onStoreError: 'open', failOpenRatio: 0.1 });
    await stores.connected();
    const count = name === 'memory' ? 50_000 : 5_000;
    for (let i = 0; i < 1000; i++) await limiter.consume(`warm|c=${i % 10}`);
    const started = performance.now();
    for (let i = 0; i < count; i++) await limiter.consume(`bench|c=${i % 100}`);
    const micros = ((performance.now() - started) * 1000) / count;
    rows.push({ store: name, checks: count, 'µs per check': Number(micros.toFixed(1)) });
  }
  await stores.close();
  console.log('Rate-limit check per operation (sequential, in process):');
  console.table(rows);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'upstream') return runUpstream();
  const upstream = await startUpstream();
  const redis = await redisReachable();
  const prefix = `tessera-bench:${randomUUID()}:`;
  const noDedupe = { dedupe: false };
  const allowAll = { rules: [{ name: 'bench', by: 'consumer' as const, limit: 1_000_000_000, window: '1m' }] };
  const scenarios: Scenario[] = [
    { name: 'uncached (no rate limit)', gateway: { cache: noDedupe } },
    { name: 'cached, memory store', gateway: { cache: noDedupe }, cache: { Product: '60s' } },
    ...(redis ? [{ name: 'cached, Redis store', gateway: { store: { url: REDIS_URL, prefix }, cache: noDedupe }, cache: { Product: '60s' } }] : []),
    { name: 'uncached + rate limit, memory', gateway: { cache: noDedupe, rateLimit: allowAll } },
    ...(redis ? [{ name: 'uncached + rate limit, Redis', gateway: { store: { url: REDIS_URL, prefix }, cache: noDedupe, rateLimit: allowAll } }] : []),
    { name: 'uncached, dedupe on (default)', gateway: {} },
  ];
  console.log(`${ROUNDS} rounds × ${SECONDS}s per scenario (interleaved; median shown), ${CONNECTIONS} connections, POST ${QUERY}${redis ? '' : `\n(Redis not reachable at ${REDIS_URL}: Redis scenarios skipped)`}`);
  const gateways: Array<{ gw: Gateway; url: string }> = [];
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const scenario of scenarios) {
      const gw = await createGateway({
        gateway: { logging: { level: 'silent' }, ...scenario.gateway },
        descriptors: [{ name: 'shop', kind: 'graphql', url: upstream.url, cache: scenario.cache ?? {} }],
      });
      gateways.push({ gw, url: (await gw.listen(0, '127.0.0.1')).url });
    }
    // Warm-up: JIT, connection pools, the upstream.
    for (const { url } of gateways) await measure(url, Math.min(3, SECONDS));
    const results = scenarios.map(() => [] as Array<Awaited<ReturnType<typeof measure>>>);
    // Rounds interleave the scenarios, so a burst of load from elsewhere on the machine hits them all alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, { url }] of gateways.entries()) results[i]!.push(await measure(url, SECONDS));
    }
    scenarios.forEach((scenario, i) => {
      const runs = results[i]!;
      rows.push({
        scenario: scenario.name,
        'req/s': Math.round(median(runs.map((r) => r.rps))),
        'p50 ms': median(runs.map((r) => r.p50)),
        'p99 ms': median(runs.map((r) => r.p99)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
      });
    });
  } finally {
    await Promise.all(gateways.map(({ gw }) => gw.close()));
  }
  const base = Number(rows[0]!['req/s']);
  for (const row of rows) row['vs uncached'] = `${((Number(row['req/s']) / base - 1) * 100).toFixed(1)}%`;
  console.table(rows);
  await limiterCost(redis, prefix);
  if (redis) {
    const client = new Redis(REDIS_URL);
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  }
  upstream.child.kill();
}

await main();
