/**
 * One HTTP upstream (all instances of one subgraph): an undici Pool per
 * instance with keep-alive and explicit limits, and the upstream-call
 * pipeline (pipeline.ts: memo, shared cache, retries, weighted choice,
 * breakers, events, deadline) in front of the attempt written here. Every
 * failure leaves here as a TesseraError with a catalog code and the
 * subgraph's name, never as a raw socket error.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { TesseraError } from '../errors.js';
import type { BreakerOptions, OutlierOptions } from './breaker.js';
import type { BalanceStrategy } from './balancer.js';
import type { CanaryBoard, CanaryOptions } from './canary.js';
import type { HealthOptions } from './health.js';
import type { DiscoveryOptions, UpstreamEntry } from './discovery.js';
import { UpstreamMembers, type DrainableMember } from './members.js';
import type { Instance, Protocol, SpanOutcome, SpanShape, UpstreamCall } from './call.js';
import { HttpCache, type HttpCacheOptions } from './http-cache.js';
import type { ConcurrencyOptions } from './concurrency.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { backoffDelay, retryAfterMs } from './retry.js';
import type { RequestScope, UpstreamSpan } from '../request-scope.js';
import { recordFailure } from './stages/breaker.js';
import { instanceAttributes } from './stages/trace.js';
import { httpCacheStage } from './stages/http-cache.js';
import { shadowOptions, shadowStage, shadowVersion, type ShadowSettings } from './stages/shadow.js';
import type { ShadowView } from './shadow-diff.js';
import { upstreamBodyChannel, type UpstreamBodyEvent } from './sample.js';
import type { Channel } from 'node:diagnostics_channel';
import type { UpstreamTlsMaterial } from './upstream-tls.js';

export type { Instance } from './call.js';

export interface HttpUpstreamOptions {
  subgraph: string;
  /** The descriptor's upstream entries: instances, or names to resolve (`discovery`). */
  instances: UpstreamEntry[];
  /** How entries with `discovery` are resolved (default: every 30 s, 2 s timeout, the system's DNS servers). */
  discovery?: DiscoveryOptions;
  /** Total time for one attempt, ms (capped by the remaining deadline). */
  timeout: number;
  connectTimeout: number;
  maxResponseSize: number;
  connections: number;
  retry: { attempts: number; backoff: number };
  /** Circuit breaker per instance; false turns it off. */
  breaker?: BreakerOptions | false;
  /** Passive outlier detection (consecutive failures eject an instance); false turns it off; absent: the defaults. */
  outliers?: OutlierOptions | false;
  /** Active health checks per instance: a GET of `path`, or with `graphql` (and no path) the query `{ __typename }`. */
  health?: HealthOptions & { graphql?: boolean };
  /** How each attempt's instance is chosen (default round-robin). */
  balance?: BalanceStrategy;
  /** The subgraph's adaptive concurrency limit (concurrency.ts); off when absent. */
  adaptiveConcurrency?: ConcurrencyOptions;
  /** Sticky canaries and the canary guard across the instances' versions (canary.ts); off when absent. */
  canary?: { options: CanaryOptions; board?: CanaryBoard | undefined } | undefined;
  /** Shared HTTP cache for GETs (Cache-Control, ETag); off when absent. */
  httpCache?: HttpCacheOptions;
  keepAliveTimeout?: number;
  /** For https:// instances: CA to trust, client certificate (mTLS), server name (see upstream-tls.ts). */
  tls?: UpstreamTlsMaterial;
  /**
   * Shadow traffic (stages/shadow.ts); with `graphql`, answers compare as
   * GraphQL responses (`data`, and each error's `extensions.code` and path).
   */
  shadow?: ShadowSettings & { graphql?: boolean };
}

export interface HttpCall {
  method: string;
  /** Path and query, appended to the instance URL's own path. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Safe to send twice (queries, GET). Only idempotent calls are retried. */
  idempotent: boolean;
  /** Identical calls of one request with this key share one answer (an idempotent call only; see stages/memo.ts). */
  memoKey?: string;
  /**
   * The REST operation it performs, method and path template (`GET /products/{id}`), for per-operation metrics
   * and span names; absent for GraphQL upstreams (the method alone names the span, unless the path is empty).
   */
  endpoint?: string;
  scope: RequestScope;
}

/** A response whose body is read as it arrives (event streams). */
export interface HttpStream {
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer>;
  instance: Instance;
  /** Ends the call (and the upstream request) early. */
  cancel(): void;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  instance: Instance;
}

export { upstreamChannel, type UpstreamEvent } from './stages/observe.js';
export { breakerChannel, type BreakerEvent } from './breaker.js';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Socket failures that happen before any byte of an answer: refused, reset, closed, unreachable, not resolved. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The failures of attempts that got no byte of an answer (Protocol.unanswered). */
const unansweredFailures = new WeakSet<TesseraError>();

/** GraphQL's health check: the cheapest query every GraphQL server answers. */
const TYPENAME_QUERY = JSON.stringify({ query: '{ __typename }' });

interface Member extends DrainableMember {
  pool: Pool;
  basePath: string;
}

/** An HttpCall in the pipeline (call.ts): every field present, so that each call has the same shape. */
interface PipelineCall extends UpstreamCall<Member> {
  readonly method: string;
  readonly path: string;
  headers: Record<string, string> | undefined;
  readonly body: string | Buffer | undefined;
}

/**
 * One response read whole into a Buffer, straight from undici's dispatcher:
 * `pool.request()` would add a Readable stream, an async resource and an
 * AbortSignal listener to every call, only for the body to be collected
 * again. Aborting (timeout, client gone) goes through undici's controller,
 * and ends `done` with the reason given, as `request()` with a signal would.
 */
class BufferedResponse implements Dispatcher.DispatchHandler {
  readonly done: Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>;
  private resolve!: (value: Awaited<BufferedResponse['done']>) => void;
  private reject!: (error: unknown) => void;
  private controller?: Dispatcher.DispatchController;
  /** An abort asked for before undici handed over its controller. */
  private aborted?: { reason: unknown };
  /** The answer's status; 0 until its headers arrive. */
  status = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Ends the call; `done` rejects with `reason` as it is (undici passes any value through), as AbortController.abort() would. */
  abort(reason: unknown): void {
    const error = reason ?? new DOMException('This operation was aborted', 'AbortError');
    if (this.controller) this.controller.abort(error as Error);
    else this.aborted ??= { reason: error };
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.aborted) controller.abort(this.aborted.reason as Error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx informational answers come before the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks, this.size) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.reject(error);
  }
}

export class HttpUpstream {
  /** The instances calls are sent to now, with their breakers, health checks and discovery (members.ts). */
  private readonly set: UpstreamMembers<Member>;
  private readonly pipeline: Pipeline<Member, PipelineCall, HttpResult>;
  /** Bodies for the admin API's sampling (sample.ts): published only while a window is open for this subgraph. */
  private readonly bodies: Channel;
  /** The shadow target when it is an instance of its own (`shadow.url`). */
  private readonly shadowMember: Member | undefined;
  /** Aborted by close(): shadow copies in flight end with it. */
  private readonly closing = new AbortController();

  constructor(readonly options: HttpUpstreamOptions) {
    this.bodies = upstreamBodyChannel(options.subgraph);
    this.set = new UpstreamMembers<Member>({
      subgraph: options.subgraph,
      entries: options.instances,
      discovery: options.discovery,
      breaker: options.breaker,
      outliers: options.outliers,
      health: options.health,
      connect: (instance) => this.pooled(instance, options.connections, options.timeout),
      // undici's close() lets the requests already dispatched finish, then closes the connections.
      drain: (member) => member.pool.close().catch(() => member.pool.destroy()),
      check: (member, timeoutMs) => this.check(member, timeoutMs),
    });
    const { shadow } = options;
    // A shadow instance of its own: a pool of its own, with no breaker and no health check (it never serves a client).
    this.shadowMember = shadow?.url ? this.pooled({ url: shadow.url, version: shadowVersion(shadow), weight: 0 }, Math.min(options.connections, shadow.concurrency), shadow.timeoutMs) : undefined;
    this.pipeline = createPipeline<Member, PipelineCall, HttpResult>({
      subgraph: options.subgraph,
      members: this.set.members,
      entries: this.set.entries,
      timeout: options.timeout,
      retry: options.retry,
      balance: options.balance,
      concurrency: options.adaptiveConcurrency,
      canary: options.canary,
      protocol: this.protocol(),
      cache: options.httpCache ? httpCacheStage(new HttpCache(options.httpCache), options.instances[0]!) : undefined,
      shadow:
        shadow &&
        shadowStage<Member, PipelineCall, HttpResult>(
          shadowOptions(options.subgraph, shadow, this.shadowMember, this.set, this.closing.signal),
          {
            attempt: (call) => this.attempt(call),
            healthyFailure: () => false,
            view: (result) => httpView(result, shadow.graphql === true),
            failureView: (error) => ({ status: error.code, bytes: undefined, document: () => undefined }),
          },
        ),
    });
    this.set.start((members) => this.pipeline.update(members));
  }

  /** An instance's pool: keep-alive, explicit limits, TLS for https://. */
  private pooled(instance: Instance, connections: number, timeout: number): Member {
    const options = this.options;
    const url = new URL(instance.url);
    const pool = new Pool(url.origin, {
      connections,
      pipelining: 1,
      connectTimeout: options.connectTimeout,
      // The per-call signal enforces the total; these two catch a peer that goes quiet.
      headersTimeout: timeout,
      bodyTimeout: timeout,
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
      maxResponseSize: options.maxResponseSize,
      ...(options.tls && url.protocol === 'https:' && { connect: { ...options.tls } }),
    });
    return { url: instance.url, weight: instance.weight, ...(instance.version !== undefined && { version: instance.version }), pool, basePath: url.pathname.replace(/\/$/, ''), retired: false };
  }

  get subgraph(): string {
    return this.options.subgraph;
  }

  /** One call through the pipeline (pipeline.ts); with discovery, after the first resolution. */
  request(call: HttpCall): Promise<HttpResult> {
    const { ready } = this.set;
    if (ready) return ready.then(() => this.request(call));
    return this.pipeline.send({
      scope: call.scope,
      idempotent: call.idempotent,
      memoKey: call.memoKey,
      operation: call.method,
      endpoint: call.endpoint,
      method: call.method,
      path: call.path,
      headers: call.headers,
      body: call.body,
      attempt: 0,
      tried: undefined,
      version: undefined,
      member: undefined,
      timeoutMs: 0,
      traceHeaders: undefined,
    });
  }

  /** How HTTP answers read for the pipeline's stages, and its attempt. */
  private protocol(): Protocol<PipelineCall, HttpResult> {
    return {
      attempt: (call) => this.attempt(call),
      healthy: (result) => result.status < 500,
      healthyFailure: () => false,
      unanswered: (error) => unansweredFailures.has(error),
      retryWait: (result, attempt, backoffMs) =>
        RETRYABLE_STATUS.has(result.status) ? (retryAfterMs(result.headers['retry-after']) ?? backoffDelay(attempt, backoffMs)) : undefined,
      refused: (call) => {
        const { scope } = call;
        const member = call.member!;
        return scope.signal.aborted && Date.now() < scope.deadline - 1
          ? this.error('REQUEST_ABORTED', 'call cancelled: the client went away', member, scope.signal.reason, 'client gone')
          : this.error('GATEWAY_TIMEOUT', 'was not called: no time left in the request deadline', member, undefined, 'deadline');
      },
      status: (result) => result.status,
      span: (call) => httpSpan(call.member!, call.method, call.path, call.endpoint),
      spanOutcome: (result) => statusOutcome(result?.status),
    };
  }

  /**
   * A long-lived call whose body is consumed as a stream (a subscription over
   * SSE). The response headers must arrive within the descriptor's timeout;
   * the body may then stay open until the request scope's deadline, and ends
   * when the scope aborts or `cancel()` is called. Never retried.
   */
  async stream(call: HttpCall): Promise<HttpStream> {
    await this.set.ready;
    const member = this.pipeline.chooseStream(call.scope);
    let span: UpstreamSpan | undefined;
    if (call.scope.trace) {
      const shape = httpSpan(member, call.method, call.path, call.endpoint);
      span = call.scope.trace.startUpstream(shape.name, instanceAttributes(this.options.subgraph, member), shape.attributes, 0);
    }
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    call.scope.onAbort(onAbort);
    const remaining = call.scope.deadline - Date.now();
    const lifetime = setTimeout(onAbort, Math.max(0, remaining));
    const release = (): void => {
      clearTimeout(lifetime);
      call.scope.offAbort(onAbort);
    };
    try {
      const response = await member.pool.request({
        method: call.method as 'GET',
        path: member.basePath + call.path || '/',
        headers: span ? Object.assign({}, call.headers, span.headers) : call.headers,
        body: call.body,
        signal: controller.signal,
        headersTimeout: Math.min(this.options.timeout, Math.max(1, remaining)),
        bodyTimeout: 0,
      });
      member.breaker?.record(response.statusCode < 500);
      const body = response.body as AsyncIterable<Buffer>;
      const instance = member;
      const outcome = statusOutcome(response.statusCode);
      // Ended once: by the end of the body, or by cancel() (a body never read never reaches its finally).
      let traced = span;
      const endSpan = (failure?: string): void => {
        traced?.end(outcome.attributes, failure ?? outcome.errorCode);
        traced = undefined;
      };
      async function* chunks(): AsyncGenerator<Buffer> {
        let failure: string | undefined;
        try {
          for await (const chunk of body) yield chunk;
        } catch (error) {
          // The call ended because it was cancelled or its scope ended: a normal end of stream.
          if (!controller.signal.aborted) {
            failure = 'SOURCE_UNAVAILABLE';
            throw error;
          }
        } finally {
          release();
          if (!controller.signal.aborted) controller.abort();
          endSpan(failure);
        }
      }
      const cancel = (): void => {
        controller.abort();
        endSpan();
      };
      return { status: response.statusCode, headers: response.headers, body: chunks(), instance, cancel };
    } catch (error) {
      release();
      const mapped = this.mapError(error, member, false, call.scope, this.options.timeout);
      recordFailure(member, mapped, call.scope, () => false);
      span?.end(undefined, mapped.code);
      throw mapped;
    }
  }

  /** The attempt stage: one request to `call.member` within `call.timeoutMs` (set by the deadline stage). */
  private async attempt(call: PipelineCall): Promise<HttpResult> {
    const member = call.member!;
    const { timeoutMs, scope } = call;
    if (member.retired) {
      // Chosen just before discovery removed it: a connection failure, so an idempotent call moves to another instance.
      const error = this.error('SOURCE_UNAVAILABLE', 'is unavailable', member, undefined, 'instance removed by discovery');
      unansweredFailures.add(error);
      throw error;
    }
    // One timer per attempt, no listener of its own (the scope's, RequestScope.onAbort) and no
    // AbortSignal: the timer and the scope abort the call through undici's own controller
    // (BufferedResponse). AbortSignal.timeout() plus
    // AbortSignal.any() cost two weakly referenced signals (finalizers, GC work) on every upstream
    // call (18% of the gateway's CPU per request in bench/, proxy scenario); the AbortController
    // and body stream that pool.request() needs, a further 12% there and 9% in the openapi scenario.
    let timedOut = false;
    const response = new BufferedResponse();
    const timer = setTimeout(() => {
      timedOut = true;
      response.abort(new DOMException(`upstream call timed out after ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
    const onScopeAbort = (reason: unknown): void => response.abort(reason);
    scope.onAbort(onScopeAbort);
    try {
      member.pool.dispatch(
        {
          method: call.method as 'GET',
          path: member.basePath + call.path || '/',
          // Object.assign, not spread: about ten times cheaper for these header objects (bench/trace-cost.ts).
          headers: call.traceHeaders ? Object.assign({}, call.headers, call.traceHeaders) : call.headers,
          body: call.body,
        },
        response,
      );
      const { status, headers, body } = await response.done;
      if (this.bodies.hasSubscribers) this.publishBodies(call, member, { status, responseHeaders: headers, responseBody: body });
      return { status, headers, body, instance: member };
    } catch (error) {
      const mapped = this.mapError(error, member, timedOut, scope, timeoutMs);
      if (mapped.code === 'SOURCE_UNAVAILABLE' && response.status === 0 && CONNECTION_CODES.has((error as { code?: string }).code ?? '')) {
        unansweredFailures.add(mapped);
        // The instance may be gone for good: ask DNS again soon.
        this.set.refresh();
      }
      if (this.bodies.hasSubscribers) this.publishBodies(call, member, { code: mapped.code });
      throw mapped;
    } finally {
      clearTimeout(timer);
      scope.offAbort(onScopeAbort);
    }
  }

  private publishBodies(call: PipelineCall, member: Member, outcome: { status?: number; responseHeaders?: IncomingHttpHeaders; responseBody?: Buffer; code?: string }): void {
    this.bodies.publish({
      subgraph: this.options.subgraph,
      instance: member.url,
      method: call.method,
      path: call.path,
      requestHeaders: call.headers,
      requestBody: call.body,
      ...outcome,
    } satisfies UpstreamBodyEvent);
  }

  /**
   * The client-facing message names the subgraph and the kind of failure; the
   * socket-level detail (ECONNREFUSED, an address) stays in `cause`, for logs.
   */
  private error(code: TesseraError['code'], message: string, member: Member, cause: unknown, detail: string): TesseraError {
    return new TesseraError(code, `Subgraph "${this.options.subgraph}" ${message}`, {
      extensions: { subgraph: this.options.subgraph },
      cause: Object.assign(new Error(`${detail} (${member.url})`), { cause }),
    });
  }

  private mapError(error: unknown, member: Member, timedOut: boolean, scope: RequestScope, timeoutMs: number): TesseraError {
    const code = (error as { code?: string }).code ?? '';
    const detail = code || (error as Error).message || 'request failed';
    if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return this.error('GATEWAY_TIMEOUT', `did not answer within ${timeoutMs} ms`, member, error, detail);
    }
    if (scope.signal.aborted) {
      return Date.now() >= scope.deadline - 1
        ? this.error('GATEWAY_TIMEOUT', 'did not answer before the request deadline', member, error, detail)
        : this.error('REQUEST_ABORTED', 'call cancelled: the client went away', member, error, detail);
    }
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return this.error('SOURCE_RESPONSE_TOO_LARGE', `sent a response larger than ${this.options.maxResponseSize} bytes`, member, error, detail);
    }
    return this.error('SOURCE_UNAVAILABLE', 'is unavailable', member, error, detail);
  }

  /**
   * One health check of `member` (health.ts): a GET of the configured path,
   * or GraphQL's `{ __typename }` query; healthy on a 2xx answer (with data,
   * for the query). Undefined when healthy, else why not.
   */
  private async check(member: Member, timeoutMs: number): Promise<string | undefined> {
    const health = this.options.health!;
    const query = health.graphql === true && health.path === undefined;
    const path = member.basePath + (query ? '' : (health.path ?? '')) || '/';
    try {
      const response = await member.pool.request({
        method: query ? 'POST' : 'GET',
        path,
        headers: { ...health.headers, ...(query ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: '*/*' }) },
        body: query ? TYPENAME_QUERY : undefined,
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) return `HTTP ${response.statusCode} from ${query ? 'POST { __typename }' : `GET ${path}`}`;
      if (query && !(JSON.parse(text) as { data?: { __typename?: unknown } }).data?.__typename) return 'the { __typename } query got no data';
      return undefined;
    } catch (error) {
      if ((error as Error).name === 'TimeoutError' || (error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') return `no answer within ${timeoutMs} ms`;
      return (error as { code?: string }).code ?? (error as Error).message;
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.pipeline.close();
    const shadow = this.shadowMember?.pool;
    await Promise.all([this.set.close(), shadow?.close().catch(() => shadow.destroy())]);
  }
}

/**
 * An HTTP answer as the shadow comparison reads it (shadow-diff.ts): its
 * status, its bytes, and, decoded only when the bytes differ, its JSON; a
 * GraphQL response with each error reduced to its `extensions.code` (its
 * message when it has none) and path, since messages may differ in wording
 * between versions that behave the same.
 */
function httpView(result: HttpResult, graphql: boolean): ShadowView {
  return {
    status: String(result.status),
    bytes: result.body,
    document: () => {
      let value: unknown;
      try {
        value = JSON.parse(result.body.toString('utf8'));
      } catch {
        return undefined;
      }
      if (!graphql || value === null || typeof value !== 'object' || !Array.isArray((value as { errors?: unknown }).errors)) return value;
      const response = value as { errors: unknown[] };
      const errors = response.errors.map((e) => {
        const error = (e ?? {}) as { message?: unknown; path?: unknown; extensions?: { code?: unknown } };
        return { code: error.extensions?.code ?? error.message ?? null, path: Array.isArray(error.path) ? error.path.join('.') : null };
      });
      return { ...response, errors };
    },
  };
}

/** Span shapes by instance, then by method, path and endpoint: made once each (at most SHAPES_PER_MEMBER per instance), frozen so the exporter encodes each once. */
const shapes = new WeakMap<Member, Map<string, SpanShape>>();
const SHAPES_PER_MEMBER = 256;

/** The span of an HTTP attempt or stream (OpenTelemetry's HTTP client conventions); the query string is left out of `url.full` (it may carry keys). */
function httpSpan(member: Member, method: string, path: string, endpoint: string | undefined): SpanShape {
  let known = shapes.get(member);
  if (!known) shapes.set(member, (known = new Map()));
  const key = endpoint === undefined ? `${method} ${path}` : `${method} ${path} ${endpoint}`;
  let shape = known.get(key);
  if (shape) return shape;
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  // The path template of the REST operation (`GET /products/{id}` → `/products/{id}`).
  const route = endpoint !== undefined ? endpoint.slice(endpoint.indexOf(' ') + 1) : bare === '' ? '' : undefined;
  shape = Object.freeze({
    name: route === undefined ? method : `${method} ${member.basePath + route || '/'}`,
    attributes: Object.freeze({
      'http.request.method': method,
      'url.full': member.url.replace(/\/$/, '') + bare,
      'url.template': route === undefined ? undefined : member.basePath + route || '/',
    }),
  });
  if (known.size < SHAPES_PER_MEMBER) known.set(key, shape);
  return shape;
}

/** The outcome of each HTTP status, made once (frozen: the exporter encodes each once). */
const outcomes = new Map<number, SpanOutcome>();
const NO_STATUS: SpanOutcome = Object.freeze({ attributes: Object.freeze({}) });

/** An HTTP status on a span: 4xx and 5xx mark it ERROR (HTTP_4xx, HTTP_5xx, as the metrics count them). */
function statusOutcome(status: number | undefined): SpanOutcome {
  if (status === undefined) return NO_STATUS;
  let outcome = outcomes.get(status);
  if (!outcome) {
    outcome = Object.freeze({ attributes: Object.freeze({ 'http.response.status_code': status }), errorCode: status >= 400 ? `HTTP_${Math.floor(status / 100)}xx` : undefined });
    // Statuses are three digits: the map stays small.
    if (status >= 100 && status < 1000) outcomes.set(status, outcome);
  }
  return outcome;
}
