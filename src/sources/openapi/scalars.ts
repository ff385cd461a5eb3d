/**
 * The custom scalars an OpenAPI document can need. Each one is created once
 * per source (a schema may hold only one type of each name) and only when a
 * schema uses it.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT: {
      const out: Record<string, unknown> = Object.create(null);
      for (const field of ast.fields) {
        if (field.name.value === '__proto__') continue;
        out[field.name.value] = literalToJson(field.value, variables);
      }
      return { ...out };
    }
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      return undefined;
  }
}

export function createJsonScalar(): GraphQLScalarType {
  return new GraphQLScalarType({
    name: 'JSON',
    description: 'Any JSON value: free-form objects, mixed-type unions and schemas GraphQL cannot express.',
    serialize: (value) => value,
    parseValue: (value) => value,
    parseLiteral: literalToJson,
  });
}

const MAX = Number.MAX_SAFE_INTEGER;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Output: a number while safe, the exact decimal string beyond (upstream values beyond 2^53 arrive as strings: int64.ts). */
function toInt64(value: unknown): number | string {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint') return value >= -BigInt(MAX) && value <= BigInt(MAX) ? Number(value) : value.toString();
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(value)}`);
}

/**
 * Input: a number while safe; beyond, a BigInt, so the exact value reaches
 * the upstream (a bare number in JSON bodies, its digits in paths and queries).
 * A JSON number beyond 2^53 sent by a client has already lost its digits, so
 * it is refused: clients send such values as decimal strings.
 */
function parseInt64(value: unknown): number | bigint {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
    throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(value)} exactly; send integers beyond 2^53 as decimal strings`);
  }
  if (typeof value === 'bigint' || (typeof value === 'string' && /^-?\d+$/.test(value))) {
    const big = BigInt(value);
    if (big < INT64_MIN || big > UINT64_MAX) throw new GraphQLError(`BigInt cannot represent ${String(value)}: out of the 64-bit range`);
    return big >= -BigInt(MAX) && big <= BigInt(MAX) ? Number(big) : big;
  }
  throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(value)}`);
}

export function createInt64Scalar(): GraphQLScalarType {
  return new GraphQLScalarType({
    name: 'BigInt',
    description: 'A 64-bit integer (OpenAPI `format: int64`): a JSON number while it is a safe integer (|n| < 2^53), a decimal string beyond (send it as one too).',
    serialize: toInt64,
    parseValue: parseInt64,
    parseLiteral: (ast) => {
      if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return parseInt64(ast.kind === Kind.INT ? ast.value : ast.value.trim());
      throw new GraphQLError('BigInt expects an integer or a decimal string');
    },
  });
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

function parseDateTime(value: unknown): string {
  if (typeof value === 'string' && DATE_TIME.test(value)) return value;
  throw new GraphQLError(`DateTime expects an RFC 3339 date-time string, got ${JSON.stringify(value)}`);
}

export function createDateTimeScalar(): GraphQLScalarType {
  return new GraphQLScalarType({
    name: 'DateTime',
    description: 'An RFC 3339 date-time string (`format: date-time`), passed as the upstream wrote it.',
    // Output is passed through: a slightly off upstream value should not null a field.
    serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
    parseValue: parseDateTime,
    parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
  });
}

/** A file from a GraphQL multipart request (graphql-multipart-request-spec): Yoga hands over a WHATWG File. */
export interface UploadLike {
  name?: string;
  type?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

function isUpload(value: unknown): value is UploadLike {
  return value !== null && typeof value === 'object' && typeof (value as UploadLike).arrayBuffer === 'function';
}

export function createUploadScalar(): GraphQLScalarType {
  return new GraphQLScalarType({
    name: 'Upload',
    description: 'A file sent with the GraphQL multipart request spec; becomes a `format: binary` body part upstream.',
    serialize: (value) => value,
    parseValue: (value) => {
      if (isUpload(value)) return value;
      throw new GraphQLError('Upload expects a file sent as a multipart request part');
    },
    parseLiteral: () => {
      throw new GraphQLError('Upload cannot be written inline; send the file as a multipart request part');
    },
  });
}

export function createBase64Scalar(): GraphQLScalarType {
  return new GraphQLScalarType({
    name: 'Base64',
    description: 'Binary content (a non-JSON upstream response), base64-encoded.',
    serialize: (value) => (Buffer.isBuffer(value) ? value.toString('base64') : String(value)),
    parseValue: (value) => String(value),
  });
}

export function isUploadValue(value: unknown): value is UploadLike {
  return isUpload(value);
}
