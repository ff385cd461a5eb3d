/**
 * The benchmark's tail figures (bench/README.md, "Where the tail comes from"):
 * the share of requests' time spent in GC pauses (bench/lib/tail-stats.mjs,
 * computed inside every process by bench/lib/gc-observer.mjs) and the
 * client's latencies cut into seconds (bench/lib/load.ts). On inputs small
 * enough to check by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bySecond, median } from '../../bench/lib/load.js';
import { pauseShare, percentile } from '../../bench/lib/tail-stats.mjs';

test('pauseShare: the part of each request life inside the pauses, over the requests at or above the threshold', () => {
  // Pauses: 10–20 ms and 50–55 ms.
  const starts = [10, 50];
  const durations = [10, 5];
  // Request A 0–30 (10 ms paused), B 15–40 (5: the pause's second half), C 40–45 (none), D 52–100 (3).
  const latencies = [30, 25, 5, 48];
  const endedAt = [30, 40, 45, 100];
  assert.equal(pauseShare(latencies, endedAt, starts, durations, -Infinity), (10 + 5 + 0 + 3) / (30 + 25 + 5 + 48));
  assert.equal(pauseShare(latencies, endedAt, starts, durations, 30), (10 + 3) / (30 + 48), 'only A and D are at or above 30 ms');
  assert.equal(pauseShare(latencies, endedAt, starts, durations, 1000), undefined);
  assert.equal(pauseShare(latencies, endedAt, [], [], -Infinity), 0, 'no pauses');
  // A request entirely inside one pause spent all of its time in it.
  assert.equal(pauseShare([4], [15], starts, durations, -Infinity), 1);
});

test('percentile: the value at that rank, sorting in place', () => {
  const values = [5, 1, 4, 2, 3];
  assert.equal(percentile(values, 0.5), 3);
  assert.deepEqual(values, [1, 2, 3, 4, 5]);
  assert.equal(percentile(values, 0.99), 5);
  assert.equal(percentile([], 0.5), undefined);
});

test('bySecond: p99 ÷ p50 of the median second apart from p50 of the slowest second ÷ the fastest; the cut-short last second and thin seconds left out', () => {
  const latencies: number[] = [];
  const endedAt: number[] = [];
  const second = (at: number, values: number[]): void => {
    values.forEach((v, i) => {
      latencies.push(v);
      endedAt.push(at * 1000 + (i * 1000) / values.length);
    });
  };
  // 100 answers a second: p50 is the 50th smallest, p99 the 99th.
  const spread = (p50: number, p99: number): number[] => Array.from({ length: 100 }, (_, i) => (i < 50 ? p50 : i < 98 ? p50 : p99));
  second(0, spread(10, 30)); // 3×
  second(1, spread(20, 30)); // 1.5×
  second(2, spread(10, 20)); // 2×
  second(3, [1000, 1000]); // too few answers: left out
  second(4, spread(10, 100)); // the last second, cut short by the load's end: left out
  const s = bySecond(latencies, endedAt);
  assert.deepEqual(s, { seconds: 3, withinP99OverP50: 2, p50SlowestOverFastest: 2 });
  assert.equal(bySecond([], []), undefined);
  assert.equal(bySecond(spread(10, 30), Array.from({ length: 100 }, (_, i) => i)), undefined, 'one second is not two');
});

test('median: the middle value, the mean of the two middle ones, NaN for none', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([1, NaN, 3]), 2, 'values that are not finite are left out');
});
