/**
 * A cluster primary with one worker, for bench/scaling.ts: `tessera serve
 * --workers 1` runs one process and no primary, so the cost of the state the
 * workers share through the primary (rate limits, the response cache, APQ over
 * node:cluster IPC, store/cluster.ts) cannot be seen with it. This primary does
 * what `tessera serve --workers N`'s does (src/cli/serve.ts) for one worker: the
 * same shared state (serveSharedState), the worker started as `tessera serve`
 * with that environment, the port shared through node:cluster. It stops its
 * worker (which drains) on SIGTERM, SIGINT or when its parent goes away.
 *
 *   node one-worker-primary.js <tessera cli entry> <gateway.yaml>
 */
import cluster from 'node:cluster';
import { tuneHeap } from '../src/cli/runtime.js';
import { serveSharedState } from '../src/store/index.js';

tuneHeap();
const [cli, config] = process.argv.slice(2);
if (!cli || !config) throw new Error('usage (from bench/scaling.ts): one-worker-primary.js <tessera cli entry> <gateway.yaml>');
cluster.setupPrimary({ exec: cli, args: ['serve', '--config', config, '--workers', '1'] });
const worker = cluster.fork(serveSharedState().env);
const stop = (): void => {
  if (worker.isConnected()) worker.disconnect();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
worker.on('exit', (code) => process.exit(code ?? 0));
