/**
 * The direct route's answer passed on as the subgraph wrote it: when the
 * subgraph answered `{"data": {...}}` alone and the result check kept its
 * data object as it was parsed (it answered exactly what was asked, every
 * value of the right type), the client's answer is the subgraph's own JSON
 * text, not JSON.stringify of the same data again. Yoga's result processor
 * (regular, event stream, multipart) writes a result with its `stringify`
 * when it has one; this one decides when the answer is written, on the
 * result it is given, and gives JSON.stringify's text unless
 *
 * - the result has no key but `data` (and this `stringify`): no errors, no
 *   extensions (a plugin's, the response cache's headers), nothing else;
 * - its `data` is the very object parsed from the text (sources/json.ts
 *   parseUpstreamAnswer keeps the text per data object): a plugin that
 *   replaces the data (a channel's names, the response cache, which copies
 *   it to drop its own `__responseCacheTypeName` fields) leaves no text to
 *   find;
 * - the text holds as many object keys as the data (plus its `data` key):
 *   a text with a key twice parses to one value, the last, which is what
 *   was checked, but another JSON parser may read the first.
 *
 * What the text may still differ in from JSON.stringify's is the form, not
 * the values: whitespace (never a line break, json.ts), string escapes, and
 * numbers as the subgraph wrote them (`1.0`, `1e2`).
 *
 * No plugin changes a result's data in place after the check (the
 * response cache and a channel's names put new data on the
 * result object; field authorization's restore writes into the data in
 * place, but then sets a new result with an `errors` key, even an empty
 * one, so the first condition holds it back). A plugin that starts writing
 * into `data` in place must replace the result or drop its `stringify`.
 *
 * The property is an ordinary, enumerable one, and one function shared by
 * every result: the copies the gateway makes of a result keep it (in-flight
 * dedupe gives each waiting request `{ ...result }` over the same data, and
 * those are passed through too), JSON (the response cache in Redis or in the
 * cluster primary, a log line) leaves a function out, and a result kept in
 * the memory response cache holds no text (its data is the cache's copy).
 */
import type { ExecutionResult } from 'graphql';
import { answerTextOf } from '../sources/json.js';

/** What Yoga's result processor reads (graphql-yoga ExecutionResultWithSerializer). */
export interface PassedThrough extends ExecutionResult {
  stringify: (result: ExecutionResult) => string;
}

/** The number of object keys in a JSON text, read outside strings; -1 when a string does not end. */
function keysInText(text: string): number {
  let keys = 0;
  let quote = text.indexOf('"');
  while (quote !== -1) {
    // The string's closing quote: one not escaped, that is, after an even number of backslashes.
    let end = text.indexOf('"', quote + 1);
    while (end !== -1 && text.charCodeAt(end - 1) === 92) {
      let slash = end - 1;
      while (text.charCodeAt(slash - 1) === 92) slash--;
      if ((end - slash) % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    if (end === -1) return -1;
    let next = end + 1;
    let c = text.charCodeAt(next);
    while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(++next);
    if (c === 58) keys++; // a string followed by ':' is a key
    quote = text.indexOf('"', next);
  }
  return keys;
}

/** The number of object keys in a parsed JSON value. */
function keysInValue(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let keys = 0;
  if (Array.isArray(value)) {
    for (const item of value) keys += keysInValue(item);
    return keys;
  }
  for (const key in value) keys += 1 + keysInValue((value as Record<string, unknown>)[key]);
  return keys;
}

/** Whether the result has no key but `data` and this stringify. */
function dataAlone(result: ExecutionResult): boolean {
  for (const key in result) {
    if (key !== 'data' && !(key === 'stringify' && (result as PassedThrough).stringify === stringifyPassedThrough)) return false;
  }
  return true;
}

/** The subgraph's own text for a result that still is exactly what it parsed to; JSON.stringify's otherwise. */
export function stringifyPassedThrough(result: ExecutionResult): string {
  const text = dataAlone(result) ? answerTextOf(result.data) : undefined;
  if (text !== undefined && keysInText(text) === 1 + keysInValue(result.data)) return text;
  return JSON.stringify(result);
}

/** The direct route's checked answer, written as the subgraph's text when it can be (see above); the same result otherwise. */
export function passedThrough(result: ExecutionResult): ExecutionResult {
  if (result.errors !== undefined || result.extensions !== undefined || answerTextOf(result.data) === undefined) return result;
  const out: PassedThrough = { data: result.data, stringify: stringifyPassedThrough };
  return out;
}
