/**
 * JSON from upstreams, parsed without letting `__proto__` or
 * `constructor.prototype` keys through (row 8 of docs/reliability.md): JSON.parse
 * itself is safe, but merging such an object into another later is not. The
 * reviver only runs when the text could contain such a key.
 */
const DANGEROUS = /"(?:__proto__|constructor|prototype)"\s*:/;
/**
 * The words alone, tested first: V8 finds them about 4 times faster than the
 * pattern above, which stops at every quote (measured on a 12 KB answer), and
 * most answers hold none of them.
 */
const WORDS = /__proto__|constructor|prototype/;

function reviver(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined;
  if (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value) return undefined;
  return value;
}

export function parseUpstreamJson(text: string): unknown {
  return WORDS.test(text) && DANGEROUS.test(text) ? JSON.parse(text, reviver) : JSON.parse(text);
}

/**
 * The text of each GraphQL answer parsed by parseUpstreamAnswer that can be
 * passed on as it came (execution/passthrough.ts), by its data object: held
 * as long as that object is, and found only for that very object (a copy or
 * a replacement of the data has none).
 */
const answerTexts = new WeakMap<object, string>();

/** A payload that is `{"data": {...}}` and nothing else: no errors, no extensions, no other key. */
function dataOnly(value: unknown): value is { data: object } {
  if (value === null || typeof value !== 'object') return false;
  let keys = 0;
  for (const key in value) {
    if (key !== 'data') return false;
    keys++;
  }
  const data = (value as { data: unknown }).data;
  return keys === 1 && data !== null && typeof data === 'object' && !Array.isArray(data);
}

/**
 * parseUpstreamJson for a GraphQL answer (not a subscription event), keeping
 * its text for the passthrough when the answer is `{"data": {...}}` alone,
 * parsed without the reviver (which drops keys the text still has), and on
 * one line (a line break could only be whitespace, but an event stream's
 * `data:` line must not contain one).
 */
export function parseUpstreamAnswer(text: string): unknown {
  if (WORDS.test(text) && DANGEROUS.test(text)) return JSON.parse(text, reviver);
  const value: unknown = JSON.parse(text);
  if (dataOnly(value) && text.indexOf('\n') === -1 && text.indexOf('\r') === -1) answerTexts.set(value.data, text);
  return value;
}

/** The whole upstream answer's text whose parsed `data` is this very object, if parseUpstreamAnswer kept it. */
export function answerTextOf(data: unknown): string | undefined {
  return data !== null && typeof data === 'object' ? answerTexts.get(data) : undefined;
}
