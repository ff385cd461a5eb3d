/**
 * `npm run bench`: Tessera side by side with Hive Gateway, Apollo Gateway and
 * the direct call, scenario by scenario. See bench/README.md.
 *
 *   npm run bench                      every scenario, 10 s x 3 rounds x {1, 50} connections (~30 min), pinned
 *   npm run bench -- --quick           smoke check, a few minutes
 *   npm run bench -- --no-pin          every process on every CPU (pinned by default: lib/pin.ts)
 *   npm run bench -- --scenarios proxy,federation --targets tessera,hive
 *   npm run bench -- --check           start everything, compare the answers, no load
 *   npm run bench -- --profile         CPU profiles of Tessera under load (bench/results/profiles/)
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTessera } from './lib/build.js';
import { drawChart } from './lib/chart.js';
import { check } from './lib/compare.js';
import { median, runLoad } from './lib/load.js';
import { BENCH_DIR, PEERS_DIR, runMain, settle, watch, type Child } from './lib/proc.js';
import { summarizeProfile } from './lib/profile.js';
import { consoleTables, markdownReport } from './lib/report.js';
import type { BenchResult, ColdStart, Run, ScenarioResult, Summary, TailSummary } from './lib/results.js';
import { federationScenario } from './lib/scenarios/federation.js';
import { openapiScenario } from './lib/scenarios/openapi.js';
import { proxyScenario } from './lib/scenarios/proxy.js';
import { shopScenario } from './lib/scenarios/shop.js';
import { requestsServed, type Scenario, type ScenarioSetup, type Target } from './lib/scenarios/types.js';
import { measureSchemaBuilds } from './lib/schema-build.js';
import { chooseLayout, describeLayout, pinTo } from './lib/pin.js';
import { hostSpeed } from './lib/host-speed.js';
import { startCollectorStub } from './lib/collector.js';
import { START_FLAGS } from '../src/cli/runtime.js';

const SCENARIOS: Scenario[] = [proxyScenario, openapiScenario, federationScenario, shopScenario];
const RESULTS_DIR = join(BENCH_DIR, 'results');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    out: { type: 'string' },
    'tessera-src': { type: 'string' },
    'tessera-b': { type: 'string' },
    workers: { type: 'string' },
    tsx: { type: 'boolean', default: false },
    'tessera-node-flags': { type: 'string' },
    'tessera-b-node-flags': { type: 'string' },
    'peer-node-flags': { type: 'string' },
    'tessera-b-env': { type: 'string' },
    render: { type: 'string' },
    // On by default; `--no-pin` turns it off (`--pin` is still accepted).
    pin: { type: 'boolean', default: true },
    telemetry: { type: 'boolean', default: false },
  },
  strict: true,
  allowNegative: true,
});

/**
 * The like-for-like layout (lib/pin.ts), unless --no-pin: this process (the
 * load generator) and the upstreams it starts run on CPU 0 (every CPU but
 * the last); each target under test is moved to the last CPU alone, a
 * started one once it is ready, one that is also an upstream (the direct
 * call) for its own load runs only. Children inherit the affinity of this
 * process, so it is set before anything starts. Not pinned when taskset or
 * a second CPU is missing: the run says so.
 */
const layout = args.render ? undefined : chooseLayout(args.pin);

const settings = {
  // autocannon counts time in whole seconds: shorter runs last 1 s anyway. --quick has no warm-up (a smoke
  // check: the first of its 3 rounds warms up, and the median keeps the middle one).
  durationSec: Number(args.duration ?? (args.quick ? 1 : 10)),
  warmupSec: Number(args.warmup ?? (args.quick ? 0 : 3)),
  rounds: Math.max(1, Math.min(20, Number(args.rounds ?? 3))),
  // --quick loads at 50 connections only: the level the issue's targets are judged at.
  connections: (args.connections ?? (args.quick ? '50' : '1,50')).split(',').map(Number),
};
if (![settings.durationSec, ...settings.connections].every((n) => Number.isFinite(n) && n > 0 && n <= 1000) || !(settings.warmupSec >= 0 && settings.warmupSec <= 600)) {
  throw new Error('--duration and --connections take positive numbers, --warmup a number of seconds (0: none)');
}
const wantedScenarios = args.scenarios?.split(',');
/**
 * Node flags for the Tessera targets: the ones the image starts `tessera serve` with (src/cli/runtime.ts
 * START_FLAGS, which V8 reads only at start), then `--tessera-node-flags "--max-semi-space-size=4"` for every
 * Tessera target or `--tessera-b-node-flags` for the B target only (with `--tessera-b` naming the same checkout: a
 * V8 setting A/B). Given after them, those win: `--memory-reducer` turns one back on. Hive Gateway's targets run
 * with node's defaults, or with `--peer-node-flags` (the same flags given to a peer, to see what they do there).
 */
const flagWords = (option: string | undefined): string[] => option?.split(/\s+/).filter(Boolean) ?? [];
/** A Tessera target's node flags: START_FLAGS, then the option's. */
const tesseraFlags = (option: string | undefined): string[] => [...START_FLAGS, ...flagWords(option)];
const nodeFlagsOf = (target: Target): string[] => {
  if (target.role === 'peer') return flagWords(args['peer-node-flags']);
  if (target.role !== 'tessera') return [];
  return tesseraFlags(target.name === 'tessera-b' && args['tessera-b-node-flags'] !== undefined ? args['tessera-b-node-flags'] : args['tessera-node-flags']);
};
/**
 * Environment variables for the B target's process only (`--tessera-b-env "MALLOC_ARENA_MAX=2"`): a setting
 * read when the process starts (glibc's malloc tunables), weighed side by side. Every target's process is spawned
 * synchronously inside its start() with this process's environment (lib/proc.ts spawnNode), so the variables are
 * set just for that call.
 */
const tesseraBEnv = Object.fromEntries(
  (args['tessera-b-env'] ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`--tessera-b-env: NAME=VALUE pairs separated by spaces, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
);
function startWithEnv<T>(target: Target, start: () => T): T {
  if (target.name !== 'tessera-b' || Object.keys(tesseraBEnv).length === 0) return start();
  const saved = Object.fromEntries(Object.keys(tesseraBEnv).map((name) => [name, process.env[name]]));
  Object.assign(process.env, tesseraBEnv);
  try {
    return start();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
if (args['tessera-src']) {
  // Every Tessera target loads the gateway from that checkout (the upstreams and peers stay the same).
  const entry = join(resolve(args['tessera-src']), 'src', 'index.ts');
  if (!existsSync(entry)) throw new Error(`--tessera-src: no ${entry}`);
  process.env.TESSERA_BENCH_ENTRY = entry;
}
if (args.workers !== undefined) {
  // A `tessera serve --workers N` target in every scenario (N = the machine's cores when no number is given).
  const n = args.workers === '' || args.workers === 'auto' ? cpus().length : Number(args.workers);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error('--workers takes a number of workers (or auto)');
  process.env.TESSERA_BENCH_WORKERS = String(n);
}
if (args['tessera-b']) {
  // A/B: a "tessera-b" target runs that checkout's Tessera beside this one's.
  const entry = join(resolve(args['tessera-b']), 'src', 'index.ts');
  if (!existsSync(entry)) throw new Error(`--tessera-b: no ${entry}`);
  process.env.TESSERA_BENCH_ENTRY_B = entry;
}
const wantedTargets = args.targets?.split(',');
/**
 * --telemetry: one more Tessera target, dedupe off like the judged one, with
 * metrics and tracing on at 100% sampling (`tessera-tracing`), exporting over
 * OTLP/HTTP to a collector stub of this process that reads and drops every
 * batch (`tessera-metrics`, metrics on, runs in every run). The gateway's
 * cost of observing is the difference to `tessera-nodedupe` (production
 * mode: metrics and tracing off).
 */
const collector = args.telemetry ? await startCollectorStub() : undefined;
if (collector) process.env.TESSERA_BENCH_OTLP = collector.url;


/** A run's work after its load ended, in the run's log line, when there was any worth naming (over 100 ms of CPU or a wait over 1 s). */
function afterLoadNote(run: Run): string {
  const after = run.afterLoad;
  if (!after || (after.settled && after.targetCpuMs < 100 && after.waitedMs < 1000)) return '';
  return `  after the load: ${after.settled ? `idle after ${(after.waitedMs / 1000).toFixed(1)} s` : `STILL BUSY after ${(after.waitedMs / 1000).toFixed(0)} s`}, ${after.targetCpuMs.toFixed(0)} ms CPU of its own`;
}

/** The rounds' own views of the load (Run.tail), in one line; undefined when the target did not tell (a `--workers` target). */
function tailSummary(runs: Run[]): TailSummary | undefined {
  const tails = runs.flatMap((r) => (r.tail?.serverP50 === undefined ? [] : [r.tail]));
  if (tails.length === 0) return undefined;
  const defined = (values: (number | undefined)[]): number[] => values.filter((v): v is number => v !== undefined);
  return {
    serverP50: median(defined(tails.map((t) => t.serverP50))),
    serverP99: median(defined(tails.map((t) => t.serverP99))),
    waitP50: median(defined(tails.map((t) => t.waitP50))),
    waitP99: median(defined(tails.map((t) => t.waitP99))),
    maxPauseMs: Math.max(...tails.map((t) => t.maxPauseMs)),
    longPauseMsPerSec: median(tails.map((t) => t.longPauseMs / settings.durationSec)),
    slowestPauseShare: median(defined(tails.map((t) => t.slowestPauseShare))),
    pauseShare: median(defined(tails.map((t) => t.pauseShare))),
    loopDelayP99Ms: median(defined(tails.map((t) => t.loopDelayP99Ms))),
    loopDelayMaxMs: Math.max(...defined(tails.map((t) => t.loopDelayMaxMs))),
  };
}

/** The rounds' second-by-second spreads (Run.seconds), their medians; undefined when no round had them. */
function secondsSummary(runs: Run[]): Summary['seconds'] {
  const spreads = runs.flatMap((r) => (r.seconds ? [r.seconds] : []));
  if (spreads.length === 0) return undefined;
  return { withinP99OverP50: median(spreads.map((s) => s.withinP99OverP50)), p50SlowestOverFastest: median(spreads.map((s) => s.p50SlowestOverFastest)) };
}

const runStarted = performance.now();
function log(message: string): void {
  const at = ((performance.now() - runStarted) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${at} s] ${message}\n`);
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  const read = (dir: string, name: string): string | undefined => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return undefined;
    }
  };
  for (const name of ['@graphql-hive/gateway', '@graphql-hive/gateway-runtime', '@graphql-mesh/compose-cli', '@apollo/gateway', '@apollo/server', 'autocannon']) {
    const v = read(PEERS_DIR, name);
    if (v) out[name] = v;
  }
  for (const name of ['graphql', 'graphql-yoga', '@graphql-tools/stitch', '@graphql-tools/delegate', 'undici']) {
    const v = read(join(BENCH_DIR, '..'), name);
    if (v) out[`tessera: ${name}`] = v;
  }
  try {
    const commit = execSync('git rev-parse --short HEAD', { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain -- ../src', { cwd: BENCH_DIR, encoding: 'utf8' }).trim() !== '';
    out.tessera = `${commit}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    out.tessera = 'unknown (no git)';
  }
  return out;
}

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** What a target answers to the scenario's request, as it comes (`raw`) and as a GraphQL response (`text`). */
async function ask(target: Target, body: string): Promise<{ status: number; text: string; raw: string }> {
  if (target.plain) {
    const res = await fetch(target.url!, { method: target.plain.method, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    const raw = await res.text();
    return { status: res.status, raw, text: target.plain.asGraphql(raw) };
  }
  const { status, text } = await post(target.url!, body);
  return { status, text, raw: text };
}

/**
 * Polls the target with the scenario's query until it answers 200 without
 * errors (bounded: 60 s; a 4xx answer that lasts 2 s is taken as final).
 */
async function firstAnswer(url: string, body: string): Promise<void> {
  const until = Date.now() + 60_000;
  let last = '';
  let refusedSince: number | undefined;
  while (Date.now() < until) {
    try {
      const { status, text } = await post(url, body);
      if (status === 200 && !(JSON.parse(text) as { errors?: unknown }).errors) return;
      last = `HTTP ${status}: ${text.slice(0, 200)}`;
      if (status >= 400 && status < 500) {
        refusedSince ??= Date.now();
        if (Date.now() - refusedSince > 2_000) throw new Error(`the query is refused: ${last}`);
      } else refusedSince = undefined;
    } catch (error) {
      if ((error as Error).message.startsWith('the query is refused')) throw error;
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no correct answer within 60 s (last: ${last})`);
}

/**
 * Upstream requests per client request, counted exactly: `total` requests
 * sent `concurrency` at a time, every one answered before the upstream
 * counters are read again (a timed load run would leave its last requests
 * uncounted on the client side).
 */
async function upstreamPerRequest(target: Target, body: string, upstreams: Child[], concurrency: number): Promise<number> {
  const total = args.quick ? Math.max(10, concurrency) : Math.max(20, concurrency * 4);
  // The load run before this one may still have requests in the gateway (autocannon stops without waiting for
  // them, and a slow one can sit between two upstream calls for a while): wait until the upstream counters have
  // not moved for 1 s (--quick: 0.3 s; bounded: 15 s).
  const count = async (): Promise<number> => (await Promise.all(upstreams.map(requestsServed))).reduce((a, b) => a + b, 0);
  let settled = await count();
  const stillFor = args.quick ? 3 : 10; // polls of 100 ms
  for (let i = 0, still = 0; i < 150 && still < stillFor; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await count();
    still = now === settled ? still + 1 : 0;
    settled = now;
  }
  const before = await Promise.all(upstreams.map(requestsServed));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      await ask(target, body);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const after = await Promise.all(upstreams.map(requestsServed));
  return (after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)) / total;
}

async function runScenario(
  scenario: Scenario,
  only: string[] | undefined = wantedTargets,
  nodeFlags: (target: Target) => string[] = () => [],
): Promise<{ result: ScenarioResult; setup?: ScenarioSetup; targets: Target[] }> {
  const result: ScenarioResult = { name: scenario.name, title: scenario.title, available: true };
  const reason = await scenario.unavailable();
  if (reason) {
    log(`\n== ${scenario.title}: not available yet: ${reason}`);
    return { result: { ...result, available: false, reason }, targets: [] };
  }
  log(`\n== ${scenario.title}`);
  const setup = await scenario.setup();
  const body = JSON.stringify({ query: scenario.query, operationName: scenario.operationName });
  const targets: Target[] = [];
  result.failedTargets = [];
  result.coldStart = [];
  for (const target of setup.targets) {
    if (only && !only.includes(target.name)) continue;
    try {
      if (target.start) {
        const child = await startWithEnv(target, () => target.start!({ nodeFlags: nodeFlags(target) }));
        // Each process under test (a gateway, the raw proxy, a hand-written server) gets its CPU to itself; the upstreams stay on the others.
        if (layout?.pinned) pinTo(child.pid, layout.targetCpus!);
        target.process = child;
        target.url = `http://127.0.0.1:${child.port}${target.path}`;
        await firstAnswer(target.url, body);
        if (target.mapsModule && !readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes(target.mapsModule)) {
          throw new Error(`${target.mapsModule} is not loaded in the process after its first answer: it does not run the code it is named for`);
        }
        const cold: ColdStart = { target: target.name, readyMs: child.readyMs, firstAnswerMs: performance.now() - child.spawnedAt, info: child.info };
        result.coldStart.push(cold);
        log(`  ${target.label.padEnd(20)} ready in ${cold.readyMs.toFixed(0)} ms, first answer at ${cold.firstAnswerMs.toFixed(0)} ms`);
      } else if (!target.plain) {
        await firstAnswer(target.url!, body);
      }
      targets.push(target);
    } catch (error) {
      const message = (error as Error).message;
      result.failedTargets.push({ target: target.name, error: message.slice(0, 2000) });
      log(`  ${target.label}: FAILED to start: ${message.split('\n').slice(0, 6).join('\n    ')}`);
      await target.process?.stop();
    }
  }
  // Answers: every target against the direct call (or the first target when there is none).
  const answers = new Map<string, { status: number; text: string }>();
  for (const target of targets) answers.set(target.name, await ask(target, body));
  const reference = answers.get('direct') ?? answers.values().next().value;
  result.checks = targets.map((t) => check(t.name, answers.get(t.name)!.status, answers.get(t.name)!.text, reference?.text ?? ''));
  result.responseBytes = reference ? Buffer.byteLength(reference.text) : undefined;
  for (const c of result.checks) {
    log(`  answer of ${c.target.padEnd(10)} ${c.identical ? 'identical to the direct call' : `DIFFERENT: ${c.difference}`}${c.identical && !c.sameBytes ? ' (same JSON, different bytes)' : ''} (${c.bytes} bytes)`);
  }
  return { result, setup, targets };
}

/** The fastest calibrations of this bench run so far (lib/host-speed.ts), µs: the target's CPU, and the load generator's and upstreams'. */
let fastestHostUs: number | undefined;
let fastestRunnerUs: number | undefined;
/** A calibration this much slower than the fastest is a slow spell of the host: the run waits it out, up to HOST_WAIT_MS. */
const HOST_SLOW = 1.15;
const HOST_WAIT_MS = 40_000;
const HOST_RETRY_MS = 4_000;

/** The fastest of a few calibrations a second apart before the first scenario: the baseline a slow spell is told from (the first run's own reading may fall in one). */
async function primeHost(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    keepFastest(await hostSpeeds());
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  log(`host: ${fastestHostUs?.toFixed(0) ?? '–'} µs on the target's CPU, ${fastestRunnerUs?.toFixed(0) ?? '–'} µs on the others' at best (lib/calibrate.mjs, lower is faster)`);
}

/** Keeps the fastest readings of the run so far, the baseline a slow spell is told from. */
function keepFastest({ hostUs, hostRunnerUs }: { hostUs?: number; hostRunnerUs?: number }): void {
  if (hostUs !== undefined) fastestHostUs = Math.min(fastestHostUs ?? hostUs, hostUs);
  if (hostRunnerUs !== undefined) fastestRunnerUs = Math.min(fastestRunnerUs ?? hostRunnerUs, hostRunnerUs);
}

/** Both calibrations at once, each on its own CPUs (the scenario is idle meanwhile). */
async function hostSpeeds(): Promise<{ hostUs?: number; hostRunnerUs?: number }> {
  if (!layout?.pinned) return { hostUs: await hostSpeed(undefined) };
  const [hostUs, hostRunnerUs] = await Promise.all([hostSpeed(layout.targetCpus), hostSpeed(layout.runnerCpus)]);
  return { hostUs, hostRunnerUs };
}

/**
 * The host's speed before a load run, after waiting out a slow spell: on this
 * shared VM the calibration flips between two speeds about 1.6× apart for
 * seconds to tens of seconds at a time, on either CPU. A slow target CPU
 * reads as more CPU per request for whichever target the round falls on; a
 * slow load-generator and upstream CPU keeps the gateway's requests in flight
 * longer, and more of their data survives its scavenges.
 */
async function steadyHost(what: string): Promise<{ hostUs?: number; hostRunnerUs?: number; hostWaitedMs: number }> {
  const slow = (us: number | undefined, best: number | undefined): boolean => us !== undefined && best !== undefined && us > best * HOST_SLOW;
  let speeds = await hostSpeeds();
  let hostWaitedMs = 0;
  while ((slow(speeds.hostUs, fastestHostUs) || slow(speeds.hostRunnerUs, fastestRunnerUs)) && hostWaitedMs < HOST_WAIT_MS) {
    if (hostWaitedMs === 0) {
      log(
        `  host slower before ${what}: ${speeds.hostUs?.toFixed(0)} µs on the target's CPU (best ${fastestHostUs?.toFixed(0)}), ` +
          `${speeds.hostRunnerUs?.toFixed(0) ?? '–'} µs on the others' (best ${fastestRunnerUs?.toFixed(0) ?? '–'}); waiting up to ${HOST_WAIT_MS / 1000} s for it`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, HOST_RETRY_MS));
    hostWaitedMs += HOST_RETRY_MS;
    speeds = await hostSpeeds();
  }
  keepFastest(speeds);
  return { ...speeds, hostWaitedMs };
}

async function loadScenario(scenario: Scenario, result: ScenarioResult, setup: ScenarioSetup, targets: Target[]): Promise<void> {
  const body = JSON.stringify({ query: scenario.query, operationName: scenario.operationName });
  const ours = [process.pid, ...setup.services.map((s) => s.pid), ...targets.flatMap((t) => (t.process ? [t.process.pid] : []))];
  // What must be idle between runs: every process of the scenario but the bench itself (which polls meanwhile).
  const busyWhileIdle = ours.filter((pid) => pid !== process.pid);
  const runs: Run[] = [];
  const answerOf = new Map<string, string>();
  for (const t of targets) answerOf.set(t.name, (await ask(t, body)).raw);

  const once = async (target: Target, connections: number, durationSec: number, round: number): Promise<Run> => {
    const pid = target.process!.pid;
    // A target that is also an upstream of the others (the direct call) gets the target's CPU for its own runs only.
    const upstream = layout?.pinned && setup.services.some((s) => s.pid === pid);
    // The host's speed on the target's CPU and on the others', the scenario idle (lib/host-speed.ts), before the upstream moves onto it.
    const { hostUs, hostRunnerUs, hostWaitedMs } = await steadyHost(`${target.name} round ${round}`);
    if (upstream) pinTo(pid, layout.targetCpus!);
    const gcBefore = await target.process!.gcTotals();
    const sampler = watch([pid], ours);
    const load = await runLoad({
      url: target.url!,
      method: target.plain?.method ?? 'POST',
      body: target.plain ? undefined : body,
      connections,
      durationSec,
      expectBody: answerOf.get(target.name),
    }).finally(() => upstream && pinTo(pid, layout.runnerCpus!));
    const sample = sampler.stop();
    const gcAfter = await target.process!.gcTotals();
    const hostUsAfter = await hostSpeed(layout?.pinned ? layout.targetCpus : undefined);
    const cpuMs = 1000 * (sample.cpu.get(pid) ?? 0);
    // The next run starts only once this target (and the upstreams) stopped working off this load.
    const idle = await settle(busyWhileIdle);
    const leftoverMs = idle.cpuMs.get(pid) ?? 0;
    return {
      target: target.name,
      connections,
      round,
      rps: load.rps,
      p50: load.p50,
      p99: load.p99,
      seconds: load.seconds,
      errors: load.errors,
      errorKinds: load.errorKinds,
      firstMismatch: load.firstMismatch,
      requests: load.requests,
      cpuPct: (100 * (sample.cpu.get(pid) ?? 0)) / sample.wallSeconds,
      cpuMsPerRequest: cpuMs / Math.max(1, load.requests),
      gcPct: gcBefore && gcAfter && gcAfter.activeMs > gcBefore.activeMs ? (100 * (gcAfter.ms - gcBefore.ms)) / (gcAfter.activeMs - gcBefore.activeMs) : undefined,
      tail: gcAfter?.window,
      peakRssMB: sample.peakRss.get(pid) ?? 0,
      foreignCpuPct: (100 * sample.foreignCpu) / sample.wallSeconds,
      hostUs,
      hostUsAfter,
      hostRunnerUs,
      hostWaitedMs,
      afterLoad: { waitedMs: idle.waitedMs, targetCpuMs: leftoverMs, othersCpuMs: [...idle.cpuMs.values()].reduce((a, b) => a + b, 0) - leftoverMs, settled: idle.settled },
    };
  };

  const upstreamCalls = new Map<string, number>();
  for (const connections of settings.connections) {
    for (const target of targets) {
      if (settings.warmupSec > 0) await once(target, connections, settings.warmupSec, 0);
      if (target.role !== 'limit' || target.name === 'raw-proxy') {
        upstreamCalls.set(`${target.name} ${connections}`, await upstreamPerRequest(target, body, setup.upstreams, connections));
      }
    }
    for (let round = 1; round <= settings.rounds; round++) {
      // Alternate the order each round so no target always runs first (or right after the same neighbour). With two
      // targets the rotation alone alternates them; reversing it as well would put the same one first every round.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      if (round % 2 === 0 && targets.length > 2) order.reverse();
      for (const target of order) {
        const run = await once(target, connections, settings.durationSec, round);
        runs.push(run);
        log(
          `  c=${String(connections).padStart(2)} round ${round} ${target.name.padEnd(10)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  cpu ${run.cpuPct.toFixed(0)}% (${run.cpuMsPerRequest.toFixed(3)} ms/req)  GC ${run.gcPct === undefined ? '–' : run.gcPct.toFixed(0)}%  others ${run.foreignCpuPct.toFixed(0)}%  host ${run.hostUs === undefined ? '–' : `${run.hostUs.toFixed(0)}`}→${run.hostUsAfter === undefined ? '–' : `${run.hostUsAfter.toFixed(0)} µs`}${run.hostRunnerUs === undefined ? '' : ` (others' CPU ${run.hostRunnerUs.toFixed(0)} µs)`}${run.hostWaitedMs ? ` (waited ${(run.hostWaitedMs / 1000).toFixed(0)} s for it)` : ''}${afterLoadNote(run)}${run.errors ? `  ERRORS ${run.errors}` : ''}`,
        );
      }
    }
  }
  result.runs = runs;
  const summary: Summary[] = [];
  for (const connections of settings.connections) {
    for (const target of targets) {
      const mine = runs.filter((r) => r.target === target.name && r.connections === connections);
      summary.push({
        target: target.name,
        label: target.label,
        role: target.role,
        connections,
        rounds: mine.length,
        rps: median(mine.map((r) => r.rps)),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        seconds: secondsSummary(mine),
        cpuPct: median(mine.map((r) => r.cpuPct)),
        cpuMsPerRequest: median(mine.map((r) => r.cpuMsPerRequest)),
        gcPct: median(mine.flatMap((r) => (r.gcPct === undefined ? [] : [r.gcPct]))),
        tail: tailSummary(mine),
        peakRssMB: Math.max(...mine.map((r) => r.peakRssMB)),
        upstreamPerRequest: upstreamCalls.get(`${target.name} ${connections}`),
        errors: mine.reduce((a, r) => a + r.errors, 0),
        foreignCpuPct: median(mine.map((r) => r.foreignCpuPct)),
      });
    }
    // Ratios against the judged target (one process, dedupe off), like the targets table.
    const tessera = summary.find((s) => s.connections === connections && s.target === 'tessera-nodedupe');
    for (const s of summary) if (tessera && s.connections === connections) s.tesseraRatio = tessera.rps / s.rps;
  }
  result.summary = summary;
}

/**
 * CPU profile of one Tessera target under load (default: dedupe off, so every
 * request does the whole work). The summary reads only the samples from the
 * load's start to the process's stop: start-up (module loading, composition)
 * is left out. The raw profile keeps them all.
 */
async function profileScenario(scenario: Scenario): Promise<void> {
  const targetName = wantedTargets?.[0] ?? 'tessera-nodedupe';
  // One folder per profile: node writes one .cpuprofile per thread (tsx's module loader has its own).
  const dir = join(RESULTS_DIR, 'profiles', `${targetName}-${scenario.name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const connections = settings.connections.at(-1)!;
  // The target's own flags (START_FLAGS for Tessera, as the timed runs give them), then the profiler's.
  const { result, setup, targets } = await runScenario(scenario, [targetName], (target) => [...nodeFlagsOf(target), '--cpu-prof', `--cpu-prof-dir=${dir}`]);
  if (!setup) return;
  try {
    const tessera = targets.find((t) => t.name === targetName);
    if (!tessera) throw new Error(`${targetName} did not start: ${JSON.stringify(result.failedTargets)}`);
    const body = JSON.stringify({ query: scenario.query, operationName: scenario.operationName });
    const duration = Number(args.duration ?? 10);
    const loadStarted = performance.now();
    const load = await runLoad({ url: tessera.url!, body, connections, durationSec: duration });
    log(`  profiled ${duration} s at ${connections} connections: ${load.rps.toFixed(0)} req/s (profiler on), ${load.errors} errors`);
    await tessera.process!.stop();
    const windowMs = performance.now() - loadStarted;
    // The main thread's profile is the largest.
    const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
    const main = profiles.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (!main) throw new Error(`no profile written in ${dir}`);
    const summary = summarizeProfile(main, 25, windowMs);
    const file = join(RESULTS_DIR, `profile-${scenario.name}.md`);
    const header = `# CPU profile of Tessera (${targetName}): ${scenario.title}\n\n\`npm run bench -- ${process.argv.slice(2).join(' ')}\`, ${duration} s at ${connections} connections, ${load.rps.toFixed(0)} req/s with the profiler on; ${new Date().toISOString()}; load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores.\n\n`;
    writeFileSync(file, header + summary);
    log(summary);
    log(`  written: ${file} (raw profile: ${main}; open it in Chrome DevTools or speedscope)`);
  } finally {
    await setup.close();
  }
}

/** The caveats printed with a run's table, derived from its figures (also on --render, with the current rules). */
function notesFor(result: BenchResult): string[] {
  const notes: string[] = [];
  if (result.layout && !result.layout.pinned) {
    notes.push(`Not pinned (${result.layout.reason}): each gateway shared its CPUs with the load generator and the upstreams, so its req/s and latency depend on theirs; the like-for-like figures come from a pinned run.`);
  }
  const foreign = result.scenarios.flatMap((s) => s.runs ?? []).map((r) => r.foreignCpuPct);
  const busiest = Math.max(0, ...foreign);
  const disturbed = result.scenarios.flatMap((s) => (s.runs ?? []).filter((r) => r.foreignCpuPct > 15).map((r) => `${s.name} ${r.target} c=${r.connections} round ${r.round} (${r.foreignCpuPct.toFixed(0)}%)`));
  if (median(foreign) > 15) {
    notes.push(
      `Other processes (and kernel time no process is charged for) used up to ${busiest.toFixed(0)}% of a core (median ${median(foreign).toFixed(0)}%) during the load runs, on a ${result.machine.cores}-core machine: these figures are noisy; rerun on a quiet machine before quoting them.`,
    );
  } else if (disturbed.length > 0) {
    notes.push(
      `The machine was quiet (CPU used by other processes, and kernel time no process is charged for, such as loopback networking at high req/s: median ${median(foreign).toFixed(0)}% of a core) except during ${disturbed.length} of ${foreign.length} load runs: ${disturbed.join(', ')}. Medians of ${result.settings.rounds} rounds absorb one disturbed round.`,
    );
  } else if (foreign.length > 0) {
    notes.push(`The machine was quiet: other processes used at most ${busiest.toFixed(0)}% of a core during any load run.`);
  }
  // Each run's host: the slower of its calibrations before and after the load (a slow spell may start during it).
  const hosted = result.scenarios.flatMap((s) =>
    (s.runs ?? []).filter((r) => r.round > 0 && r.hostUs !== undefined).map((r) => ({ s: s.name, r, us: Math.max(r.hostUs!, r.hostUsAfter ?? r.hostUs!) })),
  );
  if (hosted.length > 0) {
    const fastest = Math.min(...hosted.map((h) => Math.min(h.r.hostUs!, h.r.hostUsAfter ?? h.r.hostUs!)));
    const slowest = Math.max(...hosted.map((h) => h.us));
    const runner = hosted.flatMap((h) => (h.r.hostRunnerUs === undefined ? [] : [h.r.hostRunnerUs]));
    const range =
      `${fastest.toFixed(0)}–${slowest.toFixed(0)} µs per iteration of lib/calibrate.mjs on the target's CPU before and after each run, lower is faster` +
      (runner.length ? `; on the load generator's and upstreams' CPU ${Math.min(...runner).toFixed(0)}–${Math.max(...runner).toFixed(0)} µs before each run` : '');
    const waits = hosted.filter((h) => h.r.hostWaitedMs);
    const waited = waits.length
      ? ` ${waits.length} run(s) waited for a slow spell of the host to pass first (${(waits.reduce((a, h) => a + h.r.hostWaitedMs!, 0) / 1000).toFixed(0)} s in all).`
      : '';
    const slow = hosted.filter((h) => h.us > fastest * HOST_SLOW);
    notes.push(
      slow.length === 0
        ? `The host's speed held (${range}): the rounds' CPU figures compare.${waited}`
        : `The host's speed moved by ${((slowest / fastest - 1) * 100).toFixed(0)}% (${range}): every target's CPU per request reads higher on a slower host, so compare targets within a round, not across rounds.${waited} ${slow.length} of ${hosted.length} runs had a host more than ${((HOST_SLOW - 1) * 100).toFixed(0)}% slower than the fastest before or after the load: ${slow
            .slice(0, 12)
            .map((h) => `${h.s} ${h.r.target} round ${h.r.round} (${h.us.toFixed(0)} µs)`)
            .join(', ')}${slow.length > 12 ? ', …' : ''}.`,
    );
  }
  // Work a target did after its load ended: the next run waited for it (lib/proc.ts settle), so it is named here.
  const leftovers = result.scenarios.flatMap((s) =>
    (s.summary ?? []).flatMap((e) => {
      const mine = (s.runs ?? []).filter((r) => r.target === e.target && r.connections === e.connections && r.round > 0 && r.afterLoad);
      const cpu = median(mine.map((r) => r.afterLoad!.targetCpuMs));
      const unsettled = mine.filter((r) => !r.afterLoad!.settled).length;
      return cpu >= 250 || unsettled > 0
        ? [`${s.name} ${e.label} c=${e.connections}: ${(cpu / 1000).toFixed(1)} s of CPU (median)${unsettled ? `, still busy when the wait gave up in ${unsettled} run(s)` : ''}`]
        : [];
    }),
  );
  if (leftovers.length > 0) {
    notes.push(
      `Some targets kept working after their load ended (requests their clients had given up on, and their garbage); each next run started only once every process of the scenario was idle, so this work is in no run's figures: ${leftovers.join('; ')}.`,
    );
  }
  for (const s of result.scenarios) {
    for (const e of (s.summary ?? []).filter((x) => x.errors > 0)) {
      const kinds = { socket: 0, timeouts: 0, non2xx: 0, mismatches: 0 };
      for (const r of s.runs ?? []) {
        if (r.target !== e.target || r.connections !== e.connections || !r.errorKinds) continue;
        for (const k of Object.keys(kinds) as Array<keyof typeof kinds>) kinds[k] += r.errorKinds[k];
      }
      const detail = Object.entries(kinds).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
      const sample = (s.runs ?? []).find((r) => r.target === e.target && r.connections === e.connections && r.firstMismatch)?.firstMismatch;
      notes.push(`${s.name}: ${e.label} had ${e.errors} failed or mismatched responses at ${e.connections} connections (${detail})${sample ? `; the first unexpected body began: ${sample.slice(0, 300)}` : ''}.`);
    }
  }
  for (const s of result.scenarios) {
    for (const c of s.checks ?? []) if (!c.identical) notes.push(`${s.name}: the answer of ${c.target} differs from the direct call's: ${c.difference}`);
  }
  return notes;
}

/** `--render results/latest.json`: writes the Markdown and the chart of a finished run again (after a change to them). */
function render(file: string): void {
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  result.notes = notesFor(result);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const stem = file.replace(/\.json$/, '');
  const name = stem.split('/').pop()!;
  writeFileSync(`${stem}.md`, markdownReport(result, `${name}.svg`));
  writeFileSync(`${stem}.svg`, drawChart(result));
  log(`written: ${stem}.md, ${stem}.svg`);
}

async function main(): Promise<void> {
  if (args.render) return render(resolve(args.render));
  if (!existsSync(join(PEERS_DIR, 'node_modules', 'autocannon'))) {
    log('Installing the benchmark peers (bench/peers, once) ...');
    execSync('npm ci --no-audit --no-fund', { cwd: PEERS_DIR, stdio: 'inherit' });
  }
  log(describeLayout(layout));
  if (!args.render && !args.profile) await primeHost();
  const chosen = SCENARIOS.filter((s) => !wantedScenarios || wantedScenarios.includes(s.name));
  // Tessera as users run it (compiled JavaScript), unless asked for tsx or for another checkout (A/B runs both through tsx).
  const compiled = !args.tsx && !args['tessera-src'] && !args['tessera-b'];
  if (compiled) process.env.TESSERA_BENCH_BUILD = buildTessera(log);
  if (args.profile) {
    for (const scenario of chosen.filter((s) => !wantedScenarios ? ['proxy', 'federation'].includes(s.name) : true)) await profileScenario(scenario);
    return;
  }
  const startedAt = new Date().toISOString();
  const loadStart = loadavg()[0]!;
  const result: BenchResult = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    startedAt,
    finishedAt: '',
    mode: args.quick ? 'quick' : process.argv.length > 2 ? 'custom' : 'full',
    settings,
    layout,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      os: `${osType()} ${release()}`,
      loadStart,
      loadEnd: 0,
    },
    versions: {
      ...versions(),
      'tessera runs as': compiled ? 'JavaScript compiled by tsc (as in production)' : 'TypeScript through tsx',
      'tessera node flags':
        tesseraFlags(args['tessera-node-flags']).join(' ') +
        (args['tessera-b-node-flags'] !== undefined ? `; B: ${tesseraFlags(args['tessera-b-node-flags']).join(' ')}` : '') +
        ' (as the image starts it)',
      ...(args['peer-node-flags'] ? { 'Hive Gateway node flags': args['peer-node-flags'] } : {}),
    },
    notes: [],
    scenarios: [],
  };
  for (const scenario of chosen) {
    const { result: scenarioResult, setup, targets } = await runScenario(scenario, wantedTargets, nodeFlagsOf);
    result.scenarios.push(scenarioResult);
    if (!setup) continue;
    try {
      if (!args.check) await loadScenario(scenario, scenarioResult, setup, targets);
    } finally {
      await setup.close();
    }
  }
  // Schema build time and memory are cold-start figures for the full run; --quick leaves them out to stay a quick check.
  if (!args.check && !args.quick && !wantedScenarios) result.schemaBuild = await measureSchemaBuilds(log);
  result.finishedAt = new Date().toISOString();
  result.machine.loadEnd = loadavg()[0]!;
  result.notes = notesFor(result);
  if (collector) result.notes.push(`--telemetry: the OTLP collector stub received ${collector.batches} span batches (${(collector.bytes / 2 ** 20).toFixed(1)} MB) from tessera-tracing.`);

  const table = consoleTables(result);
  await new Promise<void>((resolve) => process.stdout.write(table, () => resolve()));
  if (args.check) return;
  const out = args.out ?? RESULTS_DIR;
  mkdirSync(out, { recursive: true });
  const stem = args.quick ? 'quick' : 'latest';
  writeFileSync(join(out, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(out, `${stem}.md`), markdownReport(result, `${stem}.svg`));
  writeFileSync(join(out, `${stem}.svg`), drawChart(result));
  log(`\nwritten: ${join(out, `${stem}.json`)}, ${stem}.md, ${stem}.svg`);
}

runMain(main, 'benchmark', (message) => log(`\n${message}`));
