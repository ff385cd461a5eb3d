/**
 * The fast path: an operation whose every field belongs to one subgraph's
 * own schema is sent to that subgraph as it is, and its answer returned as
 * it came, instead of being planned, split and merged by the stitching
 * executor. For a proxied query that is most of the gateway's CPU (measured:
 * see the README's Performance section).
 *
 * The plan (which subgraph, or none) is computed once per parsed document
 * (Yoga caches parsing, so one plan per distinct query text) and kept in a
 * WeakMap. An operation is routed directly only when, for one subgraph whose
 * part of the graph is its schema unchanged (ComposedGraph.direct):
 * - it is a query or mutation, and every root selection is a plain field;
 * - every field, fragment type condition, variable type and directive in the
 *   document exists in that subgraph's schema (`__typename` anywhere, but no
 *   introspection, which the gateway answers itself).
 * Everything else goes through stitching, which gives the same answer.
 *
 * The answer of a remote GraphQL subgraph is not passed on blindly: the
 * client's operation is executed over it against the gateway's schema, which
 * checks every value's type, applies null bubbling, and puts the subgraph's
 * errors at their paths, as stitching would. For that, `__typename` is added
 * to the forwarded document under interfaces and unions.
 */
import type { Plugin } from 'graphql-yoga';
import { MapperKind, mapSchema, type ExecutionResult } from '@graphql-tools/utils';
import {
  execute,
  getVariableValues,
  GraphQLError,
  isAbstractType,
  Kind,
  TypeInfo,
  getNamedType,
  isNonNullType,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  BREAK,
  type DocumentNode,
  type FieldNode,
  GraphQLInterfaceType,
  GraphQLUnionType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { DirectRoute } from '../compose/index.js';

const NO_ROUTE = Symbol('no direct route');
type Plan = DirectRoute | typeof NO_ROUTE;

const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/** The document with `__typename` selected in every selection set whose type is an interface or union. */
export function withAbstractTypenames(document: DocumentNode, schema: GraphQLSchema): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        leave(node: SelectionSetNode) {
          const type = typeInfo.getType();
          const named = type ? getNamedType(type) : undefined;
          if (!named || !isAbstractType(named)) return undefined;
          if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias)) return undefined;
          return { ...node, selections: [...node.selections, TYPENAME] };
        },
      },
    }),
  );
}

/**
 * The schema with its resolvers removed (the stitched schema's would call the
 * subgraphs again) and abstract types resolved by `__typename`: what checking
 * a result needs. Scalars keep their serialisation.
 */
export function dataOnlySchema(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (config) => ({ ...config, resolve: undefined, subscribe: undefined }),
    [MapperKind.INTERFACE_TYPE]: (type) => new GraphQLInterfaceType({ ...type.toConfig(), resolveType: undefined }),
    [MapperKind.UNION_TYPE]: (type) => new GraphQLUnionType({ ...type.toConfig(), resolveType: undefined }),
  });
}

function pathKey(path: ReadonlyArray<string | number>): string {
  return path.join('\u0000');
}

/**
 * Executes the client's operation over a subgraph's answer: values are
 * type-checked and null-bubbled by graphql-js as for any execution, and an
 * upstream error lands where its path says.
 */
function checkedResult(
  result: ExecutionResult,
  schema: GraphQLSchema,
  args: { document: DocumentNode; variableValues?: unknown; operationName?: string | null; contextValue?: unknown },
): ExecutionResult | Promise<ExecutionResult> {
  if (result.data == null) return result;
  const located = new Map<string, GraphQLError[]>();
  const unlocated: GraphQLError[] = [];
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
  const fieldResolver: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, _args, _context, info) => {
    const value = source[info.path.key];
    if (value == null && located.size > 0) {
      const keys: Array<string | number> = [];
      for (let p: typeof info.path | undefined = info.path; p; p = p.prev) keys.unshift(p.key);
      const key = pathKey(keys);
      const errors = located.get(key);
      if (errors) {
        // The first error is raised at its field; any others at the same path are kept as they are.
        located.delete(key);
        unlocated.push(...errors.slice(1));
        return errors[0];
      }
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
  const leftover = [...unlocated, ...[...located.values()].flat()];
  if (leftover.length === 0) return checked;
  return { ...checked, errors: [...(checked.errors ?? []), ...leftover] };
}

function hasField(schema: GraphQLSchema, typeName: string, fieldName: string): boolean {
  const type = schema.getType(typeName);
  return type !== undefined && 'getFields' in type && fieldName in (type.getFields() as Record<string, unknown>);
}

/** The one route that can serve every part of the document, if there is one. */
export function planDocument(document: DocumentNode, schema: GraphQLSchema, routes: readonly DirectRoute[]): DirectRoute | undefined {
  let candidates = routes.slice();
  const keep = (test: (route: DirectRoute) => boolean): void => {
    candidates = candidates.filter(test);
  };
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition(node) {
        if (node.operation === 'subscription' || node.selectionSet.selections.some((s) => s.kind !== Kind.FIELD)) candidates = [];
      },
      VariableDefinition(node) {
        const type = typeFromAST(schema, node.type as never);
        const name = type ? getNamedType(type).name : undefined;
        keep((r) => name !== undefined && r.schema.getType(name) !== undefined);
      },
      Field(node) {
        const name = node.name.value;
        if (name === '__typename') return;
        if (name.startsWith('__')) {
          candidates = [];
          return;
        }
        const parentName = typeInfo.getParentType()?.name;
        keep((r) => parentName !== undefined && hasField(r.schema, parentName, name));
      },
      InlineFragment(node) {
        if (node.typeCondition) keep((r) => r.schema.getType(node.typeCondition!.name.value) !== undefined);
      },
      FragmentDefinition(node) {
        keep((r) => r.schema.getType(node.typeCondition.name.value) !== undefined);
      },
      Directive(node) {
        keep((r) => r.schema.getDirective(node.name.value) !== undefined);
      },
      enter() {
        if (candidates.length === 0) return BREAK;
        return undefined;
      },
    }),
  );
  return candidates[0];
}

/**
 * A request error (no operation, bad variables): 400 for
 * application/graphql-response+json, 200 for application/json, as the
 * GraphQL-over-HTTP spec says; Yoga reads `extensions.http` to decide.
 */
function requestError(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400, spec: true } } });
}

/** The operation to run (GraphQL spec 6.1, GetOperation), or the request error graphql-js would give. */
function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | GraphQLError {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((o) => o.name?.value === operationName) ?? new GraphQLError(`Unknown operation named "${operationName}".`);
  if (operations.length === 1) return operations[0]!;
  return new GraphQLError('Must provide operation name if query contains multiple operations.');
}

/**
 * What stitching would answer when the subgraph call itself fails: every
 * root field null with the error at its path (or data null when a root field
 * is non-null).
 */
function failedResult(error: unknown, operation: OperationDefinitionNode, schema: GraphQLSchema): ExecutionResult {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  const data: Record<string, null> = {};
  let nonNull = false;
  const errors = operation.selectionSet.selections.map((selection) => {
    const field = selection as FieldNode;
    const key = field.alias?.value ?? field.name.value;
    data[key] = null;
    const definition = root?.getFields()[field.name.value];
    if (definition && isNonNullType(definition.type)) nonNull = true;
    const base = error instanceof GraphQLError ? error : new GraphQLError((error as Error).message ?? String(error));
    return new GraphQLError(base.message, { nodes: [field], path: [key], extensions: base.extensions, originalError: base.originalError ?? undefined });
  });
  return { data: nonNull ? null : data, errors };
}

export function useDirectRoute(options: { schema: GraphQLSchema; routes: readonly DirectRoute[] }): Plugin {
  const { schema, routes } = options;
  if (routes.length === 0) return {};
  const checkingSchema = dataOnlySchema(schema);
  const plans = new WeakMap<DocumentNode, Plan>();
  const rewritten = new WeakMap<DocumentNode, DocumentNode>();
  const forwardedFor = (document: DocumentNode, route: DirectRoute): DocumentNode => {
    if (route.trusted) return document;
    let forwarded = rewritten.get(document);
    if (!forwarded) rewritten.set(document, (forwarded = withAbstractTypenames(document, schema)));
    return forwarded;
  };
  return {
    onExecute({ args, setExecuteFn }) {
      let plan = plans.get(args.document);
      if (plan === undefined) {
        plan = planDocument(args.document, schema, routes) ?? NO_ROUTE;
        plans.set(args.document, plan);
      }
      if (plan === NO_ROUTE) return;
      const route = plan;
      setExecuteFn(async (execArgs) => {
        const operation = selectedOperation(execArgs.document, execArgs.operationName);
        if (operation instanceof GraphQLError) return { errors: [requestError(operation)] };
        // Variables are checked here as graphql-js's execute would (spec 6.1.2, at most 50
        // errors): a request error, and the subgraph is not called.
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], (execArgs.variableValues ?? {}) as Record<string, unknown>, { maxErrors: 50 });
        if (coerced.errors) return { errors: coerced.errors.map(requestError) };
        // A plugin after this one (the response cache) may execute a rewritten document (with
        // __typename and id aliases, fields of the same subgraph): that one is what is sent.
        const forwarded = forwardedFor(execArgs.document, route);
        let result: ExecutionResult;
        try {
          result = (await route.executor({
            document: forwarded,
            variables: execArgs.variableValues ?? undefined,
            operationName: execArgs.operationName ?? undefined,
            operationType: operation.operation,
            context: execArgs.contextValue,
            rootValue: execArgs.rootValue,
          })) as ExecutionResult;
        } catch (error) {
          return failedResult(error, operation, schema);
        }
        return route.trusted ? result : checkedResult(result, checkingSchema, execArgs);
      });
    },
  };
}
