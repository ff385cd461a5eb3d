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
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { isConfigError } from '../errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { loadGatewayFile } from '../config/load.js';
import { createLogger } from '../logger.js';
import { serveSharedState } from '../store/index.js';
import { defaultWorkerCount } from './cores.js';

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

/** What a worker tells the primary once it listens (the primary prints the URL when every worker does). */
interface ServingMessage {
  tessera: 'serving';
  url: string;
}

function isServingMessage(message: unknown): message is ServingMessage {
  return typeof message === 'object' && message !== null && (message as ServingMessage).tessera === 'serving';
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

  const gateway = await createGateway({ configFile });
  const { url } = await gateway.listen(port, values.host);
  if (cluster.isWorker) process.send?.({ tessera: 'serving', url } satisfies ServingMessage);
  else print(`tessera: serving ${url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void gateway.close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return { code: 0 };
}

/**
 * The cluster primary of `tessera serve`: it serves no request. It holds the
 * workers' memory stores (rate limits, response cache, APQ: store/cluster.ts),
 * forks the workers, prints the URL once every one listens, replaces a worker
 * that dies after start-up, and on SIGTERM/SIGINT has every worker drain and
 * waits for them. A worker that dies before it listens stops the start: the
 * configuration cannot start, as one process would exit (its code, 1 for
 * configuration problems), rather than be restarted over and over.
 */
async function servePrimary(configFile: string, workers: number): Promise<CliResult> {
  // Validate once in the primary so a broken config fails fast with one report, not N.
  loadGatewayFile(configFile);
  print(`tessera: starting ${workers} workers`);
  const { env } = serveSharedState();
  const alive = new Map<number, Worker>();
  const serving = new Set<number>();
  let started = false;
  let stopping = false;
  let failure: number | undefined;
  const fork = (): void => {
    const worker = cluster.fork(env);
    alive.set(worker.id, worker);
  };
  const stop = (): void => {
    stopping = true;
    for (const worker of alive.values()) worker.process.kill('SIGTERM');
  };
  const done = new Promise<void>((resolve) => {
    cluster.on('message', (worker, message) => {
      if (!isServingMessage(message) || !alive.has(worker.id)) return;
      serving.add(worker.id);
      if (!started && serving.size === workers) {
        started = true;
        print(`tessera: serving ${message.url} (${workers} workers)`);
      }
    });
    cluster.on('exit', (worker, code, signal) => {
      alive.delete(worker.id);
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
    // REST subgraphs: proposed entity keys and bulk endpoints, and the joins that cost one call per parent (N+1).
    for (const descriptor of gateway.descriptors) {
      if (descriptor.kind !== 'openapi' || gateway.missing.includes(descriptor.name)) continue;
      const { inspectOpenapiSource } = await import('../sources/openapi/load.js');
      const { joinReportLines } = await import('../sources/openapi/report.js');
      const report = await inspectOpenapiSource(descriptor, { mode: gateway.config.mode, logger: createLogger('silent') });
      for (const line of joinReportLines(descriptor, report)) print(`tessera: ${line.warning ? 'warning: ' : ''}${line.text}`);
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
