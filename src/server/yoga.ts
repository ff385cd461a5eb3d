/**
 * One Yoga instance per channel, built once at start over the composed
 * schema: its plugin chain and document cache are made once, not per request.
 */
import { createYoga, maskError, type GraphiQLOptions, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Mode } from '../sources/types.js';
import { createScope, type RequestObserver, type RequestScope } from '../request-scope.js';
import { useDocumentCache } from '../plugins/use-document-cache.js';
import { requestAccount, useRequestAccount, type RequestLog } from '../plugins/use-request-account.js';
import { useCors, type Cors } from './cors.js';
import { graphiqlPage, useEndpointHelp, useGraphiqlAssets, type GraphiqlAssets } from './graphiql.js';
import { useRequestParams } from './request-params.js';
import { arrivalOf } from './admission.js';
import type { IncomingMessage } from 'node:http';

export interface GatewayContext {
  tessera: RequestScope;
}

export interface YogaOptions {
  schema: GraphQLSchema;
  mode: Mode;
  graphqlPath: string;
  /** GraphiQL on this path, served from the gateway's own copy of its files (loadGraphiqlAssets), or false: off. */
  graphiql: false | { assets: GraphiqlAssets; defaultQuery?: string };
  /** The gateway.yaml key that turns GraphiQL on here, named on the page a browser gets when it is off; default `graphiql`. */
  graphiqlKey?: string;
  requestDeadline: number;
  plugins: Plugin[];
  /** Largest request body, bytes (server.bodyLimit); Yoga's own default (25 MB) when not given. */
  bodyLimit?: number;
  /** Most operations in one batched (array) request; 0 or absent: batching off (an array gets 400). More gets 413. */
  batching?: number;
  /** Browsers on other origins (security.cors, per channel, see createCors); absent: no CORS headers at all. */
  cors?: Cors;
  /** Where the request log line goes (plugins/use-request-account.ts); absent (logging.requests: false): no line, the request id still echoed. */
  requestLog?: RequestLog;
  /** Who reads each request's account when its response is ready (metrics, the status page). */
  observers?: readonly RequestObserver[];
}

/**
 * graphql-js reports data that breaks the schema (a null for a non-null
 * field, "Int cannot represent ...", 'Enum "Kind" cannot represent ...') as plain Errors, which the default mask
 * would turn into "Unexpected error". Their text names only schema elements,
 * and it tells the client which subgraph field is broken, so it is kept, with
 * its own code.
 */
const RESULT_COERCION = /^(Cannot return null for non-nullable field|\w+ cannot represent|Enum "\w+" cannot represent)/;

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

export type GatewayYoga = YogaServerInstance<Record<string, unknown>, GatewayContext>;

export function buildYoga(options: YogaOptions): GatewayYoga {
  const { graphiql } = options;
  return createYoga<Record<string, unknown>, GatewayContext>({
    schema: options.schema,
    graphqlEndpoint: options.graphqlPath,
    graphiql: graphiql ? { title: 'Tessera', ...(graphiql.defaultQuery !== undefined && { defaultQuery: graphiql.defaultQuery }) } : false,
    // Yoga's own page loads GraphiQL from a CDN; this one from the gateway (see graphiql.ts).
    ...(graphiql && { renderGraphiQL: (opts?: GraphiQLOptions) => graphiqlPage(graphiql.assets, opts) }),
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
    // The deadline counts from the request's arrival (its account's start): a wait for a place under
    // server.admission (server/admission.ts) leaves that much less of it.
    context: ({ request }) => {
      const account = requestAccount(request);
      const deadlineMs = Math.max(1, options.requestDeadline - (performance.now() - account.started));
      return { tessera: createScope({ deadlineMs, signal: request.signal, headers: request.headers, account }) };
    },
    // useRequestParams before the policy plugins: malformed GET parameters and multipart fields are 400
    // (request-params.ts), and later plugins wrap its parsers. useCors last: its onResponse runs after every other,
    // so the CORS headers are its own.
    plugins: [
      // First: its onRequest starts the clock and reads the id; its onResponse echoes the id on every answer.
      useRequestAccount({ log: options.requestLog, observers: options.observers, arrivalOf: (serverContext) => arrivalOf((serverContext as { req?: IncomingMessage }).req) }),
      // Then: an asset or the help page is answered before any GraphQL policy runs (they are not GraphQL requests).
      ...(graphiql ? [useGraphiqlAssets(graphiql.assets)] : []),
      useEndpointHelp({ graphiql: Boolean(graphiql), path: options.graphqlPath, configKey: options.graphiqlKey ?? 'graphiql' }),
      useRequestParams(),
      ...options.plugins,
      useDocumentCache(),
      useBodyLimit(options.bodyLimit ?? 25_000_000),
      ...(options.cors ? [useCors(options.cors)] : []),
    ],
  });
}
