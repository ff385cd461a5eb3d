/** The p-th percentile (0..1) of `values`, which it sorts in place; undefined for none. */
export function percentile(values: number[], p: number): number | undefined;
/**
 * The share (0..1) of the requests' time in the process spent in GC pauses,
 * over the requests whose latency is at least `threshold`: request i ran from
 * endedAt[i] - latencies[i] to endedAt[i]; pause j from pauseStarts[j] for
 * pauseDurations[j] (sorted by start, not overlapping). Undefined when no
 * request qualifies.
 */
export function pauseShare(latencies: ArrayLike<number>, endedAt: ArrayLike<number>, pauseStarts: ArrayLike<number>, pauseDurations: ArrayLike<number>, threshold: number): number | undefined;
