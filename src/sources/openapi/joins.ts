/**
 * Joins between REST resources, and the entity entry points the gateway
 * stitches through.
 *
 * - Detection (`analyzeOperations`): `GET /products/{id}` returning Product
 *   proposes Product keyed by `id`; `GET /products?ids=…` (an array query
 *   parameter named ids, *Ids or *_ids) returning a list of Product, or
 *   `POST /products/search|batch` taking such a list, is Product's bulk
 *   endpoint. A type with a single endpoint and no bulk one is an N+1 join.
 * - Descriptor joins (`joins: { Order.customer: … }`): a field on a type that
 *   calls another operation with values of the parent; with `batch`, the keys
 *   of one request are collected by a DataLoader and sent in one bulk call,
 *   otherwise one call per distinct key (identical GETs are shared) with at
 *   most `concurrency` in flight.
 * - Entity entry points: when `entities.X.batch.field` names a field the
 *   document does not have, it is generated from X's bulk endpoint (results
 *   reordered to match the keys, missing ones null), or from its single
 *   endpoint called per key.
 */
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import DataLoader from 'dataloader';
import {
  GraphQLID,
  GraphQLList,
  GraphQLNonNull,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import type { RequestScope } from '../../request-scope.js';
import { scopeOf } from '../../request-scope.js';
import { isTesseraError } from '../../errors.js';
import type { Json } from './document.js';
import type { Schema } from './mapping.js';
import { upperFirst } from './names.js';
import type { Operation } from './operations.js';
import type { BuildContext } from './schema.js';

export interface ListShape {
  type: GraphQLObjectType;
  /** The response property holding the list; undefined when the response is the list. */
  property?: string;
}

export interface SingleEndpoint {
  operation: Operation;
  parameter: string;
  key: string;
}

export interface BulkEndpoint {
  operation: Operation;
  /** Query parameter or body property taking the keys. */
  parameter: string;
  key: string;
  list: ListShape;
  inBody: boolean;
}

export interface JoinAnalysis {
  singles: Map<string, SingleEndpoint>;
  bulks: Map<string, BulkEndpoint>;
  /** Types that can be fetched one at a time only. */
  nPlusOne: string[];
}

const IDS_NAME = /^(ids|.+Ids|.+_ids|id)$/;

/**
 * The property of the listed type that a bulk parameter's values match:
 * `id` when the type has one, else the singular of the parameter
 * (`productIds` -> `productId`, `product_ids` -> `product_id`) when the type
 * has that, else the parameter without its suffix.
 */
function bulkKey(ctx: BuildContext, type: Parameters<typeof hasProperty>[1], parameter: string): string {
  if (hasProperty(ctx, type, 'id')) return 'id';
  for (const candidate of [parameter.replace(/Ids$/, 'Id'), parameter.replace(/_ids$/, '_id')]) {
    if (candidate !== parameter && hasProperty(ctx, type, candidate)) return candidate;
  }
  return parameter.replace(/_?[Ii]ds$/, '');
}

function unwrapNullable(type: GraphQLOutputType): GraphQLOutputType {
  return isNonNullType(type) ? type.ofType : type;
}

function propertiesOf(schema: Schema): Record<string, Json> {
  const p = schema.properties;
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? p : {};
}

/** Where a list of objects is in a response: the response itself, or its only array-of-objects property. */
export function listShape(ctx: BuildContext, op: Operation): ListShape | undefined {
  const type = unwrapNullable(op.type);
  if (isListType(type)) {
    const named = getNamedType(type);
    return isObjectType(named) ? { type: named } : undefined;
  }
  if (!isObjectType(type) || op.responseSchema === undefined) return undefined;
  const schema = ctx.mapper.effective(op.responseSchema).schema;
  const found: ListShape[] = [];
  for (const [raw, prop] of Object.entries(propertiesOf(schema))) {
    const eff = ctx.mapper.effective(prop).schema;
    if (eff.type !== 'array' && !(Array.isArray(eff.type) && eff.type.includes('array'))) continue;
    const itemType = getNamedType(ctx.mapper.outputType(prop, `${type.name}${upperFirst(raw)}`));
    if (isObjectType(itemType)) found.push({ type: itemType, property: raw });
  }
  return found.length === 1 ? found[0] : undefined;
}

/** True when the object schema's property (as the document names it) is an array. */
function isArrayProperty(ctx: BuildContext, schema: Schema, property: string): boolean {
  const prop = propertiesOf(schema)[property];
  if (prop === undefined) return false;
  const type = ctx.mapper.effective(prop).schema.type;
  return type === 'array' || (Array.isArray(type) && type.includes('array'));
}

function hasProperty(ctx: BuildContext, type: GraphQLObjectType, property: string): boolean {
  const entry = ctx.mapper.objectTypes.get(type.name);
  return Boolean(entry && property in propertiesOf(entry.schema));
}

export function analyzeOperations(ctx: BuildContext): JoinAnalysis {
  const singles = new Map<string, SingleEndpoint>();
  const bulks = new Map<string, BulkEndpoint>();
  for (const op of ctx.operations) {
    const last = op.path.split('/').filter(Boolean).pop() ?? '';
    const named = getNamedType(op.type);
    if (op.method === 'GET') {
      const param = /^\{(.+)\}$/.exec(last)?.[1];
      if (param && isObjectType(named) && !isListType(unwrapNullable(op.type))) {
        const key = hasProperty(ctx, named, param) ? param : /id$/i.test(param) && hasProperty(ctx, named, 'id') ? 'id' : undefined;
        if (key && !singles.has(named.name)) singles.set(named.name, { operation: op, parameter: param, key });
      }
      const list = listShape(ctx, op);
      if (list) {
        for (const [name, p] of op.parameters) {
          if (p.in !== 'query' || !IDS_NAME.test(name)) continue;
          const schema = ctx.mapper.effective(p.schema ?? {}).schema;
          const isArray = schema.type === 'array' || p.explode === false || typeof p.style === 'string';
          if (!isArray && name !== 'ids') continue;
          if (!bulks.has(list.type.name)) bulks.set(list.type.name, { operation: op, parameter: name, key: bulkKey(ctx, list.type, name), list, inBody: false });
        }
      }
    } else if (op.method === 'POST' && /(search|batch|bulk|lookup|:batchGet)$/i.test(last) && op.bodySchema !== undefined) {
      const list = listShape(ctx, op);
      if (!list) continue;
      for (const [name, prop] of Object.entries(propertiesOf(ctx.mapper.effective(op.bodySchema).schema))) {
        if (!IDS_NAME.test(name) || ctx.mapper.effective(prop).schema.type !== 'array') continue;
        if (!bulks.has(list.type.name)) bulks.set(list.type.name, { operation: op, parameter: name, key: bulkKey(ctx, list.type, name), list, inBody: true });
      }
    }
  }
  const nPlusOne = [...singles.keys()].filter((t) => !bulks.has(t)).sort();
  return { singles, bulks, nPlusOne };
}

/** Runs tasks for one request with at most `limit` in flight (shared by every join of the source in that request). */
function limiterFor(scope: RequestScope, key: string, limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let state = scope.memo.get(key) as { active: number; queue: Array<() => void> } | undefined;
  if (!state) {
    state = { active: 0, queue: [] };
    scope.memo.set(key, state);
  }
  const s = state;
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (s.active >= limit) await new Promise<void>((resolve) => s.queue.push(resolve));
    s.active++;
    try {
      return await task();
    } finally {
      s.active--;
      s.queue.shift()?.();
    }
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function bulkArgs(bulk: BulkEndpoint, keys: readonly unknown[]): Record<string, unknown> {
  if (bulk.inBody) return { [bulk.operation.compiled.body!.arg]: { [bulk.parameter]: keys } };
  return { [bulk.operation.argOf.get(bulk.parameter)!]: keys };
}

/** Calls a bulk endpoint for some keys; returns the items by their key (as text). */
async function fetchBulk(ctx: BuildContext, bulk: BulkEndpoint, keys: readonly unknown[], maxKeys: number, scope: RequestScope): Promise<Map<string, unknown>> {
  const index = new Map<string, unknown>();
  const distinct = [...new Set(keys.map(String))];
  await Promise.all(
    chunks(distinct, maxKeys).map(async (chunk) => {
      const { value } = await ctx.client.call(bulk.operation.compiled, bulkArgs(bulk, chunk), scope);
      const list = bulk.list.property === undefined ? value : (value as Record<string, unknown> | null)?.[bulk.list.property];
      if (!Array.isArray(list)) return;
      for (const item of list) {
        const key = (item as Record<string, unknown> | null)?.[bulk.key];
        if (key !== undefined && key !== null) index.set(String(key), item);
      }
    }),
  );
  return index;
}

const notFound = (error: unknown): boolean => isTesseraError(error) && (error.extensions.upstream as { status?: number } | undefined)?.status === 404;

/** A resolver helper for one-at-a-time joins: null for 404, the error for that item otherwise. */
function fetchOne(ctx: BuildContext, single: { operation: Operation; arg: string }, key: unknown, scope: RequestScope): Promise<unknown> {
  return callOne(ctx, single.operation, { [single.arg]: key }, scope);
}

/** One call under the source's per-request concurrency limit: its value, null for 404, the error otherwise (returned, not thrown). */
async function callOne(ctx: BuildContext, operation: Operation, args: Record<string, unknown>, scope: RequestScope): Promise<unknown> {
  const limit = limiterFor(scope, `openapi:limit:${ctx.descriptor.name}`, ctx.descriptor.concurrency);
  try {
    const { value } = await limit(() => ctx.client.call(operation.compiled, args, scope));
    return value;
  } catch (error) {
    if (notFound(error)) return null;
    return error;
  }
}

function findType(ctx: BuildContext, name: string): GraphQLObjectType | undefined {
  const existing = ctx.mapper.objectTypes.get(name);
  if (existing) return existing.type;
  const schemas = (ctx.document.root.components as Record<string, Record<string, Json>> | undefined)?.schemas ?? {};
  for (const key of Object.keys(schemas)) {
    if (key === name || key.replace(/[^_0-9A-Za-z]/g, '') === name) {
      const type = ctx.mapper.outputType({ $ref: `#/components/schemas/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` }, name);
      if (isObjectType(type)) return type;
    }
  }
  return undefined;
}

export function addJoins(ctx: BuildContext): void {
  const where = 'joins';
  for (const [coordinate, join] of Object.entries(ctx.descriptor.joins)) {
    const [typeName, field] = coordinate.split('.') as [string, string];
    const at = `${where}.${coordinate}`;
    const parent = findType(ctx, typeName);
    if (!parent) {
      ctx.problems.push(`${at}: the document has no object type ${typeName}`);
      continue;
    }
    const target = ctx.find(join.operation);
    if (!target) {
      ctx.problems.push(`${at}.operation: no operation "${join.operation}" in the document`);
      continue;
    }
    const parentSchema = ctx.mapper.objectTypes.get(parent.name)!.schema;
    if (ctx.mapper.outputFieldNames(parentSchema).has(field)) {
      ctx.problems.push(`${at}: ${typeName} already has a field "${field}"`);
      continue;
    }
    let mapping = join.arguments;
    if (!mapping) {
      const required = [...target.parameters.values()].filter((p) => p.in === 'path' || p.required === true).map((p) => p.name as string);
      if (!join.from || required.length !== 1) {
        ctx.problems.push(`${at}: give \`arguments: { <parameter>: <field of ${typeName}> }\`${join.from ? ` (${target.id ?? target.path} has ${required.length} required parameters)` : ', or `from` for an operation with one required parameter'}`);
        continue;
      }
      mapping = { [required[0]!]: join.from };
    }
    const pairs: Array<[string, string]> = [];
    for (const [param, from] of Object.entries(mapping)) {
      const arg = target.argOf.get(param);
      if (!arg) ctx.problems.push(`${at}.arguments.${param}: ${target.id ?? target.path} has no parameter "${param}"`);
      else pairs.push([arg, from]);
    }
    if (pairs.length !== Object.keys(mapping).length) continue;
    // A key that is a list (`productIds: [..]`) joins a list: one item per key, in the parent's order.
    const listKey = pairs.length === 1 && isArrayProperty(ctx, parentSchema, pairs[0]![1]);

    let resolve: (parent: Record<string, unknown>, args: unknown, context: unknown) => unknown;
    if (join.batch) {
      const batch = join.batch;
      const bulkOp = ctx.find(batch.operation);
      const list = bulkOp ? listShape(ctx, bulkOp) : undefined;
      const inBody = Boolean(bulkOp && !bulkOp.argOf.has(batch.parameter) && bulkOp.compiled.body);
      if (!bulkOp || !list || (!bulkOp.argOf.has(batch.parameter) && !inBody)) {
        ctx.problems.push(`${at}.batch: ${!bulkOp ? `no operation "${batch.operation}"` : !list ? `${batch.operation} does not return a list of objects` : `${batch.operation} has no parameter "${batch.parameter}"`}`);
        continue;
      }
      const bulk: BulkEndpoint = { operation: bulkOp, parameter: batch.parameter, key: batch.key, list, inBody };
      const from = pairs[0]![1];
      const memoKey = `openapi:join:${ctx.descriptor.name}:${coordinate}`;
      const loaderFor = (scope: RequestScope): DataLoader<unknown, unknown, string> => {
        let loader = scope.memo.get(memoKey) as DataLoader<unknown, unknown, string> | undefined;
        if (!loader) {
          loader = new DataLoader(
            async (keys) => {
              const index = await fetchBulk(ctx, bulk, keys, batch.maxKeys, scope);
              return keys.map((k) => index.get(String(k)) ?? null);
            },
            { cacheKeyFn: String, maxBatchSize: batch.maxKeys * 10 },
          );
          scope.memo.set(memoKey, loader);
        }
        return loader;
      };
      resolve = (parentValue, _args, context) => {
        const key = parentValue[from];
        if (key === undefined || key === null) return null;
        const loader = loaderFor(scopeOf(context));
        if (!listKey) return loader.load(key);
        if (!Array.isArray(key)) return null;
        // Every key of every parent in the request goes into the same bulk call(s); an item that failed is an error at its index.
        return Promise.all(key.map((k: unknown) => (k === undefined || k === null ? null : loader.load(k).catch((error: unknown) => error))));
      };
    } else if (listKey) {
      const [arg, from] = pairs[0]!;
      const single = { operation: target, arg };
      resolve = (parentValue, _args, context) => {
        const keys = parentValue[from];
        if (!Array.isArray(keys)) return null;
        const scope = scopeOf(context);
        // Identical GETs are shared within the request, at most `concurrency` in flight; 404 is a null item.
        return Promise.all(keys.map((k: unknown) => (k === undefined || k === null ? null : fetchOne(ctx, single, k, scope))));
      };
    } else {
      resolve = async (parentValue, _args, context) => {
        const args: Record<string, unknown> = {};
        for (const [arg, from] of pairs) {
          const v = parentValue[from];
          if (v === undefined || v === null) return null;
          args[arg] = v;
        }
        const out = await callOne(ctx, target, args, scopeOf(context));
        if (out instanceof Error) throw out;
        return out;
      };
    }
    const item = unwrapNullable(target.type);
    const type = listKey ? new GraphQLList(item) : item;
    ctx.mapper.addFields(parent.name, () => ({
      [field]: {
        type,
        description: `Joined from ${target.id ?? `${target.method} ${target.path}`}.`,
        resolve: resolve as never,
      },
    }));
  }
}

/**
 * Entity entry points named in `entities:` that the document does not have
 * as operations. Returns merge config only where compose/ cannot derive it.
 */
export function addEntityFields(ctx: BuildContext): Record<string, MergedTypeConfig> {
  const entities = ctx.descriptor.entities;
  if (Object.keys(entities).length === 0) return {};
  const analysis = analyzeOperations(ctx);
  for (const [typeName, entity] of Object.entries(entities)) {
    if (!entity.resolvable) continue;
    const at = `entities.${typeName}`;
    const fieldName = entity.batch?.field ?? entity.field;
    const argument = entity.batch?.argument ?? entity.argument;
    if (!fieldName || !argument || ctx.query[fieldName]) continue;
    const type = findType(ctx, typeName);
    if (!type) {
      ctx.problems.push(`${at}: the document has no object type ${typeName}`);
      continue;
    }
    const declared = ctx.descriptor.bulk[typeName];
    let bulk: BulkEndpoint | undefined;
    let maxKeys = 100;
    if (declared) {
      const op = ctx.find(declared.operation);
      const list = op ? listShape(ctx, op) : undefined;
      if (!op || !list) {
        ctx.problems.push(`bulk.${typeName}.operation: ${!op ? `no operation "${declared.operation}" in the document` : `${declared.operation} does not return a list of ${typeName}`}`);
        continue;
      }
      const inBody = !op.argOf.has(declared.parameter) && Boolean(op.compiled.body);
      if (!op.argOf.has(declared.parameter) && !inBody) {
        ctx.problems.push(`bulk.${typeName}.parameter: ${declared.operation} has no parameter "${declared.parameter}"`);
        continue;
      }
      bulk = { operation: op, parameter: declared.parameter, key: declared.key, list, inBody };
      maxKeys = declared.maxKeys;
    } else {
      bulk = analysis.bulks.get(type.name);
    }
    const single = analysis.singles.get(type.name);
    const description = 'Entity entry point for the gateway: one result per key, in order (null where the upstream has none).';
    if (entity.batch) {
      if (bulk) {
        const b = bulk;
        ctx.query[fieldName] = {
          type: new GraphQLNonNull(new GraphQLList(type)),
          args: { [argument]: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLID))) } },
          description: `${description} Calls ${b.operation.id ?? `${b.operation.method} ${b.operation.path}`} once per ${maxKeys} keys.`,
          resolve: async (_source, args, context) => {
            const keys = args[argument] as unknown[];
            const index = await fetchBulk(ctx, b, keys, maxKeys, scopeOf(context));
            return keys.map((k) => index.get(String(k)) ?? null);
          },
        };
      } else if (single) {
        const s = { operation: single.operation, arg: single.operation.argOf.get(single.parameter)! };
        ctx.query[fieldName] = {
          type: new GraphQLNonNull(new GraphQLList(type)),
          args: { [argument]: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLID))) } },
          description: `${description} No bulk endpoint: calls ${single.operation.id ?? single.operation.path} once per key.`,
          resolve: (_source, args, context) => {
            const scope = scopeOf(context);
            return (args[argument] as unknown[]).map((k) => fetchOne(ctx, s, k, scope));
          },
        };
      } else {
        ctx.problems.push(`${at}.batch.field: the document has no operation "${fieldName}", and no endpoint that fetches ${typeName} by key was found (declare one under \`bulk.${typeName}\`)`);
      }
    } else if (single) {
      const s = { operation: single.operation, arg: single.operation.argOf.get(single.parameter)! };
      ctx.query[fieldName] = {
        type,
        args: { [argument]: { type: new GraphQLNonNull(GraphQLID) } },
        description: 'Entity entry point for the gateway: one result by key.',
        resolve: async (_source, args, context) => {
          const out = await fetchOne(ctx, s, args[argument], scopeOf(context));
          if (out instanceof Error) throw out;
          return out;
        },
      };
    } else {
      ctx.problems.push(`${at}.field: the document has no operation "${fieldName}", and no endpoint that fetches ${typeName} by key was found`);
    }
  }
  return {};
}
