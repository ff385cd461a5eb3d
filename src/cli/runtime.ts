/**
 * The V8 settings `tessera serve` runs with: how far the old generation may
 * grow between full collections, how large the young generation may get, and
 * that V8 does not move allocation sites to the old generation on its own.
 *
 * Under load most of what a gateway allocates is the data of the requests in
 * progress: their upstream answers and merged results, alive until the
 * answer is written. Whether that data dies young or is promoted and dies in
 * the old generation depends on the young generation's size (below). A
 * process's peak RSS is about 47 MB of the node binary's own pages, 20–40 MB
 * malloc and stacks, the young generation, and an old generation that swells
 * to 2.5 times the ~40 MB of live data before each full collection.
 *
 * - Young generation: 32 MB semi-spaces (64 MB in all) on every V8 line,
 *   against V8's own 16 (Node 20 and 22) or 64 (Node 24). A scavenge copies
 *   what is alive and promotes what has already survived one, so the data
 *   of a request that lives through two scavenges is promoted and dies in
 *   the old generation, collected again by full collections. How many
 *   requests the gateway answers between two scavenges is the semi-space
 *   over what a request allocates; how many it answers during one
 *   request's life is about the number in progress (server.admission holds
 *   it at 16 when the thread is saturated). Read with a probe inside the
 *   process (bench/ federation scenario, about 0.7 MB allocated per
 *   request, Node 20): at 8 MB semi-spaces a scavenge came every 8–9
 *   requests, two full collections every half second, the old generation
 *   swinging between 38 and 98 MB, 21–33% of the thread in GC; at 32 MB one
 *   came every 41–51 requests, a full collection every few seconds, 5–12% in
 *   GC, and 1.50 against 2.19 ms of CPU per request. Side by side on the
 *   four scenarios, 32 MB against 8: CPU per request proxy −27%, openapi
 *   −8%, federation −28%, shop about the same, for 35–50 MB more peak RSS
 *   (README Performance, Memory). Between the two, 16 MB sits at the cliff:
 *   earlier runs read it no better than 8 in some, and a young generation
 *   that V8 had grown to 20–30 MB after an idle spell ran at the faster
 *   figure. V8 reads the size only at start, so it is a start flag
 *   (`--max-semi-space-size`, below).
 * - Allocation-site pretenuring: off (`--no-allocation-site-pretenuring`,
 *   set at run time). V8 counts, per allocation site, how many of its
 *   objects survive a scavenge; once nearly all of a site's objects have
 *   survived, it allocates that site's objects in the old generation from
 *   then on. A request's data lives about as long as the time between two
 *   scavenges, so the same site can look long-lived in one process and not
 *   in another, and a process keeps its judgement: in the bench's
 *   federation scenario (Node 20, 32 MB semi-spaces, V8's trace of its
 *   decisions on) the processes that spent 19–22% of their thread in GC in
 *   every round had made 287–335 decisions to pretenure, one site kept
 *   pretenured at 52–67 scavenges, and the processes at 6–9% made 88–102,
 *   no site more than 12 times. Such a process's scavenges took 11 ms
 *   against 4–6 at the same 16–20 requests in progress, with a full
 *   collection every second against one every five to ten. With
 *   pretenuring off, none of 11 federation processes ran in that state (5
 *   of 17 with it on), and the four scenarios' CPU per request was the same
 *   or less, with 10–24 MB less peak RSS (README Memory).
 * - Old generation: a growth of 150% (`--heap-growing-percent=150`, a factor
 *   of 2.5 over the live data after a full collection; V8's own sizing goes
 *   up to 4). Less holds RSS lower at a price in CPU: full collections come
 *   more often (main-thread time of full collections per federation request:
 *   about 0.1 ms at 150%, 0.2 ms at 100%, 0.4 ms at 30%, plus their concurrent
 *   marking on V8's helper threads). 30% with 8 MB semi-spaces took 65–120
 *   MB off each bench/ scenario's peak RSS and doubled federation's CPU per
 *   request (README Memory, "Memory first"); it is the operator's choice
 *   (NODE_OPTIONS="--max-semi-space-size=8 --heap-growing-percent=30"), not
 *   the default.
 *
 * The young generation's size and two more settings are read by V8 only when
 * the process starts, so they go on node's command line (`START_FLAGS`):
 * the image starts `node --no-memory-reducer --no-flush-bytecode
 * --max-semi-space-size=32 bin/tessera.js serve`, and with `--workers` the
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
 * `--allocation-site-pretenuring` (node's arguments only: node refuses it in
 * NODE_OPTIONS) its pretenuring, `--max-semi-space-size=N` (MB) sizes the
 * young generation.
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

/** The semi-space `tessera serve` is started with, in MB, on every V8 line; the young generation is two of them (see above). */
export const MAX_SEMI_SPACE_MB = 32;

interface StartFlag {
  flag: string;
  /** Node's arguments (or NODE_OPTIONS, which carries only some V8 flags) that set it, either way. */
  setBy: RegExp;
  /** What a process started without it does, for the start line. */
  without: string;
}

const RECOMPILES =
  'after some ten seconds without requests V8 drops compiled code and shrinks the heap, and the requests that follow cost up to twice the CPU until it has compiled again';
/** What a process started without the young generation's flag does on the V8 line given: V8's own size is smaller or larger. */
export function withoutYoungFlag(v8Version: string = process.versions.v8): string {
  const own = 2 * v8MaxSemiSpaceMB(v8Version);
  const ours = 2 * MAX_SEMI_SPACE_MB;
  return own < ours
    ? `the young generation stops at V8's own ${own} MB instead of ${ours} MB, so the data of the requests in progress outlives two scavenges, is promoted and is collected again by full collections, up to a third more CPU per request under load`
    : `the young generation grows to V8's own ${own} MB instead of ${ours} MB, and peak RSS with it`;
}

const START_FLAG_LIST: StartFlag[] = [
  { flag: '--no-memory-reducer', setBy: /^--(no[-_])?memory[-_]reducer(=|$)/, without: RECOMPILES },
  { flag: '--no-flush-bytecode', setBy: /^--(no[-_])?flush[-_]bytecode(=|$)/, without: RECOMPILES },
  {
    flag: `--max-semi-space-size=${MAX_SEMI_SPACE_MB}`,
    setBy: /^--(max|min)[-_]semi[-_]space[-_]size(=|$)|^--semi[-_]space[-_]growth[-_]factor(=|$)/,
    without: withoutYoungFlag(),
  },
];

/** The node flags `tessera serve` is to be started with (see above): V8 reads them only at start. The same on every V8 line. */
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

let applied: readonly string[] = [];

/** What the last tuneHeap() applied (for `tessera serve`'s start line). */
export function appliedHeapSettings(): readonly string[] {
  return applied;
}

/** The settings V8 takes at run time (see above), each with what counts as the operator's own. */
const RUN_TIME_SETTINGS: Array<{ flag: string; setBy: RegExp }> = [
  { flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, setBy: /^--heap[-_]growing[-_]percent(=|$)/ },
  { flag: '--no-allocation-site-pretenuring', setBy: /^--(no[-_])?allocation[-_]site[-_]pretenuring(=|$)/ },
];

/** Applies the gateway's heap settings that V8 takes at run time (see above), each unless the process was started with its own; returns the settings applied. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const settings: string[] = [];
  for (const { flag, setBy } of RUN_TIME_SETTINGS) {
    if (operatorSet(setBy, execArgv, nodeOptions)) continue;
    setFlagsFromString(flag);
    settings.push(flag);
  }
  applied = settings;
  return settings;
}
