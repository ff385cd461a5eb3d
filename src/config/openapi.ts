/**
 * Descriptor keys for `kind: openapi`: a REST service described by OpenAPI
 * 3.0 / 3.1 or Swagger 2.0 (YAML or JSON, a file or a URL). Every object
 * refuses unknown keys; the doc comments below are the reference in
 * docs/openapi.md.
 *
 * Operations are named in these keys by their operationId (`getProduct`) or
 * by method and path as written in the document (`GET /products/{id}`).
 */
import { z } from 'zod';
import { baseDescriptor } from './descriptor-base.js';
import { duration, headerName, integer, size } from './units.js';

const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Response headers the gateway writes itself (plugins/use-upstream-response-headers.ts skips them too). */
const GATEWAY_OWNED = new Set(['connection', 'content-encoding', 'content-length', 'content-type', 'date', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Response headers never taken from an upstream: they describe the gateway's
 * own response bytes or connection, or its CORS policy (`access-control-*`,
 * security.cors), whatever a descriptor says. `name` in lower case.
 */
export function gatewayOwnedHeader(name: string): boolean {
  return GATEWAY_OWNED.has(name) || name.startsWith('access-control-');
}

/** `getProduct` (operationId) or `GET /products/{id}` (method and path, as in the document). */
export const operationSelector = z
  .string()
  .regex(/^(?:[A-Za-z]+ \/\S*|[^\s/][^\s]*)$/, 'expected an operationId or "METHOD /path"');

export const openapiJoin = z.strictObject({
  /** The operation that returns the joined resource (`getCustomer` or `GET /customers/{id}`). */
  operation: operationSelector,
  /**
   * Which parameter of that operation gets which field of the parent object:
   * `{ id: customerId }` (parameter name: parent field name, as the document names them).
   * When omitted: the operation's only required parameter gets the field `from`.
   */
  arguments: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Shorthand for `arguments` with one parameter: the parent field holding the key. */
  from: z.string().min(1).optional(),
  /**
   * A bulk endpoint used instead of one call per parent: one call with every
   * key of the request (`GET /customers?ids=1,2,3`); results are matched to
   * keys through `key`.
   */
  batch: z
    .strictObject({
      operation: operationSelector,
      /** The parameter (query array or body property) that takes the list of keys. */
      parameter: z.string().min(1),
      /** The field of each returned item that holds its key. */
      key: z.string().min(1).default('id'),
      /** Most keys in one bulk call; more keys make more calls. */
      maxKeys: integer.pipe(z.number().min(1).max(10_000)).default(100),
    })
    .optional(),
});

const paginationBase = {
  /** The property of the response holding the items; the whole response when the operation returns an array. */
  items: z.string().min(1).optional(),
  /** Largest page the connection asks the upstream for (the page-size parameter). */
  maxPageSize: integer.pipe(z.number().min(1).max(10_000)).default(100),
  /** Most upstream pages fetched to answer one `first:`. */
  maxPages: integer.pipe(z.number().min(1).max(100)).default(10),
};

export const openapiPagination = z.discriminatedUnion('type', [
  z.strictObject({
    /** `?offset=20&limit=10` */
    type: z.literal('offset'),
    offset: z.string().min(1).default('offset'),
    limit: z.string().min(1).default('limit'),
    ...paginationBase,
  }),
  z.strictObject({
    /** `?page=3&per_page=10` (pages counted from `firstPage`). */
    type: z.literal('page'),
    page: z.string().min(1).default('page'),
    size: z.string().min(1).default('per_page'),
    firstPage: integer.default(1),
    ...paginationBase,
  }),
  z.strictObject({
    /** `?cursor=abc&limit=10`, the next cursor read from the response property `next`. */
    type: z.literal('cursor'),
    cursor: z.string().min(1).default('cursor'),
    limit: z.string().min(1).default('limit'),
    /** Response property (a JSON pointer like `/meta/next_cursor` or a plain name) holding the next cursor. */
    next: z.string().min(1).default('next_cursor'),
    ...paginationBase,
  }),
  z.strictObject({
    /** The response property `next` holds the URL of the next page (same host as the upstream). */
    type: z.literal('nextUrl'),
    next: z.string().min(1).default('next'),
    limit: z.string().min(1).optional(),
    ...paginationBase,
  }),
  z.strictObject({
    /** RFC 8288 `Link: <…>; rel="next"` response headers (GitHub style). */
    type: z.literal('link'),
    limit: z.string().min(1).optional(),
    ...paginationBase,
  }),
]);

export const openapiDescriptor = baseDescriptor.extend({
  kind: z.literal('openapi'),
  /** The OpenAPI document: a path relative to this file, or an http(s) URL. */
  source: z.string().min(1),
  /**
   * How a response that breaks the document's nullability is handled.
   * `strict`: the schema says exactly what the document says (required and not
   * nullable = non-null); a missing required value nulls the nearest nullable
   * parent (GraphQL null bubbling). `lenient`: required output properties are
   * typed nullable; a missing one becomes null with a located error
   * (SOURCE_RESPONSE_INVALID), counted on `tessera:openapi:violation`.
   */
  nullability: z.enum(['strict', 'lenient']).default('strict'),
  operations: z
    .strictObject({
      /** Only these operations become fields (all when omitted). */
      include: z.array(operationSelector).optional(),
      /** These operations do not become fields. */
      exclude: z.array(operationSelector).default([]),
    })
    .default({ exclude: [] }),
  /** Largest part of a non-2xx upstream body kept in `extensions.upstream.body` (development mode or `errors.expose`). */
  errorBodyLimit: size.default(4096),
  /** Most concurrent upstream calls one request makes for a join without a bulk endpoint. */
  concurrency: integer.pipe(z.number().min(1).max(256)).default(8),
  /** Upstream response headers copied to the client's response. */
  responseHeaders: z
    .strictObject({
      /** Not the headers that frame the gateway's own response (content-type, content-length, transfer-encoding, connection…). */
      forward: z
        .array(headerName.refine((h) => !gatewayOwnedHeader(h), { message: 'this header describes the gateway\'s own response (or its CORS policy) and cannot come from an upstream' }))
        .default([]),
      /** Pass `Set-Cookie` from the upstream to the client (off by default: the upstream's cookies are usually not the gateway's). */
      setCookie: z.boolean().default(false),
    })
    .default({ forward: [], setCookie: false }),
  /**
   * Fields added to the document's types that call another operation, keyed
   * by `Type.field` (GraphQL names): `Order.customer: { operation: getCustomer, from: customerId }`.
   */
  joins: z
    .record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/, 'expected "Type.field"'), openapiJoin)
    .default({}),
  /**
   * The bulk endpoint behind an entity's batch field (`entities.X.batch.field`)
   * when the document has no operation of that name; detected from the document
   * when not given (an `ids` array parameter on `GET /xs`, or `POST /xs/batch`).
   */
  bulk: z
    .record(
      z.string().regex(graphqlName),
      z.strictObject({
        operation: operationSelector,
        parameter: z.string().min(1),
        key: z.string().min(1).default('id'),
        maxKeys: integer.pipe(z.number().min(1).max(10_000)).default(100),
      }),
    )
    .default({}),
  /**
   * List operations exposed as Relay connections (`<field>Connection(first, after)`),
   * keyed by operation. `auto` uses what the document makes plain (offset/limit,
   * page/per_page, cursor parameters).
   */
  pagination: z.record(operationSelector, z.union([z.literal('auto'), openapiPagination])).default({}),
  /**
   * Binary responses (`image/png`, `application/octet-stream`…). They are
   * always a `Base64` field; `url: true` adds `<field>Url: String`, a signed
   * link to the same call that the gateway serves (docs/openapi.md, "Files").
   */
  binary: z
    .strictObject({
      url: z.boolean().default(false),
      /** How long a link works. */
      ttl: duration.pipe(z.number().min(1000, 'expected at least 1s')).default(300_000),
      /**
       * HMAC-SHA256 key for the links (at least 32 characters; use ${ENV}).
       * Without it each gateway process makes its own, so a link works only on
       * the replica that made it, until it restarts: set it behind a load balancer.
       */
      secret: z.string().min(32, 'use at least 32 characters').optional(),
    })
    .default({ url: false, ttl: 300_000 }),
  /** Fetching `source` when it is a URL: time limit and size cap. */
  fetch: z
    .strictObject({
      timeout: duration.default(10_000),
      maxSize: size.default(64 * 1024 * 1024),
    })
    .default({ timeout: 10_000, maxSize: 64 * 1024 * 1024 }),
});

export type OpenapiDescriptor = z.output<typeof openapiDescriptor>;
export type OpenapiJoin = z.output<typeof openapiJoin>;
export type OpenapiPagination = z.output<typeof openapiPagination>;
