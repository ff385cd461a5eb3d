/**
 * The `tessera` command: parses the arguments and runs one command, each in
 * its own file (serve.ts, compose.ts, check.ts; publish, rollback, list and
 * status in registry.ts). Every command's flags,
 * environment variables and exit codes are written down once, in COMMANDS
 * below: its --help text is made from them, and its arguments are parsed
 * against them (a flag of another command is wrong usage).
 *
 *   tessera <command> [options]     tessera help [command]     tessera --version
 *
 * Exit codes: 0 ok, 1 configuration or composition problems (every one is
 * printed), 2 wrong usage, 3 stale schema snapshot (compose --check), 70 a
 * bug in Tessera (bin.ts prints the stack).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isConfigError } from '../errors.js';
import { canary } from './canary.js';
import { check } from './check.js';
import { fail, print, UsageError, type CliResult } from './command.js';
import { compose } from './compose.js';
import { list, promote, publish, rollback, status } from './registry.js';
import { serve } from './serve.js';

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** What the value looks like in the help text (`N`, `FILE`). */
  value?: string;
  /** May be given several times; the values are collected in a list. */
  multiple?: boolean;
  doc: string;
}

type Values = Record<string, string | boolean | string[] | undefined>;

interface CommandSpec {
  summary: string;
  /** The arguments after the flags, as the synopsis shows them (`[DESCRIPTOR...]`); none when absent. */
  positionals?: string;
  options: Record<string, OptionSpec>;
  environment: Array<[string, string]>;
  exitCodes: Array<[number, string]>;
  /** Signals the command handles, for a long-running one. */
  signals?: Array<[string, string]>;
  run(configFile: string, values: Values, positionals: string[]): Promise<CliResult>;
}

/** Flags every command takes. */
const COMMON: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', value: 'FILE', doc: 'gateway.yaml to use (default: $TESSERA_CONFIG, else ./gateway.yaml)' },
  help: { type: 'boolean', short: 'h', doc: "Show this command's help." },
};

/** Variables every command reads (src/ reads no other; a config file may name any with ${VAR}). */
const ENVIRONMENT: Array<[string, string]> = [
  ['TESSERA_CONFIG', 'The configuration file when --config is not given.'],
  ['${VAR}', 'Any variable a configuration file names as ${VAR} or ${VAR:-default}; the demo gateway.yaml reads PORT, HOST, LOG_LEVEL and TESSERA_MODE.'],
  ['NODE_ENV', 'Defaults to production (graphql-js then skips its development-time checks).'],
];

const USAGE_EXIT: Array<[number, string]> = [
  [2, 'wrong usage (unknown command or flag, a bad flag value, no configuration file)'],
  [70, 'a bug in Tessera: the stack is printed'],
];

const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    summary: 'Start the gateway.',
    options: {
      port: { type: 'string', short: 'p', value: 'N', doc: 'Listen on this port (overrides server.port).' },
      host: { type: 'string', value: 'H', doc: 'Listen on this address (overrides server.host).' },
      workers: {
        type: 'string',
        value: 'N|auto',
        doc: 'Worker processes sharing the port (default auto: one per core, within the cgroup CPU quota; 1: one process, no cluster).',
      },
    },
    environment: [
      ...ENVIRONMENT,
      ['NODE_OPTIONS', 'A --heap-growing-percent here (or on node\'s own command line) replaces the 150 that serve sets; a --max-semi-space-size counts as the start flag that sizes the young generation (64 MB: two 32 MB semi-spaces).'],
    ],
    exitCodes: [
      [0, 'stopped by SIGTERM or SIGINT, after draining'],
      [1, 'configuration problems, the address is taken (LISTEN_FAILED), or a worker could not start'],
      ...USAGE_EXIT,
    ],
    signals: [
      ['SIGTERM, SIGINT', 'Drain (readiness fails, in-flight requests finish within server.shutdownTimeout), then exit 0.'],
      ['SIGHUP', 'Reload the descriptors (hot reload): the new set serves once it loads and composes, else the running one stays; every worker reloads.'],
    ],
    run: (configFile, values) => serve(configFile, values as { port?: string; host?: string; workers?: string }),
  },
  compose: {
    summary: "Compose the unified schema and write it (and each channel's) as sorted SDL.",
    options: {
      out: { type: 'string', value: 'FILE', doc: 'Where to write the unified schema (default: schema.snapshot in gateway.yaml).' },
      check: { type: 'boolean', doc: 'Write nothing; exit 3 if the snapshot differs from the composed schema.' },
    },
    environment: ENVIRONMENT,
    exitCodes: [
      [0, 'written, or (--check) up to date'],
      [1, 'configuration or composition problems, every one printed'],
      ...USAGE_EXIT,
      [3, '--check: the snapshot is stale (run tessera compose and commit)'],
    ],
    run: (configFile, values) => compose(configFile, values as { out?: string; check?: boolean }),
  },
  check: {
    summary:
      'Validate the configuration and the composition; compare the candidate with what runs (breaking, dangerous, safe changes) and name the client operations that would break.',
    positionals: '[DESCRIPTOR...]',
    options: {
      against: {
        type: 'string',
        value: 'URL|DIR',
        doc: "What runs: a running gateway (each channel's path introspected on the URL's origin) or a snapshot folder as tessera compose writes it (default: the folder of schema.snapshot, when it has the unified graph).",
      },
      header: { type: 'string', multiple: true, value: "'NAME: VALUE'", doc: 'A header sent with each introspection of --against URL (a credential); repeatable.' },
      operations: {
        type: 'string',
        value: 'DIR',
        doc: "Client operations: .graphql files and persisted-operation manifests (.json); a file in a folder named after a channel runs on that channel, any other on the unified graph. The manifests gateway.yaml configures are always checked.",
      },
      json: { type: 'boolean', doc: 'Print the report as one JSON object (its shape: README, "tessera check").' },
    },
    environment: ENVIRONMENT,
    exitCodes: [
      [0, 'no problems and nothing breaking (warnings, dangerous and safe changes are printed)'],
      [1, 'breaking changes, operations that would break, configuration or composition problems, or what runs could not be read (every one printed)'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => check(configFile, values as { against?: string; header?: string[]; operations?: string; json?: boolean }, positionals),
  },
  publish: {
    summary:
      "Publish descriptors to the Redis registry (registry.url): each becomes a new version of its subgraph, with the files it names; refused when it breaks what runs (the registry's current set), unless --allow-breaking.",
    positionals: 'DESCRIPTOR...',
    options: {
      reason: { type: 'string', value: 'TEXT', doc: 'Why, recorded with the version.' },
      by: { type: 'string', value: 'NAME', doc: 'Who, recorded with the version (default: $USER).' },
      'allow-breaking': { type: 'string', value: 'REASON', doc: 'Publish even with breaking changes; the reason is recorded with the version.' },
      stage: {
        type: 'string',
        value: 'RULE',
        doc: 'Stage the versions instead of making them current: "10%" (that share of consumers, sticky by credential) or "header:x-canary" (requests with that header) get them; tessera promote makes them current, tessera rollback aborts.',
      },
      json: { type: 'boolean', doc: 'Print the outcome and the check report as one JSON object.' },
    },
    environment: [...ENVIRONMENT, ['USER', 'Who publishes, when --by is not given.']],
    exitCodes: [
      [0, 'published'],
      [1, 'not published: breaking changes (without --allow-breaking), configuration or composition problems, no registry.url, or Redis does not answer (every one printed)'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => publish(configFile, values as { stage?: string; reason?: string; by?: string; 'allow-breaking'?: string; json?: boolean }, positionals),
  },
  promote: {
    summary: 'Make the staged versions of a staged rollout (tessera publish --stage) current in the Redis registry: every request gets them.',
    positionals: 'SUBGRAPH',
    options: {
      by: { type: 'string', value: 'NAME', doc: 'Who promotes, for the log (default: $USER).' },
      json: { type: 'boolean', doc: 'Print the outcome as one JSON object.' },
    },
    environment: [...ENVIRONMENT, ['USER', 'Who promotes, when --by is not given.']],
    exitCodes: [
      [0, 'promoted'],
      [1, 'no staged version of that subgraph, no registry.url, or Redis does not answer'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => promote(configFile, values as { by?: string; json?: boolean }, positionals),
  },
  rollback: {
    summary: 'Make the previous (or the given) version of a subgraph current again in the Redis registry, recorded as a new version; while a stage of it is under way (and no --to), abort the stage instead.',
    positionals: 'SUBGRAPH',
    options: {
      to: { type: 'string', value: 'VERSION', doc: 'The version to restore (v3; tessera list shows them; default: the one before the current one).' },
      by: { type: 'string', value: 'NAME', doc: 'Who, recorded with the version (default: $USER).' },
      json: { type: 'boolean', doc: 'Print the outcome as one JSON object.' },
    },
    environment: [...ENVIRONMENT, ['USER', 'Who rolls back, when --by is not given.']],
    exitCodes: [
      [0, 'rolled back'],
      [1, 'no such subgraph or version, no registry.url, or Redis does not answer'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => rollback(configFile, values as { to?: string; by?: string; json?: boolean }, positionals),
  },
  list: {
    summary: "List the Redis registry's versions of every subgraph (or one), newest first, with who, when and why; * marks the current one.",
    positionals: '[SUBGRAPH]',
    options: { json: { type: 'boolean', doc: 'Print the versions as one JSON object.' } },
    environment: ENVIRONMENT,
    exitCodes: [
      [0, 'listed'],
      [1, 'no such subgraph, no registry.url, or Redis does not answer'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => list(configFile, values as { json?: boolean }, positionals),
  },
  status: {
    summary: "Show the Redis registry's current set and revision, and what each gateway that reported (heartbeat) serves.",
    options: { json: { type: 'boolean', doc: 'Print the status as one JSON object.' } },
    environment: ENVIRONMENT,
    exitCodes: [
      [0, 'shown'],
      [1, 'no registry.url, or Redis does not answer'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values) => status(configFile, values as { json?: boolean }),
  },
  canary: {
    summary: "A running gateway's canary guard: `status` shows each version's weight and what guarded it; `restore SUBGRAPH VERSION` gives a guarded version its configured weights back.",
    positionals: 'status | restore SUBGRAPH VERSION',
    options: {
      gateway: { type: 'string', value: 'URL', doc: "The running gateway's admin listener (or its main listener when the admin API is served there); the credential is admin.credential of --config." },
      by: { type: 'string', value: 'NAME', doc: 'Who restores, in the gateway\'s log (default: $USER).' },
      json: { type: 'boolean', doc: "Print the admin API's answer as JSON." },
    },
    environment: [...ENVIRONMENT, ['USER', 'Who restores, when --by is not given.']],
    exitCodes: [
      [0, 'shown, restored, or nothing to restore (the version was not guarded)'],
      [1, 'the gateway did not answer, refused the credential, or has no such subgraph or version'],
      ...USAGE_EXIT,
    ],
    run: (configFile, values, positionals) => canary(configFile, values as { gateway?: string; by?: string; json?: boolean }, positionals),
  },
};

/** Words joined into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** Two columns, the second wrapped at 80 characters. */
function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${wrap(right, 78 - width).join(`\n  ${' '.repeat(width)}`)}`).join('\n');
}

function flag(name: string, spec: OptionSpec): string {
  return `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
}

const USAGE = `Usage: tessera <command> [options]

Commands:
${table([...Object.entries(COMMANDS).map(([name, spec]): [string, string] => [name, spec.summary]), ['help', 'Show the help of a command: tessera help <command>.']])}

Options:
${table([
  ['-h, --help', 'Show this help.'],
  ['    --version', 'Print the version.'],
])}

Each command's flags, environment variables and exit codes: tessera <command> --help.`;

/** A command's options in help order: --config first, --help last. */
function optionsOf(name: string): Record<string, OptionSpec> {
  const { config, help } = COMMON;
  return { config: config!, ...COMMANDS[name]!.options, help: help! };
}

function synopsis(name: string): string {
  const flags = Object.entries(optionsOf(name))
    .filter(([option]) => option !== 'help')
    .map(([option, o]) => `[--${option}${o.value ? ` ${o.value}` : ''}]`);
  const positionals = COMMANDS[name]!.positionals;
  return `Usage: tessera ${name} ${flags.join(' ')}${positionals ? ` ${positionals}` : ''}`;
}

function commandHelp(name: string): string {
  const spec = COMMANDS[name]!;
  const sections = [
    synopsis(name),
    wrap(spec.summary, 80).join('\n'),
    `Options:\n${table(Object.entries(optionsOf(name)).map(([option, o]) => [flag(option, o), o.doc]))}`,
    `Environment:\n${table(spec.environment)}`,
    `Exit codes:\n${table([...spec.exitCodes].sort(([a], [b]) => a - b).map(([code, doc]) => [String(code), doc]))}`,
  ];
  if (spec.signals) sections.push(`Signals:\n${table(spec.signals)}`);
  return sections.join('\n\n');
}

/** The version in the package.json of the package this module belongs to (two folders up from src/cli/ and dist/cli/ alike). */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function parseOptions(options: Record<string, OptionSpec>): ParseArgsConfig['options'] {
  return Object.fromEntries(Object.entries(options).map(([name, { type, short, multiple }]) => [name, { type, ...(short && { short }), ...(multiple && { multiple }) }]));
}

/** Every flag of every command: enough to find the command word however the flags are placed. */
const ALL_OPTIONS = parseOptions(Object.assign({}, COMMON, ...Object.values(COMMANDS).map((c) => c.options)) as Record<string, OptionSpec>);

function reportProblems(error: unknown): number {
  if (isConfigError(error)) {
    fail(`tessera: ${error.problems.length === 1 ? 'one problem' : `${error.problems.length} problems`} (${error.code}):`);
    for (const problem of error.problems) fail(`  - ${problem}`);
    return 1;
  }
  throw error;
}

function usageError(message: string, help: string): CliResult {
  fail(`tessera: ${message}\n\n${help}`);
  return { code: 2 };
}

export async function runCli(argv: string[]): Promise<CliResult> {
  // First pass, lenient: which command (the first word), and the flags that need none.
  const first = parseArgs({ args: argv, options: { ...ALL_OPTIONS, version: { type: 'boolean' } }, allowPositionals: true, strict: false });
  const [command, ...rest] = first.positionals;
  if (command === undefined) {
    if (first.values.version) {
      print(version());
      return { code: 0 };
    }
    if (first.values.help) {
      print(USAGE);
      return { code: 0 };
    }
    fail(USAGE);
    return { code: 2 };
  }
  if (command === 'help') {
    const topic = rest[0];
    if (topic === undefined) print(USAGE);
    else if (COMMANDS[topic]) print(commandHelp(topic));
    else return usageError(`no command "${topic}"`, USAGE);
    return { code: 0 };
  }
  const spec = COMMANDS[command];
  if (!spec) return usageError(`unknown command "${command}"`, USAGE);
  // A usage error shows the command's synopsis and where its full help is, not the whole help.
  const short = `${synopsis(command)}\nRun \`tessera ${command} --help\` for its flags, environment variables and exit codes.`;
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: parseOptions(optionsOf(command)), allowPositionals: true, strict: true }));
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const option = /'([^']+)'/.exec(message)?.[1];
    return usageError(code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option ? `unknown flag ${option} for tessera ${command}` : message, short);
  }
  if (values.help) {
    print(commandHelp(command));
    return { code: 0 };
  }
  if (rest.length > 0 && !spec.positionals) return usageError(`unexpected argument "${rest[0]}"`, short);
  const configFile = resolve((values.config as string | undefined) ?? process.env.TESSERA_CONFIG ?? 'gateway.yaml');
  try {
    if (!existsSync(configFile)) throw new UsageError(`no configuration file at ${configFile} (use --config)`);
    if (statSync(configFile).isDirectory()) throw new UsageError(`${configFile} is a folder; give --config the gateway.yaml in it`);
    return await spec.run(configFile, values, rest);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message, short);
    return { code: reportProblems(error) };
  }
}
