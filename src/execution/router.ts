/**
 * How an operation reaches the subgraphs, decided once per parsed document
 * (Yoga caches parsing, so once per distinct query text) and kept in a
 * WeakMap:
 *
 * 1. The single-subgraph route: an operation whose every field belongs to
 *    one subgraph's own schema is sent to that subgraph as it is, and its
 *    answer returned as it came. For a proxied query that removes most of
 *    the gateway's CPU (see the README's Performance section). Taken when,
 *    for one subgraph whose part of the graph is its schema unchanged
 *    (ComposedGraph.direct), the operation is a query or mutation whose root
 *    selections are plain fields, and every field, fragment type condition,
 *    variable type and directive in the document exists in that subgraph's
 *    schema (`__typename` anywhere, but no introspection, which the gateway
 *    answers itself).
 * 2. The query planner (planner.ts): an operation over several such
 *    subgraphs runs as a fixed list of upstream calls, planned once per
 *    document and operation, answers merged as plain objects.
 * 3. Anything else is stitched (@graphql-tools/stitch), which gives the
 *    same answer.
 *
 * No answer is passed on blindly: a remote subgraph's single-route answer
 * and every planned answer are checked by executing the client's operation
 * over them against the gateway's schema (result-check.ts), which checks
 * every value's type, applies null bubbling, and puts upstream errors at
 * their paths, as stitching would. For that, `__typename` is added to the
 * forwarded document under interfaces and unions.
 */
import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult } from '@graphql-tools/utils';
import {
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
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Logger } from 'pino';
import type { ComposedSubgraph } from '../compose/index.js';
import { planOperation, Unplannable, type PlanGraph, type QueryPlan } from './planner.js';
import { executePlan } from './run-plan.js';
import { checkingSchema, ResultChecker } from './result-check.js';

/** A subgraph an operation can be sent to as it is (one that is not renamed). */
export type DirectRoute = Pick<ComposedSubgraph, 'name' | 'schema' | 'executor' | 'trusted'>;

/** What is known about a document: its single route, if it has one; else its plans by operation name (null: stitched). */
interface DocumentRoutes {
  direct: DirectRoute | undefined;
  plans: Map<string, QueryPlan | null>;
}

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

export interface QueryPlanOptions {
  /** The channel's schema. */
  schema: GraphQLSchema;
  routes: readonly DirectRoute[];
  /** The subgraphs the planner may use; absent: operations over several subgraphs are stitched. */
  graph?: PlanGraph;
  logger?: Logger;
}

export function useQueryPlan(options: QueryPlanOptions): Plugin {
  const { schema, routes, graph, logger } = options;
  if (routes.length === 0) return {};
  const checker = new ResultChecker(checkingSchema(schema));
  const known = new WeakMap<DocumentNode, DocumentRoutes>();
  const rewritten = new WeakMap<DocumentNode, DocumentNode>();
  const routesOf = (document: DocumentNode): DocumentRoutes => {
    let entry = known.get(document);
    if (!entry) known.set(document, (entry = { direct: planDocument(document, schema, routes), plans: new Map() }));
    return entry;
  };
  const planFor = (document: DocumentNode, operation: OperationDefinitionNode): QueryPlan | null => {
    const entry = routesOf(document);
    const name = operation.name?.value ?? '';
    let plan = entry.plans.get(name);
    if (plan === undefined) {
      try {
        plan = planOperation(document, operation, schema, graph!);
      } catch (error) {
        // Declined (Unplannable) is routine; anything else is a planner bug, and stitching still answers.
        if (error instanceof Unplannable) logger?.debug({ operation: name || undefined, reason: error.message }, 'operation stitched: the planner declined it');
        else logger?.error({ operation: name || undefined, err: error }, 'query planner failed on this operation (a bug); it is stitched instead');
        plan = null;
      }
      entry.plans.set(name, plan);
    }
    return plan;
  };
  const forwardedFor = (document: DocumentNode, route: DirectRoute): DocumentNode => {
    if (route.trusted) return document;
    let forwarded = rewritten.get(document);
    if (!forwarded) rewritten.set(document, (forwarded = withAbstractTypenames(document, schema)));
    return forwarded;
  };
  // Operations found, per document and name; a name that finds none is not kept (it comes from the client).
  const operations = new WeakMap<DocumentNode, Map<string, OperationDefinitionNode>>();
  const operationOf = (document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | GraphQLError => {
    let byName = operations.get(document);
    if (!byName) operations.set(document, (byName = new Map()));
    const found = byName.get(name ?? '');
    if (found) return found;
    const operation = selectedOperation(document, name);
    if (!(operation instanceof GraphQLError)) byName.set(name ?? '', operation);
    return operation;
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const route = routesOf(args.document).direct;
      if (!route && !graph) return;
      setExecuteFn(async (execArgs) => {
        const operation = operationOf(execArgs.document, execArgs.operationName);
        if (operation instanceof GraphQLError) return { errors: [requestError(operation)] };
        const plan = route ? undefined : planFor(execArgs.document, operation);
        if (!route && !plan) return executeFn(execArgs);
        // Variables are checked here as graphql-js's execute would (spec 6.1.2, at most 50
        // errors): a request error, and no subgraph is called. Without definitions there is nothing to check.
        if (operation.variableDefinitions?.length) {
          const coerced = getVariableValues(schema, operation.variableDefinitions, (execArgs.variableValues ?? {}) as Record<string, unknown>, { maxErrors: 50 });
          if (coerced.errors) return { errors: coerced.errors.map(requestError) };
        }
        if (plan) {
          const assembled = await executePlan(plan, { variables: execArgs.variableValues as Record<string, unknown> | undefined, context: execArgs.contextValue });
          return checker.check(assembled, execArgs);
        }
        // A plugin after this one (the response cache) may execute a rewritten document (with
        // __typename and id aliases, fields of the same subgraph): that one is what is sent.
        const direct = route!;
        let result: ExecutionResult;
        try {
          result = (await direct.executor({
            document: forwardedFor(execArgs.document, direct),
            variables: execArgs.variableValues ?? undefined,
            operationName: execArgs.operationName ?? undefined,
            operationType: operation.operation,
            context: execArgs.contextValue,
            rootValue: execArgs.rootValue,
          })) as ExecutionResult;
        } catch (error) {
          return failedResult(error, operation, schema);
        }
        return direct.trusted ? result : checker.check(result, execArgs);
      });
    },
  };
}
