/**
 * The Redis registry's commands (`registry.url` in gateway.yaml):
 * `tessera publish DESCRIPTOR...` checks the candidate against the
 * registry's current set (as `tessera check` does), refuses a breaking
 * change unless --allow-breaking gives a reason, then stores each
 * descriptor, with the files it names, as a new version of its subgraph;
 * `tessera rollback SUBGRAPH [--to VERSION]`, `tessera list [SUBGRAPH]` and
 * `tessera status` (what each replica serves).
 */
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { readOperations } from '../checks/operations.js';
import { buildReport, type CheckReport } from '../checks/report.js';
import { loadGatewayFile } from '../config/load.js';
import { ConfigError, isConfigError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import {
  bundleDescriptor,
  parseStageRule,
  redisRegistry,
  stageRuleText,
  versionSummary,
  writeCandidate,
  type DescriptorBundle,
  type PublishedVersion,
  type PublishMeta,
  type Publisher,
  type PublishRequest,
  type RedisRegistry,
  type StageRule,
} from '../registry/redis.js';
import { printReport, registryCurrent } from './check.js';
import { print, UsageError, withGateway, type CliResult } from './command.js';

/** The registry gateway.yaml configures; a configuration without `registry.url` has none to publish to. */
function openRegistry(configFile: string, command: string): { registry: RedisRegistry; env: NodeJS.ProcessEnv } {
  const { gateway, file } = loadGatewayFile(configFile);
  const { url, prefix, history, poll } = gateway.registry;
  if (url === undefined) {
    throw new ConfigError('CONFIG_INVALID', [
      `${file}: registry.url is not set, so there is no registry for \`tessera ${command}\`: set registry.url: redis://HOST:6379 (README, "Publishing and hot reload"); without it the descriptors folder is the registry`,
    ]);
  }
  const env = process.env;
  return { registry: redisRegistry({ url, prefix, history, pollMs: poll, env, logger: createLogger('silent') }), env };
}

/** Runs a registry command; a Redis that does not answer is a problem naming the registry (exit 1), never a stack. */
async function withRegistry(configFile: string, command: string, run: (registry: RedisRegistry, env: NodeJS.ProcessEnv) => Promise<CliResult>): Promise<CliResult> {
  const { registry, env } = openRegistry(configFile, command);
  try {
    return await run(registry, env);
  } catch (error) {
    if (isConfigError(error) || error instanceof UsageError) throw error;
    throw new ConfigError('SOURCE_LOAD_FAILED', [`${registry.description}: ${(error as Error).message}; check that Redis runs at registry.url and that this host can reach it`]);
  } finally {
    await registry.close();
  }
}

/** A descriptor of POST /admin/registry/publish, written out and bundled as a file given to `tessera publish`. */
function candidateBundle(descriptor: PublishRequest['descriptors'][number], env: NodeJS.ProcessEnv): { file: string; bundle: DescriptorBundle } {
  const file = writeCandidate({ file: descriptor.file, text: descriptor.text }, descriptor.files);
  return { file, bundle: bundleDescriptor(file, env) };
}

/** Who publishes: --by, else the user this command runs as. */
function who(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return by.trim();
  return process.env.USER ?? userInfo().username;
}

export interface PublishOptions {
  /** `10%` or `header:x-canary`: the versions are staged, not made current (StageRule). */
  stage?: string;
  reason?: string;
  by?: string;
  'allow-breaking'?: string;
  json?: boolean;
}

export async function publish(configFile: string, options: PublishOptions, files: readonly string[]): Promise<CliResult> {
  if (files.length === 0) throw new UsageError('give the descriptor files to publish: tessera publish subgraphs/products/subgraph.yaml');
  for (const file of files) if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`${file}: no such descriptor file`);
  if (options['allow-breaking'] !== undefined && options['allow-breaking'].trim() === '') throw new UsageError('--allow-breaking needs a reason (recorded with the version): --allow-breaking "clients moved to v2, see #123"');
  let stage: StageRule | undefined;
  try {
    stage = options.stage === undefined ? undefined : parseStageRule(options.stage, '--stage');
  } catch (error) {
    throw new UsageError(isConfigError(error) ? error.problems.join('; ') : String(error));
  }
  return withRegistry(configFile, 'publish', async (registry, env) => {
    const bundles = files.map((file) => bundleDescriptor(file, env));
    const allowBreaking = options['allow-breaking'];
    const meta = { by: who(options.by), ...(options.reason !== undefined && { reason: options.reason }), ...(allowBreaking !== undefined && { allowBreaking }) };
    const outcome = await checkAndPublish(configFile, registry, bundles, files, meta, createLogger('warn', process.stderr), stage);
    const { report, against } = outcome;
    if (!outcome.published) {
      if (options.json) print(JSON.stringify({ version: 1, ok: false, published: [], check: report }, null, 2));
      else {
        printReport(report, against);
        print('tessera: not published: the candidate breaks what runs (listed above); fix it, or publish with --allow-breaking REASON (recorded with the version)');
      }
      return { code: 1 };
    }
    const { revision: next, versions } = outcome.published;
    if (options.json) print(JSON.stringify({ version: 1, ok: true, revision: next, published: versions.map(versionSummary), check: report }, null, 2));
    else {
      printReport(report, against);
      if (!report.ok) print(`tessera: breaking changes allowed: ${allowBreaking}`);
      const staged = stage ? ` (staged: ${stageRuleText(stage)}; \`tessera promote ${versions[0]!.subgraph}\` makes it current, \`tessera rollback ${versions[0]!.subgraph}\` aborts it)` : '';
      print(`tessera: published revision ${next}: ${versions.map((v) => `${v.subgraph} ${v.id}`).join(', ')}${staged}`);
    }
    return { code: 0 };
  });
}

/** What a checked publish did: the check's report, and the new versions unless the check refused it. */
export interface CheckedPublish {
  report: CheckReport;
  /** What the report was compared with, for printReport (undefined: the registry was empty). */
  against: string | undefined;
  published?: { revision: number; versions: PublishedVersion[] };
}

/**
 * The one publish path of `tessera publish` and POST /admin/registry/publish: the candidate (the bundles, whose
 * descriptor files are `files` on disk) is checked against the registry's current set, built as a gateway would
 * build it; a breaking change is refused unless `meta.allowBreaking` gives a reason; then the bundles are stored as
 * new versions. Configuration and composition problems throw (ConfigError).
 */
export async function checkAndPublish(
  configFile: string,
  registry: RedisRegistry,
  bundles: readonly DescriptorBundle[],
  files: readonly string[],
  meta: PublishMeta,
  logger: Logger,
  stage?: StageRule,
): Promise<CheckedPublish> {
  const revision = await registry.revision();
  const report = await withGateway(
    configFile,
    async (candidate) => {
      const channels = candidate.channels.map((c) => c.channel);
      const published = new Set(Object.keys(await registry.current()));
      // What runs: the registry's current set, built as a gateway would build it.
      const { served, notes } = await registryCurrent(configFile, registry, channels, logger);
      return buildReport({
        candidate: { unified: candidate.schema, channels: candidate.channels.map(({ channel, schema }) => ({ name: channel.name, path: channel.path, schema })) },
        served,
        operations: readOperations(undefined, channels, dirname(configFile)),
        subgraphs: bundles.map((b, i) => ({ name: b.subgraph, file: resolve(files[i]!), change: published.has(b.subgraph) ? ('replaced' as const) : ('added' as const) })),
        notes,
      });
    },
    { descriptorFiles: files, logger },
  );
  const against = revision > 0 ? `${registry.description} revision ${revision}` : undefined;
  if (!report.ok && meta.allowBreaking === undefined) return { report, against };
  return { report, against, published: await registry.publish(bundles, { ...meta, check: report.summary }, stage && { stage }) };
}

/**
 * POST /admin/registry/publish for a gateway started from `configFile` (`tessera serve` hands it to createGateway):
 * the descriptors of the request are written out to a folder of their own (as a replica writes a version) and
 * go through checkAndPublish, as `tessera publish` sends them.
 */
export function adminPublisher(configFile: string, env: NodeJS.ProcessEnv = process.env): Publisher {
  return async (registry, request, logger) => {
    const bundles = request.descriptors.map((d) => candidateBundle(d, env));
    const files = bundles.map((b) => b.file);
    const meta = { by: request.by, ...(request.reason !== undefined && { reason: request.reason }), ...(request.allowBreaking !== undefined && { allowBreaking: request.allowBreaking }) };
    const stage = request.stage === undefined ? undefined : parseStageRule(request.stage, 'stage');
    const outcome = await checkAndPublish(configFile, registry, bundles.map((b) => b.bundle), files, meta, logger, stage);
    return {
      ok: outcome.published !== undefined,
      ...(outcome.published && { revision: outcome.published.revision, published: outcome.published.versions.map(versionSummary) }),
      check: outcome.report,
    };
  };
}

export async function rollback(configFile: string, options: { to?: string; by?: string; json?: boolean }, positionals: readonly string[]): Promise<CliResult> {
  const [subgraph, extra] = positionals;
  if (subgraph === undefined) throw new UsageError('name the subgraph to roll back: tessera rollback products');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (one subgraph at a time)`);
  return withRegistry(configFile, 'rollback', async (registry) => {
    const outcome = await registry.rollback(subgraph, who(options.by), options.to);
    if ('aborted' in outcome) {
      const { revision, aborted } = outcome;
      if (options.json) print(JSON.stringify({ version: 1, ok: true, revision, aborted }, null, 2));
      else print(`tessera: staged rollout aborted (${Object.entries(aborted.subgraphs).map(([name, id]) => `${name} ${id}`).join(', ')}): every request gets the current version again, revision ${revision}`);
      return { code: 0 };
    }
    const { revision, version } = outcome;
    if (options.json) print(JSON.stringify({ version: 1, ok: true, revision, rolledBack: versionSummary(version) }, null, 2));
    else print(`tessera: ${subgraph} rolled back to ${version.rollbackOf} (recorded as ${version.id}), revision ${revision}`);
    return { code: 0 };
  });
}

export async function promote(configFile: string, options: { by?: string; json?: boolean }, positionals: readonly string[]): Promise<CliResult> {
  const [subgraph, extra] = positionals;
  if (subgraph === undefined) throw new UsageError('name the staged subgraph to promote: tessera promote products');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (one subgraph: its stage is promoted whole)`);
  return withRegistry(configFile, 'promote', async (registry) => {
    const { revision, promoted } = await registry.promote(subgraph, who(options.by));
    if (options.json) print(JSON.stringify({ version: 1, ok: true, revision, promoted }, null, 2));
    else print(`tessera: promoted ${Object.entries(promoted).map(([name, id]) => `${name} ${id}`).join(', ')}: every request gets it, revision ${revision}`);
    return { code: 0 };
  });
}

export async function list(configFile: string, options: { json?: boolean }, positionals: readonly string[]): Promise<CliResult> {
  const [subgraph, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (one subgraph, or none for all)`);
  return withRegistry(configFile, 'list', async (registry) => {
    const subgraphs = await registry.list(subgraph);
    if (subgraph !== undefined && subgraphs[0]!.versions.length === 0) {
      throw new ConfigError('CONFIG_INVALID', [`${registry.description}: no subgraph "${subgraph}" was ever published; \`tessera list\` shows the subgraphs`]);
    }
    if (options.json) {
      print(JSON.stringify({ version: 1, revision: await registry.revision(), subgraphs: subgraphs.map((s) => ({ ...s, versions: s.versions.map(versionSummary) })) }, null, 2));
      return { code: 0 };
    }
    if (subgraphs.length === 0) print(`tessera: ${registry.description}: nothing published yet`);
    for (const s of subgraphs) {
      print(`${s.subgraph} (current ${s.current ?? 'none'})`);
      for (const v of s.versions) {
        const extras = [v.reason !== null && `reason: ${v.reason}`, v.allowBreaking !== null && `breaking allowed: ${v.allowBreaking}`].filter(Boolean).join('; ');
        print(`  ${v.id === s.current ? '*' : ' '} ${v.id.padEnd(5)} ${v.at} by ${v.by}${extras ? `: ${extras}` : ''}`);
      }
    }
    return { code: 0 };
  });
}

export async function status(configFile: string, options: { json?: boolean }): Promise<CliResult> {
  return withRegistry(configFile, 'status', async (registry) => {
    const revision = await registry.revision();
    const current = await registry.current();
    const replicas = await registry.replicas();
    if (options.json) {
      print(JSON.stringify({ version: 1, registry: registry.description, revision, current, replicas: replicas.map((r) => ({ ...r, upToDate: r.revision === revision })) }, null, 2));
      return { code: 0 };
    }
    const set = Object.entries(current).sort(([a], [b]) => a.localeCompare(b));
    print(`tessera: ${registry.description}: revision ${revision}${set.length > 0 ? `: ${set.map(([name, id]) => `${name} ${id}`).join(', ')}` : ', nothing published yet'}`);
    print(`tessera: replicas that reported (${replicas.length}):`);
    for (const r of replicas) {
      const lag = r.revision === revision ? 'up to date' : `behind: serves revision ${r.revision} (its last reload failed, or it has not polled yet: see its log)`;
      const served = Object.entries(r.subgraphs).map(([name, id]) => `${name} ${id}`).join(', ');
      print(`  - ${r.id} on ${r.host} pid ${r.pid}: schema ${r.version}, revision ${r.revision}, ${lag}${served ? `; ${served}` : ''}`);
    }
    return { code: 0 };
  });
}
