/**
 * The scalars protobuf needs beyond GraphQL's own. Each one is lossless:
 * 64-bit integers travel as decimal strings (JSON numbers lose precision past
 * 2^53), bytes as base64, Timestamp and Duration in their proto3 JSON forms
 * (RFC 3339, "1.5s"). Parsed inputs stay in a form the codec accepts (it also
 * accepts the raw JSON forms, for values inside JSON and Any).
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import Long from 'long';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function integerText(value: unknown, scalar: string, min: bigint, max: bigint): string {
  let text: string;
  if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
  else if (typeof value === 'bigint') text = value.toString();
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) text = value;
  else throw new GraphQLError(`${scalar} cannot represent ${JSON.stringify(String(value))}: expected an integer as a string of digits (or a safe integer)`);
  const big = BigInt(text);
  if (big < min || big > max) throw new GraphQLError(`${scalar} cannot represent ${text}: out of range`);
  return big.toString();
}

function literalOf(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
      return node.value;
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literalOf(v));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalOf(f.value)]));
    case Kind.VARIABLE:
      throw new GraphQLError('variables inside a JSON literal are not supported; pass the whole value as a variable');
  }
}

function longText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Long.isLong(value) || (value !== null && typeof value === 'object' && 'low' in value && 'high' in value)) {
    const v = value as { low: number; high: number; unsigned?: boolean };
    return Long.fromBits(v.low, v.high, v.unsigned).toString();
  }
  throw new GraphQLError(`cannot represent ${String(value)} as a 64-bit integer`);
}

function int64Scalar(name: string, description: string, min: bigint, max: bigint): GraphQLScalarType {
  return new GraphQLScalarType({
    name,
    description,
    serialize: (value) => integerText(longText(value), name, min, max),
    parseValue: (value) => integerText(value, name, min, max),
    parseLiteral: (node) => {
      if (node.kind !== Kind.INT && node.kind !== Kind.STRING) throw new GraphQLError(`${name} expects an integer or a string of digits`);
      return integerText(node.value, name, min, max);
    },
  });
}

export const Int64 = int64Scalar('Int64', 'A signed 64-bit integer, as a string of decimal digits (protobuf int64, sint64, sfixed64).', INT64_MIN, INT64_MAX);
export const UInt64 = int64Scalar('UInt64', 'An unsigned 64-bit integer, as a string of decimal digits (protobuf uint64, fixed64).', 0n, UINT64_MAX);

function uint32(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new GraphQLError(`UInt32 cannot represent ${JSON.stringify(value)}: expected an integer from 0 to 4294967295`);
  }
  return n;
}

export const UInt32 = new GraphQLScalarType({
  name: 'UInt32',
  description: 'An unsigned 32-bit integer (protobuf uint32, fixed32); GraphQL Int stops at 2^31 - 1.',
  serialize: uint32,
  parseValue: uint32,
  parseLiteral: (node) => {
    if (node.kind !== Kind.INT) throw new GraphQLError('UInt32 expects an integer');
    return uint32(Number(node.value));
  },
});

const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** base64 or base64url text to bytes; refuses anything else rather than guessing. */
export function bytesFrom(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string' && BASE64.test(value)) return Buffer.from(value, 'base64');
  throw new GraphQLError(`Bytes cannot represent ${JSON.stringify(String(value).slice(0, 40))}: expected base64`);
}

export const Bytes = new GraphQLScalarType({
  name: 'Bytes',
  description: 'Binary data (protobuf bytes), base64-encoded; input accepts base64 and base64url.',
  serialize: (value) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : String(value)),
  parseValue: (value) => bytesFrom(value),
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw new GraphQLError('Bytes expects a base64 string');
    return bytesFrom(node.value);
  },
});

export interface SecondsNanos {
  seconds: Long | number | string;
  nanos: number;
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `.${digits.slice(0, 3)}`;
  if (nanos % 1000 === 0) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

/** Timestamp bounds of proto3 JSON: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

export function timestampText(value: SecondsNanos): string {
  const seconds = Number(longText(value.seconds));
  const nanos = value.nanos ?? 0;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new GraphQLError(`Timestamp out of range: ${seconds} s`);
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export function timestampFrom(value: unknown): SecondsNanos {
  if (value !== null && typeof value === 'object' && 'seconds' in value) return value as SecondsNanos;
  const match = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!match) throw new GraphQLError(`Timestamp cannot represent ${JSON.stringify(value)}: expected RFC 3339, like "2024-05-01T12:00:00Z"`);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = match;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) throw new GraphQLError(`Timestamp cannot represent ${JSON.stringify(value)}`);
  if (sign) ms -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const seconds = Math.floor(ms / 1000);
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new GraphQLError(`Timestamp out of range: ${String(value)}`);
  return { seconds, nanos: frac ? Number(frac.padEnd(9, '0')) : 0 };
}

export const Timestamp = new GraphQLScalarType({
  name: 'Timestamp',
  description: 'A point in time (google.protobuf.Timestamp) in RFC 3339 form, UTC, with 0, 3, 6 or 9 fractional digits.',
  serialize: (value) => (typeof value === 'string' ? value : timestampText(value as SecondsNanos)),
  parseValue: (value) => timestampFrom(value),
  parseLiteral: (node) => timestampFrom(node.kind === Kind.STRING ? node.value : undefined),
});

export function durationText(value: SecondsNanos): string {
  const seconds = BigInt(longText(value.seconds));
  const nanos = value.nanos ?? 0;
  const negative = seconds < 0n || nanos < 0;
  const abs = (seconds < 0n ? -seconds : seconds).toString();
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

const DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;

export function durationFrom(value: unknown): SecondsNanos {
  if (value !== null && typeof value === 'object' && 'seconds' in value) return value as SecondsNanos;
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (!match) throw new GraphQLError(`Duration cannot represent ${JSON.stringify(value)}: expected seconds with an "s" suffix, like "1.5s"`);
  const sign = match[1] ? -1 : 1;
  const seconds = Number(match[2]);
  if (seconds > 315_576_000_000) throw new GraphQLError(`Duration out of range: ${String(value)}`);
  const nanos = match[3] ? Number(match[3].padEnd(9, '0')) : 0;
  return { seconds: sign * seconds, nanos: sign * nanos };
}

export const Duration = new GraphQLScalarType({
  name: 'Duration',
  description: 'A span of time (google.protobuf.Duration) in proto3 JSON form: seconds with an "s" suffix, like "1.5s" or "-0.000001s".',
  serialize: (value) => (typeof value === 'string' ? value : durationText(value as SecondsNanos)),
  parseValue: (value) => durationFrom(value),
  parseLiteral: (node) => durationFrom(node.kind === Kind.STRING ? node.value : undefined),
});

/**
 * NaN and ±Infinity as proto3 JSON writes a double: the strings "NaN",
 * "Infinity" and "-Infinity" (JSON.stringify would turn them into null
 * without a word). Objects and arrays are copied only when they hold one.
 */
export function finiteJson(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = finiteJson(value[i]);
      if (item !== value[i]) (out ??= value.slice())[i] = item;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const fixed = finiteJson(item);
    if (fixed !== item) (out ??= { ...value })[key] = fixed;
  }
  return out ?? value;
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value (google.protobuf.Struct, Value, ListValue and Any, and maps when the descriptor says `maps: json`); NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity".',
  serialize: finiteJson,
  parseValue: (value) => value,
  parseLiteral: (node) => literalOf(node),
});
