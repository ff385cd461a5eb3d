/**
 * `tessera serve [--port N] [--host H] [--workers N|auto]`: one process, or
 * a cluster primary with one worker per core (the default) that share the
 * port and, through the primary, the memory stores.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createGateway } from '../gateway.js';
import { createLogger, type Logger } from '../logger.js';
import { displayPath, loadGatewayFile } from '../config/load.js';
import { listenError } from '../errors.js';
import { PRIMARY_TIMEOUT_MS, serveSharedState } from '../store/index.js';
import { fail, print, UsageError, type CliResult } from './command.js';
import { defaultWorkerCount } from './cores.js';
import { adminPublisher } from './registry.js';
import { appliedHeapSettings, missingStartFlags, START_FLAGS, withoutStartFlags } from './runtime.js';

/** In the environment of the workers the primary forks: the secret their cursors are sealed with, unless gateway.yaml sets one. */
const CURSOR_SECRET_ENV = 'TESSERA_CURSOR_SECRET';

/**
 * What the primary and its workers tell each other (beside the shared stores' requests, store/cluster.ts):
 *
 *   worker ── serving ──► primary   it listens (the primary prints the URL when every worker does)
 *   worker ── retire ───► primary   it was signalled itself: take it off the port, then say drain
 *   worker ◄── drain ──── primary   it is off the port: drain and exit (see servePrimary's retire)
 *   worker ◄── reload ─── primary   the primary got SIGHUP: reload the descriptors
 */
type WorkerMessage = { tessera: 'serving'; url: string } | { tessera: 'retire' } | { tessera: 'drain' } | { tessera: 'reload' };

function isMessage<K extends WorkerMessage['tessera']>(message: unknown, kind: K): message is Extract<WorkerMessage, { tessera: K }> {
  return typeof message === 'object' && message !== null && (message as { tessera?: unknown }).tessera === kind;
}

function ignoreSendError(): void {
  // The other end has gone; its exit (or its primary's) is handled where it is seen.
}

/**
 * SIGHUP reloads the descriptors (hot reload, README "Publishing and hot
 * reload"): `reload` (which logs what it does) is the gateway's once it is
 * built, or the cluster primary's, which asks its workers. Node's default answer
 * (exiting at once, no drain, no log line) is replaced from the start: a
 * SIGHUP that comes while the gateway is still starting is logged and
 * dropped, since start-up reads the descriptors anyway.
 */
function reloadOnHangup(logger: Logger): (reload: () => Promise<unknown>) => void {
  let onHangup = (): void => {
    logger.warn({ signal: 'SIGHUP', pid: process.pid }, 'SIGHUP during start-up: nothing to reload yet (start-up reads the descriptors now)');
  };
  process.on('SIGHUP', () => onHangup());
  return (reload) => {
    onHangup = () => void reload();
  };
}

/** Resolves on SIGTERM or SIGINT: when one process drains. */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

/**
 * Resolves when a cluster worker is to drain: when its primary, having taken
 * it off the port, says so (or closes the channel, which a worker without
 * connections sees instead: its channel closes as soon as its server has).
 * A worker signalled itself (systemd signals every process of a unit, a
 * terminal its whole process group, an operator one worker) asks the primary
 * for that rather than closing its server itself, and drains anyway if no
 * answer comes within PRIMARY_TIMEOUT_MS.
 */
function drainOrdered(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (message) => {
      if (isMessage(message, 'drain')) resolve();
    });
    process.once('disconnect', () => resolve());
    const retire = (): void => {
      if (!process.connected || !process.send) return resolve();
      process.send({ tessera: 'retire' } satisfies WorkerMessage, undefined, undefined, ignoreSendError);
      setTimeout(resolve, PRIMARY_TIMEOUT_MS);
    };
    process.once('SIGTERM', retire);
    process.once('SIGINT', retire);
  });
}

/** The start line of a process that serves: the heap settings in effect, and the start flags it lacks, if any (runtime.ts). */
function logStartFlags(logger: Logger): void {
  const missing = missingStartFlags();
  const v8 = { heap: appliedHeapSettings(), startFlags: START_FLAGS.filter((flag) => !missing.includes(flag)), missingStartFlags: missing };
  if (missing.length === 0) {
    logger.info({ v8 }, `V8: started with ${START_FLAGS.join(' ')}`);
    return;
  }
  logger.info(
    { v8 },
    `V8: node was started without ${missing.join(' ')}: ${withoutStartFlags(missing)}; start node with ${START_FLAGS.join(' ')} ` +
      '(the image does, and --workers gives them to its workers): README, Performance',
  );
}

function workerCount(value: string | undefined): number {
  if (value === undefined || value === 'auto' || value === '') return defaultWorkerCount();
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers expects a whole number or "auto", got ${value}`);
  return workers;
}

export async function serve(configFile: string, values: { port?: string; host?: string; workers?: string }): Promise<CliResult> {
  // Workers run this too (cluster.fork starts the same command): they serve, whatever the count.
  const workers = workerCount(values.workers);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port expects a port number, got ${values.port}`);
  // Loaded here too (createGateway loads it again) for the log level: the process's one logger, needed before start-up ends.
  const gatewayFile = loadGatewayFile(configFile).gateway;
  // A worker's lines carry its pid: with --workers N, the person on call sees which process wrote each.
  const logger = createLogger(gatewayFile.logging.level, undefined, cluster.isWorker ? { pid: process.pid } : undefined);
  const onHangup = reloadOnHangup(logger);
  if (workers > 1 && cluster.isPrimary) return servePrimary(configFile, workers, logger, onHangup);
  logStartFlags(logger);

  // Every worker opens the main and the admin listener: node:cluster shares each port between them, and the
  // admin endpoints answer for the whole process group (server/admin-group.ts).
  const gateway = await createGateway({ configFile, logger, cursorSecret: cluster.isWorker ? process.env[CURSOR_SECRET_ENV] : undefined, publisher: adminPublisher(configFile) });
  const reload = (): Promise<unknown> => gateway.reload('signal');
  onHangup(() => {
    logger.info({ signal: 'SIGHUP', pid: process.pid }, 'SIGHUP: reloading the descriptors');
    return reload();
  });
  // A worker reloads when its primary got SIGHUP too.
  if (cluster.isWorker) {
    process.on('message', (message) => {
      if (isMessage(message, 'reload')) void reload();
    });
  }
  let url: string;
  try {
    ({ url } = await gateway.listen(port, values.host));
  } catch (error) {
    await gateway.close();
    const file = displayPath(configFile);
    throw listenError(error, {
      port: values.port === undefined ? `choose another port with --port N (or server.port in ${file})` : 'choose another port with --port N',
      host: values.host === undefined ? `choose another address with --host H (or server.host in ${file})` : 'choose another address with --host H',
    });
  }
  // The drain's signal handlers go in before the process says it serves: a supervisor that signals it the moment
  // it reads that line gets a drain, not node's default exit by the signal.
  if (cluster.isWorker) {
    const drain = drainOrdered();
    process.send?.({ tessera: 'serving', url } satisfies WorkerMessage);
    await drain;
  } else {
    const stop = signalled();
    print(`tessera: serving ${url}`);
    await stop;
  }
  await gateway.close();
  return { code: 0 };
}

/**
 * The cluster primary of `tessera serve`: it serves no request. It holds the
 * workers' memory stores (rate limits, response cache, APQ: store/cluster.ts),
 * forks the workers, prints the URL once every one listens, replaces a worker
 * that dies or is retired after start-up, and on SIGTERM/SIGINT retires every
 * worker and waits for them. A worker that dies before it listens stops the
 * start: the configuration cannot start, as one process would exit (its code,
 * 1 for configuration problems), rather than be restarted over and over.
 *
 * Retiring a worker: the primary owns the listening socket and hands each
 * connection to a worker (round robin). worker.disconnect() takes the worker
 * out of that at once, here in the primary: no connection is handed to it
 * afterwards, and once no worker is left the primary closes the socket, so
 * from the signal on a new connection (a load balancer's probe, a new client)
 * is refused, as when one process drains (server/http.ts). The worker answers
 * what it was handed before (that comes first on its channel); its server
 * closes, then, once its last connection has, its channel to the primary: the
 * requests in flight keep the shared stores to the end. The drain message
 * that follows starts its drain (readiness 503, SHUTTING_DOWN on kept-alive
 * connections, server.shutdownTimeout), as a signal does in one process.
 *
 * Why not signal the workers: a worker closing its own server tells the
 * primary over IPC; a connection handed to it meanwhile goes back to the
 * primary, and when no worker is left by then node:cluster keeps it, open and
 * unanswered, until the primary exits at the end of the drain: a probe hangs.
 */
async function servePrimary(configFile: string, workers: number, logger: Logger, onHangup: (reload: () => Promise<unknown>) => void): Promise<CliResult> {
  // The configuration was validated once in the primary (serve loads it first), so a broken one fails fast with one report, not N.
  print(`tessera: starting ${workers} workers`);
  // One cursor key for every worker (gateway.yaml's security.cursors.secret wins when set), so a cursor opens on any of them.
  const env = { ...serveSharedState().env, [CURSOR_SECRET_ENV]: randomBytes(32).toString('base64url') };
  const alive = new Map<number, Worker>();
  const serving = new Set<number>();
  const retired = new Set<number>();
  let started = false;
  let stopping = false;
  let failure: number | undefined;
  // The flags V8 reads only at start (runtime.ts START_FLAGS), for the workers even when this process lacks them.
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...missingStartFlags()] });
  const fork = (): void => {
    const worker = cluster.fork(env);
    alive.set(worker.id, worker);
  };
  const retire = (worker: Worker): void => {
    if (retired.has(worker.id)) return;
    if (!serving.has(worker.id)) {
      // Still starting, so nothing in flight: a signal stops it (one that listens meanwhile asks to retire).
      worker.process.kill('SIGTERM');
      return;
    }
    retired.add(worker.id);
    // In this order: a worker that closed its server (its drain) before reading the disconnect would lose its channel at once.
    worker.disconnect();
    worker.send({ tessera: 'drain' } satisfies WorkerMessage, ignoreSendError);
  };
  const stop = (): void => {
    stopping = true;
    for (const worker of alive.values()) retire(worker);
  };
  const done = new Promise<void>((resolve) => {
    cluster.on('message', (worker, message) => {
      if (!alive.has(worker.id)) return;
      if (isMessage(message, 'retire')) return retire(worker);
      if (!isMessage(message, 'serving')) return;
      serving.add(worker.id);
      if (!started && serving.size === workers) {
        started = true;
        print(`tessera: serving ${message.url} (${workers} workers)`);
      }
    });
    cluster.on('exit', (worker, code, signal) => {
      alive.delete(worker.id);
      retired.delete(worker.id);
      const served = serving.delete(worker.id);
      if (!stopping && !started && !served) {
        fail(`tessera: worker ${worker.process.pid} exited (${signal ?? code}) before it could serve; stopping`);
        failure = code || 1;
        stop();
      } else if (!stopping) {
        fail(`tessera: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
        fork();
      }
      if (stopping && alive.size === 0) resolve();
    });
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // SIGHUP: every worker serving reloads its own gateway (the primary serves no schema).
  onHangup(async () => {
    // Serving and not retired: a worker still starting reads the descriptors anyway.
    const targets = [...alive.values()].filter((w) => serving.has(w.id) && !retired.has(w.id));
    logger.info({ signal: 'SIGHUP', pid: process.pid, workers: targets.map((w) => w.process.pid) }, 'SIGHUP: asking every worker to reload the descriptors');
    for (const worker of targets) worker.send({ tessera: 'reload' } satisfies WorkerMessage, ignoreSendError);
  });
  for (let i = 0; i < workers; i++) fork();
  await done;
  return { code: failure ?? 0 };
}
