/**
 * `npm run soak`: does Tessera's memory hold still under steady traffic?
 *
 * Two identical gateways, each `tessera serve` (compiled, as in production, one
 * process, metrics on, request logs on, a rate-limit rule through the memory
 * store), in front of the demo subgraphs (REST catalog, gRPC inventory, GraphQL
 * reviews and accounts), each sent the same fixed rate of mixed requests:
 * queries across the four subgraphs, queries whose upstream answers an error,
 * documents refused by validation, mutations that succeed and mutations that
 * fail, a few distinct documents, and a Prometheus-like scrape of /metrics
 * every 15 s.
 *
 * Why two: writing a heap snapshot leaves a process's RSS hundreds of MB
 * larger (memory V8 frees and malloc keeps; bench/memory-probe.ts), so RSS
 * measured after a snapshot says nothing about the gateway. The *measured*
 * gateway takes no snapshot and is never interrupted: its RSS is sampled every
 * 5 s. The *snapshotted* twin, after the warm-up and at the end, with the load
 * paused and nothing in flight, is collected (its live heap: heap used after a
 * full collection) and writes a heap snapshot; the two snapshots are compared
 * by constructor (the types that grew, by count and bytes). The run ends with
 * PASS or FAIL for "RSS and heap after the warm-up within 5%"
 * (docs/reliability.md row 79):
 *
 * - RSS (measured gateway): the median of the samples in the first window after
 *   the warm-up against the median of the last window; a window is a minute,
 *   or a quarter of the time after the warm-up when that is shorter;
 * - heap (snapshotted gateway): the live heap when the warm-up ends against
 *   the live heap at the end.
 *
 * Both run with bench/memory-probe.ts preloaded (NODE_OPTIONS --import): a
 * control channel on a Unix socket that reads the process's memory and writes
 * heap snapshots from inside it.
 *
 *   npm run soak                        10 minutes at 100 requests/s to each gateway, 2 minutes of warm-up
 *   npm run soak -- --minutes 3 --warmup 30
 *   npm run soak -- --rate 50 --pin     the gateways on CPU 1, the demo services and the load on CPU 0
 *   npm run soak -- --keep-snapshots    keep the .heapsnapshot files (Chrome DevTools, Memory tab)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { buildTessera } from './lib/build.js';
import { spawnTesseraCli } from './lib/cli-target.js';
import { median } from './lib/load.js';
import { BENCH_DIR, runMain, spawnRole, type Child } from './lib/proc.js';
import type { ProbeMemory } from './memory-probe.js';
import { SHOP_QUERY, type DemoPorts } from './services/shop.js';
import { probe } from './lib/probe-client.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    warmup: { type: 'string' },
    rate: { type: 'string', default: '100' },
    pin: { type: 'boolean', default: false },
    'keep-snapshots': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
  strict: true,
});

const totalSec = Number(args.minutes) * 60;
/**
 * The warm-up: 2 minutes, or a fifth of a shorter run. With the old generation growing to 2.5 times the live
 * data (src/cli/runtime.ts), its sawtooth reaches its steady height only after a few minutes at 50 requests/s
 * (after a 1-minute warm-up RSS still climbed 5.8%, with a flat live heap and no JavaScript type growing).
 */
const warmupSec = Number(args.warmup ?? Math.min(120, totalSec / 5));
const rate = Number(args.rate);
if (!(totalSec >= 30 && totalSec <= 24 * 3600) || !(warmupSec >= 5 && warmupSec < totalSec - 20) || !(rate > 0 && rate <= 5000)) {
  throw new Error('--minutes takes at least 0.5, --warmup a number of seconds (5 or more) that leaves at least 20 s after it, --rate requests per second (up to 5000)');
}
/** The comparison windows: a minute each, or a quarter of the time after the warm-up when that is shorter. */
const windowSec = Math.min(60, (totalSec - warmupSec) / 4);
const SAMPLE_MS = 5_000;
const SCRAPE_MS = 15_000;
/** Longest the load may run ahead of the gateway: over it, a tick's requests are counted as skipped, not queued. */
const MAX_IN_FLIGHT = 64;
const TOLERANCE = 0.05;

const started = performance.now();
const log = (message: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s] ${message}\n`);
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const pct = (after: number, before: number): string => `${after >= before ? '+' : ''}${((100 * (after - before)) / before).toFixed(1)}%`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the mix: what is sent, and what a correct answer is ----

interface Kind {
  name: string;
  weight: number;
  path?: string;
  body(n: number): string;
  /** Undefined when the answer is what this kind expects; else what was wrong. */
  check(status: number, body: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } | undefined): string | undefined;
}

const ok: Kind['check'] = (status, body) => (status === 200 && body?.data && !body.errors ? undefined : `HTTP ${status}, ${JSON.stringify(body?.errors ?? body).slice(0, 200)}`);
const failsWith =
  (statuses: number[], code?: string): Kind['check'] =>
  (status, body) => {
    const codes = (body?.errors ?? []).map((e) => e.extensions?.code);
    if (statuses.includes(status) && codes.length > 0 && (!code || codes.includes(code))) return undefined;
    return `expected HTTP ${statuses.join(' or ')} with ${code ?? 'an error'}, got HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`;
  };
const gql = (query: string, variables?: Record<string, unknown>, operationName?: string): string => JSON.stringify({ query, variables, operationName });

/** A few distinct documents; product ids p1..p60 and users u1..u20 exist in the demo, "soak" and "no-such" do not. */
const KINDS: Kind[] = [
  { name: 'shop (4 subgraphs, 16 KB)', weight: 15, body: () => gql(SHOP_QUERY, undefined, 'Shop'), check: ok },
  {
    name: 'reviews with authors',
    weight: 20,
    body: () => gql('query Reviews { reviews(first: 5) { body rating author { name username } product { id averageRating } } }'),
    check: ok,
  },
  {
    name: 'product by id',
    weight: 20,
    body: (n) => gql('query Product($id: String!) { getProduct(id: $id) { id name price { amount currency } category { name } stock { available status } } }', { id: `p${(n % 60) + 1}` }),
    check: ok,
  },
  { name: 'user by id', weight: 10, body: (n) => gql('query User($id: ID!) { user(id: $id) { id name } }', { id: `u${(n % 20) + 1}` }), check: ok },
  {
    name: 'upstream error (unknown stock)',
    weight: 10,
    body: () => gql('query Stock { getStockLevel(productId: "no-such") { available } }'),
    check: (status, body) => (status === 200 && (body?.errors?.length ?? 0) > 0 ? undefined : `expected a located error, got HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`),
  },
  { name: 'validation error', weight: 5, body: () => gql('query Bad { reviews(first: 1) { noSuchField } }'), check: failsWith([400, 200], 'GRAPHQL_VALIDATION_FAILED') },
  {
    name: 'mutation addReview',
    weight: 10,
    // Rating 1 on a product the catalog does not list: the answers of the queries above do not change as reviews pile up.
    body: (n) => gql('mutation Add($body: String!) { addReview(productId: "soak", authorId: "u1", body: $body, rating: 1) { id rating } }', { body: `soak ${n}` }),
    check: ok,
  },
  {
    name: 'mutation refused upstream',
    weight: 5,
    body: () => gql('mutation AddBad { addReview(productId: "p1", authorId: "u1", body: "x", rating: 9) { id } }'),
    check: (status, body) => (status === 200 && (body?.errors?.length ?? 0) > 0 ? undefined : `expected an error for rating 9, got HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`),
  },
  {
    name: 'mutation failed precondition (gRPC)',
    weight: 5,
    body: () => gql('mutation Reserve { reserveStock(productId: "p1", quantity: 1000000) { id } }'),
    check: (status, body) => (status === 200 && (body?.errors?.length ?? 0) > 0 ? undefined : `expected FAILED_PRECONDITION, got HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`),
  },
];
const WEIGHTS = KINDS.reduce((a, k) => a + k.weight, 0);

interface Tally {
  sent: number;
  answered: number;
  wrong: number;
  firstWrong?: string;
}

/** Fixed-rate load over keep-alive connections: `rate` requests a second in ticks of 100 ms, paused for the snapshots. */
class Load {
  private readonly pool: Pool;
  private timer?: NodeJS.Timeout;
  private n = 0;
  inFlight = 0;
  skipped = 0;
  failed = 0;
  readonly tallies = new Map<string, Tally>(KINDS.map((k) => [k.name, { sent: 0, answered: 0, wrong: 0 }]));

  constructor(private readonly origin: string) {
    this.pool = new Pool(origin, { connections: 32, keepAliveTimeout: 30_000 });
  }

  start(): void {
    let carry = 0;
    this.timer = setInterval(() => {
      carry += rate / 10;
      for (; carry >= 1; carry--) {
        if (this.inFlight >= MAX_IN_FLIGHT) this.skipped++;
        else void this.one();
      }
    }, 100);
  }

  /** Stops sending and waits for every request in flight to be answered (bounded: 30 s). */
  async pause(): Promise<void> {
    clearInterval(this.timer);
    for (let i = 0; i < 300 && this.inFlight > 0; i++) await sleep(100);
  }

  get answered(): number {
    let sum = 0;
    for (const t of this.tallies.values()) sum += t.answered;
    return sum;
  }

  private async one(): Promise<void> {
    const n = this.n++;
    let pick = (n * 7919) % WEIGHTS;
    const kind = KINDS.find((k) => (pick -= k.weight) < 0)!;
    const tally = this.tallies.get(kind.name)!;
    tally.sent++;
    this.inFlight++;
    try {
      const res = await this.pool.request({ path: kind.path ?? '/graphql', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: kind.body(n) });
      const text = await res.body.text();
      let parsed: Parameters<Kind['check']>[1];
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      tally.answered++;
      const wrong = kind.check(res.statusCode, parsed);
      if (wrong) {
        tally.wrong++;
        tally.firstWrong ??= wrong;
      }
    } catch (error) {
      this.failed++;
      tally.firstWrong ??= (error as Error).message;
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.pool.close();
  }
}

// ---- heap snapshots, compared by constructor ----

interface TypeTotal {
  count: number;
  bytes: number;
}

/**
 * A heap snapshot summed by constructor: objects by their constructor's name,
 * closures by function name, every other node by its V8 type (strings, code,
 * arrays by their category, hidden system objects).
 */
function summarizeSnapshot(file: string): { byType: Map<string, TypeTotal>; total: number; nodes: number } {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = { type: fields.indexOf('type'), name: fields.indexOf('name'), size: fields.indexOf('self_size') };
  const byType = new Map<string, TypeTotal>();
  let total = 0;
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + at.type]!]!;
    const name = strings[nodes[i + at.name]!]!;
    const size = nodes[i + at.size]!;
    const key = type === 'object' || type === 'native' ? name : type === 'closure' ? `${name || '(anonymous)'}()` : type === 'array' || type === 'hidden' ? `(${type}) ${name}` : `(${type})`;
    const entry = byType.get(key) ?? byType.set(key, { count: 0, bytes: 0 }).get(key)!;
    entry.count++;
    entry.bytes += size;
    total += size;
  }
  return { byType, total, nodes: nodes.length / width };
}

function grownTypes(before: Map<string, TypeTotal>, after: Map<string, TypeTotal>): Array<{ type: string; count: number; bytes: number; countBefore: number; bytesBefore: number }> {
  const out = [];
  for (const [type, a] of after) {
    const b = before.get(type) ?? { count: 0, bytes: 0 };
    if (a.bytes > b.bytes || a.count > b.count) out.push({ type, count: a.count - b.count, bytes: a.bytes - b.bytes, countBefore: b.count, bytesBefore: b.bytes });
  }
  return out.sort((x, y) => y.bytes - x.bytes || y.count - x.count);
}

// ---- the run ----

interface Sample {
  atSec: number;
  memory: ProbeMemory;
  answered: number;
}

async function startGateway(name: string, build: string, demo: DemoPorts, socket: string): Promise<Child> {
  return spawnTesseraCli(name, {
    workers: 1,
    path: '/graphql',
    gateway: {
      descriptors: join(BENCH_DIR, '..', 'subgraphs'),
      logging: { level: 'info' },
      telemetry: { metrics: { enabled: true } },
      rateLimit: { rules: [{ name: 'per-consumer', by: 'consumer', limit: 1_000_000, window: '1m' }] },
    },
    env: {
      ...Object.fromEntries(Object.entries(demo).map(([service, port]) => [`${service.toUpperCase()}_PORT`, String(port)])),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(build, 'bench', 'memory-probe.js')).href}`.trim(),
      TESSERA_PROBE_SOCKET: socket,
    },
  });
}

async function main(): Promise<void> {
  if (args.pin) {
    if (cpus().length < 2) throw new Error('--pin needs at least 2 CPUs');
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  }
  const work = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
  process.on('exit', () => {
    if (!args['keep-snapshots']) rmSync(work, { recursive: true, force: true });
  });
  const build = buildTessera(log);
  process.env.TESSERA_BENCH_BUILD = build;
  const children: Child[] = [];
  try {
    const services = await spawnRole('demo services', 'shop-services', { port: 0 });
    children.push(services);
    const demo = services.info as unknown as DemoPorts;
    const sockets = { measured: join(work, 'measured.sock'), snapshotted: join(work, 'snapshotted.sock') };
    const measured = await startGateway('tessera serve (measured)', build, demo, sockets.measured);
    children.push(measured);
    const twin = await startGateway('tessera serve (snapshotted)', build, demo, sockets.snapshotted);
    children.push(twin);
    if (args.pin) for (const pid of [measured.pid, twin.pid]) execFileSync('taskset', ['-a', '-p', '-c', '1', String(pid)], { stdio: 'ignore' });
    const first = await probe<ProbeMemory>(sockets.measured, 'GET', '/memory');
    log(`tessera serve ready (measured: pid ${measured.pid}, snapshotted: pid ${twin.pid}${args.pin ? ', both on CPU 1' : ''}): RSS ${mb(first.rss)}, heap used ${mb(first.heapUsed)}`);
    log(`load, to each: ${rate} requests/s for ${totalSec} s (${warmupSec} s of warm-up), ${KINDS.map((k) => `${k.name} ${((100 * k.weight) / WEIGHTS).toFixed(0)}%`).join(', ')}; /metrics scraped every ${SCRAPE_MS / 1000} s`);

    const loads = [new Load(`http://127.0.0.1:${measured.port}`), new Load(`http://127.0.0.1:${twin.port}`)] as const;
    const [load] = loads;
    const scrapes = { ok: 0, failed: 0 };
    const scraper = setInterval(() => {
      for (const g of [measured, twin]) {
        fetch(`http://127.0.0.1:${g.port}/metrics`).then(
          async (res) => void ((await res.text()) && (res.ok ? scrapes.ok++ : scrapes.failed++)),
          () => void scrapes.failed++,
        );
      }
    }, SCRAPE_MS);
    const loadStart = performance.now();
    const elapsed = (): number => (performance.now() - loadStart) / 1000;
    const pause = (): Promise<unknown> => Promise.all(loads.map((l) => l.pause()));
    for (const l of loads) l.start();
    await sleep(warmupSec * 1000);

    // End of the warm-up: the twin's load pauses (the measured gateway's goes on), its live heap, the first snapshot.
    await loads[1].pause();
    const liveBefore = await probe<ProbeMemory>(sockets.snapshotted, 'POST', '/gc');
    const snapBefore = await probe<{ file: string; ms: number }>(sockets.snapshotted, 'POST', `/snapshot?file=${encodeURIComponent(join(work, 'after-warmup.heapsnapshot'))}`);
    log(`warm-up done: twin's live heap ${mb(liveBefore.heapUsed)} after a full collection; heap snapshot in ${(snapBefore.ms / 1000).toFixed(1)} s`);
    loads[1].start();

    const samples: Sample[] = [];
    let nextReport = warmupSec + 60;
    while (elapsed() < totalSec) {
      await sleep(Math.min(SAMPLE_MS, Math.max(0, (totalSec - elapsed()) * 1000)));
      const memory = await probe<ProbeMemory>(sockets.measured, 'GET', '/memory');
      samples.push({ atSec: elapsed(), memory, answered: load.answered });
      if (elapsed() >= nextReport || elapsed() >= totalSec) {
        nextReport += 60;
        log(
          `${elapsed().toFixed(0).padStart(4)} s  measured: RSS ${mb(memory.rss)}  heap used ${mb(memory.heapUsed)} of ${mb(memory.heapTotal)}  external ${mb(memory.external)} (array buffers ${mb(memory.arrayBuffers)})  answered ${load.answered}  skipped ${load.skipped}  failed ${load.failed}`,
        );
      }
    }
    await pause();
    clearInterval(scraper);
    const liveAfter = await probe<ProbeMemory>(sockets.snapshotted, 'POST', '/gc');
    const snapAfter = await probe<{ file: string; ms: number }>(sockets.snapshotted, 'POST', `/snapshot?file=${encodeURIComponent(join(work, 'end.heapsnapshot'))}`);
    const measuredLive = await probe<ProbeMemory>(sockets.measured, 'POST', '/gc');
    await Promise.all(loads.map((l) => l.close()));
    const upstream = (await (await fetch(`http://127.0.0.1:${services.port}/__stats`)).json()) as { requests: number };
    log(`end: twin's live heap ${mb(liveAfter.heapUsed)}; heap snapshot in ${(snapAfter.ms / 1000).toFixed(1)} s; measured gateway's live heap ${mb(measuredLive.heapUsed)}`);

    // ---- verdict ----
    const afterWarmup = samples.filter((s) => s.atSec <= warmupSec + windowSec);
    const last = samples.filter((s) => s.atSec >= totalSec - windowSec);
    const rssBefore = median(afterWarmup.map((s) => s.memory.rss));
    const rssAfter = median(last.map((s) => s.memory.rss));
    const heapBefore = liveBefore.heapUsed;
    const heapAfter = liveAfter.heapUsed;
    const rssOk = rssAfter <= rssBefore * (1 + TOLERANCE);
    const heapOk = heapAfter <= heapBefore * (1 + TOLERANCE);
    const peak = samples.reduce((a, b) => (b.memory.rss > a.memory.rss ? b : a));

    const before = summarizeSnapshot(snapBefore.file);
    const after = summarizeSnapshot(snapAfter.file);
    const grown = grownTypes(before.byType, after.byType);

    const lines: string[] = [];
    lines.push(`# Tessera soak`);
    lines.push('');
    lines.push(`- command: npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''} (${new Date().toISOString()}); load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores at the end`);
    lines.push('- gateways: two identical `tessera serve`, one process each (compiled), metrics on, request logs on, one rate-limit rule (memory store); the demo subgraphs');
    const sent = loads.map((l) => `${l.answered} answered, ${l.skipped} not sent (over ${MAX_IN_FLIGHT} in flight), ${l.failed} failed (no answer)`);
    lines.push(`- load: ${rate} requests/s to each for ${totalSec} s, warm-up ${warmupSec} s, windows of ${windowSec.toFixed(0)} s; measured gateway: ${sent[0]}; twin: ${sent[1]}; upstream requests ${upstream.requests}; /metrics scrapes ${scrapes.ok} (${scrapes.failed} failed)`);
    lines.push('');
    lines.push('| kind (measured gateway) | sent | answered | unexpected answers | first unexpected |');
    lines.push('| --- | --- | --- | --- | --- |');
    for (const [name, t] of load.tallies) lines.push(`| ${name} | ${t.sent} | ${t.answered} | ${t.wrong} | ${t.firstWrong?.replace(/\|/g, '\\|').slice(0, 160) ?? ''} |`);
    lines.push('');
    lines.push('| figure | after warm-up | end | change |');
    lines.push('| --- | --- | --- | --- |');
    lines.push(`| measured gateway: RSS, median of a ${windowSec.toFixed(0)} s window | ${mb(rssBefore)} | ${mb(rssAfter)} | ${pct(rssAfter, rssBefore)} |`);
    lines.push(`| measured gateway: heap used, median of the window | ${mb(median(afterWarmup.map((s) => s.memory.heapUsed)))} | ${mb(median(last.map((s) => s.memory.heapUsed)))} | |`);
    lines.push(`| measured gateway: heap total, median of the window | ${mb(median(afterWarmup.map((s) => s.memory.heapTotal)))} | ${mb(median(last.map((s) => s.memory.heapTotal)))} | |`);
    lines.push(`| measured gateway: external (array buffers), median | ${mb(median(afterWarmup.map((s) => s.memory.external)))} | ${mb(median(last.map((s) => s.memory.external)))} | |`);
    lines.push(`| twin: live heap (heap used after a full collection, nothing in flight) | ${mb(heapBefore)} | ${mb(heapAfter)} | ${pct(heapAfter, heapBefore)} |`);
    lines.push(`| twin: heap snapshot, objects / self size | ${before.nodes} / ${mb(before.total)} | ${after.nodes} / ${mb(after.total)} | ${pct(after.total, before.total)} |`);
    lines.push('');
    lines.push(`Measured gateway: peak RSS sampled after the warm-up ${mb(peak.memory.rss)} at ${peak.atSec.toFixed(0)} s (heap ${mb(peak.memory.heapUsed)} used of ${mb(peak.memory.heapTotal)}); live heap at the end ${mb(measuredLive.heapUsed)}.`);
    lines.push('');
    lines.push('Types that grew between the two snapshots (by self size; top 15):');
    lines.push('');
    lines.push('| type | count | bytes |');
    lines.push('| --- | --- | --- |');
    for (const g of grown.slice(0, 15)) lines.push(`| ${g.type.replace(/\|/g, '\\|').slice(0, 80)} | ${g.countBefore} → ${g.countBefore + g.count} (${g.count >= 0 ? '+' : ''}${g.count}) | ${g.bytesBefore} → ${g.bytesBefore + g.bytes} (${g.bytes >= 0 ? '+' : ''}${g.bytes}) |`);
    if (grown.length === 0) lines.push('| (none) | | |');
    lines.push('');
    const wrong = loads.reduce((sum, l) => sum + [...l.tallies.values()].reduce((a, t) => a + t.wrong, 0) + l.failed, 0);
    const verdict = rssOk && heapOk ? 'PASS' : 'FAIL';
    lines.push(
      `**${verdict}**: RSS ${pct(rssAfter, rssBefore)} (${rssOk ? 'within' : 'over'} 5%), live heap ${pct(heapAfter, heapBefore)} (${heapOk ? 'within' : 'over'} 5%) after the warm-up${wrong ? `; ${wrong} answers were not what their kind expects (table above)` : ''}.`,
    );
    const report = lines.join('\n') + '\n';
    process.stdout.write(`\n${report}`);
    const out = args.out ?? join(BENCH_DIR, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'soak.md'), report);
    log(`written: ${join(out, 'soak.md')}${args['keep-snapshots'] ? `; snapshots: ${snapBefore.file}, ${snapAfter.file}` : ''}`);
    process.exitCode = verdict === 'PASS' && wrong === 0 ? 0 : 1;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

runMain(main, 'soak', log);
