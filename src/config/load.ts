/**
 * Reading gateway.yaml and descriptor files: parse, interpolate ${ENV},
 * validate, and report every problem with the file and the path inside it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ErrorCode } from '../errors.js';
import { descriptorSchema, type Descriptor } from './descriptor.js';
import { canaryProblems } from './canary.js';
import { gatewaySchema, type GatewayFileConfig } from './gateway.js';
import { interpolate, type MissingVariable } from './interpolate.js';
import { closestKey, knownKeys } from './suggest.js';

export interface LoadedGatewayConfig {
  gateway: GatewayFileConfig;
  /** Absolute path of gateway.yaml, or "<inline>". */
  file: string;
  dir: string;
  descriptors: Descriptor[];
}

const DESCRIPTOR_FILE = /^(?:.+\.)?subgraph\.(?:ya?ml|json)$/;

/** Where a problem is, as people read it: `subgraphs/a/subgraph.yaml: upstreams[0].url`. */
function displayPath(file: string): string {
  if (file.startsWith('<')) return file;
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

/**
 * One line per problem. An unknown key names the closest known key of that
 * object when one is a likely misspelling ("did you mean `timeout`?"), found
 * in `schema` at the key's place (`data` narrows a union to what the file gave).
 */
export function formatIssues(file: string, issues: ReadonlyArray<z.core.$ZodIssue>, schema?: z.ZodType, data?: unknown): string[] {
  const where = displayPath(file);
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeys(schema, data, issue.path) : [];
      return issue.keys.map((key) => {
        const suggestion = closestKey(key, known);
        const hint = suggestion ? `did you mean \`${suggestion}\`?` : 'check its spelling against the configuration reference';
        return `${where}: ${formatPath([...issue.path, key])}: unknown key (${hint})`;
      });
    }
    return [`${where}: ${formatPath(issue.path)}: ${issue.message}`];
  });
}

/** Widest part of a line an excerpt shows: a minified JSON file is one line. */
const EXCERPT_WIDTH = 100;

/**
 * The line at `line`:`column` (1-based) and the one before it, numbered, with
 * a caret under the column; indented to sit under a problem's bullet.
 */
export function excerpt(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const start = column > EXCERPT_WIDTH ? column - EXCERPT_WIDTH / 2 : 0;
  const shown = (n: number): string => {
    const full = (lines[n - 1] ?? '').replace(/\t/g, ' ');
    return `${start > 0 ? '…' : ''}${full.slice(start, start + EXCERPT_WIDTH)}${full.length > start + EXCERPT_WIDTH ? '…' : ''}`;
  };
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= line; n++) out.push(`${String(n).padStart(width)} | ${shown(n)}`);
  out.push(`${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1 - start + (start > 0 ? 1 : 0)))}^`);
  return out.map((l) => `\n      ${l.trimEnd()}`).join('');
}

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split(/\r?\n/);
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** Where a YAML or JSON syntax error is: the yaml library gives its line and column, JSON.parse an offset ("at position 12"). */
function parseErrorPosition(error: Error, text: string): { line: number; column: number } | undefined {
  const linePos = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
  if (linePos) return { line: linePos.line, column: linePos.col };
  const offset = /at position (\d+)/.exec(error.message)?.[1];
  return offset === undefined ? undefined : lineColumn(text, Number(offset));
}

/** Reads a YAML or JSON file into plain data; a syntax error names the line and column and shows them. */
export function readDataFile(file: string): unknown {
  if (!existsSync(file)) {
    throw new ConfigError('CONFIG_FILE_NOT_FOUND', [`${displayPath(file)}: file not found`]);
  }
  const text = readFileSync(file, 'utf8');
  try {
    if (extname(file) === '.json') return JSON.parse(text);
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    // The yaml library's first line ends with its own " at line 4, column 1:"; the position is given once, up front.
    const message = (error as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const at = parseErrorPosition(error as Error, text);
    const where = at ? `${displayPath(file)}:${at.line}:${at.column}` : displayPath(file);
    throw new ConfigError('CONFIG_PARSE_ERROR', [`${where}: cannot parse: ${message}${at ? excerpt(text, at.line, at.column) : ''}`]);
  }
}

function interpolated(file: string, data: unknown, env: NodeJS.ProcessEnv): unknown {
  const missing: MissingVariable[] = [];
  const out = interpolate(data, env, missing);
  if (missing.length > 0) {
    throw new ConfigError(
      'CONFIG_ENV_MISSING',
      missing.map((m) => `${displayPath(file)}: ${m.path}: environment variable ${m.variable} is not set (use \${${m.variable}:-default} for a default)`),
    );
  }
  return out;
}

export function parseGatewayConfig(data: unknown, file: string, env: NodeJS.ProcessEnv = process.env): GatewayFileConfig {
  const input = interpolated(file, data ?? {}, env);
  const result = gatewaySchema.safeParse(input);
  if (!result.success) throw new ConfigError('CONFIG_INVALID', formatIssues(file, result.error.issues, gatewaySchema, input));
  return result.data;
}

export function parseDescriptor(data: unknown, file: string, dir: string, env: NodeJS.ProcessEnv = process.env): Descriptor {
  const input = interpolated(file, data, env);
  const result = descriptorSchema.safeParse(input);
  if (!result.success) throw new ConfigError('CONFIG_INVALID', formatIssues(file, result.error.issues, descriptorSchema, input));
  const d = result.data;
  const where = displayPath(file);
  const problems: string[] = [];
  if (d.url && d.upstreams) problems.push(`${where}: url: give either \`url\` or \`upstreams\`, not both`);
  const upstreams = d.upstreams ?? (d.url ? [{ url: d.url, weight: 1 }] : []);
  if (upstreams.length === 0) problems.push(`${where}: upstreams: expected \`url\` or at least one entry in \`upstreams\``);
  if (upstreams.length > 0 && upstreams.every((u) => u.weight === 0)) problems.push(`${where}: upstreams: every weight is 0, so no instance would get traffic`);
  problems.push(...canaryProblems(where, d.canary, upstreams));
  for (const [type, entity] of Object.entries(d.entities)) {
    if (entity.field && !entity.argument) problems.push(`${where}: entities.${type}.argument: needed with \`field\` (the argument that takes the key)`);
  }
  for (const [i, u] of upstreams.entries()) {
    let url: URL;
    try {
      url = new URL(u.url);
    } catch {
      problems.push(`${where}: ${d.upstreams ? `upstreams[${i}].url` : 'url'}: not a valid URL: ${JSON.stringify(u.url)}`);
      continue;
    }
    if ('discovery' in u && u.discovery) problems.push(...discoveryProblems(d.kind, url, u.discovery, `${where}: upstreams[${i}]`));
  }
  if (d.shadow && d.shadow.url === undefined) {
    const versions = [...new Set(upstreams.flatMap((u) => (u.version === undefined ? [] : [u.version])))];
    if (!versions.includes(d.shadow.version!)) {
      problems.push(`${where}: shadow.version: no instance in \`upstreams\` has version ${JSON.stringify(d.shadow.version)} (${versions.length > 0 ? `versions: ${versions.join(', ')}` : 'no instance has a version'}); give one of them, or \`url\` for an instance of its own`);
    } else if (upstreams.every((u) => u.version === d.shadow!.version)) {
      problems.push(`${where}: shadow.version: every instance has version ${JSON.stringify(d.shadow.version)}, so there is no primary to compare it with`);
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return { ...d, file, dir, upstreams } as Descriptor;
}

/** What is wrong with an upstream entry's `discovery:` (transport/discovery.ts), each problem at `at`. */
function discoveryProblems(kind: string, url: URL, discovery: 'dns' | 'srv', at: string): string[] {
  const schemes = kind === 'grpc' ? ['grpc:', 'grpcs:', 'http:', 'https:'] : ['http:', 'https:'];
  if (!schemes.includes(url.protocol)) {
    const expected = kind === 'grpc' ? 'a grpc(s):// URL' : 'an http(s):// URL';
    const grpcTarget = kind === 'grpc' && (url.protocol === 'dns:' || url.protocol === 'unix:') ? ` (a grpc-js \`${url.protocol}\` target is resolved by grpc-js itself: give it without \`discovery\`)` : '';
    return [`${at}.discovery: needs ${expected} whose host is the name to resolve, got ${url.protocol}${grpcTarget}`];
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return [`${at}.url: ${host} is an address; \`discovery: ${discovery}\` needs a DNS name to resolve`];
  if (discovery === 'srv' && url.port !== '') return [`${at}.url: with \`discovery: srv\` the port comes from the SRV records; remove :${url.port}`];
  return [];
}

/**
 * Every descriptor file under a folder, in a stable order (node_modules and
 * dot-folders skipped). Symbolic links are followed: a Kubernetes ConfigMap
 * mounted as a folder shows each key as a link into its hidden `..data`
 * folder (deploy/kubernetes).
 */
export function findDescriptorFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      const kind = entry.isSymbolicLink() ? linkTarget(full) : entry;
      if (kind?.isDirectory() && depth < 4) walk(full, depth + 1);
      else if (kind?.isFile() && DESCRIPTOR_FILE.test(entry.name)) found.push(full);
    }
  };
  walk(folder, 0);
  return found;
}

/** What a symbolic link points at; undefined for a dangling link. */
function linkTarget(path: string): { isFile(): boolean; isDirectory(): boolean } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function loadDescriptorFile(file: string, env: NodeJS.ProcessEnv = process.env): Descriptor {
  return parseDescriptor(readDataFile(file), file, dirname(file), env);
}

/** Loads every descriptor named by `descriptors:` and checks names are unique. All problems are reported together. */
export function loadDescriptors(locations: string | string[], baseDir: string, configFile: string, env: NodeJS.ProcessEnv = process.env): Descriptor[] {
  const list = Array.isArray(locations) ? locations : [locations];
  const problems: string[] = [];
  // The error's code is its first problem's: a descriptor that does not parse is CONFIG_PARSE_ERROR, as gateway.yaml is.
  let code: ErrorCode | undefined;
  const report = (kind: ErrorCode, found: string[]): void => {
    if (found.length === 0) return;
    code ??= kind;
    problems.push(...found);
  };
  const descriptors: Descriptor[] = [];
  for (const [i, location] of list.entries()) {
    const path = resolve(baseDir, location);
    if (!existsSync(path)) {
      report('CONFIG_INVALID', [`${displayPath(configFile)}: descriptors${Array.isArray(locations) ? `[${i}]` : ''}: ${displayPath(path)} does not exist`]);
      continue;
    }
    const files = statSync(path).isDirectory() ? findDescriptorFiles(path) : [path];
    if (files.length === 0) {
      report('CONFIG_INVALID', [`${displayPath(configFile)}: descriptors: no descriptor files (subgraph.yaml or *.subgraph.yaml) under ${displayPath(path)}`]);
    }
    for (const file of files) {
      try {
        descriptors.push(loadDescriptorFile(file, env));
      } catch (error) {
        if (error instanceof ConfigError) report(error.code, error.problems);
        else throw error;
      }
    }
  }
  report('DUPLICATE_SUBGRAPH', duplicateNames(descriptors));
  if (code) throw new ConfigError(code, problems);
  return descriptors;
}

/**
 * `descriptors` with the descriptor files `files` put in: each replaces the
 * descriptor of the same subgraph name, or is added (`tessera check`'s
 * candidate). Every problem of every file is reported together.
 */
export function withDescriptorFiles(descriptors: readonly Descriptor[], files: readonly string[], env: NodeJS.ProcessEnv = process.env): Descriptor[] {
  const problems: string[] = [];
  let code: ErrorCode | undefined;
  const given: Descriptor[] = [];
  for (const file of files) {
    try {
      given.push(loadDescriptorFile(resolve(file), env));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      code ??= error.code;
      problems.push(...error.problems);
    }
  }
  const duplicates = duplicateNames(given);
  if (duplicates.length > 0) code ??= 'DUPLICATE_SUBGRAPH';
  problems.push(...duplicates);
  if (code) throw new ConfigError(code, problems);
  const names = new Set(given.map((d) => d.name));
  return [...descriptors.filter((d) => !names.has(d.name)), ...given];
}

export function duplicateNames(descriptors: Descriptor[]): string[] {
  const seen = new Map<string, Descriptor>();
  const problems: string[] = [];
  for (const d of descriptors) {
    const first = seen.get(d.name);
    if (first) problems.push(`${displayPath(d.file)}: name: "${d.name}" is also used by ${displayPath(first.file)}; subgraph names must be unique`);
    else seen.set(d.name, d);
  }
  return problems;
}

export function loadGatewayFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedGatewayConfig {
  const absolute = resolve(file);
  const gateway = parseGatewayConfig(readDataFile(absolute), absolute, env);
  const dir = dirname(absolute);
  return { gateway, file: absolute, dir, descriptors: loadConfiguredDescriptors(gateway, dir, absolute, env) };
}

/** The descriptors gateway.yaml's `descriptors:` names (read again at each reload); none with `registry.url` (they live in Redis). */
export function loadConfiguredDescriptors(gateway: GatewayFileConfig, dir: string, file: string, env: NodeJS.ProcessEnv = process.env): Descriptor[] {
  if (gateway.registry.url !== undefined) return [];
  // With a supergraph, the default descriptor folder may be absent (every subgraph can come from the supergraph).
  const none = gateway.supergraph !== undefined && gateway.descriptors === './subgraphs' && !existsSync(resolve(dir, gateway.descriptors));
  return none ? [] : loadDescriptors(gateway.descriptors, dir, file, env);
}

export { displayPath };
