/**
 * `tessera check [DESCRIPTOR...]`: loads and composes the candidate (the
 * configuration, with each descriptor file given replacing the configured
 * one of the same subgraph name, or added), prints every problem (exit 1),
 * then compares the unified graph and each channel with what runs (a
 * running gateway, or the schema snapshots) and lists every change as
 * breaking, dangerous or safe, and the client operations the candidate would
 * break (exit 1 if anything breaks). Without --json it also prints a
 * warning for each subgraph whose upstream does not answer, and for REST
 * subgraphs the proposed entity keys, the N+1 joins, the header parameters
 * the gateway never sends and what the mapping changed from the document.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { CurrentVersion } from '../checks/current.js';
import { readOperations } from '../checks/operations.js';
import { buildReport, type CheckReport } from '../checks/report.js';
import { registryVersion } from '../checks/registry.js';
import { gatewayVersion } from '../checks/running-gateway.js';
import { snapshotVersion } from '../checks/snapshot.js';
import type { ServedSchemas } from '../checks/current.js';
import type { ResolvedChannel } from '../config/channel.js';
import type { SchemaChange } from '../compose/schema-diff.js';
import { displayPath, loadGatewayFile } from '../config/load.js';
import { isConfigError } from '../errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { createLogger, type Logger } from '../logger.js';
import type { RedisRegistry } from '../registry/redis.js';
import { probeSubgraph } from '../transport/probe.js';
import { knownSdlOf } from '../sources/federation/supergraph.js';
import { print, UsageError, withGateway, type CliResult } from './command.js';

export interface CheckOptions {
  against?: string;
  header?: string[];
  operations?: string;
  json?: boolean;
}

/** The upstreams that do not answer, and the REST mapping's advice: lines for people, printed before the comparison. */
async function sourceAdvice(gateway: Gateway): Promise<void> {
  const types = Object.keys(gateway.schema.getTypeMap()).filter((t) => !t.startsWith('__')).length;
  print(`tessera: ok: ${gateway.descriptors.length} subgraphs (${gateway.descriptors.map((d) => d.name).join(', ')}), ${types} types, channels: ${gateway.channels.map((c) => `${c.channel.name} ${c.channel.path}`).join(', ')}`);
  if (gateway.missing.length > 0) print(`tessera: warning: optional subgraphs not loaded: ${gateway.missing.join(', ')}`);
  // Upstreams whose schema comes from a file were not contacted while loading: probe them (introspected ones answered).
  const probed = gateway.descriptors.filter((d) => !gateway.missing.includes(d.name) && !(d.kind === 'graphql' && !d.source) && !(d.kind === 'federation' && !d.sdl && knownSdlOf(d) === undefined));
  const silent = await Promise.all(probed.map((d) => probeSubgraph(d.upstreams.map((u) => u.url), 1_000)));
  probed.forEach((descriptor, i) => {
    const reasons = silent[i];
    if (!reasons) return;
    const consequence = descriptor.required && gateway.config.server.readiness !== 'loaded' ? '; /readyz would not report ready until it does' : '';
    print(`tessera: warning: ${displayPath(descriptor.file)}: subgraph "${descriptor.name}": no upstream answered (${reasons.join('; ')})${consequence}`);
  });
  // REST subgraphs: proposed entity keys and bulk endpoints, the joins that cost one call per parent (N+1),
  // and header parameters left out of the schema because the gateway would never send them.
  for (const descriptor of gateway.descriptors) {
    if (descriptor.kind !== 'openapi' || gateway.missing.includes(descriptor.name)) continue;
    const { inspectOpenapiSource } = await import('../sources/openapi/load.js');
    const { headerReportLines, joinReportLines } = await import('../sources/openapi/report.js');
    const report = await inspectOpenapiSource(descriptor, { mode: gateway.config.mode, logger: createLogger('silent') });
    const lines = [
      ...joinReportLines(descriptor, report.joins),
      ...headerReportLines(descriptor, report.refusedHeaders),
      ...report.warnings.map((text) => ({ warning: true, text: `${descriptor.name} (openapi): ${text}` })),
    ];
    for (const line of lines) print(`tessera: ${line.warning ? 'warning: ' : ''}${line.text}`);
  }
}

/** `--header 'Name: value'` as a header record; a malformed one is wrong usage. */
function parseHeaders(given: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const header of given) {
    const colon = header.indexOf(':');
    const name = header.slice(0, colon).trim();
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header ${JSON.stringify(header)}: expected 'NAME: VALUE' (e.g. 'authorization: Bearer …')`);
    headers[name.toLowerCase()] = header.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * What `--against` names, checked before anything is loaded: a URL, or a
 * folder (its unified graph's file is named as in `schema.snapshot`, known
 * once gateway.yaml is read) or the unified snapshot file in one.
 */
function againstTarget(against: string | undefined, headers: Record<string, string>): ((unifiedFile: string) => CurrentVersion) | undefined {
  if (against === undefined) {
    if (Object.keys(headers).length > 0) throw new UsageError('--header goes with --against URL (the headers of its introspection requests)');
    return undefined;
  }
  if (/^https?:\/\//i.test(against)) {
    let url: URL;
    try {
      url = new URL(against);
    } catch {
      throw new UsageError(`--against ${against}: not a valid URL`);
    }
    return () => gatewayVersion(url, headers);
  }
  if (Object.keys(headers).length > 0) throw new UsageError('--header goes with --against URL, not a snapshot folder');
  const path = resolve(against);
  if (!existsSync(path)) throw new UsageError(`--against ${against}: no such folder (give a running gateway's URL, http://…, or a snapshot folder)`);
  // A file is the unified graph's snapshot, with the channels' files beside it.
  return statSync(path).isDirectory() ? (unifiedFile) => snapshotVersion(path, unifiedFile) : () => snapshotVersion(dirname(path), basename(path));
}

/** "the unified graph and channels default, web", or "the unified graph and every channel" when `names` are all the schemas. */
function where(names: readonly string[], all: readonly string[]): string {
  if (names.length === all.length && names.length > 1) return 'the unified graph and every channel';
  const channels = names.filter((n) => n !== 'unified');
  const parts = [...(names.includes('unified') ? ['the unified graph'] : []), ...(channels.length > 0 ? [`channel${channels.length > 1 ? 's' : ''} ${channels.join(', ')}`] : [])];
  return parts.join(' and ');
}

/** The report for people: grouped by level, breaking first, each change once with the schemas it is in; a summary line last. */
export function printReport(report: CheckReport, description: string | undefined): void {
  for (const s of report.subgraphs) print(`tessera: candidate: ${displayPath(s.file)} ${s.change === 'replaced' ? 'replaces' : 'adds'} subgraph "${s.name}"`);
  const all = report.schemas.map((s) => s.name);
  const compared = report.schemas.filter((s) => s.compared).map((s) => s.name);
  if (description) {
    print(`tessera: compared with ${description}: ${where(compared, all)}`);
    const changes = new Map<string, { change: SchemaChange; in: string[] }>();
    for (const schema of report.schemas) {
      for (const change of schema.changes) {
        const key = `${change.level} ${change.type} ${change.path ?? ''} ${change.message}`;
        const seen = changes.get(key) ?? { change, in: [] };
        seen.in.push(schema.name);
        changes.set(key, seen);
      }
    }
    for (const level of ['breaking', 'dangerous', 'safe'] as const) {
      const found = [...changes.values()].filter((c) => c.change.level === level);
      if (found.length === 0) continue;
      print(`tessera: ${level} changes (${found.length}):`);
      for (const { change, in: names } of found) print(`  - ${level}: ${change.path ?? change.type}: ${change.message} (in ${where(names, all)})`);
    }
    if (changes.size === 0) print('tessera: no change from what runs');
  }
  const { checked, broken } = report.operations;
  if (checked > 0) {
    const now = broken.filter((o) => !o.alreadyBroken);
    const before = broken.filter((o) => o.alreadyBroken);
    print(`tessera: operations: ${now.length} of ${checked} would break`);
    for (const o of now) print(`  - ${o.file}: ${o.name}${o.id ? ` (id ${o.id})` : ''}: ${o.errors.join(' ')}`);
    if (before.length > 0) {
      print(`tessera: warning: ${before.length} operation${before.length > 1 ? 's are' : ' is'} already invalid on what runs (not counted):`);
      for (const o of before) print(`  - ${o.file}: ${o.name}${o.id ? ` (id ${o.id})` : ''}: ${o.errors.join(' ')}`);
    }
  }
  for (const note of report.notes) print(`tessera: note: ${note}`);
  const { breaking, dangerous, safe, brokenOperations } = report.summary;
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  // Nothing compared and no operation checked: the note above said what to pass, and there is nothing to sum up.
  if (!description && checked === 0) return;
  const against = description ? ` (compared with ${description})` : '';
  if (report.ok) print(`tessera: nothing breaks: ${count(dangerous, 'dangerous change')}, ${count(safe, 'safe change')}${checked > 0 ? `, ${count(checked, 'operation')} checked` : ''}${against}`);
  else print(`tessera: breaking: ${count(breaking, 'breaking change')}, ${count(brokenOperations, 'operation')} that would break${against}`);
}

/**
 * What runs according to the Redis registry: a gateway built (not listening) from the current version of every
 * published subgraph, read for `channels`; nothing when nothing is published yet (a note says so).
 */
export async function registryCurrent(
  configFile: string,
  registry: Pick<RedisRegistry, 'revision' | 'description'>,
  channels: readonly ResolvedChannel[],
  logger: Logger,
): Promise<{ served?: ServedSchemas; notes: string[] }> {
  const revision = await registry.revision();
  if (revision === 0) return { notes: ['the registry is empty: this is the first publish, nothing to compare with'] };
  const current = await createGateway({ configFile, logger });
  try {
    return { served: await registryVersion(current, registry.description, revision).read(channels), notes: [] };
  } finally {
    await current.close();
  }
}

export async function check(configFile: string, options: CheckOptions, descriptorFiles: readonly string[] = []): Promise<CliResult> {
  // Wrong usage first, before anything is loaded.
  for (const file of descriptorFiles) if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`${file}: no such descriptor file`);
  if (options.operations !== undefined && !existsSync(options.operations)) throw new UsageError(`--operations ${options.operations}: no such folder`);
  const headers = parseHeaders(options.header ?? []);
  const target = againstTarget(options.against, headers);
  try {
    return await withGateway(
      configFile,
      async (gateway) => {
        if (!options.json) await sourceAdvice(gateway);
        const channels = gateway.channels.map((c) => c.channel);
        let version = target?.(basename(gateway.config.schema.snapshot));
        let notes: string[] = [];
        let published: string[] | undefined;
        const { url, prefix, history, poll } = gateway.config.registry;
        if (!version && url !== undefined) {
          // With the Redis registry, what runs is its current set.
          const { redisRegistry } = await import('../registry/redis.js');
          const registry = redisRegistry({ url, prefix, history, pollMs: poll, env: process.env, logger: createLogger('silent') });
          try {
            const current = await registryCurrent(configFile, registry, channels, createLogger('warn', process.stderr));
            notes = current.notes;
            published = Object.keys(await registry.current());
            if (current.served) version = { read: async () => current.served! };
          } finally {
            await registry.close();
          }
        } else if (!version) {
          const snapshot = resolve(dirname(configFile), gateway.config.schema.snapshot);
          if (existsSync(snapshot)) version = snapshotVersion(dirname(snapshot), basename(snapshot));
          else {
            const advice = `nothing to compare with: no schema snapshot at ${displayPath(snapshot)} (schema.snapshot); pass --against URL (a running gateway) or --against DIR (a snapshot folder), or write one with \`tessera compose\``;
            if (descriptorFiles.length > 0) throw new UsageError(advice);
            notes = [advice];
          }
        }
        const served = await version?.read(channels);
        // The configured set (read again: the gateway holds the candidate) says whether a given file replaced a subgraph or added one.
        const configured = new Set(descriptorFiles.length > 0 ? (published ?? loadGatewayFile(configFile).descriptors.map((d) => d.name)) : []);
        const subgraphs = descriptorFiles.map((file) => {
          const { name } = gateway.descriptors.find((d) => d.file === resolve(file))!;
          return { name, file: resolve(file), change: configured.has(name) ? ('replaced' as const) : ('added' as const) };
        });
        const operations = readOperations(options.operations && resolve(options.operations), channels, dirname(configFile));
        const report = await buildReport({
          candidate: { unified: gateway.schema, channels: gateway.channels.map(({ channel, schema }) => ({ name: channel.name, path: channel.path, schema })) },
          served,
          operations,
          subgraphs,
          notes,
        });
        if (options.json) print(JSON.stringify(report, null, 2));
        else printReport(report, served?.description);
        return { code: report.ok ? 0 : 1 };
      },
      // With --json, stdout holds the report alone: the gateway's warnings go to stderr.
      { descriptorFiles, ...(options.json && { logger: createLogger('warn', process.stderr) }) },
    );
  } catch (error) {
    if (!options.json || !isConfigError(error)) throw error;
    // For CI: what stopped the check, in the same JSON object a report is.
    print(JSON.stringify({ version: 1, ok: false, problems: { code: error.code, messages: error.problems } }, null, 2));
    return { code: 1 };
  }
}
