/**
 * One HTTP upstream (all instances of one subgraph): an undici Pool per
 * instance with keep-alive and explicit limits, weighted choice among the
 * instances, a per-call timeout capped by the request's remaining deadline,
 * and retries for idempotent calls. Every failure leaves here as a
 * TesseraError with a catalog code and the subgraph's name, never as a raw
 * socket error.
 */
import { channel } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { TesseraError } from '../errors.js';
import { WeightedBalancer } from './balancer.js';
import { chooseInstance, instanceBreaker, type BreakerOptions, type CircuitBreaker } from './breaker.js';
import { HttpCache, type HttpCacheOptions } from './http-cache.js';
import { backoffDelay, RetryBudget, retryAfterMs, sleep } from './retry.js';
import type { RequestScope } from '../request-scope.js';
import type { UpstreamTlsMaterial } from './upstream-tls.js';

export interface Instance {
  url: string;
  version?: string;
  weight: number;
}

export interface HttpUpstreamOptions {
  subgraph: string;
  instances: Instance[];
  /** Total time for one attempt, ms (capped by the remaining deadline). */
  timeout: number;
  connectTimeout: number;
  maxResponseSize: number;
  connections: number;
  retry: { attempts: number; backoff: number };
  /** Circuit breaker per instance; false turns it off. */
  breaker?: BreakerOptions | false;
  /** Shared HTTP cache for GETs (Cache-Control, ETag); off when absent. */
  httpCache?: HttpCacheOptions;
  keepAliveTimeout?: number;
  /** For https:// instances: CA to trust, client certificate (mTLS), server name (see upstream-tls.ts). */
  tls?: UpstreamTlsMaterial;
}

export interface HttpCall {
  method: string;
  /** Path and query, appended to the instance URL's own path. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Safe to send twice (queries, GET). Only idempotent calls are retried. */
  idempotent: boolean;
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

/** Published once per attempt on `tessera:upstream` (for metrics and tracing; free when nobody listens). */
export interface UpstreamEvent {
  subgraph: string;
  instance: string;
  version?: string;
  method: string;
  status?: number;
  code?: string;
  durationMs: number;
  attempt: number;
}

export const upstreamChannel = channel('tessera:upstream');

export { breakerChannel, type BreakerEvent } from './breaker.js';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

interface Member extends Instance {
  pool: Pool;
  basePath: string;
  breaker?: CircuitBreaker;
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
  private status = 0;
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
  private readonly members: Member[];
  private readonly balancer: WeightedBalancer<Member>;
  private readonly budget = new RetryBudget();
  private readonly cache?: HttpCache;

  constructor(readonly options: HttpUpstreamOptions) {
    this.members = options.instances.map((instance) => {
      const url = new URL(instance.url);
      const pool = new Pool(url.origin, {
        connections: options.connections,
        pipelining: 1,
        connectTimeout: options.connectTimeout,
        // The per-call signal enforces the total; these two catch a peer that goes quiet.
        headersTimeout: options.timeout,
        bodyTimeout: options.timeout,
        keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
        maxResponseSize: options.maxResponseSize,
        ...(options.tls && url.protocol === 'https:' && { connect: { ...options.tls } }),
      });
      const breaker = instanceBreaker(options.breaker, options.subgraph, instance.url);
      return { ...instance, pool, basePath: url.pathname.replace(/\/$/, ''), breaker };
    });
    this.balancer = new WeightedBalancer(this.members);
    if (options.httpCache) this.cache = new HttpCache(options.httpCache);
  }

  get subgraph(): string {
    return this.options.subgraph;
  }

  request(call: HttpCall): Promise<HttpResult> {
    // Not async itself: most calls skip the cache, and an async frame here would cost them a promise.
    if (!this.cache || call.method !== 'GET') return this.send(call);
    return this.cached(call, this.cache);
  }

  private async cached(call: HttpCall, cache: HttpCache): Promise<HttpResult> {
    const headers = call.headers ?? {};
    const found = cache.lookup(call.path, headers);
    if (found.fresh) return { ...found.fresh, instance: this.members[0]! };
    const result = await this.send(found.conditional ? { ...call, headers: { ...headers, ...found.conditional } } : call);
    return { ...cache.update(call.path, headers, result, found.stale), instance: result.instance };
  }

  private async send(call: HttpCall): Promise<HttpResult> {
    const { retry } = this.options;
    const attempts = call.idempotent ? retry.attempts : 1;
    const tried = new Set<Member>();
    this.budget.recordCall();
    for (let attempt = 0; ; attempt++) {
      const member = this.choose(tried);
      tried.add(member);
      const last = attempt + 1 >= attempts;
      try {
        const result = await this.attempt(member, call, attempt);
        member.breaker?.record(result.status < 500);
        if (last || !RETRYABLE_STATUS.has(result.status)) return result;
        const wait = retryAfterMs(result.headers['retry-after']) ?? backoffDelay(attempt, retry.backoff);
        if (!this.canRetry(call, wait)) return result;
        await sleep(wait, call.scope.signal).catch(() => undefined);
      } catch (error) {
        const code = (error as TesseraError).code;
        if (code !== 'REQUEST_ABORTED' && !(code === 'GATEWAY_TIMEOUT' && call.scope.signal.aborted)) member.breaker?.record(false);
        if (last || code !== 'SOURCE_UNAVAILABLE') throw error;
        const wait = backoffDelay(attempt, retry.backoff);
        if (!this.canRetry(call, wait)) throw error;
        await sleep(wait, call.scope.signal).catch(() => undefined);
      }
    }
  }

  /**
   * An instance for the next attempt: one not tried yet by this call when
   * there is one, never one behind an open breaker. When every breaker is
   * open the call fails at once.
   */
  private choose(tried: ReadonlySet<Member>): Member {
    const member = chooseInstance(this.balancer, tried);
    if (member) return member;
    throw new TesseraError('SOURCE_UNAVAILABLE', `Subgraph "${this.options.subgraph}" is unavailable`, {
      extensions: { subgraph: this.options.subgraph },
      cause: new Error('circuit breaker open for every instance'),
    });
  }

  /**
   * A long-lived call whose body is consumed as a stream (a subscription over
   * SSE). The response headers must arrive within the descriptor's timeout;
   * the body may then stay open until the request scope's deadline, and ends
   * when the scope aborts or `cancel()` is called. Never retried.
   */
  async stream(call: HttpCall): Promise<HttpStream> {
    const member = this.choose(new Set());
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
        headers: call.headers,
        body: call.body,
        signal: controller.signal,
        headersTimeout: Math.min(this.options.timeout, Math.max(1, remaining)),
        bodyTimeout: 0,
      });
      member.breaker?.record(response.statusCode < 500);
      const body = response.body as AsyncIterable<Buffer>;
      const instance = member;
      async function* chunks(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of body) yield chunk;
        } catch (error) {
          // The call ended because it was cancelled or its scope ended: a normal end of stream.
          if (!controller.signal.aborted) throw error;
        } finally {
          release();
          if (!controller.signal.aborted) controller.abort();
        }
      }
      return { status: response.statusCode, headers: response.headers, body: chunks(), instance, cancel: () => controller.abort() };
    } catch (error) {
      release();
      const mapped = this.mapError(error, member, false, call.scope, this.options.timeout);
      if (mapped.code !== 'REQUEST_ABORTED') member.breaker?.record(false);
      throw mapped;
    }
  }

  /** A retry must fit in what is left of the deadline and in the retry budget. */
  private canRetry(call: HttpCall, waitMs: number): boolean {
    if (call.scope.signal.aborted) return false;
    if (Date.now() + waitMs >= call.scope.deadline - 10) return false;
    return this.budget.tryRetry();
  }

  private async attempt(member: Member, call: HttpCall, attempt: number): Promise<HttpResult> {
    const started = performance.now();
    const remaining = call.scope.deadline - Date.now();
    const timeoutMs = Math.min(this.options.timeout, remaining);
    const event: UpstreamEvent = {
      subgraph: this.options.subgraph,
      instance: member.url,
      version: member.version,
      method: call.method,
      durationMs: 0,
      attempt,
    };
    const publish = (): void => {
      if (upstreamChannel.hasSubscribers) {
        event.durationMs = performance.now() - started;
        upstreamChannel.publish(event);
      }
    };
    if (timeoutMs <= 0) {
      event.code = 'GATEWAY_TIMEOUT';
      publish();
      throw this.error('GATEWAY_TIMEOUT', 'was not called: no time left in the request deadline', member, undefined, 'deadline');
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
    call.scope.onAbort(onScopeAbort);
    try {
      member.pool.dispatch(
        {
          method: call.method as 'GET',
          path: member.basePath + call.path || '/',
          headers: call.headers,
          body: call.body,
        },
        response,
      );
      const { status, headers, body } = await response.done;
      event.status = status;
      publish();
      return { status, headers, body, instance: member };
    } catch (error) {
      const mapped = this.mapError(error, member, timedOut, call.scope, timeoutMs);
      event.code = mapped.code;
      publish();
      throw mapped;
    } finally {
      clearTimeout(timer);
      call.scope.offAbort(onScopeAbort);
    }
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

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.pool.close().catch(() => m.pool.destroy())));
  }
}
