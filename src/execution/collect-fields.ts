/**
 * Field collection (GraphQL spec 6.3.2, CollectFields), written once for
 * every part of the gateway that works on selections without graphql-js's
 * executor: the query planner (planner.ts), the result check
 * (result-check.ts), the compiled executors of the OpenAPI and gRPC sources
 * (sources/compiled-executor.ts), and the router, which finds the client's
 * field for an error's path (fieldNodesAt).
 */
import {
  getNamedType,
  isAbstractType,
  isObjectType,
  Kind,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

/** Directives of the fragments a field was selected through, outermost first (those a walk keeps, see Inclusion). */
export type Wraps = ReadonlyArray<readonly DirectiveNode[]>;

/**
 * What a walk does with a selection, given its directives: true take it,
 * false leave it out, 'wrap' take it and keep the directives (a fragment:
 * they are handed to onField as wraps, for a caller that sends them on),
 * undefined stop the walk (the caller cannot decide).
 */
export type Inclusion = (directives: readonly DirectiveNode[] | undefined) => boolean | 'wrap' | undefined;

export function fragmentsOf(document: { definitions: ReadonlyArray<{ kind: Kind }> }): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set((d as FragmentDefinitionNode).name.value, d as FragmentDefinitionNode);
  return fragments;
}

/**
 * @skip/@include with literal arguments applied (spec 3.13); undefined when
 * that depends on the request (a variable) or on another directive. For
 * callers that compile per document, whose answer must not depend on the request.
 */
export const literalInclusion: Inclusion = (directives) => {
  if (!directives || directives.length === 0) return true;
  let keep = true;
  for (const directive of directives) {
    const name = directive.name.value;
    const argument = directive.arguments?.find((a) => a.name.value === 'if');
    if ((name !== 'skip' && name !== 'include') || argument?.value.kind !== Kind.BOOLEAN) return undefined;
    if (argument.value.value === (name === 'skip')) keep = false;
  }
  return keep;
};

/**
 * @skip/@include applied with their `if` given literally or by a variable of
 * `values` (spec 3.13; the request's boolean for each, or its default);
 * undefined for a variable not in `values`. Other directives are passed
 * over, as graphql-js's execute does (it reads only @skip/@include). For
 * callers that compile per set of such values (result-check.ts).
 */
export function inclusionWith(values: ReadonlyMap<string, boolean>): Inclusion {
  return (directives) => {
    if (!directives || directives.length === 0) return true;
    let keep = true;
    for (const directive of directives) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const argument = directive.arguments?.find((a) => a.name.value === 'if')?.value;
      const value = argument?.kind === Kind.BOOLEAN ? argument.value : argument?.kind === Kind.VARIABLE ? values.get(argument.name.value) : undefined;
      if (value === undefined) return undefined;
      if (value === (name === 'skip')) keep = false;
    }
    return keep;
  };
}

/** Fragments keep their directives as wraps (the planner forwards them); fields keep their own. */
export const forwardedInclusion: Inclusion = (directives) => (directives && directives.length > 0 ? 'wrap' : true);

/**
 * Whether a fragment with this type condition applies to an object of `type` (spec 6.3.2, DoesFragmentTypeApply);
 * `type` an interface for an object completed without its concrete type (an @interfaceObject's: result-check.ts).
 */
export function applies(schema: GraphQLSchema, condition: string | undefined, type: GraphQLObjectType | GraphQLInterfaceType): boolean {
  if (!condition || condition === type.name) return true;
  const conditionType = schema.getType(condition);
  return conditionType !== undefined && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
}

/**
 * Walks the fields selected on an object of `type` (undefined: of any type,
 * every fragment applies), fragments flattened, in document order: spec
 * 6.3.2 CollectFields before the grouping by response key. A named fragment
 * is visited once when taken outright, as the spec says; a wrapped one each
 * time (whether it applies is decided later, by whoever reads the wraps).
 * False when the walk stopped: `include` could not decide, or a fragment is
 * unknown or carries directives of its own.
 */
export function walkFields(
  schema: GraphQLSchema,
  type: GraphQLObjectType | GraphQLInterfaceType | undefined,
  sets: readonly SelectionSetNode[],
  fragments: Fragments,
  include: Inclusion,
  onField: (field: FieldNode, wraps: Wraps) => void,
): boolean {
  const visited = new Set<string>();
  const visit = (set: SelectionSetNode, wraps: Wraps): boolean => {
    for (const selection of set.selections) {
      const keep = include(selection.directives);
      if (keep === undefined) return false;
      if (keep === false) continue;
      if (selection.kind === Kind.FIELD) {
        onField(selection, wraps);
        continue;
      }
      let condition: string | undefined;
      let inner: SelectionSetNode;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        condition = selection.typeCondition?.name.value;
        inner = selection.selectionSet;
      } else {
        const name = selection.name.value;
        if (keep === true) {
          if (visited.has(name)) continue;
          visited.add(name);
        }
        const fragment = fragments.get(name);
        if (!fragment || fragment.directives?.length) return false;
        condition = fragment.typeCondition.name.value;
        inner = fragment.selectionSet;
      }
      if (type && !applies(schema, condition, type)) continue;
      if (!visit(inner, keep === 'wrap' ? [...wraps, selection.directives!] : wraps)) return false;
    }
    return true;
  };
  for (const set of sets) if (!visit(set, [])) return false;
  return true;
}

/**
 * The fields of selection sets on an object type, by response key, in the
 * order graphql-js executes them; undefined when `include` cannot decide (by
 * default literalInclusion: the answer would depend on the request) or a
 * fragment is unknown.
 */
export function collectFields(
  schema: GraphQLSchema,
  type: GraphQLObjectType | GraphQLInterfaceType,
  sets: readonly SelectionSetNode[],
  fragments: Fragments,
  include: Inclusion = literalInclusion,
): Map<string, FieldNode[]> | undefined {
  const fields = new Map<string, FieldNode[]>();
  const complete = walkFields(schema, type, sets, fragments, include, (field) => {
    const key = field.alias?.value ?? field.name.value;
    const list = fields.get(key);
    if (list) list.push(field);
    else fields.set(key, [field]);
  });
  return complete ? fields : undefined;
}

/** A field of a composite type by name; under a union or interface, the first possible type's that has it. */
function fieldOf(schema: GraphQLSchema, type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if ('getFields' in type) {
    const field = type.getFields()[name];
    if (field) return field;
  }
  if (!isAbstractType(type)) return undefined;
  for (const possible of schema.getPossibleTypes(type)) {
    const field = possible.getFields()[name];
    if (field) return field;
  }
  return undefined;
}

/**
 * The client's field nodes an error's path names (what graphql-js would give
 * as the error's locations), found by walking the operation along the path.
 * Under an interface or union every fragment counts, the runtime type being
 * unknown here. Undefined when the path leaves the operation.
 */
export function fieldNodesAt(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments, path: ReadonlyArray<string | number>): FieldNode[] | undefined {
  let type: GraphQLCompositeType | undefined | null = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  let sets: SelectionSetNode[] = [operation.selectionSet];
  let nodes: FieldNode[] | undefined;
  for (const key of path) {
    if (typeof key === 'number') continue;
    if (!type) return undefined;
    const found: FieldNode[] = [];
    walkFields(schema, isObjectType(type) ? type : undefined, sets, fragments, () => true, (field) => {
      if ((field.alias?.value ?? field.name.value) === key) found.push(field);
    });
    if (found.length === 0) return undefined;
    nodes = found;
    const definition = fieldOf(schema, type, found[0]!.name.value);
    const named = definition ? getNamedType(definition.type) : undefined;
    type = named && (isObjectType(named) || isAbstractType(named)) ? named : undefined;
    sets = found.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  }
  return nodes;
}
