/**
 * The V8 settings `tessera serve` runs with: how far the old generation may
 * grow between full collections, and how large the young generation may get.
 *
 * Under load most of a gateway's heap is garbage: each in-flight request keeps
 * its upstream answers alive across a few scavenges, so they are promoted and
 * die in the old generation. Measured in bench/ (shop and federation
 * scenarios, 50 connections, metrics on), the process's peak RSS was about
 * 220 MB, of which about 47 MB is the node binary's own pages, 20–30 MB
 * malloc and stacks, and the rest the heap: 32 MB of young generation (two
 * 16 MB semi-spaces, V8's maximum on this machine) and an old generation that
 * swelled to 2.5 times the ~40 MB of live data before each full collection.
 *
 * - Young generation: semi-spaces stop growing at half of V8's own largest
 *   size, which depends on the V8 line (`v8MaxSemiSpaceMB`): 8 MB (16 MB
 *   in all, against 32) on Node 20 and 22, 32 MB (64 MB in all, against 128)
 *   on Node 24. On Node 20 that saves about 20 MB for little collection work:
 *   scavenges cost in proportion to what survives them, and at 8 MB about as
 *   much survives as at 16 (main-thread scavenge time per federation request
 *   0.83–0.94 ms against 0.63–0.98; at 4 MB it rose to 1.2–1.6 ms). Node 24's
 *   scavenges cost more when held small: at 8 MB semi-spaces it spent a
 *   quarter of its busy time in GC in the federation and shop scenarios, and
 *   its cap of 32 MB took 1.87 ms of CPU per federation request against 2.46
 *   at 8 MB, for 80 MB more peak RSS (README's Performance, Memory).
 *   `--max-semi-space-size` is read only when the process starts, so the cap
 *   is held here by the growth factor, which V8 reads each time it would grow
 *   the young generation: 1 (no growth) once the semi-spaces reach the cap, 2
 *   (V8's default) while they are below it (V8 shrinks them when allocation
 *   slows down), checked after every collection.
 * - Old generation: a growth of 150% (`--heap-growing-percent=150`, a factor
 *   of 2.5 over the live data after a full collection; V8's own sizing goes
 *   up to 4). Less holds RSS lower at a price in CPU: full collections come
 *   more often (main-thread time of full collections per federation request:
 *   about 0.1 ms at 150%, 0.2 ms at 100%, 0.4 ms at 30%, plus their concurrent
 *   marking on V8's helper threads). 30% brings every bench/ scenario's peak
 *   RSS to about 125–155 MB; it is the operator's choice
 *   (NODE_OPTIONS=--heap-growing-percent=30), not the default.
 *
 * Two more settings V8 reads only when the process starts, so they go on
 * node's command line (`START_FLAGS`): the image starts `node
 * --no-memory-reducer --no-flush-bytecode bin/tessera.js serve`, and with
 * `--workers` the primary hands them to the workers it forks. After some ten
 * seconds without requests, V8's memory reducer collects the heap in full,
 * shrinks the young generation and, in those collections, drops the compiled
 * code of functions not running at that moment; the load that comes next runs
 * on bytecode compiled anew, is optimized anew, and finds the young
 * generation small again. Measured in bench/ (federation scenario, 50
 * connections, the gateway pinned to its own core, rounds of 8 s with about
 * 20 s of other targets' load between them): 2.5–3.9 ms of CPU per request and
 * 22–30% of the thread in GC after an idle spell without the flags, 1.34–1.46
 * ms and 13% with both, in the same runs (README Performance). Either flag
 * alone did not hold it: some rounds still ran at the slower figure.
 * `missingStartFlags` says which of them this process lacks (an operator's own
 * `--memory-reducer` or `--flush-bytecode` counts as set); `tessera serve`
 * logs it.
 *
 * README's Performance section has the figures. An operator who sets a flag
 * (NODE_OPTIONS or node's own arguments) keeps their value:
 * `--heap-growing-percent=0` restores V8's old-generation sizing,
 * `--max-semi-space-size=N` (MB) or `--semi-space-growth-factor=N` its young
 * generation.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 150;

/** Each start flag, and what node's argument setting it either way looks like. */
const START_FLAG_PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  ['--no-memory-reducer', /^--(no[-_])?memory[-_]reducer(=|$)/],
  ['--no-flush-bytecode', /^--(no[-_])?flush[-_]bytecode(=|$)/],
];
/** The node flags `tessera serve` is to be started with (see above): V8 reads them only at start. */
export const START_FLAGS: readonly string[] = START_FLAG_PATTERNS.map(([flag]) => flag);

/** The flags of START_FLAGS that node's arguments do not set one way or the other (NODE_OPTIONS cannot carry them). */
export function missingStartFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return START_FLAG_PATTERNS.filter(([, pattern]) => !execArgv.some((arg) => pattern.test(arg))).map(([flag]) => flag);
}
/**
 * V8's own largest semi-space, in MB, on the V8 line given (read off each with
 * V8's sizing at its default heap limit): 16 on V8 11 and 12 (Node 20 and 22),
 * 64 on V8 13 (Node 24).
 */
export function v8MaxSemiSpaceMB(v8Version: string = process.versions.v8): number {
  return Number(v8Version.split('.', 1)[0]) >= 13 ? 64 : 16;
}

/** The largest semi-space `tessera serve` lets V8 use, in MB: half of V8's own; the young generation is two of them. A power of two: V8 grows 1 MB semi-spaces by doubling. */
export const MAX_SEMI_SPACE_MB = v8MaxSemiSpaceMB() / 2;

const OPERATOR_SET_GROWTH = /--heap[-_]growing[-_]percent\b/;
const OPERATOR_SET_YOUNG = /--(max[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/;

let youngCap: PerformanceObserver | undefined;

/** Holds the young generation at two semi-spaces of `MAX_SEMI_SPACE_MB` (see above); once per process. */
function capYoungGeneration(): void {
  if (youngCap) return;
  const cap = 2 * MAX_SEMI_SPACE_MB * 2 ** 20;
  let growing = true;
  const check = (): void => {
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
    const below = young < cap;
    if (below === growing) return;
    growing = below;
    setFlagsFromString(`--semi-space-growth-factor=${growing ? 2 : 1}`);
  };
  youngCap = new PerformanceObserver(check);
  youngCap.observe({ entryTypes: ['gc'] });
  check();
}

let applied: readonly string[] = [];

/** What the last tuneHeap() applied (for `tessera serve`'s start line). */
export function appliedHeapSettings(): readonly string[] {
  return applied;
}

/** Applies the gateway's heap settings, each unless the process was started with its own; returns the settings applied. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const operatorSet = (flag: RegExp): boolean => execArgv.some((arg) => flag.test(arg)) || flag.test(nodeOptions);
  const settings: string[] = [];
  if (!operatorSet(OPERATOR_SET_GROWTH)) {
    const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
    setFlagsFromString(flag);
    settings.push(flag);
  }
  if (!operatorSet(OPERATOR_SET_YOUNG)) {
    capYoungGeneration();
    settings.push(`young generation at most ${2 * MAX_SEMI_SPACE_MB} MB`);
  }
  applied = settings;
  return settings;
}
