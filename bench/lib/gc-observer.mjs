// Preloaded into every process the benchmark starts (`node --import
// bench/lib/gc-observer.mjs`, lib/proc.ts), Tessera, the peers, the limits and
// the upstreams alike. It answers the run's `{ type: 'gc-totals', id }` over
// the IPC channel with:
// - the duration of every garbage collection so far (perf_hooks' 'gc' entries:
//   the pause each collection makes on the main thread), added up, and the
//   main thread's busy time so far (event loop utilization's `active`: time not
//   spent waiting for I/O). Both are clock time of the same thread, so time the
//   process waits for a CPU stretches both alike and their ratio stays the
//   share of its work spent collecting;
// - a window, from the previous question to this one (the bench asks right
//   before and right after each load, so the window is the load): the
//   process's own latency of the HTTP requests its node:http server answered
//   (the 'http.server.request.start' to 'http.server.response.finish'
//   diagnostics channels: request headers parsed to the last byte handed to
//   the socket), its 50th and 99th percentiles, the 50th and 99th percentiles
//   of the time Tessera's requests waited for a place before any work was
//   done on them (server.admission: its 'tessera:admission' diagnostics
//   channel's `started` events; none in the other processes), the longest GC pause and the
//   time spent in pauses of 10 ms or more, and the event loop's delay (a
//   timer's lateness sampled every 10 ms: how long one piece of work held the
//   thread), and the share of their time in the process that the slowest 1%
//   of requests (at or above that p99) spent in GC pauses, beside the same
//   share for all of them. They say where a client's tail latency comes from: the process's
//   own work, its collector, or outside it (the load generator's core, the
//   network, the upstreams).
// Plain JavaScript, so the peers load it as they are. In a cluster worker it
// does nothing; a cluster primary says how many workers it has, whose
// collections it cannot see.
import cluster from 'node:cluster';
import { subscribe } from 'node:diagnostics_channel';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import process from 'node:process';
import { pauseShare, percentile } from './tail-stats.mjs';

// At most 2^20 latencies (and pauses) per window (a 10 s load at 100,000 req/s); the rest are counted, not kept.
const MAX_KEPT = 1 << 20;

if (!cluster.isWorker && process.send) {
  let ms = 0;
  let count = 0;
  let windowMaxPause = 0;
  let windowLongPauseMs = 0;
  // The window's pauses in the order they came (one thread's pauses do not overlap): when each started and how long it took.
  let pauseStarts = [];
  let pauseDurations = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      ms += entry.duration;
      count++;
      if (pauseStarts.length < MAX_KEPT) {
        pauseStarts.push(entry.startTime);
        pauseDurations.push(entry.duration);
      }
      if (entry.duration > windowMaxPause) windowMaxPause = entry.duration;
      if (entry.duration >= 10) windowLongPauseMs += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  let latencies = [];
  let endedAt = [];
  let answered = 0;
  const started = new WeakMap();
  subscribe('http.server.request.start', ({ response }) => started.set(response, performance.now()));
  subscribe('http.server.response.finish', ({ response }) => {
    const at = started.get(response);
    if (at === undefined) return;
    answered++;
    if (latencies.length < MAX_KEPT) {
      const now = performance.now();
      latencies.push(now - at);
      endedAt.push(now);
    }
  });

  // Tessera's admission waits (ms), one per request it started; no other process publishes on the channel.
  let waits = [];
  subscribe('tessera:admission', (event) => {
    if (event.change === 'started' && waits.length < MAX_KEPT) waits.push(event.waitedMs);
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  process.on('message', (message) => {
    if (message?.type !== 'gc-totals') return;
    const workers = cluster.workers ? Object.keys(cluster.workers).length : 0;
    // Before the percentiles, which sort `latencies` in place.
    const serverP99 = percentile([...latencies], 0.99);
    const slowestPauseShare = serverP99 === undefined ? undefined : pauseShare(latencies, endedAt, pauseStarts, pauseDurations, serverP99);
    const pauseShareAll = pauseShare(latencies, endedAt, pauseStarts, pauseDurations, -Infinity);
    const window = {
      answered,
      serverP50: percentile(latencies, 0.5),
      serverP99,
      slowestPauseShare,
      pauseShare: pauseShareAll,
      waitP50: percentile(waits, 0.5),
      waitP99: percentile(waits, 0.99),
      maxPauseMs: windowMaxPause,
      longPauseMs: windowLongPauseMs,
      // The histogram is in nanoseconds; the resolution (10 ms) is the timer's period, not lateness.
      loopDelayP99Ms: loopDelay.count ? Math.max(0, loopDelay.percentile(99) / 1e6 - 10) : undefined,
      loopDelayMaxMs: loopDelay.count ? Math.max(0, loopDelay.max / 1e6 - 10) : undefined,
    };
    latencies = [];
    endedAt = [];
    pauseStarts = [];
    pauseDurations = [];
    waits = [];
    answered = 0;
    windowMaxPause = 0;
    windowLongPauseMs = 0;
    loopDelay.reset();
    process.send({ type: 'gc-totals', id: message.id, ms, count, activeMs: performance.eventLoopUtilization().active, workers, window });
  });
}
