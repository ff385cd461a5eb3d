/**
 * Tags a descriptor declares (`tags: { mobile: [Product, Query.products] }`, in
 * the subgraph's own names), in the unified graph's names: what a channel's
 * `include: [tag:mobile]` stands for besides the `@tag` directives of the
 * subgraphs' SDL (compose/channels.ts). For sources whose schema carries no
 * directives (OpenAPI, gRPC, a schema read by introspection).
 */
import { displayPath } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { LoadedSource } from '../sources/types.js';
import { missingCoordinate } from './coordinates.js';
import { namingFor } from './transforms.js';

/** Tag name → the unified-graph coordinates ("Type", "Type.field") that carry it. */
export type DeclaredTags = ReadonlyMap<string, readonly string[]>;

export function declaredTags(sources: readonly LoadedSource[]): DeclaredTags {
  const tags = new Map<string, string[]>();
  const problems: string[] = [];
  for (const { descriptor, schema } of sources) {
    const entries = Object.entries(descriptor.tags ?? {});
    if (entries.length === 0) continue;
    const naming = namingFor(descriptor, schema);
    for (const [tag, coordinates] of entries) {
      coordinates.forEach((coordinate, i) => {
        const missing = missingCoordinate(schema, coordinate);
        if (missing) {
          problems.push(`${displayPath(descriptor.file)}: tags.${tag}[${i}]: "${coordinate}": subgraph "${descriptor.name}" has no ${missing.missing}${missing.hint}`);
          return;
        }
        const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
        const unified = fieldName === undefined ? naming.type(typeName) : `${naming.type(typeName)}.${naming.field(typeName, fieldName)}`;
        tags.set(tag, [...(tags.get(tag) ?? []), unified]);
      });
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return tags;
}
