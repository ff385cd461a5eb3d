/**
 * Descriptors declare the scopes a type or field needs in the subgraph's own
 * names (`auth: { Query.orders: [orders:read] }`); the gateway enforces them
 * on the unified graph, where a prefix or rename may have changed the names.
 * This translates every rule, and reports a rule naming nothing (a typo would
 * otherwise leave a field unprotected). Pure: no I/O.
 */
import { isInterfaceType, isObjectType } from 'graphql';
import { displayPath } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { LoadedSource } from '../sources/types.js';
import { missingCoordinate } from './coordinates.js';
import { namingFor } from './transforms.js';

/** One rule: satisfied when the caller has every scope of at least one group (`[[]]`: any authenticated caller). */
export type Requirement = ReadonlyArray<readonly string[]>;

/** Unified-graph coordinate ("Type" or "Type.field") → every requirement on it (all must hold). */
export type AuthRules = ReadonlyMap<string, readonly Requirement[]>;

export function authRulesFor(sources: readonly LoadedSource[]): AuthRules {
  const rules = new Map<string, Requirement[]>();
  const problems: string[] = [];
  for (const { descriptor, schema, federation } of sources) {
    // A federation subgraph's @authenticated and @requiresScopes (its names are the unified graph's: it is never renamed).
    for (const [coordinate, requirements] of federation?.auth ?? []) rules.set(coordinate, [...(rules.get(coordinate) ?? []), ...requirements]);
    const entries = Object.entries(descriptor.auth ?? {});
    if (entries.length === 0) continue;
    const naming = namingFor(descriptor, schema);
    for (const [coordinate, requirement] of entries) {
      const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
      const type = schema.getType(typeName);
      const at = `${displayPath(descriptor.file)}: auth."${coordinate}"`;
      const missing = missingCoordinate(schema, coordinate);
      if (missing || (fieldName !== undefined && !(isObjectType(type) || isInterfaceType(type)))) {
        problems.push(`${at}: subgraph "${descriptor.name}" has no ${missing?.missing ?? `field ${coordinate}`}${missing?.hint ?? ''}`);
        continue;
      }
      const unified = fieldName === undefined ? naming.type(typeName) : `${naming.type(typeName)}.${naming.field(typeName, fieldName)}`;
      const list = rules.get(unified) ?? [];
      list.push(requirement);
      rules.set(unified, list);
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return rules;
}
