/**
 * An instance killed under load (issue 19's measurement), bounded: one
 * GraphQL subgraph with two instances (child processes, test/fixtures/graphql/instance.ts),
 * ten closed-loop clients for 30 s; at 10 s one instance is killed with
 * SIGKILL, at 15 s started again on the same port. Prints, before / during /
 * after the outage: client requests, errors (any answer with `errors` or not
 * 200), p50 and p99 latency, and the retry amplification (upstream attempts ÷
 * client requests). Not a test: nothing is asserted.
 *
 *   npx tsx bench/traffic-failover.ts
 *   BENCH_SECONDS=60 BENCH_CLIENTS=20 npx tsx bench/traffic-failover.ts
 *   BENCH_DESCRIPTOR='{"outliers":false}' npx tsx bench/traffic-failover.ts   # keys merged into the descriptor
 *
 * The gateway runs in this process (with the clients, over loopback), with
 * dedupe off so that each request is one upstream call; the outage lasts a
 * sixth of the run, from a third of it.
 */
import { Pool } from 'undici';
import { createGateway } from '../src/index.js';
import { upstreamChannel, type UpstreamEvent } from '../src/transport/stages/observe.js';
import { breakerChannel, type BreakerEvent } from '../src/transport/breaker.js';
import { startUpstreamProcess } from '../test/kit/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const EXTRA = JSON.parse(process.env.BENCH_DESCRIPTOR ?? '{}') as Record<string, unknown>;
const BODY = JSON.stringify({ query: '{ hello instance }' });

type Phase = 'before' | 'during' | 'after';
const phases: Record<Phase, { latencies: number[]; errors: number; attempts: number; samples: string[] }> = {
  before: { latencies: [], errors: 0, attempts: 0, samples: [] },
  during: { latencies: [], errors: 0, attempts: 0, samples: [] },
  after: { latencies: [], errors: 0, attempts: 0, samples: [] },
};
let phase: Phase = 'before';

const a = await startUpstreamProcess(undefined, 'graphql/instance.ts', ['a'], '/graphql');
const b = await startUpstreamProcess(undefined, 'graphql/instance.ts', ['b'], '/graphql');
const gateway = await createGateway({
  // Dedupe off: identical concurrent queries would share one upstream call, and every call here is the same query.
  gateway: { logging: { level: 'silent' }, cache: { dedupe: false } },
  descriptors: [{ kind: 'graphql', name: 'bench', upstreams: [{ url: a.url }, { url: b.url }], ...EXTRA }],
});
const { url } = await gateway.listen(0, '127.0.0.1');
const onAttempt = (message: unknown): void => {
  if ((message as UpstreamEvent).subgraph === 'bench') phases[phase].attempts++;
};
upstreamChannel.subscribe(onAttempt);
const breakerLog: string[] = [];
const started = performance.now();
const onBreaker = (message: unknown): void => {
  const e = message as BreakerEvent;
  breakerLog.push(`${((performance.now() - started) / 1000).toFixed(2)} s  ${e.instance === a.url ? 'a' : 'b'} ${e.state}${e.cause ? ` (${e.cause}${e.openForMs ? `, ${e.openForMs} ms` : ''})` : ''}`);
};
breakerChannel.subscribe(onBreaker);

const pool = new Pool(new URL(url).origin, { connections: CLIENTS });
const path = new URL(url).pathname;
let running = true;
async function client(): Promise<void> {
  while (running) {
    const current = phase;
    const t0 = performance.now();
    let failed: string | undefined;
    try {
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: BODY });
      const text = await res.body.text();
      if (res.statusCode !== 200 || text.includes('"errors"')) failed = text.slice(0, 200);
    } catch (error) {
      failed = (error as Error).message;
    }
    const stats = phases[current];
    stats.latencies.push(performance.now() - t0);
    if (failed) {
      stats.errors++;
      if (stats.samples.length < 3) stats.samples.push(failed);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const clients = Array.from({ length: CLIENTS }, () => client());
await sleep((SECONDS * 1000) / 3);
phase = 'during';
await a.kill();
await sleep((SECONDS * 1000) / 6);
await a.start();
phase = 'after';
await sleep(SECONDS * 1000 - (SECONDS * 1000) / 3 - (SECONDS * 1000) / 6);
running = false;
await Promise.all(clients);

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(`two instances, ${CLIENTS} clients, ${SECONDS} s; instance a killed (SIGKILL) at ${(SECONDS / 3).toFixed(1)} s, started again at ${(SECONDS / 2).toFixed(1)} s`);
console.log(`descriptor extra keys: ${JSON.stringify(EXTRA)}`);
console.log('phase    requests  errors  error rate   p50 ms   p99 ms   upstream attempts / request');
let total = 0;
let errors = 0;
let attempts = 0;
for (const [name, stats] of Object.entries(phases)) {
  const sorted = [...stats.latencies].sort((x, y) => x - y);
  total += sorted.length;
  errors += stats.errors;
  attempts += stats.attempts;
  console.log(
    `${name.padEnd(8)} ${String(sorted.length).padStart(8)}  ${String(stats.errors).padStart(6)}  ${((stats.errors / Math.max(1, sorted.length)) * 100).toFixed(3).padStart(9)}%  ${quantile(sorted, 0.5).toFixed(2).padStart(7)}  ${quantile(sorted, 0.99).toFixed(2).padStart(7)}   ${(stats.attempts / Math.max(1, sorted.length)).toFixed(3)}`,
  );
  for (const sample of stats.samples) console.log(`         e.g. ${sample}`);
}
console.log(`all      ${String(total).padStart(8)}  ${String(errors).padStart(6)}  ${((errors / Math.max(1, total)) * 100).toFixed(3).padStart(9)}%                     ${(attempts / Math.max(1, total)).toFixed(3)}`);
console.log('breaker of each instance:');
for (const line of breakerLog) console.log(`  ${line}`);

upstreamChannel.unsubscribe(onAttempt);
breakerChannel.unsubscribe(onBreaker);
await pool.close();
await gateway.close();
await Promise.all([a.kill(), b.kill()]);
