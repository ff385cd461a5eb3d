// Preloaded into every process the benchmark starts (`node --import
// bench/lib/gc-observer.mjs`, lib/proc.ts), Tessera, the peers, the limits and
// the upstreams alike. It adds up the duration of every garbage collection
// (perf_hooks' 'gc' entries: the pause each collection makes on the main
// thread) and answers the run's `{ type: 'gc-totals', id }` over the IPC
// channel with that total and the main thread's busy time so far (event loop
// utilization's `active`: time not spent waiting for I/O). Both are clock
// time of the same thread, so time the process waits for a CPU stretches
// both alike and their ratio stays the share of its work spent collecting.
// Plain JavaScript, so the peers load it as they are. In a cluster worker it
// does nothing; a cluster primary says how many workers it has, whose
// collections it cannot see.
import cluster from 'node:cluster';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import process from 'node:process';

if (!cluster.isWorker && process.send) {
  let ms = 0;
  let count = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      ms += entry.duration;
      count++;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (message) => {
    if (message?.type !== 'gc-totals') return;
    const workers = cluster.workers ? Object.keys(cluster.workers).length : 0;
    process.send({ type: 'gc-totals', id: message.id, ms, count, activeMs: performance.eventLoopUtilization().active, workers });
  });
}
