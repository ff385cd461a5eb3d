/**
 * The well-known types (google/protobuf/*.proto) as GraphQL values:
 * Timestamp and Duration are scalars; the wrappers are their nullable
 * wrapped scalar; Struct, Value, ListValue and Any are JSON (Any as
 * `{"@type": url, ...fields}`); FieldMask is `[String!]`; Empty and any other
 * message without fields is `Boolean` (true when present).
 */
import { GraphQLBoolean, GraphQLList, GraphQLNonNull, GraphQLString } from 'graphql';
import protobuf from 'protobufjs';
import { badInput, base64, hasOwn, SCALARS, scalarElement, type ElementMapping, type Read, type Write } from './codecs.js';
import { bytesFrom, Duration, durationFrom, durationText, JSONScalar, Timestamp, timestampFrom, timestampText, type SecondsNanos } from './scalars.js';

export class WellKnownTypes {
  /** @param elementOf the mapping of any message, for the message an Any holds. */
  constructor(private readonly elementOf: (type: protobuf.Type) => ElementMapping) {}

  /** The mapping of a well-known type or an empty message, or undefined for an ordinary message. */
  mapping(type: protobuf.Type): ElementMapping | undefined {
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
  private structCodec(root: protobuf.Root): NonNullable<WellKnownTypes['struct']> {
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
    const mapping = this.elementOf(inner);
    const value = mapping.read(decoded);
    // Well-known types inside Any put their JSON form under "value", as proto3 JSON does.
    if (this.mapping(inner) !== undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return { '@type': typeUrl, value };
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
    const mapping = this.elementOf(inner);
    const payload = this.mapping(inner) !== undefined ? mapping.write(rest.value) : mapping.write(rest);
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
