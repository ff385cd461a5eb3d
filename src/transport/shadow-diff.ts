/**
 * How a shadow's answer is compared with the primary's (stages/shadow.ts):
 * first the status (HTTP status, or the gRPC status name), then the bytes
 * (equal bytes: a match, nothing decoded), and only when the bytes differ
 * the decoded documents, value by value, skipping the ignored paths. The
 * first difference found is the one reported, with a short excerpt of each
 * side for the log: at most EXCERPT_CHARS characters, secret fields
 * (logger.ts SECRET_FIELDS) redacted.
 */
import { isSecretField, redactValue } from '../logger.js';

/** One side of the comparison, as the protocol reads its outcome. */
export interface ShadowView {
  /** `200`, `404` (HTTP), `OK`, `NOT_FOUND` (gRPC). */
  status: string;
  /** The answer's bytes, when there are some: equal bytes need no decoding. */
  bytes: Buffer | undefined;
  /** The decoded answer (JSON, a gRPC message), or undefined when it has none or cannot be decoded; called only when the bytes differ. */
  document(): unknown;
}

/**
 * The first difference between two answers: where (`$status`: the HTTP
 * status or gRPC status name; `$body`: an answer that is not JSON, as text;
 * `$`: the whole document; else the path inside it, `data.product.price`),
 * and the value on each side.
 */
export interface Difference {
  path: string;
  primary: unknown;
  shadow: unknown;
}

type Segment = string | number;

/** Longest excerpt of one side in a log line. */
export const EXCERPT_CHARS = 200;

/** A compiled `shadow.ignore`: does a path (from the document's root) fall under one of the patterns? */
export type IgnoredPaths = (path: readonly Segment[]) => boolean;

const NOTHING_IGNORED: IgnoredPaths = () => false;

export function ignoredPaths(patterns: readonly string[]): IgnoredPaths {
  if (patterns.length === 0) return NOTHING_IGNORED;
  const compiled = patterns.map((p) => p.split('.'));
  return (path) => compiled.some((pattern) => matches(pattern, 0, path, 0));
}

/** `**` takes any number of segments (none included), `*` exactly one, anything else one equal key or index. */
function matches(pattern: readonly string[], i: number, path: readonly Segment[], j: number): boolean {
  if (i === pattern.length) return j === path.length;
  const part = pattern[i]!;
  if (part === '**') {
    for (let k = j; k <= path.length; k++) if (matches(pattern, i + 1, path, k)) return true;
    return false;
  }
  if (j === path.length) return false;
  if (part !== '*' && part !== String(path[j])) return false;
  return matches(pattern, i + 1, path, j + 1);
}

/** Compares two answers; undefined when they are the same (ignored paths aside). */
export function compareAnswers(primary: ShadowView, shadow: ShadowView, ignored: IgnoredPaths): Difference | undefined {
  if (primary.status !== shadow.status) return { path: '$status', primary: primary.status, shadow: shadow.status };
  if (primary.bytes && shadow.bytes && primary.bytes.equals(shadow.bytes)) return undefined;
  if (!primary.bytes && !shadow.bytes) return undefined;
  const a = primary.document();
  const b = shadow.document();
  if (a === undefined || b === undefined) {
    // Not decodable (not JSON): the text is the answer.
    const text = (view: ShadowView, decoded: unknown): unknown => view.bytes?.toString('utf8', 0, Math.min(view.bytes.length, 4 * EXCERPT_CHARS)) ?? decoded;
    return { path: '$body', primary: text(primary, a), shadow: text(shadow, b) };
  }
  const path: Segment[] = [];
  return differs(a, b, path, ignored) ? { path: path.length === 0 ? '$' : path.join('.'), primary: valueAt(a, path), shadow: valueAt(b, path) } : undefined;
}

/** Deep comparison; on a difference returns true with `path` left at it. */
function differs(a: unknown, b: unknown, path: Segment[], ignored: IgnoredPaths): boolean {
  if (ignored(path)) return false;
  if (a === b) return false;
  // Two primitives that are not equal, or a primitive (null included) and an object.
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return true;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    return !(ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return true;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    const length = Math.max(a.length, other.length);
    for (let i = 0; i < length; i++) {
      path.push(i);
      if (i >= a.length || i >= other.length) {
        if (!ignored(path)) return true;
      } else if (differs(a[i], other[i], path, ignored)) return true;
      path.pop();
    }
    return false;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    path.push(key);
    if (!(key in left) || !(key in right)) {
      if (!ignored(path)) return true;
    } else if (differs(left[key], right[key], path, ignored)) return true;
    path.pop();
  }
  return false;
}

function valueAt(root: unknown, path: readonly Segment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment as string];
  }
  return value;
}

/**
 * One side of a difference as it goes in a log line: JSON (a `$body` as its text), secret fields
 * redacted (the whole value when the path ends in one), cut to EXCERPT_CHARS
 * characters. `(absent)` for a key one side lacks.
 */
export function excerpt(difference: Difference, side: 'primary' | 'shadow'): string {
  const last = difference.path.slice(difference.path.lastIndexOf('.') + 1);
  if (isSecretField(last)) return '[redacted]';
  const value = difference[side];
  if (value === undefined) return '(absent)';
  let text: string;
  try {
    text = difference.path === '$body' && typeof value === 'string' ? value : (JSON.stringify(redactValue(value), (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
}
