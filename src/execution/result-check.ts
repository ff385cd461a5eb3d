/**
 * Checking an answer assembled from subgraph results against the gateway's
 * schema: the client's operation is executed over the data with resolvers
 * that only read it, so graphql-js checks every value's type, applies null
 * bubbling, drops what the client did not ask for (key fields fetched for
 * joins), orders fields as selected, and raises each upstream error at its
 * path. Used by the single-subgraph route for remote subgraphs and by the
 * query planner for every planned operation.
 */
import { isAsyncIterable, mapMaybePromise, MapperKind, mapSchema, type ExecutionResult, type Executor } from '@graphql-tools/utils';
import { collectFields, fragmentsOf, inclusionWith, type Fragments, type Inclusion } from './collect-fields.js';
import {
  execute,
  GraphQLEnumType,
  GraphQLError,
  GraphQLInterfaceType,
  GraphQLScalarType,
  GraphQLUnionType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isSpecifiedScalarType,
  Kind,
  locatedError,
  type DocumentNode,
  type FieldNode,
  type GraphQLAbstractType,
  type GraphQLFieldResolver,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';

const passThrough = (value: unknown): unknown => value;

/**
 * The schema with its resolvers removed (the stitched schema's would call
 * the subgraphs again), abstract types resolved by `__typename`, enums read
 * by name and custom scalars passed through: subgraph results are already in
 * their serialized form (a remote subgraph's custom scalar is opaque to the
 * gateway; an in-process one has serialized it). Built-in scalars keep their
 * checks.
 */
export function checkingSchema(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (config) => ({ ...config, resolve: undefined, subscribe: undefined }),
    [MapperKind.INTERFACE_TYPE]: (type) => new GraphQLInterfaceType({ ...type.toConfig(), resolveType: undefined }),
    [MapperKind.UNION_TYPE]: (type) => new GraphQLUnionType({ ...type.toConfig(), resolveType: undefined }),
    [MapperKind.ENUM_TYPE]: (type) => {
      const config = type.toConfig();
      return new GraphQLEnumType({ ...config, values: Object.fromEntries(Object.entries(config.values).map(([name, value]) => [name, { ...value, value: name }])) });
    },
    [MapperKind.SCALAR_TYPE]: (type) =>
      isSpecifiedScalarType(type) ? type : new GraphQLScalarType({ ...type.toConfig(), serialize: passThrough, parseValue: passThrough }),
  });
}

function pathKey(path: ReadonlyArray<string | number>): string {
  return path.join('\u0000');
}

export interface CheckArgs {
  document: DocumentNode;
  variableValues?: unknown;
  operationName?: string | null;
  contextValue?: unknown;
}

/** Upstream errors with a path, by path: raised where that path's value is missing. */
function locate(result: ExecutionResult, unlocated: GraphQLError[]): Map<string, GraphQLError[]> {
  const located = new Map<string, GraphQLError[]>();
  for (const error of result.errors ?? []) {
    if (!error.path) {
      unlocated.push(error as GraphQLError);
      continue;
    }
    const key = pathKey(error.path);
    const list = located.get(key);
    if (list) list.push(error as GraphQLError);
    else located.set(key, [error as GraphQLError]);
  }
  return located;
}

/** The upstream error for a missing value at `path`, if there is one; any others at the same path become unlocated. */
function takeLocated(located: Map<string, GraphQLError[]>, path: ReadonlyArray<string | number>, unlocated: GraphQLError[]): GraphQLError | undefined {
  const key = pathKey(path);
  const errors = located.get(key);
  if (!errors) return undefined;
  located.delete(key);
  unlocated.push(...errors.slice(1));
  return errors[0];
}

/**
 * The upstream error for a missing value at `path`: one at that path, else, for a non-null field (whose null
 * bubbles up), one at its object's path (an entity a subgraph failed to resolve as a whole).
 */
function takeMissing(located: Map<string, GraphQLError[]>, path: ReadonlyArray<string | number>, nonNull: boolean, unlocated: GraphQLError[]): GraphQLError | undefined {
  return takeLocated(located, path, unlocated) ?? (nonNull && path.length > 1 ? takeLocated(located, path.slice(0, -1), unlocated) : undefined);
}

function withLeftovers(checked: ExecutionResult, located: Map<string, GraphQLError[]>, unlocated: GraphQLError[]): ExecutionResult {
  const leftover = [...unlocated, ...[...located.values()].flat()];
  if (leftover.length === 0) return checked;
  return { ...checked, errors: [...(checked.errors ?? []), ...leftover] };
}

/**
 * The same check by graphql-js's execute, for what the compiled check does not take (introspection, an
 * @skip/@include whose variable is not a boolean: see compilable()).
 */
export function executedCheck(result: ExecutionResult, schema: GraphQLSchema, args: CheckArgs): ExecutionResult {
  const unlocated: GraphQLError[] = [];
  const located = locate(result, unlocated);
  const fieldResolver: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, _args, _context, info) => {
    const value = source[info.path.key];
    if (value == null && located.size > 0) {
      const keys: Array<string | number> = [];
      for (let p: typeof info.path | undefined = info.path; p; p = p.prev) keys.unshift(p.key);
      return takeMissing(located, keys, isNonNullType(info.returnType), unlocated) ?? value;
    }
    return value;
  };
  const checked = execute({
    schema,
    document: args.document,
    rootValue: result.data,
    contextValue: args.contextValue,
    variableValues: args.variableValues as Record<string, unknown> | undefined,
    operationName: args.operationName ?? undefined,
    fieldResolver,
  }) as ExecutionResult;
  return withLeftovers(checked, located, unlocated);
}

/** A field of a compiled check: where it is read and how its value is completed. */
interface ShapeField {
  key: string;
  nodes: FieldNode[];
  parentName: string;
  fieldName: string;
  /** `__typename`: answered from the type being completed. */
  typename: boolean;
  type: GraphQLOutputType;
  /** The fields' selection sets, merged; compiled per concrete type on first use. */
  selections: SelectionSetNode[];
  shapes?: Map<string, ShapeField[]>;
  /** ResultChecker.asInterface, once worked out. */
  asInterface?: boolean;
}

/**
 * What the compiled check leaves to execute: introspection fields. An
 * @skip/@include whose `if` is a variable is compiled once per set of such
 * variables' values (ResultChecker), and left to execute for a request where
 * one of them is not a boolean (null, or absent without a default: execute
 * gives the spec's error). Other directives (a subgraph's, composed with
 * @composeDirective and sent on to it) take no part in the check, as in
 * graphql-js's execute, which reads only @skip/@include.
 */
export function compilable(document: DocumentNode): boolean {
  let ok = true;
  visit(document, {
    Directive(node) {
      if ((node.name.value === 'skip' || node.name.value === 'include') && node.arguments?.some((a) => a.value.kind !== Kind.BOOLEAN && a.value.kind !== Kind.VARIABLE)) ok = false;
    },
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') ok = false;
    },
  });
  return ok;
}

/** An operation's compiled check: its root type, the fields completed on it, and how @skip/@include were decided for it. */
interface Compiled {
  rootType: string;
  shape: ShapeField[];
  include: Inclusion;
}

/**
 * An operation the check compiles: once (`plain`) where no @skip/@include `if` is a variable, else once per set of
 * those variables' values (`variants`, keyed by the values in `variables`' order, at most MAX_VARIANTS kept).
 */
interface Compilable {
  operation: OperationDefinitionNode;
  rootType: GraphQLObjectType;
  /** The variables of @skip/@include `if` arguments, as the operation defines them, with their default values. */
  variables: ReadonlyArray<{ name: string; fallback: unknown }>;
  plain?: Compiled;
  variants: Map<string, Compiled>;
}

/**
 * The compiled checks kept per operation for sets of @skip/@include variable values; past them (a document with
 * many such variables sent with ever other values), a check is compiled for its request alone and not kept.
 */
const MAX_VARIANTS = 32;

/** An operation without @skip/@include on a variable: its literal ones decided, other directives passed over. */
const NO_VALUES: ReadonlyMap<string, boolean> = new Map();

/** The names of the variables given as the `if` of an @skip/@include in the document. */
function inclusionVariables(document: DocumentNode): Set<string> {
  const names = new Set<string>();
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return;
      for (const argument of node.arguments ?? []) if (argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    },
  });
  return names;
}

/** Marks a value whose error makes its nearest nullable parent null (GraphQL spec 6.4.4). */
const BUBBLE = Symbol('bubble');

/**
 * The check compiled per document and operation: a walk over the data that
 * does what graphql-js's execute does with read-only resolvers (the same
 * values, errors, error paths and order), without its per-field resolver
 * calls, info objects and promises checks. A document with @skip/@include
 * on a variable is compiled per set of the values of those variables, and
 * completes an object as graphql-js would for those values.
 */
export class ResultChecker {
  private readonly compiled = new WeakMap<DocumentNode, Map<string, Compilable | null>>();
  private readonly fragments = new WeakMap<DocumentNode, Fragments>();

  /** `schema` is a checkingSchema(). */
  constructor(readonly schema: GraphQLSchema) {}

  check(result: ExecutionResult, args: CheckArgs): ExecutionResult {
    if (result.data == null) return result;
    const operation = this.compilableFor(args.document, args.operationName ?? '');
    const compiled = operation && this.compiledFor(args.document, operation, args.variableValues as Record<string, unknown> | null | undefined);
    if (!compiled) return executedCheck(result, this.schema, args);
    const unlocated: GraphQLError[] = [];
    const run = new CheckRun(this, args.document, compiled.include, locate(result, unlocated), unlocated);
    const data = run.object(compiled.shape, result.data as Record<string, unknown>, compiled.rootType);
    const checked: ExecutionResult = run.errors.length > 0 ? { errors: run.errors, data: data === BUBBLE ? null : data } : { data: data === BUBBLE ? null : data };
    return withLeftovers(checked, run.located, unlocated);
  }

  /** The operation as the check compiles it, worked out on first use; null where execute answers (see compilable()). */
  private compilableFor(document: DocumentNode, name: string): Compilable | null {
    let byOperation = this.compiled.get(document);
    if (!byOperation) this.compiled.set(document, (byOperation = new Map()));
    let found = byOperation.get(name);
    if (found === undefined) {
      const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      const operation = name ? operations.find((o) => o.name?.value === name) : operations.length === 1 ? operations[0] : undefined;
      const kind = operation?.operation;
      const rootType = kind === 'mutation' ? this.schema.getMutationType() : kind === 'query' ? this.schema.getQueryType() : kind === 'subscription' ? this.schema.getSubscriptionType() : undefined;
      found = null;
      if (operation && rootType && compilable(document)) {
        const used = inclusionVariables(document);
        const variables = (operation.variableDefinitions ?? [])
          .filter((d) => used.has(d.variable.name.value))
          .map((d) => ({ name: d.variable.name.value, fallback: d.defaultValue?.kind === Kind.BOOLEAN ? d.defaultValue.value : undefined }));
        found = { operation, rootType, variables, variants: new Map() };
      }
      byOperation.set(name, found);
    }
    return found;
  }

  /**
   * The operation's root shape for this request's @skip/@include variables (Compilable), compiled on first use;
   * null where one of them is not a boolean (execute answers: its error for a null `if`).
   */
  private compiledFor(document: DocumentNode, operation: Compilable, variableValues: Record<string, unknown> | null | undefined): Compiled | null {
    if (operation.variables.length === 0) return (operation.plain ??= this.compile(document, operation, inclusionWith(NO_VALUES)));
    let key = '';
    for (const { name, fallback } of operation.variables) {
      const given = variableValues && Object.hasOwn(variableValues, name) ? variableValues[name] : undefined;
      const value = given === undefined ? fallback : given;
      if (typeof value !== 'boolean') return null;
      key += value ? '1' : '0';
    }
    let compiled = operation.variants.get(key);
    if (!compiled) {
      const values = new Map(operation.variables.map(({ name }, i) => [name, key[i] === '1']));
      compiled = this.compile(document, operation, inclusionWith(values));
      if (operation.variants.size < MAX_VARIANTS) operation.variants.set(key, compiled);
    }
    return compiled;
  }

  private compile(document: DocumentNode, operation: Compilable, include: Inclusion): Compiled {
    return { rootType: operation.rootType.name, shape: this.shape(document, operation.rootType, [operation.operation.selectionSet], include), include };
  }

  /** The document's fragments by name, worked out once per document. */
  private fragmentsOf(document: DocumentNode): Fragments {
    let fragments = this.fragments.get(document);
    if (!fragments) this.fragments.set(document, (fragments = fragmentsOf(document)));
    return fragments;
  }

  /** The fields completed on an object of `type` for these selection sets, @skip/@include decided by `include`. */
  shape(document: DocumentNode, type: GraphQLObjectType | GraphQLInterfaceType, sets: readonly SelectionSetNode[], include: Inclusion): ShapeField[] {
    const fields = collectFields(this.schema, type, sets, this.fragmentsOf(document), include);
    if (!fields) throw new Error('a document compilable() accepted has a selection collectFields() refuses');
    const shape: ShapeField[] = [];
    for (const [key, nodes] of fields) {
      const fieldName = nodes[0]!.name.value;
      if (fieldName === '__typename') {
        shape.push({ key, nodes, parentName: type.name, fieldName, typename: true, type: type, selections: [] });
        continue;
      }
      const definition = type.getFields()[fieldName];
      if (!definition) throw new Error(`${type.name}.${fieldName} is not in the schema the document was validated against`);
      const selections = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
      shape.push({ key, nodes, parentName: type.name, fieldName, typename: false, type: definition.type, selections });
    }
    return shape;
  }

  /**
   * Whether an object of interface `type` at `field` may be completed as the interface itself (its `__typename` the
   * interface's name, as a federation @interfaceObject subgraph answers it): when nothing selected on it that
   * `include` keeps depends on its concrete type, neither `__typename` nor a field under a fragment on another type
   * (the planner asks the concrete type otherwise); else the check fails as graphql-js's would.
   */
  asInterface(document: DocumentNode, field: ShapeField, type: GraphQLInterfaceType, include: Inclusion): boolean {
    if (field.asInterface === undefined) {
      const known = this.fragmentsOf(document);
      /** Whether `set` selects a field `include` keeps, fragments followed whatever their type. */
      const selects = (set: SelectionSetNode): boolean =>
        set.selections.some((s) => {
          const keep = include(s.directives);
          if (keep === false) return false;
          if (keep === undefined || s.kind === Kind.FIELD) return true;
          const fragment = s.kind === Kind.FRAGMENT_SPREAD ? known.get(s.name.value) : s;
          return !fragment || selects(fragment.selectionSet);
        });
      const independent = (set: SelectionSetNode): boolean =>
        set.selections.every((s) => {
          const keep = include(s.directives);
          if (keep === false) return true;
          if (keep === undefined) return false;
          if (s.kind === Kind.FIELD) return s.name.value !== '__typename';
          const fragment = s.kind === Kind.FRAGMENT_SPREAD ? known.get(s.name.value) : s;
          if (!fragment) return false;
          const condition = fragment.typeCondition?.name.value;
          return !condition || condition === type.name ? independent(fragment.selectionSet) : !selects(fragment.selectionSet);
        });
      field.asInterface = field.selections.every(independent);
    }
    return field.asInterface;
  }

  /** The compiled shape of a composite field's value once its concrete type is known (or the interface: asInterface). */
  shapeFor(document: DocumentNode, field: ShapeField, type: GraphQLObjectType | GraphQLInterfaceType, include: Inclusion): ShapeField[] {
    field.shapes ??= new Map();
    let shape = field.shapes.get(type.name);
    if (!shape) field.shapes.set(type.name, (shape = this.shape(document, type, field.selections, include)));
    return shape;
  }
}

/** The first `count` fields of `shape`, read from `source` (whose values they are), in a new object. */
function copyFields(shape: readonly ShapeField[], source: Record<string, unknown>, count: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const field = shape[i]!;
    out[field.key] = source[field.key];
  }
  return out;
}

/**
 * Whether `source` has the shape's keys and no other, in the shape's order
 * (what serializing it would show). Response keys are GraphQL names, never
 * integer-like, so own-key order is insertion order.
 */
function hasExactly(source: Record<string, unknown>, shape: readonly ShapeField[]): boolean {
  if (Object.getPrototypeOf(source) !== Object.prototype) return false;
  let i = 0;
  for (const key in source) {
    if (i >= shape.length || shape[i]!.key !== key) return false;
    i++;
  }
  return i === shape.length;
}

/** One check of one answer. */
class CheckRun {
  readonly errors: GraphQLError[] = [];
  private readonly path: Array<string | number> = [];

  constructor(
    private readonly checker: ResultChecker,
    private readonly document: DocumentNode,
    /** How @skip/@include are decided in the shapes compiled on the way (Compiled.include). */
    private readonly include: Inclusion,
    readonly located: Map<string, GraphQLError[]>,
    private readonly unlocated: GraphQLError[],
  ) {}

  private fail(error: unknown, field: ShapeField): typeof BUBBLE {
    this.errors.push(locatedError(error, field.nodes, this.path.slice()));
    return BUBBLE;
  }

  /**
   * The object completed for `shape`. When every completed value is the
   * source's own and the source has exactly the shape's keys, in order, the
   * source itself is the answer (a subgraph that answered exactly what was
   * asked, the common case): no copy. Otherwise a new object, started at the
   * first field that differs. The source is never written to.
   */
  object(shape: readonly ShapeField[], source: Record<string, unknown>, typeName: string): Record<string, unknown> | typeof BUBBLE {
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < shape.length; i++) {
      const field = shape[i]!;
      this.path.push(field.key);
      let value: unknown;
      const raw = source[field.key];
      if (field.typename) {
        value = typeName;
      } else {
        const upstream = raw == null && this.located.size > 0 ? takeMissing(this.located, this.path, isNonNullType(field.type), this.unlocated) : undefined;
        value = upstream ? this.fail(upstream, field) : this.value(field, field.type, raw);
      }
      this.path.pop();
      if (value === BUBBLE) {
        if (isNonNullType(field.type)) return BUBBLE;
        value = null;
      }
      if (out === undefined && value !== raw) out = copyFields(shape, source, i);
      if (out !== undefined) out[field.key] = value;
    }
    return out ?? (hasExactly(source, shape) ? source : copyFields(shape, source, shape.length));
  }

  private value(field: ShapeField, type: GraphQLOutputType, raw: unknown): unknown {
    if (isNonNullType(type)) {
      const value = this.value(field, type.ofType, raw);
      if (value === null) return this.fail(new Error(`Cannot return null for non-nullable field ${field.parentName}.${field.fieldName}.`), field);
      return value;
    }
    if (raw == null) return null;
    if (isListType(type)) {
      if (!Array.isArray(raw)) return this.fail(new GraphQLError(`Expected Iterable, but did not find one for field "${field.parentName}.${field.fieldName}".`), field);
      const itemType = type.ofType;
      // As for objects: the source list itself while every item is its own.
      let out: unknown[] | undefined;
      for (let i = 0; i < raw.length; i++) {
        this.path.push(i);
        let item = this.value(field, itemType, raw[i]);
        this.path.pop();
        if (item === BUBBLE) {
          if (isNonNullType(itemType)) return BUBBLE;
          item = null;
        }
        if (out === undefined && item !== raw[i]) out = raw.slice(0, i);
        if (out !== undefined) out[i] = item;
      }
      return out ?? raw;
    }
    if (isLeafType(type)) return this.leaf(field, type, raw);
    const schema = this.checker.schema;
    let objectType: GraphQLObjectType | GraphQLInterfaceType;
    if (isObjectType(type)) {
      objectType = type;
    } else if (isInterfaceType(type) && (raw as Record<string, unknown>).__typename === type.name && this.checker.asInterface(this.document, field, type, this.include)) {
      // An @interfaceObject's object, whose concrete type the planner did not ask: nothing selected depends on it.
      objectType = type;
    } else {
      const resolved = this.runtimeType(field, type as GraphQLAbstractType, raw as Record<string, unknown>, schema);
      if (resolved instanceof GraphQLError) return this.fail(resolved, field);
      objectType = resolved;
    }
    return this.object(this.checker.shapeFor(this.document, field, objectType, this.include), raw as Record<string, unknown>, objectType.name);
  }

  private leaf(field: ShapeField, type: GraphQLLeafType, raw: unknown): unknown {
    let out: unknown;
    try {
      out = type.serialize(raw);
    } catch (error) {
      return this.fail(error, field);
    }
    if (out === undefined) return this.fail(new Error(`Expected \`${type.name}\`.serialize(${JSON.stringify(raw)}) to return non-nullable value, returned: undefined`), field);
    return out;
  }

  /** The concrete type named by `__typename`, with graphql-js's errors when it cannot be one. */
  private runtimeType(field: ShapeField, type: GraphQLAbstractType, raw: Record<string, unknown>, schema: GraphQLSchema): GraphQLObjectType | GraphQLError {
    const name = typeof raw === 'object' ? raw.__typename : undefined;
    const nodes = field.nodes;
    if (typeof name !== 'string') {
      return new GraphQLError(
        `Abstract type "${type.name}" must resolve to an Object type at runtime for field "${field.parentName}.${field.fieldName}". Either the "${type.name}" type should provide a "resolveType" function or each possible type should provide an "isTypeOf" function.`,
        { nodes },
      );
    }
    const runtime = schema.getType(name);
    if (!runtime) return new GraphQLError(`Abstract type "${type.name}" was resolved to a type "${name}" that does not exist inside the schema.`, { nodes });
    if (!isObjectType(runtime)) return new GraphQLError(`Abstract type "${type.name}" was resolved to a non-object type "${name}".`, { nodes });
    if (!schema.isSubType(type, runtime)) return new GraphQLError(`Runtime Object type "${runtime.name}" is not a possible type for "${type.name}".`, { nodes });
    return runtime;
  }
}

/**
 * The executor stitching uses for a subgraph whose answers are not trusted
 * (a remote GraphQL service), with each answer checked against the
 * subgraph's own schema before stitching reads it. @graphql-tools/delegate
 * turns a leaf value it cannot parse into null without an error; checked
 * first, a wrong-typed value is null with the same located error the direct
 * and planned routes give (RESPONSE_VALIDATION_FAILED once masked), and
 * stitching moves the error to the client's path.
 */
export function checkedExecutor(schema: GraphQLSchema, executor: Executor): Executor {
  const checker = new ResultChecker(checkingSchema(schema));
  const checked: Executor = (request) =>
    mapMaybePromise(executor(request), (result) =>
      isAsyncIterable(result)
        ? result
        : checker.check(result as ExecutionResult, { document: request.document, variableValues: request.variables, operationName: request.operationName, contextValue: request.context }),
    ) as never;
  return checked;
}
