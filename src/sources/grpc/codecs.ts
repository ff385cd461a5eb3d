/**
 * Values between protobuf and GraphQL, one scalar at a time: how each
 * protobuf scalar and map-key type is read from a decoded message and written
 * for protobufjs to encode (64-bit integers as decimal text, bytes as
 * base64), and the errors for values that cannot cross. The message-level
 * mapping (mapping.ts) and the well-known types (well-known.ts) are built
 * from these.
 */
import { GraphQLBoolean, GraphQLFloat, GraphQLInt, GraphQLString, type GraphQLInputType, type GraphQLOutputType, type GraphQLScalarType } from 'graphql';
import Long from 'long';
import protobuf from 'protobufjs';
import { TesseraError } from '../../errors.js';
import { Bytes, bytesFrom, Int64, UInt32, UInt64 } from './scalars.js';

export type Read = (value: any) => unknown;
export type Write = (value: any) => unknown;

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

/** How a map's key type crosses: its GraphQL scalar, and its decoded text ↔ value. */
export interface MapKey {
  scalar: GraphQLScalarType;
  read: (key: string) => unknown;
  write: (key: unknown) => string;
}

const identity: Read = (v) => v;
export const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function longText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const v = value as { low: number; high: number; unsigned?: boolean };
  return Long.fromBits(v.low, v.high, v.unsigned).toString();
}

export function scalarElement(type: GraphQLScalarType, read: Read = identity, write: Write = identity): ElementMapping {
  return { output: () => type, input: () => type, read, write };
}

const toLong = (unsigned: boolean): Write => (v) => (Long.isLong(v) ? v : Long.fromString(String(v), unsigned));
// Decoded bytes are Buffers; an unset field reads protobufjs' shared empty array.
export const base64 = (v: Uint8Array | number[] | undefined): string =>
  v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Buffer.from(v ?? []).toString('base64');

const FLOATING: ElementMapping = { ...scalarElement(GraphQLFloat), floating: true };

export const SCALARS: Record<string, ElementMapping> = {
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

export const MAP_KEYS: Record<string, MapKey | undefined> = {
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

export function badInput(message: string): TesseraError {
  return new TesseraError('GRPC_BAD_INPUT', message);
}

export function notFinite(subgraph: string, where: string, value: number): TesseraError {
  return new TesseraError('RESPONSE_VALIDATION_FAILED', `Unrepresentable value from subgraph "${subgraph}": ${where} is ${value}, which a GraphQL Float cannot hold`, {
    extensions: { subgraph },
  });
}
