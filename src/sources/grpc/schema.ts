/**
 * The GraphQL schema of a gRPC service, built once from its protobuf
 * definitions. Every method of the exposed services becomes one root field:
 * - unary methods: Query when read-only (the descriptor's `readOnly`
 *   patterns, or `idempotency_level = NO_SIDE_EFFECTS`), else Mutation;
 * - server-streaming methods: Subscription;
 * - client-streaming and bidirectional methods are left out (GraphQL has no
 *   shape for them); `skipped` lists them so the loader can say so.
 * The field is the method name in lowerCamelCase (`GetStock` → `getStock`),
 * qualified by the service when two services share a method name. Its
 * arguments are the request message's fields (none for an empty request; one
 * `input` argument when the request is a well-known type); its type is the
 * response type.
 */
import {
  GraphQLBoolean,
  GraphQLObjectType,
  GraphQLSchema,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
} from 'graphql';
import protobuf from 'protobufjs';
import type { GrpcMethod } from '../../transport/grpc.js';
import type { Caller } from './client.js';
import { SCALAR_NAMES } from './codecs.js';
import { ProtoMapping, type MappingOptions } from './mapping.js';
import { Naming, pascal, type ProtoType } from './naming.js';

export interface MethodInfo {
  service: protobuf.Service;
  method: protobuf.Method;
  request: protobuf.Type;
  response: protobuf.Type;
  /** `/package.Service/Method` */
  path: string;
  readOnly: boolean;
  kind: 'unary' | 'server-stream' | 'client-stream' | 'bidi';
}

export interface SchemaInput extends MappingOptions {
  root: protobuf.Root;
  /** Service names to expose (short or full); undefined: all but reflection and health. */
  services?: string[];
  readOnly: string[];
  /** GraphQL names taken by entity types the source adds itself (joins). */
  reserved: string[];
}

export interface BuiltSchema {
  mapping: ProtoMapping;
  naming: Naming;
  methods: MethodInfo[];
  /** Methods that have no GraphQL field, with the reason. */
  skipped: string[];
  /** Root fields by method path. */
  fieldOf: Map<string, string>;
  query: GraphQLFieldConfigMap<unknown, unknown>;
  mutation: GraphQLFieldConfigMap<unknown, unknown>;
  subscription: GraphQLFieldConfigMap<unknown, unknown>;
}

const INFRASTRUCTURE = /^\.grpc\.(reflection|health)\./;

export function findServices(root: protobuf.Root, names: string[] | undefined): { services: protobuf.Service[]; unknown: string[] } {
  const all: protobuf.Service[] = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Service) all.push(nested);
      else if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(root);
  if (!names) return { services: all.filter((s) => !INFRASTRUCTURE.test(s.fullName)), unknown: [] };
  const unknown: string[] = [];
  const chosen: protobuf.Service[] = [];
  for (const name of names) {
    const match = all.filter((s) => s.fullName === `.${name}` || s.name === name);
    if (match.length === 0) unknown.push(name);
    for (const s of match) if (!chosen.includes(s)) chosen.push(s);
  }
  return { services: chosen, unknown };
}

/** Does a method match one of the `readOnly` patterns (`Get*`, `Service.Method`, `pkg.Service.*`, `*`)? */
export function matchesPattern(patterns: string[], service: protobuf.Service, method: protobuf.Method): boolean {
  const candidates = [method.name, `${service.name}.${method.name}`, `${service.fullName.slice(1)}.${method.name}`];
  return patterns.some((p) => {
    if (p === '*') return true;
    if (p.endsWith('*')) return candidates.some((c) => c.startsWith(p.slice(0, -1)));
    return candidates.includes(p);
  });
}

function isReadOnly(patterns: string[], service: protobuf.Service, method: protobuf.Method): boolean {
  const level = (method.options as Record<string, unknown> | undefined)?.idempotency_level;
  if (level === 'NO_SIDE_EFFECTS') return true;
  return matchesPattern(patterns, service, method);
}

function methodsOf(services: protobuf.Service[], readOnly: string[]): MethodInfo[] {
  const out: MethodInfo[] = [];
  for (const service of services) {
    for (const method of service.methodsArray) {
      method.resolve();
      const kind = method.requestStream ? (method.responseStream ? 'bidi' : 'client-stream') : method.responseStream ? 'server-stream' : 'unary';
      out.push({
        service,
        method,
        request: method.resolvedRequestType!,
        response: method.resolvedResponseType!,
        path: `/${service.fullName.slice(1)}/${method.name}`,
        readOnly: isReadOnly(readOnly, service, method),
        kind,
      });
    }
  }
  return out;
}

const WELL_KNOWN = /^\.google\.protobuf\.(Timestamp|Duration|(Double|Float|Int64|UInt64|Int32|UInt32|Bool|String|Bytes)Value|Struct|Value|ListValue|Any|FieldMask|Empty)$/;

/** Messages and enums reachable from the methods, skipping those that map to scalars. */
function reachableTypes(methods: MethodInfo[]): Set<ProtoType> {
  const seen = new Set<ProtoType>();
  const visit = (type: ProtoType): void => {
    if (seen.has(type)) return;
    if (type instanceof protobuf.Type && (WELL_KNOWN.test(type.fullName) || type.fieldsArray.length === 0)) return;
    seen.add(type);
    if (type instanceof protobuf.Type) {
      for (const field of type.fieldsArray) {
        field.resolve();
        if (field.resolvedType) visit(field.resolvedType as ProtoType);
      }
    }
  };
  for (const m of methods) {
    if (m.kind === 'client-stream' || m.kind === 'bidi') continue;
    visit(m.request);
    visit(m.response);
  }
  return seen;
}

function lowerFirst(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

/** Root field names: the method name, or service-qualified when two services share it. */
function fieldNames(methods: MethodInfo[]): Map<MethodInfo, string> {
  const count = new Map<string, number>();
  for (const m of methods) count.set(m.method.name, (count.get(m.method.name) ?? 0) + 1);
  const names = new Map<MethodInfo, string>();
  const used = new Set<string>();
  for (const m of methods) {
    let name = count.get(m.method.name)! > 1 ? `${lowerFirst(m.service.name)}${m.method.name}` : lowerFirst(m.method.name);
    if (used.has(name)) name = `${lowerFirst(pascal(m.service.fullName.slice(1)))}${m.method.name}`;
    used.add(name);
    names.set(m, name);
  }
  return names;
}

export function buildRootFields(input: SchemaInput, caller: Caller): BuiltSchema {
  const { services } = findServices(input.root, input.services);
  const methods = methodsOf(services, input.readOnly);
  const naming = new Naming(reachableTypes(methods), ['Query', 'Mutation', 'Subscription', ...SCALAR_NAMES, ...input.reserved]);
  const mapping = new ProtoMapping(naming, input);
  const built: BuiltSchema = { mapping, naming, methods, skipped: [], fieldOf: new Map(), query: {}, mutation: {}, subscription: {} };
  const names = fieldNames(methods.filter((m) => m.kind === 'unary' || m.kind === 'server-stream'));

  for (const info of methods) {
    const label = `${info.service.fullName.slice(1)}.${info.method.name}`;
    if (info.kind === 'client-stream' || info.kind === 'bidi') {
      built.skipped.push(`${label}: ${info.kind === 'bidi' ? 'bidirectional' : 'client'} streaming has no GraphQL field`);
      continue;
    }
    const name = names.get(info)!;
    const { args, method } = methodBinding(mapping, info);
    const type = mapping.element(info.response).output();
    const description = info.method.comment ?? `gRPC ${label}`;
    // A DoubleValue or FloatValue answer: NaN and ±Infinity become a located error.
    const finite = mapping.finiteResult(info.response);
    if (info.kind === 'server-stream') {
      const { subscribe, resolve } = caller.stream(method);
      built.subscription[name] = { type, args, description, subscribe, resolve: finite ? (...a) => finite(resolve(...a)) : resolve };
    } else {
      const unary = caller.unary(method);
      const resolve: GraphQLFieldResolver<unknown, unknown> = finite ? async (...a) => finite(await unary(...a)) : unary;
      const field: GraphQLFieldConfig<unknown, unknown> = { type, args, description, resolve };
      (info.readOnly ? built.query : built.mutation)[name] = field;
    }
    built.fieldOf.set(info.path, name);
  }
  return built;
}

/** The arguments of a method's field and how those arguments become the request message's bytes. */
function methodBinding(mapping: ProtoMapping, info: MethodInfo): { args: GraphQLFieldConfigArgumentMap; method: GrpcMethod<Record<string, unknown>, unknown> } {
  const { request, response } = info;
  const requestElement = mapping.element(request);
  let args: GraphQLFieldConfigArgumentMap = {};
  let toMessage: (args: Record<string, unknown>) => unknown;
  if (request.fieldsArray.length === 0) {
    toMessage = () => ({});
  } else if (mapping.isScalarLike(request)) {
    args = { input: { type: requestElement.input() } };
    toMessage = (a) => (a.input == null ? {} : requestElement.write(a.input));
  } else {
    args = mapping.inputFields(request);
    const write = mapping.writer(request);
    toMessage = (a) => write(a);
  }
  const read = mapping.element(response).read;
  return {
    args,
    method: {
      path: info.path,
      readOnly: info.readOnly,
      serialize: (a) => request.encode(toMessage(a) as Record<string, unknown>).finish() as Buffer,
      deserialize: (bytes) => read(response.decode(bytes)),
    },
  };
}

/** Joins the root fields (and the types the source adds itself) into the subgraph's schema. */
export function assembleSchema(built: BuiltSchema, subgraph: string, extraQuery: GraphQLFieldConfigMap<unknown, unknown> = {}): GraphQLSchema {
  const queryFields = { ...built.query, ...extraQuery };
  if (Object.keys(queryFields).length === 0) {
    // A schema needs a Query type with a field; a service with only mutations or streams gets a harmless one.
    const placeholder = `_${subgraph.replace(/[^A-Za-z0-9_]/g, '_')}`;
    queryFields[placeholder] = { type: GraphQLBoolean, description: 'Always null: this subgraph has no read-only methods.', resolve: () => null };
  }
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: queryFields }),
    mutation: Object.keys(built.mutation).length > 0 ? new GraphQLObjectType({ name: 'Mutation', fields: built.mutation }) : undefined,
    subscription: Object.keys(built.subscription).length > 0 ? new GraphQLObjectType({ name: 'Subscription', fields: built.subscription }) : undefined,
  });
}
