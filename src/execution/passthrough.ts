/**
 * The direct route's answer passed on as the subgraph wrote it: when the
 * result check kept the data object parsed from the subgraph's answer as it
 * was (the subgraph answered exactly what was asked, every value of its
 * type), the client's answer is the subgraph's own JSON text, not
 * JSON.stringify of the same data again. Yoga's result processors (regular,
 * event stream, multipart) write a result with its `stringify` when it has
 * one; this one decides when the answer is written, on the result it is
 * given, and writes JSON.stringify's text unless
 *
 * - the result has no key but `data` (and this `stringify`): no errors, no
 *   extensions (a plugin's, the response cache's headers), nothing else;
 * - its `data` is the very object parsed from the text (kept here per data
 *   object, weakly): a plugin that replaces the data (a channel's names, the
 *   response cache, which copies it without its `__responseCacheTypeName`
 *   fields) leaves no text to find;
 * - the text has no line break (an event stream's `data:` line cannot hold
 *   one);
 * - the text holds exactly one object key more than the data (its `data`):
 *   no `errors` or `extensions` of the subgraph's (the GraphQL executor
 *   notes no text for such an answer), no key given twice (JSON.parse keeps
 *   the last value, the one checked; another parser may read the first), no
 *   key the prototype reviver dropped (sources/json.ts).
 *
 * The text may still differ from JSON.stringify's in form, not in values:
 * whitespace, string escapes, numbers as the subgraph wrote them (`1.0`).
 *
 * No plugin changes a result's data in place after the check (the response
 * cache and a channel's names put new data on the result object; field
 * authorization's restore writes into the data in place, but then sets a new
 * result with an `errors` key, even an empty one, which the first condition
 * holds back). A plugin that starts writing into `data` in place must
 * replace the result or drop its `stringify`.
 *
 * `stringify` is an ordinary, enumerable property, one function shared by
 * every result: the copies the gateway makes of a result keep it (in-flight
 * dedupe gives each waiting request `{ ...result }` over the same data, also
 * passed through), JSON (the response cache in Redis or in the cluster
 * primary, a log line) leaves a function out, and a result kept in the memory
 * response cache holds no text (its data is the cache's copy).
 */
import type { ExecutionResult } from 'graphql';
import { answerTextOf } from '../sources/graphql/executor.js';

/** What Yoga's result processor reads (graphql-yoga ExecutionResultWithSerializer). */
export interface PassedThrough extends ExecutionResult {
  stringify: (result: ExecutionResult) => string;
}

/** Each passed-through answer's text, by the data object parsed from it: held as long as that object is. */
const texts = new WeakMap<object, string>();

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
  const text = dataAlone(result) && result.data != null ? texts.get(result.data) : undefined;
  if (text !== undefined && text.indexOf('\n') === -1 && text.indexOf('\r') === -1 && keysInText(text) === 1 + keysInValue(result.data)) return text;
  return JSON.stringify(result);
}

/**
 * The direct route's checked result, to be written as the subgraph's text
 * (see above) when the check kept the data of the subgraph's `answer` as it
 * was parsed; the same result otherwise.
 */
export function passedThrough(checked: ExecutionResult, answer: ExecutionResult): ExecutionResult {
  const text = answerTextOf(answer);
  if (text === undefined || checked.data == null || checked.data !== answer.data || checked.errors !== undefined || checked.extensions !== undefined) return checked;
  texts.set(checked.data, text);
  const out: PassedThrough = { data: checked.data, stringify: stringifyPassedThrough };
  return out;
}
