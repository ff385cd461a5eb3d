/**
 * Stitching every loaded source into the unified graph. Pure: schemas and
 * descriptors in, a schema out; no I/O, so it can be snapshot-tested as SDL.
 */
import { Subschema, type MergedTypeConfig, type SubschemaConfig } from '@graphql-tools/delegate';
import { stitchSchemas } from '@graphql-tools/stitch';
import { filterSchema, type Executor } from '@graphql-tools/utils';
import { getNamedType, isInputObjectType, isListType, isNonNullType, isObjectType, parseType, type GraphQLSchema, type SelectionSetNode, type TypeNode } from 'graphql';
import type { Descriptor } from '../config/descriptor.js';
import { displayPath } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { LoadedSource } from '../sources/types.js';
import { findConflicts, type ComposeInput } from './conflicts.js';
import { namingFor, transformProblems, type Naming } from './transforms.js';
import { composeFederation, federationEntities, federationValidationScopes, withFederationMerges, inaccessibleOf, interfaceImplementations, labelledOverrides, withInterfaceObjects, overriddenFields, overrideLabelProblems, withoutOverridden, withoutRequires, type LabelledOverride } from './federation.js';

export interface ComposedGraph {
  schema: GraphQLSchema;
  /** Subschemas by subgraph name, as stitched. */
  subschemas: Map<string, Subschema>;
  /**
   * Every subgraph as the router (execution/router.ts) sees it: what it
   * needs to send an operation to one subgraph as it is, or to plan it over
   * several, without stitching.
   */
  subgraphs: ComposedSubgraph[];
}

/** One subgraph, for the router and the query planner. */
export interface ComposedSubgraph {
  name: string;
  /** The subgraph's own schema, to check that every field of an operation is there. */
  schema: GraphQLSchema;
  /** Its part of the unified graph: its schema as transformed (renamed, without the fields it hides). */
  visible: GraphQLSchema;
  /** The executor stitching uses for this subgraph (policy wrappers included). */
  executor: Executor;
  /**
   * The executor runs the subgraph's schema in process (openapi, grpc), so
   * its results already conform to that schema; a remote GraphQL service's
   * results are checked against it by the gateway.
   */
  trusted: boolean;
  /** Its types or fields have other names in the unified graph (`transforms.prefix`/`rename`); hiding is not renaming. */
  renamed: boolean;
  /** How to speak to it in its own names, when it is renamed. */
  renames?: Renames;
  /** Entities it resolves by key (`entities:`), by the unified graph's type name; in the unified graph's names. */
  entities: ReadonlyMap<string, EntityEntry>;
  /** A federation subgraph's @provides: "Type.field" → the fields of its type it answers there (else @external). */
  provides?: ReadonlyMap<string, SelectionSetNode>;
  /** A federation subgraph's @requires: "Type.field" → the fields it needs in the representation. */
  requires?: ReadonlyMap<string, SelectionSetNode>;
  /** A federation subgraph (kind: federation). */
  federation?: boolean;
  /** A federation subgraph's @external key fields of its own types: received in representations, answered nowhere else. */
  externalKeys?: ReadonlySet<string>;
  /** A federation subgraph's labelled (progressive) @override: "Type.field" → the subgraph it takes it from, for the requests its label is on for. */
  overrides?: ReadonlyMap<string, LabelledOverride>;
  /** A federation subgraph's @interfaceObject types: interfaces of the unified graph it knows as one object type. */
  interfaceObjects?: ReadonlySet<string>;
  /** A federation subgraph's @tag names → the coordinates it tags (a channel's `include: [tag:<name>]`). */
  tags?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A renamed subgraph's names, both ways (`transforms.prefix`/`rename`). */
export interface Renames {
  /** The subgraph's name for a type of the unified graph (a type it does not rename: the same name). */
  type(unified: string): string;
  /** The subgraph's name for a field, both given in the unified graph's names. */
  field(unifiedType: string, unifiedField: string): string;
  /** The unified graph's name for one of the subgraph's types (its `__typename` answers); only types it renames differ. */
  unifiedType(name: string): string;
  /** Some type has another name in the unified graph (so `__typename` answers need translating). */
  typesRenamed: boolean;
}

/** The names of a renamed subgraph both ways, read off its schema and its naming (transforms.ts). */
function renamesOf(schema: GraphQLSchema, naming: Naming): Renames {
  const types = new Map<string, string>();
  const unified = new Map<string, string>();
  const fields = new Map<string, string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const name = naming.type(type.name);
    if (name !== type.name) {
      types.set(name, type.name);
      unified.set(type.name, name);
    }
    if (!('getFields' in type) || isInputObjectType(type)) continue;
    for (const field of Object.keys(type.getFields())) {
      const renamed = naming.field(type.name, field);
      if (renamed !== field) fields.set(`${name}.${renamed}`, field);
    }
  }
  return {
    type: (name) => types.get(name) ?? name,
    field: (type, field) => fields.get(`${type}.${field}`) ?? field,
    unifiedType: (name) => unified.get(name) ?? name,
    typesRenamed: types.size > 0,
  };
}

/** An entity a subgraph resolves by key. */
export interface EntityEntry {
  /** Key fields, read on the objects the entity is joined to. */
  keys: readonly string[];
  /** The root field that resolves it. */
  field: string;
  argument: string;
  /** The argument's type as the subgraph declares it (the variable's type). */
  argumentType: TypeNode;
  /** true: `field` takes every key and answers one entity per key, in order; false: one key, one entity. */
  batch: boolean;
  /**
   * A federation subgraph's entity: resolved by `_entities(representations:)`
   * (`field`, `argument`), one representation per object: `__typename`, the
   * fields of one of its keys, and the fields the selected fields @require.
   */
  federation?: FederationEntity;
}

/** A federation entity as the planner joins it (EntityEntry.federation). */
export interface FederationEntity {
  typename: string;
  /** Its resolvable @key field sets, in the SDL's order (`keys` of the entry holds the first's top-level names). */
  keys: readonly SelectionSetNode[];
}

/** An entity entry from a descriptor's `entities:`, with the argument's type read off the subgraph's schema. */
export function entityEntry(schema: GraphQLSchema, keys: readonly string[], field: string, argument: string, batch = true): EntityEntry | undefined {
  const arg = schema.getQueryType()?.getFields()[field]?.args.find((a) => a.name === argument);
  if (!arg) return undefined;
  return { keys, field, argument, argumentType: parseType(String(arg.type)), batch };
}

/** Problems with `entities:` in one descriptor, checked against the subgraph's own schema. */
function entityProblems(descriptor: Descriptor, schema: GraphQLSchema): string[] {
  const where = displayPath(descriptor.file);
  const problems: string[] = [];
  const query = schema.getQueryType();
  for (const [typeName, entity] of Object.entries(descriptor.entities)) {
    const at = `${where}: entities.${typeName}`;
    const type = schema.getType(typeName);
    if (!type || !isObjectType(type)) {
      problems.push(`${at}: subgraph "${descriptor.name}" has no object type ${typeName}`);
      continue;
    }
    const keys = Array.isArray(entity.key) ? entity.key : [entity.key];
    for (const key of keys) {
      if (!type.getFields()[key]) problems.push(`${at}.key: ${typeName} has no field "${key}"`);
    }
    const rootField = entity.batch?.field ?? entity.field;
    const argument = entity.batch?.argument ?? entity.argument;
    if (!entity.resolvable || !rootField) continue;
    const path = entity.batch ? `${at}.batch` : at;
    const field = query?.getFields()[rootField];
    if (!field) {
      problems.push(`${path}.field: subgraph "${descriptor.name}" has no field Query.${rootField}`);
      continue;
    }
    const arg = field.args.find((a) => a.name === argument);
    if (!arg) problems.push(`${path}.argument: Query.${rootField} has no argument "${argument}"`);
    if (getNamedType(field.type).name !== typeName) {
      problems.push(`${path}.field: Query.${rootField} returns ${String(field.type)}, not ${typeName}`);
    }
    if (entity.batch) {
      const returnsList = isListType(isNonNullType(field.type) ? field.type.ofType : field.type);
      if (!returnsList) problems.push(`${path}.field: Query.${rootField} must return a list of ${typeName} (one per key, in order)`);
      const argList = arg && isListType(isNonNullType(arg.type) ? arg.type.ofType : arg.type);
      if (arg && !argList) problems.push(`${path}.argument: ${argument} must be a list (it receives every key of the batch)`);
    }
  }
  return problems;
}

function mergeConfigFor(descriptor: Descriptor, naming: Naming, queryName: string): Record<string, MergedTypeConfig> {
  const merge: Record<string, MergedTypeConfig> = {};
  for (const [typeName, entity] of Object.entries(descriptor.entities)) {
    const keys = Array.isArray(entity.key) ? entity.key : [entity.key];
    const selectionSet = `{ ${keys.join(' ')} }`;
    const keyOf =
      keys.length === 1
        ? (obj: Record<string, unknown>) => obj[keys[0]!]
        : (obj: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, obj[k]]));
    const name = naming.type(typeName);
    if (!entity.resolvable) continue;
    if (entity.batch) {
      const argument = entity.batch.argument;
      merge[name] = {
        selectionSet,
        fieldName: naming.field(queryName, entity.batch.field),
        key: keyOf,
        argsFromKeys: (list: ReadonlyArray<unknown>) => ({ [argument]: list }),
      };
    } else if (entity.field && entity.argument) {
      const argument = entity.argument;
      merge[name] = {
        selectionSet,
        fieldName: naming.field(queryName, entity.field),
        args: (obj: Record<string, unknown>) => ({ [argument]: keyOf(obj) }),
      };
    }
  }
  return merge;
}

/**
 * Entities the planner can join through (`entities:`), unless the source
 * merges the type its own way; in the unified graph's names (`visible` is the
 * subgraph's schema as renamed), which the planner works in.
 */
function plannedEntities(source: LoadedSource, naming: Naming, visible: GraphQLSchema): Map<string, EntityEntry> {
  const entries = new Map<string, EntityEntry>();
  const queryName = source.schema.getQueryType()?.name ?? 'Query';
  for (const [typeName, entity] of Object.entries(source.descriptor.entities)) {
    if (!entity.resolvable || source.merge?.[typeName]) continue;
    const keys = (Array.isArray(entity.key) ? entity.key : [entity.key]).map((key) => naming.field(typeName, key));
    const entry = entity.batch
      ? entityEntry(visible, keys, naming.field(queryName, entity.batch.field), entity.batch.argument)
      : entity.field && entity.argument
        ? entityEntry(visible, keys, naming.field(queryName, entity.field), entity.argument, false)
        : undefined;
    if (entry) entries.set(naming.type(typeName), entry);
  }
  return entries;
}

export interface ComposeOptions {
  /**
   * Wraps each subgraph's executor (upstream policy such as a per-subgraph
   * rate limit). Supplied by the caller, so compose/ itself stays free of I/O.
   */
  wrapExecutor?: (descriptor: Descriptor, executor: Executor) => Executor;
  /**
   * Wraps the executor stitching uses for a subgraph whose answers are not
   * trusted (see ComposedSubgraph.trusted) with a check against its schema;
   * the router checks the answers of its own routes. Supplied by the caller
   * (execution/result-check.ts checkedExecutor), so compose/ does not depend
   * on execution/.
   */
  checkStitched?: (schema: GraphQLSchema, executor: Executor) => Executor;
}

/**
 * Stitches the sources into one schema. Throws a ConfigError listing every
 * problem (bad entity declarations, conflicting definitions) at once.
 */
export function composeSources(sources: LoadedSource[], options: ComposeOptions = {}): ComposedGraph {
  const problems: string[] = [];
  const inputs: Array<ComposeInput & { subschema: Subschema }> = [];
  const subgraphs: ComposedSubgraph[] = [];
  // Hidden entity entry points: kept in their subschema (stitching calls them), removed from the unified graph.
  const hiddenAfterStitching = new Set<string>();
  const overridden = overriddenFields(sources);
  const implementations = interfaceImplementations(sources);
  for (const loaded of sources) {
    const { source, renames: interfaceRenames } = withInterfaceObjects(withoutOverridden(loaded, overridden.get(loaded.descriptor.name)), implementations);
    const { descriptor } = source;
    problems.push(...entityProblems(descriptor, source.schema), ...transformProblems(descriptor, source.schema));
    const queryName = source.schema.getQueryType()?.name ?? 'Query';
    const entryPoints = new Set(
      Object.values(descriptor.entities)
        .map((e) => e.batch?.field ?? e.field)
        .filter((f): f is string => Boolean(f))
        .map((f) => `${queryName}.${f}`),
    );
    const keep = new Set((descriptor.transforms?.hide ?? []).filter((c) => entryPoints.has(c)));
    const naming = namingFor(descriptor, source.schema, keep);
    for (const coordinate of keep) {
      const field = coordinate.slice(queryName.length + 1);
      hiddenAfterStitching.add(`Query.${naming.field(queryName, field)}`);
    }
    const merge = mergeConfigFor(descriptor, naming, queryName);
    for (const [typeName, config] of Object.entries(source.merge ?? {})) merge[naming.type(typeName)] = config;
    const executor = options.wrapExecutor ? options.wrapExecutor(descriptor, source.executor) : source.executor;
    const renames = descriptor.transforms?.prefix || Object.keys(descriptor.transforms?.rename?.types ?? {}).length > 0 || Object.keys(descriptor.transforms?.rename?.fields ?? {}).length > 0;
    const trusted = descriptor.kind !== 'graphql' && descriptor.kind !== 'federation';
    const config: SubschemaConfig = {
      name: descriptor.name,
      schema: source.schema,
      executor: !trusted && options.checkStitched ? options.checkStitched(source.schema, executor) : executor,
      transforms: naming.transforms,
      merge,
      // Delegations to this subgraph made in the same tick go out as one request.
      batch: true,
    };
    let subschema: Subschema;
    try {
      subschema = new Subschema(config);
      const federation = source.federation;
      inputs.push({
        descriptor,
        schema: subschema.transformedSchema,
        entities: federation ? new Set(federation.keyed) : new Set(Object.keys(descriptor.entities).map((t) => naming.type(t))),
        federated: Boolean(federation),
        subschema,
      });
      subgraphs.push({
        name: descriptor.name,
        // A federation field with @requires answers only through `_entities`: the direct route never sends it.
        schema: federation ? withoutRequires(source.schema, federation) : source.schema,
        visible: subschema.transformedSchema,
        executor,
        trusted,
        renamed: Boolean(renames) || Boolean(interfaceRenames),
        ...(renames && { renames: renamesOf(source.schema, naming) }),
        ...(interfaceRenames && { renames: interfaceRenames }),
        entities: federation ? federationEntities(federation, implementations) : plannedEntities(source, naming, subschema.transformedSchema),
        ...(federation && { federation: true, provides: federation.provides, requires: federation.requires, externalKeys: federation.externalKeys, overrides: labelledOverrides(federation), interfaceObjects: federation.interfaceObjects, tags: federation.tags }),
      });
    } catch (error) {
      problems.push(`${displayPath(descriptor.file)}: transforms: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  const composition = composeFederation(sources);
  const federationProblems = [...overrideLabelProblems(sources), ...composition.problems];
  if (federationProblems.length > 0) throw new ConfigError('COMPOSE_CONFLICT', federationProblems);
  const conflicts = findConflicts(inputs);
  if (conflicts.length > 0) throw new ConfigError('COMPOSE_CONFLICT', conflicts);

  // Input types and enums only federation subgraphs define: merged by the federation spec's rules, not stitching's.
  const otherTypes = new Set(inputs.flatMap((i) => (i.federated ? [] : Object.keys(i.schema.getTypeMap()))));
  const federationOnly = new Set(inputs.flatMap((i) => (i.federated ? Object.keys(i.schema.getTypeMap()).filter((t) => !otherTypes.has(t)) : [])));
  let schema: GraphQLSchema;
  try {
    schema = stitchSchemas({
      subschemas: inputs.map((i) => i.subschema),
      mergeTypes: true,
      typeMergingOptions: { validationScopes: federationValidationScopes(sources, federationOnly) },
    });
  } catch (error) {
    throw new ConfigError('COMPOSE_FAILED', [`stitching failed: ${(error as Error).message}`]);
  }
  if (composition.api) schema = withFederationMerges(schema, composition.api, federationOnly);
  // Federation's entry point and its types are stitching's alone (sources/federation/merge.ts), never the client's;
  // neither is what a federation subgraph marks @inaccessible (still used for joins: keys, @requires).
  const federated = sources.some((s) => s.federation);
  const inaccessible = inaccessibleOf(sources);
  if (federated) hiddenAfterStitching.add('Query._entities');
  for (const coordinate of inaccessible) if (/^(Query|Mutation)\./.test(coordinate)) hiddenAfterStitching.add(coordinate);
  if (hiddenAfterStitching.size > 0 || inaccessible.size > 0) {
    const visibleField = (type: string, field: string): boolean => !inaccessible.has(`${type}.${field}`);
    schema = filterSchema({
      schema,
      ...(federated && { typeFilter: (name: string) => name !== '_Any' && name !== '_Entity' && !inaccessible.has(name) }),
      objectFieldFilter: visibleField,
      interfaceFieldFilter: visibleField,
      inputObjectFieldFilter: visibleField,
      enumValueFilter: (type, value) => !inaccessible.has(`${type}.${value}`),
      argumentFilter: (type, field, argument) => !inaccessible.has(`${type}.${field}(${argument}:)`),
      rootFieldFilter: (operation, fieldName) => !hiddenAfterStitching.has(`${operation}.${fieldName}`),
    });
  }
  return { schema, subschemas: new Map(inputs.map((i) => [i.descriptor.name, i.subschema])), subgraphs };
}
