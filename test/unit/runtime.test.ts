import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { HEAP_GROWING_PERCENT, MAX_SEMI_SPACE_MB, missingStartFlags, START_FLAGS, tuneHeap, v8MaxSemiSpaceMB, withoutStartFlags, withoutYoungFlag } from '../../src/cli/runtime.js';

const GROWTH = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const YOUNG = `--max-semi-space-size=${MAX_SEMI_SPACE_MB}`;
const NO_PRETENURING = '--no-allocation-site-pretenuring';

test('tessera serve sets the old generation\'s growth and turns off allocation-site pretenuring, each unless the operator set it', () => {
  // Applying them here changes only this test process's GC.
  assert.deepEqual(tuneHeap([], ''), [GROWTH, NO_PRETENURING]);
  assert.deepEqual(tuneHeap(['--heap-growing-percent=300'], ''), [NO_PRETENURING], 'node argument');
  assert.deepEqual(tuneHeap([], '--max-old-space-size=512 --heap_growing_percent=0'), [NO_PRETENURING], 'NODE_OPTIONS, underscore spelling');
  assert.deepEqual(tuneHeap(['--max-old-space-size=512'], ''), [GROWTH, NO_PRETENURING], 'a heap cap is a different setting');
  assert.deepEqual(tuneHeap(['--allocation-site-pretenuring'], ''), [GROWTH], "the operator's own pretenuring, on");
  assert.deepEqual(tuneHeap(['--no_allocation_site_pretenuring'], '--heap-growing-percent=100'), [], 'underscore spelling; the growth in NODE_OPTIONS');
  assert.deepEqual(tuneHeap(['--allocation-site-pretenuring-x'], ''), [GROWTH, NO_PRETENURING], 'another flag with the same beginning');
});

/**
 * In a child process with V8's pretenuring trace on (plain node: under tsx's
 * loader the same loop gets no decision either way): objects from one
 * allocation site that all survive make V8 decide to allocate that site's
 * objects in the old generation ("=> tenure"), unless `flags` were set at run
 * time first, the way tuneHeap() sets them. The optimizing tiers are off in
 * both runs: when they compile the loop varies from run to run and changes
 * which allocations V8 counts, so with them on a run without the flags made no
 * decision now and then (1 of 8 runs on Node 24 here, and one CI run); with
 * them off, 12 runs in a row made 21 decisions each on Node 24 and 54–60 on
 * Node 20.
 */
async function tenureDecisions(flags: readonly string[]): Promise<number> {
  const script = `
    const { setFlagsFromString } = require('node:v8');
    for (const flag of ${JSON.stringify(flags)}) setFlagsFromString(flag);
    const kept = [];
    const make = (i) => ({ i, list: [i, i + 1], inner: { i } });
    for (let round = 0; round < 20; round++) for (let i = 0; i < 50000; i++) kept.push(make(i));
    console.log('kept', kept.length);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-opt', '--no-maglev', '--trace-pretenuring', '--trace-pretenuring-statistics', '-e', script], {
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 64 * 2 ** 20,
  });
  assert.match(stdout, /^kept 1000000$/m);
  return stdout.split('\n').filter((line) => line.includes('=> tenure')).length;
}

test('V8 takes the pretenuring setting at run time: with it off, a site whose objects all survive is not pretenured', async () => {
  const settings = tuneHeap([], '');
  assert.ok(settings.includes(NO_PRETENURING));
  assert.ok(await tenureDecisions([]) > 0, "the control: V8's own pretenuring tenures the site");
  assert.equal(await tenureDecisions(settings), 0);
});

test('the start flags a process lacks: each unless node\'s arguments (or NODE_OPTIONS) set it, either way, in either spelling', () => {
  assert.deepEqual(START_FLAGS, ['--no-memory-reducer', '--no-flush-bytecode', YOUNG]);
  assert.deepEqual(missingStartFlags([], ''), [...START_FLAGS]);
  assert.deepEqual(missingStartFlags(['--no-memory-reducer', '--import', 'tsx'], ''), ['--no-flush-bytecode', YOUNG]);
  assert.deepEqual(missingStartFlags(['--no_flush_bytecode', '--memory-reducer', '--max-semi-space-size=16'], ''), [], "the operator's own values count as set");
  assert.deepEqual(missingStartFlags(['--flush-bytecode=false'], '--max_semi_space_size=4'), ['--no-memory-reducer'], 'NODE_OPTIONS sizes the young generation');
  assert.deepEqual(missingStartFlags(['--no-memory-reducer', '--no-flush-bytecode', '--semi-space-growth-factor=1'], ''), [], 'a growth factor of the operator\'s own');
  assert.deepEqual(missingStartFlags(['--no-memory-reducer-for-small-heaps', '--max-semi-space-sizes'], ''), [...START_FLAGS], 'other flags with the same beginning');
});

test('the start line says what each missing flag does, once per effect', () => {
  assert.match(withoutStartFlags(['--no-memory-reducer', '--no-flush-bytecode']), /^after some ten seconds without requests V8 drops compiled code[^;]*$/);
  assert.equal(withoutStartFlags([YOUNG]), withoutYoungFlag());
  // V8's own young generation is smaller than Tessera's on Node 20 and 22, larger on Node 24: the clause says which.
  assert.match(withoutYoungFlag('11.3.244.8-node.38'), /^the young generation stops at V8's own 32 MB instead of 64 MB, so the data of the requests in progress outlives two scavenges, is promoted/);
  assert.equal(withoutYoungFlag('13.6.233.17-node.63'), "the young generation grows to V8's own 128 MB instead of 64 MB, and peak RSS with it");
  assert.equal(withoutStartFlags([]), '');
});

test('V8\'s own largest semi-space, by V8 line (what the start line compares Tessera\'s with)', () => {
  assert.equal(v8MaxSemiSpaceMB('11.3.244.8-node.38'), 16, 'Node 20');
  assert.equal(v8MaxSemiSpaceMB('12.4.254.21-node.57'), 16, 'Node 22');
  assert.equal(v8MaxSemiSpaceMB('13.6.233.17-node.63'), 64, 'Node 24');
  assert.equal(YOUNG, '--max-semi-space-size=32', 'the same on every line');
});

/**
 * In a fresh process (the young generation is sized per process, at start):
 * objects that survive a few scavenges, allocated a batch per event-loop turn
 * as a server does, make V8 double its semi-spaces up to its maximum: its own
 * (v8MaxSemiSpaceMB) without the start flag, MAX_SEMI_SPACE_MB with it,
 * however often V8 shrinks and grows them meanwhile.
 */
async function youngGenerationMB(nodeFlags: readonly string[]): Promise<number> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const young = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size;
    let largest = 0;
    const kept = [];
    for (let round = 0; round < 300; round++) {
      const batch = [];
      for (let i = 0; i < 20000; i++) batch.push({ i, s: 'x' + i });
      kept.push(batch);
      if (kept.length > 20) kept.shift();
      // An idle spell now and then: V8 shrinks the young generation when allocation slows down, and grows it again after.
      if (round % 100 === 99) { kept.length = 0; globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 50)); }
      await new Promise((resolve) => setImmediate(resolve));
      largest = Math.max(largest, young());
    }
    console.log(largest);
  `;
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '--expose-gc', '--input-type=module', '-e', script], { env: { ...process.env, NODE_OPTIONS: '' } });
  return Number(stdout.trim()) / 2 ** 20;
}

test('started with the start flags, the young generation grows to two semi-spaces of MAX_SEMI_SPACE_MB and no further', async () => {
  const [flagged, own] = await Promise.all([youngGenerationMB(START_FLAGS), youngGenerationMB([])]);
  assert.ok(flagged > MAX_SEMI_SPACE_MB && flagged <= 2 * MAX_SEMI_SPACE_MB, `with the flags: ${flagged} MB`);
  // Without the flag the same allocations stop at V8's own size (smaller on Node 20 and 22, larger on 24): the check above is not V8's default.
  assert.ok(own > v8MaxSemiSpaceMB() && own <= 2 * v8MaxSemiSpaceMB(), `V8's own sizing: ${own} MB`);
});
