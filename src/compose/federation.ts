/**
 * Federation subgraphs in the unified graph: every `kind: federation`
 * source's SDL composed with @theguild/federation-composition (its errors
 * name the subgraph, the type or field and the directive, and stop the
 * gateway and `tessera check` like any composition problem), and each
 * subgraph's @key entities as the planner's entity joins through
 * `_entities(representations:)`. Pure: no I/O.
 */
import { composeServices } from '@theguild/federation-composition';
import { filterSchema } from '@graphql-tools/utils';
import { Kind, parse, parseType, type GraphQLSchema } from 'graphql';
import { displayPath } from '../config/load.js';
import type { FederationInfo, LoadedSource } from '../sources/types.js';
import type { EntityEntry } from './index.js';

/** Every composition error of the federation sources, each prefixed with the descriptor file of the subgraph it names. */
export function composeFederation(sources: readonly LoadedSource[]): string[] {
  const federated = sources.filter((s) => s.federation);
  if (federated.length === 0) return [];
  const files = new Map(federated.map((s) => [s.descriptor.name, displayPath(s.descriptor.file)]));
  const result = composeServices(
    federated.map((s) => ({ name: s.descriptor.name, typeDefs: parse(s.federation!.sdl, { noLocation: true }), url: s.descriptor.upstreams[0]?.url })),
  );
  return (result.errors ?? []).map((error) => {
    const subgraph = typeof error.extensions?.subgraphName === 'string' ? error.extensions.subgraphName : /^\[([^\]]+)\]/.exec(error.message)?.[1];
    const code = typeof error.extensions?.code === 'string' ? ` (${error.extensions.code})` : '';
    const where = subgraph && files.get(subgraph) ? `${files.get(subgraph)}: ` : '';
    return `${where}federation composition: ${error.message}${code}`;
  });
}

const REPRESENTATIONS = parseType('[_Any!]!');

/** A federation subgraph's resolvable entities as entity joins through `_entities(representations:)`. */
export function federationEntities(info: FederationInfo): Map<string, EntityEntry> {
  const entries = new Map<string, EntityEntry>();
  for (const [typename, keys] of info.entities) {
    if (keys.length === 0) continue;
    const first = keys[0]!.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));
    entries.set(typename, {
      keys: first,
      field: '_entities',
      argument: 'representations',
      argumentType: REPRESENTATIONS,
      batch: true,
      federation: { typename, keys },
    });
  }
  return entries;
}

/** The subgraph's schema without its @requires fields: what may be sent to it outside `_entities` (the direct route). */
export function withoutRequires(schema: GraphQLSchema, info: FederationInfo): GraphQLSchema {
  if (info.requires.size === 0) return schema;
  return filterSchema({ schema, objectFieldFilter: (type, field) => !info.requires.has(`${type}.${field}`) });
}

/** The fields each federation subgraph has been overridden on for good (@override(from:) without a label in another subgraph): subgraph name → "Type.field". */
export function overriddenFields(sources: readonly LoadedSource[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const source of sources) {
    for (const [coordinate, { from, label }] of source.federation?.overrides ?? []) {
      if (label !== undefined) continue;
      const set = out.get(from) ?? new Set<string>();
      set.add(coordinate);
      out.set(from, set);
    }
  }
  return out;
}

/**
 * A federation source without the fields another subgraph took over (@override): never asked of it, by any
 * route. A field in one of its keys stays (it still identifies the entity there).
 */
export function withoutOverridden(source: LoadedSource, coordinates: ReadonlySet<string> | undefined): LoadedSource {
  const info = source.federation;
  if (!info || !coordinates || coordinates.size === 0) return source;
  const keyFields = new Set<string>();
  for (const [typename, keys] of info.entities) {
    for (const set of keys) for (const s of set.selections) if (s.kind === Kind.FIELD) keyFields.add(`${typename}.${s.name.value}`);
  }
  const dropped = (type: string, field: string): boolean => coordinates.has(`${type}.${field}`) && !keyFields.has(`${type}.${field}`);
  const schema = filterSchema({ schema: source.schema, rootFieldFilter: (_operation, field) => !dropped('Query', field) && !dropped('Mutation', field), objectFieldFilter: (type, field) => !dropped(type, field) });
  return { ...source, schema };
}

/** Every "Type" and "Type.field" a federation subgraph marks @inaccessible: left out of the unified graph. */
export function inaccessibleOf(sources: readonly LoadedSource[]): Set<string> {
  const out = new Set<string>();
  for (const source of sources) for (const coordinate of source.federation?.inaccessible ?? []) out.add(coordinate);
  return out;
}

/** A progressive override's label: `percent(n)`, n from 0 to 100 with at most 8 decimals (the federation spec's form). */
const PERCENT = /^percent\((\d{1,3}(?:\.\d{1,8})?)\)$/;

/**
 * A field taken over with `@override(from:, label:)`: both subgraphs keep it, and each request asks the overriding
 * one when the label is on for it, else `from` (the router rolls each label once per request, so the choice is
 * the same everywhere in it). `percent(n)` is on for n% of requests; any other label (which Apollo Router leaves to
 * a coprocessor to switch on) is never on here: `from` keeps answering.
 */
export interface LabelledOverride {
  from: string;
  label: string;
  /** The share of requests (0 to 100) the label is on for. */
  percent: number;
}

/** A federation subgraph's labelled overrides by "Type.field" (see LabelledOverride). */
export function labelledOverrides(info: FederationInfo): Map<string, LabelledOverride> {
  const out = new Map<string, LabelledOverride>();
  for (const [coordinate, { from, label }] of info.overrides) {
    if (label === undefined) continue;
    const percent = PERCENT.exec(label);
    out.set(coordinate, { from, label, percent: percent ? Math.min(100, Number(percent[1])) : 0 });
  }
  return out;
}

/** Labels that are neither `percent(n)` with n ≤ 100 nor a custom label: problems naming the descriptor, field and label. */
export function overrideLabelProblems(sources: readonly LoadedSource[]): string[] {
  const problems: string[] = [];
  for (const source of sources) {
    for (const [coordinate, { label }] of source.federation?.overrides ?? []) {
      if (label === undefined) continue;
      const percent = PERCENT.exec(label);
      const custom = /^[A-Za-z][A-Za-z0-9_\-:.]*$/.test(label);
      if ((percent && Number(percent[1]) > 100) || (!percent && !custom)) {
        problems.push(`${displayPath(source.descriptor.file)}: ${coordinate} @override(label: "${label}"): a label is "percent(n)" with n from 0 to 100 (up to 8 decimals), or a name of letters, digits, _ - : .`);
      }
    }
  }
  return problems;
}
