/**
 * How many workers "one per core" means for `tessera serve`. In a container,
 * `os.availableParallelism()` counts the host's cores (or the cpuset), while
 * the CPU quota may allow far fewer: 16 workers sharing a quota of 2 CPUs
 * are throttled and answer slower than 2. So the count is capped by the
 * cgroup CPU quota, rounded up (1.5 CPUs: 2 workers), and is at least 1.
 *
 *   cgroup v2  cpu.max             "<quota> <period>" in µs; "max <period>": no quota
 *   cgroup v1  cpu.cfs_quota_us    quota in µs; -1: no quota
 *              cpu.cfs_period_us   period in µs
 *
 * Under cgroup v2 the quota of every cgroup from this process's up to the
 * root applies (a systemd slice may cap a service's parent), so every
 * cpu.max found on the way counts and the smallest wins.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

/** The contents of the cgroup files that say the CPU quota (what was found; none outside Linux). */
export interface CgroupCpuFiles {
  /** cgroup v2 `cpu.max` of this process's cgroup and of its ancestors. */
  cpuMax?: readonly string[];
  /** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`. */
  cfsQuotaUs?: string;
  cfsPeriodUs?: string;
}

/** Cores a quota allows, rounded up; undefined for no quota (or a value that is not one). */
function quotaCores(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.ceil(quota / period);
}

/** Cores a cgroup v2 `cpu.max` allows; undefined for "max" (no quota). */
export function cpuMaxCores(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (!quota || quota === 'max') return undefined;
  return quotaCores(Number(quota), Number(period));
}

/** Cores a cgroup v1 quota and period allow; undefined for -1 (no quota). */
export function cfsCores(quota: string, period: string): number | undefined {
  return quotaCores(Number(quota.trim()), Number(period.trim()));
}

/** "One per core": the available parallelism, capped by every CPU quota found, at least 1. */
export function coreCount(available: number, files: CgroupCpuFiles): number {
  const caps = (files.cpuMax ?? []).map(cpuMaxCores);
  if (files.cfsQuotaUs !== undefined && files.cfsPeriodUs !== undefined) caps.push(cfsCores(files.cfsQuotaUs, files.cfsPeriodUs));
  const quota = Math.min(...caps.filter((cores): cores is number => cores !== undefined));
  return Math.max(1, Math.min(Math.floor(available), quota));
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Reads the cgroup CPU quota files of this process. Under cgroup v2 its
 * cgroup is the `0::<path>` line of /proc/self/cgroup ("/" in a container
 * with its own cgroup namespace); the mount's own cpu.max is read too, for
 * a container that sees its cgroup at the root without a namespace.
 */
export function readCgroupCpuFiles(read: (file: string) => string | undefined = readText): CgroupCpuFiles {
  const own = read('/proc/self/cgroup')
    ?.split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3)
    .trim();
  const dirs = new Set<string>();
  if (own?.startsWith('/') && !own.split('/').includes('..')) {
    for (let dir = own; ; dir = posix.dirname(dir)) {
      dirs.add(dir === '/' ? CGROUP_ROOT : posix.join(CGROUP_ROOT, dir));
      if (dir === '/') break;
    }
  }
  dirs.add(CGROUP_ROOT);
  const cpuMax = [...dirs].map((dir) => read(posix.join(dir, 'cpu.max'))).filter((text): text is string => text !== undefined);
  for (const dir of [`${CGROUP_ROOT}/cpu`, `${CGROUP_ROOT}/cpu,cpuacct`]) {
    const cfsQuotaUs = read(`${dir}/cpu.cfs_quota_us`);
    const cfsPeriodUs = read(`${dir}/cpu.cfs_period_us`);
    if (cfsQuotaUs !== undefined && cfsPeriodUs !== undefined) return { cpuMax, cfsQuotaUs, cfsPeriodUs };
  }
  return { cpuMax };
}

/** The worker count of `tessera serve` without `--workers` (or with `--workers auto`). */
export function defaultWorkerCount(): number {
  return coreCount(availableParallelism(), readCgroupCpuFiles());
}
