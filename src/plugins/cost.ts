/**
 * Static cost of an operation, estimated before anything runs: a field costs
 * `objectCost` (object, interface, union) or `scalarCost` (scalar, enum), and
 * a list field adds what is under it once per item it will return, read from
 * its `first`/`limit`/… argument (a literal or a variable) or assumed to be
 * `listSize`: `products(first: 4) { id name }` = 1 + 4 × (1 + 1) = 9 with the
 * defaults. `{ users(first: 1000000) { posts { id } } }` costs millions, which
 * is the point (row 16 of docs/reliability.md). The limits plugin refuses on it;
 * the rate limiter charges it.
 *
 * Fragments are costed once per evaluation and reused, so a document that
 * spreads fragments into each other (exponential fan-out) costs linear time
 * to estimate. Call only on a valid document (no fragment cycles).
 */
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isLeafType,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type FieldNode,
  type ValueNode,
} from 'graphql';

export interface CostOptions {
  listSize: number;
  listArguments: readonly string[];
  objectCost: number;
  scalarCost: number;
}

interface Walk {
  schema: GraphQLSchema;
  options: CostOptions;
  listArguments: ReadonlySet<string>;
  variables: Record<string, unknown>;
  defaults: Map<string, ValueNode>;
  fragments: Map<string, FragmentDefinitionNode>;
  fragmentCost: Map<string, number>;
}

/** The estimated cost of `operation` with these variable values. */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  options: CostOptions,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const defaults = new Map<string, ValueNode>();
  for (const variable of operation.variableDefinitions ?? []) {
    if (variable.defaultValue) defaults.set(variable.variable.name.value, variable.defaultValue);
  }
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const walk: Walk = {
    schema,
    options,
    listArguments: new Set(options.listArguments),
    variables: variables ?? {},
    defaults,
    fragments,
    fragmentCost: new Map(),
  };
  return selectionSetCost(walk, operation.selectionSet, root);
}

function selectionSetCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD:
        total += fieldCost(walk, selection, parent);
        break;
      case Kind.INLINE_FRAGMENT: {
        const type = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
        if (type && (isObjectType(type) || isAbstractType(type))) total += selectionSetCost(walk, selection.selectionSet, type);
        break;
      }
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        let cost = walk.fragmentCost.get(name);
        if (cost === undefined) {
          const fragment = walk.fragments.get(name);
          const type = fragment && walk.schema.getType(fragment.typeCondition.name.value);
          cost = fragment && type && (isObjectType(type) || isAbstractType(type)) ? selectionSetCost(walk, fragment.selectionSet, type) : 0;
          walk.fragmentCost.set(name, cost);
        }
        total += cost;
        break;
      }
    }
  }
  return total;
}

function fieldOf(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function fieldCost(walk: Walk, node: FieldNode, parent: GraphQLCompositeType): number {
  // Introspection (and __typename) is answered by the gateway itself.
  if (node.name.value.startsWith('__')) return 0;
  const field = fieldOf(parent, node.name.value);
  if (!field) return 0;
  const named = getNamedType(field.type);
  if (isLeafType(named) || !node.selectionSet) return walk.options.scalarCost;
  const children = selectionSetCost(walk, node.selectionSet, named as GraphQLCompositeType);
  return walk.options.objectCost + listFactor(walk, node, field.type) * children;
}

/** Items a field returns: 1 for a non-list, the size argument (or listSize) for a list, multiplied for nested lists. */
function listFactor(walk: Walk, node: FieldNode, type: GraphQLOutputType): number {
  let depth = 0;
  let current: GraphQLOutputType = getNullableType(type);
  while (isListType(current)) {
    depth++;
    current = getNullableType(current.ofType);
  }
  if (depth === 0) return 1;
  const outer = sizeArgument(walk, node) ?? walk.options.listSize;
  return outer * walk.options.listSize ** (depth - 1);
}

function sizeArgument(walk: Walk, node: FieldNode): number | undefined {
  let size: number | undefined;
  for (const argument of node.arguments ?? []) {
    if (!walk.listArguments.has(argument.name.value)) continue;
    const value = numberOf(walk, argument.value);
    if (value !== undefined) size = Math.max(size ?? 0, value);
  }
  return size;
}

function numberOf(walk: Walk, value: ValueNode): number | undefined {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const name = value.name.value;
    const given = walk.variables[name];
    if (typeof given === 'number' && Number.isFinite(given)) return Math.max(0, given);
    const fallback = walk.defaults.get(name);
    return fallback ? numberOf(walk, fallback) : undefined;
  }
  return undefined;
}
