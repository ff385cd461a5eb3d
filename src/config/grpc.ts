/**
 * Descriptor keys for `kind: grpc`: a gRPC service described by .proto files
 * (`source`, plus `protos`) or by the upstream's server reflection. Every
 * object refuses unknown keys; the doc comments below are the reference in
 * docs/grpc.md.
 */
import { z } from 'zod';
import { baseDescriptor } from './descriptor-base.js';
import { duration, size } from './units.js';

const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;
const protoName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A method pattern: `GetStock` (method name in any service), `InventoryService.GetStock`
 * or `inventory.v1.InventoryService.GetStock` (one method), and a trailing `*`
 * for a prefix (`Get*`, `InventoryService.*`).
 */
const methodPattern = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*\*?$|^\*$/, 'expected a method name, Service.Method, or a prefix ending in "*"');

export const grpcTls = z.strictObject({
  /** CA bundle (PEM) that signs the upstream's certificate; the system roots when omitted. */
  ca: z.string().min(1).optional(),
  /** Client certificate (PEM) for mutual TLS; needs `key` too. */
  cert: z.string().min(1).optional(),
  /** Private key (PEM) of the client certificate. */
  key: z.string().min(1).optional(),
  /** Name checked against the upstream certificate instead of the URL's host (`grpc.ssl_target_name_override`). */
  serverName: z.string().min(1).optional(),
});

export const grpcJoin = z.strictObject({
  /** The batch method: `GetStockLevels`, `InventoryService.GetStockLevels` or the full name. */
  method: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a method name'),
  /** Field of the request message that receives the list of keys (repeated). */
  keys: z.string().regex(protoName, 'expected a proto field name'),
  /**
   * Field of the response holding the results: a repeated message field (items
   * matched to keys through `resultKey`) or a map keyed by the key.
   */
  results: z.string().regex(protoName, 'expected a proto field name'),
  /** With a repeated `results`: the field of each item that holds its key. */
  resultKey: z.string().regex(protoName, 'expected a proto field name').optional(),
  /** Name of the field the entity gets; it holds the matched item (null when the upstream returned none for that key). */
  field: z.string().regex(graphqlName, 'expected a GraphQL field name'),
});

export const grpcDescriptor = baseDescriptor.extend({
  kind: z.literal('grpc'),
  /** More .proto entry files (relative to the descriptor), loaded together with `source`. */
  protos: z.array(z.string().min(1)).default([]),
  /**
   * Folders searched for `import "…"`, in order, relative to the descriptor. The
   * folder of each entry file is searched first; Google's well-known types
   * (google/protobuf/*.proto) are always available.
   */
  includePaths: z.array(z.string().min(1)).default([]),
  /**
   * Read the service definitions from the first upstream's server reflection
   * (grpc.reflection.v1, falling back to v1alpha) instead of .proto files.
   */
  reflection: z.boolean().default(false),
  /** Services to expose (short or full names); all services found when omitted (reflection and health services are skipped). */
  services: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/)).optional(),
  /**
   * Methods exposed as Query fields (and retried on UNAVAILABLE); every other
   * unary method is a Mutation. Methods marked `option idempotency_level =
   * NO_SIDE_EFFECTS` are read-only whatever this says. Giving the list replaces
   * the default.
   */
  readOnly: z.array(methodPattern).default(['Get*', 'List*', 'Search*', 'BatchGet*', 'Find*', 'Lookup*', 'Count*']),
  /** Maps: a list of `{ key, value }` entries (typed) or one JSON object scalar. */
  maps: z.enum(['entries', 'json']).default('entries'),
  /** GraphQL field names: the proto3 JSON names (lowerCamelCase, `json_name`) or the .proto names as written. */
  fieldNames: z.enum(['json', 'proto']).default('json'),
  /** Entities resolved by a batch method, keyed by entity type name; pair each with `entities.<Type>.batch`. */
  joins: z.record(z.string().regex(graphqlName), grpcJoin).default({}),
  /** Largest message accepted from the upstream (gRPC's own default; larger answers fail with RESOURCE_EXHAUSTED). */
  maxResponseSize: size.default(4 * 1024 * 1024),
  /** Largest request message sent. */
  maxRequestSize: size.default(4 * 1024 * 1024),
  /**
   * HTTP/2 keepalive pings, to notice a peer that died silently: an unanswered
   * ping closes the connection and fails its calls with UNAVAILABLE. Servers
   * refuse pings more often than they allow (grpc-core: once per 5 minutes
   * without data by default) and then close the connection, so shorten `time`
   * only for servers configured for it.
   */
  keepalive: z
    .strictObject({
      /** Time between pings while calls are open on a connection (an idle connection is not pinged). */
      time: duration.default(300_000),
      /** How long to wait for the ping's answer before the connection is closed. */
      timeout: duration.default(20_000),
    })
    .default({ time: 300_000, timeout: 20_000 }),
  /** Longest a server stream (subscription) is kept open, capped by the request's own deadline; 0 for no limit of its own. */
  streamTimeout: duration.default(3_600_000),
  /** TLS to the upstream (also implied by `grpcs://` and `https://` URLs). */
  tls: grpcTls.optional(),
});

export type GrpcDescriptor = z.output<typeof grpcDescriptor>;
export type GrpcJoin = z.output<typeof grpcJoin>;
export type GrpcTls = z.output<typeof grpcTls>;
