/**
 * The gateway's diagnostics channels (node:diagnostics_channel): their names
 * and the shape of each message, written once. The layer that knows a fact
 * publishes it (transport/, sources/, plugins/, server/); telemetry/ and the
 * gateway subscribe by name, so observing needs no import of the layer
 * observed (.dependency-cruiser.cjs, telemetry-only-observes). Every publisher
 * checks `hasSubscribers` first: an event nobody listens to costs one check.
 *
 * Neutral like request-scope.ts: types and names only, importing no layer.
 */
import type { RequestScope } from './request-scope.js';

export const EVENTS = {
  /** Each upstream attempt as it starts (UpstreamEvent, its outcome not known yet); `upstream` follows with the same object. */
  upstreamStart: 'tessera:upstream:start',
  /** Each upstream attempt or stream as it ends (UpstreamEvent): transport/stages/observe.ts. */
  upstream: 'tessera:upstream',
  /** An answer the transport saw succeed that the source found wrong (AnswerErrorEvent): sources/errors.ts. */
  answerError: 'tessera:upstream:answer-error',
  /** An instance's circuit breaker changed state (BreakerEvent): transport/breaker.ts. */
  breaker: 'tessera:breaker',
  /** An instance's active health check marked it down or up (InstanceHealthEvent): transport/health.ts. */
  instanceHealth: 'tessera:instance-health',
  /** A subgraph's adaptive concurrency limit: an attempt let in or ended, the limit changed, an attempt shed (ConcurrencyEvent): transport/stages/concurrency.ts. */
  concurrency: 'tessera:concurrency',
  /** A canary version guarded, restored, or a sticky caller moved off its version (CanaryEvent): transport/canary.ts. */
  canary: 'tessera:canary',
  /** A discovered upstream's instance set changed, or its resolution failed (DiscoveryEvent): transport/discovery.ts. */
  discovery: 'tessera:discovery',
  /** A retry skipped because the upstream's retry budget is spent (RetryBudgetEvent): transport/stages/retry.ts. */
  retryBudget: 'tessera:retry-budget',
  /** A shadow copy of a read-only call ended, or was dropped (ShadowEvent): transport/stages/shadow.ts. */
  shadow: 'tessera:shadow',
  /** A query joined an identical one in flight (DedupeEvent): plugins/use-dedupe.ts. */
  dedupe: 'tessera:dedupe',
  /** A query the response cache looked up (CacheEvent): plugins/use-response-cache.ts. */
  cache: 'tessera:cache',
  /** A request refused by a rate limit (RateLimitEvent): plugins/use-rate-limit.ts. */
  rateLimit: 'tessera:rate-limit',
  /** A GraphQL request queued for a place, started after waiting (or not), ended, dropped while waiting, or the limit changed (AdmissionEvent): server/admission.ts. */
  admission: 'tessera:admission',
  /** A request node:http refused before the gateway saw it (HttpRefusalEvent): server/http.ts. */
  httpRefusal: 'tessera:http-refusal',
  /** Each load of the unified schema, start-up and every reload attempt (SchemaEvent): gateway.ts. */
  schema: 'tessera:schema',
  /** A store command that failed, or a shared write retried or given up (StoreEvent): store/redis.ts (StoreHealth). */
  store: 'tessera:store',
  /** Followed by a subgraph's name: its upstream bodies while a sampling window is open (UpstreamBodyEvent): transport/sample.ts. */
  upstreamBodyPrefix: 'tessera:upstream-body:',
} as const;

/** One upstream attempt (or stream), published at its start and again, completed, at its end. */
export interface UpstreamEvent {
  subgraph: string;
  instance: string;
  version?: string;
  /** The HTTP method, or the gRPC method path. */
  method: string;
  /**
   * The upstream operation, for per-operation metrics: a REST operation's
   * method and path template (`GET /products/{id}`), a gRPC method path
   * (`/pkg.Service/Method`); absent for calls with no operation of their own
   * (GraphQL upstreams).
   */
  operation?: string;
  status?: number;
  code?: string;
  /** gRPC: the status name of a failed attempt (`NOT_FOUND`, `UNAVAILABLE`), from the error's `extensions.grpc.code`. */
  grpcCode?: string;
  /** When the attempt started, on the `performance.now()` clock (the gateway overhead subtracts the attempts' intervals). */
  started: number;
  durationMs: number;
  /** 0 for the first attempt of a call, then 1, 2 … for its retries. */
  attempt: number;
  /** The client request that caused the call (absent for a stream): the request log sums its calls per request. */
  scope?: RequestScope;
}

/**
 * An upstream answer the transport saw succeed (its `upstream` event says OK)
 * that the source found wrong: `graphql` when a GraphQL upstream answered with
 * `errors`, `other` when the content cannot be used (HTML or invalid JSON with
 * a 2xx status).
 */
export interface AnswerErrorEvent {
  subgraph: string;
  instance: string;
  version?: string;
  kind: 'graphql' | 'other';
}

/**
 * A store command (Redis, or the cluster primary for the workers of `tessera
 * serve`) that did not answer in time, and what was done about it. Reads and
 * counters fall back (`open`, `closed`, `miss`); a shared write (an APQ
 * document, a cache entry or invalidation, a rate-limit refund) is `retried`
 * within its budget, and `dropped` when no attempt got through.
 */
export interface StoreEvent {
  /** The Redis URL without its password, or "cluster primary". */
  store: string;
  /** What the command was for: rate-limit, rate-limit-refund, response-cache, cache-invalidation, apq, or a key-value namespace. */
  use: string;
  /**
   * open: served under a local limit; closed: refused; miss: read as absent;
   * retried: a write attempt failed and the write was tried again; dropped:
   * a write given up (not stored anywhere).
   */
  fallback: 'open' | 'closed' | 'miss' | 'retried' | 'dropped';
  error: string;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * What moved a breaker: `error-rate` (the window's failure share opened it),
 * `consecutive-failures` or `failure-rate` (outlier detection ejected the
 * instance: failures in a row, or a failure rate over the window above the
 * other instances'), `probe` (half-open to let one call through, or closed
 * after it succeeded).
 */
export type BreakerCause = 'error-rate' | 'consecutive-failures' | 'failure-rate' | 'probe';

export interface BreakerEvent {
  subgraph: string;
  instance: string;
  state: BreakerState;
  /** Why it opened (on `open` only). */
  cause?: BreakerCause;
  /** How long it stays open before its probe (on `open` only). */
  openForMs?: number;
}

/** An instance's active health check changed its verdict. */
export interface InstanceHealthEvent {
  subgraph: string;
  instance: string;
  state: 'up' | 'down';
  /** Why the last check failed (on `down`): `HTTP 503`, `ECONNREFUSED`, `NOT_SERVING`, `no answer within 1000 ms`. */
  reason?: string;
}

/**
 * The state of one subgraph's adaptive concurrency limit (descriptor
 * `adaptiveConcurrency:`), after `change`: `in-flight` (an attempt let in or ended),
 * `limit` (the limit changed; `previous` holds the old one), `shed` (an
 * attempt refused with SUBGRAPH_OVERLOADED). One object per subgraph and
 * process, updated in place: read it when it arrives, do not keep it.
 */
export interface ConcurrencyEvent {
  subgraph: string;
  change: 'in-flight' | 'limit' | 'shed';
  limit: number;
  /** On `limit`: the limit before the change. */
  previous: number;
  inFlight: number;
  /** Attempts shed since the limit was made (this process). */
  shed: number;
}

/** Which calls a canary judgement compares: idempotent calls (queries, GETs, read-only RPCs), or the others (mutations). */
export type CanaryKind = 'query' | 'mutation';

/** One version's calls of one kind over the guard's window. */
export interface CanaryMeasure {
  calls: number;
  /** Failed calls over calls (0..1): connection failures, timeouts, HTTP 5xx, gRPC statuses that say the instance is unwell. */
  errorRate: number;
  /** Over all the calls, ms; 0 when there were none. */
  p99Ms: number;
}

/**
 * `guarded`: the canary guard took the version's weight to 0 (with what it
 * measured against the stable version); `restored`: its weights are back
 * (`by`: admin API, CLI, or what else asked); `fallback`: a sticky caller's
 * version had no instance available and the call went to version `to`.
 */
export interface CanaryEvent {
  /** Which gateway of the process (its id, as in `tessera:schema`): tests and embedders run several; absent for an upstream built outside a gateway. */
  gateway?: string;
  subgraph: string;
  version: string;
  action: 'guarded' | 'restored' | 'fallback';
  /** guarded: the kind of calls that tripped it, and on what. */
  kind?: CanaryKind;
  reason?: 'error-rate' | 'p99';
  measured?: CanaryMeasure;
  stable?: CanaryMeasure & { version: string };
  /** restored: who asked; guarded: `shared store` when another gateway process decided it (read from gateway.yaml's `store:`). */
  by?: string;
  /** fallback: the version the call went to instead. */
  to?: string;
}

/**
 * One resolution of a subgraph's discovered upstreams (`upstreams[].discovery`)
 * that changed its instance set (`added`/`removed` not both empty), or that
 * failed (`error`: the last known set stays).
 */
export interface DiscoveryEvent {
  subgraph: string;
  /** The name resolved (`catalog.shop.svc.cluster.local`, `_http._tcp.catalog...`). */
  name: string;
  /** Instance URLs that appeared (they get traffic after their first passed health check, when `health:` is set). */
  added: string[];
  /** Instance URLs that vanished: no new calls; their calls in flight finish, then their connections close. */
  removed: string[];
  /** Every instance of the subgraph after this resolution, static ones included; each weight its entry's share (rounded to 2 decimals). */
  instances: Array<{ url: string; version?: string; weight: number }>;
  /** Why the resolution failed (ENOTFOUND, ETIMEOUT…); absent when it succeeded. */
  error?: string;
}

export interface RetryBudgetEvent {
  subgraph: string;
}

/**
 * What became of one shadow copy: `match` (its answer equals the primary's,
 * ignored paths aside), `mismatch`, `dropped` (not sent: the shadow
 * concurrency bound was full), `failed` (no answer: connection refused,
 * reset, too large), `timeout` (no answer within `shadow.timeout`).
 */
export type ShadowOutcome = 'match' | 'mismatch' | 'dropped' | 'failed' | 'timeout';

export interface ShadowEvent {
  subgraph: string;
  /** The shadow target's version label (`shadow.version`, or `shadow` for a `url` without one). */
  version: string;
  /** The version of the instance that answered the client (undefined when it has none). */
  primaryVersion: string | undefined;
  /** What was called: a REST operation's method and path template, a gRPC method path, or the HTTP method (GraphQL). */
  operation: string;
  outcome: ShadowOutcome;
  /** The shadow call's duration, ms (absent when dropped). */
  durationMs?: number;
  /** failed, timeout: the catalog code of the shadow's failure. */
  code?: string;
  /**
   * mismatch, when this one is sampled for the log (`shadow.logPerMinute`):
   * the first path that differs and a short excerpt of each side (at most
   * 200 characters, secret fields redacted), and the mismatches not sampled
   * since the last sampled one.
   */
  diff?: { path: string; primary: string; shadow: string; suppressed: number };
}

export interface DedupeEvent {
  channel: string;
  operationName?: string | null;
}

export interface CacheEvent {
  channel: string;
  result: 'hit' | 'miss';
}

export interface RateLimitEvent {
  channel: string;
  /** The rule's name, or `__subscriptions` / `__store_unavailable` for the refusals that are no named rule. */
  rule: string;
}

/** server.admission: a request queued (no place for it yet), started (`waitedMs` in the queue, often 0) or ended, a waiting one dropped (its client left), or the limit changed. */
export interface AdmissionEvent {
  change: 'queued' | 'started' | 'ended' | 'dropped' | 'limit';
  /** Requests allowed at once (Infinity: no limit). */
  limit: number;
  /** On `limit`: the limit before. */
  previous?: number;
  active: number;
  queued: number;
  waitedMs: number;
}

/** `clientError`: a header block over server.maxHeaderSize, a request past its timeout, bytes that are not HTTP. */
export interface HttpRefusalEvent {
  reason: 'headers_too_large' | 'request_timeout' | 'bad_request';
  status: 400 | 408 | 431;
}

/** One attempt's bodies, as the attempt saw them (not truncated, not redacted: the subscriber does both). */
export interface UpstreamBodyEvent {
  subgraph: string;
  instance: string;
  /** The HTTP method, or the gRPC method path. */
  method: string;
  /** HTTP: path and query sent. */
  path?: string;
  /** HTTP headers or gRPC metadata sent. */
  requestHeaders?: Readonly<Record<string, unknown>>;
  /** HTTP: the bytes sent; gRPC: the request message before encoding. */
  requestBody?: unknown;
  /** HTTP status, when an answer came. */
  status?: number;
  responseHeaders?: Readonly<Record<string, unknown>>;
  /** HTTP: the bytes received; gRPC: the decoded response message. */
  responseBody?: unknown;
  /** The catalog code of a failed attempt. */
  code?: string;
}

/** What started a load: the gateway starting, the folder watch, SIGHUP, POST /admin/reload or gateway.reload(). */
export type ReloadTrigger = 'start' | 'watch' | 'signal' | 'admin' | 'api';

/** One schema load attempt, as published on `tessera:schema`. */
export interface SchemaEvent {
  /** Which gateway of the process loaded (tests and embedders run several): a random id per createGateway. */
  gateway: string;
  /** loaded: a new version serves; unchanged: no descriptor changed, nothing swapped; failed: the running version stays. */
  result: 'loaded' | 'unchanged' | 'failed';
  /** The version serving after the attempt (after a failure: the one still running); undefined when start-up failed. */
  version: string | undefined;
  /** Time from the start of the attempt to its outcome. */
  durationMs: number;
  trigger: ReloadTrigger;
  /** When the attempt ended (ISO 8601). */
  at: string;
  /** failed: every problem, each with its file and path (what `tessera check` prints). */
  problems?: string[];
  /** failed: the problems in one line. */
  error?: string;
  /** loaded: subgraph names by what happened to them. */
  subgraphs?: { added: string[]; changed: string[]; removed: string[] };
}
