/**
 * The `tessera` command: parses the arguments and runs one command, each in
 * its own file (serve.ts, compose.ts, check.ts).
 *
 *   tessera serve   [--config gateway.yaml] [--port N] [--host H] [--workers N|auto]
 *   tessera compose [--config gateway.yaml] [--out schema/unified.graphql] [--check]
 *   tessera check   [--config gateway.yaml]
 *
 * Exit codes: 0 ok, 1 configuration or composition problems (every one is
 * printed), 2 wrong usage, 3 stale schema snapshot (compose --check).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isConfigError } from '../errors.js';
import { check } from './check.js';
import { fail, print, UsageError, type CliResult } from './command.js';
import { compose } from './compose.js';
import { serve } from './serve.js';

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
  --version           Print the version of Tessera.
`;

/** The version in package.json, read at run time: one level above cli/ in src/ and in dist/ alike. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function reportProblems(error: unknown): number {
  if (isConfigError(error)) {
    fail(`tessera: ${error.problems.length === 1 ? 'one problem' : `${error.problems.length} problems`} (${error.code}):`);
    for (const problem of error.problems) fail(`  - ${problem}`);
    return 1;
  }
  throw error;
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
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    fail(`tessera: ${(error as Error).message}\n\n${USAGE}`);
    return { code: 2 };
  }
  const { values, positionals } = parsed;
  if (values.version) {
    print(`tessera ${packageVersion()}`);
    return { code: 0 };
  }
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
