/**
 * Executing operations against a generated schema (OpenAPI and gRPC sources).
 * Below its root fields such a schema holds plain values read property by
 * property (JSON from a REST answer, or a decoded protobuf message already
 * read into an object keyed by GraphQL field names), yet the general executor
 * pays for each field a resolver call, an info object, an arguments map,
 * promise checks and the garbage they leave: skipping that halved the
 * gateway's CPU per request in bench/'s openapi scenario (20 orders, about
 * 700 fields).
 *
 * So an operation is compiled once per document into one completion function
 * per root field, and when every root field resolves to values that complete
 * without a single error, those functions build the answer directly. Anything
 * else (an error, a null in a non-null field, a value a scalar refuses) is
 * answered by the general executor, replaying the root values already
 * fetched, so errors and null bubbling are exactly graphql-js's and no
 * upstream is called twice. Documents the compiler does not take (directives,
 * abstract types, fields with resolvers of their own, introspection,
 * subscriptions) and calls with an abort signal go to the general executor
 * from the start.
 */
import { createDefaultExecutor } from '@graphql-tools/delegate';
import type { ExecutionRequest, Executor } from '@graphql-tools/utils';
import {
  GraphQLObjectType,
  GraphQLSchema,
  defaultFieldResolver,
  getArgumentValues,
  getVariableValues,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, fragmentsOf, type Fragments } from '../execution/collect-fields.js';

/** What a completion returns when the value needs the general executor (an error somewhere below). */
const FAIL: unique symbol = Symbol('needs the general executor');
type Complete = (value: unknown) => unknown;

interface RootField {
  key: string;
  complete: Complete;
  /** The field and its resolver; absent for `__typename`. */
  field?: GraphQLField<unknown, unknown>;
  resolve?: GraphQLFieldResolver<unknown, unknown>;
  nodes: FieldNode[];
}

interface CompiledDocument {
  operation: OperationDefinitionNode;
  rootType: GraphQLObjectType;
  fields: RootField[];
  /** For the resolvers' info. */
  fragments: Record<string, FragmentDefinitionNode>;
}

/** Resolvers the fast path replaces by reading one property of the parent, by that property. */
const propertyReads = new WeakMap<GraphQLFieldResolver<unknown, unknown>, string>();

/**
 * Declares that `resolve` reads the parent's property `property` and
 * otherwise only checks it, so the fast path reads the property instead of
 * calling it. That holds only when, for every value, either the resolver
 * returns the property as it is, or completing the property as it is fails
 * (a scalar's serialize refuses it, a null in a non-null type): then the
 * general executor replays the field and calls the resolver, whose error
 * (or whatever else it returns) is the answer.
 */
export function registerPropertyRead<R extends GraphQLFieldResolver<any, any, any>>(resolve: R, property: string): R {
  propertyReads.set(resolve, property);
  return resolve;
}

/** The resolver of a field whose value is the parent's property `property` (a GraphQL name that differs from the document's). */
export function propertyResolver(property: string): GraphQLFieldResolver<unknown, unknown> {
  return registerPropertyRead((source) => (source as Record<string, unknown>)[property], property);
}

/**
 * The completion of a value of `type` selected by `nodes` (spec 6.4.3,
 * CompleteValue), or undefined when the selection needs the general executor.
 */
function compileValue(schema: GraphQLSchema, type: GraphQLOutputType, nodes: readonly FieldNode[], fragments: Fragments): Complete | undefined {
  if (isNonNullType(type)) {
    const inner = compileValue(schema, type.ofType, nodes, fragments);
    // Every completion returns null only for a null or missing value, so checking the value first is the spec's check.
    return inner && ((value) => (value === null || value === undefined ? FAIL : inner(value)));
  }
  if (isListType(type)) {
    const item = compileValue(schema, type.ofType, nodes, fragments);
    if (!item) return undefined;
    return (value) => {
      if (value === null || value === undefined) return null;
      if (!Array.isArray(value)) return FAIL;
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        const completed = item(value[i]);
        if (completed === FAIL) return FAIL;
        out[i] = completed;
      }
      return out;
    };
  }
  if (isLeafType(type)) {
    return (value) => {
      if (value === null || value === undefined) return null;
      try {
        const serialized = type.serialize(value);
        return serialized === null || serialized === undefined ? FAIL : serialized;
      } catch {
        return FAIL;
      }
    };
  }
  if (!isObjectType(type) || type.isTypeOf) return undefined;
  const fields = collectFields(
    schema,
    type,
    nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : [])),
    fragments,
  );
  if (!fields) return undefined;
  const reads: Array<{ key: string; property?: string; complete: Complete }> = [];
  for (const [key, fieldNodes] of fields) {
    // A response key `__proto__` would set the prototype of the plain objects built here.
    if (key === '__proto__') return undefined;
    const name = fieldNodes[0]!.name.value;
    if (name === '__typename') {
      reads.push({ key, complete: () => type.name });
      continue;
    }
    const field = type.getFields()[name];
    if (!field || field.args.length > 0) return undefined;
    const property = field.resolve ? propertyReads.get(field.resolve) : name;
    const complete = property === undefined ? undefined : compileValue(schema, field.type, fieldNodes, fragments);
    if (!complete) return undefined;
    reads.push({ key, property, complete });
  }
  return (value) => {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'object' || Array.isArray(value)) return FAIL;
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const read of reads) {
      let completed: unknown;
      if (read.property === undefined) completed = read.complete(undefined);
      else {
        const property = source[read.property];
        // The default resolver calls a function-valued property; generated values hold none, the general executor handles it.
        if (typeof property === 'function') return FAIL;
        completed = read.complete(property);
      }
      if (completed === FAIL) return FAIL;
      out[read.key] = completed;
    }
    return out;
  };
}

/** The operation compiled, or undefined when the general executor must run it. */
function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledDocument | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName === undefined ? (operations.length === 1 ? operations[0] : undefined) : operations.find((o) => o.name?.value === operationName);
  if (!operation || operation.operation === 'subscription' || operation.directives?.length) return undefined;
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!rootType) return undefined;
  const fragments = fragmentsOf(document);
  const collected = collectFields(schema, rootType, [operation.selectionSet], fragments);
  if (!collected) return undefined;
  const fields: RootField[] = [];
  for (const [key, nodes] of collected) {
    if (key === '__proto__') return undefined;
    const name = nodes[0]!.name.value;
    if (name === '__typename') {
      fields.push({ key, nodes, complete: () => rootType.name });
      continue;
    }
    const field = rootType.getFields()[name];
    const resolve = field?.resolve;
    if (!field || !resolve) return undefined;
    const complete = compileValue(schema, field.type, nodes, fragments);
    if (!complete) return undefined;
    fields.push({ key, field, resolve, nodes, complete });
  }
  return { operation, rootType, fields, fragments: Object.fromEntries(fragments) };
}

/** A root field's outcome: its value, or what its resolver threw. */
type Outcome = { value: unknown } | { error: unknown };

/** What the replay runs on: the outcomes already known, by response key, and the request's own root value. */
class Replay {
  constructor(
    readonly outcomes: Map<string, Outcome>,
    readonly rootValue: unknown,
  ) {}
}

/** Schemas whose root resolvers replayFrom() has wrapped (a schema may get more than one executor). */
const replaying = new WeakSet<GraphQLSchema>();

/**
 * Wraps the root fields' resolvers once, in place: given a Replay as the root
 * value, a root field returns the outcome already known for its response key
 * (or throws its error), and calls its own resolver only for the fields not
 * run yet (the mutations after a failed one), as the general executor would.
 * Any other root value reaches the resolver as before. The schema's types stay
 * the source's own instances, so a type's own methods (the gRPC enums'
 * serialize, which names unknown numbers UNRECOGNIZED) answer in the replay
 * as they would have.
 */
function replayFrom(schema: GraphQLSchema): void {
  if (replaying.has(schema)) return;
  replaying.add(schema);
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        if (!(source instanceof Replay)) return resolve(source, args, context, info);
        const outcome = source.outcomes.get(String(info.path.key));
        if (!outcome) return resolve(source.rootValue, args, context, info);
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      };
    }
  }
}

/** The executor of a generated schema (OpenAPI, gRPC): the compiled fast path, the general executor otherwise. */
export function createCompiledExecutor(schema: GraphQLSchema): Executor {
  replayFrom(schema);
  const general = createDefaultExecutor(schema) as Executor;
  const compiled = new WeakMap<DocumentNode, Map<string | undefined, CompiledDocument | null>>();
  const compiledFor = (request: ExecutionRequest): CompiledDocument | undefined => {
    let byName = compiled.get(request.document);
    if (!byName) compiled.set(request.document, (byName = new Map()));
    const name = request.operationName ?? undefined;
    let doc = byName.get(name);
    if (doc === undefined) byName.set(name, (doc = compile(schema, request.document, name) ?? null));
    return doc ?? undefined;
  };

  /** Runs a root field's resolver as the executor would; undefined when its arguments are invalid (the resolver is not called). */
  const resolveRoot = async (doc: CompiledDocument, root: RootField, request: ExecutionRequest, variables: Record<string, unknown>): Promise<Outcome | undefined> => {
    const field = root.field!;
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(field, root.nodes[0]!, variables);
    } catch {
      return undefined;
    }
    const info: GraphQLResolveInfo = {
      fieldName: field.name,
      fieldNodes: root.nodes,
      returnType: field.type,
      parentType: doc.rootType,
      path: { prev: undefined, key: root.key, typename: doc.rootType.name },
      schema,
      fragments: doc.fragments,
      rootValue: request.rootValue,
      operation: doc.operation,
      variableValues: variables,
    };
    try {
      return { value: await root.resolve!(request.rootValue, args, request.context, info) };
    } catch (error) {
      return { error };
    }
  };

  /** A root field's completed value, or FAIL when the general executor has to answer. */
  const completeRoot = (root: RootField, outcome: Outcome | undefined): unknown => {
    if (!root.resolve) return root.complete(undefined);
    // A resolver may return an Error as its value, which the executor raises as the field's error.
    if (!outcome || 'error' in outcome || outcome.value instanceof Error) return FAIL;
    return root.complete(outcome.value);
  };

  const run = async (doc: CompiledDocument, request: ExecutionRequest): Promise<Awaited<ReturnType<Executor>>> => {
    const variables = getVariableValues(schema, doc.operation.variableDefinitions ?? [], (request.variables ?? {}) as Record<string, unknown>, { maxErrors: 50 });
    if (variables.errors) return general(request);
    const outcomes = new Map<string, Outcome>();
    const data: Record<string, unknown> = {};
    let failed = false;
    if (doc.operation.operation === 'query') {
      // Every root field starts at once, as in the general executor.
      const settled = await Promise.all(doc.fields.map((root) => root.resolve && resolveRoot(doc, root, request, variables.coerced)));
      for (const [i, root] of doc.fields.entries()) {
        const outcome = settled[i];
        if (outcome) outcomes.set(root.key, outcome);
      }
      for (const root of doc.fields) {
        const completed = completeRoot(root, outcomes.get(root.key));
        if (completed === FAIL) {
          failed = true;
          break;
        }
        data[root.key] = completed;
      }
    } else {
      // Mutations run one after the other (spec 6.3.1); after a failed one, the replay runs the rest if the spec says so.
      for (const root of doc.fields) {
        const outcome = root.resolve && (await resolveRoot(doc, root, request, variables.coerced));
        if (outcome) outcomes.set(root.key, outcome);
        const completed = completeRoot(root, outcome);
        if (completed === FAIL) {
          failed = true;
          break;
        }
        data[root.key] = completed;
      }
    }
    if (!failed) return { data };
    return general({ ...request, rootValue: new Replay(outcomes, request.rootValue) });
  };

  const executor = (request: ExecutionRequest): ReturnType<Executor> => {
    // With a signal the general executor stops between fields when it aborts; the fast path has no such points.
    const doc = request.signal || request.info?.signal ? undefined : compiledFor(request);
    return doc ? run(doc, request) : general(request);
  };
  return executor as Executor;
}
