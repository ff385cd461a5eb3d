/**
 * The GraphQL parameters of the two kinds of request that carry JSON inside
 * text: a GET's URL parameters (GraphQL over HTTP, "GET") and a multipart
 * upload's `operations` and `map` fields (GraphQL multipart request spec).
 *
 * Yoga's own parsers for these call JSON.parse unguarded and trust the shape
 * of `map`, so a client's typo (`variables={`) or a `map` entry that is not a
 * list of paths was a 500 "Unexpected error." (with the stack and the install
 * path in development). Malformed input is the client's mistake: here it is
 * 400 BAD_REQUEST naming the parameter, in every mode. Checking the types of
 * well-formed values (variables an object, query a string) stays with Yoga,
 * which runs after a parser (useCheckGraphQLQueryParams, also 400).
 */
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { refusal } from '../plugins/refusal.js';
import { mediaType } from '../plugins/use-request-hygiene.js';

const GET_PARAMETERS = ['query', 'operationName', 'variables', 'extensions'] as const;
const MULTIPART = 'multipart/form-data';
/** Path segments that would reach an object's prototype when a file is set into `operations`. */
const UNSAFE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

function badRequest(message: string) {
  return refusal('BAD_REQUEST', message);
}

/** JSON.parse, with a syntax error answered as the client's mistake; `what` names the parameter. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`${what} is not valid JSON: ${(error as Error).message}.`);
  }
}

/**
 * query, operationName, variables and extensions from the URL. Each at most
 * once: with two values, a cache or proxy in front could read one and the
 * gateway run the other. Absent or empty: not given.
 */
export function parseGetParams(url: string): GraphQLParams {
  const mark = url.indexOf('?');
  const search = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
  const values: Partial<Record<(typeof GET_PARAMETERS)[number], string>> = {};
  for (const name of GET_PARAMETERS) {
    const all = search.getAll(name);
    if (all.length > 1) throw badRequest(`GET parameter "${name}" is given ${all.length} times; send it once.`);
    if (all[0]) values[name] = all[0];
  }
  return {
    query: values.query,
    operationName: values.operationName,
    variables: values.variables === undefined ? undefined : (parseJson(values.variables, 'GET parameter "variables"') as GraphQLParams['variables']),
    extensions: values.extensions === undefined ? undefined : (parseJson(values.extensions, 'GET parameter "extensions"') as GraphQLParams['extensions']),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A string form field of a multipart request, parsed as JSON. */
function jsonField(form: FormData, name: string): unknown {
  const value = form.get(name);
  if (value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`Multipart field "${name}" must be text (JSON), not a file.`);
  return parseJson(value, `Multipart field "${name}"`);
}

/** Puts `file` at `path` ("variables.file", "0.variables.files.1") inside `operations`, creating objects on the way as Yoga does. */
function placeFile(operations: Record<string, unknown>, path: string, file: unknown, field: string): void {
  const segments = path.split('.');
  if (segments.some((s) => UNSAFE_SEGMENTS.has(s))) throw badRequest(`Multipart field "map": path "${path}" for "${field}" is not allowed.`);
  let current = operations;
  for (const segment of segments.slice(0, -1)) {
    const next = current[segment];
    if (!isObject(next) || !Object.hasOwn(current, segment)) current[segment] = {};
    current = current[segment] as Record<string, unknown>;
  }
  current[segments[segments.length - 1]!] = file;
}

/**
 * A GraphQL multipart request: `operations` (one operation or a batch),
 * `map` (form field → the paths in `operations` where that file goes) and the
 * files. What Yoga's parser does, with each malformed part a 400.
 */
export async function parseMultipart(request: Request): Promise<GraphQLParams | GraphQLParams[]> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch (error) {
    // The body limit's 413 and a client that went away keep their own answer.
    if (isObject(error) && (isObject(error.extensions) || error.name === 'AbortError' || error.name === 'TimeoutError')) throw error;
    throw badRequest(`POST body is not valid ${MULTIPART}: ${error instanceof Error ? error.message : String(error)}.`);
  }
  const operations = jsonField(form, 'operations');
  if (operations === undefined) throw badRequest(`Multipart field "operations" is missing: it holds the GraphQL request as JSON.`);
  if (!isObject(operations)) throw badRequest(`Multipart field "operations" must be a JSON object (or an array for a batch), not ${operations === null ? 'null' : typeof operations}.`);
  const map = jsonField(form, 'map');
  if (map !== undefined) {
    if (!isObject(map) || Array.isArray(map)) throw badRequest('Multipart field "map" must be a JSON object: each file field to a list of paths in "operations".');
    for (const [field, paths] of Object.entries(map)) {
      if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
        throw badRequest(`Multipart field "map": "${field}" must be a list of paths in "operations", e.g. ["variables.file"].`);
      }
      const file = form.get(field);
      for (const path of paths as string[]) placeFile(operations, path, file, field);
    }
  }
  return operations as GraphQLParams | GraphQLParams[];
}

/**
 * Replaces Yoga's GET and multipart parsers with the ones above; a POST is
 * multipart by the same media-type test request hygiene applies. Placed
 * before every other plugin, so that request hygiene's and the body limit's
 * wrappers wrap these parsers as they wrapped Yoga's.
 */
export function useRequestParams(): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method === 'GET') setRequestParser((req) => parseGetParams(req.url));
      else if (request.method === 'POST' && mediaType(request.headers.get('content-type')) === MULTIPART) setRequestParser(parseMultipart);
    },
  };
}
