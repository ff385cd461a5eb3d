/**
 * A channel's own names and fields over its view of the unified graph
 * (`channels.<name>.rename` and `channels.<name>.fields`). The channel's
 * schema is what its clients validate and introspect; an operation on it is
 * translated to the unified graph's names before it runs (so every route and
 * plugin sees the graph's names), and its answer back to the channel's:
 *
 * - a renamed field is asked by its graph name under the client's response
 *   key (`title` → `title: name`);
 * - a renamed type in a fragment condition or a variable's type gets its
 *   graph name; `__typename` is asked under a `tessera__t<n>` alias and its
 *   value renamed in the answer;
 * - a composed field (`Product.card`) is replaced by its `from` selections,
 *   each under a `tessera__c<n>__` alias, and the answer's value built from
 *   them with the template.
 *
 * Template grammar: text with `{path}` placeholders, `path` a dot-separated
 * list of response keys of `from` ending at a leaf (`{price.amount}`). A
 * placeholder whose value is null or missing renders as the empty string; a
 * list on the way renders its items joined with ", ". No other syntax: no
 * expressions, conditions or escapes.
 *
 * Input fields (`rename.fields` on an input type) and enum values
 * (`rename.values: { "Category.TOOLS": tools }`) are renamed too: in
 * literals of the operation (object fields, enum values) by the input type
 * there, in variables by their declared type (`variables()`), and an
 * enum-typed field of the answer is asked under a `tessera__e<n>` alias and
 * its values (a list's items too) put back in the channel's names.
 */
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import {
  GraphQLError,
  GraphQLObjectType,
  GraphQLString,
  Kind,
  TypeInfo,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  isObjectType,
  typeFromAST,
  type EnumValueNode,
  type GraphQLInputType,
  type ObjectValueNode,
  parse,
  specifiedRules,
  NoUnusedFragmentsRule,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type NamedTypeNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { suggestionList } from 'graphql/jsutils/suggestionList.js';
import { missingCoordinate } from './coordinates.js';

export interface ComposedFieldSpec {
  from: readonly string[];
  template: string;
  description?: string;
}

export interface ChannelNaming {
  rename?: { types: Readonly<Record<string, string>>; fields: Readonly<Record<string, string>>; values?: Readonly<Record<string, string>> };
  fields?: Readonly<Record<string, ComposedFieldSpec>>;
}

const TYPENAME_PREFIX = 'tessera__t';
const COMPOSED_PREFIX = 'tessera__c';
const ENUM_PREFIX = 'tessera__e';
const PLACEHOLDER = /\{([_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*)\}/g;

/** A translated operation: its document in the graph's names and how to turn its answer back. */
export interface Translation {
  document: DocumentNode;
  /** `tessera__t<n>` → the client's response key of that `__typename`. */
  typenames: string[];
  /** `tessera__c<n>` → the client's response key and the template of that composed field. */
  composed: Array<{ key: string; template: string }>;
  /** `tessera__e<n>` → the client's response key of that enum-typed field, and its enum (channel name). */
  enums: Array<{ key: string; enum: string }>;
  /** The operation's variables in the graph's names (renamed input fields and enum values); absent when none needs it. */
  variables?(values: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined;
}

export interface ChannelFields {
  /** The channel's schema: the view renamed, with its composed fields. */
  schema: GraphQLSchema;
  /** The operation in the unified graph's names, or undefined when it names nothing renamed or composed. */
  translate(document: DocumentNode): Translation | undefined;
  /** An answer of a translated operation in the channel's names (data and error paths). */
  answer<T extends { data?: unknown; errors?: readonly GraphQLError[] }>(result: T, translation: Translation): T;
}

/**
 * Entries of `rename` and `fields` that do not fit the view: unknown types and
 * fields, a `from` that does not validate, a placeholder that reads no leaf.
 */
export function channelFieldProblems(view: GraphQLSchema, naming: ChannelNaming, key: string, file: string): string[] {
  const problems: string[] = [];
  for (const coordinate of [...Object.keys(naming.rename?.types ?? {}), ...Object.keys(naming.rename?.fields ?? {})]) {
    const missing = missingCoordinate(view, coordinate);
    const at = coordinate.includes('.') ? `rename.fields."${coordinate}"` : `rename.types.${coordinate}`;
    if (missing) problems.push(`${file}: ${key}.${at}: this channel's view has no ${missing.missing}${missing.hint}`);
  }
  for (const coordinate of Object.keys(naming.rename?.values ?? {})) {
    const [typeName, valueName] = coordinate.split('.') as [string, string];
    const type = view.getType(typeName);
    const at = `${file}: ${key}.rename.values."${coordinate}"`;
    if (!isEnumType(type)) {
      const missing = missingCoordinate(view, typeName);
      problems.push(`${at}: expected "Enum.VALUE" of an enum type of this channel's view; ${missing ? `there is no ${missing.missing}${missing.hint}` : `${typeName} is not an enum type`}`);
      continue;
    }
    const values = type.getValues().map((v) => v.name);
    if (!values.includes(valueName)) {
      const close = suggestionList(valueName, values);
      problems.push(`${at}: ${typeName} has no value ${valueName}${close.length > 0 ? ` (did you mean "${typeName}.${close[0]}"?)` : ` (values: ${values.join(', ')})`}`);
    }
  }
  for (const [coordinate, spec] of Object.entries(naming.fields ?? {})) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = view.getType(typeName);
    const at = `${file}: ${key}.fields."${coordinate}"`;
    if (!isObjectType(type)) {
      const missing = missingCoordinate(view, typeName);
      problems.push(`${at}: a composed field belongs to an object type of this channel's view; ${missing ? `there is no ${missing.missing}${missing.hint}` : `${typeName} is not an object type`}`);
      continue;
    }
    if (type.getFields()[fieldName]) problems.push(`${at}: ${typeName} already has a field "${fieldName}"; pick another name`);
    let selections: SelectionSetNode;
    try {
      selections = fromSelections(spec.from);
    } catch (error) {
      problems.push(`${at}.from: not GraphQL selections: ${(error as Error).message}`);
      continue;
    }
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [{ kind: Kind.FRAGMENT_DEFINITION, name: { kind: Kind.NAME, value: 'From' }, typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: typeName } }, selectionSet: selections }] };
    const errors = validate(view, document, specifiedRules.filter((rule) => rule !== NoUnusedFragmentsRule));
    for (const error of errors) problems.push(`${at}.from: ${error.message}`);
    if (errors.length > 0) continue;
    for (const match of spec.template.matchAll(PLACEHOLDER)) {
      if (!readsLeaf(selections, match[1]!.split('.'))) problems.push(`${at}.template: "{${match[1]}}" reads no leaf that \`from\` selects (from: ${spec.from.join(', ')})`);
    }
  }
  return problems;
}

function fromSelections(from: readonly string[]): SelectionSetNode {
  const document = parse(`{ ${from.join(' ')} }`, { noLocation: true });
  return (document.definitions[0] as { selectionSet: SelectionSetNode }).selectionSet;
}

function readsLeaf(selections: SelectionSetNode, path: readonly string[]): boolean {
  const [head, ...rest] = path;
  const field = selections.selections.find((s): s is FieldNode => s.kind === Kind.FIELD && (s.alias ?? s.name).value === head);
  if (!field) return false;
  if (rest.length === 0) return !field.selectionSet;
  return field.selectionSet !== undefined && readsLeaf(field.selectionSet, rest);
}

export function channelFields(view: GraphQLSchema, naming: ChannelNaming): ChannelFields | undefined {
  const typeRenames = naming.rename?.types ?? {};
  const fieldRenames = naming.rename?.fields ?? {};
  const valueRenames = naming.rename?.values ?? {};
  const composedSpecs = naming.fields ?? {};
  if (Object.keys(typeRenames).length + Object.keys(fieldRenames).length + Object.keys(valueRenames).length + Object.keys(composedSpecs).length === 0) return undefined;
  // "ChannelEnum.CHANNEL_VALUE" → the graph's value, and "ChannelEnum.GRAPH_VALUE" → the channel's.
  const graphValue = new Map<string, string>();
  const channelValue = new Map<string, string>();
  const renamedEnums = new Set<string>();
  for (const [coordinate, name] of Object.entries(valueRenames)) {
    const [typeName, value] = coordinate.split('.') as [string, string];
    const channelEnum = typeRenames[typeName] ?? typeName;
    graphValue.set(`${channelEnum}.${name}`, value);
    channelValue.set(`${channelEnum}.${value}`, name);
    renamedEnums.add(channelEnum);
  }
  const graphType = new Map(Object.entries(typeRenames).map(([graph, channel]) => [channel, graph]));
  // "ChannelType.channelField" → the graph's field name.
  const graphField = new Map<string, string>();
  for (const [coordinate, name] of Object.entries(fieldRenames)) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    graphField.set(`${typeRenames[typeName] ?? typeName}.${name}`, fieldName);
  }
  // "ChannelType.field" → the composed field's spec and parsed selections.
  const composedOn = new Map(
    Object.entries(composedSpecs).map(([coordinate, spec]) => {
      const [typeName, fieldName] = coordinate.split('.') as [string, string];
      return [`${typeRenames[typeName] ?? typeName}.${fieldName}`, { spec, selections: fromSelections(spec.from) }] as [string, { spec: ComposedFieldSpec; selections: SelectionSetNode }];
    }),
  );

  const schema = renamed(withComposedFields(view, composedSpecs), typeRenames, fieldRenames, valueRenames);
  // Input types (channel names) with a renamed field: their literals and variables need translating.
  const renamedInputs = new Set(
    Object.keys(fieldRenames)
      .map((c) => c.split('.')[0]!)
      .filter((t) => isInputObjectType(view.getType(t)))
      .map((t) => typeRenames[t] ?? t),
  );
  const translatesInputs = renamedInputs.size + renamedEnums.size > 0;

  /** A variable's value (of channel type `type`) in the graph's names. */
  const graphInput = (value: unknown, type: GraphQLInputType): unknown => {
    if (value === null || value === undefined) return value;
    if (isNonNullType(type)) return graphInput(value, type.ofType);
    if (isListType(type)) return Array.isArray(value) ? value.map((item) => graphInput(item, type.ofType)) : graphInput(value, type.ofType);
    if (isEnumType(type)) return typeof value === 'string' ? (graphValue.get(`${type.name}.${value}`) ?? value) : value;
    if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
      const fields = type.getFields();
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, inner]) => {
          const field = fields[name];
          return [graphField.get(`${type.name}.${name}`) ?? name, field ? graphInput(inner, field.type) : inner];
        }),
      );
    }
    return value;
  };

  const translate = (document: DocumentNode): Translation | undefined => {
    // Pass 1, on the channel's schema: the channel type each selection set selects from.
    const parentOf = new Map<SelectionSetNode, string>();
    // Object literals of an input type with renamed fields, enum literals of a renamed enum, fields returning one.
    const objectType = new Map<ObjectValueNode, string>();
    const enumOf = new Map<EnumValueNode | FieldNode, string>();
    const variableTypes = new Map<string, GraphQLInputType>();
    const typeInfo = new TypeInfo(schema);
    let touched = false;
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        SelectionSet(node) {
          const type = typeInfo.getType();
          if (type) parentOf.set(node, getNamedType(type).name);
        },
        Field(node) {
          const parent = typeInfo.getParentType();
          if (!parent) return;
          const coordinate = `${parent.name}.${node.name.value}`;
          if (graphField.has(coordinate) || composedOn.has(coordinate) || (node.name.value === '__typename' && graphType.size > 0)) touched = true;
          const type = typeInfo.getType();
          if (type && renamedEnums.has(getNamedType(type).name)) {
            enumOf.set(node, getNamedType(type).name);
            touched = true;
          }
        },
        ObjectValue(node) {
          const type = typeInfo.getInputType();
          if (type && renamedInputs.has(getNamedType(type).name)) {
            objectType.set(node, getNamedType(type).name);
            touched = true;
          }
        },
        EnumValue(node) {
          const type = typeInfo.getInputType();
          if (type && renamedEnums.has(getNamedType(type).name)) {
            enumOf.set(node, getNamedType(type).name);
            touched = true;
          }
        },
        VariableDefinition(node) {
          if (!translatesInputs) return;
          const type = typeFromAST(schema, node.type);
          if (type && isInputType(type)) variableTypes.set(node.variable.name.value, type);
          touched = true;
        },
        NamedType(node) {
          if (graphType.has(node.name.value)) touched = true;
        },
      }),
    );
    if (!touched) return undefined;
    const typenames: string[] = [];
    const composed: Translation['composed'] = [];
    const enums: Translation['enums'] = [];
    // Pass 2: each selection set's fields in the graph's names (nested sets keep their identity, so pass 1's types still apply).
    const translated = visit(document, {
      SelectionSet(node) {
        const parent = parentOf.get(node);
        if (parent === undefined) return undefined;
        const selections: SelectionNode[] = [];
        for (const selection of node.selections) {
          if (selection.kind !== Kind.FIELD) {
            selections.push(selection);
            continue;
          }
          const key = (selection.alias ?? selection.name).value;
          const coordinate = `${parent}.${selection.name.value}`;
          const composedField = composedOn.get(coordinate);
          if (composedField) {
            const n = composed.push({ key, template: composedField.spec.template }) - 1;
            for (const from of composedField.selections.selections) {
              const field = from as FieldNode;
              selections.push({ ...field, alias: { kind: Kind.NAME, value: `${COMPOSED_PREFIX}${n}__${(field.alias ?? field.name).value}` } });
            }
            continue;
          }
          if (selection.name.value === '__typename' && graphType.size > 0) {
            const n = typenames.push(key) - 1;
            selections.push({ ...selection, alias: { kind: Kind.NAME, value: `${TYPENAME_PREFIX}${n}` } });
            continue;
          }
          const graphName = graphField.get(coordinate);
          const enumName = enumOf.get(selection);
          const alias = enumName !== undefined ? `${ENUM_PREFIX}${enums.push({ key, enum: enumName }) - 1}` : graphName ? key : undefined;
          selections.push(alias !== undefined ? { ...selection, alias: { kind: Kind.NAME, value: alias }, name: { kind: Kind.NAME, value: graphName ?? selection.name.value } } : selection);
        }
        return { ...node, selections };
      },
      ObjectValue(node: ObjectValueNode) {
        const typeName = objectType.get(node);
        if (typeName === undefined) return undefined;
        return { ...node, fields: node.fields.map((f) => ({ ...f, name: { kind: Kind.NAME, value: graphField.get(`${typeName}.${f.name.value}`) ?? f.name.value } })) };
      },
      EnumValue(node: EnumValueNode) {
        const enumName = enumOf.get(node);
        return enumName === undefined ? undefined : { ...node, value: graphValue.get(`${enumName}.${node.value}`) ?? node.value };
      },
      NamedType(node: NamedTypeNode) {
        const graph = graphType.get(node.name.value);
        return graph ? { ...node, name: { kind: Kind.NAME, value: graph } } : undefined;
      },
    });
    const variables =
      variableTypes.size > 0
        ? (values: Readonly<Record<string, unknown>> | undefined) =>
            values && Object.fromEntries(Object.entries(values).map(([name, value]) => [name, variableTypes.has(name) ? graphInput(value, variableTypes.get(name)!) : value]))
        : undefined;
    return { document: translated, typenames, composed, enums, ...(variables && { variables }) };
  };

  const channelTypeName = new Map(Object.entries(typeRenames));
  const channelEnum = (value: unknown, enumName: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => channelEnum(item, enumName));
    return typeof value === 'string' ? (channelValue.get(`${enumName}.${value}`) ?? value) : value;
  };
  const answerValue = (value: unknown, translation: Translation): unknown => {
    if (Array.isArray(value)) return value.map((item) => answerValue(item, translation));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    const parts = new Map<number, Record<string, unknown>>();
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key.startsWith(TYPENAME_PREFIX)) {
        const client = translation.typenames[Number(key.slice(TYPENAME_PREFIX.length))] ?? key;
        out[client] = typeof inner === 'string' ? (channelTypeName.get(inner) ?? inner) : inner;
      } else if (key.startsWith(ENUM_PREFIX)) {
        const spec = translation.enums[Number(key.slice(ENUM_PREFIX.length))];
        out[spec?.key ?? key] = spec ? channelEnum(inner, spec.enum) : inner;
      } else if (key.startsWith(COMPOSED_PREFIX)) {
        const [n, from] = key.slice(COMPOSED_PREFIX.length).split('__') as [string, string];
        const index = Number(n);
        let part = parts.get(index);
        if (!part) {
          parts.set(index, (part = {}));
          out[translation.composed[index]?.key ?? key] = null; // its place among the keys; filled below
        }
        part[from] = inner;
      } else out[key] = answerValue(inner, translation);
    }
    for (const [index, part] of parts) {
      const spec = translation.composed[index];
      if (spec) out[spec.key] = render(spec.template, part);
    }
    return out;
  };
  const answerPath = (path: ReadonlyArray<string | number>, translation: Translation): Array<string | number> =>
    path.map((segment) => {
      if (typeof segment !== 'string') return segment;
      if (segment.startsWith(TYPENAME_PREFIX)) return translation.typenames[Number(segment.slice(TYPENAME_PREFIX.length))] ?? segment;
      if (segment.startsWith(ENUM_PREFIX)) return translation.enums[Number(segment.slice(ENUM_PREFIX.length))]?.key ?? segment;
      if (segment.startsWith(COMPOSED_PREFIX)) return translation.composed[Number(segment.slice(COMPOSED_PREFIX.length).split('__')[0])]?.key ?? segment;
      return segment;
    });

  const fieldNames = new Map(Object.entries(fieldRenames));
  /** A graph's type or "Type.field" in the channel's names. */
  const channelName = (graphName: string): string => {
    const [typeName, fieldName] = graphName.split('.') as [string, string | undefined];
    const type = typeRenames[typeName] ?? typeName;
    return fieldName === undefined ? type : `${type}.${fieldNames.get(graphName) ?? fieldName}`;
  };
  const typeWords = Object.keys(typeRenames).length > 0 ? new RegExp(`\\b(${Object.keys(typeRenames).join('|')})\\b`, 'g') : undefined;
  /**
   * A refusal (OPERATION_NOT_PLANNABLE) names the graph's field and types: said in the channel's names, the
   * client's (quoted "Type.field" coordinates, and renamed types outside quotes; quoted subgraph names kept).
   */
  const channelMessage = (message: string): string =>
    message
      .split(/("[^"]*")/)
      .map((part) => {
        if (part.startsWith('"')) return /^"[_A-Za-z]\w*\.[_A-Za-z]\w*"$/.test(part) ? `"${channelName(part.slice(1, -1))}"` : part;
        return typeWords ? part.replace(typeWords, (word) => channelName(word)) : part;
      })
      .join('');

  return {
    schema,
    translate,
    answer(result, translation) {
      const errors = result.errors?.map((error) =>
        error.extensions?.code === 'OPERATION_NOT_PLANNABLE'
          ? new GraphQLError(channelMessage(error.message), { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path && answerPath(error.path, translation), originalError: error.originalError, extensions: error.extensions })
          : error.path
          ? new GraphQLError(error.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              path: answerPath(error.path, translation),
              originalError: error.originalError,
              extensions: error.extensions,
            })
          : error,
      );
      return { ...result, ...(result.data !== undefined && { data: answerValue(result.data, translation) }), ...(errors && { errors }) };
    },
  };
}

function render(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_, path: string) => text(read(values, path.split('.'))));
}

function read(value: unknown, path: readonly string[]): unknown {
  if (path.length === 0) return value;
  if (Array.isArray(value)) return value.map((item) => read(item, path));
  if (value === null || typeof value !== 'object') return undefined;
  return read((value as Record<string, unknown>)[path[0]!], path.slice(1));
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(text).join(', ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean);
}

function withComposedFields(view: GraphQLSchema, specs: Readonly<Record<string, ComposedFieldSpec>>): GraphQLSchema {
  if (Object.keys(specs).length === 0) return view;
  return mapSchema(view, {
    [MapperKind.OBJECT_TYPE]: (type) => {
      const added = Object.entries(specs).filter(([coordinate]) => coordinate.split('.')[0] === type.name);
      if (added.length === 0) return type;
      const config = type.toConfig();
      return new GraphQLObjectType({
        ...config,
        fields: {
          ...config.fields,
          ...Object.fromEntries(
            added.map(([coordinate, spec]) => [
              coordinate.split('.')[1]!,
              { type: GraphQLString, description: spec.description ?? `Built by the gateway from ${spec.from.join(', ')} (channels.<name>.fields).` },
            ]),
          ),
        },
      });
    },
  });
}

function renamed(schema: GraphQLSchema, types: Readonly<Record<string, string>>, fields: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>): GraphQLSchema {
  if (Object.keys(types).length + Object.keys(fields).length + Object.keys(values).length === 0) return schema;
  const withFields =
    Object.keys(fields).length + Object.keys(values).length === 0
      ? schema
      : mapSchema(schema, {
          [MapperKind.COMPOSITE_FIELD]: (config, fieldName, typeName) => {
            const name = fields[`${typeName}.${fieldName}`];
            return name ? [name, config] : config;
          },
          [MapperKind.INPUT_OBJECT_FIELD]: (config, fieldName, typeName) => {
            const name = fields[`${typeName}.${fieldName}`];
            return name ? [name, config] : config;
          },
          [MapperKind.ENUM_VALUE]: (config, typeName, _schema, externalValue) => {
            const name = values[`${typeName}.${externalValue}`];
            return name ? [name, config] : config;
          },
        });
  if (Object.keys(types).length === 0) return withFields;
  return mapSchema(withFields, {
    [MapperKind.TYPE]: (type) => {
      const name = types[type.name];
      if (!name) return type;
      // Every named type class takes its own config back with another name.
      const Ctor = type.constructor as new (config: unknown) => typeof type;
      return new Ctor({ ...type.toConfig(), name });
    },
  });
}
