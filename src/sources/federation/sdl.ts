/**
 * A federation subgraph's SDL read two ways: its federation directives
 * (@key, @requires, @provides, @external) as FederationInfo, and the schema
 * the gateway sees of it: the SDL without the federation machinery
 * (`_service`, `@link`, directive definitions; `_entities` with `_Any` and
 * `_Entity` over its resolvable entities, written anew, for stitching),
 * without the @external fields it does not resolve (those in none of the
 * type's keys: @provides answers them only where it says), and
 * with every directive use other than @deprecated, @specifiedBy, @oneOf and
 * the custom directives it names in @composeDirective removed. Federation 1 `extend type` without a definition becomes the
 * definition.
 *
 * Directive names follow the subgraph's `@link(url: ".../federation/v2.x",
 * import: [...])`: an imported directive under its name (or its `as:`), the
 * others as `@federation__<name>`; without a federation @link (Federation 1)
 * the bare names.
 *
 * https://www.apollographql.com/docs/graphos/reference/federation/subgraph-spec
 */
import {
  buildASTSchema,
  isTypeDefinitionNode,
  isTypeExtensionNode,
  Kind,
  parse,
  visit,
  type ConstArgumentNode,
  type ConstDirectiveNode,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InterfaceTypeDefinitionNode,
  type InterfaceTypeExtensionNode,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
  type SelectionSetNode,
} from 'graphql';
import type { FederationInfo } from '../types.js';

const FEDERATION_TYPES = new Set(['_Any', '_Entity', '_Service', 'FieldSet', '_FieldSet', 'federation__FieldSet', 'link__Import', 'link__Purpose', 'federation__Scope', 'federation__Policy', 'federation__ContextFieldValue', 'link__Purpose']);
const FEDERATION_FIELDS = new Set(['_service', '_entities']);
const KEPT_DIRECTIVES = new Set(['deprecated', 'specifiedBy', 'oneOf']);
const SPEC = /^https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+$/;

/** The local name of each federation directive this subgraph may use: canonical name → name in its SDL. */
function directiveNames(document: DocumentNode): Map<string, string> {
  const names = new Map<string, string>();
  const canonical = ['key', 'requires', 'provides', 'external', 'extends', 'shareable', 'override', 'inaccessible', 'authenticated', 'requiresScopes', 'interfaceObject', 'policy', 'tag', 'composeDirective'];
  let linked = false;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_EXTENSION && definition.kind !== Kind.SCHEMA_DEFINITION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const url = argument(directive, 'url');
      if (url?.kind !== Kind.STRING || !SPEC.test(url.value)) continue;
      linked = true;
      const as = argument(directive, 'as');
      const prefix = as?.kind === Kind.STRING ? as.value : 'federation';
      for (const name of canonical) names.set(name, `${prefix}__${name}`);
      const imports = argument(directive, 'import');
      if (imports?.kind !== Kind.LIST) continue;
      for (const item of imports.values) {
        if (item.kind === Kind.STRING) names.set(item.value.replace(/^@/, ''), item.value.replace(/^@/, ''));
        else if (item.kind === Kind.OBJECT) {
          const name = item.fields.find((f) => f.name.value === 'name')?.value;
          const renamed = item.fields.find((f) => f.name.value === 'as')?.value;
          if (name?.kind === Kind.STRING) names.set(name.value.replace(/^@/, ''), (renamed?.kind === Kind.STRING ? renamed.value : name.value).replace(/^@/, ''));
        }
      }
    }
  }
  if (!linked) for (const name of canonical) names.set(name, name);
  return names;
}

/** Whether the subgraph links the Federation 2 spec (else it is a Federation 1 subgraph). */
function isFederation2(document: DocumentNode): boolean {
  return document.definitions.some(
    (d) => (d.kind === Kind.SCHEMA_EXTENSION || d.kind === Kind.SCHEMA_DEFINITION) && (d.directives ?? []).some((l) => l.name.value === 'link' && SPEC.test((argument(l, 'url') as { value?: string } | undefined)?.value ?? '')),
  );
}

function argument(directive: ConstDirectiveNode, name: string): ConstArgumentNode['value'] | undefined {
  return directive.arguments?.find((a) => a.name.value === name)?.value;
}

/** A field set (`"id organization { id }"`) as a selection set; a syntax error names where it is. */
export function fieldSet(text: string, where: string): SelectionSetNode {
  try {
    const document = parse(`{ ${text} }`);
    return (document.definitions[0] as { selectionSet: SelectionSetNode }).selectionSet;
  } catch (error) {
    throw new Error(`${where}: field set "${text}" is not valid: ${(error as Error).message}`);
  }
}

/** The top-level field names of a field set. */
function topLevel(set: SelectionSetNode): Set<string> {
  return new Set(set.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : [])));
}

type ObjectNode = ObjectTypeDefinitionNode | ObjectTypeExtensionNode;
type InterfaceNode = InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode;

export interface ReadSubgraph {
  info: FederationInfo;
  /** What the gateway sees of the subgraph (see the file's comment). */
  schema: GraphQLSchema;
}

/** Reads a federation subgraph's SDL; throws an Error naming the type and directive when a field set cannot be parsed. */
export function readFederationSdl(sdl: string, document: DocumentNode): ReadSubgraph {
  const names = directiveNames(document);
  const is = (directive: ConstDirectiveNode, canonical: string): boolean => directive.name.value === names.get(canonical);
  const entities = new Map<string, SelectionSetNode[]>();
  const keyed = new Set<string>();
  const keyFields = new Map<string, Set<string>>();
  const requires = new Map<string, SelectionSetNode>();
  const provides = new Map<string, SelectionSetNode>();
  const external = new Set<string>();
  const externalKeys = new Set<string>();
  const overrides = new Map<string, { from: string; label?: string }>();
  const inaccessible = new Set<string>();
  const auth = new Map<string, Array<ReadonlyArray<readonly string[]>>>();
  const tags = new Map<string, Set<string>>();
  /**
   * @inaccessible, @authenticated, @requiresScopes, @policy and @tag on one type or member. A policy is held as
   * a scope of the same name (the caller's credentials grant it), so @policy(policies: [["a", "b"], ["c"]])
   * reads as @requiresScopes(scopes: [["a", "b"], ["c"]]).
   */
  const readAccess = (coordinate: string, directives: readonly ConstDirectiveNode[] | undefined): void => {
    for (const directive of directives ?? []) {
      if (is(directive, 'inaccessible')) inaccessible.add(coordinate);
      if (is(directive, 'tag')) {
        const tag = argument(directive, 'name');
        if (tag?.kind === Kind.STRING) tags.set(tag.value, (tags.get(tag.value) ?? new Set()).add(coordinate));
      }
      let requirement: Array<readonly string[]> | undefined;
      if (is(directive, 'authenticated')) requirement = [[]];
      if (is(directive, 'requiresScopes') || is(directive, 'policy')) {
        const scopes = argument(directive, is(directive, 'policy') ? 'policies' : 'scopes');
        requirement = scopes?.kind === Kind.LIST ? scopes.values.map((group) => (group.kind === Kind.LIST ? group.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : [])) : [];
      }
      if (requirement) auth.set(coordinate, [...(auth.get(coordinate) ?? []), requirement]);
    }
  };
  for (const definition of document.definitions) {
    if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
    const typeName = definition.name.value;
    readAccess(typeName, definition.directives);
    const members = 'fields' in definition ? (definition.fields ?? []) : 'values' in definition ? (definition.values ?? []) : [];
    for (const member of members as ReadonlyArray<{ name: { value: string }; directives?: readonly ConstDirectiveNode[]; arguments?: ReadonlyArray<{ name: { value: string }; directives?: readonly ConstDirectiveNode[] }> }>) {
      readAccess(`${typeName}.${member.name.value}`, member.directives);
      // An argument: only @inaccessible applies ("Type.field(argument:)").
      for (const arg of member.arguments ?? []) if ((arg.directives ?? []).some((d) => is(d, 'inaccessible'))) inaccessible.add(`${typeName}.${member.name.value}(${arg.name.value}:)`);
    }
  }
  const interfaceObjects = new Set<string>();
  const entityInterfaces = new Set<string>();
  const federation2 = isFederation2(document);
  const objects = document.definitions.filter(
    (d): d is ObjectNode | InterfaceNode => d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION || d.kind === Kind.INTERFACE_TYPE_DEFINITION || d.kind === Kind.INTERFACE_TYPE_EXTENSION,
  );
  for (const type of objects) {
    const typeName = type.name.value;
    const isInterface = type.kind === Kind.INTERFACE_TYPE_DEFINITION || type.kind === Kind.INTERFACE_TYPE_EXTENSION;
    if (!isInterface && (type.directives ?? []).some((d) => is(d, 'interfaceObject'))) interfaceObjects.add(typeName);
    if (isInterface && (type.directives ?? []).some((d) => is(d, 'key'))) entityInterfaces.add(typeName);
    const typeExternal = (type.directives ?? []).some((d) => is(d, 'external'));
    // A Federation 2 type of its own (neither `extend type` nor `@extends`): its @external key fields are only received.
    const ownType = federation2 && (type.kind === Kind.OBJECT_TYPE_DEFINITION || type.kind === Kind.INTERFACE_TYPE_DEFINITION) && !(type.directives ?? []).some((d) => is(d, 'extends'));
    for (const directive of type.directives ?? []) {
      if (!is(directive, 'key')) continue;
      const fields = argument(directive, 'fields');
      if (fields?.kind !== Kind.STRING) continue;
      const set = fieldSet(fields.value, `type ${typeName} @key`);
      keyed.add(typeName);
      const names = keyFields.get(typeName) ?? new Set();
      for (const name of topLevel(set)) names.add(name);
      keyFields.set(typeName, names);
      const resolvable = argument(directive, 'resolvable');
      if (resolvable?.kind === Kind.BOOLEAN && !resolvable.value) continue;
      const list = entities.get(typeName) ?? [];
      list.push(set);
      entities.set(typeName, list);
    }
    for (const field of type.fields ?? []) {
      const coordinate = `${typeName}.${field.name.value}`;
      if (typeExternal) external.add(coordinate);
      for (const directive of field.directives ?? []) {
        const fields = argument(directive, 'fields');
        if (is(directive, 'external')) external.add(coordinate);
        if (is(directive, 'external') && ownType) externalKeys.add(coordinate);
        else if (is(directive, 'requires') && fields?.kind === Kind.STRING) requires.set(coordinate, fieldSet(fields.value, `${coordinate} @requires`));
        else if (is(directive, 'provides') && fields?.kind === Kind.STRING) provides.set(coordinate, fieldSet(fields.value, `${coordinate} @provides`));
        else if (is(directive, 'override')) {
          const from = argument(directive, 'from');
          const label = argument(directive, 'label');
          if (from?.kind === Kind.STRING) overrides.set(coordinate, { from: from.value, ...(label?.kind === Kind.STRING && { label: label.value }) });
        }
      }
    }
  }
  // Only the key fields among them (another @external field is already left out of the gateway's schema).
  for (const coordinate of externalKeys) {
    const [typeName, field] = coordinate.split('.') as [string, string];
    if (!keyFields.get(typeName)?.has(field)) externalKeys.delete(coordinate);
  }
  const info: FederationInfo = { sdl, entities, keyed, requires, provides, overrides, inaccessible, auth, interfaceObjects, entityInterfaces, externalKeys, tags };
  // @composeDirective(name: "@custom"): the custom directive (its definition and its uses) is carried into the unified graph.
  const composed = new Set<string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_EXTENSION && definition.kind !== Kind.SCHEMA_DEFINITION) continue;
    for (const directive of definition.directives ?? []) {
      const composedName = is(directive, 'composeDirective') ? argument(directive, 'name') : undefined;
      if (composedName?.kind === Kind.STRING) composed.add(composedName.value.replace(/^@/, ''));
    }
  }
  return { info, schema: gatewaySchema(document, external, keyFields, [...entities.keys()].filter((t) => !entityInterfaces.has(t)), composed) };
}

/** The schema the gateway sees (the file's comment): federation machinery, unresolved @external fields and directive uses removed. */
function gatewaySchema(
  document: DocumentNode,
  external: ReadonlySet<string>,
  keyFields: ReadonlyMap<string, ReadonlySet<string>>,
  resolvable: readonly string[],
  composed: ReadonlySet<string>,
): GraphQLSchema {
  const defined = new Set(document.definitions.flatMap((d) => (d.kind === Kind.OBJECT_TYPE_DEFINITION ? [d.name.value] : [])));
  const keepField = (typeName: string, field: FieldDefinitionNode): boolean =>
    !FEDERATION_FIELDS.has(field.name.value) && (!external.has(`${typeName}.${field.name.value}`) || Boolean(keyFields.get(typeName)?.has(field.name.value)));
  const definitions: DefinitionNode[] = [];
  const plain = visit(document, {
    Directive(node) {
      return KEPT_DIRECTIVES.has(node.name.value) || composed.has(node.name.value) ? undefined : null;
    },
  });
  for (const definition of plain.definitions) {
    switch (definition.kind) {
      case Kind.SCHEMA_DEFINITION:
        definitions.push(definition);
        continue;
      case Kind.SCHEMA_EXTENSION:
        if (definition.operationTypes?.length) definitions.push(definition);
        continue;
      case Kind.DIRECTIVE_DEFINITION:
        if (composed.has(definition.name.value)) definitions.push(definition);
        continue;
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION: {
        const typeName = definition.name.value;
        if (FEDERATION_TYPES.has(typeName)) continue;
        const fields = (definition.fields ?? []).filter((f) => keepField(typeName, f));
        if (fields.length === 0 && (typeName === 'Query' || definition.kind === Kind.OBJECT_TYPE_EXTENSION)) continue;
        let node = { ...definition, fields } as DefinitionNode;
        // Federation 1: `extend type Product @key(...)` with no definition of Product in this subgraph.
        if (definition.kind === Kind.OBJECT_TYPE_EXTENSION && !defined.has(typeName)) {
          defined.add(typeName);
          node = { ...(node as ObjectTypeExtensionNode), kind: Kind.OBJECT_TYPE_DEFINITION } as ObjectTypeDefinitionNode;
        }
        definitions.push(node);
        continue;
      }
      default:
        if ('name' in definition && definition.name && FEDERATION_TYPES.has(definition.name.value)) continue;
        definitions.push(definition);
    }
  }
  // The entry point stitching joins entities through (the planner's fallback); compose/ hides it from the unified graph.
  if (resolvable.length > 0) {
    const hasQuery = definitions.some((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query');
    const entry = parse(`scalar _Any\nunion _Entity = ${resolvable.join(' | ')}\n${hasQuery ? 'extend type' : 'type'} Query { _entities(representations: [_Any!]!): [_Entity]! }`);
    definitions.push(...entry.definitions);
  }
  return buildASTSchema({ kind: Kind.DOCUMENT, definitions }, { assumeValidSDL: false });
}

