/**
 * Client operations for `tessera check --operations DIR`: `.graphql` and
 * `.gql` files, and persisted-operation manifests (`.json`, in the formats a
 * channel's `persistedOperations.manifest` takes), found under DIR. A file
 * in a folder named after a channel (`web/Checkout.graphql`) belongs to that
 * channel; any other to the unified graph. Fragments are shared by the files
 * of one channel, as client builds share them. The manifests configured in
 * gateway.yaml are read too, each for its channel.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type GraphQLError } from 'graphql';
import type { ResolvedChannel } from '../config/channel.js';
import { displayPath, excerpt } from '../config/load.js';
import { splitOperations, type ClientOperation } from '../compose/schema-diff.js';
import { ConfigError } from '../errors.js';
import { readManifest } from '../plugins/use-persisted-operations.js';

export interface CheckedOperation extends ClientOperation {
  /** The file, as people read it: relative to the operations folder (`web/Checkout.graphql`), or the manifest's path. */
  file: string;
  /** The channel whose schema it runs on; undefined: the unified graph. */
  channel?: string;
  /** Its id in a manifest. */
  id?: string;
}

interface ParsedFile {
  file: string;
  channel?: string;
  id?: string;
  document: DocumentNode;
}

const DOCUMENT = new Set(['.graphql', '.gql']);

function filesUnder(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory() && depth < 8) walk(full, depth + 1);
      else if (entry.isFile() && (DOCUMENT.has(extname(entry.name)) || extname(entry.name) === '.json')) found.push(full);
    }
  };
  walk(folder, 0);
  return found;
}

/** A document's syntax error as a problem line: where (file:line:column, or the manifest entry), what, and the line with a caret. */
function parseProblem(where: string, text: string, error: unknown): string {
  const at = (error as GraphQLError).locations?.[0];
  return at ? `${where}:${at.line}:${at.column}: cannot parse: ${(error as Error).message}${excerpt(text, at.line, at.column)}` : `${where}: cannot parse: ${(error as Error).message}`;
}

/** Every document in `files` (a manifest yields one per entry); syntax errors are collected, each with its place. */
function parseFiles(files: ReadonlyArray<{ path: string; shown: string; channel?: string }>, problems: string[]): ParsedFile[] {
  const parsed: ParsedFile[] = [];
  for (const { path, shown, channel } of files) {
    if (extname(path) === '.json') {
      let manifest: Map<string, string>;
      try {
        manifest = readManifest(path, shown);
      } catch (error) {
        if (error instanceof ConfigError) {
          problems.push(...error.problems);
          continue;
        }
        throw error;
      }
      for (const [id, body] of manifest) {
        try {
          parsed.push({ file: shown, channel, id, document: parse(body) });
        } catch (error) {
          problems.push(parseProblem(`${shown}: operation "${id}"`, body, error));
        }
      }
      continue;
    }
    const text = readFileSync(path, 'utf8');
    try {
      parsed.push({ file: shown, channel, document: parse(text) });
    } catch (error) {
      problems.push(parseProblem(shown, text, error));
    }
  }
  return parsed;
}

/**
 * The operations under `folder` (may be undefined: only the configured
 * manifests), and in the manifests gateway.yaml configures (`baseDir`
 * resolves them). A file that does not parse stops the check: every one is
 * reported, with its place (CONFIG_PARSE_ERROR).
 */
export function readOperations(folder: string | undefined, channels: readonly ResolvedChannel[], baseDir: string): CheckedOperation[] {
  const names = new Set(channels.map((c) => c.name));
  const files: Array<{ path: string; shown: string; channel?: string }> = [];
  if (folder !== undefined) {
    const single = statSync(folder).isFile();
    for (const path of single ? [folder] : filesUnder(folder)) {
      const rel = single ? displayPath(path) : relative(folder, path);
      const first = rel.split(sep)[0]!;
      files.push({ path, shown: single ? rel : rel.split(sep).join('/'), channel: !single && rel.includes(sep) && names.has(first) ? first : undefined });
    }
  }
  for (const channel of channels) {
    const manifest = channel.persistedOperations?.manifest;
    if (!manifest) continue;
    const path = resolve(baseDir, manifest);
    if (files.some((f) => resolve(f.path) === path) || !existsSync(path)) continue;
    files.push({ path, shown: displayPath(path), channel: channel.name });
  }
  const problems: string[] = [];
  const parsed = parseFiles(files, problems);
  if (problems.length > 0) throw new ConfigError('CONFIG_PARSE_ERROR', problems);
  // Fragments by channel ('' for the unified graph): an operation may spread one kept in another file.
  const fragments = new Map<string, Map<string, FragmentDefinitionNode>>();
  for (const { channel, document } of parsed) {
    const pool = fragments.get(channel ?? '') ?? new Map<string, FragmentDefinitionNode>();
    fragments.set(channel ?? '', pool);
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION && !pool.has(d.name.value)) pool.set(d.name.value, d);
  }
  return parsed.flatMap(({ file, channel, id, document }) =>
    splitOperations(document, fragments.get(channel ?? '')).map((operation) => ({ ...operation, file, ...(channel && { channel }), ...(id && { id }) })),
  );
}
