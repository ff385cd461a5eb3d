/**
 * The `tessera` command.
 *
 *   tessera serve   [--config gateway.yaml] [--port N] [--host H] [--workers N|auto]
 *   tessera compose [--config gateway.yaml] [--out schema/unified.graphql] [--check]
 *   tessera check   [--config gateway.yaml]
 *
 * Exit codes: 0 ok, 1 configuration or composition problems (every one is
 * printed), 2 wrong usage, 3 stale schema snapshot (compose --check).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { isConfigError } from '../errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { loadGatewayFile } from '../config/load.js';
import { createLogger } from '../logger.js';
import { PRIMARY_TIMEOUT_MS, serveSharedState } from '../store/index.js';
import { defaultWorkerCount } from './cores.js';

/** In the environment of the workers the primary forks: the secret their cursors are sealed with, unless gateway.yaml sets one. */
const CURSOR_SECRET_ENV = 'TESSERA_CURSOR_SECRET';

const USAGE = `Usage: tessera <command> [options]

Commands:
  serve     Start the gateway.
  compose   Compose the unified schema and write it (and each channel's) as SDL.
  check     Validate the configuration and the composition; print every problem,
            and for REST subgraphs the proposed entity keys and the N+1 joins.

Options:
  --config, -c FILE   gateway.yaml to use (default: ./gateway.yaml, or $TESSERA_CONFIG)
  --port, -p N        serve: listen on this port (overrides server.port)
  --host H            serve: listen on this address (overrides server.host)
  --workers N|auto    serve: worker processes sharing the port (default auto: one per core,
                      within the CPU quota of the cgroup; 1: one process, no cluster)
  --out FILE          compose: where to write the unified schema (default: schema.snapshot in gateway.yaml)
  --check             compose: do not write; exit 3 if the snapshot differs from the composed schema
  --help, -h          Show this help.
`;

class UsageError extends Error {}

export interface CliResult {
  code: number;
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The SDL of a schema as it is checked in: sorted, so a diff shows only real changes. */
export function schemaSnapshot(schema: Parameters<typeof printSchema>[0]): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

function reportProblems(error: unknown): number {
  if (isConfigError(error)) {
    fail(`tessera: ${error.problems.length === 1 ? 'one problem' : `${error.problems.length} problems`} (${error.code}):`);
    for (const problem of error.problems) fail(`  - ${problem}`);
    return 1;
  }
  throw error;
}

async function withGateway<T>(configFile: string, run: (gateway: Gateway) => Promise<T>): Promise<T> {
  const gateway = await createGateway({ configFile, logger: undefined });
  try {
    return await run(gateway);
  } finally {
    await gateway.close();
  }
}

/**
 * What the primary and its workers tell each other (beside the shared stores' requests, store/cluster.ts):
 *
 *   worker ── serving ──► primary   it listens (the primary prints the URL when every worker does)
 *   worker ── retire ───► primary   it was signalled itself: take it off the port, then say drain
 *   worker ◄── drain ──── primary   it is off the port: drain and exit (see servePrimary's retire)
 */
type WorkerMessage = { tessera: 'serving'; url: string } | { tessera: 'retire' } | { tessera: 'drain' };

function isMessage<K extends WorkerMessage['tessera']>(message: unknown, kind: K): message is Extract<WorkerMessage, { tessera: K }> {
  return typeof message === 'object' && message !== null && (message as { tessera?: unknown }).tessera === kind;
}

function ignoreSendError(): void {
  // The other end has gone; its exit (or its primary's) is handled where it is seen.
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

function workerCount(value: string | undefined): number {
  if (value === undefined || value === 'auto' || value === '') return defaultWorkerCount();
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers expects a whole number or "auto", got ${value}`);
  return workers;
}

async function serve(configFile: string, values: { port?: string; host?: string; workers?: string }): Promise<CliResult> {
  // Workers run this too (cluster.fork starts the same command): they serve, whatever the count.
  const workers = workerCount(values.workers);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port expects a port number, got ${values.port}`);
  if (workers > 1 && cluster.isPrimary) return servePrimary(configFile, workers);

  const gateway = await createGateway({ configFile, cursorSecret: cluster.isWorker ? process.env[CURSOR_SECRET_ENV] : undefined });
  const { url } = await gateway.listen(port, values.host);
  if (cluster.isWorker) {
    process.send?.({ tessera: 'serving', url } satisfies WorkerMessage);
    await drainOrdered();
  } else {
    print(`tessera: serving ${url}`);
    await signalled();
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
async function servePrimary(configFile: string, workers: number): Promise<CliResult> {
  // Validate once in the primary so a broken config fails fast with one report, not N.
  loadGatewayFile(configFile);
  print(`tessera: starting ${workers} workers`);
  // One cursor key for every worker (gateway.yaml's security.cursors.secret wins when set), so a cursor opens on any of them.
  const env = { ...serveSharedState().env, [CURSOR_SECRET_ENV]: randomBytes(32).toString('base64url') };
  const alive = new Map<number, Worker>();
  const serving = new Set<number>();
  const retired = new Set<number>();
  let started = false;
  let stopping = false;
  let failure: number | undefined;
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
  for (let i = 0; i < workers; i++) fork();
  await done;
  return { code: failure ?? 0 };
}

async function compose(configFile: string, values: { out?: string; check?: boolean }): Promise<CliResult> {
  return withGateway(configFile, async (gateway) => {
    const base = dirname(resolve(configFile));
    const out = resolve(values.out ?? resolve(base, gateway.config.schema.snapshot));
    const files = new Map<string, string>([[out, schemaSnapshot(gateway.schema)]]);
    for (const { channel, schema } of gateway.channels) {
      if (channel.name === 'default') continue;
      files.set(resolve(dirname(out), `${channel.name}.graphql`), schemaSnapshot(schema));
    }
    if (values.check) {
      const stale = [...files].filter(([file, sdl]) => !existsSync(file) || readFileSync(file, 'utf8') !== sdl).map(([file]) => file);
      if (stale.length > 0) {
        fail(`tessera: the schema snapshot is stale; run \`tessera compose\` and commit:\n${stale.map((f) => `  - ${f}`).join('\n')}`);
        return { code: 3 };
      }
      print(`tessera: schema snapshot is up to date (${files.size} file${files.size === 1 ? '' : 's'})`);
      return { code: 0 };
    }
    for (const [file, sdl] of files) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, sdl);
      print(`tessera: wrote ${file}`);
    }
    return { code: 0 };
  });
}

async function check(configFile: string): Promise<CliResult> {
  return withGateway(configFile, async (gateway) => {
    const types = Object.keys(gateway.schema.getTypeMap()).filter((t) => !t.startsWith('__')).length;
    print(`tessera: ok: ${gateway.descriptors.length} subgraphs (${gateway.descriptors.map((d) => d.name).join(', ')}), ${types} types, channels: ${gateway.channels.map((c) => `${c.channel.name} ${c.channel.path}`).join(', ')}`);
    if (gateway.missing.length > 0) print(`tessera: warning: optional subgraphs not loaded: ${gateway.missing.join(', ')}`);
    // REST subgraphs: proposed entity keys and bulk endpoints, the joins that cost one call per parent (N+1),
    // and header parameters left out of the schema because the gateway would never send them.
    for (const descriptor of gateway.descriptors) {
      if (descriptor.kind !== 'openapi' || gateway.missing.includes(descriptor.name)) continue;
      const { inspectOpenapiSource } = await import('../sources/openapi/load.js');
      const { headerReportLines, joinReportLines } = await import('../sources/openapi/report.js');
      const report = await inspectOpenapiSource(descriptor, { mode: gateway.config.mode, logger: createLogger('silent') });
      const lines = [...joinReportLines(descriptor, report.joins), ...headerReportLines(descriptor, report.refusedHeaders)];
      for (const line of lines) print(`tessera: ${line.warning ? 'warning: ' : ''}${line.text}`);
    }
    return { code: 0 };
  });
}

export async function runCli(argv: string[]): Promise<CliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        workers: { type: 'string' },
        out: { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(`tessera: ${(error as Error).message}\n\n${USAGE}`);
    return { code: 2 };
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (command || values.help ? print : fail)(USAGE);
    return { code: values.help ? 0 : 2 };
  }
  const configFile = resolve(values.config ?? process.env.TESSERA_CONFIG ?? 'gateway.yaml');
  try {
    if (!existsSync(configFile)) throw new UsageError(`no configuration file at ${configFile} (use --config)`);
    switch (command) {
      case 'serve':
        return await serve(configFile, values);
      case 'compose':
        return await compose(configFile, values);
      case 'check':
        return await check(configFile);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      fail(`tessera: ${error.message}\n\n${USAGE}`);
      return { code: 2 };
    }
    return { code: reportProblems(error) };
  }
}
