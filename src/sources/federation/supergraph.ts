/**
 * A supergraph file made by other tools (`supergraph:` in gateway.yaml:
 * Apollo's rover, Hive, @theguild/federation-composition), turned back into
 * its subgraphs: one Federation v2 SDL per `join__Graph` value, with its
 * `url`, read off the `@join__*` directives (join spec v0.3 and earlier):
 *
 * - `@join__type(graph:, key:, resolvable:)`: the type is in that subgraph,
 *   with `@key` when a key is given;
 * - `@join__field(graph:, requires:, provides:, external:, override:,
 *   type:)`: the field is in that subgraph (a field with none is in every
 *   subgraph of its type), with those directives and its type there;
 * - `@join__implements`, `@join__unionMember`, `@join__enumValue`: the
 *   interfaces, members and values each subgraph has (all, without them);
 * - a field two subgraphs resolve (not `@external`) is `@shareable` in each,
 *   counting an @interfaceObject's field as resolved on every implementation
 *   of its interface;
 * - `@inaccessible`, `@authenticated` and `@requiresScopes` are kept.
 *
 * Each subgraph then loads as a `kind: federation` source (load.ts), so the
 * supergraph is composed, planned and served as its subgraphs would be.
 */
import {
  Kind,
  parse,
  print,
  type ConstArgumentNode,
  type ConstDirectiveNode,
  type DefinitionNode,
  type DocumentNode,
  type EnumTypeDefinitionNode,
  type FieldDefinitionNode,
  type InputObjectTypeDefinitionNode,
  type InputValueDefinitionNode,
  type InterfaceTypeDefinitionNode,
  type NamedTypeNode,
  type ObjectTypeDefinitionNode,
  type UnionTypeDefinitionNode,
} from 'graphql';

/** One subgraph of a supergraph: its name and URL (from `@join__graph`) and its SDL. */
export interface SupergraphSubgraph {
  name: string;
  url: string;
  sdl: string;
}

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requires", "@provides", "@external", "@shareable", "@override", "@inaccessible", "@authenticated", "@requiresScopes", "@policy", "@tag", "@interfaceObject"])';
const KEPT = new Set(['inaccessible', 'authenticated', 'requiresScopes', 'policy', 'tag', 'deprecated', 'specifiedBy', 'oneOf']);

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const stringValue = (value: string) => ({ kind: Kind.STRING, value }) as const;

function argument(directive: ConstDirectiveNode, key: string): ConstArgumentNode['value'] | undefined {
  return directive.arguments?.find((a) => a.name.value === key)?.value;
}

function enumArgument(directive: ConstDirectiveNode, key: string): string | undefined {
  const value = argument(directive, key);
  return value?.kind === Kind.ENUM ? value.value : undefined;
}

function stringArgument(directive: ConstDirectiveNode, key: string): string | undefined {
  const value = argument(directive, key);
  return value?.kind === Kind.STRING ? value.value : undefined;
}

function directive(directiveName: string, args: Record<string, string | boolean | undefined> = {}): ConstDirectiveNode {
  return {
    kind: Kind.DIRECTIVE,
    name: name(directiveName),
    arguments: Object.entries(args)
      .filter((entry): entry is [string, string | boolean] => entry[1] !== undefined)
      .map(([key, value]) => ({ kind: Kind.ARGUMENT, name: name(key), value: typeof value === 'boolean' ? { kind: Kind.BOOLEAN, value } : stringValue(value) })),
  };
}

/** The directives a subgraph keeps from the supergraph's (not the `@join__*`, `@link` or unknown ones). */
const kept = (directives: readonly ConstDirectiveNode[] | undefined): ConstDirectiveNode[] => (directives ?? []).filter((d) => KEPT.has(d.name.value));

const joins = (directives: readonly ConstDirectiveNode[] | undefined, joinName: string): ConstDirectiveNode[] => (directives ?? []).filter((d) => d.name.value === joinName);

type TypeNode = ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode;

/** Throws an Error naming what is wrong when the document is not a supergraph (no `join__Graph` enum). */
export function subgraphsOfSupergraph(text: string): SupergraphSubgraph[] {
  const document: DocumentNode = parse(text);
  const graphEnum = document.definitions.find((d): d is EnumTypeDefinitionNode => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === 'join__Graph');
  if (!graphEnum) throw new Error('no `enum join__Graph`: this is not a supergraph (made with the join spec, by rover, Hive or federation-composition)');
  const graphs = (graphEnum.values ?? []).map((value) => {
    const join = joins(value.directives, 'join__graph')[0];
    return { id: value.name.value, name: (join && stringArgument(join, 'name')) ?? value.name.value.toLowerCase(), url: (join && stringArgument(join, 'url')) ?? '' };
  });
  const definitions = document.definitions.filter(
    (d): d is Exclude<DefinitionNode, { kind: Kind.DIRECTIVE_DEFINITION | Kind.SCHEMA_DEFINITION | Kind.SCHEMA_EXTENSION }> =>
      'name' in d && d.name !== undefined && !/^(join|link)__/.test(d.name.value) && d.kind !== Kind.DIRECTIVE_DEFINITION && d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION,
  );

  /** The graphs a type is in: its `@join__type`s, or every graph. */
  const graphsOfType = (directives: readonly ConstDirectiveNode[] | undefined): string[] => {
    const listed = joins(directives, 'join__type').map((d) => enumArgument(d, 'graph')).filter((g): g is string => Boolean(g));
    return listed.length > 0 ? [...new Set(listed)] : graphs.map((g) => g.id);
  };
  /** A field's occurrences per graph: its `@join__field`s, or one plain occurrence in every graph of its type. */
  const occurrences = (field: FieldDefinitionNode | InputValueDefinitionNode, typeGraphs: readonly string[]): Map<string, ConstDirectiveNode | undefined> => {
    const all = joins(field.directives, 'join__field');
    const listed = all.filter((d) => enumArgument(d, 'graph'));
    // `@join__field` without a graph: in no subgraph as such (an @interfaceObject's field on an implementation).
    if (all.length > 0 && listed.length === 0) return new Map();
    if (listed.length === 0) return new Map(typeGraphs.map((g) => [g, undefined]));
    return new Map(listed.map((d) => [enumArgument(d, 'graph')!, d]));
  };

  const external = (join: ConstDirectiveNode | undefined) => (join ? argument(join, 'external')?.kind === Kind.BOOLEAN && (argument(join, 'external') as { value: boolean }).value : false);
  /** "Type.field" ─► the graphs that resolve it (not `@external`). */
  const resolvedBy = new Map<string, Set<string>>();
  /** An interface ─► the object types that implement it. */
  const implementations = new Map<string, string[]>();
  for (const definition of definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const type = definition as TypeNode;
    const typeGraphs = graphsOfType(type.directives);
    for (const field of type.fields ?? []) {
      resolvedBy.set(`${type.name.value}.${field.name.value}`, new Set([...occurrences(field, typeGraphs)].filter(([, join]) => !external(join)).map(([graph]) => graph)));
    }
    if (type.kind === Kind.OBJECT_TYPE_DEFINITION) for (const i of type.interfaces ?? []) implementations.set(i.name.value, [...(implementations.get(i.name.value) ?? []), type.name.value]);
  }
  /**
   * The graphs that resolve a field, an @interfaceObject's field on an interface counted on its implementations and
   * the implementations' fields on the interface (composition sees them as one field resolved in each).
   */
  const resolvers = (type: TypeNode, field: string): Set<string> => {
    const graphsOf = (typeName: string) => resolvedBy.get(`${typeName}.${field}`) ?? new Set<string>();
    const related = type.kind === Kind.INTERFACE_TYPE_DEFINITION ? (implementations.get(type.name.value) ?? []) : (type.interfaces ?? []).map((i) => i.name.value);
    return new Set([...graphsOf(type.name.value), ...related.flatMap((t) => [...graphsOf(t)])]);
  };

  const perGraph = new Map<string, DefinitionNode[]>(graphs.map((g) => [g.id, []]));
  const graphName = new Map(graphs.map((g) => [g.id, g.name]));
  for (const definition of definitions) {
    const typeGraphs = graphsOfType(definition.directives as readonly ConstDirectiveNode[] | undefined);
    for (const graph of typeGraphs) {
      const out = perGraph.get(graph);
      if (!out) continue;
      const built = definitionFor(definition, graph, typeGraphs, occurrences, resolvers, graphName);
      if (built) out.push(built);
    }
  }
  return graphs.map((g) => ({ name: g.name, url: g.url, sdl: `${LINK}\n\n${perGraph.get(g.id)!.map((d) => print(d)).join('\n\n')}\n` }));
}

function definitionFor(
  definition: DefinitionNode,
  graph: string,
  typeGraphs: readonly string[],
  occurrences: (field: FieldDefinitionNode | InputValueDefinitionNode, typeGraphs: readonly string[]) => Map<string, ConstDirectiveNode | undefined>,
  resolvers: (type: TypeNode, field: string) => Set<string>,
  graphName: ReadonlyMap<string, string>,
): DefinitionNode | undefined {
  switch (definition.kind) {
    case Kind.OBJECT_TYPE_DEFINITION:
    case Kind.INTERFACE_TYPE_DEFINITION: {
      const type = definition as TypeNode;
      // An interface this subgraph knows as one object type (`@join__type(isInterfaceObject: true)`).
      const interfaceObject = joins(type.directives, 'join__type').some((d) => enumArgument(d, 'graph') === graph && argument(d, 'isInterfaceObject')?.kind === Kind.BOOLEAN && (argument(d, 'isInterfaceObject') as { value: boolean }).value);
      const keys = joins(type.directives, 'join__type')
        .filter((d) => enumArgument(d, 'graph') === graph && stringArgument(d, 'key') !== undefined)
        .map((d) => {
          const resolvable = argument(d, 'resolvable');
          return directive('key', { fields: stringArgument(d, 'key'), ...(resolvable?.kind === Kind.BOOLEAN && !resolvable.value && { resolvable: false }) });
        });
      const fields: FieldDefinitionNode[] = [];
      for (const field of type.fields ?? []) {
        const seen = occurrences(field, typeGraphs);
        if (!seen.has(graph)) continue;
        const join = seen.get(graph);
        const external = join ? argument(join, 'external')?.kind === Kind.BOOLEAN && (argument(join, 'external') as { value: boolean }).value : false;
        // The merged directives (@inaccessible, @tag, @authenticated...) belong to the fields a subgraph resolves:
        // composition refuses them on an @external one (MERGED_DIRECTIVE_APPLICATION_ON_EXTERNAL).
        const directives = external ? kept(field.directives).filter((d) => d.name.value === 'deprecated') : [...kept(field.directives)];
        if (external) directives.push(directive('external'));
        const requires = join && stringArgument(join, 'requires');
        const provides = join && stringArgument(join, 'provides');
        const override = join && stringArgument(join, 'override');
        const label = join && stringArgument(join, 'overrideLabel');
        if (requires) directives.push(directive('requires', { fields: requires }));
        if (provides) directives.push(directive('provides', { fields: provides }));
        if (override) directives.push(directive('override', { from: [...graphName.values()].find((n) => n.toLowerCase() === override.toLowerCase()) ?? override, label }));
        if (!external && (definition.kind === Kind.OBJECT_TYPE_DEFINITION || interfaceObject) && resolvers(type, field.name.value).size > 1) directives.push(directive('shareable'));
        const typeText = join && stringArgument(join, 'type');
        const fieldType = typeText ? (parse(`type T { f: ${typeText} }`).definitions[0] as ObjectTypeDefinitionNode).fields![0]!.type : field.type;
        fields.push({ ...field, type: fieldType, arguments: field.arguments?.map((a) => ({ ...a, directives: kept(a.directives) })), directives });
      }
      if (fields.length === 0) return undefined;
      const implementsJoins = joins(type.directives, 'join__implements');
      const interfaces: NamedTypeNode[] | undefined =
        implementsJoins.length > 0
          ? implementsJoins.filter((d) => enumArgument(d, 'graph') === graph).map((d) => ({ kind: Kind.NAMED_TYPE, name: name(stringArgument(d, 'interface') ?? '') }))
          : type.interfaces?.slice();
      if (interfaceObject) return { ...type, kind: Kind.OBJECT_TYPE_DEFINITION, interfaces: [], fields, directives: [...kept(type.directives), ...keys, directive('interfaceObject')] } as DefinitionNode;
      return { ...type, interfaces, fields, directives: [...kept(type.directives), ...keys] } as DefinitionNode;
    }
    case Kind.UNION_TYPE_DEFINITION: {
      const union = definition as UnionTypeDefinitionNode;
      const memberJoins = joins(union.directives, 'join__unionMember');
      const types = memberJoins.length > 0 ? memberJoins.filter((d) => enumArgument(d, 'graph') === graph).map((d) => ({ kind: Kind.NAMED_TYPE, name: name(stringArgument(d, 'member') ?? '') }) as NamedTypeNode) : union.types?.slice();
      return types && types.length > 0 ? { ...union, types, directives: kept(union.directives) } : undefined;
    }
    case Kind.ENUM_TYPE_DEFINITION: {
      const enumType = definition as EnumTypeDefinitionNode;
      const values = (enumType.values ?? [])
        .filter((v) => {
          const listed = joins(v.directives, 'join__enumValue');
          return listed.length === 0 || listed.some((d) => enumArgument(d, 'graph') === graph);
        })
        .map((v) => ({ ...v, directives: kept(v.directives) }));
      return values.length > 0 ? { ...enumType, values, directives: kept(enumType.directives) } : undefined;
    }
    case Kind.INPUT_OBJECT_TYPE_DEFINITION: {
      const input = definition as InputObjectTypeDefinitionNode;
      const fields = (input.fields ?? []).filter((f) => occurrences(f, typeGraphs).has(graph)).map((f) => ({ ...f, directives: kept(f.directives) }));
      return fields.length > 0 ? { ...input, fields, directives: kept(input.directives) } : undefined;
    }
    case Kind.SCALAR_TYPE_DEFINITION:
      return { ...definition, directives: kept(definition.directives) };
    default:
      return undefined;
  }
}

/** SDL already known for a federation descriptor (a supergraph's subgraph), by descriptor: loaded from it, never fetched. */
const knownSdl = new WeakMap<object, string>();

export function withKnownSdl<D extends object>(descriptor: D, sdl: string): D {
  knownSdl.set(descriptor, sdl);
  return descriptor;
}

export function knownSdlOf(descriptor: object): string | undefined {
  return knownSdl.get(descriptor);
}
