import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HEAP_GROWING_PERCENT, MAX_SEMI_SPACE_MB, missingStartFlags, START_FLAGS, tuneHeap, v8MaxSemiSpaceMB } from '../../src/cli/runtime.js';

const YOUNG = `young generation at most ${2 * MAX_SEMI_SPACE_MB} MB`;

test('tessera serve sets the heap growth and the young generation cap unless the operator set them', () => {
  // Applying them here changes only this test process's GC sizing.
  assert.deepEqual(tuneHeap([], ''), [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, YOUNG]);
  assert.deepEqual(tuneHeap(['--heap-growing-percent=300'], ''), [YOUNG], 'node argument');
  assert.deepEqual(tuneHeap([], '--max-old-space-size=512 --heap_growing_percent=0'), [YOUNG], 'NODE_OPTIONS, underscore spelling');
  assert.deepEqual(tuneHeap(['--max-old-space-size=512'], ''), [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, YOUNG], 'a heap cap is a different setting');
  assert.deepEqual(tuneHeap(['--max-semi-space-size=16'], ''), [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`], 'the operator sized the young generation');
  assert.deepEqual(tuneHeap([], '--semi_space_growth_factor=4 --heap-growing-percent=0'), [], 'both set in NODE_OPTIONS');
});

test('the start flags a process lacks: each unless node\'s arguments set it, either way, in either spelling', () => {
  assert.deepEqual(missingStartFlags([]), [...START_FLAGS]);
  assert.deepEqual(missingStartFlags(['--no-memory-reducer', '--import', 'tsx']), ['--no-flush-bytecode']);
  assert.deepEqual(missingStartFlags(['--no_flush_bytecode', '--memory-reducer']), [], "the operator's own --memory-reducer counts as set");
  assert.deepEqual(missingStartFlags(['--flush-bytecode=false']), ['--no-memory-reducer']);
  assert.deepEqual(missingStartFlags(['--no-memory-reducer-for-small-heaps']), [...START_FLAGS], 'another flag with the same beginning');
});

test('the young generation cap is half of V8\'s own largest semi-space, by V8 line', () => {
  assert.equal(v8MaxSemiSpaceMB('11.3.244.8-node.38'), 16, 'Node 20');
  assert.equal(v8MaxSemiSpaceMB('12.4.254.21-node.57'), 16, 'Node 22');
  assert.equal(v8MaxSemiSpaceMB('13.6.233.17-node.63'), 64, 'Node 24');
  assert.equal(MAX_SEMI_SPACE_MB, v8MaxSemiSpaceMB() / 2);
});

/**
 * In a fresh process (the young generation is sized per process): objects that
 * survive a few scavenges, allocated a batch per event-loop turn as a server
 * does, make V8 double its semi-spaces up to its maximum (v8MaxSemiSpaceMB);
 * with tuneHeap() they stop at MAX_SEMI_SPACE_MB.
 */
async function youngGenerationMB(tune: boolean): Promise<number> {
  const runtime = fileURLToPath(new URL('../../src/cli/runtime.ts', import.meta.url));
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { tuneHeap } from ${JSON.stringify(runtime)};
    if (${tune}) tuneHeap([], '');
    const kept = [];
    for (let round = 0; round < 300; round++) {
      const batch = [];
      for (let i = 0; i < 20000; i++) batch.push({ i, s: 'x' + i });
      kept.push(batch);
      if (kept.length > 20) kept.shift();
      await new Promise((resolve) => setImmediate(resolve));
    }
    console.log(getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, NODE_OPTIONS: '' } });
  return Number(stdout.trim()) / 2 ** 20;
}

test('the young generation stops growing at two semi-spaces of MAX_SEMI_SPACE_MB', async () => {
  const [capped, free] = await Promise.all([youngGenerationMB(true), youngGenerationMB(false)]);
  assert.ok(capped <= 2 * MAX_SEMI_SPACE_MB, `capped: ${capped} MB`);
  // Without the cap the same allocations grow it further: the check above is not V8's default.
  assert.ok(free > 2 * MAX_SEMI_SPACE_MB, `V8's own sizing: ${free} MB`);
});
