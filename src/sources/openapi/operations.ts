/**
 * OpenAPI operations to root fields. GET becomes a Query field, POST, PUT,
 * PATCH and DELETE Mutation fields (HEAD, OPTIONS and TRACE carry no body
 * worth a field and are skipped). The field is named by the operationId, or
 * by method and path when there is none; parameters become arguments (the
 * request body the argument `input`), the first 2xx response (else
 * `default`) the field's type. Everything the call needs is compiled here,
 * once, into a CompiledOperation.
 */
import {
  GraphQLBoolean,
  GraphQLNonNull,
  GraphQLString,
  type GraphQLArgumentConfig,
  type GraphQLFieldConfig,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { resolvePointer, type Json, type JsonObject } from './document.js';
import type { BodyKind, CompiledOperation, CompiledParam, ResponseKind } from './client.js';
import type { SchemaMapper } from './mapping.js';
import { fieldName, NameRegistry, operationName, uniqueFieldNames, upperFirst } from './names.js';
import { serializerFor, type Location } from './params.js';
import { argumentHeaderRefusal, type HeaderRules } from '../../transport/headers.js';

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const SAFE = new Set(['GET']);
/**
 * Header parameters the OpenAPI spec says to ignore (section 4.8.12.1), left
 * out without a word: the source sets them from the operation's media types.
 * Authorization, also on the spec's list, goes through the header rule, so
 * `tessera check` tells the author that headers.authorization decides it.
 */
const SPEC_IGNORED_HEADERS = new Set(['accept', 'content-type']);

export interface Operation {
  /** `operationId` when there is one. */
  id?: string;
  method: string;
  path: string;
  object: JsonObject;
  root: 'Query' | 'Mutation';
  fieldName: string;
  compiled: CompiledOperation;
  args: Record<string, GraphQLArgumentConfig>;
  /** Document parameter name → GraphQL argument name (`body` for the request body's properties is not included). */
  argOf: Map<string, string>;
  /** Raw parameter objects (resolved), by document name. */
  parameters: Map<string, JsonObject>;
  /**
   * Header parameters offered as no argument because the header rule
   * (transport/headers.ts) would never send them: an identity header, a
   * credential, a header the gateway owns. For the load report.
   */
  refusedHeaders: Array<{ name: string; required: boolean; reason: string }>;
  type: GraphQLOutputType;
  /** The success response's schema (undefined when it has none). */
  responseSchema?: Json;
  /** The success response object (for `links`). */
  response?: JsonObject;
  bodySchema?: Json;
  description?: string;
  deprecated: boolean;
}

export function deref(root: JsonObject, value: Json | undefined): JsonObject | undefined {
  let node = value;
  for (let i = 0; i < 32 && node && typeof node === 'object' && !Array.isArray(node) && typeof node.$ref === 'string'; i++) {
    node = resolvePointer(root, node.$ref);
  }
  return node && typeof node === 'object' && !Array.isArray(node) ? node : undefined;
}

const isJsonMedia = (m: string): boolean => m === '*/*' || (/json/i.test(m) && !/ndjson|json-seq|jsonl/i.test(m));

function pickMedia(content: JsonObject | undefined, order: Array<(m: string) => boolean>): [string, JsonObject] | undefined {
  if (!content) return undefined;
  const entries = Object.entries(content).filter((e): e is [string, JsonObject] => e[1] !== null && typeof e[1] === 'object' && !Array.isArray(e[1]));
  for (const test of order) {
    const found = entries.find(([m]) => test(m.toLowerCase()));
    if (found) return found;
  }
  return entries[0];
}

function bodyKind(media: string): BodyKind {
  const m = media.toLowerCase();
  if (isJsonMedia(m)) return 'json';
  if (m.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (m.startsWith('multipart/')) return 'multipart';
  if (m.startsWith('text/') || m.endsWith('xml')) return 'text';
  return 'binary';
}

function responseKind(media: string): ResponseKind {
  const m = media.toLowerCase();
  if (isJsonMedia(m)) return 'json';
  if (m.startsWith('text/') || m.endsWith('xml') || m.includes('yaml')) return 'text';
  return 'binary';
}

function describe(op: JsonObject): string | undefined {
  const parts = [op.summary, op.description].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  if (parts.length === 2 && parts[1]!.startsWith(parts[0]!)) parts.shift();
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

export interface OperationFilter {
  include?: string[];
  exclude: string[];
}

export function selects(selectors: string[], id: string | undefined, method: string, path: string): boolean {
  return selectors.some((s) => s === id || s.toUpperCase() === `${method} ${path}`.toUpperCase());
}

/** Every operation of the document as a compiled root field, in document order; `headers` are the descriptor's header rules. */
export function buildOperations(root: JsonObject, mapper: SchemaMapper, filter: OperationFilter, headers: HeaderRules): Operation[] {
  const out: Operation[] = [];
  const names = { Query: new NameRegistry(), Mutation: new NameRegistry() };
  const paths = (root.paths ?? {}) as Record<string, Json>;
  for (const [path, itemValue] of Object.entries(paths)) {
    const item = deref(root, itemValue);
    if (!item) continue;
    for (const lower of METHODS) {
      const object = deref(root, item[lower]);
      if (!object) continue;
      const method = lower.toUpperCase();
      const id = typeof object.operationId === 'string' && object.operationId !== '' ? object.operationId : undefined;
      if (filter.include && !selects(filter.include, id, method, path)) continue;
      if (selects(filter.exclude, id, method, path)) continue;
      const rootName = SAFE.has(method) ? 'Query' : 'Mutation';
      const field = names[rootName].claim(id ? fieldName(id) : operationName(method, path));
      out.push(buildOperation(root, mapper, { path, method, id, object, item, rootName, field, headers }));
    }
  }
  return out;
}

interface OperationInput {
  path: string;
  method: string;
  id?: string;
  object: JsonObject;
  item: JsonObject;
  rootName: 'Query' | 'Mutation';
  field: string;
  headers: HeaderRules;
}

function buildOperation(root: JsonObject, mapper: SchemaMapper, input: OperationInput): Operation {
  const { path, method, id, object, item, rootName, field, headers } = input;
  const label = id ?? `${method} ${path}`;
  const hint = upperFirst(field);

  // Path-level parameters, overridden by operation-level ones with the same name and location.
  const byKey = new Map<string, JsonObject>();
  for (const list of [item.parameters, object.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      const param = deref(root, p);
      if (!param || typeof param.name !== 'string' || typeof param.in !== 'string') continue;
      if (!['path', 'query', 'header', 'cookie'].includes(param.in)) continue;
      if (param.in === 'header' && SPEC_IGNORED_HEADERS.has(param.name.toLowerCase())) continue;
      byKey.set(`${param.in}:${param.name}`, param);
    }
  }
  // An argument for a header that would never be sent is not offered: a caller sees an unknown argument, not a value silently dropped.
  const refusedHeaders: Operation['refusedHeaders'] = [];
  for (const [key, param] of byKey) {
    const reason = param.in === 'header' ? argumentHeaderRefusal(param.name as string, headers) : undefined;
    if (reason === undefined) continue;
    byKey.delete(key);
    refusedHeaders.push({ name: param.name as string, required: param.required === true, reason });
  }
  // Path parameters named in the template but not declared still need an argument.
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    if (!byKey.has(`path:${match[1]}`)) byKey.set(`path:${match[1]}`, { name: match[1]!, in: 'path', required: true, schema: { type: 'string' } });
  }
  const params = [...byKey.values()];

  const requestBody = deref(root, object.requestBody);
  const bodyMedia = pickMedia(deref(root, requestBody?.content), [
    isJsonMedia,
    (m) => m.startsWith('application/x-www-form-urlencoded'),
    (m) => m.startsWith('multipart/form-data'),
    (m) => m.startsWith('text/'),
  ]);
  const argNames = uniqueFieldNames(
    params.map((p) => p.name as string),
    [],
  );
  const bodyArg = bodyMedia ? new NameRegistry(argNames.values()).claim('input') : undefined;

  const args: Record<string, GraphQLArgumentConfig> = {};
  const compiledParams = new Map<string, CompiledParam>();
  const argOf = new Map<string, string>();
  const parameters = new Map<string, JsonObject>();
  for (const param of params) {
    const name = param.name as string;
    const arg = argNames.get(name)!;
    const location = param.in as Location;
    const jsonContent = pickMedia(deref(root, param.content), [isJsonMedia]);
    const schema = param.schema ?? jsonContent?.[1].schema ?? { type: 'string' };
    let type: GraphQLInputType = mapper.inputType(schema, `${hint}${upperFirst(arg)}`);
    const required = location === 'path' || param.required === true;
    if (required) type = new GraphQLNonNull(type);
    args[arg] = {
      type,
      description: typeof param.description === 'string' ? param.description : undefined,
      deprecationReason: param.deprecated === true && !required ? 'Deprecated in the OpenAPI document.' : undefined,
    };
    const compiled: CompiledParam = {
      name,
      arg,
      in: location,
      serialize: serializerFor({
        name,
        in: location,
        style: typeof param.style === 'string' ? param.style : undefined,
        explode: typeof param.explode === 'boolean' ? param.explode : undefined,
        allowReserved: param.allowReserved === true,
        json: !param.schema && Boolean(jsonContent),
      }),
      allowReserved: param.allowReserved === true,
      convert: mapper.wireConverter(type),
    };
    compiledParams.set(arg, compiled);
    argOf.set(name, arg);
    parameters.set(name, param);
  }

  const pathParts: Array<string | CompiledParam> = [];
  let last = 0;
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    if (match.index! > last) pathParts.push(path.slice(last, match.index));
    pathParts.push(compiledParams.get(argOf.get(match[1]!)!)!);
    last = match.index! + match[0].length;
  }
  if (last < path.length) pathParts.push(path.slice(last));

  let body: CompiledOperation['body'];
  let bodySchema: Json | undefined;
  if (bodyMedia && bodyArg) {
    const [mediaType, media] = bodyMedia;
    const kind = bodyKind(mediaType);
    bodySchema = media.schema;
    let type: GraphQLInputType =
      kind === 'text' ? GraphQLString : kind === 'binary' ? mapper.scalar('Upload') : mapper.inputType(media.schema ?? {}, `${hint}Body`);
    if (requestBody?.required === true) type = new GraphQLNonNull(type);
    args[bodyArg] = { type, description: typeof requestBody?.description === 'string' ? requestBody.description : undefined };
    body = { arg: bodyArg, kind, mediaType: kind === 'json' && mediaType === '*/*' ? 'application/json' : mediaType, convert: mapper.wireConverter(type) };
  }

  const { response, responseSchema, kind, mediaType } = successResponse(root, object);
  let type: GraphQLOutputType;
  if (kind === 'none') type = GraphQLBoolean;
  else if (kind === 'text') type = GraphQLString;
  else if (kind === 'binary') type = mapper.scalar('Base64');
  else type = responseSchema === undefined ? mapper.scalar('JSON') : mapper.outputType(responseSchema, `${hint}Response`);

  return {
    id,
    method,
    path,
    object,
    root: rootName,
    fieldName: field,
    compiled: { label, endpoint: `${method.toUpperCase()} ${path}`, method, pathParts, params: compiledParams, body, response: { kind, mediaType }, safe: SAFE.has(method) },
    args,
    argOf,
    parameters,
    refusedHeaders,
    type,
    responseSchema,
    response,
    bodySchema,
    description: describe(object),
    deprecated: object.deprecated === true,
  };
}

function successResponse(root: JsonObject, op: JsonObject): { response?: JsonObject; responseSchema?: Json; kind: ResponseKind; mediaType?: string } {
  const responses = deref(root, op.responses) ?? {};
  const codes = Object.keys(responses)
    .filter((c) => /^2(\d\d|XX)$/i.test(c))
    .sort();
  const code = codes[0] ?? (responses.default ? 'default' : undefined);
  const response = code ? deref(root, responses[code]) : undefined;
  const media = pickMedia(deref(root, response?.content), [isJsonMedia, (m) => m.startsWith('text/')]);
  if (!media) return { response, kind: 'none' };
  const [mediaType, value] = media;
  const kind = responseKind(mediaType);
  return { response, responseSchema: value.schema, kind, mediaType };
}

/** The resolver of an operation's root field. */
export function operationField(op: Operation, resolve: GraphQLFieldConfig<unknown, unknown>['resolve']): GraphQLFieldConfig<unknown, unknown> {
  return {
    type: op.type,
    args: op.args,
    description: op.description,
    deprecationReason: op.deprecated ? 'Deprecated in the OpenAPI document.' : undefined,
    resolve,
  };
}
