/**
 * The Redis registry (`registry.url` in gateway.yaml): descriptors published
 * with `tessera publish` live in Redis, shared by every replica.
 *
 * Stored form, every key under `registry.prefix`:
 * - `rev`: the set revision, incremented by every publish and rollback.
 * - `current`: a hash, subgraph -> its current version id (`v7`).
 * - `seq:<subgraph>`: the last version number given to that subgraph.
 * - `history:<subgraph>`: a list of its version ids, newest first, at most `registry.history`.
 * - `version:<subgraph>`: a hash, version id -> the version (`PublishedVersion`, JSON): the
 *   descriptor file's text, the text of every local file it names (schema `source`, gRPC `protos`
 *   and the .proto files beside them, federation `sdl`) by path relative to the descriptor, and
 *   who/when/why. A replica needs no shared disk: a version is written out to a folder of its own
 *   under the OS temp folder (the same relative paths) and read from there as a descriptor file.
 * - `replica:<id>`: each listening gateway's heartbeat (host, pid, schema version, the set revision
 *   and subgraph versions it serves), expiring after three `registry.poll` periods.
 * - `stage`: the staged rollout under way, if any (`StagedRollout`, JSON): versions published with
 *   `--stage`, stored and in their history but not current, and the rule that sends requests to them.
 *   One stage at a time; `tessera promote` makes its versions current, `tessera rollback` aborts it.
 * - the pub/sub channel `changed`: a publish, stage, promote or rollback announces the new revision on it.
 *
 * A replica reloads when it hears the channel, and also compares `rev` with the revision it last
 * loaded every `registry.poll`, so a missed message is caught up.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Redis } from 'ioredis';
import type { Descriptor } from '../config/descriptor.js';
import { displayPath, loadDescriptorFile } from '../config/load.js';
import { ConfigError, isConfigError } from '../errors.js';
import { ioredis } from '../load-on-use.js';
import type { Logger } from '../logger.js';
import type { Registry } from './index.js';

const NOTHING_PUBLISHED = 'nothing is published yet';

/** The error of `load()` on a registry where nothing was ever published (a gateway may start on it: gateway.ts). */
export function isEmptyRegistry(error: unknown): boolean {
  return isConfigError(error) && error.code === 'SOURCE_LOAD_FAILED' && error.problems.some((p) => p.includes(NOTHING_PUBLISHED));
}

/** The `tessera check` summary recorded with a publish. */
export interface CheckSummary {
  breaking: number;
  dangerous: number;
  safe: number;
  brokenOperations: number;
}

/** One version of one subgraph, as stored. */
export interface PublishedVersion {
  id: string;
  subgraph: string;
  /** The descriptor file: its name and text (${VAR}s are read on each replica when it loads). */
  descriptor: { file: string; text: string };
  /** Local files the descriptor names, by path relative to its folder (`/`-separated, may start with `../`). */
  files: Record<string, string>;
  by: string;
  at: string;
  reason: string | null;
  check: CheckSummary | null;
  /** Why a breaking change was let through (`--allow-breaking REASON`). */
  allowBreaking: string | null;
  /** Set on a rollback's entry: the version whose content it restored. */
  rollbackOf: string | null;
}

/** Which requests a staged version serves: a share of consumers (sticky by credential), or requests with a header. */
export type StageRule = { share: number } | { header: string };

/** A staged rollout (`tessera publish --stage`): the staged versions, by subgraph, and their rule. */
export interface StagedRollout {
  subgraphs: Record<string, string>;
  rule: StageRule;
  by: string;
  at: string;
}

/** `--stage 10%` or `--stage header:x-canary`, read; a ConfigError naming what is expected otherwise. */
export function parseStageRule(text: string, where: string): StageRule {
  const share = /^(\d{1,3}(?:\.\d+)?)%$/.exec(text.trim());
  if (share) {
    const value = Number(share[1]);
    if (value > 0 && value < 100) return { share: value };
  }
  const header = /^header:([A-Za-z0-9!#$%&'*+.^_`|~-]+)$/.exec(text.trim());
  if (header) return { header: header[1]!.toLowerCase() };
  throw new ConfigError('CONFIG_INVALID', [`${where}: "${text}": expected a share of traffic above 0% and below 100% (10%) or a request header (header:x-canary)`]);
}

/** How a rule reads in log lines and listings. */
export function stageRuleText(rule: StageRule): string {
  return 'share' in rule ? `${rule.share}% of consumers` : `requests with header ${rule.header}`;
}

/** What a publish records about itself. */
export interface PublishMeta {
  by: string;
  reason?: string;
  check?: CheckSummary | null;
  allowBreaking?: string;
}

/** A descriptor file read for publishing: its subgraph and what is stored. */
export interface DescriptorBundle {
  subgraph: string;
  descriptor: { file: string; text: string };
  files: Record<string, string>;
}

export interface ReplicaReport {
  id: string;
  host: string;
  pid: number;
  /** The schema version it serves (12 hex digits). */
  version: string;
  /** The set revision of what it serves. */
  revision: number;
  /** Subgraph -> version id it serves. */
  subgraphs: Record<string, string>;
  at: string;
}

export interface RedisRegistryOptions {
  url: string;
  prefix: string;
  history: number;
  pollMs: number;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** What this gateway serves, for its heartbeat (written while watching). */
  serving?: () => { id: string; version: string; descriptors: readonly Descriptor[] } | undefined;
}

/** The Redis registry: the gateway's `Registry`, and the operations of `tessera publish / rollback / list / status`. */
export interface RedisRegistry extends Registry {
  /** The current set revision (0: nothing published yet). */
  revision(): Promise<number>;
  /** Subgraph -> current version id. */
  current(): Promise<Record<string, string>>;
  /** Stores each bundle as a new version of its subgraph and makes it current, in one revision; announces it unless `announce` is false (then replicas find it at their next poll). */
  publish(bundles: readonly DescriptorBundle[], meta: PublishMeta, options?: { announce?: boolean; stage?: StageRule }): Promise<{ revision: number; versions: PublishedVersion[] }>;
  /** The staged rollout under way, if any. */
  stage(): Promise<StagedRollout | undefined>;
  /**
   * The set the staged rollout serves (the current set with its staged versions in their place) and its rule;
   * undefined when no stage is under way. The gateway serves it beside the current set.
   */
  loadStage(): Promise<{ descriptors: Descriptor[]; rule: StageRule; stage: StagedRollout } | undefined>;
  /** Makes the staged versions current (one revision) and ends the stage; a ConfigError when none is staged for `subgraph`. */
  promote(subgraph: string, by: string): Promise<{ revision: number; promoted: Record<string, string> }>;
  /** Makes `to` (default: the version before the current one) current again, recorded as a new version. */
  rollback(subgraph: string, by: string, to?: string): Promise<{ revision: number; version: PublishedVersion } | { revision: number; aborted: StagedRollout }>;
  /** Every subgraph's versions, newest first, with the current one's id. */
  list(subgraph?: string): Promise<Array<{ subgraph: string; current: string | null; versions: PublishedVersion[] }>>;
  /** The replicas whose heartbeat has not expired. */
  replicas(): Promise<ReplicaReport[]>;
  close(): Promise<void>;
}

/** A version without its stored texts (the file names only), for listings and --json. */
export function versionSummary(v: PublishedVersion): Omit<PublishedVersion, 'descriptor' | 'files'> & { descriptorFile: string; files: string[] } {
  const { descriptor, files, ...rest } = v;
  return { ...rest, descriptorFile: descriptor.file, files: Object.keys(files) };
}

/** The text of the local files a descriptor names, by path relative to its folder; .proto files beside a named one come too (imports). */
export function bundleDescriptor(file: string, env: NodeJS.ProcessEnv): DescriptorBundle {
  const descriptor = loadDescriptorFile(resolve(file), env);
  const named: string[] = [];
  const local = (p: string | undefined): p is string => typeof p === 'string' && !/^https?:\/\//i.test(p);
  if (descriptor.kind === 'federation') {
    if (local(descriptor.sdl)) named.push(resolve(descriptor.dir, descriptor.sdl));
  } else if (local(descriptor.source)) named.push(resolve(descriptor.dir, descriptor.source));
  if (descriptor.kind === 'grpc') {
    for (const proto of descriptor.protos) named.push(resolve(descriptor.dir, proto));
    for (const proto of [...named]) if (proto.endsWith('.proto')) named.push(...protoFiles(dirname(proto), 0));
  }
  const files: Record<string, string> = {};
  for (const path of new Set(named)) {
    if (!existsSync(path)) throw new ConfigError('CONFIG_INVALID', [`${displayPath(resolve(file))}: names ${displayPath(path)}, which does not exist; nothing was published`]);
    files[relative(descriptor.dir, path).split(sep).join('/')] = readFileSync(path, 'utf8');
  }
  return { subgraph: descriptor.name, descriptor: { file: basename(file), text: readFileSync(file, 'utf8') }, files };
}

function protoFiles(folder: string, depth: number): string[] {
  if (depth > 4) return [];
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const full = join(folder, entry.name);
    if (entry.isDirectory()) return protoFiles(full, depth + 1);
    return entry.isFile() && entry.name.endsWith('.proto') ? [full] : [];
  });
}

/** POST /admin/registry/publish's body, checked (server/admin.ts): the descriptors as `tessera publish` would send them. */
export interface PublishRequest {
  /** Each descriptor file (its name and text) and the local files it names, by path relative to it. */
  descriptors: Array<{ file: string; text: string; files: Record<string, string> }>;
  by: string;
  reason?: string;
  allowBreaking?: string;
  /** As --stage (`10%`, `header:x-canary`). */
  stage?: string;
}

/**
 * Checks and publishes a request as `tessera publish` does (cli/registry.ts's adminPublisher, handed to the gateway
 * by `tessera serve`): `ok` false when the check refused it (breaking changes without allowBreaking).
 */
export type Publisher = (registry: RedisRegistry, request: PublishRequest, logger: Logger) => Promise<{ ok: boolean } & Record<string, unknown>>;

/**
 * A descriptor sent to the admin API, written out to a folder of its own under the OS temp folder as a version is
 * (so it is read, checked and bundled like a file given to `tessera publish`); returns the descriptor file's path.
 */
export function writeCandidate(descriptor: { file: string; text: string }, files: Record<string, string>): string {
  if (!/^[\w.-]+\.ya?ml$/.test(descriptor.file)) throw new ConfigError('CONFIG_INVALID', [`descriptors: file "${descriptor.file}": expected a file name ending in .yaml or .yml, without folders`]);
  const id = createHash('sha256').update(JSON.stringify([descriptor, files])).digest('hex').slice(0, 12);
  return materialise('candidate:', { id, subgraph: 'candidate', descriptor, files, by: '', at: '', reason: null, check: null, allowBreaking: null, rollbackOf: null });
}

/**
 * Writes a version out to a folder of its own (once; a folder already there is reused) and returns
 * its descriptor file's path. Files named with `../` land above the descriptor: it is written that
 * many folders deep.
 */
function materialise(prefix: string, version: PublishedVersion): string {
  const hash = createHash('sha256').update(prefix).update('\0').update(JSON.stringify([version.descriptor, version.files])).digest('hex').slice(0, 16);
  const root = join(tmpdir(), 'tessera-registry', `${version.subgraph.replace(/[^\w.-]/g, '_')}@${version.id}-${hash}`);
  const depth = Math.max(0, ...Object.keys(version.files).map((p) => p.split('/').findIndex((part) => part !== '..')));
  const dir = join(root, ...Array.from({ length: depth }, (_, i) => `_${i}`));
  const descriptorFile = join(dir, version.descriptor.file);
  if (existsSync(descriptorFile)) return descriptorFile;
  // Written beside, then renamed: a replica reading it meanwhile never sees half a version.
  const staging = `${root}.${process.pid}.${Date.now()}`;
  const stagedDir = join(staging, relative(root, dir));
  for (const [path, text] of Object.entries(version.files)) {
    const target = resolve(stagedDir, path);
    if (!target.startsWith(staging + sep)) throw new ConfigError('CONFIG_INVALID', [`registry: ${version.subgraph} ${version.id}: file ${path} lies outside its folder; publish it again`]);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  mkdirSync(stagedDir, { recursive: true });
  writeFileSync(join(stagedDir, version.descriptor.file), version.descriptor.text);
  try {
    renameSync(staging, root);
  } catch (error) {
    // Another gateway of this host wrote it first: theirs is the same content.
    if (!existsSync(descriptorFile)) throw error;
  }
  return descriptorFile;
}

export function redisRegistry(options: RedisRegistryOptions): RedisRegistry {
  const { url, prefix, history, pollMs, env, logger } = options;
  const where = `Redis registry ${redactPassword(url)} (prefix ${prefix})`;
  const key = (name: string): string => `${prefix}${name}`;
  const channel = key('changed');
  let client: Redis | undefined;
  const redis = (): Redis => {
    if (!client) {
      // ioredis is loaded here, on first use (load-on-use.ts).
      const { Redis: Client } = ioredis();
      client = new Client(url, { lazyConnect: false, maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: true });
      client.on('error', (error: Error) => logger.debug({ err: error, registry: where }, 'registry Redis connection error'));
    }
    return client;
  };
  /** The version ids and set revision each loaded descriptor came from (for heartbeats). */
  const origins = new WeakMap<Descriptor, { version: string; revision: number }>();
  let loadedRevision = -1;

  const unreachable = (error: unknown): ConfigError =>
    new ConfigError('SOURCE_LOAD_FAILED', [`${where}: ${(error as Error).message}; check that Redis runs at registry.url and that this host can reach it`]);

  const readVersion = async (subgraph: string, id: string): Promise<PublishedVersion> => {
    const text = await redis().hget(key(`version:${subgraph}`), id);
    if (text === null) throw new ConfigError('SOURCE_LOAD_FAILED', [`${where}: subgraph "${subgraph}" has no version ${id} (deleted from its history?); publish it again`]);
    return JSON.parse(text) as PublishedVersion;
  };

  const newVersion = async (subgraph: string, fields: Omit<PublishedVersion, 'id' | 'subgraph' | 'at'>): Promise<PublishedVersion> => {
    const n = await redis().incr(key(`seq:${subgraph}`));
    return { id: `v${n}`, subgraph, at: new Date().toISOString(), ...fields };
  };

  /** Makes the versions current (or, with `stage`, staged) in one revision, trims each history, and announces it. */
  const commit = async (versions: readonly PublishedVersion[], announce: boolean, stage?: StagedRollout): Promise<number> => {
    const multi = redis().multi();
    for (const v of versions) {
      multi.hset(key(`version:${v.subgraph}`), v.id, JSON.stringify(v));
      multi.lpush(key(`history:${v.subgraph}`), v.id);
      if (!stage) multi.hset(key('current'), v.subgraph, v.id);
    }
    if (stage) multi.set(key('stage'), JSON.stringify(stage));
    multi.incr(key('rev'));
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw unreachable(failed?.[0] ?? new Error('the transaction was aborted'));
    const revision = Number(results.at(-1)![1]);
    for (const v of versions) {
      const dropped = await redis().lrange(key(`history:${v.subgraph}`), history, -1);
      if (dropped.length > 0) await redis().multi().hdel(key(`version:${v.subgraph}`), ...dropped).ltrim(key(`history:${v.subgraph}`), 0, history - 1).exec();
    }
    if (announce) await redis().publish(channel, String(revision));
    return revision;
  };

    const heartbeat = async (): Promise<void> => {
      const serving = options.serving?.();
      if (!serving) return;
      const subgraphs: Record<string, string> = {};
      let revision = 0;
      for (const d of serving.descriptors) {
        const origin = origins.get(d);
        if (!origin) continue;
        subgraphs[d.name] = origin.version;
        revision = origin.revision;
      }
      const report: ReplicaReport = { id: serving.id, host: hostname(), pid: process.pid, version: serving.version, revision, subgraphs, at: new Date().toISOString() };
      await redis().set(key(`replica:${serving.id}`), JSON.stringify(report), 'PX', Math.max(pollMs * 3, 1000));
    };
  let watching = false;

  const readStage = async (): Promise<StagedRollout | undefined> => {
    const text = await redis().get(key('stage'));
    return text === null ? undefined : (JSON.parse(text) as StagedRollout);
  };
  /** Ends the stage and announces a new revision (in one transaction with `also`, e.g. making its versions current). */
  const endStage = async (also: (multi: ReturnType<Redis['multi']>) => void): Promise<number> => {
    const multi = redis().multi().del(key('stage'));
    also(multi);
    const results = await multi.incr(key('rev')).exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw unreachable(failed?.[0] ?? new Error('the transaction was aborted'));
    const revision = Number(results.at(-1)![1]);
    await redis().publish(channel, String(revision));
    return revision;
  };

  const registry: RedisRegistry = {
    description: where,
    async load() {
      let revision: number;
      let current: Record<string, string>;
      try {
        const results = await redis().multi().get(key('rev')).hgetall(key('current')).exec();
        if (!results) throw new Error('the transaction was aborted');
        revision = Number(results[0]![1] ?? 0);
        current = (results[1]![1] ?? {}) as Record<string, string>;
      } catch (error) {
        throw error instanceof ConfigError ? error : unreachable(error);
      }
      loadedRevision = revision;
      const names = Object.keys(current).sort();
      if (names.length === 0) {
        throw new ConfigError('SOURCE_LOAD_FAILED', [`${where}: ${NOTHING_PUBLISHED}; publish the descriptors with \`tessera publish DESCRIPTOR...\``]);
      }
      const problems: string[] = [];
      const descriptors: Descriptor[] = [];
      for (const name of names) {
        try {
          const version = await readVersion(name, current[name]!);
          const descriptor = loadDescriptorFile(materialise(prefix, version), env);
          origins.set(descriptor, { version: version.id, revision });
          descriptors.push(descriptor);
        } catch (error) {
          if (error instanceof ConfigError) problems.push(...error.problems.map((p) => `registry subgraph "${name}" ${current[name]}: ${p}`));
          else problems.push(`registry subgraph "${name}" ${current[name]}: ${(error as Error).message}`);
        }
      }
      if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
      return descriptors;
    },
    watch(onChange) {
      watching = true;
      const subscriber = redis().duplicate();
      subscriber.on('error', (error: Error) => logger.debug({ err: error, registry: where }, 'registry pub/sub connection error'));
      subscriber.on('message', (_channel: string, message: string) => {
        if (Number(message) !== loadedRevision) onChange(`published: revision ${message}`);
      });
      let warned = false;
      const tick = async (): Promise<void> => {
        try {
          const revision = Number((await redis().get(key('rev'))) ?? 0);
          if (warned) logger.info({ registry: where }, 'registry Redis answers again');
          warned = false;
          if (revision !== loadedRevision) onChange(`poll: revision ${revision}, loaded ${loadedRevision}`);
          await heartbeat();
        } catch (error) {
          if (!warned) logger.warn({ err: error, registry: where }, 'registry Redis does not answer; the running schema keeps serving and publishes are picked up once it does');
          warned = true;
        }
      };
      // The first comparison once subscribed: a publish between the last load and the subscription is caught there.
      subscriber.subscribe(channel).then(
        () => void tick(),
        (error: unknown) => {
          logger.warn({ err: error, registry: where }, `registry pub/sub not subscribed; publishes are picked up by the poll (every ${pollMs} ms) only`);
          void tick();
        },
      );
      const timer = setInterval(() => void tick(), pollMs);
      timer.unref();
      return () => {
        watching = false;
        clearInterval(timer);
        subscriber.disconnect();
        const serving = options.serving?.();
        if (serving) void redis().del(key(`replica:${serving.id}`)).catch(() => undefined);
      };
    },
    reloaded() {
      if (watching) heartbeat().catch((error: unknown) => logger.debug({ err: error, registry: where }, 'registry heartbeat not written'));
    },
    async revision() {
      return Number((await redis().get(key('rev'))) ?? 0);
    },
    async current() {
      return redis().hgetall(key('current'));
    },
    async publish(bundles, meta, publishOptions = {}) {
      if (publishOptions.stage) {
        const under = await readStage();
        if (under) {
          const names = Object.entries(under.subgraphs).map(([name, id]) => `${name} ${id}`).join(', ');
          throw new ConfigError('CONFIG_INVALID', [`${where}: a staged rollout is under way (${names}, ${stageRuleText(under.rule)}): \`tessera promote\` or \`tessera rollback\` it first; nothing was published`]);
        }
        const current = await redis().hgetall(key('current'));
        const fresh = bundles.filter((b) => current[b.subgraph] === undefined).map((b) => b.subgraph);
        if (fresh.length > 0) throw new ConfigError('CONFIG_INVALID', [`${where}: ${fresh.join(', ')}: never published, so there is nothing to stage beside; publish without --stage first; nothing was published`]);
      }
      const versions: PublishedVersion[] = [];
      for (const bundle of bundles) {
        versions.push(
          await newVersion(bundle.subgraph, {
            descriptor: bundle.descriptor,
            files: bundle.files,
            by: meta.by,
            reason: meta.reason ?? null,
            check: meta.check ?? null,
            allowBreaking: meta.allowBreaking ?? null,
            rollbackOf: null,
          }),
        );
      }
      const stage: StagedRollout | undefined = publishOptions.stage && {
        subgraphs: Object.fromEntries(versions.map((v) => [v.subgraph, v.id])),
        rule: publishOptions.stage,
        by: meta.by,
        at: new Date().toISOString(),
      };
      const revision = await commit(versions, publishOptions.announce ?? true, stage);
      return { revision, versions };
    },
    stage: readStage,
    async loadStage() {
      const stage = await readStage();
      if (!stage) return undefined;
      const problems: string[] = [];
      const descriptors: Descriptor[] = [];
      for (const [name, id] of Object.entries(stage.subgraphs)) {
        try {
          descriptors.push(loadDescriptorFile(materialise(prefix, await readVersion(name, id)), env));
        } catch (error) {
          if (error instanceof ConfigError) problems.push(...error.problems.map((p) => `registry staged subgraph "${name}" ${id}: ${p}`));
          else problems.push(`registry staged subgraph "${name}" ${id}: ${(error as Error).message}`);
        }
      }
      if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
      // The current set, its staged subgraphs replaced.
      const current = (await registry.load()).filter((d) => stage.subgraphs[d.name] === undefined);
      return { descriptors: [...current, ...descriptors], rule: stage.rule, stage };
    },
    async promote(subgraph, by) {
      const stage = await readStage();
      if (!stage || stage.subgraphs[subgraph] === undefined) {
        const under = stage ? ` (the stage under way is ${Object.keys(stage.subgraphs).join(', ')})` : '';
        throw new ConfigError('CONFIG_INVALID', [`${where}: no staged version of "${subgraph}" to promote${under}; \`tessera publish --stage\` stages one`]);
      }
      logger.info({ registry: where, subgraphs: stage.subgraphs, by }, 'registry: stage promoted');
      const revision = await endStage((multi) => {
        for (const [name, id] of Object.entries(stage.subgraphs)) multi.hset(key('current'), name, id);
      });
      return { revision, promoted: stage.subgraphs };
    },
    async rollback(subgraph, by, to) {
      // A stage under way for this subgraph: the rollback aborts it (its versions stay in the history, never current).
      const stage = to === undefined ? await readStage() : undefined;
      if (stage && stage.subgraphs[subgraph] !== undefined) {
        logger.info({ registry: where, subgraphs: stage.subgraphs, by }, 'registry: stage aborted');
        return { revision: await endStage(() => undefined), aborted: stage };
      }
      const ids = await redis().lrange(key(`history:${subgraph}`), 0, -1);
      if (ids.length === 0) throw new ConfigError('CONFIG_INVALID', [`${where}: no subgraph "${subgraph}" was ever published; \`tessera list\` shows the subgraphs`]);
      const currentId = await redis().hget(key('current'), subgraph);
      let targetId = to;
      if (targetId === undefined) {
        // The version before the current one: what ran before the last publish or rollback.
        const at = ids.indexOf(currentId ?? '');
        targetId = ids[at + 1];
        if (targetId === undefined) throw new ConfigError('CONFIG_INVALID', [`${where}: subgraph "${subgraph}" has no version before ${currentId}; nothing to roll back to`]);
      } else if (!ids.includes(targetId)) {
        throw new ConfigError('CONFIG_INVALID', [`${where}: subgraph "${subgraph}" has no version ${targetId} in its history (${ids.join(', ')}); \`tessera list ${subgraph}\` shows them`]);
      }
      if (targetId === currentId) throw new ConfigError('CONFIG_INVALID', [`${where}: ${targetId} is already the current version of "${subgraph}"`]);
      const target = await readVersion(subgraph, targetId);
      const version = await newVersion(subgraph, {
        descriptor: target.descriptor,
        files: target.files,
        by,
        reason: `rollback to ${target.id} by ${by}`,
        check: null,
        allowBreaking: null,
        rollbackOf: target.id,
      });
      const revision = await commit([version], true);
      return { revision, version };
    },
    async list(subgraph) {
      const current = await redis().hgetall(key('current'));
      const names = subgraph !== undefined ? [subgraph] : Object.keys(current).sort();
      const out = [];
      for (const name of names) {
        const ids = await redis().lrange(key(`history:${name}`), 0, -1);
        const stored = ids.length > 0 ? await redis().hmget(key(`version:${name}`), ...ids) : [];
        const versions = stored.filter((s): s is string => s !== null).map((s) => JSON.parse(s) as PublishedVersion);
        out.push({ subgraph: name, current: current[name] ?? null, versions });
      }
      return out;
    },
    async replicas() {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis().scan(cursor, 'MATCH', `${key('replica:')}*`, 'COUNT', 200);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      const values = keys.length > 0 ? await redis().mget(...keys) : [];
      return values
        .filter((v): v is string => v !== null)
        .map((v) => JSON.parse(v) as ReplicaReport)
        .sort((a, b) => a.id.localeCompare(b.id));
    },
    async close() {
      client?.disconnect();
      client = undefined;
    },
  };
  return registry;
}

function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis://(invalid url)';
  }
}
