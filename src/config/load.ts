/**
 * Reading gateway.yaml and descriptor files: parse, interpolate ${ENV},
 * validate, and report every problem with the file and the path inside it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { descriptorSchema, type Descriptor } from './descriptor.js';
import { gatewaySchema, type GatewayFileConfig } from './gateway.js';
import { interpolate, type MissingVariable } from './interpolate.js';

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

export function formatIssues(file: string, issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  const where = displayPath(file);
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${where}: ${formatPath([...issue.path, key])}: unknown key (check its spelling against the configuration reference)`);
    }
    return [`${where}: ${formatPath(issue.path)}: ${issue.message}`];
  });
}

/** Reads a YAML or JSON file into plain data; a syntax error names the line. */
export function readDataFile(file: string): unknown {
  if (!existsSync(file)) {
    throw new ConfigError('CONFIG_FILE_NOT_FOUND', [`${displayPath(file)}: file not found`]);
  }
  const text = readFileSync(file, 'utf8');
  try {
    if (extname(file) === '.json') return JSON.parse(text);
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ConfigError('CONFIG_PARSE_ERROR', [`${displayPath(file)}: cannot parse: ${message}`]);
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
  const result = gatewaySchema.safeParse(interpolated(file, data ?? {}, env));
  if (!result.success) throw new ConfigError('CONFIG_INVALID', formatIssues(file, result.error.issues));
  return result.data;
}

export function parseDescriptor(data: unknown, file: string, dir: string, env: NodeJS.ProcessEnv = process.env): Descriptor {
  const result = descriptorSchema.safeParse(interpolated(file, data, env));
  if (!result.success) throw new ConfigError('CONFIG_INVALID', formatIssues(file, result.error.issues));
  const d = result.data;
  const where = displayPath(file);
  const problems: string[] = [];
  if (d.url && d.upstreams) problems.push(`${where}: url: give either \`url\` or \`upstreams\`, not both`);
  const upstreams = d.upstreams ?? (d.url ? [{ url: d.url, weight: 1 }] : []);
  if (upstreams.length === 0) problems.push(`${where}: upstreams: expected \`url\` or at least one entry in \`upstreams\``);
  if (upstreams.length > 0 && upstreams.every((u) => u.weight === 0)) problems.push(`${where}: upstreams: every weight is 0, so no instance would get traffic`);
  for (const [type, entity] of Object.entries(d.entities)) {
    if (entity.field && !entity.argument) problems.push(`${where}: entities.${type}.argument: needed with \`field\` (the argument that takes the key)`);
  }
  for (const [i, u] of upstreams.entries()) {
    try {
      new URL(u.url);
    } catch {
      problems.push(`${where}: ${d.upstreams ? `upstreams[${i}].url` : 'url'}: not a valid URL: ${JSON.stringify(u.url)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return { ...d, file, dir, upstreams } as Descriptor;
}

/** Every descriptor file under a folder, in a stable order (node_modules and dot-folders skipped). */
export function findDescriptorFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory() && depth < 4) walk(full, depth + 1);
      else if (entry.isFile() && DESCRIPTOR_FILE.test(entry.name)) found.push(full);
    }
  };
  walk(folder, 0);
  return found;
}

export function loadDescriptorFile(file: string, env: NodeJS.ProcessEnv = process.env): Descriptor {
  return parseDescriptor(readDataFile(file), file, dirname(file), env);
}

/** Loads every descriptor named by `descriptors:` and checks names are unique. All problems are reported together. */
export function loadDescriptors(locations: string | string[], baseDir: string, configFile: string, env: NodeJS.ProcessEnv = process.env): Descriptor[] {
  const list = Array.isArray(locations) ? locations : [locations];
  const problems: string[] = [];
  const descriptors: Descriptor[] = [];
  for (const [i, location] of list.entries()) {
    const path = resolve(baseDir, location);
    if (!existsSync(path)) {
      problems.push(`${displayPath(configFile)}: descriptors${Array.isArray(locations) ? `[${i}]` : ''}: ${displayPath(path)} does not exist`);
      continue;
    }
    const files = statSync(path).isDirectory() ? findDescriptorFiles(path) : [path];
    if (files.length === 0) {
      problems.push(`${displayPath(configFile)}: descriptors: no descriptor files (subgraph.yaml or *.subgraph.yaml) under ${displayPath(path)}`);
    }
    for (const file of files) {
      try {
        descriptors.push(loadDescriptorFile(file, env));
      } catch (error) {
        if (error instanceof ConfigError) problems.push(...error.problems);
        else throw error;
      }
    }
  }
  problems.push(...duplicateNames(descriptors));
  if (problems.length > 0) throw new ConfigError(problems.every((p) => p.includes('is also used by')) ? 'DUPLICATE_SUBGRAPH' : 'CONFIG_INVALID', problems);
  return descriptors;
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
  return { gateway, file: absolute, dir, descriptors: loadDescriptors(gateway.descriptors, dir, absolute, env) };
}

export { displayPath };
