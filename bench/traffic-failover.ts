/**
 * An instance failing under load (issue 19's measurement), bounded: one
 * GraphQL subgraph with two instances (child processes, test/fixtures/graphql/instance.ts),
 * ten closed-loop clients for 30 s. Two faults, chosen by BENCH_FAULT:
 *
 * - `kill` (default): at 10 s one instance is killed with SIGKILL, at 15 s
 *   started again on the same port.
 * - `slow`: at 10 s one instance starts answering every call after
 *   BENCH_SLOW_MS (default 1000 ms, over the descriptor's `timeout`,
 *   BENCH_TIMEOUT, default 250 ms), at 15 s it is fast again. Half the
 *   clients query a second subgraph (one instance of its own, `steady`) that
 *   nothing happens to: the unaffected operations.
 *
 * Prints, per operation and per phase (before / during / after the fault):
 * client requests, errors (any answer with `errors` or not 200) and the
 * client error rate, p50, p99 and max latency, and the retry amplification
 * (upstream attempts ÷ client requests). With `slow`: how many affected
 * requests took longer than timeout + 50 ms, and the unaffected operation's
 * p99 during the fault against before it. Not a test: nothing is asserted.
 *
 *   npx tsx bench/traffic-failover.ts
 *   BENCH_FAULT=slow npx tsx bench/traffic-failover.ts
 *   BENCH_SECONDS=60 BENCH_CLIENTS=20 npx tsx bench/traffic-failover.ts
 *   BENCH_DESCRIPTOR='{"outliers":false}' npx tsx bench/traffic-failover.ts   # keys merged into the faulty subgraph's descriptor
 *
 * The gateway runs in this process (with the clients, over loopback), with
 * dedupe off so that each request is one upstream call; the fault lasts a
 * sixth of the run, from a third of it, after a warm-up (BENCH_WARMUP ms,
 * default 3000) that is not counted. Times are from the end of the warm-up.
 */
import { Pool } from 'undici';
import { createGateway } from '../src/index.js';
import { upstreamChannel, type UpstreamEvent } from '../src/transport/stages/observe.js';
import { breakerChannel, type BreakerEvent } from '../src/transport/breaker.js';
import { startUpstreamProcess } from '../test/kit/index.js';

const FAULT = process.env.BENCH_FAULT ?? 'kill';
if (FAULT !== 'kill' && FAULT !== 'slow') throw new Error(`BENCH_FAULT: expected kill or slow, got ${FAULT}`);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT ?? 250);
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 1000);
/** Load before the run, not counted (JIT, connections), ms. */
const WARMUP_MS = Number(process.env.BENCH_WARMUP ?? 3000);
const EXTRA = JSON.parse(process.env.BENCH_DESCRIPTOR ?? '{}') as Record<string, unknown>;

type Phase = 'before' | 'during' | 'after';
const PHASES: Phase[] = ['before', 'during', 'after'];
interface Stats {
  latencies: number[];
  errors: number;
  attempts: number;
  samples: string[];
}
const stats = (): Record<Phase, Stats> => ({
  before: { latencies: [], errors: 0, attempts: 0, samples: [] },
  during: { latencies: [], errors: 0, attempts: 0, samples: [] },
  after: { latencies: [], errors: 0, attempts: 0, samples: [] },
});
/** The operations the clients send: the faulty subgraph's, and with `slow` the steady one's (every other client). */
const operations = {
  affected: { subgraph: 'bench', body: JSON.stringify({ query: '{ hello instance }' }), phases: stats() },
  unaffected: { subgraph: 'steady', body: JSON.stringify({ query: '{ steadyHello steadyInstance }' }), phases: stats() },
};
type Operation = keyof typeof operations;
let phase: Phase | 'warmup' = 'warmup';

const a = await startUpstreamProcess(undefined, 'graphql/instance.ts', ['a'], '/graphql');
const b = await startUpstreamProcess(undefined, 'graphql/instance.ts', ['b'], '/graphql');
const steady = FAULT === 'slow' ? await startUpstreamProcess(undefined, 'graphql/instance.ts', ['steady'], '/graphql') : undefined;
const gateway = await createGateway({
  // Dedupe off: identical concurrent queries would share one upstream call, and every call here is the same query.
  gateway: { logging: { level: 'silent' }, cache: { dedupe: false } },
  descriptors: [
    { kind: 'graphql', name: 'bench', upstreams: [{ url: a.url }, { url: b.url }], ...(FAULT === 'slow' && { timeout: TIMEOUT_MS }), ...EXTRA },
    ...(steady ? [{ kind: 'graphql' as const, name: 'steady', url: steady.url, transforms: { prefix: 'Steady' } }] : []),
  ],
});
const { url } = await gateway.listen(0, '127.0.0.1');
const bySubgraph = new Map(Object.values(operations).map((o) => [o.subgraph, o.phases]));
const onAttempt = (message: unknown): void => {
  const phases = bySubgraph.get((message as UpstreamEvent).subgraph);
  if (phases && phase !== 'warmup') phases[phase].attempts++;
};
upstreamChannel.subscribe(onAttempt);
const breakerLog: string[] = [];
/** When the counted run began (the end of the warm-up). */
let started = performance.now();
const onBreaker = (message: unknown): void => {
  const e = message as BreakerEvent;
  if (e.subgraph !== 'bench') return;
  breakerLog.push(`${((performance.now() - started) / 1000).toFixed(2)} s  ${e.instance === a.url ? 'a' : 'b'} ${e.state}${e.cause ? ` (${e.cause}${e.openForMs ? `, ${e.openForMs} ms` : ''})` : ''}`);
};
breakerChannel.subscribe(onBreaker);

const pool = new Pool(new URL(url).origin, { connections: CLIENTS });
const path = new URL(url).pathname;
let running = true;
async function client(operation: Operation): Promise<void> {
  const { body, phases } = operations[operation];
  while (running) {
    const current = phase;
    const t0 = performance.now();
    let failed: string | undefined;
    try {
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
      const text = await res.body.text();
      if (res.statusCode !== 200 || text.includes('"errors"')) failed = text.slice(0, 200);
    } catch (error) {
      failed = (error as Error).message;
    }
    if (current === 'warmup') continue;
    const s = phases[current];
    s.latencies.push(performance.now() - t0);
    if (failed) {
      s.errors++;
      if (s.samples.length < 3) s.samples.push(failed);
    }
  }
}

const setDelay = async (ms: number): Promise<void> => {
  const res = await fetch(new URL(`/delay?ms=${ms}`, a.url), { method: 'POST' });
  if (res.status !== 204) throw new Error(`instance a refused the delay: ${res.status}`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const clients = Array.from({ length: CLIENTS }, (_, i) => client(FAULT === 'slow' && i % 2 === 1 ? 'unaffected' : 'affected'));
await sleep(WARMUP_MS);
phase = 'before';
started = performance.now();
await sleep((SECONDS * 1000) / 3);
phase = 'during';
if (FAULT === 'kill') await a.kill();
else await setDelay(SLOW_MS);
await sleep((SECONDS * 1000) / 6);
if (FAULT === 'kill') await a.start();
else await setDelay(0);
phase = 'after';
await sleep(SECONDS * 1000 - (SECONDS * 1000) / 3 - (SECONDS * 1000) / 6);
running = false;
await Promise.all(clients);

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const p99 = (latencies: number[]): number => quantile([...latencies].sort((x, y) => x - y), 0.99);
const fault =
  FAULT === 'kill'
    ? `instance a killed (SIGKILL) at ${(SECONDS / 3).toFixed(1)} s, started again at ${(SECONDS / 2).toFixed(1)} s`
    : `instance a answering after ${SLOW_MS} ms (timeout ${TIMEOUT_MS} ms) from ${(SECONDS / 3).toFixed(1)} s to ${(SECONDS / 2).toFixed(1)} s`;
console.log(`two instances, ${CLIENTS} clients, ${SECONDS} s (after ${WARMUP_MS / 1000} s of warm-up, not counted); ${fault}`);
console.log(`descriptor extra keys: ${JSON.stringify(EXTRA)}`);
for (const [name, operation] of Object.entries(operations)) {
  if (name === 'unaffected' && FAULT !== 'slow') continue;
  console.log(`\n${name} operation (subgraph ${operation.subgraph})`);
  console.log('phase    requests  errors  error rate   p50 ms   p99 ms   max ms   upstream attempts / request');
  let total = 0;
  let errors = 0;
  let attempts = 0;
  for (const p of PHASES) {
    const s = operation.phases[p];
    const sorted = [...s.latencies].sort((x, y) => x - y);
    total += sorted.length;
    errors += s.errors;
    attempts += s.attempts;
    console.log(
      `${p.padEnd(8)} ${String(sorted.length).padStart(8)}  ${String(s.errors).padStart(6)}  ${((s.errors / Math.max(1, sorted.length)) * 100).toFixed(3).padStart(9)}%  ${quantile(sorted, 0.5).toFixed(2).padStart(7)}  ${quantile(sorted, 0.99).toFixed(2).padStart(7)}  ${(sorted.at(-1) ?? 0).toFixed(2).padStart(7)}   ${(s.attempts / Math.max(1, sorted.length)).toFixed(3)}`,
    );
    for (const sample of s.samples) console.log(`         e.g. ${sample}`);
  }
  console.log(`all      ${String(total).padStart(8)}  ${String(errors).padStart(6)}  ${((errors / Math.max(1, total)) * 100).toFixed(3).padStart(9)}%                              ${(attempts / Math.max(1, total)).toFixed(3)}`);
}
if (FAULT === 'slow') {
  const bound = TIMEOUT_MS + 50;
  const during = operations.affected.phases.during.latencies;
  const over = during.filter((ms) => ms > bound).length;
  console.log(`\naffected, during the fault: ${over} of ${during.length} requests took over timeout + 50 ms (${bound} ms); max ${Math.max(0, ...during).toFixed(2)} ms`);
  const base = p99(operations.unaffected.phases.before.latencies);
  const hit = p99(operations.unaffected.phases.during.latencies);
  console.log(`unaffected p99: before ${base.toFixed(2)} ms, during ${hit.toFixed(2)} ms (${(((hit - base) / Math.max(base, 1e-9)) * 100).toFixed(1)}% against before)`);
}
console.log('\nbreaker of each instance of the faulty subgraph:');
for (const line of breakerLog) console.log(`  ${line}`);

upstreamChannel.unsubscribe(onAttempt);
breakerChannel.unsubscribe(onBreaker);
await pool.close();
await gateway.close();
await Promise.all([a.kill(), b.kill(), steady?.kill()]);
