/**
 * 64-bit integers on the wire, exactly. JSON.parse turns 9007199254740993
 * into 9007199254740992: a JavaScript number holds integers exactly only up to
 * 2^53. An id of `format: int64` that comes back one off is worse than an
 * error, so:
 *
 * - Responses of operations whose type reaches an `Int64` field are parsed
 *   with every integer beyond the safe range turned into its decimal string
 *   first (the Int64 scalar serialises such a string as it is). The text is
 *   scanned only when it has a run of 16 digits, the shortest an unsafe
 *   integer can be; every other response keeps JSON.parse alone.
 * - Argument values beyond the safe range are BigInts (the Int64 scalar's
 *   parseValue), written into JSON request bodies as bare numbers.
 *
 * Node 20 has neither `JSON.rawJSON` nor the reviver's source text, which
 * would make the scan unnecessary; it is a single pass over the text, and
 * JSON.parse still does the parsing (and parseUpstreamJson its
 * prototype-key guard).
 */
import { randomUUID } from 'node:crypto';
import { parseUpstreamJson } from '../json.js';

/**
 * Sixteen digits in a row, spelt out: V8 finds a fixed run of `\d` about 7
 * times faster than `\d{16}` (measured on a 12 KB answer; the test runs on
 * every int64 answer).
 */
const LONG_DIGITS = new RegExp('\\d'.repeat(16));
const UNSAFE_CANDIDATE = /^-?\d{16,}$/;

/** The JSON text with every integer literal beyond ±(2^53 - 1) written as a string. Strings are left alone. */
export function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let copied = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
      continue;
    }
    if (c !== 0x2d /* - */ && (c < 0x30 || c > 0x39)) continue;
    let end = i + 1;
    while (end < n && /[0-9eE.+-]/.test(text[end]!)) end++;
    const token = text.slice(i, end);
    if (UNSAFE_CANDIDATE.test(token) && !Number.isSafeInteger(Number(token))) {
      out += `${text.slice(copied, i)}"${token}"`;
      copied = end;
    }
    i = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** JSON from an upstream whose answer may carry int64 values: exact beyond 2^53, JSON.parse speed otherwise. */
export function parseInt64Json(text: string): unknown {
  return parseUpstreamJson(LONG_DIGITS.test(text) ? quoteUnsafeIntegers(text) : text);
}

/** JSON.stringify that writes BigInts (Int64 arguments beyond 2^53) as bare numbers. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError) || !/BigInt/i.test(error.message)) throw error;
  }
  // A marker no client string can hold (a fresh UUID), replaced by the digits after stringifying.
  const marker = `int64:${randomUUID()}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${marker}${v.toString()}` : v));
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}
