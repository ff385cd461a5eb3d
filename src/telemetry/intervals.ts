/**
 * The time covered by a set of intervals, each counted once: the time a
 * request spent waiting on its upstreams when calls overlap (a plan's
 * parallel calls, a stitched query's batches). The gateway overhead is the
 * request's total time minus this.
 */

/**
 * The length of the union of the intervals `[bounds[0], bounds[1]]`,
 * `[bounds[2], bounds[3]]`, … (flat pairs of start and end), each clipped to
 * `[from, to]`. Overlapping and nested intervals count once; an interval with
 * its end before its start counts nothing.
 */
export function unionLength(bounds: readonly number[], from = -Infinity, to = Infinity): number {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < bounds.length; i += 2) {
    const start = Math.max(from, bounds[i]!);
    const end = Math.min(to, bounds[i + 1]!);
    if (end > start) pairs.push([start, end]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let total = 0;
  // The run of overlapping intervals being merged; counted when one starts after it ends.
  let run: [number, number] | undefined;
  for (const [start, end] of pairs) {
    if (run && start <= run[1]) {
      run[1] = Math.max(run[1], end);
      continue;
    }
    if (run) total += run[1] - run[0];
    run = [start, end];
  }
  if (run) total += run[1] - run[0];
  return total;
}
