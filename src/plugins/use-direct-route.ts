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
 */
import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult } from '@graphql-tools/utils';
import {
  GraphQLError,
  Kind,
  TypeInfo,
  getNamedType,
  isNonNullType,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  BREAK,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { DirectRoute } from '../compose/index.js';

const NO_ROUTE = Symbol('no direct route');
type Plan = DirectRoute | typeof NO_ROUTE;

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

function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
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
    const field = selection as import('graphql').FieldNode;
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
  const plans = new WeakMap<DocumentNode, Plan>();
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
        if (!operation) throw new GraphQLError('Could not determine what operation to execute.');
        try {
          return (await route.executor({
            document: execArgs.document,
            variables: execArgs.variableValues ?? undefined,
            operationName: execArgs.operationName ?? undefined,
            operationType: operation.operation,
            context: execArgs.contextValue,
            rootValue: execArgs.rootValue,
          })) as ExecutionResult;
        } catch (error) {
          return failedResult(error, operation, schema);
        }
      });
    },
  };
}
