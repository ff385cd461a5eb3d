/**
 * Federation subgraphs in the unified graph: every `kind: federation`
 * source's SDL composed with @theguild/federation-composition (its errors
 * name the subgraph, the type or field and the directive, and stop the
 * gateway and `tessera check` like any composition problem), and each
 * subgraph's @key entities as the planner's entity joins through
 * `_entities(representations:)`; the input types and enums they share
 * merged in the unified graph as that composition merged them. Pure: no I/O.
 */
import { ValidationLevel, type ValidationSettings } from '@graphql-tools/stitch';
import { filterSchema, mapSchema, MapperKind } from '@graphql-tools/utils';
import {
  buildASTSchema,
  GraphQLEnumType,
  GraphQLInputObjectType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  Kind,
  parse,
  parseType,
  printSchema,
  typeFromAST,
  type DefinitionNode,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type InterfaceTypeDefinitionNode,
  type ObjectTypeDefinitionNode,
} from 'graphql';
import { displayPath } from '../config/load.js';
import type { FederationInfo, LoadedSource } from '../sources/types.js';
import type { EntityEntry, Renames } from './index.js';
import { federationComposition } from '../load-on-use.js';

/** What composing the federation sources gives: its errors, or the composed API schema (the spec's merge of every shared type). */
export interface FederationComposition {
  /** Every composition error, each prefixed with the descriptor file of the subgraph it names. */
  problems: string[];
  /** The API schema @theguild/federation-composition composed (its `publicSdl`); absent when there are errors or no federation sources. */
  api?: GraphQLSchema;
}

export function composeFederation(sources: readonly LoadedSource[]): FederationComposition {
  const federated = sources.filter((s) => s.federation);
  if (federated.length === 0) return { problems: [] };
  const files = new Map(federated.map((s) => [s.descriptor.name, displayPath(s.descriptor.file)]));
  const { composeServices } = federationComposition();
  const result = composeServices(
    federated.map((s) => ({ name: s.descriptor.name, typeDefs: parse(s.federation!.sdl, { noLocation: true }), url: s.descriptor.upstreams[0]?.url })),
  );
  if (!result.errors?.length) return { problems: [], ...(result.publicSdl && { api: buildASTSchema(parse(result.publicSdl), { assumeValidSDL: true }) }) };
  return {
    problems: result.errors.map((error) => {
      const subgraph = typeof error.extensions?.subgraphName === 'string' ? error.extensions.subgraphName : /^\[([^\]]+)\]/.exec(error.message)?.[1];
      const code = typeof error.extensions?.code === 'string' ? ` (${error.extensions.code})` : '';
      // A message naming several subgraphs ("in subgraph "a" but not in subgraph "b""): each one's descriptor file.
      const named = subgraph ? [subgraph] : [...error.message.matchAll(/subgraphs? "([^"]+)"/g)].map((m) => m[1]!).filter((n, i, all) => all.indexOf(n) === i);
      const where = named.filter((n) => files.has(n)).map((n) => files.get(n)!).join(', ');
      return `${where ? `${where}: ` : ''}federation composition: ${error.message}${code}`;
    }),
  };
}

/**
 * The stitched unified graph with the input types and enums only federation subgraphs define merged by the
 * federation spec's rules, as composition (`api`, composeFederation) merged them: an input type's fields are
 * those of every subgraph (the intersection), each with the composed type (non-null where a subgraph requires
 * it) and default; an enum used only as an input has the values of every subgraph, one used only as an output
 * the values of any (the union), one used as both the same values everywhere (else composition failed).
 * Stitching merges both by union, so a client could send a field or value a subgraph does not know. An object
 * or interface field several subgraphs type differently (non-null in one only) gets the composed type too. Unions are
 * merged by union in both, and left as stitched. A type a non-federation source also defines keeps stitching's merge.
 */
export function withFederationMerges(schema: GraphQLSchema, api: GraphQLSchema, federationOnly: ReadonlySet<string>): GraphQLSchema {
  const composed = (name: string) => (federationOnly.has(name) ? api.getType(name) : undefined);
  return mapSchema(schema, {
    [MapperKind.INPUT_OBJECT_TYPE]: (type) => {
      const spec = composed(type.name);
      if (!isInputObjectType(spec)) return type;
      const config = type.toConfig();
      const fields: GraphQLInputFieldConfigMap = {};
      for (const [name, field] of Object.entries(spec.getFields())) {
        const stitched = config.fields[name];
        if (!stitched) continue;
        // The composed type, made of the stitched graph's named types (mapSchema rewires them by name).
        const fieldType = typeFromAST(schema, parseType(String(field.type)) as never) as GraphQLInputType | undefined;
        fields[name] = { ...stitched, type: fieldType ?? stitched.type, defaultValue: field.defaultValue };
      }
      return new GraphQLInputObjectType({ ...config, fields });
    },
    // A field several subgraphs serve with different nullability (`id: ID!` in one, `id: ID` in another): the
    // composed type (the most nullable), where stitching keeps one subgraph's, whichever it merged last.
    [MapperKind.COMPOSITE_FIELD]: (config, fieldName, typeName) => {
      const spec = composed(typeName);
      const field = spec && (isObjectType(spec) || isInterfaceType(spec)) ? spec.getFields()[fieldName] : undefined;
      if (!field || String(field.type) === String(config.type)) return config;
      const fieldType = typeFromAST(schema, parseType(String(field.type)) as never) as GraphQLOutputType | undefined;
      return fieldType ? { ...config, type: fieldType } : config;
    },
    [MapperKind.ENUM_TYPE]: (type) => {
      const spec = composed(type.name);
      if (!isEnumType(spec)) return type;
      const config = type.toConfig();
      const values = new Set(spec.getValues().map((v) => v.name));
      return new GraphQLEnumType({ ...config, values: Object.fromEntries(Object.entries(config.values).filter(([name]) => values.has(name))) });
    },
  });
}

/**
 * Stitching's own checks silenced for what withFederationMerges settles: it warns (on the console) about an input
 * field or input enum value some subgraphs lack, which the spec's merge leaves out of the unified graph, and
 * about an output field non-null in some subgraphs only, which gets the composed type.
 */
export function federationValidationScopes(sources: readonly LoadedSource[], federationOnly: ReadonlySet<string>): Record<string, ValidationSettings> {
  const scopes: Record<string, ValidationSettings> = {};
  /** "Type.field" → the output types the subgraphs give it: where they differ (nullability), the composed type is withFederationMerges'. */
  const outputTypes = new Map<string, Set<string>>();
  for (const source of sources) {
    if (!source.federation) continue;
    for (const type of Object.values(source.schema.getTypeMap())) {
      if (!federationOnly.has(type.name)) continue;
      if (isEnumType(type)) scopes[type.name] = { validationLevel: ValidationLevel.Off };
      if (isInputObjectType(type)) for (const field of Object.keys(type.getFields())) scopes[`${type.name}.${field}`] = { validationLevel: ValidationLevel.Off };
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          const at = `${type.name}.${field.name}`;
          outputTypes.set(at, (outputTypes.get(at) ?? new Set()).add(String(field.type)));
        }
      }
    }
  }
  for (const [at, types] of outputTypes) if (types.size > 1) scopes[at] = { validationLevel: ValidationLevel.Off };
  return scopes;
}

const REPRESENTATIONS = parseType('[_Any!]!');

/**
 * A federation subgraph's resolvable entities as entity joins through `_entities(representations:)`; an
 * @interfaceObject's entry also under each implementation of the interface (`implementations`), its
 * representations and fragment still naming the interface, which is all the subgraph knows.
 */
export function federationEntities(info: FederationInfo, implementations: ReadonlyMap<string, ReadonlySet<string>> = new Map()): Map<string, EntityEntry> {
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
    if (!info.interfaceObjects.has(typename)) continue;
    for (const implementation of implementations.get(typename) ?? []) entries.set(implementation, entries.get(typename)!);
  }
  return entries;
}

/** Every interface a federation subgraph defines (not as @interfaceObject), with its implementations across all of them. */
export function interfaceImplementations(sources: readonly LoadedSource[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const source of sources) {
    if (!source.federation) continue;
    for (const type of Object.values(source.schema.getTypeMap())) {
      if (!isInterfaceType(type) || type.name.startsWith('__')) continue;
      const names = out.get(type.name) ?? new Set<string>();
      for (const implementation of source.schema.getPossibleTypes(type)) names.add(implementation.name);
      out.set(type.name, names);
    }
  }
  return out;
}

/**
 * A subgraph with @interfaceObject types as the unified graph sees it: each such object type becomes the
 * interface of that name, and each implementation another subgraph gives it becomes an object type here with
 * this subgraph's fields of the interface (`_Entity` lists them instead of the interface). The subgraph itself
 * knows only the interface's name: `renames` sends every implementation's name to it as the interface's (type
 * conditions), and the planner asks it for those objects as the interface.
 */
export function withInterfaceObjects(source: LoadedSource, implementations: ReadonlyMap<string, ReadonlySet<string>>): { source: LoadedSource; renames?: Renames } {
  const info = source.federation;
  if (!info || info.interfaceObjects.size === 0) return { source };
  const asInterface = new Map<string, string>();
  const definitions: DefinitionNode[] = [];
  const document = parse(printSchema(source.schema));
  const defined = new Set(document.definitions.flatMap((d) => ('name' in d && d.name ? [d.name.value] : [])));
  const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION && info.interfaceObjects.has(definition.name.value)) {
      const typeName = definition.name.value;
      definitions.push({ ...definition, kind: Kind.INTERFACE_TYPE_DEFINITION, interfaces: [] } as InterfaceTypeDefinitionNode);
      for (const implementation of implementations.get(typeName) ?? []) {
        if (defined.has(implementation)) continue;
        asInterface.set(implementation, typeName);
        definitions.push({ kind: Kind.OBJECT_TYPE_DEFINITION, name: name(implementation), interfaces: [{ kind: Kind.NAMED_TYPE, name: name(typeName) }], fields: definition.fields } as ObjectTypeDefinitionNode);
      }
      continue;
    }
    if (definition.kind === Kind.UNION_TYPE_DEFINITION && definition.name.value === '_Entity') {
      const members = (definition.types ?? []).flatMap((t) => (info.interfaceObjects.has(t.name.value) ? [...(implementations.get(t.name.value) ?? [])].filter((i) => asInterface.has(i)) : [t.name.value]));
      definitions.push({ ...definition, types: [...new Set(members)].map((m) => ({ kind: Kind.NAMED_TYPE, name: name(m) })) });
      continue;
    }
    definitions.push(definition);
  }
  const schema = buildASTSchema({ kind: Kind.DOCUMENT, definitions });
  const renames: Renames = {
    type: (unified) => asInterface.get(unified) ?? unified,
    field: (_type, field) => field,
    unifiedType: (typeName) => typeName,
    typesRenamed: false,
  };
  return { source: { ...source, schema }, renames };
}

/** The subgraph's schema without its @requires fields: what may be sent to it outside `_entities` (the direct route). */
export function withoutRequires(schema: GraphQLSchema, info: FederationInfo): GraphQLSchema {
  if (info.requires.size === 0 && info.externalKeys.size === 0) return schema;
  // Nor an @external key field of a type of its own (FederationInfo.externalKeys): it never answers it there.
  const sent = (type: string, field: string) => !info.requires.has(`${type}.${field}`) && !info.externalKeys.has(`${type}.${field}`);
  return filterSchema({ schema, objectFieldFilter: sent, interfaceFieldFilter: sent });
}

/**
 * The fields each federation subgraph no longer answers, subgraph name → "Type.field": those another subgraph
 * took over for good (`@override(from:)` without a label, or with a label on for every request: `percent(100)`),
 * and its own labelled overrides whose label is on for no request (`percent(0)`, or a custom label, which nothing
 * here switches on). Settled here, every route (stitching too) asks the one subgraph left; only the labels rolled
 * per request (labelledOverrides) are the router's to decide.
 */
export function overriddenFields(sources: readonly LoadedSource[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const drop = (subgraph: string, coordinate: string): void => {
    const set = out.get(subgraph) ?? new Set<string>();
    set.add(coordinate);
    out.set(subgraph, set);
  };
  for (const source of sources) {
    for (const [coordinate, { from, label }] of source.federation?.overrides ?? []) {
      const percent = label === undefined ? 100 : percentOf(label);
      if (percent >= 100) drop(from, coordinate);
      else if (percent <= 0) drop(source.descriptor.name, coordinate);
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

/** The share of requests (0 to 100) a label is on for: n for `percent(n)`, 0 for any other (custom) label. */
function percentOf(label: string): number {
  const percent = PERCENT.exec(label);
  return percent ? Math.min(100, Number(percent[1])) : 0;
}

/**
 * A field taken over with `@override(from:, label: "percent(n)")`, 0 < n < 100: both subgraphs keep it, and each
 * request asks the overriding one when the label is on for it (n% of requests), else `from` (the router rolls each
 * label once per request, so the choice is the same everywhere in it). A label on for all requests or none is
 * settled at composition instead (overriddenFields). Any other label (which Apollo Router leaves to a coprocessor
 * to switch on) is never on here: `from` keeps answering.
 */
export interface LabelledOverride {
  from: string;
  label: string;
  /** The share of requests (0 to 100) the label is on for. */
  percent: number;
}

/** A federation subgraph's labelled overrides rolled per request, by "Type.field" (see LabelledOverride). */
export function labelledOverrides(info: FederationInfo): Map<string, LabelledOverride> {
  const out = new Map<string, LabelledOverride>();
  for (const [coordinate, { from, label }] of info.overrides) {
    if (label === undefined) continue;
    const percent = percentOf(label);
    if (percent > 0 && percent < 100) out.set(coordinate, { from, label, percent });
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
