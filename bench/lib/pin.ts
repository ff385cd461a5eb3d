/**
 * The CPU layout of a run. Pinned (the default): the process under test runs
 * alone on one CPU, and the benchmark process (the load generator) with every
 * upstream service it starts on the others, so a gateway never competes with
 * its own load or its upstreams for a core and every target gets the same
 * share of the machine. Pinning needs `taskset` (util-linux) and at least 2
 * CPUs this process may run on; without them, or with `--no-pin`, everything
 * shares every CPU and the run says so (console header, results file).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { family } from './proc.js';

export interface Layout {
  pinned: boolean;
  /** The CPU the process under test runs on alone (taskset's list syntax), when pinned. */
  targetCpus?: string;
  /** The CPUs of the load generator and the upstreams, when pinned. */
  runnerCpus?: string;
  /** Why the run is not pinned. */
  reason?: string;
}

/** The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status: "0-1", "0,2-3"). */
export function allowedCpus(): number[] {
  const match = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) return [];
  return match[1]!.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

function tasksetInstalled(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Moves a process, its threads and its child processes (cluster workers) to `cpus`. */
export function pinTo(pid: number, cpus: string): void {
  for (const p of family(pid)) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
}

/**
 * Chooses the layout and, when pinned, moves this process to the runner's
 * CPUs before it starts anything: the processes it starts inherit them, and
 * each target is moved to its own CPU once ready (`pinTo`).
 */
export function chooseLayout(wanted: boolean): Layout {
  if (!wanted) return { pinned: false, reason: '--no-pin' };
  const cpus = allowedCpus();
  if (cpus.length < 2) return { pinned: false, reason: `this process may run on ${cpus.length} CPU only; pinning needs 2` };
  if (!tasksetInstalled()) return { pinned: false, reason: 'taskset (util-linux) is not installed' };
  const layout = { pinned: true, targetCpus: String(cpus.at(-1)), runnerCpus: cpus.slice(0, -1).join(',') };
  pinTo(process.pid, layout.runnerCpus);
  return layout;
}

/** One line for the report's header. */
export function describeLayout(layout: Layout | undefined): string {
  if (!layout) return 'layout: not recorded (a run from before the layout was recorded)';
  if (layout.pinned) {
    return `layout: pinned with taskset: the target under test alone on CPU ${layout.targetCpus}; the load generator and every upstream on CPU ${layout.runnerCpus}`;
  }
  return `layout: NOT pinned (${layout.reason}): the target under test, the load generator and the upstreams share every CPU; compare ratios only with other unpinned runs`;
}
