/** The shape of bench/results/latest.json (one run of `npm run bench`). */
import type { Layout } from './pin.js';
import type { SecondSpread } from './load.js';
import type { TailWindow } from './proc.js';

export interface TailSummary {
  serverP50?: number;
  serverP99?: number;
  /** Tessera's admission wait (server.admission), ms: the share of the in-process time spent queued before any work. */
  waitP50?: number;
  waitP99?: number;
  maxPauseMs: number;
  /** Time in GC pauses of 10 ms or more per second of load, ms. */
  longPauseMsPerSec: number;
  /** The share (0..1) of their time in the process the slowest 1% of requests spent in GC pauses, and all requests (TailWindow). */
  slowestPauseShare?: number;
  pauseShare?: number;
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started and ended (2 cores: 2.0 = fully busy). */
  loadStart: number;
  loadEnd: number;
}

export interface ColdStart {
  target: string;
  /** Process start to listening (the process's ready message), ms. */
  readyMs: number;
  /** Process start to the first correct answer to the scenario's query, ms. */
  firstAnswerMs: number;
  /** What the process reported: build/compose time, heap and RSS when ready. */
  info: Record<string, unknown>;
}

export interface Run {
  target: string;
  connections: number;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  /** The client's latencies second by second (lib/load.ts): the spread within a second apart from the drift between seconds. */
  seconds?: SecondSpread;
  errors: number;
  /** What the errors were (socket errors, timeouts after 10 s, non-2xx answers, bodies unlike the verified answer). */
  errorKinds?: { socket: number; timeouts: number; non2xx: number; mismatches: number };
  /** The start of the first response body unlike the verified answer. */
  firstMismatch?: string;
  requests: number;
  /** CPU of the target's process, % of one core. */
  cpuPct: number;
  /** CPU time of the target's process per request, ms: steadier than req/s on a busy machine. */
  cpuMsPerRequest: number;
  /**
   * Garbage collection's share of the target's work during the run, %: the main thread's GC pauses (perf_hooks
   * 'gc' entries) over the main thread's busy time (event loop utilization's `active`), both counted inside the
   * process by the same preloaded module in every process (lib/gc-observer.mjs). Concurrent marking and sweeping
   * on V8's helper threads is in neither. Undefined when the process did not tell (a `--workers` target).
   */
  gcPct?: number;
  /** The target's own view of the load (lib/gc-observer.mjs): latency inside the process, GC pauses, event-loop delay. */
  tail?: TailWindow;
  peakRssMB: number;
  /** CPU used on the machine by other processes during the run, % of one core. */
  foreignCpuPct: number;
  /** The host's speed right before the run, on the target's CPU: µs per iteration of lib/calibrate.mjs (lower is faster); absent in runs from before it was recorded. */
  hostUs?: number;
  /** The same right after the load: a host that slowed down during the run reads higher here. */
  hostUsAfter?: number;
  /** The same on the load generator's and upstreams' CPU before the load (a pinned run only). */
  hostRunnerUs?: number;
  /** How long the run waited for a slow spell of the host to end before it started (bench/run.ts steadyHost), ms. */
  hostWaitedMs?: number;
  /**
   * After the load ended, before the next run: how long until the scenario's processes were idle (lib/proc.ts
   * settle), and the CPU the target itself and the others (upstreams, other targets) used meanwhile: work left
   * over from this load (requests its clients gave up on, their garbage), which no run's figures include.
   */
  afterLoad?: { waitedMs: number; targetCpuMs: number; othersCpuMs: number; settled: boolean };
}

export interface Summary {
  target: string;
  label: string;
  role: string;
  connections: number;
  rounds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Medians of the rounds' Run.seconds; undefined when no round had two full seconds to compare. */
  seconds?: { withinP99OverP50: number; p50SlowestOverFastest: number };
  cpuPct: number;
  cpuMsPerRequest: number;
  /** Median of the rounds' GC shares (Run.gcPct); NaN (null in the JSON) when not measured. */
  gcPct: number;
  /** Medians of the rounds' Run.tail figures (the longest pause and event-loop delay: the largest of the rounds). */
  tail?: TailSummary;
  peakRssMB: number;
  /** Upstream requests per client request, counted over a separate batch of requests at the same concurrency (none for the direct call). */
  upstreamPerRequest?: number;
  errors: number;
  foreignCpuPct: number;
  /** The req/s of Tessera with dedupe off (the judged target) divided by this target's (medians). */
  tesseraRatio?: number;
}

export interface ScenarioResult {
  name: string;
  title: string;
  available: boolean;
  reason?: string;
  failedTargets?: Array<{ target: string; error: string }>;
  responseBytes?: number;
  checks?: Array<{ target: string; identical: boolean; sameBytes: boolean; bytes: number; status: number; difference?: string }>;
  coldStart?: ColdStart[];
  runs?: Run[];
  summary?: Summary[];
}

export interface BenchResult {
  command: string;
  /** Where the processes ran (lib/pin.ts); absent in runs from before it was recorded. */
  layout?: Layout;
  startedAt: string;
  finishedAt: string;
  mode: 'full' | 'quick' | 'custom';
  settings: { durationSec: number; warmupSec: number; rounds: number; connections: number[] };
  machine: Machine;
  versions: Record<string, string>;
  /** Caveats printed with the table (machine busy, errors). */
  notes: string[];
  scenarios: ScenarioResult[];
  schemaBuild?: Array<{ name: string; buildMs?: number; heapMB?: number; rssMB?: number; reason?: string }>;
}
