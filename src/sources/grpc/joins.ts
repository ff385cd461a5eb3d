/**
 * Entities resolved through a batch method (`joins:` in the descriptor). For
 *
 *   entities: { Product: { key: id, batch: { field: productsById, argument: ids } } }
 *   joins: { Product: { method: GetStockLevels, keys: product_ids, results: levels, resultKey: product_id, field: stock } }
 *
 * the subgraph gets `type Product { id: ID!, stock: StockLevel }` and
 * `Query.productsById(ids: [ID!]!): [Product]!`. The stitcher's batched
 * delegation sends every key of one request to that field at once; the
 * resolver makes ONE call with the distinct keys and hands back one Product
 * per key, in the order asked, whatever order (and however many) the
 * upstream answered with.
 */
import { GraphQLID, GraphQLList, GraphQLNonNull, GraphQLObjectType, type GraphQLEnumType, type GraphQLFieldConfigMap, type GraphQLScalarType } from 'graphql';
import protobuf from 'protobufjs';
import type { Descriptor } from '../../config/descriptor.js';
import type { GrpcDescriptor, GrpcJoin } from '../../config/grpc.js';
import { displayPath } from '../../config/load.js';
import type { GrpcMethod } from '../../transport/grpc.js';
import type { Caller } from './client.js';
import { keyText, mapKeyReader } from './codecs.js';
import type { BuiltSchema, MethodInfo } from './schema.js';

export interface BuiltJoins {
  query: GraphQLFieldConfigMap<unknown, unknown>;
  problems: string[];
}

function findMethod(methods: MethodInfo[], name: string): MethodInfo[] {
  return methods.filter((m) => {
    const full = `${m.service.fullName.slice(1)}.${m.method.name}`;
    return m.method.name === name || `${m.service.name}.${m.method.name}` === name || full === name;
  });
}

export function buildJoins(descriptor: GrpcDescriptor & Descriptor, built: BuiltSchema, caller: Caller): BuiltJoins {
  const where = displayPath(descriptor.file);
  const out: BuiltJoins = { query: {}, problems: [] };
  for (const [typeName, join] of Object.entries(descriptor.joins)) {
    const at = `${where}: joins.${typeName}`;
    const problem = (text: string): void => void out.problems.push(`${at}${text}`);
    const entity = descriptor.entities[typeName];
    if (!entity?.batch) {
      problem(`: needs \`entities.${typeName}\` with \`batch: { field, argument }\` (the root field this join creates)`);
      continue;
    }
    if (typeof entity.key !== 'string') {
      problem(`: entities.${typeName}.key must be one field for a join`);
      continue;
    }
    const candidates = findMethod(built.methods, join.method);
    if (candidates.length !== 1) {
      const names = built.methods.map((m) => m.method.name).join(', ') || 'none';
      problem(`.method: ${candidates.length === 0 ? `no method "${join.method}" (methods: ${names})` : `"${join.method}" is ambiguous; qualify it with the service`}`);
      continue;
    }
    const info = candidates[0]!;
    if (info.kind !== 'unary') {
      problem(`.method: ${join.method} is a streaming method; a join needs a unary one`);
      continue;
    }
    const keysField = info.request.fields[join.keys];
    if (!keysField || !keysField.repeated || keysField.map || keysField.resolve().resolvedType instanceof protobuf.Type) {
      problem(`.keys: ${info.request.fullName.slice(1)} has no repeated scalar field "${join.keys}"`);
      continue;
    }
    const resultsField = info.response.fields[join.results];
    const isMap = resultsField?.map === true;
    if (!resultsField || (!isMap && !resultsField.repeated)) {
      problem(`.results: ${info.response.fullName.slice(1)} has no repeated or map field "${join.results}"`);
      continue;
    }
    resultsField.resolve();
    const itemType = resultsField.resolvedType;
    let resultKey: string | undefined;
    if (!isMap) {
      if (!(itemType instanceof protobuf.Type)) {
        problem(`.results: ${join.results} must hold messages`);
        continue;
      }
      resultKey = join.resultKey;
      if (!resultKey || !itemType.fields[resultKey]) {
        problem(`.resultKey: ${itemType.fullName.slice(1)} has no field "${resultKey ?? '(missing)'}" (the field that holds each item's key)`);
        continue;
      }
    }
    if (built.query[entity.batch.field]) {
      problem(`: entities.${typeName}.batch.field "${entity.batch.field}" is already the field of a method; choose another name`);
      continue;
    }
    out.query[entity.batch.field] = joinField(typeName, entity.key, entity.batch.argument, join, info, built, caller, resultKey);
  }
  return out;
}

function joinField(
  typeName: string,
  keyName: string,
  argument: string,
  join: GrpcJoin,
  info: MethodInfo,
  built: BuiltSchema,
  caller: Caller,
  resultKey: string | undefined,
): GraphQLFieldConfigMap<unknown, unknown>[string] {
  const keysField = info.request.fields[join.keys]!;
  const resultsField = info.response.fields[join.results]!;
  const keyElement = built.mapping.fieldElement(keysField);
  const itemElement = built.mapping.fieldElement(resultsField);
  // String keys are IDs, as entity keys usually are elsewhere in the graph.
  const keyType = keysField.type === 'string' ? GraphQLID : (keyElement.output() as GraphQLScalarType | GraphQLEnumType);
  const entityType = new GraphQLObjectType({
    name: typeName,
    description: `${typeName} as seen by this subgraph: ${join.field} comes from ${info.service.name}.${info.method.name}.`,
    fields: () => ({
      [keyName]: { type: new GraphQLNonNull(keyType) },
      [join.field]: { type: itemElement.output(), description: `From ${info.service.name}.${info.method.name}; null when it returned nothing for this key.` },
    }),
  });
  const readMapKey = resultsField.map ? mapKeyReader((resultsField as unknown as protobuf.MapField).keyType) : undefined;
  const method: GrpcMethod<Record<string, unknown>, Record<string, unknown>> = {
    path: info.path,
    readOnly: info.readOnly,
    serialize: (request) => info.request.encode(request).finish() as Buffer,
    deserialize: (bytes) => info.response.decode(bytes) as unknown as Record<string, unknown>,
  };
  return {
    type: new GraphQLNonNull(new GraphQLList(entityType)),
    args: { [argument]: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(keyType))) } },
    description: `${typeName} by ${keyName}, one per key in the order given: one ${info.method.name} call for all of them.`,
    resolve: async (_root, args, context) => {
      const keys = args[argument] as unknown[];
      if (keys.length === 0) return [];
      const distinct = new Map<string, unknown>();
      for (const key of keys) distinct.set(String(key), key);
      const request = { [keysField.name]: [...distinct.values()].map(keyElement.write) };
      const response = await caller.call(method, request, context);
      const found = new Map<string, unknown>();
      const results = response[resultsField.name];
      if (readMapKey) {
        for (const [k, v] of Object.entries((results ?? {}) as Record<string, unknown>)) found.set(String(readMapKey(k)), itemElement.read(v));
      } else {
        for (const item of (results ?? []) as Array<Record<string, unknown>>) found.set(keyText(item[resultKey!]), itemElement.read(item));
      }
      return keys.map((key) => ({ [keyName]: key, [join.field]: found.get(String(key)) ?? null }));
    },
  };
}
