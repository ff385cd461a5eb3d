/**
 * One Yoga instance serves one schema version. A schema change builds a new
 * instance and the server swaps the reference, so a request always runs
 * start to finish against one schema.
 */
import { createYoga, maskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { CorsPolicy } from '../config/security.js';
import type { Mode } from '../sources/types.js';
import { createScope, type RequestScope } from '../transport/scope.js';
import { useDocumentCache } from '../plugins/use-document-cache.js';

export interface GatewayContext {
  tessera: RequestScope;
}

export interface YogaOptions {
  schema: GraphQLSchema;
  mode: Mode;
  graphqlPath: string;
  graphiql: boolean;
  requestDeadline: number;
  plugins: Plugin[];
  /** Largest request body, bytes (server.bodyLimit); Yoga's own default (25 MB) when not given. */
  bodyLimit?: number;
  /** Most operations in one batched (array) request; 0 or absent: batching off (an array gets 400). More gets 413. */
  batching?: number;
  /** Browsers on other origins (security.cors, per channel, see createCors); absent: no CORS headers at all. */
  cors?: Cors;
}

/**
 * graphql-js reports data that breaks the schema (a null for a non-null
 * field, "Int cannot represent ...") as plain Errors, which the default mask
 * would turn into "Unexpected error". Their text names only schema elements,
 * and it tells the client which subgraph field is broken, so it is kept, with
 * its own code.
 */
const RESULT_COERCION = /^(Cannot return null for non-nullable field|\w+ cannot represent)/;

function maskGatewayError(error: unknown, message: string, isDev?: boolean): Error {
  // Result coercion happens at a field, so the error has a path; variable coercion errors have none.
  if (error instanceof GraphQLError && error.path && !error.extensions?.code) {
    const original = error.originalError ?? error;
    if (RESULT_COERCION.test(original.message)) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'RESPONSE_VALIDATION_FAILED' },
      });
    }
  }
  return maskError(error, message, isDev);
}

const DECIMAL = /^\d+$/;

function bodyLimitError(status: number, message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { http: { status }, code } });
}

type FetchApi = { Request: typeof Request; TransformStream: typeof TransformStream };

/**
 * Yoga's body limit (`maxRequestBodySize`) without its cost on ordinary
 * requests: Yoga pipes every body through a TransformStream that counts the
 * bytes, which is a stream pipeline, an AbortController and a DOMException per
 * request (a third of the gateway's CPU per request in bench/'s proxy
 * scenario). A body with a valid Content-Length cannot be longer than that
 * (node:http reads exactly that many bytes), so only a body without one
 * (chunked) is counted. Same errors and codes as Yoga's.
 */
function useBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!DECIMAL.test(declared)) throw bodyLimitError(400, 'Content-Length header is invalid.', 'BAD_REQUEST');
        if (Number(declared) > limit) throw bodyLimitError(413, 'Request body too large', 'REQUEST_ENTITY_TOO_LARGE');
        return;
      }
      if (!requestParser || request.body == null) return;
      setRequestParser((req) => requestParser(countedRequest(req, limit, fetchAPI as unknown as FetchApi)));
    },
  };
}

function countedRequest(request: Request, limit: number, fetchAPI: FetchApi): Request {
  const body = request.body;
  if (!body) return request;
  // A native stream needs the native TransformStream, a whatwg-node one its own (as Yoga does).
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const counted = body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > limit) return controller.error(bodyLimitError(413, 'Request body too large', 'REQUEST_ENTITY_TOO_LARGE'));
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, body: counted, duplex: 'half' } as RequestInit);
}

/**
 * CORS (Fetch standard, "CORS protocol") for the origins a channel allows,
 * compiled once per channel into the headers each kind of answer carries.
 * The one place that decides whether an origin is allowed and what an answer
 * says about it: used by the Yoga plugin below, by the answers node:http
 * gives itself (server/http.ts: 413, 431, 503) and by WebSocket upgrades
 * (server/websocket.ts), so the three cannot disagree.
 *
 * - An allowed Origin gets exactly itself back (`*` when any origin is
 *   allowed), any other origin no CORS header: the browser then keeps the
 *   answer from the page. Answers carry `Vary: Origin` whenever they depend
 *   on it, so a shared cache cannot hand one origin's answer to another.
 * - Allowed headers are a fixed list, never what a preflight asks for.
 */
export interface Cors {
  readonly policy: CorsPolicy;
  /** Whether a page on `origin` (an Origin header's value) may use the channel: listed exactly, or any origin with `*`. */
  allows(origin: string): boolean;
  /**
   * The CORS headers of an answer to a request with this Origin (null: none
   * sent), including `Vary: Origin` when the answer depends on it. The same
   * object for every call with the same arguments: never modify it.
   */
  answerHeaders(origin: string | null, method: string): Readonly<Record<string, string>>;
  /** What a preflight's 204 adds for this origin: methods, headers and max-age when it is allowed, nothing otherwise. */
  preflightHeaders(origin: string): Readonly<Record<string, string>>;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});

export function createCors(policy: CorsPolicy): Cors {
  const any = policy.origins === '*';
  const exposed = policy.exposedHeaders.length > 0 ? { 'access-control-expose-headers': policy.exposedHeaders.join(', ') } : {};
  const preflight = Object.freeze({
    'access-control-allow-methods': policy.methods.join(', '),
    'access-control-allow-headers': policy.allowedHeaders.join(', '),
    'access-control-max-age': String(Math.floor(policy.maxAge / 1000)),
  });
  // Every answer is built here, once: serving a request only looks one up.
  if (any) {
    const toPreflight = Object.freeze({ 'access-control-allow-origin': '*' });
    const toRequest = Object.freeze({ ...toPreflight, ...exposed });
    return {
      policy,
      allows: () => true,
      answerHeaders: (_origin, method) => (method === 'OPTIONS' ? toPreflight : toRequest),
      preflightHeaders: () => preflight,
    };
  }
  const other = Object.freeze({ vary: 'Origin' });
  const answers = new Map(
    (policy.origins as readonly string[]).map((origin) => {
      const toPreflight = Object.freeze({ ...other, 'access-control-allow-origin': origin, ...(policy.credentials && { 'access-control-allow-credentials': 'true' }) });
      return [origin, { toPreflight, toRequest: Object.freeze({ ...toPreflight, ...exposed }) }] as const;
    }),
  );
  return {
    policy,
    allows: (origin) => answers.has(origin),
    answerHeaders: (origin, method) => {
      const answer = origin === null ? undefined : answers.get(origin);
      if (!answer) return other;
      return method === 'OPTIONS' ? answer.toPreflight : answer.toRequest;
    },
    preflightHeaders: (origin) => (answers.has(origin) ? preflight : NONE),
  };
}

const VARY_ORIGIN = /(^|,)\s*(origin|\*)\s*(,|$)/i;

/**
 * The Cors above as a Yoga plugin, instead of Yoga's own, which reflects any
 * Origin with Access-Control-Allow-Credentials: true when left at its
 * default, answers an unlisted origin with `Access-Control-Allow-Origin: null`
 * (the origin of every sandboxed iframe), and never sends `*` or
 * `Vary: Origin` for a single listed origin.
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered here, in onRequest, before request hygiene (onRequestParse) would
 * refuse it for not being a GraphQL request: 204 with the allowed methods and
 * headers for an allowed origin, 204 without them otherwise.
 *
 * Request hygiene still holds for what follows a preflight: a POST must be
 * application/json, so a page on an origin that is not allowed cannot get
 * past the browser's preflight to send one.
 */
function useCors(cors: Cors): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (request.method !== 'OPTIONS') return;
      const origin = request.headers.get('origin');
      if (origin === null || !request.headers.has('access-control-request-method')) return;
      // Safari waits for a body on a 204 without Content-Length: 0.
      endResponse(new fetchAPI.Response(null, { status: 204, headers: { ...cors.preflightHeaders(origin), 'content-length': '0' } }));
    },
    // Also runs for the preflight answered above, and for refusals (a page may read a 4xx from an allowed origin).
    onResponse({ request, response }) {
      // No upstream can set access-control-* headers (config/openapi.ts gatewayOwnedHeader): these are the only ones.
      const { headers } = response;
      const answer = cors.answerHeaders(request.headers.get('origin'), request.method);
      for (const name in answer) {
        const value = answer[name]!;
        if (name !== 'vary') headers.set(name, value);
        else {
          const vary = headers.get('vary');
          if (!vary) headers.set('vary', value);
          else if (!VARY_ORIGIN.test(vary)) headers.set('vary', `${vary}, ${value}`);
        }
      }
    },
  };
}

export type GatewayYoga = YogaServerInstance<Record<string, unknown>, GatewayContext>;

export function buildYoga(options: YogaOptions): GatewayYoga {
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema: options.schema,
    graphqlEndpoint: options.graphqlPath,
    graphiql: options.graphiql ? { title: 'Tessera' } : false,
    landingPage: false,
    // Our own /healthz and /readyz answer health; Yoga's would be a second way.
    healthCheckEndpoint: '/__yoga_health_unused',
    // Unexpected errors are masked in production; TesseraErrors (GraphQLErrors with a code) pass.
    maskedErrors: { isDev: options.mode === 'development', maskError: maskGatewayError },
    batching: options.batching ? { limit: options.batching } : false,
    // Enforced by useBodyLimit (below), which counts only bodies without a Content-Length.
    maxRequestBodySize: false,
    // GraphQL multipart requests (file uploads to REST sources); CSRF prevention guards it.
    multipart: true,
    logging: false,
    // Yoga's default would answer any origin, credentials included; useCors (below) answers only those configured.
    cors: false,
    // useDocumentCache (below) instead: validation results kept by rule identity, texts bounded by size.
    parserAndValidationCache: false,
    context: ({ request }) => ({
      tessera: createScope({ deadlineMs: options.requestDeadline, signal: request.signal, headers: request.headers }),
    }),
    // useCors last: its onResponse runs after every other, so the CORS headers are its own.
    plugins: [...options.plugins, useDocumentCache(), useBodyLimit(options.bodyLimit ?? 25_000_000), ...(options.cors ? [useCors(options.cors)] : [])],
  });
}
