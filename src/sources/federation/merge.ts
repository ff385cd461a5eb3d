/**
 * Stitching's merge configuration for a federation subgraph's entities:
 * the route the planner does not take (execution/router.ts) joins them
 * through `_entities(representations:)` too, with the first @key, and
 * @requires fields as computed fields (their required fields fetched first
 * and sent in the representation). A nested key or required field is sent
 * with its field sets' fields alone, as the planner's are (representation.ts):
 * stitching adds `__typename` under an interface or union, and the object may
 * hold the client's own fields too.
 */
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import { Kind, print, type GraphQLSchema, type SelectionNode, type SelectionSetNode } from 'graphql';
import type { FederationInfo } from '../types.js';
import { represent, shapeOf, type Shape } from './representation.js';

const namesOf = (set: SelectionSetNode): string[] => set.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));

/** The shape of each nested field of these field sets, by name (a field nested in several: their selections together). */
function shapesOf(sets: readonly SelectionSetNode[], schema: GraphQLSchema): Map<string, Shape> {
  const nested = new Map<string, SelectionNode[]>();
  for (const set of sets) {
    for (const s of set.selections) if (s.kind === Kind.FIELD && s.selectionSet) nested.set(s.name.value, [...(nested.get(s.name.value) ?? []), ...s.selectionSet.selections]);
  }
  return new Map([...nested].map(([name, selections]) => [name, shapeOf({ kind: Kind.SELECTION_SET, selections }, [schema])]));
}

export function stitchingMerge(info: FederationInfo, schema: GraphQLSchema): Record<string, MergedTypeConfig> {
  const merge: Record<string, MergedTypeConfig> = {};
  for (const [typename, keys] of info.entities) {
    // An entity interface or an @interfaceObject: only the planner joins them.
    if (info.entityInterfaces.has(typename) || info.interfaceObjects.has(typename)) continue;
    const key = keys[0];
    if (!key) continue;
    const keyNames = namesOf(key);
    const required = [...info.requires].filter(([coordinate]) => coordinate.startsWith(`${typename}.`));
    const requiredNames = [...new Set(required.flatMap(([, set]) => namesOf(set)))];
    const shapes = shapesOf([key, ...required.map(([, set]) => set)], schema);
    const read = (object: Record<string, unknown>, name: string): unknown => {
      const shape = shapes.get(name);
      return shape ? represent(object[name], shape) : object[name];
    };
    merge[typename] = {
      selectionSet: print(key),
      fieldName: '_entities',
      key: (object: Record<string, unknown>) => {
        const representation: Record<string, unknown> = { __typename: typename };
        for (const name of keyNames) representation[name] = read(object, name);
        for (const name of requiredNames) if (object[name] !== undefined) representation[name] = read(object, name);
        return representation;
      },
      argsFromKeys: (representations: readonly unknown[]) => ({ representations }),
      ...(required.length > 0 && {
        fields: Object.fromEntries(required.map(([coordinate, set]) => [coordinate.slice(typename.length + 1), { selectionSet: print(set), computed: true }])),
      }),
    };
  }
  return merge;
}
