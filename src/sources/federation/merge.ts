/**
 * Stitching's merge configuration for a federation subgraph's entities:
 * the route the planner does not take (execution/router.ts) joins them
 * through `_entities(representations:)` too, with the first @key, and
 * @requires fields as computed fields (their required fields fetched first
 * and sent in the representation).
 */
import type { MergedTypeConfig } from '@graphql-tools/delegate';
import { Kind, print, type SelectionSetNode } from 'graphql';
import type { FederationInfo } from '../types.js';

const namesOf = (set: SelectionSetNode): string[] => set.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));

export function stitchingMerge(info: FederationInfo): Record<string, MergedTypeConfig> {
  const merge: Record<string, MergedTypeConfig> = {};
  for (const [typename, keys] of info.entities) {
    // An entity interface or an @interfaceObject: only the planner joins them.
    if (info.entityInterfaces.has(typename) || info.interfaceObjects.has(typename)) continue;
    const key = keys[0];
    if (!key) continue;
    const keyNames = namesOf(key);
    const required = [...info.requires].filter(([coordinate]) => coordinate.startsWith(`${typename}.`));
    const requiredNames = [...new Set(required.flatMap(([, set]) => namesOf(set)))];
    merge[typename] = {
      selectionSet: print(key),
      fieldName: '_entities',
      key: (object: Record<string, unknown>) => {
        const representation: Record<string, unknown> = { __typename: typename };
        for (const name of keyNames) representation[name] = object[name];
        for (const name of requiredNames) if (object[name] !== undefined) representation[name] = object[name];
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
