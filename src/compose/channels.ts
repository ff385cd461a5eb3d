/**
 * A channel (mobile, web, partner) is a view of the unified graph: the same
 * schema, narrowed to what its `include` list names (when it has one), then
 * with what its `hide` list names removed. A field whose type is hidden goes
 * with it, so a view never refers to a type it does not have.
 *
 * `include` entries: "Type" (the type with every field), "Type.field" (that
 * field; a type named by some "Type.field" entry keeps only the fields
 * listed for it), "subgraph:<name>" (every root field that subgraph serves),
 * "tag:<name>" (every type and field a federation subgraph marks
 * `@tag(name: "<name>")`, as if each were listed).
 * What the kept fields need is kept too: their types (whole, unless some
 * "Type.field" entry narrows them), their arguments' input types, the
 * interfaces of kept object types (and the interface's fields on them), the
 * implementations of kept interfaces and the members of kept unions.
 */
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import {
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import { missingCoordinate } from './coordinates.js';

export const SUBGRAPH_PREFIX = 'subgraph:';
export const TAG_PREFIX = 'tag:';

export interface ChannelShape {
  /** Types, fields and subgraphs this channel serves (undefined: the whole graph). */
  include?: readonly string[];
  /** Types and fields this channel does not see (applied after include). */
  hide: readonly string[];
  /** Response-cache hints by unified-graph coordinate (checked here only: plugins/traffic.ts applies them). */
  cache?: { ttl: Readonly<Record<string, unknown>> };
}

/**
 * What the include entries that name a group stand for, by entry: "subgraph:<name>" → the unified graph's
 * root-field coordinates ("Query.product") that subgraph serves; "tag:<name>" → the coordinates tagged so.
 */
export type SubgraphRoots = ReadonlyMap<string, readonly string[]>;

/** The include groups of the composed subgraphs (ComposedSubgraph.visible, and a federation subgraph's @tag uses). */
export function subgraphRoots(subgraphs: ReadonlyArray<{ name: string; visible: GraphQLSchema; tags?: ReadonlyMap<string, ReadonlySet<string>> }>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { name, visible, tags } of subgraphs) {
    groups.set(
      SUBGRAPH_PREFIX + name,
      [visible.getQueryType(), visible.getMutationType(), visible.getSubscriptionType()].flatMap((root) => (root ? Object.keys(root.getFields()).map((field) => `${root.name}.${field}`) : [])),
    );
    for (const [tag, coordinates] of tags ?? []) groups.set(TAG_PREFIX + tag, [...new Set([...(groups.get(TAG_PREFIX + tag) ?? []), ...coordinates])]);
  }
  return groups;
}

/**
 * Entries of a channel's `include` and `hide` that name nothing in the
 * unified graph (or no subgraph), as lines for the person who wrote them:
 * `key` is the configuration key ("channels.mobile"), `file` gateway.yaml's path.
 */
export function channelProblems(schema: GraphQLSchema, channel: ChannelShape, key: string, file: string, subgraphs?: SubgraphRoots): string[] {
  const problems: string[] = [];
  for (const entry of channel.include ?? []) {
    const prefix = entry.startsWith(SUBGRAPH_PREFIX) ? SUBGRAPH_PREFIX : entry.startsWith(TAG_PREFIX) ? TAG_PREFIX : undefined;
    if (prefix) {
      if (!subgraphs || subgraphs.has(entry)) continue;
      const name = entry.slice(prefix.length);
      const known = [...subgraphs.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      const close = suggestionList(name, known);
      const hint = close.length > 0 ? ` (did you mean "${prefix}${close[0]}"?)` : ` (known: ${known.join(', ') || 'none'})`;
      problems.push(`${file}: ${key}.include: "${entry}": ${prefix === TAG_PREFIX ? `no federation subgraph has @tag(name: "${name}")` : `there is no subgraph named "${name}"`}${hint}`);
      continue;
    }
    const missing = missingCoordinate(schema, entry);
    if (missing) problems.push(`${file}: ${key}.include: "${entry}" is not in the unified graph: no ${missing.missing}${missing.hint}`);
  }
  for (const coordinate of channel.hide) {
    const missing = missingCoordinate(schema, coordinate);
    if (missing) problems.push(`${file}: ${key}.hide: "${coordinate}" is not in the unified graph${missing.hint}`);
  }
  for (const coordinate of Object.keys(channel.cache?.ttl ?? {})) {
    const missing = missingCoordinate(schema, coordinate);
    if (missing) problems.push(`${file}: ${key}.cache.ttl."${coordinate}": the unified graph has no ${missing.missing}${missing.hint}`);
  }
  return problems;
}

export function channelView(schema: GraphQLSchema, channel: ChannelShape, subgraphs?: SubgraphRoots): GraphQLSchema {
  const included = channel.include ? includeView(schema, channel.include, subgraphs) : schema;
  return hideView(included, channel.hide);
}

function hideView(schema: GraphQLSchema, hide: readonly string[]): GraphQLSchema {
  if (hide.length === 0) return schema;
  const hiddenTypes = new Set(hide.filter((c) => !c.includes('.')));
  const hiddenFields = new Set(hide.filter((c) => c.includes('.')));
  const keepField = (typeName: string, fieldName: string, field: { type: GraphQLType }): boolean =>
    !hiddenFields.has(`${typeName}.${fieldName}`) && !hiddenTypes.has(getNamedType(field.type).name);
  return pruneSchema(
    filterSchema({
      schema,
      typeFilter: (name) => !hiddenTypes.has(name),
      rootFieldFilter: (operation, fieldName, field) => keepField(operation, fieldName, field),
      objectFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
      interfaceFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
      inputObjectFieldFilter: (typeName, fieldName, field) => keepField(typeName, fieldName, field),
    }),
  );
}

/** The schema narrowed to the `include` entries and what they need (see the file comment). */
function includeView(schema: GraphQLSchema, include: readonly string[], subgraphs?: SubgraphRoots): GraphQLSchema {
  const coordinates = include.flatMap((entry) =>
    entry.startsWith(SUBGRAPH_PREFIX) || entry.startsWith(TAG_PREFIX) ? (subgraphs?.get(entry) ?? []).filter((c) => !missingCoordinate(schema, c)) : [entry],
  );
  // Types some "Type.field" entry narrows, with the fields listed for them.
  const narrowed = new Map<string, Set<string>>();
  for (const coordinate of coordinates) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
    if (fieldName === undefined) continue;
    const fields = narrowed.get(typeName) ?? new Set<string>();
    fields.add(fieldName);
    narrowed.set(typeName, fields);
  }
  for (const coordinate of coordinates) {
    if (!coordinate.includes('.')) narrowed.delete(coordinate); // "Type" listed whole wins over its "Type.field" entries
  }
  const rootNames = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) => (t ? [t.name] : [])));
  const keptTypes = new Set<string>();
  const keptFields = new Map<string, Set<string>>();
  const pending: string[] = [];
  const keepType = (name: string): void => {
    if (keptTypes.has(name) || !schema.getType(name)) return;
    keptTypes.add(name);
    pending.push(name);
  };
  const keepField = (typeName: string, fieldName: string): boolean => {
    const fields = keptFields.get(typeName) ?? new Set<string>();
    keptFields.set(typeName, fields);
    if (fields.has(fieldName)) return false;
    fields.add(fieldName);
    const type = schema.getType(typeName);
    const field = type && (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) ? type.getFields()[fieldName] : undefined;
    if (!field) return false;
    keepType(getNamedType(field.type).name);
    for (const arg of (field as GraphQLField<unknown, unknown>).args ?? []) keepType(getNamedType(arg.type).name);
    return true;
  };
  for (const coordinate of coordinates) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string | undefined];
    if (!schema.getType(typeName)) continue;
    if (fieldName !== undefined) {
      if (rootNames.has(typeName) || keptTypes.has(typeName)) keepField(typeName, fieldName);
      if (rootNames.has(typeName)) keepType(typeName);
    } else keepType(typeName);
  }
  // A type reached through a kept field (or listed) keeps every field, unless narrowed; root types keep only what was listed.
  let changed = true;
  while (changed) {
    changed = false;
    while (pending.length > 0) {
      const name = pending.pop()!;
      const type = schema.getType(name)!;
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        const listedWhole = coordinates.includes(name);
        const fields: Record<string, GraphQLField<unknown, unknown> | GraphQLInputField> = type.getFields();
        const names = rootNames.has(name) && !listedWhole ? [] : (narrowed.get(name) ?? Object.keys(fields));
        keptFields.set(name, keptFields.get(name) ?? new Set());
        for (const fieldName of names) if (fields[fieldName]) keepField(name, fieldName);
      }
      if (isObjectType(type) || isInterfaceType(type)) for (const iface of type.getInterfaces()) keepType(iface.name);
      if (isInterfaceType(type)) for (const impl of schema.getPossibleTypes(type)) keepType(impl.name);
      if (isUnionType(type)) for (const member of type.getTypes()) keepType(member.name);
    }
    // An object or interface keeps the fields its kept interfaces keep (else it would not implement them).
    for (const name of keptTypes) {
      const type = schema.getType(name);
      if (!(isObjectType(type) || isInterfaceType(type))) continue;
      for (const iface of type.getInterfaces()) {
        for (const fieldName of keptFields.get(iface.name) ?? []) if (keepField(name, fieldName)) changed = true;
      }
    }
    if (pending.length > 0) changed = true;
  }
  const rootOf = { Query: schema.getQueryType()?.name, Mutation: schema.getMutationType()?.name, Subscription: schema.getSubscriptionType()?.name };
  const keep = (typeName: string, fieldName: string): boolean => keptFields.get(typeName)?.has(fieldName) ?? false;
  return pruneSchema(
    filterSchema({
      schema,
      // Scalars and enums stay for pruneSchema to drop when unused; root types are narrowed by their fields.
      typeFilter: (name, type) => keptTypes.has(name) || rootNames.has(name) || !(isObjectType(type) || isInterfaceType(type) || isUnionType(type) || isInputObjectType(type)),
      rootFieldFilter: (operation, fieldName) => keep(rootOf[operation] ?? operation, fieldName),
      objectFieldFilter: keep,
      interfaceFieldFilter: keep,
      inputObjectFieldFilter: keep,
    }),
  );
}
