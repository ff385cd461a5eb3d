/**
 * Protobuf types as GraphQL types, and the two conversions between their
 * values: `read` (a decoded protobuf message → the value GraphQL returns) and
 * `write` (GraphQL arguments → an object protobufjs encodes). Both are built
 * once per message type, when the schema is built; a call only runs them.
 *
 * The rules (docs/grpc.md has them for users):
 * - a field with explicit presence (a message, `optional`, a oneof member,
 *   proto2 `optional`) is nullable and null when unset; a proto3 field without
 *   presence is non-null and reads its zero value when unset;
 * - every real oneof adds a field of its own whose value is the name of the
 *   member that is set (an enum `<Type>_<Oneof>Case`), or null;
 * - repeated fields are `[T!]!`; maps are `[<Type>_<Field>Entry!]!` of
 *   `{ key, value }`, or one JSON object with `maps: json`;
 * - 64-bit integers are Int64/UInt64 strings, uint32 is UInt32, bytes are
 *   base64 (Bytes), enums keep their proto value names;
 * - values GraphQL cannot hold do not fail more than themselves: an enum
 *   number the .proto does not name reads as the extra value UNRECOGNIZED
 *   (inside JSON: the number, as proto3 JSON writes it); double and float
 *   fields stay non-null (`Float!`), and NaN or ±Infinity is an error
 *   located at that value, nulling its nearest nullable parent per the
 *   GraphQL spec (inside JSON: the strings
 *   "NaN", "Infinity", "-Infinity", as proto3 JSON writes them);
 * - well-known types map as well-known.ts says; single values as codecs.ts says.
 */
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import protobuf from 'protobufjs';
import { registerPropertyRead } from '../compiled-executor.js';
import { badInput, hasOwn, MAP_KEYS, notFinite, SCALARS, type ElementMapping, type MapKey, type Read, type Write } from './codecs.js';
import { enumValueName, fieldName, lowerCamel, pascal, type Naming } from './naming.js';
import { JSONScalar } from './scalars.js';
import { WellKnownTypes } from './well-known.js';

export interface MappingOptions {
  maps: 'entries' | 'json';
  fieldNames: 'json' | 'proto';
  /** Named in the errors of values GraphQL cannot hold. */
  subgraph: string;
}

interface FieldPlan {
  key: string;
  name: string;
  kind: 'single' | 'repeated' | 'map';
  presence: boolean;
  required: boolean;
  element: ElementMapping;
  zero: unknown;
  mapKey?: MapKey;
}

interface OneofPlan {
  name: string;
  members: FieldPlan[];
  caseEnum: GraphQLEnumType;
}

interface MessagePlan {
  fields: FieldPlan[];
  oneofs: OneofPlan[];
}

export class ProtoMapping {
  private readonly elements = new Map<protobuf.Type | protobuf.Enum, ElementMapping>();
  private readonly plans = new Map<protobuf.Type, MessagePlan>();
  private readonly wellKnown = new WellKnownTypes((type) => this.element(type));

  constructor(
    private readonly naming: Naming,
    private readonly options: MappingOptions,
  ) {}

  /** The mapping of a field's element type (the field itself, or one item of it). */
  fieldElement(field: protobuf.Field): ElementMapping {
    const resolved = field.resolvedType;
    if (resolved) return this.element(resolved as protobuf.Type | protobuf.Enum);
    const scalar = SCALARS[field.type];
    if (!scalar) throw new Error(`unsupported protobuf type "${field.type}" for field ${field.fullName}`);
    return scalar;
  }

  element(type: protobuf.Type | protobuf.Enum): ElementMapping {
    let mapping = this.elements.get(type);
    if (!mapping) {
      mapping = type instanceof protobuf.Enum ? this.enumElement(type) : (this.wellKnown.mapping(type) ?? this.messageElement(type));
      this.elements.set(type, mapping);
    }
    return mapping;
  }

  /** True when a message maps to something other than an object type (well-known types, empty messages). */
  isScalarLike(type: protobuf.Type): boolean {
    return this.wellKnown.mapping(type) !== undefined;
  }

  /** Field plans of a message, keyed by GraphQL name; used for method arguments. */
  plan(type: protobuf.Type): MessagePlan {
    let plan = this.plans.get(type);
    if (plan) return plan;
    plan = { fields: [], oneofs: [] };
    this.plans.set(type, plan);
    const typeName = this.naming.typeName(type);
    const seen = new Set<string>();
    const claimField = (name: string, what: string): string => {
      if (seen.has(name)) {
        throw new Error(`${type.fullName}: ${what} maps to GraphQL field "${name}", which another field already uses (set json_name, or fieldNames: proto)`);
      }
      seen.add(name);
      return name;
    };
    for (const field of type.fieldsArray) {
      field.resolve();
      const isMessage = field.resolvedType instanceof protobuf.Type;
      const kind = field.map ? 'map' : field.repeated ? 'repeated' : 'single';
      const fieldPlan: FieldPlan = {
        key: field.name,
        name: claimField(fieldName(field, this.options.fieldNames), `field ${field.name}`),
        kind,
        presence: kind === 'single' && (isMessage || Boolean(field.hasPresence)),
        required: field.required,
        element: this.fieldElement(field),
        zero: field.typeDefault,
      };
      if (field.map) {
        const keyType = (field as unknown as protobuf.MapField).keyType;
        fieldPlan.mapKey = MAP_KEYS[keyType];
        if (!fieldPlan.mapKey) throw new Error(`${field.fullName}: unsupported map key type ${keyType}`);
      }
      plan.fields.push(fieldPlan);
    }
    for (const oneof of type.oneofsArray) {
      const synthetic = oneof.fieldsArray.length === 1 && Boolean((oneof.fieldsArray[0]!.options as Record<string, unknown> | undefined)?.proto3_optional);
      if (synthetic) continue;
      const members = oneof.fieldsArray.map((f) => plan.fields.find((p) => p.key === f.name)!);
      const name = claimField(this.options.fieldNames === 'json' ? lowerCamel(oneof.name) : oneof.name, `oneof ${oneof.name}`);
      const caseEnum = new GraphQLEnumType({
        name: this.naming.claim(`${typeName}_${pascal(oneof.name)}Case`),
        description: `Which member of oneof ${oneof.name} in ${type.fullName.slice(1)} is set.`,
        values: Object.fromEntries(members.map((m) => [m.name, { value: m.name }])),
      });
      plan.oneofs.push({ name, members, caseEnum });
    }
    return plan;
  }

  /** GraphQL fields of a message's object type. */
  outputFields(type: protobuf.Type): GraphQLFieldConfigMap<unknown, unknown> {
    const plan = this.plan(type);
    const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
    for (const p of plan.fields) {
      const resolve = p.element.floating && p.kind !== 'map' ? this.finiteResolver(p.name, `${type.fullName.slice(1)}.${p.key}`) : undefined;
      fields[p.name] = { type: this.outputFieldType(type, p), description: commentOf(type.fields[p.key]!), ...(resolve && { resolve }) };
    }
    for (const o of plan.oneofs) {
      fields[o.name] = { type: o.caseEnum, description: `The member of oneof ${o.name} that is set (null: none).` };
    }
    return fields;
  }

  /** GraphQL input fields (or arguments) of a message. */
  inputFields(type: protobuf.Type): GraphQLInputFieldConfigMap {
    const plan = this.plan(type);
    const fields: GraphQLInputFieldConfigMap = {};
    for (const p of plan.fields) {
      fields[p.name] = { type: this.inputFieldType(type, p), description: commentOf(type.fields[p.key]!) };
    }
    return fields;
  }

  private outputFieldType(parent: protobuf.Type, p: FieldPlan): GraphQLOutputType {
    if (p.kind === 'map') {
      if (this.options.maps === 'json') return new GraphQLNonNull(JSONScalar);
      return new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(this.entryTypes(parent, p).output)));
    }
    const element = p.element.output();
    // A double holding NaN or ±Infinity (which GraphQL Float cannot hold) is a located
    // error from finiteResolver; the field stays non-null, as proto3 gives it a value,
    // so the error nulls the nearest nullable parent, per the spec.
    if (p.kind === 'repeated') return new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(element)));
    // Wrapper types are nullable by meaning, whatever presence says.
    if (p.presence && !p.required) return element;
    return element instanceof GraphQLNonNull ? element : new GraphQLNonNull(element);
  }

  private inputFieldType(parent: protobuf.Type, p: FieldPlan): GraphQLInputType {
    if (p.kind === 'map') {
      if (this.options.maps === 'json') return JSONScalar;
      return new GraphQLList(new GraphQLNonNull(this.entryTypes(parent, p).input));
    }
    const element = p.element.input();
    if (p.kind === 'repeated') return new GraphQLList(new GraphQLNonNull(element));
    return p.required ? new GraphQLNonNull(element) : element;
  }

  private readonly entries = new Map<FieldPlan, { output: GraphQLObjectType; input: GraphQLInputObjectType }>();

  private entryTypes(parent: protobuf.Type, p: FieldPlan): { output: GraphQLObjectType; input: GraphQLInputObjectType } {
    let types = this.entries.get(p);
    if (!types) {
      const base = `${this.naming.typeName(parent)}_${pascal(p.key)}Entry`;
      const key = p.mapKey!.scalar;
      const element = p.element;
      const where = `${parent.fullName.slice(1)}.${p.key}`;
      types = {
        output: new GraphQLObjectType({
          name: this.naming.claim(base),
          fields: () => ({
            key: { type: new GraphQLNonNull(key) },
            value: element.floating
              ? { type: nonNull(element.output()), resolve: this.finiteResolver('value', `the value of ${where}`) }
              : { type: nonNull(element.output()) },
          }),
        }),
        input: new GraphQLInputObjectType({
          name: this.naming.claim(`${base}Input`),
          fields: () => ({ key: { type: new GraphQLNonNull(key) }, value: { type: element.input() } }),
        }),
      };
      this.entries.set(p, types);
    }
    return types;
  }

  private enumElement(type: protobuf.Enum): ElementMapping {
    let gql: GraphQLEnumType | undefined;
    const byId = type.valuesById;
    const values = type.values;
    return {
      output: () => (gql ??= this.enumType(type)),
      input: () => (gql ??= this.enumType(type)),
      // An enum may carry numbers the .proto does not name (proto3 enums are open; a newer server may add values):
      // those stay numbers here, which the GraphQL enum serializes as UNRECOGNIZED and JSON keeps as they are.
      read: (n: number) => byId[n] ?? n,
      write: (v: unknown) => {
        if (typeof v === 'number') return v;
        if (v === UNRECOGNIZED) throw badInput(`${type.fullName.slice(1)}: ${(gql as ProtoEnumType).unrecognized} only appears in answers; send a value the .proto names`);
        return values[String(v)];
      },
    };
  }

  private enumType(type: protobuf.Enum): GraphQLEnumType {
    const values: Record<string, { value: unknown; description?: string }> = {};
    for (const name of Object.keys(type.values)) {
      const comment = type.comments?.[name];
      values[enumValueName(name)] = { value: name, ...(comment ? { description: comment } : {}) };
    }
    let unrecognized = 'UNRECOGNIZED';
    while (unrecognized in values) unrecognized = `_${unrecognized}`;
    values[unrecognized] = { value: UNRECOGNIZED, description: `A number ${type.fullName.slice(1)} does not name (sent by a server with a newer .proto); only given in answers.` };
    return new ProtoEnumType({ name: this.naming.typeName(type), description: type.comment ?? undefined, values }, unrecognized);
  }

  /**
   * The resolver of a double or float field: the value, or, for NaN and
   * ±Infinity (which GraphQL Float cannot hold, spec section 3.5.2), an error
   * located at that value. Items of a list fail one by one.
   *
   * The compiled executor reads the property instead of calling this: a
   * finite value (or list of them) is returned as it is, and NaN or
   * ±Infinity, which GraphQLFloat.serialize refuses, sends the operation to
   * the general executor, which calls this for the error.
   */
  private finiteResolver(name: string, where: string): GraphQLFieldResolver<unknown, unknown> {
    const subgraph = this.options.subgraph;
    const check = (v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? notFinite(subgraph, where, v) : v);
    return registerPropertyRead((source) => {
      const value = (source as Record<string, unknown>)[name];
      if (Array.isArray(value)) return value.some((v) => typeof v === 'number' && !Number.isFinite(v)) ? value.map(check) : value;
      const checked = check(value);
      if (checked instanceof Error) throw checked;
      return checked;
    }, name);
  }

  /** For a root field whose response is a DoubleValue or FloatValue: NaN and ±Infinity become a located error. */
  finiteResult(response: protobuf.Type): ((value: unknown) => unknown) | undefined {
    if (!this.element(response).floating) return undefined;
    const subgraph = this.options.subgraph;
    const where = `the ${response.fullName.slice(1)} answer`;
    return (v) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw notFinite(subgraph, where, v);
      return v;
    };
  }

  private messageElement(type: protobuf.Type): ElementMapping {
    let output: GraphQLObjectType | undefined;
    let input: GraphQLInputObjectType | undefined;
    let read: Read | undefined;
    let write: Write | undefined;
    const name = this.naming.typeName(type);
    return {
      output: () =>
        (output ??= new GraphQLObjectType({ name, description: type.comment ?? undefined, fields: () => this.outputFields(type) })),
      input: () =>
        (input ??= new GraphQLInputObjectType({
          name: this.naming.claim(`${name}Input`),
          description: type.comment ?? undefined,
          fields: () => this.inputFields(type),
        })),
      read: (message: unknown) => (read ??= this.reader(type))(message),
      write: (value: unknown) => (write ??= this.writer(type))(value),
    };
  }

  /** decoded message → GraphQL value (plain object keyed by GraphQL field names) */
  reader(type: protobuf.Type): Read {
    const { fields, oneofs } = this.plan(type);
    const json = this.options.maps === 'json';
    return (message: Record<string, unknown>) => {
      const out: Record<string, unknown> = {};
      for (const p of fields) {
        const own = hasOwn(message, p.key);
        const value = message[p.key];
        if (p.kind === 'repeated') {
          out[p.name] = own && Array.isArray(value) ? value.map(p.element.read) : [];
        } else if (p.kind === 'map') {
          const entries = own && value ? Object.entries(value as Record<string, unknown>) : [];
          const key = p.mapKey!.read;
          out[p.name] = json
            ? Object.fromEntries(entries.map(([k, v]) => [String(key(k)), p.element.read(v)]))
            : entries.map(([k, v]) => ({ key: key(k), value: p.element.read(v) }));
        } else if (p.presence) {
          out[p.name] = own && value != null ? p.element.read(value) : null;
        } else {
          out[p.name] = p.element.read(value === undefined ? p.zero : value);
        }
      }
      for (const o of oneofs) {
        let set: string | null = null;
        for (const m of o.members) {
          if (hasOwn(message, m.key) && message[m.key] != null) set = m.name;
        }
        out[o.name] = set;
      }
      return out;
    };
  }

  /** GraphQL value (arguments or an input object) → object for protobufjs encode */
  writer(type: protobuf.Type): Write {
    const { fields, oneofs } = this.plan(type);
    const label = type.fullName.slice(1);
    return (value: Record<string, unknown>) => {
      if (value === null || typeof value !== 'object') throw badInput(`${label}: expected an object, got ${JSON.stringify(value)}`);
      const out: Record<string, unknown> = {};
      for (const p of fields) {
        const v = value[p.name];
        if (v == null) continue;
        if (p.kind === 'repeated') {
          out[p.key] = (Array.isArray(v) ? v : [v]).map(p.element.write);
        } else if (p.kind === 'map') {
          out[p.key] = this.writeMap(p, v, label);
        } else {
          out[p.key] = p.element.write(v);
        }
      }
      for (const o of oneofs) {
        const set = o.members.filter((m) => out[m.key] !== undefined);
        if (set.length > 1) throw badInput(`${label}: oneof ${o.name} takes one member, got ${set.map((m) => m.name).join(' and ')}`);
      }
      return out;
    };
  }

  private writeMap(p: FieldPlan, value: unknown, label: string): Record<string, unknown> {
    // A prototype-less object: a "__proto__" key stays a key.
    const out = Object.create(null) as Record<string, unknown>;
    const key = p.mapKey!.write;
    if (Array.isArray(value)) {
      for (const entry of value as Array<{ key: unknown; value: unknown }>) {
        if (entry === null || typeof entry !== 'object' || entry.key == null) throw badInput(`${label}.${p.name}: each entry needs a key`);
        out[key(entry.key)] = entry.value == null ? p.zero ?? {} : p.element.write(entry.value);
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) out[key(k)] = v == null ? p.zero ?? {} : p.element.write(v);
    } else {
      throw badInput(`${label}.${p.name}: expected ${this.options.maps === 'json' ? 'a JSON object' : 'a list of { key, value }'}`);
    }
    return out;
  }
}

function commentOf(field: protobuf.Field): string | undefined {
  return field.comment ?? undefined;
}

function nonNull(type: GraphQLOutputType): GraphQLOutputType {
  return type instanceof GraphQLNonNull ? type : new GraphQLNonNull(type);
}

/** The internal value of an enum's UNRECOGNIZED: equal to no proto value name. */
const UNRECOGNIZED = Symbol('UNRECOGNIZED');

/**
 * A generated enum: the proto value names plus UNRECOGNIZED, which a number
 * the .proto does not name serializes to, so that one new value on the
 * server does not null the field (and, through non-null, its parents).
 */
class ProtoEnumType extends GraphQLEnumType {
  constructor(
    config: ConstructorParameters<typeof GraphQLEnumType>[0],
    /** The GraphQL name of the extra value: UNRECOGNIZED, or `_UNRECOGNIZED` when the .proto names a value UNRECOGNIZED itself. */
    readonly unrecognized: string,
  ) {
    super(config);
  }

  override serialize(value: unknown): string {
    return typeof value === 'number' ? this.unrecognized : (super.serialize(value) as string);
  }
}
