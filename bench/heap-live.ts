/**
 * What a gateway's live heap holds once warmed up, per bench scenario: the
 * scenario's services and one Tessera target (default `tessera-metrics`, the
 * one issue #21's memory target is judged on) start as `npm run bench` starts
 * them (compiled, production mode), with bench/memory-probe.ts preloaded; the
 * gateway gets `--requests` answers at `--connections` at a time (the answer
 * checked), its memory read every 100 ms meanwhile, then a full collection
 * and a heap snapshot. Printed per scenario: the peak RSS under that load and
 * what it was made of at that moment (the V8 heap's pages by space, V8's
 * malloc, the rest: the node binary, other malloc, stacks), the live heap after the collection, the types holding
 * most (by retained size) and the loaded modules' source texts by package
 * (lib/heap-snapshot.ts). Written to `--out` (default bench/results/heap-live.md).
 *
 *   npx tsx bench/heap-live.ts [--scenarios proxy,openapi,federation,shop] [--target tessera-metrics] [--requests 3000] [--connections 50] [--keep-snapshots]
 *
 * A benchmark, not a test: nothing is asserted. A snapshot leaves the
 * gateway's RSS far larger (memory-probe.ts), which is why the RSS printed is read before it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTessera } from './lib/build.js';
import { heapReport } from './lib/heap-snapshot.js';
import { sendLoad } from './lib/load-orders.js';
import { BENCH_DIR, runMain } from './lib/proc.js';
import { federationScenario } from './lib/scenarios/federation.js';
import { openapiScenario } from './lib/scenarios/openapi.js';
import { proxyScenario } from './lib/scenarios/proxy.js';
import { shopScenario } from './lib/scenarios/shop.js';
import type { ProbeMemory } from './memory-probe.js';
import { probe } from './lib/probe-client.js';

const SCENARIOS = [proxyScenario, openapiScenario, federationScenario, shopScenario];
const log = (message: string): void => console.error(`[heap-live] ${message}`);
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;


async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      scenarios: { type: 'string', default: SCENARIOS.map((s) => s.name).join(',') },
      target: { type: 'string', default: 'tessera-metrics' },
      requests: { type: 'string', default: '3000' },
      connections: { type: 'string', default: '50' },
      out: { type: 'string', default: join(BENCH_DIR, 'results', 'heap-live.md') },
      'keep-snapshots': { type: 'boolean', default: false },
    },
  });
  const wanted = args.scenarios.split(',');
  const build = buildTessera(log);
  process.env.TESSERA_BENCH_BUILD = build;
  const loadAtStart = loadavg()[0]!;
  const work = mkdtempSync(join(tmpdir(), 'tessera-heap-live-'));
  const sections: string[] = [];
  const table = [
    '| scenario | peak RSS under load | V8 heap in memory then (by space, reserved) | V8 malloc then | RSS outside the V8 heap then | live heap after a full GC | snapshot |',
    '|---|---:|---|---:|---:|---:|---|',
  ];
  try {
    for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
      const reason = await scenario.unavailable();
      if (reason) {
        log(`${scenario.name}: skipped (${reason})`);
        continue;
      }
      const setup = await scenario.setup();
      try {
        const target = setup.targets.find((t) => t.name === args.target);
        if (!target?.start) throw new Error(`${scenario.name} has no target ${args.target}`);
        const socket = join(work, `${scenario.name}.sock`);
        // The probe listens where TESSERA_PROBE_SOCKET says; the target's process inherits this process's environment.
        process.env.TESSERA_PROBE_SOCKET = socket;
        const child = await target.start({ nodeFlags: [`--import=${pathToFileURL(join(build, 'bench', 'memory-probe.js')).href}`] });
        delete process.env.TESSERA_PROBE_SOCKET;
        const url = `http://127.0.0.1:${child.port}${target.path}`;
        const body = JSON.stringify({ query: scenario.query, operationName: scenario.operationName });
        // RSS sampled every 100 ms under load; the sample with the highest RSS says what it was made of.
        let peak: ProbeMemory | undefined;
        const sampler = setInterval(() => {
          void probe<ProbeMemory>(socket, 'GET', '/memory').then((m) => {
            if (!peak || m.rss > peak.rss) peak = m;
          });
        }, 100);
        const failed = await sendLoad({ url, body, requests: Number(args.requests), concurrency: Number(args.connections) }).finally(() => clearInterval(sampler));
        if (failed) throw new Error(`${scenario.name}: ${failed} of ${args.requests} answers were not HTTP 200 without errors`);
        const loaded = await probe<ProbeMemory>(socket, 'GET', '/memory');
        if (!peak || loaded.rss > peak.rss) peak = loaded;
        const live = await probe<ProbeMemory>(socket, 'POST', '/gc');
        const file = join(work, `${scenario.name}.heapsnapshot`);
        await probe(socket, 'POST', `/snapshot?file=${encodeURIComponent(file)}`);
        await child.stop();
        log(`${scenario.name}: peak RSS ${mb(peak.rss)} under ${args.requests} requests, live heap ${mb(live.heapUsed)} after a full collection; summarising ${file}`);
        const report = heapReport(file);
        if (!args['keep-snapshots']) rmSync(file);
        const space = (name: string): string => mb(peak!.spaces[name]?.size ?? 0);
        table.push(
          `| ${scenario.name} | ${mb(peak.rss)} | ${mb(peak.heapPhysical)} (new ${space('new_space')}, old ${space('old_space')}, code ${space('code_space')}, large ${space('large_object_space')}) | ${mb(peak.malloced)} | ${mb(peak.rss - peak.heapPhysical)} | ${mb(live.heapUsed)} | ${report.split('\n', 1)[0]} |`,
        );
        sections.push(`## ${scenario.name}\n\n${report}`);
        console.log(`\n## ${scenario.name}\n\n${report}`);
      } finally {
        await setup.close();
      }
    }
  } finally {
    if (!args['keep-snapshots']) rmSync(work, { recursive: true, force: true });
    else log(`snapshots kept in ${work}`);
  }
  const header = [
    '# Live heap per scenario',
    '',
    `\`npx tsx bench/heap-live.ts --scenarios ${args.scenarios} --target ${args.target} --requests ${args.requests} --connections ${args.connections}\`, ${new Date().toISOString()}, node ${process.version}, load average ${loadAtStart.toFixed(2)} at start and ${loadavg()[0]!.toFixed(2)} at end (the load generator runs on the same machine: the peak RSS here is a guide, \`npm run bench\` gives the judged one)`,
    '',
  ];
  writeFileSync(args.out, [...header, ...table, '', ...sections, ''].join('\n'));
  console.log(`\n${table.join('\n')}\n\nwritten to ${args.out}`);
}

runMain(main, 'heap-live', log);
