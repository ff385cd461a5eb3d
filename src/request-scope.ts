/**
 * What one client request carries down to every upstream call it causes:
 * the deadline, the abort signal (client gone or deadline hit) and the client's
 * headers for forwarding. Created once per request by the server; sources read
 * it from the GraphQL context (`context.tessera`).
 *
 * It lives at the top of src/, outside every layer, because every layer needs
 * it: server/ creates it, plugins/ read the identity on it, sources/ and
 * transport/ follow its deadline and signal. It imports nothing.
 */
export interface RequestScope {
  /**
   * Epoch milliseconds after which no upstream call may still be running:
   * every call's timeout is capped by what is left of it, so the request
   * ends by then without a timer of its own.
   */
  deadline: number;
  /**
   * The request's id: the client's `x-request-id` when it is safe to log
   * (plugins/use-request-account.ts), else one generated; on every log line of
   * the request and echoed in the response.
   */
  requestId?: string;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
  /** The client's request headers (lower-case names). */
  headers: Headers;
  /**
   * Per-request memo for loaders (DataLoader instances keyed by source and
   * call), and `RESPONSE_HEADERS_KEY`.
   */
  memo: Map<string, unknown>;
  /**
   * How the last operation of this request runs (execution/router.ts), set
   * before it runs: `direct` (sent to one subgraph as written), `planned`
   * (the query planner) or `stitched`, with the reason.
   */
  route?: { route: 'direct' | 'planned' | 'stitched'; reason: string };
  /** Who is calling, set by authentication; absent for an anonymous request. */
  identity?: Identity;
  /**
   * The account of the request this scope serves (plugins/use-request-account.ts),
   * an HTTP request or an operation over WebSocket; absent for calls made
   * outside one (introspection at start-up).
   */
  account?: RequestAccount;
  /**
   * The request's trace (telemetry/tracing.ts), set when telemetry.tracing is
   * on; absent otherwise, and then every layer skips tracing with one check.
   */
  trace?: RequestTrace;
  /**
   * Calls `abort` with the signal's reason when the request is aborted (at
   * once if it already is), until `offAbort(abort)`. The way an upstream call
   * follows the client: one listener on the signal per request however many
   * calls it makes, where a listener per call costs two EventTarget
   * operations on the server's proxied signal (about 2% of a proxied
   * request's CPU in bench/).
   */
  onAbort(abort: (reason: unknown) => void): void;
  offAbort(abort: (reason: unknown) => void): void;
}

/** One upstream attempt of a request, as the request's observers read it (the transport's observe stage adds it). */
export interface AttemptRecord {
  readonly subgraph: string;
  /** performance.now() when it started. */
  readonly started: number;
  durationMs: number;
  /** The HTTP status, when it got one. */
  status?: number;
  /** The gateway error code of a failed attempt. */
  code?: string;
}

/**
 * What one HTTP request to a GraphQL path did, from its arrival to its
 * response, kept once for all who read it when it ends: the request log
 * line, the metrics, the status page (plugins/use-request-account.ts).
 */
/** When a request arrived (performance.now()) and how long it waited for a place before any work was done on it (server.admission), in ms. */
export interface Arrival {
  at: number;
  waitedMs: number;
}

export interface RequestAccount {
  /** The request id (echoed as `x-request-id`). */
  readonly id: string;
  /** performance.now() when the request arrived. */
  readonly started: number;
  /** The operations it executed, by name (undefined: anonymous); a batch executes several. */
  readonly operations: Array<string | undefined>;
  /** The `extensions.code` values of its answers' errors, each once, first seen first. */
  readonly codes: string[];
  /** Whether any of its answers had errors (with or without a code). */
  errored: boolean;
  /** Its upstream attempts, in the order they ended; absent when nobody reads them (no request log, no metrics). */
  readonly attempts?: AttemptRecord[];
}

/**
 * Reads a request's account when its response is ready (telemetry/metrics.ts,
 * telemetry/status.ts): one per channel, called by the request's account plugin
 * in the order given.
 */
export interface RequestObserver {
  /** Whether it reads `attempts` (they are then recorded for every request). */
  readonly readsAttempts: boolean;
  /** `route`: how the request's last operation ran (RequestScope.route), absent when none ran. */
  ended(account: RequestAccount, route: 'direct' | 'planned' | 'stitched' | undefined, status: number, now: number): void;
}

/** The authenticated caller (rate limits meter it; private cache entries belong to it). */
export interface Identity {
  /** The JWT `sub`, or the owner of an API key. */
  subject: string;
  scopes: readonly string[];
  /** The key that proved it (JWT `kid`, API key id). */
  keyId?: string;
  /** How the caller authenticated ("jwt", "apiKey"). */
  kind: string;
  /** JWT: the issuer that vouched for it. */
  issuer?: string;
  /** JWT: the verified claims (for identity headers such as `claim:tenant`). */
  claims?: Readonly<Record<string, unknown>>;
}

/** Span attribute values (OpenTelemetry's: undefined ones are left out). */
export type TraceAttributes = Record<string, string | number | boolean | undefined>;

/** One span of the request's trace, open until `end`. */
export interface TraceSpan {
  /** Ends the span with more attributes; an error code sets its status to ERROR. */
  end(attributes?: TraceAttributes, errorCode?: string): void;
}

/** The CLIENT span of one upstream attempt (or stream), with what carries it to the upstream. */
export interface UpstreamSpan extends TraceSpan {
  /** W3C `traceparent` (and `tracestate` when there is one) naming this span as the parent: sent as HTTP headers or gRPC metadata. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The trace of one client request: its spans are children of the request's SERVER span. */
export interface RequestTrace {
  /** A step of the request (parse, validate, route). */
  span(name: string, attributes?: TraceAttributes): TraceSpan;
  /**
   * An upstream attempt or stream: `name` as OpenTelemetry names client spans (`GET /products/{id}`,
   * `pkg.Service/Method`); `instance` the attributes of the instance called (one object per instance, shared
   * by its spans), `attributes` those of the call, `attempt` its number (`tessera.attempt`, 0 first). The
   * objects are kept as given, not copied: neither may change afterwards.
   */
  startUpstream(name: string, instance: TraceAttributes, attributes: TraceAttributes, attempt: number): UpstreamSpan;
}

/**
 * The memo key under which sources collect upstream response headers meant
 * for the client (a Headers object; `Set-Cookie` only from sources allowed to
 * pass it on). plugins/use-upstream-response-headers.ts copies them onto the
 * client's response.
 */
export const RESPONSE_HEADERS_KEY = 'tessera:responseHeaders';

class Scope implements RequestScope {
  readonly memo = new Map<string, unknown>();
  identity?: Identity;
  requestId?: string;
  account?: RequestAccount;
  /** What follows the signal; created with the first onAbort(), with the one listener. */
  private aborts?: Set<(reason: unknown) => void>;
  /** Set when the signal aborts, so later calls need not ask the signal. */
  private aborted?: { reason: unknown };

  constructor(
    public deadline: number,
    readonly signal: AbortSignal,
    readonly headers: Headers,
  ) {}

  onAbort(abort: (reason: unknown) => void): void {
    if (this.aborted) return abort(this.aborted.reason);
    let aborts = this.aborts;
    if (!aborts) {
      const { signal } = this;
      if (signal.aborted) {
        this.aborted = { reason: signal.reason };
        return abort(signal.reason);
      }
      const all = (aborts = this.aborts = new Set());
      const fire = (): void => {
        this.aborted = { reason: signal.reason };
        for (const each of all) each(signal.reason);
        all.clear();
      };
      signal.addEventListener('abort', fire, { once: true });
    }
    aborts.add(abort);
  }

  offAbort(abort: (reason: unknown) => void): void {
    this.aborts?.delete(abort);
  }
}

export function createScope(options: { deadlineMs: number; signal?: AbortSignal; headers?: Headers; account?: RequestAccount }): RequestScope {
  // No per-request timer or AbortSignal.any here: both cost a measurable share
  // of a proxied request (profiled), and the deadline is enforced per call.
  const scope = new Scope(
    Date.now() + options.deadlineMs,
    // Calls made outside a client request (introspection at start-up) get a signal of their own: one
    // shared by all would hold an abort listener per concurrent call (Node warns past 10).
    options.signal ?? new AbortController().signal,
    options.headers ?? new Headers(),
  );
  if (options.account) {
    scope.account = options.account;
    scope.requestId = options.account.id;
  }
  return scope;
}

/** The scope of a GraphQL context, or a fresh one (for calls made outside a client request, such as introspection). */
export function scopeOf(context: unknown, fallbackDeadlineMs = 10_000): RequestScope {
  const scope = (context as { tessera?: RequestScope } | undefined)?.tessera;
  if (scope) return scope;
  return createScope({ deadlineMs: fallbackDeadlineMs });
}
