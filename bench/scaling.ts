/**
 * `npm run bench:scaling`: what more workers give, and what the state they
 * share through the cluster primary costs (README.md, Performance).
 *
 * 1. Scaling: `tessera serve --workers N` for N = 1 .. cores - 1, the gateway
 *    (primary and workers) pinned to cores 1..N and the load generator with the
 *    upstream on core 0, so the gateway never competes with its own load. On a
 *    2-core machine only N = 1 fits (the output says so).
 * 2. The per-worker cost of the shared state, on one core: `tessera serve
 *    --workers 1` (one process, memory stores in process) against a cluster
 *    primary with one worker (bench/one-worker-primary.ts: the stores in the
 *    primary, reached over node:cluster IPC), each with rate limiting and the
 *    response cache off, one of them on, or both. Reported in CPU ms per
 *    request of the whole process group (primary included), the primary's
 *    share beside it.
 *
 * The scenario is the proxy one (bench/lib/scenarios/proxy.ts: one GraphQL
 * subgraph, about 2 KB per answer), dedupe off; with the response cache on,
 * every request after the first is a hit: that row measures the cache lookup
 * (in process, or a round trip to the primary carrying the 2 KB answer).
 *
 *   npm run bench:scaling                          3 alternating rounds x 10 s at 50 connections
 *   npm run bench:scaling -- --rounds 5 --duration 15 --connections 16
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTessera } from './lib/build.js';
import { median, runLoad } from './lib/load.js';
import { freePort } from './lib/cli-target.js';
import { BENCH_DIR, cpuSeconds, family, runMain, spawnNode, spawnRole, watch, type Child } from './lib/proc.js';
import { PROXY_QUERY } from './services/proxy.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string' },
  },
  strict: true,
});
const settings = { durationSec: Number(args.duration), warmupSec: Number(args.warmup), rounds: Number(args.rounds), connections: Number(args.connections) };
if (![settings.durationSec, settings.rounds, settings.connections].every((n) => Number.isInteger(n) && n > 0 && n <= 1000) || !(settings.warmupSec >= 0)) {
  throw new Error('--duration, --rounds and --connections take whole positive numbers, --warmup a number of seconds');
}

const started = performance.now();
const log = (message: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const CORES = cpus().length;
const pin = (pid: number, list: string): void => void execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });


type Layout = 'process' | 'cluster';
interface Variant {
  name: string;
  layout: Layout;
  /** Workers (a cluster when layout is cluster). */
  workers: number;
  rateLimit: boolean;
  cache: boolean;
  /** CPUs the gateway's processes run on. */
  cpus: string;
}

/**
 * Starts `tessera serve` (or the one-worker primary) on a gateway file written
 * to a temporary folder, and waits until /readyz answers 200.
 */
async function startGateway(variant: Variant, build: string, upstream: string): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-scaling-'));
  const port = await freePort();
  const descriptor = { name: 'listing', kind: 'graphql', url: upstream, ...(variant.cache ? { cache: { Product: '60s', Seller: '60s' } } : {}) };
  writeFileSync(join(dir, 'listing.subgraph.json'), JSON.stringify(descriptor));
  const gateway = {
    mode: 'production',
    logging: { level: 'silent' },
    server: { host: '127.0.0.1', port },
    descriptors: '.',
    cache: { dedupe: false, enabled: variant.cache },
    ...(variant.rateLimit ? { rateLimit: { rules: [{ name: 'per-consumer', by: 'consumer', limit: 100_000_000, window: '1m' }] } } : {}),
  };
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify(gateway, null, 2));
  const cli = join(build, 'src', 'cli', 'bin.js');
  const entry =
    variant.layout === 'cluster' && variant.workers === 1
      ? [join(build, 'bench', 'one-worker-primary.js'), cli, join(dir, 'gateway.yaml')]
      : [cli, 'serve', '--config', join(dir, 'gateway.yaml'), '--workers', String(variant.workers)];
  const child = await spawnNode({
    name: variant.name,
    args: entry,
    readyTimeoutMs: 90_000,
    readyWhen: async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.text();
      return res.status === 200 ? port : undefined;
    },
  });
  return {
    ...child,
    stop: async () => {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Row {
  variant: Variant;
  rps: number[];
  p50: number[];
  p99: number[];
  cpuMs: number[];
  primaryMs: number[];
  errors: number;
}

async function measure(variants: Variant[], build: string, upstream: Child, body: string): Promise<Row[]> {
  const url = `http://127.0.0.1:${upstream.port}/graphql`;
  const rows = variants.map((variant): Row => ({ variant, rps: [], p50: [], p99: [], cpuMs: [], primaryMs: [], errors: 0 }));
  const running = new Map<Row, Child>();
  try {
    for (const row of rows) {
      const child = await startGateway(row.variant, build, url);
      running.set(row, child);
      for (const pid of family(child.pid)) pin(pid, row.variant.cpus);
      const target = `http://127.0.0.1:${child.port}/graphql`;
      const first = await runLoad({ url: target, body, connections: 1, durationSec: 1 });
      if (first.errors > 0) throw new Error(`${row.variant.name}: ${first.errors} failed answers before the load (${first.firstMismatch ?? 'no body'})`);
      log(`  ${row.variant.name.padEnd(44)} ready (pids ${family(child.pid).join(', ')} on CPU ${row.variant.cpus})`);
      if (settings.warmupSec > 0) await runLoad({ url: target, body, connections: settings.connections, durationSec: settings.warmupSec });
    }
    for (let round = 1; round <= settings.rounds; round++) {
      const order = rows.map((_, i) => rows[(i + round - 1) % rows.length]!);
      if (round % 2 === 0) order.reverse();
      for (const row of order) {
        const child = running.get(row)!;
        const primary0 = cpuSeconds(child.pid);
        const sampler = watch([child.pid], [process.pid, upstream.pid]);
        const load = await runLoad({ url: `http://127.0.0.1:${child.port}/graphql`, body, connections: settings.connections, durationSec: settings.durationSec });
        const sample = sampler.stop();
        const requests = Math.max(1, load.requests);
        row.rps.push(load.rps);
        row.p50.push(load.p50);
        row.p99.push(load.p99);
        row.cpuMs.push((1000 * (sample.cpu.get(child.pid) ?? 0)) / requests);
        // The primary's own CPU (the group's minus its workers'), when there is a primary.
        if (row.variant.layout === 'cluster') row.primaryMs.push((1000 * (cpuSeconds(child.pid) - primary0)) / requests);
        row.errors += load.errors;
        log(
          `  round ${round} ${row.variant.name.padEnd(44)} ${load.rps.toFixed(0).padStart(6)} req/s  p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  ${row.cpuMs.at(-1)!.toFixed(3)} CPU ms/req  others ${((100 * sample.foreignCpu) / sample.wallSeconds).toFixed(0)}%${load.errors ? `  ERRORS ${load.errors}` : ''}`,
        );
      }
    }
  } finally {
    await Promise.all([...running.values()].map((c) => c.stop()));
  }
  return rows;
}

function table(rows: Row[], reference?: Row): string[] {
  const out = ['| gateway | req/s | p50 ms | p99 ms | CPU ms/req (all its processes) | of which the primary | vs one process | errors |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const cpu = median(row.cpuMs);
    const base = reference && row.variant.layout === 'cluster' ? rows.find((r) => r.variant.layout === 'process' && r.variant.rateLimit === row.variant.rateLimit && r.variant.cache === row.variant.cache) : undefined;
    out.push(
      `| ${row.variant.name} | ${median(row.rps).toFixed(0)} | ${median(row.p50).toFixed(2)} | ${median(row.p99).toFixed(2)} | ${cpu.toFixed(3)} | ${row.primaryMs.length ? median(row.primaryMs).toFixed(3) : '–'} | ${base ? `${cpu >= median(base.cpuMs) ? '+' : ''}${(cpu - median(base.cpuMs)).toFixed(3)} ms (${((100 * (cpu - median(base.cpuMs))) / median(base.cpuMs)).toFixed(0)}%)` : '–'} | ${row.errors} |`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const pinned = CORES >= 2;
  if (pinned) pin(process.pid, '0');
  const build = buildTessera(log);
  const upstream = await spawnRole('listing subgraph', 'graphql-service', { port: 0, service: 'proxy' });
  const body = JSON.stringify({ query: PROXY_QUERY, operationName: 'Listing' });
  const gatewayCpus = (n: number): string => (pinned ? (n === 1 ? '1' : `1-${n}`) : `0-${CORES - 1}`);
  const notes: string[] = [];
  if (!pinned) notes.push(`This machine has ${CORES} core: the gateway and its load share it, so no scaling can be measured and every figure below includes the load generator's competition.`);
  else if (CORES === 2) notes.push('This machine has 2 cores: the load generator and the upstream take core 0, so the gateway gets one core (core 1) and only N = 1 can be measured; more workers there would share that core, not scale.');
  try {
    // 1. Scaling: N workers on N cores of their own.
    const maxWorkers = Math.max(1, CORES - 1);
    const scaling: Variant[] = Array.from({ length: maxWorkers }, (_, i) => i + 1).map((n) => ({
      name: n === 1 ? 'tessera serve --workers 1 (one process)' : `tessera serve --workers ${n}`,
      layout: n === 1 ? 'process' : 'cluster',
      workers: n,
      rateLimit: false,
      cache: false,
      cpus: gatewayCpus(n),
    }));
    log(`\n== scaling: --workers 1..${maxWorkers}, load and upstream on core 0${pinned ? '' : ' (not pinned: one core)'}`);
    const scaled = await measure(scaling, build, upstream, body);

    // 2. The shared state through the primary, on one core.
    const states = [
      { rateLimit: false, cache: false, label: 'no shared state' },
      { rateLimit: true, cache: false, label: 'rate limit' },
      { rateLimit: false, cache: true, label: 'response cache (hits)' },
      { rateLimit: true, cache: true, label: 'rate limit + response cache' },
    ];
    const shared: Variant[] = states.flatMap((s) => [
      { name: `one process, ${s.label}`, layout: 'process' as const, workers: 1, rateLimit: s.rateLimit, cache: s.cache, cpus: gatewayCpus(1) },
      { name: `primary + 1 worker, ${s.label}`, layout: 'cluster' as const, workers: 1, rateLimit: s.rateLimit, cache: s.cache, cpus: gatewayCpus(1) },
    ]);
    log('\n== the shared state: one process against a primary with one worker (stores over IPC), same core');
    const costs = await measure(shared, build, upstream, body);

    const lines = [
      '# Tessera: workers and the cost of shared state',
      '',
      `- command: npm run bench:scaling${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''} (${new Date().toISOString()})`,
      `- machine: ${cpus()[0]?.model ?? 'unknown'}, ${CORES} cores, Node ${process.version}; load average ${loadavg()[0]!.toFixed(2)} at the end`,
      `- scenario: proxy (one GraphQL subgraph, ~2 KB answer), dedupe off, ${settings.connections} connections, ${settings.rounds} alternating rounds of ${settings.durationSec} s after ${settings.warmupSec} s of warm-up; medians`,
      ...notes.map((n) => `- ${n}`),
      '',
      '## Scaling',
      '',
      ...table(scaled),
      '',
      '## Shared state: one process against a cluster primary with one worker (same core)',
      '',
      ...table(costs, costs[0]),
      '',
    ];
    const report = lines.join('\n');
    process.stdout.write(`\n${report}`);
    const out = args.out ?? join(BENCH_DIR, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'scaling.md'), report);
    log(`written: ${join(out, 'scaling.md')}`);
  } finally {
    await upstream.stop();
  }
}

runMain(main, 'run', log);
