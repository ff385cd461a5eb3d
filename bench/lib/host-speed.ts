/**
 * The host's speed before each load run: lib/calibrate.mjs (a fixed
 * JSON.parse and JSON.stringify workload) on the CPU the target under test
 * will run on, in its own short-lived process, while the scenario is idle.
 * Its time per iteration is recorded with the run (Run.hostUs). Within one
 * bench run it says whether the rounds ran on the same machine speed: on a
 * shared VM the same workload measured 92 µs and 150 µs minutes apart, with
 * no steal time reported, and every gateway's CPU per request moved with
 * it. The report gives the spread across the run's rounds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR } from './proc.js';

const run = promisify(execFile);
const CALIBRATE = join(BENCH_DIR, 'lib', 'calibrate.mjs');

/** µs per calibration iteration on `cpus` (taskset's list; the whole machine when undefined); undefined when it could not run. */
export async function hostSpeed(cpus: string | undefined): Promise<number | undefined> {
  const [file, args] = cpus ? ['taskset', ['-c', cpus, process.execPath, CALIBRATE]] : [process.execPath, [CALIBRATE]];
  try {
    const { stdout } = await run(file, args, { timeout: 30_000 });
    const value = (JSON.parse(stdout) as { usPerIteration?: unknown }).usPerIteration;
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
