/**
 * The processes of a benchmark run: every server runs in a child process
 * started here, reports readiness over IPC, and is stopped by pid at the end,
 * on error and on exit (SIGKILL as the last resort), so a run leaves nothing
 * behind. CPU and memory are read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const PEERS_DIR = join(BENCH_DIR, 'peers');
const CHILD_ENTRY = join(BENCH_DIR, 'lib', 'child.ts');
/** Preloaded into every process started here: its garbage collections, counted (gc-observer.mjs). */
const GC_OBSERVER = pathToFileURL(join(BENCH_DIR, 'lib', 'gc-observer.mjs')).href;

/** Garbage collection in a process so far: the main thread's pauses added up, how many, and the main thread's busy time. */
export interface GcTotals {
  ms: number;
  count: number;
  /** Time the main thread's event loop was not idle, ms (performance.eventLoopUtilization().active). */
  activeMs: number;
  /** Since the previous question (lib/gc-observer.mjs): the process's own view of the requests it answered. */
  window?: TailWindow;
}

/** Where a tail comes from, seen from inside a process over one window (lib/gc-observer.mjs). */
export interface TailWindow {
  /** Requests its node:http server answered. */
  answered: number;
  /** Headers parsed to the last byte handed to the socket, ms; undefined when it answered none. */
  serverP50?: number;
  serverP99?: number;
  /** How long Tessera's requests waited for a place (server.admission) before any work was done on them, ms; undefined in other processes. */
  waitP50?: number;
  waitP99?: number;
  /** The longest GC pause, and the time spent in pauses of 10 ms or more, ms. */
  maxPauseMs: number;
  longPauseMs: number;
  /** The share (0..1) of their time in the process that the requests at or above serverP99 spent in GC pauses, and all requests. */
  slowestPauseShare?: number;
  pauseShare?: number;
  /** How late a 10 ms timer ran (one piece of work holding the thread), 99th percentile and longest, ms. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

export interface Child {
  name: string;
  pid: number;
  port: number;
  /** What the process reported when ready (build time, memory). */
  info: Record<string, unknown>;
  /** Process start to the ready message, ms. */
  readyMs: number;
  spawnedAt: number;
  /** The last lines the process wrote (for error messages). */
  output(): string;
  /** Its garbage collections so far; undefined when it does not answer within 2 s or runs cluster workers (whose collections it cannot see). */
  gcTotals(): Promise<GcTotals | undefined>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL): the exit path, where nothing async can run. */
export function killAll(): void {
  for (const proc of running) {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  running.clear();
}
process.on('exit', killAll);

/**
 * Runs a benchmark script's `main`: every process it started is killed when it
 * ends, fails, or is interrupted (Ctrl-C, SIGTERM; `log` says so, naming `what`).
 * Exits with `process.exitCode` (0 unless main set it), 1 on an error, 130 on a signal.
 */
export function runMain(main: () => Promise<void>, what: string, log: (message: string) => void): void {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: stopping every process started by the ${what}`);
      killAll();
      process.exit(130);
    });
  }
  main().then(
    () => {
      killAll();
      process.exit(process.exitCode ?? 0);
    },
    (error: unknown) => {
      console.error(error);
      killAll();
      process.exit(1);
    },
  );
}

export interface SpawnOptions {
  name: string;
  /** Arguments after `node`. */
  args: string[];
  /** Extra node flags (--cpu-prof ...). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs?: number;
  /**
   * For a process that does not speak the IPC protocol (the `tessera` CLI):
   * polled until it resolves with the listening port. The IPC channel is
   * still opened, so the process exits when the run does.
   */
  readyWhen?: () => Promise<number | undefined>;
}

export function spawnNode(options: SpawnOptions): Promise<Child> {
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, ['--import', GC_OBSERVER, ...(options.nodeFlags ?? []), ...options.args], {
    cwd: options.cwd ?? BENCH_DIR,
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.add(proc);
  let tail = '';
  // BENCH_CHILD_OUTPUT=DIR keeps each child's whole output in DIR/<name>-<pid>.log (a V8 trace flag's lines, say); bench/README.md.
  const outputDir = process.env.BENCH_CHILD_OUTPUT;
  const outputFile = outputDir ? join(outputDir, `${options.name.replace(/[^\w.-]+/g, '_')}-${proc.pid}.log`) : undefined;
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
    if (outputFile) appendFileSync(outputFile, chunk);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  exited.then(() => running.delete(proc), () => undefined);

  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  };

  let asked = 0;
  const gcTotals = (): Promise<GcTotals | undefined> =>
    new Promise((resolve) => {
      if (!proc.connected) return resolve(undefined);
      const id = ++asked;
      const answer = (message: { type?: string; id?: number; ms?: number; count?: number; activeMs?: number; workers?: number; window?: TailWindow }): void => {
        if (message.type !== 'gc-totals' || message.id !== id) return;
        done(message.workers ? undefined : { ms: message.ms!, count: message.count!, activeMs: message.activeMs!, window: message.window });
      };
      const timer = setTimeout(() => done(undefined), 2_000);
      const done = (totals: GcTotals | undefined): void => {
        clearTimeout(timer);
        proc.off('message', answer);
        resolve(totals);
      };
      proc.on('message', answer);
      proc.send({ type: 'gc-totals', id });
    });

  return new Promise<Child>((resolve, reject) => {
    let ready = false;
    const timeout = setTimeout(() => {
      void stop();
      reject(new Error(`${options.name} was not ready after ${options.readyTimeoutMs ?? 60_000} ms:\n${tail}`));
    }, options.readyTimeoutMs ?? 60_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timeout);
      if (!ready) reject(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal}):\n${tail}`));
    });
    const becomeReady = (port: number, info: Record<string, unknown>): void => {
      clearTimeout(timeout);
      ready = true;
      resolve({ name: options.name, pid: proc.pid!, port, info, readyMs: performance.now() - spawnedAt, spawnedAt, output: () => tail, gcTotals, stop });
    };
    proc.on('message', (message: { type?: string; port?: number; info?: Record<string, unknown> }) => {
      if (message.type === 'ready' && !ready) becomeReady(message.port!, message.info ?? {});
    });
    if (options.readyWhen) {
      const poll = async (): Promise<void> => {
        while (!ready && proc.exitCode === null && proc.signalCode === null) {
          const port = await options.readyWhen!().catch(() => undefined);
          if (port !== undefined) return becomeReady(port, {});
          await new Promise((r) => setTimeout(r, 25));
        }
      };
      void poll();
    }
  });
}

/**
 * A TypeScript child (bench/lib/child.ts) run through tsx; Tessera itself
 * from the compiled build when the run made one (TESSERA_BENCH_BUILD, see
 * build.ts) and no other checkout is named.
 */
export function spawnRole(name: string, role: string, options: Record<string, unknown>, extra: Partial<SpawnOptions> = {}): Promise<Child> {
  const build = process.env.TESSERA_BENCH_BUILD;
  if (role === 'tessera' && build && !options.entry) {
    return spawnNode({ name, args: [join(build, 'bench', 'lib', 'child.js'), role, JSON.stringify(options)], ...extra });
  }
  return spawnNode({ name, args: ['--import', 'tsx', CHILD_ENTRY, role, JSON.stringify(options)], ...extra });
}

/** A peer runner (plain JavaScript in bench/peers). */
export function spawnPeer(name: string, script: string, options: Record<string, unknown>, extra: Partial<SpawnOptions> = {}): Promise<Child> {
  return spawnNode({ name, args: [join(PEERS_DIR, script), JSON.stringify(options)], cwd: PEERS_DIR, ...extra });
}

// ---- /proc ----

const CLOCK_TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK); /proc/<pid>/stat counts in these.

/** A process and its descendants (cluster workers), from the parent pids in /proc/<pid>/stat. */
export function family(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [child, parent] of parents) if (parent === out[i]) out.push(child);
  return out;
}

/** User + system CPU seconds used so far by one process (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

export function rssMB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine, all cores. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

export interface Sample {
  /** CPU seconds of each watched pid during the window. */
  cpu: Map<number, number>;
  peakRss: Map<number, number>;
  /** CPU seconds used on the machine by processes that are not watched (others' work: noise). */
  foreignCpu: number;
  wallSeconds: number;
}

/**
 * Watches pids for one load run: CPU time, peak RSS (sampled every 100 ms),
 * and everyone else's CPU. A pid stands for itself and its descendants
 * (cluster workers): their CPU and RSS are added up under it.
 */
export function watch(pids: number[], ours: number[]): { stop(): Sample } {
  const groups = new Map(pids.map((pid) => [pid, family(pid)]));
  const groupCpu = (pid: number): number => (groups.get(pid) ?? [pid]).reduce((sum, p) => sum + cpuSeconds(p), 0);
  const groupRss = (pid: number): number => (groups.get(pid) ?? [pid]).reduce((sum, p) => sum + rssMB(p), 0);
  ours = [...ours, ...[...groups.values()].flat()];
  const all = [...new Set(ours)];
  const cpuStart = new Map(all.map((pid) => [pid, cpuSeconds(pid)]));
  const groupStart = new Map(pids.map((pid) => [pid, groupCpu(pid)]));
  const machineStart = machineCpu();
  const started = performance.now();
  const peakRss = new Map(pids.map((pid) => [pid, groupRss(pid)]));
  const timer = setInterval(() => {
    for (const pid of pids) peakRss.set(pid, Math.max(peakRss.get(pid) ?? 0, groupRss(pid)));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      for (const pid of pids) peakRss.set(pid, Math.max(peakRss.get(pid) ?? 0, groupRss(pid)));
      const machineEnd = machineCpu();
      const oursUsed = all.reduce((sum, pid) => sum + cpuSeconds(pid) - (cpuStart.get(pid) ?? 0), 0);
      const cpu = new Map(pids.map((pid) => [pid, groupCpu(pid) - (groupStart.get(pid) ?? 0)]));
      return {
        cpu,
        peakRss,
        foreignCpu: Math.max(0, machineEnd.busy - machineStart.busy - oursUsed),
        wallSeconds: (performance.now() - started) / 1000,
      };
    },
  };
}

export interface Settled {
  /** How long the bench waited, ms. */
  waitedMs: number;
  /** CPU ms each pid (with its descendants) used while the bench waited: work left over from the load before. */
  cpuMs: Map<number, number>;
  /** False when the processes were still busy when the wait gave up (`maxMs`). */
  settled: boolean;
}

/**
 * Waits until the bench's own processes are idle: a target still working
 * off the load that just ended (requests its clients gave up on, the GC of
 * their garbage) would otherwise run on the same core as the next target's
 * load and be charged to nobody. Idle means all of `pids` together used less
 * than `idlePct` % of one core in each of two windows of `windowMs` in a row.
 */
export async function settle(pids: number[], { windowMs = 200, idlePct = 5, maxMs = 30_000 } = {}): Promise<Settled> {
  const groups = pids.map((pid) => family(pid));
  const cpuOf = (i: number): number => groups[i]!.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const start = pids.map((_, i) => cpuOf(i));
  const started = performance.now();
  let last = start.slice();
  let quiet = 0;
  while (quiet < 2 && performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = pids.map((_, i) => cpuOf(i));
    const used = now.reduce((sum, v, i) => sum + v - last[i]!, 0);
    quiet = (100 * used) / (windowMs / 1000) < idlePct ? quiet + 1 : 0;
    last = now;
  }
  return { waitedMs: performance.now() - started, cpuMs: new Map(pids.map((pid, i) => [pid, 1000 * (last[i]! - start[i]!)])), settled: quiet >= 2 };
}
