/**
 * JSON Schema (as OpenAPI 3.0 and 3.1 use it) to GraphQL types. Each schema
 * object becomes at most one output type and one input type (memoised by
 * object identity), so a recursive schema is a recursive type, built lazily
 * through field thunks.
 *
 * Rules (docs/openapi.md, "Mapping rules"):
 * - object with properties → object type (input type `<Name>Input`); without
 *   (or with only writeOnly ones, as output; readOnly ones, as input) → JSON
 * - array → list; items are non-null unless the item schema is nullable
 * - string enum → enum (names sanitised, the original value is what goes on the wire)
 * - allOf → one object with the members' properties merged
 * - oneOf/anyOf → union when every member is an object (resolved by the
 *   discriminator, else by which member's required properties are present),
 *   otherwise JSON; always JSON as an input
 * - integer → Int for `format: int32` (or bounds that fit), Int64 otherwise;
 *   number → Float; `format: date-time` → DateTime; `format: binary` → Upload
 *   as input; a string property named `id` → ID
 * - a property is non-null when it is `required` and not nullable (3.0
 *   `nullable: true`, 3.1 `type: [..., "null"]`, Swagger `x-nullable`);
 *   in lenient mode required output properties are nullable, and a missing
 *   one is reported by its resolver as a located error.
 */
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  GraphQLUnionType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLEnumValueConfigMap,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLScalarType,
} from 'graphql';
import { propertyResolver } from '../compiled-executor.js';
import { resolvePointer, type Json, type JsonObject } from './document.js';
import { enumValueName, NameRegistry, typeName, uniqueFieldNames, upperFirst } from './names.js';
import {
  createBase64Scalar,
  createDateTimeScalar,
  createInt64Scalar,
  createJsonScalar,
  createUploadScalar,
} from './scalars.js';

export type Schema = JsonObject;

/** A schema with its `$ref`s followed and its `allOf` merged. */
export interface Effective {
  schema: Schema;
  /** Component name when it came from `#/components/schemas/<name>`. */
  name?: string;
  nullable: boolean;
}

type Kind =
  | { kind: 'object' }
  | { kind: 'array'; items: Json }
  | { kind: 'scalar'; scalar: 'String' | 'Int' | 'Float' | 'Boolean' | 'Int64' | 'DateTime' | 'Binary' }
  | { kind: 'enum'; values: unknown[] }
  | { kind: 'union'; members: Json[] }
  | { kind: 'json' };

export interface MapperOptions {
  nullability: 'strict' | 'lenient';
  /** Called from a resolver when a required property is missing (lenient mode). */
  violation: (typeName: string, property: string) => Error;
}

/** Per input object type: GraphQL field name → wire name and type, for turning arguments back into the document's names. */
export interface InputFieldWire {
  wire: string;
  type: GraphQLInputType;
}

const EMPTY: Schema = {};
const SCHEMA_REF = /^#\/(?:components\/schemas|definitions)\/([^/]+)$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function asSchema(value: Json | undefined): Schema {
  if (value === true || value === undefined) return EMPTY;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return EMPTY;
  return value;
}

function hasNullType(schema: Schema): boolean {
  const type = schema.type;
  if (type === 'null') return true;
  if (Array.isArray(type) && type.includes('null')) return true;
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true;
  return schema.const === null && 'const' in schema;
}

function isNullSchema(schema: Schema): boolean {
  return schema.type === 'null' || (Array.isArray(schema.enum) && schema.enum.length === 1 && schema.enum[0] === null);
}

export class SchemaMapper {
  readonly types = new NameRegistry(['Query', 'Mutation', 'Subscription', 'String', 'Int', 'Float', 'Boolean', 'ID', 'JSON', 'BigInt', 'DateTime', 'Upload', 'Base64', 'PageInfo']);
  private readonly effectiveMemo = new WeakMap<object, Effective>();
  private readonly outputMemo = new WeakMap<object, GraphQLOutputType>();
  private readonly inputMemo = new WeakMap<object, GraphQLInputType>();
  private readonly enumMemo = new WeakMap<object, GraphQLEnumType>();
  private readonly inProgress = new Set<object>();
  private readonly scalars = new Map<string, GraphQLScalarType>();
  /** Extra fields (links, joins) added to object types after they are created, by type name. */
  private readonly extraFields = new Map<string, Array<() => GraphQLFieldConfigMap<unknown, unknown>>>();
  readonly objectTypes = new Map<string, { type: GraphQLObjectType; schema: Schema }>();
  readonly inputWire = new Map<GraphQLInputObjectType, Map<string, InputFieldWire>>();
  private readonly needsWire = new Map<GraphQLInputObjectType, boolean>();
  /** What the mapping changed from the document and the user should hear about (`tessera check`, the load's log). */
  readonly warnings: string[] = [];

  constructor(
    private readonly root: JsonObject,
    private readonly options: MapperOptions,
  ) {}

  /** Adds fields to an object type (links, joins); must be called before the schema is built. A name already taken is skipped. */
  addFields(typeName: string, fields: () => GraphQLFieldConfigMap<unknown, unknown>): void {
    const list = this.extraFields.get(typeName) ?? [];
    list.push(fields);
    this.extraFields.set(typeName, list);
  }

  scalar(name: 'JSON' | 'Int64' | 'DateTime' | 'Upload' | 'Base64'): GraphQLScalarType {
    let scalar = this.scalars.get(name);
    if (!scalar) {
      const create = { JSON: createJsonScalar, Int64: createInt64Scalar, DateTime: createDateTimeScalar, Upload: createUploadScalar, Base64: createBase64Scalar }[name];
      scalar = create();
      this.scalars.set(name, scalar);
    }
    return scalar;
  }

  /** Follows `$ref`s and merges `allOf`; memoised by the schema object. */
  effective(value: Json | undefined): Effective {
    const start = asSchema(value);
    const cached = this.effectiveMemo.get(start);
    if (cached) return cached;
    let schema = start;
    let name: string | undefined;
    let nullable = false;
    for (let hops = 0; typeof schema.$ref === 'string' && hops < 64; hops++) {
      const ref: string = schema.$ref as string;
      if (schema.nullable === true || hasNullType(schema)) nullable = true;
      const match = SCHEMA_REF.exec(ref);
      if (match) name = decodeURIComponent(match[1]!).replace(/~1/g, '/').replace(/~0/g, '~');
      schema = asSchema(resolvePointer(this.root, ref));
    }
    if (typeof schema.$ref === 'string') schema = EMPTY;
    let result: Effective;
    if (schema === start) {
      result = this.resolved(schema, undefined);
    } else {
      const target = this.effective(schema);
      result = { schema: target.schema, name: target.name ?? name, nullable: nullable || target.nullable };
    }
    this.effectiveMemo.set(start, result);
    return result;
  }

  /** `allOf` merged, `oneOf: [X, null]` unwrapped, for a schema without `$ref`. */
  private resolved(schema: Schema, name: string | undefined): Effective {
    const nullable = schema.nullable === true || schema['x-nullable'] === true || hasNullType(schema);
    let result: Effective = { schema, name, nullable };
    if (this.inProgress.has(schema)) return result;
    this.inProgress.add(schema);
    try {
      const allOf = Array.isArray(schema.allOf) ? schema.allOf : undefined;
      if (allOf) return this.mergeAllOf(schema, allOf, name, nullable);
      const alternatives = (Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined) as Json[] | undefined;
      if (alternatives && !schema.properties) {
        // `oneOf: [X, {type: null}]` is how 3.1 (and careful 3.0) documents write "nullable X".
        const members = alternatives.filter((m) => !isNullSchema(this.effective(m).schema));
        if (members.length < alternatives.length) result.nullable = true;
        if (members.length === 1) {
          const inner = this.effective(members[0]);
          result = { schema: inner.schema, name: inner.name ?? name, nullable: result.nullable || inner.nullable };
        }
      }
      return result;
    } finally {
      this.inProgress.delete(schema);
    }
  }

  private mergeAllOf(schema: Schema, allOf: Json[], name: string | undefined, nullable: boolean): Effective {
    const members = allOf.map((m) => this.effective(m));
    const own: Schema = { ...schema };
    delete own.allOf;
    const ownHasShape = Boolean(own.properties || own.type || own.items || own.enum || own.oneOf || own.anyOf);
    const shaped = members.filter((m) => Object.keys(m.schema).some((k) => k !== 'description' && k !== 'title'));
    if (!ownHasShape && shaped.length === 1) {
      const only = shaped[0]!;
      return { schema: only.schema, name: name ?? only.name, nullable: nullable || only.nullable };
    }
    const properties: JsonObject = {};
    const required = new Set<string>();
    const merged: Schema = {};
    for (const part of [...shaped.map((m) => m.schema), own]) {
      for (const [key, val] of Object.entries(part)) {
        if (key === 'properties' || key === 'required' || key === 'allOf') continue;
        if (merged[key] === undefined) merged[key] = val;
      }
      if (part.properties && typeof part.properties === 'object' && !Array.isArray(part.properties)) Object.assign(properties, part.properties);
      if (Array.isArray(part.required)) for (const r of part.required) if (typeof r === 'string') required.add(r);
    }
    if (Object.keys(properties).length > 0) {
      merged.properties = properties;
      merged.type = 'object';
      // The merged object owns its oneOf only when a member said so; the parts' alternatives describe the parts.
      delete merged.oneOf;
      delete merged.anyOf;
    }
    if (required.size > 0) merged.required = [...required];
    return { schema: merged, name, nullable };
  }

  private kindOf(eff: Effective, depth = 0): Kind {
    const s = eff.schema;
    if (depth > 16) return { kind: 'json' };
    const alternatives = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : undefined) as Json[] | undefined;
    if (alternatives && !s.properties) {
      const members = alternatives.filter((m) => !isNullSchema(this.effective(m).schema));
      if (members.length === 0) return { kind: 'json' };
      const kinds = members.map((m) => this.kindOf(this.effective(m), depth + 1));
      if (kinds.every((k) => k.kind === 'object')) return { kind: 'union', members };
      const first = kinds[0]!;
      if (first.kind === 'scalar' && kinds.every((k) => k.kind === 'scalar' && k.scalar === first.scalar)) return first;
      if (kinds.every((k) => k.kind === 'scalar' && (k.scalar === 'Int' || k.scalar === 'Int64' || k.scalar === 'Float'))) return { kind: 'scalar', scalar: 'Float' };
      if (kinds.every((k) => k.kind === 'scalar' || k.kind === 'enum') && kinds.every((k) => k.kind === 'enum' || (k.kind === 'scalar' && k.scalar === 'String'))) {
        return { kind: 'scalar', scalar: 'String' };
      }
      return { kind: 'json' };
    }
    let type: Json | undefined = s.type;
    if (Array.isArray(type)) {
      const types = type.filter((t) => t !== 'null');
      if (types.length === 1) type = types[0];
      else if (types.length === 2 && types.includes('integer') && types.includes('number')) type = 'number';
      else return { kind: 'json' };
    }
    if (Array.isArray(s.enum)) {
      const values = s.enum.filter((v) => v !== null);
      if (values.length > 0 && values.every((v) => typeof v === 'string') && (type === undefined || type === 'string')) return { kind: 'enum', values };
    }
    if (type === undefined) {
      if (s.properties) type = 'object';
      else if (s.items) type = 'array';
      else if (Array.isArray(s.enum)) {
        const v = s.enum.find((x) => x !== null);
        type = typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v === 'boolean' ? 'boolean' : 'string';
      } else if (typeof s.format === 'string' && s.format !== '') type = 'string';
      else return { kind: 'json' };
    }
    switch (type) {
      case 'object': {
        const props = s.properties;
        const hasProps = props !== null && typeof props === 'object' && !Array.isArray(props) && Object.values(props).some((p) => p !== false);
        return hasProps ? { kind: 'object' } : { kind: 'json' };
      }
      case 'array':
        return { kind: 'array', items: (Array.isArray(s.items) ? s.items[0] : s.items) ?? true };
      case 'string':
        if (s.format === 'date-time') return { kind: 'scalar', scalar: 'DateTime' };
        if (s.format === 'binary' || (typeof s.contentMediaType === 'string' && !/json|text/.test(s.contentMediaType))) return { kind: 'scalar', scalar: 'Binary' };
        return { kind: 'scalar', scalar: 'String' };
      case 'integer': {
        const fits =
          s.format === 'int32' ||
          (typeof s.minimum === 'number' && typeof s.maximum === 'number' && s.minimum >= INT32_MIN && s.maximum <= INT32_MAX);
        return { kind: 'scalar', scalar: fits ? 'Int' : 'Int64' };
      }
      case 'number':
        return { kind: 'scalar', scalar: 'Float' };
      case 'boolean':
        return { kind: 'scalar', scalar: 'Boolean' };
      default:
        return { kind: 'json' };
    }
  }

  private claimName(eff: Effective, hint: string): string {
    return this.types.claim(typeName(eff.name ?? hint));
  }

  private enumType(eff: Effective, values: unknown[], hint: string): GraphQLEnumType {
    const cached = this.enumMemo.get(eff.schema);
    if (cached) return cached;
    const unique = [...new Set(values)];
    const names = new NameRegistry();
    const config: GraphQLEnumValueConfigMap = {};
    for (const value of unique) config[names.claim(enumValueName(value))] = { value };
    const type = new GraphQLEnumType({
      name: this.claimName(eff, hint),
      description: typeof eff.schema.description === 'string' ? eff.schema.description : undefined,
      values: config,
    });
    this.enumMemo.set(eff.schema, type);
    return type;
  }

  /** The output type of a schema, nullable (the caller decides about non-null). */
  outputType(value: Json | undefined, hint: string): GraphQLOutputType {
    const eff = this.effective(value);
    const cached = this.outputMemo.get(eff.schema);
    if (cached) return cached;
    const kind = this.kindOf(eff);
    let type: GraphQLOutputType;
    switch (kind.kind) {
      case 'object':
        if (this.outputFieldNames(eff.schema).size === 0) {
          // Every property is writeOnly: an object type without fields would make the whole schema invalid.
          const where = eff.name ? `#/components/schemas/${eff.name}` : `the schema of ${hint}`;
          this.warnings.push(`${where}: an object with no properties left for responses (all writeOnly) is mapped to the JSON scalar`);
          type = this.scalar('JSON');
          break;
        }
        type = this.objectType(eff, hint);
        break;
      case 'array': {
        const item = this.outputType(kind.items, hint);
        const itemEff = this.effective(kind.items);
        const nonNull = !itemEff.nullable && this.options.nullability === 'strict';
        type = new GraphQLList(nonNull ? new GraphQLNonNull(item) : item);
        // Lists are not memoised by schema: the same items schema may appear under different wrappers.
        return type;
      }
      case 'enum':
        type = this.enumType(eff, kind.values, hint);
        break;
      case 'union':
        type = this.unionType(eff, kind.members, hint);
        break;
      case 'scalar':
        return this.scalarType(kind.scalar, 'output');
      default:
        return this.scalar('JSON');
    }
    this.outputMemo.set(eff.schema, type);
    return type;
  }

  private scalarType(scalar: Extract<Kind, { kind: 'scalar' }>['scalar'], position: 'input' | 'output'): GraphQLScalarType {
    switch (scalar) {
      case 'String':
        return GraphQLString;
      case 'Int':
        return GraphQLInt;
      case 'Float':
        return GraphQLFloat;
      case 'Boolean':
        return GraphQLBoolean;
      case 'Int64':
        return this.scalar('Int64');
      case 'DateTime':
        return this.scalar('DateTime');
      case 'Binary':
        return position === 'input' ? this.scalar('Upload') : GraphQLString;
    }
  }

  private objectType(eff: Effective, hint: string): GraphQLObjectType {
    const name = this.claimName(eff, hint);
    const schema = eff.schema;
    const type: GraphQLObjectType = new GraphQLObjectType({
      name,
      description: typeof schema.description === 'string' ? schema.description : undefined,
      fields: () => {
        const fields = this.objectFields(name, schema);
        for (const extra of this.extraFields.get(name) ?? []) {
          for (const [key, field] of Object.entries(extra())) if (!(key in fields)) fields[key] = field;
        }
        return fields;
      },
    });
    this.objectTypes.set(name, { type, schema });
    // Memoised before the fields are built, so a recursive schema finds itself.
    this.outputMemo.set(schema, type);
    return type;
  }

  /** Property name → GraphQL field name for an object schema (writeOnly properties are not output). */
  outputFieldNames(schema: Schema): Map<string, string> {
    const props = asSchemaMap(schema.properties);
    const raws = Object.keys(props).filter((k) => props[k] !== false && asSchema(props[k]).writeOnly !== true);
    return uniqueFieldNames(raws);
  }

  private objectFields(typeName: string, schema: Schema): GraphQLFieldConfigMap<unknown, unknown> {
    const props = asSchemaMap(schema.properties);
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
    const lenient = this.options.nullability === 'lenient';
    const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
    for (const [raw, name] of this.outputFieldNames(schema)) {
      const prop = props[raw];
      const propEff = this.effective(prop);
      let type = this.outputType(prop, `${typeName}${upperFirst(name)}`);
      if (raw === 'id' && type === GraphQLString) type = GraphQLID;
      const mustExist = required.has(raw) && !propEff.nullable;
      const field: GraphQLFieldConfig<unknown, unknown> = {
        type: mustExist && !lenient ? new GraphQLNonNull(type) : type,
        description: descriptionOf(asSchema(prop), propEff.schema),
        deprecationReason: asSchema(prop).deprecated === true ? 'Deprecated in the OpenAPI document.' : undefined,
      };
      if (mustExist && lenient) {
        const violation = this.options.violation;
        field.resolve = (source) => {
          const v = (source as Record<string, unknown>)[raw];
          return v === undefined || v === null ? violation(typeName, raw) : v;
        };
      } else if (name !== raw) {
        field.resolve = propertyResolver(raw);
      }
      fields[name] = field;
    }
    return fields;
  }

  private unionType(eff: Effective, members: Json[], hint: string): GraphQLUnionType {
    const name = this.claimName(eff, hint);
    const memberTypes: GraphQLObjectType[] = [];
    const infos: Array<{ type: GraphQLObjectType; required: string[]; props: Set<string>; names: string[] }> = [];
    for (const [i, member] of members.entries()) {
      const memberEff = this.effective(member);
      const t = this.outputType(member, `${name}${memberEff.name ? '' : `Option${i + 1}`}`);
      if (!(t instanceof GraphQLObjectType) || memberTypes.includes(t)) continue;
      memberTypes.push(t);
      const s = memberEff.schema;
      const props = new Set(Object.keys(asSchemaMap(s.properties)));
      const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : [];
      const ref = asSchema(member).$ref;
      infos.push({ type: t, required, props, names: [memberEff.name, typeof ref === 'string' ? ref : undefined].filter((x): x is string => Boolean(x)) });
    }
    const discriminator = asSchema(eff.schema.discriminator);
    const property = typeof discriminator.propertyName === 'string' ? discriminator.propertyName : undefined;
    const byValue = new Map<string, string>();
    if (property) {
      for (const [value, target] of Object.entries(asSchemaMap(discriminator.mapping))) {
        if (typeof target !== 'string') continue;
        const targetName = SCHEMA_REF.exec(target)?.[1] ?? target;
        const info = infos.find((m) => m.names.includes(target) || m.names.includes(targetName));
        if (info) byValue.set(value, info.type.name);
      }
      for (const info of infos) for (const n of info.names) if (!byValue.has(n)) byValue.set(n, info.type.name);
    }
    const fallback = infos[0]?.type.name;
    return new GraphQLUnionType({
      name,
      description: typeof eff.schema.description === 'string' ? eff.schema.description : undefined,
      types: memberTypes,
      resolveType: (value) => {
        const obj = value as Record<string, unknown>;
        if (property) {
          const tag = obj[property];
          const found = typeof tag === 'string' ? byValue.get(tag) : undefined;
          if (found) return found;
        }
        // Structural check: the member whose required properties are all present, most matching properties first.
        let best: string | undefined;
        let bestScore = -1;
        for (const info of infos) {
          if (!info.required.every((r) => obj[r] !== undefined)) continue;
          let score = 0;
          for (const key of Object.keys(obj)) if (info.props.has(key)) score++;
          if (score > bestScore) {
            bestScore = score;
            best = info.type.name;
          }
        }
        return best ?? fallback;
      },
    });
  }

  /** The input type of a schema, nullable. */
  inputType(value: Json | undefined, hint: string): GraphQLInputType {
    const eff = this.effective(value);
    const cached = this.inputMemo.get(eff.schema);
    if (cached) return cached;
    const kind = this.kindOf(eff);
    switch (kind.kind) {
      case 'object': {
        const type = this.inputObjectType(eff, hint);
        return type;
      }
      case 'array': {
        const item = this.inputType(kind.items, hint);
        return new GraphQLList(this.effective(kind.items).nullable ? item : new GraphQLNonNull(item));
      }
      case 'enum':
        return this.enumType(eff, kind.values, hint);
      case 'scalar':
        return this.scalarType(kind.scalar, 'input');
      default:
        return this.scalar('JSON');
    }
  }

  private inputObjectType(eff: Effective, hint: string): GraphQLInputType {
    const schema = eff.schema;
    const props = asSchemaMap(schema.properties);
    const raws = Object.keys(props).filter((k) => props[k] !== false && asSchema(props[k]).readOnly !== true);
    if (raws.length === 0) {
      const json = this.scalar('JSON');
      this.inputMemo.set(schema, json);
      return json;
    }
    const base = typeName(eff.name ?? hint);
    const name = this.types.claim(`${base}Input`);
    const wire = new Map<string, InputFieldWire>();
    const type: GraphQLInputObjectType = new GraphQLInputObjectType({
      name,
      description: typeof schema.description === 'string' ? schema.description : undefined,
      fields: () => {
        const required = new Set(Array.isArray(schema.required) ? schema.required : []);
        const fields: GraphQLInputFieldConfigMap = {};
        for (const [raw, fieldName] of uniqueFieldNames(raws)) {
          const prop = props[raw];
          const propEff = this.effective(prop);
          let t = this.inputType(prop, `${base}${upperFirst(fieldName)}`);
          if (raw === 'id' && t === GraphQLString) t = GraphQLID;
          const nonNull = required.has(raw) && !propEff.nullable && asSchema(prop).default === undefined;
          fields[fieldName] = {
            type: nonNull ? new GraphQLNonNull(t) : t,
            description: descriptionOf(asSchema(prop), propEff.schema),
          };
          wire.set(fieldName, { wire: raw, type: t });
        }
        return fields;
      },
    });
    this.inputWire.set(type, wire);
    this.inputMemo.set(schema, type);
    return type;
  }

  /** True when values of this input type need converting to the document's property names. */
  private wireNeeded(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
    const named = unwrap(type);
    if (!isInputObjectType(named)) return false;
    const cached = this.needsWire.get(named);
    if (cached !== undefined) return cached;
    if (seen.has(named)) return false;
    seen.add(named);
    named.getFields();
    const wire = this.inputWire.get(named)!;
    let needed = false;
    for (const [name, f] of wire) {
      if (name !== f.wire || this.wireNeeded(f.type, seen)) {
        needed = true;
        break;
      }
    }
    this.needsWire.set(named, needed);
    return needed;
  }

  /**
   * A function that turns a coerced argument value back into the document's
   * property names, or undefined when the names are the same all the way down
   * (the common case: nothing to do per call).
   */
  wireConverter(type: GraphQLInputType): ((value: unknown) => unknown) | undefined {
    if (!this.wireNeeded(type)) return undefined;
    const convert = (value: unknown, t: GraphQLInputType): unknown => {
      if (value === null || value === undefined) return value;
      if (isNonNullType(t)) return convert(value, t.ofType);
      if (isListType(t)) return Array.isArray(value) ? value.map((v) => convert(v, t.ofType)) : convert(value, t.ofType);
      if (!isInputObjectType(t)) return value;
      const wire = this.inputWire.get(t)!;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const f = wire.get(k);
        out[f ? f.wire : k] = f ? convert(v, f.type) : v;
      }
      return out;
    };
    return (value) => convert(value, type);
  }
}

function unwrap(type: GraphQLInputType): GraphQLNamedType {
  let t: GraphQLInputType = type;
  while (isNonNullType(t) || isListType(t)) t = t.ofType;
  return t as GraphQLNamedType;
}

function asSchemaMap(value: Json | undefined): Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

function descriptionOf(own: Schema, target: Schema): string | undefined {
  const d = own.description ?? target.description;
  return typeof d === 'string' ? d : undefined;
}
