/**
 * Generated HTTP requests for fuzzing a gateway (fast-check arbitraries), as
 * a hostile or careless client would send them: random JSON and non-JSON
 * bodies, every method, odd media types and Accept headers, GET parameters
 * with broken JSON, multipart uploads with broken fields, valid documents
 * with tokens deleted, inserted or swapped, and schema-valid operations with
 * random argument values. `fuzzClient` puts one on the wire with node:http, which
 * (unlike fetch) sends a body with any method and any header value as given.
 */
import { request as httpRequest, Agent } from 'node:http';
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

export interface FuzzRequest {
  method: string;
  /** Path and query string, as sent on the request line. */
  path: string;
  headers: Record<string, string>;
  /** Sent as UTF-8. */
  body?: string;
  /** What the generator meant to send, for the failure report. */
  kind: string;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body, or its first chunk for a stream (SSE, multipart/mixed). */
  text: string;
}

const STREAMS = /^(text\/event-stream|multipart\/mixed)/i;

export interface FuzzClient {
  /** Sends one request and reads the answer; a streamed answer is cut after its first chunk. */
  send(req: FuzzRequest): Promise<FuzzAnswer>;
  /** Closes the kept-alive socket. */
  close(): void;
}

/** One kept-alive connection to `base`, requests sent one at a time. */
export function fuzzClient(base: URL): FuzzClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (req: FuzzRequest) =>
    new Promise<FuzzAnswer>((resolve, reject) => {
      const out = httpRequest({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers: req.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        const streamed = STREAMS.test(String(res.headers['content-type'] ?? ''));
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (streamed) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(req.body === undefined ? undefined : Buffer.from(req.body, 'utf8'));
    });
  return { send, close: () => agent.destroy() };
}

// ---- documents

/** Valid operations over the demo graph, seeds for mutation. */
export const DEMO_OPERATIONS = [
  '{ reviews(first: 3) { body rating author { name username } product { id averageRating } } }',
  'query Top($n: Int) { topProducts(first: $n) { id name skuCode price { amount currency } stock { available status } } }',
  'query One($id: String!) { getProduct(id: $id) { ...P category { name } reviews(first: 2) { rating } } } fragment P on Product { id name tags status dimensions { width height depth } }',
  '{ me { id name reviews { body product { name } } } allUsers(first: 2) { username } }',
  '{ listProductsConnection(first: 2) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }',
  '{ getStockLevels(productIds: ["p1", "p2"]) { levels { productId available byWarehouse { key value } restockIn updatedAt } } listWarehouses { warehouses { code city } } }',
  'query { a: getProduct(id: "p1") { name @include(if: true) } b: getProduct(id: "p2") { name @skip(if: false) } __typename }',
  'mutation Add($p: ID!) { addReview(authorId: "u1", productId: $p, body: "fine", rating: 4) { id rating } }',
  'mutation { reserveStock(productId: "p1", quantity: 1, holdFor: "60s") { id expiresAt } }',
];

/** GraphQL tokens: names, strings (block and plain), numbers, spreads and punctuators. */
const TOKEN = /"""[\s\S]*?"""|"(?:[^"\\]|\\.)*"|\.\.\.|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[_A-Za-z][_0-9A-Za-z]*|\$|\S/g;

const EXTRA_TOKENS = [
  '{', '}', '(', ')', '[', ']', ':', '$', '!', '@', '=', '|', '&', '...', '"', '"""', ',', '#',
  'query', 'mutation', 'subscription', 'fragment', 'on', 'true', 'false', 'null', '__typename', '__schema', '__type',
  '0', '-1', '2147483648', '1e400', '0x1F', '"\\u0000"', '"\\uD800"', '$id', '$undefined', '@skip(if: true)', '@deprecated', '@defer', '@stream',
  'getProduct', 'reviews', 'product', 'name', 'id', 'first', 'Product', 'User', 'Query', 'Mutation', 'String', 'Int!',
];

/** A valid demo operation with one to four tokens deleted, inserted, swapped or repeated. */
export const mutatedDocument: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...DEMO_OPERATIONS),
    fc.array(fc.tuple(fc.constantFrom('delete', 'insert', 'swap', 'repeat'), fc.nat(), fc.nat(), fc.oneof(fc.constantFrom(...EXTRA_TOKENS), fc.string({ maxLength: 4 }))), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([document, edits]) => {
    const tokens = document.match(TOKEN) ?? [];
    for (const [edit, a, b, token] of edits) {
      if (tokens.length === 0) break;
      const i = a % tokens.length;
      const j = b % tokens.length;
      if (edit === 'delete') tokens.splice(i, 1);
      else if (edit === 'insert') tokens.splice(i, 0, token);
      else if (edit === 'repeat') tokens.splice(i, 0, ...tokens.slice(i, i + 1 + (j % 3)));
      else [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
    }
    return tokens.join(' ');
  });

// ---- schema-valid operations

type Gen = fc.GeneratorValue;

const SAMPLE_STRINGS = ['p1', 'p2', 'p999', 'u1', 'u2', 'r1', 'c1', '', ' ', '..', '../admin', '%2F', '@evil.com', '1', '-1', '1.5s', '-0.000001s', '2026-01-01T00:00:00Z', '18446744073709551616', '💥', 'null'];

function scalarValue(g: Gen, name: string): unknown {
  switch (name) {
    case 'Int':
      return g(() => fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2147483647, -2147483648, 1000000)));
    case 'Float':
      return g(fc.double, { noNaN: true, noDefaultInfinity: true });
    case 'Boolean':
      return g(fc.boolean);
    default:
      return g(() => fc.oneof(fc.constantFrom(...SAMPLE_STRINGS), fc.string({ maxLength: 40 })));
  }
}

/** A value of an input type, as JSON (for variables). */
function inputValue(g: Gen, type: GraphQLInputType, depth: number): unknown {
  if (isNonNullType(type)) return inputValue(g, type.ofType, depth);
  if (g(fc.integer, { min: 0, max: 15 }) === 0) return null;
  if (isListType(type)) {
    const n = g(fc.integer, { min: 0, max: depth > 2 ? 1 : 3 });
    return Array.from({ length: n }, () => inputValue(g, type.ofType, depth + 1));
  }
  if (isEnumType(type)) return g(fc.constantFrom, ...type.getValues().map((v) => v.name));
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      if (isNonNullType(field.type) || g(fc.boolean)) value[field.name] = inputValue(g, field.type, depth + 1);
    }
    return value;
  }
  return scalarValue(g, type.name);
}

/** The same value as a GraphQL literal. */
function literal(value: unknown, type: GraphQLInputType): string {
  if (value === null) return 'null';
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) return Array.isArray(value) ? `[${value.map((v) => literal(v, t.ofType)).join(', ')}]` : literal(value, t.ofType);
  if (isEnumType(t)) return String(value);
  if (isInputObjectType(t)) {
    const fields = t.getFields();
    return `{ ${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${literal(v, fields[k]!.type)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

interface Building {
  g: Gen;
  variables: Record<string, unknown>;
  declarations: string[];
}

function argumentsText(b: Building, args: readonly GraphQLArgument[]): string {
  const parts: string[] = [];
  for (const arg of args) {
    if (!isNonNullType(arg.type) && !b.g(fc.boolean)) continue;
    const value = inputValue(b.g, arg.type, 0);
    if (b.g(fc.boolean)) {
      const name = `v${b.declarations.length}`;
      b.declarations.push(`$${name}: ${String(arg.type)}`);
      b.variables[name] = value;
      parts.push(`${arg.name}: $${name}`);
    } else {
      parts.push(`${arg.name}: ${literal(value, arg.type)}`);
    }
  }
  return parts.length > 0 ? `(${parts.join(', ')})` : '';
}

function selection(b: Building, type: GraphQLObjectType, depth: number): string {
  const fields = Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>;
  const count = b.g(fc.integer, { min: 1, max: Math.min(3, fields.length) });
  const picked: string[] = [];
  for (let i = 0; i < count; i++) {
    const field = fields[b.g(fc.integer, { min: 0, max: fields.length - 1 })]!;
    const named = getNamedType(field.type);
    const alias = `f${picked.length}: `;
    const args = argumentsText(b, field.args);
    if (isLeafType(named)) picked.push(`${alias}${field.name}${args}`);
    else if (isObjectType(named)) picked.push(`${alias}${field.name}${args} { ${depth >= 3 ? '__typename' : selection(b, named, depth + 1)} }`);
    else picked.push(`${alias}${field.name}${args} { __typename }`);
  }
  return picked.join(' ');
}

/** A query or mutation that validates against `schema`, with random argument values, inline or as variables. */
export function schemaOperation(schema: GraphQLSchema): fc.Arbitrary<{ query: string; variables: Record<string, unknown> }> {
  const roots = [schema.getQueryType(), schema.getMutationType()].filter((t): t is GraphQLObjectType => Boolean(t));
  return fc.gen().map((g) => {
    // An index, not constantFrom over the types: fast-check compares constants deeply, and schema types are cyclic.
    const root = roots[g(fc.integer, { min: 0, max: roots.length - 1 })]!;
    const b: Building = { g, variables: {}, declarations: [] };
    const body = selection(b, root, 1);
    const keyword = root === schema.getMutationType() ? 'mutation' : 'query';
    const head = b.declarations.length > 0 ? `${keyword} Fuzz(${b.declarations.join(', ')})` : keyword;
    return { query: `${head} { ${body} }`, variables: b.variables };
  });
}

// ---- requests

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const MEDIA_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json; charset=latin1',
  'application/graphql-response+json',
  'application/graphql+json',
  'application/graphql',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=fuzz',
  'multipart/mixed',
  'application/octet-stream',
  'application/xml',
  '*/*',
  'application/json, text/plain',
  ';',
  '',
];
const ACCEPTS = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json;q=0.9',
  'text/event-stream',
  'multipart/mixed',
  'multipart/mixed; deferSpec=20220824',
  'text/html',
  'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  '*/*',
  'application/xml',
  'application/*',
  'application/json;q=0',
  '',
];
const PATHS = ['/graphql', '/web/graphql', '/mobile/graphql', '/graphql/', '/GRAPHQL', '/graphql;x', '/healthz', '/readyz', '/metrics', '/', '/graphql/../graphql', '/%zz', '/mobile/graphql/x'];
const HEADER_NAMES = ['authorization', 'x-user-id', 'x-tessera-csrf', 'apollo-require-preflight', 'x-request-id', 'accept-language', 'cookie', 'origin', 'user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'x-api-key', 'traceparent', 'x-fuzz'];

/** Header-safe text: printable ASCII (node:http refuses control characters in values). */
const headerText = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

/** Up to four headers, some with values of several kilobytes (under server.maxHeaderSize together). */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.oneof({ weight: 4, arbitrary: headerText(64) }, { weight: 1, arbitrary: headerText(3000) })), { maxLength: 4 })
  .map((pairs) => Object.fromEntries(pairs));

// Mostly what GraphQL clients send, so that most requests reach execution; the odd ones still often.
const accept = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ACCEPTS.slice(0, 3), '*/*', '') },
  { weight: 3, arbitrary: fc.constantFrom(...ACCEPTS) },
  { weight: 1, arbitrary: headerText(80) },
);
const mediaType = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...MEDIA_TYPES) }, { weight: 1, arbitrary: headerText(80) });

/** JSON text, sometimes broken: cut short, or with a character put in. */
const maybeBrokenJson: fc.Arbitrary<string> = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('as is', 'cut', 'insert'), fc.nat(), fc.constantFrom('{', '}', '"', ',', ':', '[', 'x', '\\')).map(([value, how, at, ch]) => {
  const text = JSON.stringify(value) ?? 'null';
  const i = at % (text.length + 1);
  if (how === 'cut') return text.slice(0, i);
  if (how === 'insert') return text.slice(0, i) + ch + text.slice(i);
  return text;
});

const document = (schema: GraphQLSchema) =>
  fc.oneof(fc.constantFrom(...DEMO_OPERATIONS), mutatedDocument, schemaOperation(schema).map((o) => o.query), fc.string({ maxLength: 60 }));

/** UTF-8 bytes of `text` (a lone surrogate becomes U+FFFD), percent-encoded except the characters `keep` matches. */
function percentEncode(text: string, keep: RegExp): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && keep.test(ch) && ch !== '&' && ch !== '#' ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A query string with the four GraphQL parameters, some missing, repeated, broken, or not percent-encoded. */
const getParams = (schema: GraphQLSchema): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.option(document(schema), { nil: undefined }),
      fc.option(maybeBrokenJson, { nil: undefined }),
      fc.option(fc.oneof(maybeBrokenJson, fc.constant('{"persistedQuery":{"version":1,"sha256Hash":"00"}}')), { nil: undefined }),
      fc.option(fc.oneof(fc.constantFrom('Top', 'One', 'Add', ''), fc.string({ maxLength: 10 })), { nil: undefined }),
      fc.boolean(),
      fc.constantFrom('', '&query=%7B__typename%7D', '&variables=%7B', '&x=1', '&&', '&=', '&%zz=%zz'),
    )
    .map(([query, variables, extensions, operationName, raw, tail]) => {
      // Raw: printable ASCII as is (braces, quotes, %), only what node:http refuses on a request line, and & and #, encoded.
      const encode = (v: string) => percentEncode(v, raw ? /[\x21-\x7e]/ : /[A-Za-z0-9\-_.!~*'()]/);
      const parts = Object.entries({ query, variables, extensions, operationName })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${encode(v!)}`);
      return `?${parts.join('&')}${tail}`;
    });

const jsonBody = (schema: GraphQLSchema): fc.Arbitrary<string> =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
    schemaOperation(schema).map((o) => JSON.stringify(o)),
    fc
      .record(
        {
          query: fc.oneof(document(schema), fc.jsonValue({ maxDepth: 2 })),
          variables: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.constantFrom('id', 'n', 'p', 'v0', 'v1', '__proto__'), fc.jsonValue({ maxDepth: 2 }))),
          operationName: fc.oneof(fc.constantFrom('Top', 'One', 'Add', 'Fuzz'), fc.jsonValue({ maxDepth: 1 })),
          extensions: fc.jsonValue({ maxDepth: 3 }),
        },
        { requiredKeys: [] },
      )
      .chain((op) => fc.oneof(fc.constant(JSON.stringify(op)), fc.constant(JSON.stringify([op, op])))),
    maybeBrokenJson,
  );

/** A multipart body (GraphQL multipart request spec) whose fields may be missing, broken, or files where text belongs. */
const multipartBody = (schema: GraphQLSchema): fc.Arbitrary<{ body: string; type: string }> =>
  fc
    .record({
      operations: fc.option(
        fc.oneof(
          fc.constant(JSON.stringify({ query: 'mutation ($f: Upload!) { uploadProductImage(id: "p1", input: { file: $f, caption: "c" }) { size filename } }', variables: { f: null } })),
          jsonBody(schema),
        ),
        { nil: undefined },
      ),
      map: fc.option(fc.oneof(fc.constant('{"0":["variables.f"]}'), fc.constant('{"0":["0.variables.f"]}'), fc.constant('{"0":["variables.__proto__.x"]}'), maybeBrokenJson), { nil: undefined }),
      files: fc.array(fc.tuple(fc.constantFrom('0', '1', 'operations', 'map'), fc.string({ maxLength: 30 })), { maxLength: 2 }),
      boundary: fc.constantFrom('fuzz', 'other'),
      truncate: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ operations, map, files, boundary, truncate }) => {
      const parts: string[] = [];
      if (operations !== undefined) parts.push(`Content-Disposition: form-data; name="operations"\r\n\r\n${operations}`);
      if (map !== undefined) parts.push(`Content-Disposition: form-data; name="map"\r\n\r\n${map}`);
      for (const [name, content] of files) parts.push(`Content-Disposition: form-data; name="${name}"; filename="f.png"\r\nContent-Type: image/png\r\n\r\n${content}`);
      let text = `${parts.map((p) => `--fuzz\r\n${p}\r\n`).join('')}--fuzz--\r\n`;
      if (truncate !== undefined) text = text.slice(0, truncate % (text.length + 1));
      return { body: text, type: `multipart/form-data; boundary=${boundary}` };
    });

/** Every kind of request above, on one of the demo's paths (or a wrong one), with generated headers. */
export function fuzzRequest(schema: GraphQLSchema): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('/graphql', '/web/graphql', '/mobile/graphql') }, { weight: 1, arbitrary: fc.constantFrom(...PATHS) });
  const common = fc.record({ path, accept, headers: extraHeaders });
  const withHeaders = (req: Omit<FuzzRequest, 'path'> & { query?: string }, c: { path: string; accept: string; headers: Record<string, string> }): FuzzRequest => ({
    ...req,
    path: c.path + (req.query ?? ''),
    headers: { ...c.headers, ...(c.accept ? { accept: c.accept } : {}), ...req.headers },
  });
  return fc.oneof(
    fc.tuple(jsonBody(schema), common).map(([body, c]) => withHeaders({ kind: 'JSON body', method: 'POST', headers: { 'content-type': 'application/json' }, body }, c)),
    fc.tuple(schemaOperation(schema), common).map(([op, c]) => withHeaders({ kind: 'schema-valid operation', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(op) }, c)),
    fc.tuple(mutatedDocument, common).map(([query, c]) => withHeaders({ kind: 'mutated document', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }, c)),
    fc.tuple(getParams(schema), common).map(([query, c]) => withHeaders({ kind: 'GET parameters', method: 'GET', headers: {}, query }, c)),
    fc
      .tuple(fc.constantFrom(...METHODS), mediaType, fc.oneof(jsonBody(schema), fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), fc.option(getParams(schema), { nil: undefined }), common)
      .map(([method, type, body, query, c]) =>
        withHeaders({ kind: 'method and media type', method, headers: type ? { 'content-type': type } : {}, body: body || undefined, query }, c),
      ),
    fc.tuple(multipartBody(schema), fc.boolean(), common).map(([mp, csrf, c]) =>
      withHeaders({ kind: 'multipart upload', method: 'POST', headers: { 'content-type': mp.type, ...(csrf ? { 'x-tessera-csrf': '1' } : {}) }, body: mp.body }, c),
    ),
  );
}
