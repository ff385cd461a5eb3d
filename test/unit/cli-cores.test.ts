/** How many workers `tessera serve` starts by default: one per core, within the cgroup's CPU quota. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cfsCores, coreCount, cpuMaxCores, readCgroupCpuFiles } from '../../src/cli/cores.js';

test('cgroup v2 cpu.max: quota/period rounded up; "max" is no quota', () => {
  assert.equal(cpuMaxCores('max 100000\n'), undefined);
  assert.equal(cpuMaxCores('200000 100000\n'), 2);
  assert.equal(cpuMaxCores('150000 100000'), 2, '1.5 CPUs: 2 workers');
  assert.equal(cpuMaxCores('50000 100000'), 1);
  assert.equal(cpuMaxCores('400000 50000'), 8);
  assert.equal(cpuMaxCores(''), undefined);
  assert.equal(cpuMaxCores('garbage'), undefined);
});

test('cgroup v1 cfs quota and period: rounded up; -1 is no quota', () => {
  assert.equal(cfsCores('-1\n', '100000\n'), undefined);
  assert.equal(cfsCores('300000\n', '100000\n'), 3);
  assert.equal(cfsCores('250000', '100000'), 3);
  assert.equal(cfsCores('100000', '0'), undefined);
});

test('the worker count is the available parallelism capped by the smallest quota found, at least 1', () => {
  assert.equal(coreCount(8, {}), 8, 'no cgroup files (not Linux): every core');
  assert.equal(coreCount(8, { cpuMax: ['max 100000'] }), 8);
  assert.equal(coreCount(16, { cpuMax: ['200000 100000'] }), 2, 'a 2-CPU container on a 16-core host');
  assert.equal(coreCount(16, { cpuMax: ['max 100000', '300000 100000', '200000 100000'] }), 2, 'a parent cgroup caps its children');
  assert.equal(coreCount(2, { cpuMax: ['800000 100000'] }), 2, 'a quota above the cores does not add any');
  assert.equal(coreCount(8, { cfsQuotaUs: '150000', cfsPeriodUs: '100000' }), 2);
  assert.equal(coreCount(8, { cfsQuotaUs: '-1', cfsPeriodUs: '100000' }), 8);
  assert.equal(coreCount(8, { cpuMax: ['10000 100000'] }), 1, '0.1 CPU: one worker');
  assert.equal(coreCount(1, { cpuMax: ['max 100000'] }), 1);
});

test('the cgroup files are read along the cgroup path of the process, then the mount root; v1 files when there', () => {
  const files = new Map([
    ['/proc/self/cgroup', '0::/system.slice/tessera.service\n'],
    ['/sys/fs/cgroup/system.slice/tessera.service/cpu.max', 'max 100000\n'],
    ['/sys/fs/cgroup/system.slice/cpu.max', '300000 100000\n'],
    ['/sys/fs/cgroup/cpu.max', 'max 100000\n'],
  ]);
  const read = (file: string): string | undefined => files.get(file);
  const found = readCgroupCpuFiles(read);
  assert.deepEqual(found, { cpuMax: ['max 100000\n', '300000 100000\n', 'max 100000\n'] });
  assert.equal(coreCount(16, found), 3);

  const container = new Map([
    ['/proc/self/cgroup', '0::/\n'],
    ['/sys/fs/cgroup/cpu.max', '200000 100000\n'],
  ]);
  assert.equal(coreCount(16, readCgroupCpuFiles((file) => container.get(file))), 2, 'a container with its own cgroup namespace');

  const v1 = new Map([
    ['/proc/self/cgroup', '12:cpu,cpuacct:/docker/abc\n'],
    ['/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us', '200000\n'],
    ['/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us', '100000\n'],
  ]);
  const v1Found = readCgroupCpuFiles((file) => v1.get(file));
  assert.deepEqual(v1Found, { cpuMax: [], cfsQuotaUs: '200000\n', cfsPeriodUs: '100000\n' });
  assert.equal(coreCount(16, v1Found), 2);

  assert.deepEqual(readCgroupCpuFiles(() => undefined), { cpuMax: [] }, 'nothing to read: no quota');
  const escaping = new Map([['/proc/self/cgroup', '0::/../../other\n'], ['/sys/fs/other/cpu.max', '100000 100000']]);
  assert.deepEqual(readCgroupCpuFiles((file) => escaping.get(file)), { cpuMax: [] }, 'a path outside the mount is not followed');
});
