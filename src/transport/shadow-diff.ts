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

/**
 * A compiled `shadow.ignore`, walked down the documents as they are compared:
 * a state is the set of places each pattern has reached along the path so
 * far (pattern index × position), so each node costs a step over a few
 * numbers, never a match from the root. `**` takes any number of segments
 * (none included), `*` exactly one, anything else one equal key or index.
 */
export class IgnoredPaths {
  private readonly patterns: ReadonlyArray<readonly string[]>;
  /** The state at the root of a document; empty when there is no pattern (nothing is ever ignored). */
  readonly start: readonly number[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map((p) => p.split('.'));
    this.start = this.closure(this.patterns.map((_, i) => i * STRIDE));
  }

  /** The state after one more segment; empty when no pattern can match below it. */
  step(state: readonly number[], segment: Segment): readonly number[] {
    if (state.length === 0) return state;
    const key = typeof segment === 'string' ? segment : String(segment);
    let next: number[] | undefined;
    for (const at of state) {
      const part = this.part(at);
      const to = part === '**' ? at : part === '*' || part === key ? at + 1 : -1;
      if (to === -1) continue;
      next ??= [];
      this.add(next, to);
    }
    return next ?? NO_STATE;
  }

  /** Does the path that led to `state` fall under a pattern? */
  ignored(state: readonly number[]): boolean {
    for (const at of state) if (this.part(at) === undefined) return true;
    return false;
  }

  /** Does this whole path fall under a pattern? */
  matches(path: readonly Segment[]): boolean {
    let state = this.start;
    for (const segment of path) state = this.step(state, segment);
    return this.ignored(state);
  }

  /** The pattern part a position stands at (undefined: past its end, the pattern matched). */
  private part(at: number): string | undefined {
    return this.patterns[(at / STRIDE) | 0]![at % STRIDE];
  }

  /** Adds a position and, past a `**` (it may take no segment), the next ones, without duplicates. */
  private add(state: number[], at: number): void {
    if (state.includes(at)) return;
    state.push(at);
    if (this.part(at) === '**') this.add(state, at + 1);
  }

  private closure(starts: readonly number[]): readonly number[] {
    const state: number[] = [];
    for (const at of starts) this.add(state, at);
    return state;
  }
}

const NO_STATE: readonly number[] = [];

/** Positions per pattern in a state number (a pattern longer than this is refused by the schema's length in practice). */
const STRIDE = 1024;

export function ignoredPaths(patterns: readonly string[]): IgnoredPaths {
  return new IgnoredPaths(patterns);
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
  return differs(a, b, path, ignored, ignored.start) ? { path: path.length === 0 ? '$' : path.join('.'), primary: valueAt(a, path), shadow: valueAt(b, path) } : undefined;
}

/** Deep comparison; on a difference returns true with `path` left at it. `state`: where the ignored paths stand at `path`. */
function differs(a: unknown, b: unknown, path: Segment[], ignored: IgnoredPaths, state: readonly number[]): boolean {
  if (state.length > 0 && ignored.ignored(state)) return false;
  if (a === b) return false;
  // Two primitives that are not equal, or a primitive (null included) and an object.
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return true;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    return !(ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return true;
  /** One child: compared, or, when one side lacks it, a difference unless its path is ignored. */
  const child = (key: Segment, left: unknown, right: unknown, both: boolean): boolean => {
    path.push(key);
    const inner = ignored.step(state, key);
    if (both ? differs(left, right, path, ignored, inner) : !(inner.length > 0 && ignored.ignored(inner))) return true;
    path.pop();
    return false;
  };
  if (Array.isArray(a)) {
    const other = b as unknown[];
    const length = Math.max(a.length, other.length);
    for (let i = 0; i < length; i++) if (child(i, a[i], other[i], i < a.length && i < other.length)) return true;
    return false;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key of Object.keys(left)) if (child(key, left[key], right[key], Object.hasOwn(right, key))) return true;
  for (const key of Object.keys(right)) if (!Object.hasOwn(left, key) && child(key, undefined, right[key], false)) return true;
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
