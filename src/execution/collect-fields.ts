/**
 * Field collection (GraphQL spec 6.3.2, CollectFields) for the code that
 * completes values without graphql-js's executor: the compiled executor of
 * the OpenAPI and gRPC sources (sources/compiled-executor.ts) and the result
 * check (result-check.ts). Both compile per document, so the answer must
 * not depend on the request: a @skip/@include on a variable, or any other
 * directive, makes it undefined and the caller uses graphql-js instead.
 */
import { isAbstractType, Kind, type DirectiveNode, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLSchema, type SelectionSetNode } from 'graphql';

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

export function fragmentsOf(document: { definitions: ReadonlyArray<{ kind: Kind }> }): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set((d as FragmentDefinitionNode).name.value, d as FragmentDefinitionNode);
  return fragments;
}

/** Whether a selection is included: true/false, or undefined when that depends on the request. */
function included(directives: readonly DirectiveNode[] | undefined): boolean | undefined {
  if (!directives || directives.length === 0) return true;
  let keep = true;
  for (const directive of directives) {
    const name = directive.name.value;
    const argument = directive.arguments?.find((a) => a.name.value === 'if');
    if ((name !== 'skip' && name !== 'include') || argument?.value.kind !== Kind.BOOLEAN) return undefined;
    if (argument.value.value === (name === 'skip')) keep = false;
  }
  return keep;
}

/** Whether a fragment with this type condition applies to an object of `type` (spec 6.3.2, DoesFragmentTypeApply). */
export function applies(schema: GraphQLSchema, condition: string | undefined, type: GraphQLObjectType): boolean {
  if (!condition || condition === type.name) return true;
  const conditionType = schema.getType(condition);
  return conditionType !== undefined && isAbstractType(conditionType) && schema.isSubType(conditionType, type);
}

/**
 * The fields of selection sets on an object type, by response key, in the
 * order graphql-js executes them; undefined when the answer would depend on
 * the request (see above) or a fragment is unknown.
 */
export function collectFields(schema: GraphQLSchema, type: GraphQLObjectType, sets: readonly SelectionSetNode[], fragments: Fragments): Map<string, FieldNode[]> | undefined {
  const fields = new Map<string, FieldNode[]>();
  const visited = new Set<string>();
  const visit = (set: SelectionSetNode): boolean => {
    for (const selection of set.selections) {
      const keep = included(selection.directives);
      if (keep === undefined) return false;
      if (!keep) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const list = fields.get(key);
        if (list) list.push(selection);
        else fields.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(schema, selection.typeCondition?.name.value, type) && !visit(selection.selectionSet)) return false;
      } else {
        const name = selection.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment = fragments.get(name);
        if (!fragment || fragment.directives?.length) return false;
        if (applies(schema, fragment.typeCondition.name.value, type) && !visit(fragment.selectionSet)) return false;
      }
    }
    return true;
  };
  for (const set of sets) if (!visit(set)) return undefined;
  return fields;
}
