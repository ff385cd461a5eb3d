/**
 * Which endpoints fetch a type by key, read from the document:
 * `GET /products/{id}` returning Product proposes Product keyed by `id`;
 * `GET /products?ids=…` (an array query parameter named ids, *Ids or *_ids)
 * returning a list of Product, or `POST /products/search|batch` taking such a
 * list, is Product's bulk endpoint. A type with a single endpoint and no bulk
 * one is an N+1 join. Used by descriptor joins (joins.ts), entity entry points
 * (entities.ts) and pagination (where a page's list is).
 */
import { getNamedType, isListType, isNonNullType, isObjectType, type GraphQLObjectType, type GraphQLOutputType } from 'graphql';
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

export function unwrapNullable(type: GraphQLOutputType): GraphQLOutputType {
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
export function isArrayProperty(ctx: BuildContext, schema: Schema, property: string): boolean {
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

/** The object type a descriptor names (as the document spells the schema, or with its punctuation dropped). */
export function findType(ctx: BuildContext, name: string): GraphQLObjectType | undefined {
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
