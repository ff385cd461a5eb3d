/**
 * Static cost of an operation, estimated before anything runs: a field costs
 * `objectCost` (object, interface, union) or `scalarCost` (scalar, enum), and
 * a list adds what is under it once per item it will return:
 * `products(first: 4) { id name }` = 1 + 4 × (1 + 1) = 9 with the defaults.
 * `{ users(first: 1000000) { posts { id } } }` costs millions, which is the
 * point (docs/security.md, "Query limits"). The limits plugin refuses on
 * it; the rate limiter charges it.
 *
 * How many items a list returns:
 * - a field its source annotated (list-size.ts: OpenAPI operations with a
 *   page-size parameter, the `items` of a page object, the `edges`/`nodes` of
 *   a generated connection): the largest of its slicing arguments, applied
 *   to the field itself or to its `sizedFields`; absent, the source's
 *   default size, else `listSize`; never more than the source's `maxSize`;
 * - any other field (GraphQL and gRPC subgraphs, whose schemas carry no such
 *   annotation): an argument named in `listArguments` (case and `_` ignored,
 *   so `per_page` is `perPage`) sizes the field when it is a list, and every
 *   list directly under it when it is an object (a Relay connection's `edges`
 *   and `nodes`, a page's `items`); absent, `listSize`.
 * Argument values are read as execution will see them: variables coerced,
 * schema defaults applied, then an Int, a Float, a BigInt or a numeric string
 * taken as a number (a BigInt argument may arrive as "1000").
 *
 * Fragments are costed once per evaluation and per list size they inherit,
 * and reused, so a document that spreads fragments into each other
 * (exponential fan-out) costs linear time to estimate. Call only on a valid
 * document (no fragment cycles).
 */
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
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
} from 'graphql';
import { foldName, listSizeOf } from '../list-size.js';

export interface CostOptions {
  listSize: number;
  listArguments: readonly string[];
  objectCost: number;
  scalarCost: number;
}

/** A size an object field hands to the lists directly under it: to the fields named, or to every list. */
interface Inherited {
  size: number;
  fields: ReadonlySet<string> | 'every list';
  /** Memo key of the fragments costed under it. */
  key: string;
}

interface Walk {
  schema: GraphQLSchema;
  options: CostOptions;
  /** `listArguments`, folded (list-size.ts foldName). */
  listArguments: ReadonlySet<string>;
  /** Coerced variable values; empty when they do not coerce (execution refuses those anyway). */
  variables: Record<string, unknown>;
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
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  let coerced: Record<string, unknown> = {};
  if (operation.variableDefinitions?.length) {
    const result = getVariableValues(schema, operation.variableDefinitions, variables ?? {}, { maxErrors: 1 });
    if (result.coerced) coerced = result.coerced;
  }
  const walk: Walk = {
    schema,
    options,
    listArguments: new Set(options.listArguments.map(foldName)),
    variables: coerced,
    fragments,
    fragmentCost: new Map(),
  };
  return selectionSetCost(walk, operation.selectionSet, root, undefined);
}

function selectionSetCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType, inherited: Inherited | undefined): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    switch (selection.kind) {
      case Kind.FIELD:
        total += fieldCost(walk, selection, parent, inherited);
        break;
      case Kind.INLINE_FRAGMENT: {
        const type = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
        if (type && (isObjectType(type) || isAbstractType(type))) total += selectionSetCost(walk, selection.selectionSet, type, inherited);
        break;
      }
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        const key = inherited ? `${name} ${inherited.key}` : name;
        let cost = walk.fragmentCost.get(key);
        if (cost === undefined) {
          const fragment = walk.fragments.get(name);
          const type = fragment && walk.schema.getType(fragment.typeCondition.name.value);
          cost = fragment && type && (isObjectType(type) || isAbstractType(type)) ? selectionSetCost(walk, fragment.selectionSet, type, inherited) : 0;
          walk.fragmentCost.set(key, cost);
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

function inheritedBy(size: number, fields: ReadonlySet<string> | 'every list'): Inherited {
  return { size, fields, key: `${size}:${fields === 'every list' ? '*' : [...fields].join(',')}` };
}

function fieldCost(walk: Walk, node: FieldNode, parent: GraphQLCompositeType, inherited: Inherited | undefined): number {
  // Introspection (and __typename) is answered by the gateway itself.
  if (node.name.value.startsWith('__')) return 0;
  const field = fieldOf(parent, node.name.value);
  if (!field) return 0;
  const named = getNamedType(field.type);
  if (isLeafType(named) || !node.selectionSet) return walk.options.scalarCost;
  const depth = listDepth(field.type);
  // The size this field's parent hands down, when this field is one of the lists it sizes.
  const handed = inherited && depth > 0 && (inherited.fields === 'every list' || inherited.fields.has(field.name)) ? inherited.size : undefined;
  const annotation = listSizeOf(field);
  let outer: number | undefined;
  let handing: Inherited | undefined;
  if (annotation) {
    let size = sizeOf(walk, node, field, (name) => annotation.slicingArguments.includes(name)) ?? annotation.assumedSize ?? walk.options.listSize;
    if (annotation.maxSize !== undefined) size = Math.min(size, annotation.maxSize);
    if (annotation.sizedFields.length > 0) handing = inheritedBy(size, new Set(annotation.sizedFields));
    else outer = size;
  } else {
    const given = sizeOf(walk, node, field, (name) => walk.listArguments.has(foldName(name)));
    if (depth > 0) outer = given;
    else if (given !== undefined) handing = inheritedBy(given, 'every list');
  }
  if (handed !== undefined) outer = Math.max(outer ?? 0, handed);
  const children = selectionSetCost(walk, node.selectionSet, named as GraphQLCompositeType, handing);
  if (depth === 0) return walk.options.objectCost + children;
  const items = (outer ?? walk.options.listSize) * walk.options.listSize ** (depth - 1);
  return walk.options.objectCost + items * children;
}

/** How many list levels wrap a field's type: 0 for an object, 1 for [T], 2 for [[T]]. */
function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  let current: GraphQLOutputType = getNullableType(type);
  while (isListType(current)) {
    depth++;
    current = getNullableType(current.ofType);
  }
  return depth;
}

/**
 * The largest value among the field's size arguments, as execution will see
 * it (variables coerced, schema defaults applied); undefined when none is set.
 */
function sizeOf(walk: Walk, node: FieldNode, field: GraphQLField<unknown, unknown>, isSize: (name: string) => boolean): number | undefined {
  const sizing = field.args.filter((a) => isSize(a.name));
  if (sizing.length === 0) return undefined;
  let values: Record<string, unknown>;
  try {
    values = getArgumentValues(field, node, walk.variables);
  } catch {
    // A value that does not coerce fails execution too; nothing is fetched.
    return undefined;
  }
  let size: number | undefined;
  for (const argument of sizing) {
    const value = countOf(values[argument.name]);
    if (value !== undefined) size = Math.max(size ?? 0, value);
  }
  return size;
}

const NUMERIC = /^\s*\+?\d+(\.\d+)?(e\+?\d+)?\s*$/i;

/** A size value as a whole number of items: Int, Float, BigInt (a JavaScript bigint) or a numeric string; negative is 0. */
function countOf(value: unknown): number | undefined {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && NUMERIC.test(value)) n = Number(value);
  if (n === undefined || Number.isNaN(n)) return undefined;
  return Math.max(0, Math.ceil(n));
}
