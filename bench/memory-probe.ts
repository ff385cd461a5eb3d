/**
 * A preload for the gateway process the soak starts (`node --import
 * …/memory-probe.js`, through NODE_OPTIONS so `tessera serve` runs as it
 * ships): a control channel on the Unix socket TESSERA_PROBE_SOCKET, served
 * only to the soak (bench/soak.ts), that reads the process's memory and
 * writes heap snapshots from inside it.
 *
 *   GET  /memory              RSS, heap used and total, external and array buffers, each heap space
 *   POST /gc                  a full collection (twice: weak references are cleared on the second), then /memory
 *   POST /snapshot?file=PATH  a heap snapshot written to PATH (a full collection first, by V8), then /memory
 *
 * The snapshot goes through the inspector protocol rather than
 * v8.writeHeapSnapshot, so that the profiler is disabled afterwards: that
 * drops the id V8 otherwise keeps tracking for every object from the first
 * snapshot on (measured: a third more CPU in a garbage-heavy loop). Either
 * way, writing a snapshot leaves the process's RSS far larger (hundreds of
 * MB for a 60 MB heap, freed by V8 but kept by malloc): RSS is not comparable
 * across a snapshot, which is why the soak measures RSS in a twin that takes none.
 *
 * Nothing else in the process changes: the server is unref'd (it never holds
 * the process open), and without TESSERA_PROBE_SOCKET the module does nothing.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ProbeMemory {
  pid: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Memory V8 allocated with malloc (outside the heap): compiler zones, tables. */
  malloced: number;
  /** Bytes by heap space: new_space, old_space, code_space, large_object_space… */
  spaces: Record<string, { size: number; used: number }>;
  /** Bytes of the heap's pages actually in memory. */
  heapPhysical: number;
}

export function memory(): ProbeMemory {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  return {
    pid: process.pid,
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    malloced: heap.malloced_memory,
    heapPhysical: heap.total_physical_size,
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }])),
  };
}

/** A full collection without starting the process with --expose-gc (which would change how it runs). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

/** Writes a heap snapshot to `file`; an in-process inspector session answers synchronously, chunk by chunk. */
function writeSnapshot(file: string): void {
  const session = new Session();
  session.connect();
  const fd = openSync(file, 'w');
  try {
    session.on('HeapProfiler.addHeapSnapshotChunk', (message: { params: { chunk: string } }) => void writeSync(fd, message.params.chunk));
    const fail = (error: Error | null): void => {
      if (error) throw error;
    };
    session.post('HeapProfiler.enable', fail);
    session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, fail);
    session.post('HeapProfiler.disable', fail);
  } finally {
    closeSync(fd);
    session.disconnect();
  }
}

const socket = process.env.TESSERA_PROBE_SOCKET;
if (socket) {
  rmSync(socket, { force: true });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://probe');
    const answer = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && url.pathname === '/memory') return answer(200, memory());
      if (req.method === 'POST' && url.pathname === '/gc') {
        collect();
        return answer(200, memory());
      }
      if (req.method === 'POST' && url.pathname === '/snapshot') {
        const file = url.searchParams.get('file');
        if (!file) return answer(400, { error: 'POST /snapshot needs ?file=PATH' });
        const started = performance.now();
        writeSnapshot(file);
        return answer(200, { file, ms: performance.now() - started, memory: memory() });
      }
      answer(404, { error: `no ${req.method} ${url.pathname} here: GET /memory, POST /gc, POST /snapshot?file=PATH` });
    } catch (error) {
      answer(500, { error: (error as Error).message });
    }
  });
  server.listen(socket);
  server.unref();
}
