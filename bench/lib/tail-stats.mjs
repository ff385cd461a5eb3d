// The tail's figures that lib/gc-observer.mjs computes inside each process the
// benchmark starts: plain JavaScript, as the observer is (the peers load it as
// they are); types in tail-stats.d.mts.

/** The p-th percentile (0..1) of an array of numbers (sorted here). */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(p * values.length))];
}

/**
 * The share of the requests' time in the process spent in GC pauses: each
 * request's [end - latency, end] against the pauses (sorted, disjoint), summed
 * over the requests whose latency is at least `threshold`.
 */
export function pauseShare(latencies, endedAt, pauseStarts, pauseDurations, threshold) {
  // before[i]: pause time that ended before pause i started.
  const before = new Float64Array(pauseStarts.length + 1);
  for (let i = 0; i < pauseStarts.length; i++) before[i + 1] = before[i] + pauseDurations[i];
  // Pause time before t: the whole pauses that started before it, less the part of the last one after t.
  const pausedBy = (t) => {
    let lo = 0;
    let hi = pauseStarts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pauseStarts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return 0;
    return before[lo] - Math.max(0, pauseStarts[lo - 1] + pauseDurations[lo - 1] - t);
  };
  let paused = 0;
  let total = 0;
  for (let i = 0; i < latencies.length; i++) {
    if (latencies[i] < threshold) continue;
    paused += pausedBy(endedAt[i]) - pausedBy(endedAt[i] - latencies[i]);
    total += latencies[i];
  }
  return total > 0 ? paused / total : undefined;
}

