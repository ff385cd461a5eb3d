/**
 * The error catalog: every error Tessera raises on purpose has a code here, with
 * the HTTP status it implies (when it decides the outcome of a whole request) and
 * the `extensions.code` clients see. The README's Errors table lists them for
 * the person on call (`npm run docs:errors` writes it from here);
 * test/unit/errors.test.ts checks the two stay in step.
 */
import { GraphQLError, type ASTNode } from 'graphql';

export interface ErrorSpec {
  /** HTTP status when this error decides the whole response. */
  status: number;
  /** One line for the person on call: what happened and what to look at. */
  summary: string;
}

export const ERRORS = {
  // configuration and start-up: these stop the gateway before it listens
  CONFIG_INVALID: { status: 500, summary: 'A gateway or descriptor file does not match its schema.' },
  CONFIG_FILE_NOT_FOUND: { status: 500, summary: 'A file named by the configuration does not exist.' },
  CONFIG_PARSE_ERROR: { status: 500, summary: 'A YAML or JSON file could not be parsed, or (tessera check --operations) a client operation file or manifest entry.' },
  CONFIG_ENV_MISSING: { status: 500, summary: 'A ${VAR} in a config file names an unset environment variable.' },
  DUPLICATE_SUBGRAPH: { status: 500, summary: 'Two descriptors use the same subgraph name.' },
  SOURCE_LOAD_FAILED: { status: 500, summary: 'A subgraph schema could not be loaded (file, URL or introspection).' },
  COMPOSE_CONFLICT: { status: 500, summary: 'Two subgraphs define the same type or field differently.' },
  COMPOSE_FAILED: { status: 500, summary: 'The subgraph schemas could not be stitched into one graph.' },
  LISTEN_FAILED: { status: 500, summary: 'The gateway (or a demo service) could not listen: the address is in use by another process, the port needs privileges, or the host is not an address of this machine; the message names the address and the setting or flag that changes it.' },
  CHECK_AGAINST_UNAVAILABLE: { status: 500, summary: 'tessera check could not read the schemas that run: the --against gateway did not answer, refused introspection (the message says how to allow it or what to compare with instead), or the snapshot folder has no unified.graphql or an invalid snapshot.' },
  UPSTREAM_NOT_ALLOWED: { status: 500, summary: 'A descriptor URL (upstream or source) names a host outside security.upstreams.allow, or a link-local, metadata or unspecified address.' },

  // request-level
  BAD_REQUEST: { status: 400, summary: 'The HTTP request is not a valid GraphQL-over-HTTP request: malformed JSON in the body, in a GET parameter (variables, extensions) or a multipart field (operations, map), or a GET parameter given twice; the message names it.' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'The request body is larger than server.bodyLimit.' },
  NOT_FOUND: { status: 404, summary: 'No endpoint at this path.' },
  NOT_ACCEPTABLE: { status: 406, summary: 'A request whose Accept header allows neither application/graphql-response+json nor application/json (a browser where GraphiQL is off gets a short HTML page instead); the message says where GraphQL is served and which key turns GraphiQL on.' },
  SHUTTING_DOWN: { status: 503, summary: 'The gateway is draining and takes no new requests.' },
  NO_SCHEMA_YET: { status: 503, summary: 'The gateway started on an empty Redis registry and no descriptor folder seeds it: nothing to serve until the first `tessera publish` (then served within a second); /readyz is 503 meanwhile.' },
  DEADLINE_EXCEEDED: { status: 504, summary: 'The request ran past server.requestDeadline.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'A POST body that is neither application/json nor a multipart upload: a form, text/plain, application/graphql.' },
  ORIGIN_NOT_ALLOWED: { status: 403, summary: 'A WebSocket upgrade from a browser page whose origin is neither the gateway\'s own nor one the channel\'s CORS policy (security.cors, channels.<name>.cors) allows; the message names the origin and the key.' },
  CSRF_HEADER_MISSING: { status: 403, summary: 'A multipart upload (or a GET request, on a channel with csrf.requireHeader) carried none of the CSRF headers, so a browser could have sent it cross-site.' },
  HEADERS_TOO_LARGE: { status: 431, summary: 'More request headers than server.maxHeaders (a larger header block than server.maxHeaderSize is refused by Node with 431 too).' },
  UNAUTHENTICATED: { status: 401, summary: 'Credentials missing where the channel refuses anonymous callers, or invalid (bad signature, expired, wrong issuer or audience, unknown API key); WWW-Authenticate says which.' },
  FORBIDDEN: { status: 403, summary: 'The caller lacks the scopes a field or type needs: that field is null with this error (partial), or the whole operation is refused (onForbidden: reject).' },
  AUTH_PROVIDER_UNAVAILABLE: { status: 503, summary: 'The JWKS of a JWT provider could not be fetched and no keys are cached, so no token can be checked.' },
  PERSISTED_QUERY_NOT_FOUND: { status: 200, summary: 'The persisted-operation id is in neither the manifest nor the APQ store; an APQ client then sends the document (message "PersistedQueryNotFound", as Apollo clients expect).' },
  PERSISTED_QUERY_ONLY: { status: 400, summary: 'The channel runs only documents from its persisted-operation manifest, and this one is not in it.' },
  PERSISTED_QUERY_HASH_MISMATCH: { status: 400, summary: 'An APQ registration whose document does not hash (SHA-256) to the id it was sent with.' },
  MAX_TOKENS: { status: 400, summary: 'The document has more lexical tokens than limits.maxTokens; refused while parsing.' },
  MAX_DEPTH: { status: 400, summary: 'The selection is deeper than limits.maxDepth (or brackets nest deeper than limits.maxNesting, checked before parsing).' },
  MAX_ALIASES: { status: 400, summary: 'The operation uses more aliases than limits.maxAliases.' },
  MAX_DIRECTIVES: { status: 400, summary: 'The operation uses more directives than limits.maxDirectives.' },
  MAX_ROOT_FIELDS: { status: 400, summary: 'The operation selects more top-level fields than limits.maxRootFields.' },
  COST_ESTIMATED_TOO_EXPENSIVE: { status: 400, summary: 'The estimated cost (list sizes from size arguments such as first, limit or per_page, the source\'s default page size, or limits.cost.listSize) is over limits.cost.max; no subgraph was called.' },
  RATE_LIMITED: { status: 429, summary: 'A rateLimit rule is exhausted for this caller (queries, mutations and subscriptions; Retry-After and RateLimit-* say when to come back), or the caller already holds the open subscriptions rateLimit.subscriptions allows (the message names the limit and its key); a subscription refused over WebSocket gets an error message for its id.' },
  RATE_LIMIT_STORE_UNAVAILABLE: { status: 503, summary: 'The rate-limit store (Redis) did not answer within its timeout and rateLimit.onStoreError is "closed".' },
  BAD_USER_INPUT: { status: 400, summary: 'An argument the gateway will not send upstream: a REST path parameter that makes a path segment ".", ".." or empty, in any percent-encoding (the upstream would serve another path); that field is null with this error and no upstream call is made.' },
  OPERATION_NOT_PLANNABLE: { status: 400, summary: 'The query planner declines the operation (execution.planner: false, or a directive other than @skip/@include it does not forward; the message gives its reason), and it selects a federation field only the planner answers as federation specifies: one moved by a progressive @override(label: "percent(n)") with 0 < n < 100, or one of an @interfaceObject subgraph. Refused, located at that field, rather than answered differently from Apollo Gateway; no subgraph is called. On a channel that renames types or fields, the message names them as the channel does.' },
  SCHEMA_RELOADED: { status: 200, summary: 'A subscription opened before a hot reload ran registry.subscriptionGrace past it on the replaced schema version: this error is its last event, then it completes; subscribe again to continue on the new version.' },
  SUBGRAPH_OVERLOADED: { status: 503, summary: "A subgraph's adaptive concurrency limit (its descriptor's adaptiveConcurrency:) was full: the call was not sent, nor queued; that subgraph's fields are null with this error at their path (extensions.limit: the limit then), the other fields resolve. The limit shrinks while the subgraph answers slower than adaptiveConcurrency.latency and grows back when it is fast again." },
  SUBGRAPH_RATE_LIMITED: { status: 200, summary: 'A rateLimit.subgraphs limit is exhausted: the fields from that subgraph are null with this error; the other fields resolve.' },

  // upstream (field-level: the other fields still resolve)
  SOURCE_UNAVAILABLE: { status: 502, summary: 'The subgraph could not be reached (refused, reset, DNS, breaker open).' },
  GATEWAY_TIMEOUT: { status: 504, summary: 'The subgraph did not answer within its timeout or the remaining deadline.' },
  SOURCE_BAD_RESPONSE: { status: 502, summary: 'The subgraph answered with something that is not a GraphQL response (status, content type, JSON).' },
  SOURCE_RESPONSE_TOO_LARGE: { status: 502, summary: 'The subgraph response exceeded its size limit.' },
  RESPONSE_VALIDATION_FAILED: { status: 502, summary: "A subgraph's data does not match its schema (null for a non-null field, a value of the wrong type)." },
  SUBGRAPH_ERROR: { status: 200, summary: 'The subgraph returned a GraphQL error (message masked in production).' },
  SOURCE_HTTP_ERROR: { status: 502, summary: 'A REST subgraph answered with a non-2xx status; extensions.upstream.status holds it (it never becomes the gateway\'s own status).' },
  SOURCE_RESPONSE_INVALID: { status: 502, summary: 'A REST subgraph answered 2xx with content its OpenAPI document does not allow (not JSON, invalid JSON, a required property missing).' },
  REQUEST_ABORTED: { status: 499, summary: 'The client went away; upstream calls were cancelled.' },
  GRPC_STATUS: { status: 200, summary: 'A gRPC subgraph answered with a non-OK status; extensions.grpc.code names it (message masked in production).' },
  GRPC_BAD_INPUT: { status: 200, summary: 'Arguments for a gRPC method cannot be encoded (two members of one oneof, an unknown Any type, a malformed value).' },

  INTERNAL: { status: 500, summary: 'A bug in Tessera: the message was masked; see the logs.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * An error Tessera raises on purpose. It is a GraphQLError so the server's mask
 * lets it through (its message is written for clients), and so it can carry a
 * path when it is raised for one field.
 */
export class TesseraError extends GraphQLError {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { extensions?: Record<string, unknown>; cause?: unknown; nodes?: ReadonlyArray<ASTNode>; path?: ReadonlyArray<string | number> } = {},
  ) {
    const status = ERRORS[code].status;
    // The cause is kept for logs only: as `originalError` it would make the
    // server mask this error, whose message is written for clients.
    super(message, { nodes: options.nodes, path: options.path, extensions: { code, ...options.extensions } });
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
    this.name = 'TesseraError';
    this.code = code;
    this.status = status;
  }
}

/** True for any Tessera error, even one from a second copy of this module. */
/**
 * The body of an error answer the gateway writes itself, outside Yoga (node:http's refusals, WebSocket
 * upgrades, download links): GraphQL over HTTP's error shape with the catalog code.
 */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

export function isTesseraError(error: unknown): error is TesseraError {
  return error instanceof Error && error.name === 'TesseraError' && typeof (error as TesseraError).code === 'string';
}

/**
 * A configuration problem. `where` names the file and the path inside it
 * (`gateway.yaml: server.port`), so the message can be acted on without a stack.
 */
export class ConfigError extends Error {
  readonly code: ErrorCode;
  /** Every problem found, one line each; start-up reports all of them at once. */
  readonly problems: string[];

  constructor(code: ErrorCode, problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.code = code;
    this.problems = problems;
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === 'ConfigError' && Array.isArray((error as ConfigError).problems);
}

/** Why a listener could not bind, by Node's error code: the ones an operator fixes by choosing another address. */
const LISTEN_REASONS: Record<string, { reason: string; knob: 'port' | 'host' }> = {
  EADDRINUSE: { reason: 'the address is already in use (another process listens on it)', knob: 'port' },
  EACCES: { reason: 'permission denied (ports below 1024 need privileges)', knob: 'port' },
  EADDRNOTAVAIL: { reason: 'no network interface of this machine has that address', knob: 'host' },
};

/**
 * A listen() failure the operator can fix, as a configuration problem
 * (LISTEN_FAILED): the address and what to change, in the words of the
 * caller that knows its settings (`tessera serve`: --port or server.port;
 * `npm start`: an environment variable). Any other error is returned as is.
 */
export function listenError(error: unknown, change: { port: string; host: string }): unknown {
  const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const known = code ? LISTEN_REASONS[code] : undefined;
  if (!known || address === undefined) return error;
  const where = `${address.includes(':') ? `[${address}]` : address}${port === undefined ? '' : `:${port}`}`;
  return new ConfigError('LISTEN_FAILED', [`cannot listen on ${where}: ${known.reason}; ${change[known.knob]}`]);
}

/**
 * A request error graphql-js would give (no operation, bad variables), with
 * its message and locations as they are: 400 for
 * application/graphql-response+json, 200 for application/json, as the
 * GraphQL-over-HTTP spec says; Yoga reads `extensions.http` to decide.
 */
export function requestError(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, http: { status: 400, spec: true } } });
}

/**
 * Runs `make` with V8's stack capture off, for errors made in bulk whose
 * stacks nobody reads: the copies Yoga's result processor makes of every
 * error of an answer as it writes it (each copy of an error's original
 * captures a stack, which the copy of the error then formats), and errors
 * moved to the client's paths. With a 500-item list whose entity subgraph is
 * dead (an error per item, each with the failed call as its original),
 * capturing and formatting those stacks was most of what the request cost
 * (docs/reliability.md row 87). An error made with an `originalError` takes
 * that error's stack, but the Error constructor it calls has captured one
already, which is what the limit saves. Synchronous only: the limit is V8's,
 * for the whole process, and is restored before anything else runs.
 */
export function withoutStackTraces<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
