/**
 * Reading .proto files into one protobufjs Root. Imports are looked up the
 * way protoc does with `-I`: in the descriptor's `includePaths` in order, then
 * beside the importing file, then beside each entry file; Google's well-known
 * types (google/protobuf/*.proto) always resolve, from the copies protobufjs
 * ships. An import found nowhere is an error that names the importing file,
 * not a missing type later on.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
/** protobufjs ships google/protobuf/{descriptor,api,type,...}.proto beside the bundled well-known types. */
const BUNDLED = dirname(require.resolve('protobufjs/package.json'));

export const PARSE_OPTIONS = { keepCase: true, alternateCommentMode: true } as const;

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

/**
 * Loads the entry files (absolute paths) and everything they import.
 * Throws an Error whose message names the file (and line, for syntax errors).
 */
export function loadProtoFiles(entries: string[], includePaths: string[]): protobuf.Root {
  for (const entry of entries) {
    if (!existsSync(entry)) throw new Error(`.proto file ${shown(entry)} not found`);
  }
  const entryDirs = [...new Set(entries.map((e) => dirname(e)))];
  const missing: string[] = [];
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    const dirs = [...includePaths, ...(origin ? [dirname(origin)] : []), ...entryDirs, BUNDLED];
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    missing.push(`${origin ? shown(origin) : '(entry)'} imports "${target}", found in none of: ${dirs.map(shown).join(', ')}`);
    return null;
  };
  const missingImports = (): Error => new Error(`${missing.join('; ')} (add the folder to includePaths)`);
  try {
    root.loadSync(entries, PARSE_OPTIONS);
  } catch (error) {
    // A missing import surfaces as an unresolved type; the import is the cause worth naming.
    if (missing.length > 0) throw missingImports();
    throw new Error(protobufMessage(error));
  }
  if (missing.length > 0) throw missingImports();
  try {
    root.resolveAll();
  } catch (error) {
    throw new Error(protobufMessage(error));
  }
  return root;
}

/** protobufjs messages carry absolute paths; shorten them to what the person reading the log knows. */
export function protobufMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\/[^\s,()'"]+\.proto/g, (path) => shown(path));
}
