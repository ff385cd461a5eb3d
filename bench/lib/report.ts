/** The table of a run: printed to the terminal and written as Markdown beside the JSON. */
import type { BenchResult, ScenarioResult, Summary } from './results.js';
import { describeLayout } from './pin.js';
import { checkTargets } from './targets.js';

const f0 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(0));
const f2 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2));
const ratio = (s: Summary): string => (s.role === 'tessera' || s.tesseraRatio === undefined ? '' : `${s.tesseraRatio.toFixed(2)}×`);

const HEADER = ['conns', 'target', 'req/s', 'p50 ms', 'p99 ms', 'CPU %', 'CPU ms/req', 'GC % of busy', 'peak RSS MB', 'upstream/req', 'Tessera, dedupe off ÷ target (req/s)', 'errors'];

function rows(scenario: ScenarioResult): string[][] {
  return (scenario.summary ?? []).map((s) => [
    String(s.connections),
    s.label,
    f0(s.rps),
    f2(s.p50),
    f2(s.p99),
    f0(s.cpuPct),
    s.cpuMsPerRequest.toFixed(3),
    f0(s.gcPct),
    f0(s.peakRssMB),
    s.upstreamPerRequest === undefined ? '–' : f2(s.upstreamPerRequest),
    ratio(s),
    String(s.errors),
  ]);
}

const TAIL_HEADER = [
  'conns',
  'target',
  'p50 ms',
  'p99 ms',
  'p99 ÷ p50',
  'within a second: p99 ÷ p50',
  "slowest second's p50 ÷ fastest's",
  'in process: p50 ms',
  'p99 ms',
  'of which waiting for a place: p50 ms',
  'p99 ms',
  'longest GC pause ms',
  'GC pauses ≥ 10 ms, ms/s',
  "GC pauses' share of the time in process: slowest 1% (all)",
  'event-loop delay p99 ms',
  'max ms',
];
const pct = (share: number | undefined): string => (share === undefined || !Number.isFinite(share) ? '–' : `${(100 * share).toFixed(0)}%`);
const times = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : `${f2(n)}×`);

/** Where each target's tail latency comes from: the client's view beside the process's own (lib/gc-observer.mjs). */
function tailRows(scenario: ScenarioResult): string[][] {
  return (scenario.summary ?? []).flatMap((s) => {
    const t = s.tail;
    if (!t) return [];
    return [
      [
        String(s.connections),
        s.label,
        f2(s.p50),
        f2(s.p99),
        times(s.p99 / s.p50),
        times(s.seconds?.withinP99OverP50),
        times(s.seconds?.p50SlowestOverFastest),
        f2(t.serverP50),
        f2(t.serverP99),
        f2(t.waitP50),
        f2(t.waitP99),
        f0(t.maxPauseMs),
        f0(t.longPauseMsPerSec),
        `${pct(t.slowestPauseShare)} (${pct(t.pauseShare)})`,
        f0(t.loopDelayP99Ms),
        f0(t.loopDelayMaxMs),
      ],
    ];
  });
}

const TAIL_NOTE =
  'Where the tail comes from: the client\'s p50 and p99 (the load generator\'s clock) beside the same requests timed inside the target (its node:http server: request headers parsed to the last byte handed to the socket; – for a process without one), how much of that Tessera\'s requests spent waiting for a place before any work was done on them (`server.admission`; – for the other processes), its longest GC pause, the time in GC pauses of 10 ms or more per second of load, the share of their time in the process that the slowest 1% of its requests (at or above its in-process p99) spent in GC pauses beside the share for all requests, and how late a 10 ms timer ran (one piece of work holding the thread). An in-process p99 far below the client\'s says the tail is outside the process: the load generator\'s core, the network, the upstreams. The client\'s latencies cut into the seconds they ended in tell the spread within a second (the median second\'s p99 ÷ p50: pauses, unfair turns, which every request of that second risks alike) from the drift between seconds (the slowest second\'s p50 ÷ the fastest\'s: the host\'s speed, the upstreams, a warm-up not yet over); a run\'s p99 ÷ p50 is both at once. Seconds with fewer than 100 answers are left out.';

function header(result: BenchResult): string[] {
  const m = result.machine;
  return [
    `command: ${result.command}  (${result.startedAt} → ${result.finishedAt})`,
    describeLayout(result.layout),
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, Node ${m.node}; load average ${m.loadStart.toFixed(2)} at start, ${m.loadEnd.toFixed(2)} at end`,
    `settings: ${result.settings.rounds} alternating rounds of ${result.settings.durationSec} s per target after ${result.settings.warmupSec} s of warm-up, at ${result.settings.connections.join(' and ')} connections; medians; autocannon, every response checked against the expected body`,
    `versions: ${Object.entries(result.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
}

function coldStartRows(scenario: ScenarioResult): string[][] {
  return (scenario.coldStart ?? []).map((c) => {
    const info = c.info as { buildMs?: number; composeMs?: number; rssMB?: number; heapUsedMB?: number };
    return [c.target, f0(c.readyMs), f0(c.firstAnswerMs), f0(info.composeMs), f0(info.buildMs), f0(info.heapUsedMB), f0(info.rssMB)];
  });
}
const COLD_HEADER = ['target', 'start → listening ms', 'start → first answer ms', 'compose ms', 'build ms', 'heap MB', 'RSS MB'];

export function consoleTables(result: BenchResult): string {
  const out: string[] = ['', ...header(result), ''];
  const table = (head: string[], body: string[][]): void => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
    out.push(head.map((h, i) => h.padEnd(widths[i]!)).join('  '));
    for (const r of body) out.push(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  };
  for (const s of result.scenarios) {
    out.push(`== ${s.title}`);
    if (!s.available) {
      out.push(`   not available yet: ${s.reason}`, '');
      continue;
    }
    for (const f of s.failedTargets ?? []) out.push(`   ${f.target} did not start: ${f.error.split('\n')[0]}`);
    if (s.summary) table(HEADER, rows(s));
    if (s.summary?.some((r) => r.tail)) {
      out.push('');
      table(TAIL_HEADER, tailRows(s));
    }
    if (s.coldStart?.length) {
      out.push('');
      table(COLD_HEADER, coldStartRows(s));
    }
    out.push('');
  }
  for (const b of result.schemaBuild ?? []) {
    out.push(b.reason ? `schema build, ${b.name}: not measured: ${b.reason}` : `schema build, ${b.name}: ${f0(b.buildMs)} ms, heap +${f0(b.heapMB)} MB, RSS +${f0(b.rssMB)} MB`);
  }
  out.push('', 'targets of issues #21 and #18 (judged on Tessera, one process, dedupe off; as shipped in brackets; at 50 connections):');
  for (const t of checkTargets(result)) out.push(`  ${t.met === undefined ? '  ?' : t.met ? ' ok' : ' NO'}  ${t.target}: ${t.measured}`);
  for (const n of result.notes) out.push(`NOTE: ${n}`);
  return `${out.join('\n')}\n`;
}

function mdTable(head: string[], body: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export function markdownReport(result: BenchResult, chartFile: string): string {
  const parts: string[] = ['# Tessera benchmark', '', ...header(result).map((l) => `- ${l}`), ''];
  if (result.notes.length) parts.push(...result.notes.map((n) => `> **Note:** ${n}`), '');
  parts.push(`![req/s by scenario and target](${chartFile})`, '');
  parts.push(
    '## Targets (issues #21 and #18)',
    '',
    `Judged in this one run, at 50 connections, on Tessera as one process with dedupe off (every request does the whole work); the figure as shipped (dedupe on: identical concurrent queries share one execution) is beside it; peak RSS on the same target with metrics on. ${!result.layout ? 'The layout of this run was not recorded.' : result.layout.pinned ? 'Pinned: like for like.' : '**Not pinned**: the gateway shared its CPUs with the load generator and the upstreams.'}`,
    '',
    mdTable(['target', 'measured', 'met'], checkTargets(result).map((t) => [t.target, t.measured, t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'])),
    '',
  );
  for (const s of result.scenarios) {
    parts.push(`## ${s.title}`, '');
    if (!s.available) {
      parts.push(`Not available yet: ${s.reason}.`, '');
      continue;
    }
    for (const f of s.failedTargets ?? []) parts.push(`- ${f.target} did not start: \`${f.error.split('\n')[0]}\``);
    for (const c of s.checks ?? []) {
      parts.push(`- answer of ${c.target}: ${c.identical ? `identical to the direct call${c.sameBytes ? ' (same bytes)' : ' (same JSON, different bytes)'}` : `**differs**: ${c.difference}`}, ${c.bytes} bytes`);
    }
    parts.push('');
    if (s.summary) parts.push(mdTable(HEADER, rows(s)), '');
    if (s.summary?.some((r) => r.tail)) parts.push('Where the tail comes from:', '', mdTable(TAIL_HEADER, tailRows(s)), '');
    if (s.coldStart?.length) parts.push('Cold start:', '', mdTable(COLD_HEADER, coldStartRows(s)), '');
  }
  if (result.schemaBuild?.length) {
    parts.push('## Schema build (Tessera)', '');
    parts.push(
      mdTable(
        ['schema', 'build ms', 'heap MB (after GC, delta)', 'RSS MB (delta)', 'note'],
        result.schemaBuild.map((b) => [b.name, f0(b.buildMs), f0(b.heapMB), f0(b.rssMB), b.reason ?? '']),
      ),
      '',
    );
  }
  parts.push(
    'CPU % is the target process only, in % of one core (the direct call: the server itself); CPU ms/req is that CPU time divided by the requests served, the figure least disturbed by other work on the machine. GC % is the share of the target\'s main-thread work spent in garbage collection during the load: its GC pauses (perf_hooks \'gc\' entries) over its busy time (event loop utilization), both counted inside every process alike by a preloaded module (lib/gc-observer.mjs); V8\'s concurrent marking on helper threads is in neither. Peak RSS is sampled every 100 ms during the load. upstream/req counts the requests the scenario\'s upstream services received per client request. Ratios are the median req/s of Tessera with dedupe off (the judged target) over the target\'s.',
    '',
    TAIL_NOTE,
    '',
  );
  return `${parts.join('\n')}\n`;
}
