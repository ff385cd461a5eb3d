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
 * - well-known types: Timestamp and Duration are scalars; wrappers are the
 *   nullable wrapped scalar; Struct, Value, ListValue and Any are JSON (Any as
 *   `{"@type": url, ...fields}`); FieldMask is `[String!]`; Empty and any
 *   other message without fields is `Boolean` (true when present).
 */
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLScalarType,
} from 'graphql';
import Long from 'long';
import protobuf from 'protobufjs';
import { TesseraError } from '../../errors.js';
import { registerPropertyRead } from '../compiled-executor.js';
import { enumValueName, fieldName, lowerCamel, pascal, type Naming } from './naming.js';
import { Bytes, bytesFrom, Duration, durationFrom, durationText, Int64, JSONScalar, Timestamp, timestampFrom, timestampText, UInt32, UInt64, type SecondsNanos } from './scalars.js';

export interface MappingOptions {
  maps: 'entries' | 'json';
  fieldNames: 'json' | 'proto';
  /** Named in the errors of values GraphQL cannot hold. */
  subgraph: string;
}

type Read = (value: any) => unknown;
type Write = (value: any) => unknown;

/** How one value (a field's value, one list item, one map value) crosses between protobuf and GraphQL. */
export interface ElementMapping {
  /** A nullable named type, or a list for FieldMask. */
  output(): GraphQLOutputType;
  input(): GraphQLInputType;
  read: Read;
  write: Write;
  /** double and float (bare or wrapped): the value may be NaN or ±Infinity, which GraphQL Float cannot hold. */
  floating?: boolean;
}

interface FieldPlan {
  key: string;
  name: string;
  kind: 'single' | 'repeated' | 'map';
  presence: boolean;
  required: boolean;
  element: ElementMapping;
  zero: unknown;
  mapKey?: { scalar: GraphQLScalarType; read: (key: string) => unknown; write: (key: unknown) => string };
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

const identity: Read = (v) => v;
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function longText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const v = value as { low: number; high: number; unsigned?: boolean };
  return Long.fromBits(v.low, v.high, v.unsigned).toString();
}

function scalarElement(type: GraphQLScalarType, read: Read = identity, write: Write = identity): ElementMapping {
  return { output: () => type, input: () => type, read, write };
}

const toLong = (unsigned: boolean): Write => (v) => (Long.isLong(v) ? v : Long.fromString(String(v), unsigned));
// Decoded bytes are Buffers; an unset field reads protobufjs' shared empty array.
const base64 = (v: Uint8Array | number[] | undefined): string =>
  v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Buffer.from(v ?? []).toString('base64');

const FLOATING: ElementMapping = { ...scalarElement(GraphQLFloat), floating: true };

const SCALARS: Record<string, ElementMapping> = {
  double: FLOATING,
  float: FLOATING,
  int32: scalarElement(GraphQLInt),
  sint32: scalarElement(GraphQLInt),
  sfixed32: scalarElement(GraphQLInt),
  uint32: scalarElement(UInt32),
  fixed32: scalarElement(UInt32),
  int64: scalarElement(Int64, longText, toLong(false)),
  sint64: scalarElement(Int64, longText, toLong(false)),
  sfixed64: scalarElement(Int64, longText, toLong(false)),
  uint64: scalarElement(UInt64, longText, toLong(true)),
  fixed64: scalarElement(UInt64, longText, toLong(true)),
  bool: scalarElement(GraphQLBoolean),
  string: scalarElement(GraphQLString),
  bytes: scalarElement(Bytes, base64, bytesFrom),
};

const MAP_KEYS: Record<string, FieldPlan['mapKey']> = {
  string: { scalar: GraphQLString, read: (k) => k, write: (k) => String(k) },
  bool: { scalar: GraphQLBoolean, read: (k) => k === 'true' || k === '1', write: (k) => String(k === true || k === 'true') },
};
for (const t of ['int32', 'sint32', 'sfixed32']) MAP_KEYS[t] = { scalar: GraphQLInt, read: Number, write: (k) => String(k) };
for (const t of ['uint32', 'fixed32']) MAP_KEYS[t] = { scalar: UInt32, read: Number, write: (k) => String(k) };
for (const t of ['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']) {
  const unsigned = t === 'uint64' || t === 'fixed64';
  // protobufjs keys decoded 64-bit map keys by an 8-character hash; encoding takes decimal text.
  MAP_KEYS[t] = {
    scalar: unsigned ? UInt64 : Int64,
    read: (k) => (k.length === 8 && !/^-?\d+$/.test(k) ? longText(protobuf.util.longFromHash(k, unsigned)) : k),
    write: (k) => String(k),
  };
}

/** Decoded map key → its value (`"5"` → 5 for int32 keys; the 8-character hash of a 64-bit key → its decimal text). */
export function mapKeyReader(keyType: string): (key: string) => unknown {
  const reader = MAP_KEYS[keyType];
  if (!reader) throw new Error(`unsupported map key type ${keyType}`);
  return reader.read;
}

/** A decoded scalar as text (a Long as its decimal digits), for matching keys. */
export function keyText(value: unknown): string {
  return value !== null && typeof value === 'object' && 'low' in value ? longText(value) : String(value);
}

/** Names of the scalars this mapping may put in a schema; message names that equal one are qualified. */
export const SCALAR_NAMES = ['Int64', 'UInt64', 'UInt32', 'Bytes', 'Timestamp', 'Duration', 'JSON'];

export class ProtoMapping {
  private readonly elements = new Map<protobuf.Type | protobuf.Enum, ElementMapping>();
  private readonly plans = new Map<protobuf.Type, MessagePlan>();

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
      mapping = type instanceof protobuf.Enum ? this.enumElement(type) : (this.wellKnown(type) ?? this.messageElement(type));
      this.elements.set(type, mapping);
    }
    return mapping;
  }

  /** True when a message maps to something other than an object type (well-known types, empty messages). */
  isScalarLike(type: protobuf.Type): boolean {
    return this.wellKnown(type) !== undefined;
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

  /** The mapping of a well-known type or an empty message, or undefined for an ordinary message. */
  private wellKnown(type: protobuf.Type): ElementMapping | undefined {
    const name = type.fullName;
    const field = (id: number): string => type.fieldsById[id]?.name ?? '';
    switch (name) {
      case '.google.protobuf.Timestamp':
        return scalarElement(Timestamp, (m: SecondsNanos) => timestampText(m), (v: unknown) => timestampFrom(v));
      case '.google.protobuf.Duration':
        return scalarElement(Duration, (m: SecondsNanos) => durationText(m), (v: unknown) => durationFrom(v));
      case '.google.protobuf.DoubleValue':
      case '.google.protobuf.FloatValue':
      case '.google.protobuf.Int64Value':
      case '.google.protobuf.UInt64Value':
      case '.google.protobuf.Int32Value':
      case '.google.protobuf.UInt32Value':
      case '.google.protobuf.BoolValue':
      case '.google.protobuf.StringValue':
      case '.google.protobuf.BytesValue': {
        const valueField = type.fieldsById[1]!;
        valueField.resolve();
        const inner = SCALARS[valueField.type]!;
        const key = valueField.name;
        return {
          output: inner.output,
          input: inner.input,
          read: (m: Record<string, unknown>) => inner.read(m[key] ?? valueField.typeDefault),
          write: (v: unknown) => ({ [key]: inner.write(v) }),
          floating: inner.floating,
        };
      }
      case '.google.protobuf.Struct':
      case '.google.protobuf.Value':
      case '.google.protobuf.ListValue': {
        const json = this.structCodec(type.root as protobuf.Root);
        const kind = name.slice('.google.protobuf.'.length) as 'Struct' | 'Value' | 'ListValue';
        return { output: () => JSONScalar, input: () => JSONScalar, read: json.read[kind], write: json.write[kind] };
      }
      case '.google.protobuf.Any': {
        const url = field(1);
        const bytes = field(2);
        return {
          output: () => JSONScalar,
          input: () => JSONScalar,
          read: (m: Record<string, unknown>) => this.readAny(type.root as protobuf.Root, String(m[url] ?? ''), m[bytes] as Uint8Array | undefined),
          write: (v: unknown) => this.writeAny(type.root as protobuf.Root, v, url, bytes),
        };
      }
      case '.google.protobuf.FieldMask': {
        const paths = field(1);
        const list = new GraphQLList(new GraphQLNonNull(GraphQLString));
        return {
          output: () => list,
          input: () => list,
          read: (m: Record<string, unknown>) => (Array.isArray(m[paths]) ? m[paths] : []),
          write: (v: unknown) => ({ [paths]: Array.isArray(v) ? v.map(String) : String(v).split(',').filter(Boolean) }),
        };
      }
    }
    if (type.fieldsArray.length === 0) {
      // GraphQL object and input types need at least one field: an empty message (google.protobuf.Empty among them) is a Boolean.
      return { output: () => GraphQLBoolean, input: () => GraphQLBoolean, read: () => true, write: () => ({}) };
    }
    return undefined;
  }

  private struct?: { read: Record<'Struct' | 'Value' | 'ListValue', Read>; write: Record<'Struct' | 'Value' | 'ListValue', Write> };

  /** Struct, Value and ListValue ↔ plain JSON. Field names are looked up by number: bundled and .proto copies spell them differently. */
  private structCodec(root: protobuf.Root): NonNullable<ProtoMapping['struct']> {
    if (this.struct) return this.struct;
    const value = root.lookupType('google.protobuf.Value');
    const list = root.lookupType('google.protobuf.ListValue');
    const struct = root.lookupType('google.protobuf.Struct');
    const v = (id: number): string => value.fieldsById[id]!.name;
    const [nullV, numberV, stringV, boolV, structV, listV] = [v(1), v(2), v(3), v(4), v(5), v(6)];
    const fields = struct.fieldsById[1]!.name;
    const values = list.fieldsById[1]!.name;
    const readValue = (m: Record<string, unknown>): unknown => {
      if (m == null) return null;
      if (hasOwn(m, numberV)) return m[numberV];
      if (hasOwn(m, stringV)) return m[stringV];
      if (hasOwn(m, boolV)) return m[boolV];
      if (hasOwn(m, structV) && m[structV]) return readStruct(m[structV] as Record<string, unknown>);
      if (hasOwn(m, listV) && m[listV]) return readList(m[listV] as Record<string, unknown>);
      return null;
    };
    const readStruct = (m: Record<string, unknown>): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries((m?.[fields] ?? {}) as Record<string, Record<string, unknown>>)) out[k] = readValue(item);
      return out;
    };
    const readList = (m: Record<string, unknown>): unknown[] => ((m?.[values] ?? []) as Array<Record<string, unknown>>).map(readValue);
    const writeValue = (j: unknown): Record<string, unknown> => {
      if (j === null || j === undefined) return { [nullV]: 0 };
      if (typeof j === 'number') return { [numberV]: j };
      if (typeof j === 'string') return { [stringV]: j };
      if (typeof j === 'boolean') return { [boolV]: j };
      if (Array.isArray(j)) return { [listV]: writeList(j) };
      if (typeof j === 'object') return { [structV]: writeStruct(j) };
      throw badInput(`google.protobuf.Value cannot hold ${typeof j}`);
    };
    const writeStruct = (j: unknown): Record<string, unknown> => {
      if (j === null || typeof j !== 'object' || Array.isArray(j)) throw badInput('google.protobuf.Struct expects a JSON object');
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, item] of Object.entries(j)) out[k] = writeValue(item);
      return { [fields]: out };
    };
    const writeList = (j: unknown): Record<string, unknown> => {
      if (!Array.isArray(j)) throw badInput('google.protobuf.ListValue expects a JSON array');
      return { [values]: j.map(writeValue) };
    };
    this.struct = {
      read: { Struct: readStruct, Value: readValue, ListValue: readList },
      write: { Struct: writeStruct, Value: writeValue, ListValue: writeList },
    };
    return this.struct;
  }

  /** Any → `{ "@type": url, ...fields }` when the type is known here, else `{ "@type": url, "value": base64 }`. */
  private readAny(root: protobuf.Root, typeUrl: string, bytes: Uint8Array | undefined): unknown {
    if (!typeUrl) return null;
    const inner = lookupAnyType(root, typeUrl);
    const data = bytes ?? new Uint8Array();
    if (!inner) return { '@type': typeUrl, value: base64(data) };
    const decoded = inner.decode(data);
    const mapping = this.element(inner);
    const value = mapping.read(decoded);
    // Well-known types inside Any put their JSON form under "value", as proto3 JSON does.
    if (this.isScalarLike(inner) || value === null || typeof value !== 'object' || Array.isArray(value)) return { '@type': typeUrl, value };
    return { '@type': typeUrl, ...(value as Record<string, unknown>) };
  }

  private writeAny(root: protobuf.Root, json: unknown, urlKey: string, bytesKey: string): Record<string, unknown> {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw badInput('google.protobuf.Any expects a JSON object with "@type"');
    const { '@type': typeUrl, ...rest } = json as Record<string, unknown>;
    if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) throw badInput('google.protobuf.Any needs "@type": "type.googleapis.com/<full.message.Name>"');
    const inner = lookupAnyType(root, typeUrl);
    if (!inner) {
      if (typeof rest.value === 'string') return { [urlKey]: typeUrl, [bytesKey]: bytesFrom(rest.value) };
      throw badInput(`google.protobuf.Any: type ${typeUrl} is not known to this source (give its bytes as base64 in "value")`);
    }
    const mapping = this.element(inner);
    const payload = this.isScalarLike(inner) ? mapping.write(rest.value) : mapping.write(rest);
    return { [urlKey]: typeUrl, [bytesKey]: inner.encode(payload as Record<string, unknown>).finish() };
  }
}

function lookupAnyType(root: protobuf.Root, typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

function commentOf(field: protobuf.Field): string | undefined {
  return field.comment ?? undefined;
}

function nonNull(type: GraphQLOutputType): GraphQLOutputType {
  return type instanceof GraphQLNonNull ? type : new GraphQLNonNull(type);
}

export function badInput(message: string): TesseraError {
  return new TesseraError('GRPC_BAD_INPUT', message);
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

function notFinite(subgraph: string, where: string, value: number): TesseraError {
  return new TesseraError('RESPONSE_VALIDATION_FAILED', `Unrepresentable value from subgraph "${subgraph}": ${where} is ${value}, which a GraphQL Float cannot hold`, {
    extensions: { subgraph },
  });
}
