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
 * - Young generation: at most half of V8's own largest semi-space, which
 *   depends on the V8 line (`v8MaxSemiSpaceMB`): 8 MB semi-spaces (16 MB in
 *   all, against 32) on Node 20 and 22, 32 MB (64 MB in all, against 128) on
 *   Node 24. V8 reads its size only at start, so it is a start flag
 *   (`--max-semi-space-size`, below). On Node 20 the bench/ scenarios cost
 *   about the same CPU per request at fixed sizes of 8 and 16 MB side by side
 *   (federation 2.30 against 2.40 ms, shop 2.46 against 2.40, openapi 0.48
 *   against 0.46, proxy 0.26 against 0.23), for 27–35 MB less peak RSS.
 *   Node 24's scavenges cost more when held small: at 8 MB semi-spaces it
 *   spent a quarter of its busy time in GC in the federation and shop
 *   scenarios, and 32 MB took 1.87 ms of CPU per federation request against
 *   2.46 at 8 MB, for 80 MB more peak RSS (README's Performance, Memory).
 *   Until 2026-12-07 the cap was held at run time by switching V8's growth
 *   factor after each collection. The switch came only after V8 had grown
 *   the young generation again from wherever an idle spell had shrunk it, so
 *   the young generation ended anywhere from 16 to 32 MB (read in the bench
 *   at 16.8, 21, 25.2, 27.3 and 31.5 MB) while the start line said at most 16.
 * - Old generation: a growth of 150% (`--heap-growing-percent=150`, a factor
 *   of 2.5 over the live data after a full collection; V8's own sizing goes
 *   up to 4). Less holds RSS lower at a price in CPU: full collections come
 *   more often (main-thread time of full collections per federation request:
 *   about 0.1 ms at 150%, 0.2 ms at 100%, 0.4 ms at 30%, plus their concurrent
 *   marking on V8's helper threads). 30% brings every bench/ scenario's peak
 *   RSS to about 125–155 MB; it is the operator's choice
 *   (NODE_OPTIONS=--heap-growing-percent=30), not the default.
 *
 * The young generation's size and two more settings are read by V8 only when
 * the process starts, so they go on node's command line (`START_FLAGS`):
 * the image starts `node --no-memory-reducer --no-flush-bytecode
 * --max-semi-space-size=8 bin/tessera.js serve`, and with `--workers` the
 * primary hands them to the workers it forks. After some ten seconds without
 * requests, V8's memory reducer collects the heap in full, shrinks the young
 * generation and, in those collections, drops the compiled code of functions
 * not running at that moment; the load that comes next runs on bytecode
 * compiled anew, is optimized anew, and finds the young generation small
 * again. Measured in bench/ (federation scenario, 50 connections, the gateway
 * pinned to its own core, rounds of 8 s with about 20 s of other targets'
 * load between them): 2.5–3.9 ms of CPU per request and 22–30% of the thread
 * in GC after an idle spell without the flags, 1.34–1.46 ms and 13% with
 * both, in the same runs (README Performance). Either flag alone did not hold
 * it: some rounds still ran at the slower figure. `missingStartFlags` says
 * which of them this process lacks (an operator's own `--memory-reducer`,
 * `--flush-bytecode` or young generation size counts as set); `tessera serve`
 * logs it.
 *
 * README's Performance section has the figures. An operator who sets a flag
 * (NODE_OPTIONS or node's own arguments) keeps their value:
 * `--heap-growing-percent=0` restores V8's old-generation sizing,
 * `--max-semi-space-size=N` (MB) sizes the young generation.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 150;

/**
 * V8's own largest semi-space, in MB, on the V8 line given (read off each with
 * V8's sizing at its default heap limit): 16 on V8 11 and 12 (Node 20 and 22),
 * 64 on V8 13 (Node 24).
 */
export function v8MaxSemiSpaceMB(v8Version: string = process.versions.v8): number {
  return Number(v8Version.split('.', 1)[0]) >= 13 ? 64 : 16;
}

/** The largest semi-space `tessera serve` is started with on the V8 line given, in MB: half of V8's own; the young generation is two of them. */
function semiSpaceCapMB(v8Version: string): number {
  return v8MaxSemiSpaceMB(v8Version) / 2;
}

/** The same on this process's V8. */
export const MAX_SEMI_SPACE_MB = semiSpaceCapMB(process.versions.v8);

interface StartFlag {
  flag: string;
  /** Node's arguments (or NODE_OPTIONS, which carries only some V8 flags) that set it, either way. */
  setBy: RegExp;
  /** What a process started without it does, for the start line. */
  without: string;
}

const RECOMPILES =
  'after some ten seconds without requests V8 drops compiled code and shrinks the heap, and the requests that follow cost up to twice the CPU until it has compiled again';
/** The start flags for the V8 line given (the young generation's size depends on it). */
function startFlagList(v8Version: string): StartFlag[] {
  const semi = semiSpaceCapMB(v8Version);
  return [
    { flag: '--no-memory-reducer', setBy: /^--(no[-_])?memory[-_]reducer(=|$)/, without: RECOMPILES },
    { flag: '--no-flush-bytecode', setBy: /^--(no[-_])?flush[-_]bytecode(=|$)/, without: RECOMPILES },
    {
      flag: `--max-semi-space-size=${semi}`,
      setBy: /^--(max|min)[-_]semi[-_]space[-_]size(=|$)|^--semi[-_]space[-_]growth[-_]factor(=|$)/,
      without: `the young generation grows to V8's own ${2 * v8MaxSemiSpaceMB(v8Version)} MB instead of ${2 * semi} MB, and peak RSS with it`,
    },
  ];
}
const START_FLAG_LIST = startFlagList(process.versions.v8);

/** The node flags `tessera serve` is to be started with on the V8 line given (the image's, say): V8 reads them only at start. */
export function startFlagsFor(v8Version: string): string[] {
  return startFlagList(v8Version).map((f) => f.flag);
}

/** The node flags `tessera serve` is to be started with on this process's V8 (see above). */
export const START_FLAGS: readonly string[] = START_FLAG_LIST.map((f) => f.flag);

/** Whether node's arguments or NODE_OPTIONS hold an argument `setBy` matches: the operator gave their own value. */
function operatorSet(setBy: RegExp, execArgv: readonly string[], nodeOptions: string): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => setBy.test(arg));
}

/** The flags of START_FLAGS that neither node's arguments nor NODE_OPTIONS set one way or the other. */
export function missingStartFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  return START_FLAG_LIST.filter((f) => !operatorSet(f.setBy, execArgv, nodeOptions)).map((f) => f.flag);
}

/** What a process started without `missing` does, one clause per distinct effect (for the start line). */
export function withoutStartFlags(missing: readonly string[]): string {
  return [...new Set(START_FLAG_LIST.filter((f) => missing.includes(f.flag)).map((f) => f.without))].join('; ');
}

const OPERATOR_SET_GROWTH = /^--heap[-_]growing[-_]percent(=|$)/;

let applied: readonly string[] = [];

/** What the last tuneHeap() applied (for `tessera serve`'s start line). */
export function appliedHeapSettings(): readonly string[] {
  return applied;
}

/** Applies the gateway's heap setting that V8 takes at run time (the old generation's growth) unless the process was started with its own; returns the settings applied. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const settings: string[] = [];
  if (!operatorSet(OPERATOR_SET_GROWTH, execArgv, nodeOptions)) {
    const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
    setFlagsFromString(flag);
    settings.push(flag);
  }
  applied = settings;
  return settings;
}
