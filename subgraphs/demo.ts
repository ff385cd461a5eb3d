/**
 * `npm start`: starts every demo service in subgraphs/ (each folder with a
 * server.ts exporting `start(port)`), then the gateway on gateway.yaml, and
 * prints where to send a query. Ctrl-C stops everything.
 *
 *   npm start -- --without accounts   every service but accounts, and the gateway
 *   npm start -- --only accounts      the accounts service alone, no gateway
 *
 * The two together run one service in a process of its own, so it can be
 * stopped while the gateway keeps serving (the README's tour). A service
 * left out is still where its descriptor says (its port variable), since the
 * gateway reads its schema from it at start-up (accounts is introspected).
 *
 * Ports: ACCOUNTS_PORT (4101), REVIEWS_PORT (4102), CATALOG_PORT (4103),
 * INVENTORY_PORT (4104), PORT (4000, the gateway). A port already taken stops
 * the start with the address and the variable that changes it (exit 1).
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGateway, type Gateway } from '../src/index.js';
import { isConfigError, listenError } from '../src/errors.js';
import type { DemoService } from './lib/serve.js';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_PORTS: Record<string, number> = { accounts: 4101, reviews: 4102, catalog: 4103, inventory: 4104 };

export interface StartedDemo {
  services: Map<string, DemoService>;
  close(): Promise<void>;
}

/** The demo services: the folders of subgraphs/ with a server.ts, sorted. */
export function demoServiceNames(): string[] {
  return readdirSync(here, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(here, e.name, 'server.ts')))
    .map((e) => e.name)
    .sort();
}

/**
 * Starts the demo services (`names`, default all); `ports` maps a service to
 * a port (0 for any free one).
 */
export async function startDemoServices(ports: Record<string, number> = {}, names: string[] = demoServiceNames()): Promise<StartedDemo> {
  const services = new Map<string, DemoService>();
  try {
    for (const name of names) {
      const mod = (await import(pathToFileURL(join(here, name, 'server.ts')).href)) as { start(port: number): Promise<DemoService> };
      const variable = `${name.toUpperCase()}_PORT`;
      const envPort = process.env[variable];
      const port = ports[name] ?? (envPort ? Number(envPort) : (DEFAULT_PORTS[name] ?? 0));
      try {
        services.set(name, await mod.start(port));
      } catch (error) {
        const change = `it is the ${name} demo service's port; choose another with ${variable}=N npm start`;
        throw listenError(error, { port: change, host: change });
      }
    }
  } catch (error) {
    await Promise.all([...services.values()].map((s) => s.close()));
    throw error;
  }
  return {
    services,
    close: async () => {
      await Promise.all([...services.values()].map((s) => s.close()));
    },
  };
}

/** The environment that points the demo descriptors at the started services. */
export function demoEnv(demo: StartedDemo, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [name, service] of demo.services) env[`${name.toUpperCase()}_PORT`] = String(service.port);
  return env;
}

const SAMPLE_QUERY = `{
  reviews(first: 3) {
    body
    rating
    author { name username }
    product { id averageRating }
  }
}`;

const USAGE = `Usage: npm start [-- --without NAME ... | --only NAME ...]

  --without NAME   start every demo service but NAME (repeatable), and the gateway
  --only NAME      start only NAME (repeatable), without the gateway`;

/** Which services to start and whether to start the gateway, from the arguments; a usage problem is printed, exit 2. */
function plan(argv: string[]): { names: string[]; without: string[]; gateway: boolean } {
  const all = demoServiceNames();
  const usage = (problem: string): never => {
    console.error(`demo: ${problem}\n\n${USAGE}`);
    process.exit(2);
  };
  let values: { without?: string[]; only?: string[] } = {};
  try {
    ({ values } = parseArgs({ args: argv, options: { without: { type: 'string', multiple: true }, only: { type: 'string', multiple: true } } }));
  } catch (error) {
    usage((error as Error).message);
  }
  const without = values.without ?? [];
  const only = values.only ?? [];
  for (const name of [...without, ...only]) {
    if (!all.includes(name)) usage(`no demo service "${name}" (there are: ${all.join(', ')})`);
  }
  if (without.length > 0 && only.length > 0) usage('--without and --only do not go together: run one process with each');
  if (only.length > 0) return { names: only, without: all.filter((n) => !only.includes(n)), gateway: false };
  return { names: all.filter((n) => !without.includes(n)), without, gateway: true };
}

async function main(): Promise<void> {
  const { names, without, gateway: withGateway } = plan(process.argv.slice(2));
  const demo = await startDemoServices({}, names);
  for (const [name, service] of demo.services) console.log(`demo service ${name.padEnd(10)} ${service.url}`);
  if (!withGateway) {
    console.log(`\nOnly ${names.join(', ')}: no gateway in this process (start it with \`npm start -- --without ${names.join(' --without ')}\`). Ctrl-C stops.`);
    const stop = async (signal: string): Promise<void> => {
      console.log(`\n${signal}: stopping ${names.join(', ')}`);
      await demo.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    return;
  }
  let gateway: Gateway | undefined;
  let url: string;
  try {
    gateway = await createGateway({ configFile: join(here, '..', 'gateway.yaml'), env: demoEnv(demo) });
    ({ url } = await gateway.listen());
  } catch (error) {
    await gateway?.close();
    await demo.close();
    // gateway.yaml listens on ${HOST:-127.0.0.1}:${PORT:-4000}.
    const problem = listenError(error, { port: "it is the gateway's port; choose another with PORT=N npm start", host: "it is the gateway's address; choose another with HOST=H npm start" });
    if (isConfigError(problem)) {
      console.error(`tessera: cannot start (${problem.code}):\n  - ${problem.problems.join('\n  - ')}`);
      // A service left out must run elsewhere before the gateway starts: its schema is read from it.
      if (without.length > 0) console.error(`\nNot started here (--without): ${without.join(', ')}. Start it first, in another terminal: npm start -- --only ${without.join(' --only ')}`);
      process.exit(1);
    }
    throw problem;
  }
  const served = gateway;
  console.log(`\nTessera is serving the demo graph at ${url} (GraphiQL: open it in a browser)\n`);
  console.log(`Try:\n\ncurl -s ${url} -H 'content-type: application/json' \\\n  -d '${JSON.stringify({ query: SAMPLE_QUERY.replace(/\s+/g, ' ') })}'\n`);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: draining...`);
    await served.close();
    await demo.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    if (isConfigError(error)) console.error(`tessera: cannot start (${error.code}):\n  - ${error.problems.join('\n  - ')}`);
    else console.error(error);
    process.exit(1);
  });
}
