/**
 * A channel (mobile, web, partner) is a view of the unified graph: the same
 * schema, narrowed to what its `include` list names (when it has one), then
 * with what its `hide` list names removed. A field whose type is hidden goes
 * with it, so a view never refers to a type it does not have.
 *
 * `include` entries: "Type" (the type with every field), "Type.field" (that
 * field; a type named by some "Type.field" entry keeps only the fields
 * listed for it), "subgraph:<name>" (every root field that subgraph serves),
 * "tag:<name>" (every type and field the unified graph carries
 * `@tag(name: "<name>")` on, as if each were listed: the subgraphs' SDL
 * declares them, and composition keeps them; and what the descriptors'
 * `tags:` name, passed in as `declared`).
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
  Kind,
  type ConstDirectiveNode,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import { missingCoordinate } from './coordinates.js';

export const SUBGRAPH_PREFIX = 'subgraph:';
export const TAG_PREFIX = 'tag:';

/**
 * Every tag name some type or field of the schema carries (`@tag(name: ...)`), by the coordinates carrying it,
 * with the tags descriptors declare (compose/tags.ts) added.
 */
export function tagged(schema: GraphQLSchema, declared?: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>([...(declared ?? [])].map(([tag, coordinates]) => [tag, [...coordinates]]));
  const note = (node: { directives?: readonly ConstDirectiveNode[] } | null | undefined, coordinate: string): void => {
    for (const directive of node?.directives ?? []) {
      if (directive.name.value !== 'tag') continue;
      const name = directive.arguments?.find((a) => a.name.value === 'name')?.value;
      if (name?.kind !== Kind.STRING) continue;
      out.set(name.value, [...(out.get(name.value) ?? []), coordinate]);
    }
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    note(type.astNode, type.name);
    for (const extension of type.extensionASTNodes) note(extension, type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values<{ name: string; astNode?: { directives?: readonly ConstDirectiveNode[] } | null }>(type.getFields())) note(field.astNode, `${type.name}.${field.name}`);
    }
  }
  return out;
}

export interface ChannelShape {
  /** Types, fields and subgraphs this channel serves (undefined: the whole graph). */
  include?: readonly string[];
  /** Types and fields this channel does not see (applied after include). */
  hide: readonly string[];
  /** Response-cache hints by unified-graph coordinate (checked here only: plugins/traffic.ts applies them). */
  cache?: { ttl: Readonly<Record<string, unknown>> };
}

/**
 * What the `subgraph:` include entries stand for, by entry: "subgraph:<name>" → the unified graph's
 * root-field coordinates ("Query.product") that subgraph serves (`tag:` entries: tagged()).
 */
export type SubgraphRoots = ReadonlyMap<string, readonly string[]>;

/** The `subgraph:` include groups of the composed subgraphs (ComposedSubgraph.visible). */
export function subgraphRoots(subgraphs: ReadonlyArray<{ name: string; visible: GraphQLSchema }>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { name, visible } of subgraphs) {
    groups.set(
      SUBGRAPH_PREFIX + name,
      [visible.getQueryType(), visible.getMutationType(), visible.getSubscriptionType()].flatMap((root) => (root ? Object.keys(root.getFields()).map((field) => `${root.name}.${field}`) : [])),
    );
  }
  return groups;
}

/**
 * The tags federation subgraphs use (`@tag(name:)` in their SDL, which
 * composition does not keep on the unified graph), by name, with the
 * descriptors' own `tags:` (compose/tags.ts): what `tag:<name>` stands for
 * besides the directives the unified graph carries (tagged()).
 */
export function declaredTagsWith(
  declared: ReadonlyMap<string, readonly string[]>,
  subgraphs: ReadonlyArray<{ tags?: ReadonlyMap<string, ReadonlySet<string>> }>,
): Map<string, string[]> {
  const out = new Map<string, string[]>([...declared].map(([tag, coordinates]) => [tag, [...coordinates]]));
  for (const { tags } of subgraphs) for (const [tag, coordinates] of tags ?? []) out.set(tag, [...new Set([...(out.get(tag) ?? []), ...coordinates])]);
  return out;
}

/**
 * Entries of a channel's `include` and `hide` that name nothing in the
 * unified graph (or no subgraph), as lines for the person who wrote them:
 * `key` is the configuration key ("channels.mobile"), `file` gateway.yaml's path.
 */
export function channelProblems(schema: GraphQLSchema, channel: ChannelShape, key: string, file: string, subgraphs?: SubgraphRoots, declared?: ReadonlyMap<string, readonly string[]>): string[] {
  const problems: string[] = [];
  for (const entry of channel.include ?? []) {
    if (entry.startsWith(SUBGRAPH_PREFIX)) {
      if (!subgraphs || subgraphs.has(entry)) continue;
      const name = entry.slice(SUBGRAPH_PREFIX.length);
      const known = [...subgraphs.keys()].map((k) => k.slice(SUBGRAPH_PREFIX.length));
      const close = suggestionList(name, known);
      const hint = close.length > 0 ? ` (did you mean "${SUBGRAPH_PREFIX}${close[0]}"?)` : ` (known: ${known.join(', ') || 'none'})`;
      problems.push(`${file}: ${key}.include: "${entry}": there is no subgraph named "${name}"${hint}`);
      continue;
    }
    if (entry.startsWith(TAG_PREFIX)) {
      const tags = tagged(schema, declared);
      const name = entry.slice(TAG_PREFIX.length);
      if (tags.has(name)) continue;
      const known = [...tags.keys()].sort();
      const close = suggestionList(name, known);
      const hint = close.length > 0 ? ` (did you mean "${TAG_PREFIX}${close[0]}"?)` : known.length > 0 ? ` (tags in the graph: ${known.join(', ')})` : ' (no type or field of the graph carries a @tag)';
      problems.push(`${file}: ${key}.include: "${entry}": no type or field of the unified graph carries @tag(name: "${name}")${hint}`);
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

export function channelView(schema: GraphQLSchema, channel: ChannelShape, subgraphs?: SubgraphRoots, declared?: ReadonlyMap<string, readonly string[]>): GraphQLSchema {
  const included = channel.include ? includeView(schema, channel.include, subgraphs, declared) : schema;
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
function includeView(schema: GraphQLSchema, include: readonly string[], subgraphs?: SubgraphRoots, declared?: ReadonlyMap<string, readonly string[]>): GraphQLSchema {
  const tags = include.some((entry) => entry.startsWith(TAG_PREFIX)) ? tagged(schema, declared) : undefined;
  const coordinates = include.flatMap((entry) => {
    if (entry.startsWith(SUBGRAPH_PREFIX)) return (subgraphs?.get(entry) ?? []).filter((c) => !missingCoordinate(schema, c));
    if (entry.startsWith(TAG_PREFIX)) return tags?.get(entry.slice(TAG_PREFIX.length)) ?? [];
    return [entry];
  });
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
