import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, tuneHeap } from '../../src/cli/runtime.js';

test('tessera serve sets the heap growth unless the operator set it', () => {
  // Applying it here changes only this test process's GC sizing.
  assert.equal(tuneHeap([], ''), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(tuneHeap(['--heap-growing-percent=300'], ''), undefined, 'node argument');
  assert.equal(tuneHeap([], '--max-old-space-size=512 --heap_growing_percent=0'), undefined, 'NODE_OPTIONS, underscore spelling');
  assert.equal(tuneHeap(['--max-old-space-size=512'], ''), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, 'a heap cap is a different setting');
});
