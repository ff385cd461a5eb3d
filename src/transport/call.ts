/**
 * What travels through the upstream-call pipeline (pipeline.ts): one call
 * descriptor per upstream call, the shape of a stage, and what a protocol
 * (HTTP, gRPC) tells the stages about its own answers and failures.
 */
import type { TesseraError } from '../errors.js';
import type { CircuitBreaker } from './breaker.js';
import type { InstanceHealth } from './health.js';
import type { RequestScope, TraceAttributes } from '../request-scope.js';

/** One instance of an upstream, as a descriptor lists it. */
export interface Instance {
  url: string;
  version?: string;
  weight: number;
}

/** An instance as the pipeline holds it: with its breaker (breaker or outlier detection on) and its health (health checks on). */
export interface Member extends Instance {
  breaker?: CircuitBreaker;
  health?: InstanceHealth;
}

/**
 * One upstream call, made once per call by the protocol's front (HttpUpstream.request,
 * GrpcUpstream.unary) with every field present, so that each call has the same shape.
 * The fields under "per attempt" are written by the stage named beside each, for the
 * stages inside it; nothing outside the pipeline reads them.
 */
export interface UpstreamCall<M extends Member = Member> {
  readonly scope: RequestScope;
  /** Safe to send twice: only idempotent calls are retried; a call that is not empties the request's memo when it ends. */
  readonly idempotent: boolean;
  /** Identical calls of one request (same key) share one outcome (memo stage); undefined: never shared. */
  readonly memoKey: string | undefined;
  /** What the `tessera:upstream` event calls `method`: the HTTP method, or the gRPC method path. */
  readonly operation: string;
  /**
   * What the `tessera:upstream` event calls `operation`, for per-operation
   * metrics: a REST operation's method and path template (`GET /products/{id}`),
   * the gRPC method path; undefined when the caller names none (GraphQL).
   */
  readonly endpoint: string | undefined;
  /** Per attempt (retry stage): 0 for the first. */
  attempt: number;
  /** Per call (retry stage): the instances already tried, so that a retry goes elsewhere; undefined before any retry. */
  tried: Set<M> | undefined;
  /** Per attempt (canary stage, with `canary:`): the version a sticky caller's attempt keeps to; undefined: any. */
  version: string | undefined;
  /** Per attempt (balance stage): the instance chosen; undefined when none could be. */
  member: M | undefined;
  /** Per attempt (deadline stage): the attempt's time limit, ms. */
  timeoutMs: number;
  /** Per attempt (trace stage, when the request is traced): `traceparent`/`tracestate` naming the attempt's span, for the attempt to send. */
  traceHeaders: Readonly<Record<string, string>> | undefined;
}

/**
 * What a protocol tells the trace stage about one attempt's span. Kept by the
 * span as it is (not copied), so never changed once returned; the protocols
 * return frozen ones made once per kind of call, which the exporter encodes once.
 */
export interface SpanShape {
  /** The span's name: `GET /products/{id}`, `tessera.inventory.v1.InventoryService/GetStockLevels`. */
  readonly name: string;
  readonly attributes: TraceAttributes;
}

/** What an outcome adds to an attempt's span, and the error code that marks it ERROR; never changed once returned (as SpanShape). */
export interface SpanOutcome {
  readonly attributes: TraceAttributes;
  readonly errorCode?: string;
}

/** The rest of the pipeline, from a stage's point of view. */
export type Send<C, R> = (call: C) => Promise<R>;

/** One step of the pipeline: given what comes after it, what to do with a call. Applied once per upstream, not per call. */
export type Stage<C, R> = (next: Send<C, R>) => Send<C, R>;

/** What differs between HTTP and gRPC, for the stages: the attempt itself, and how to read its outcome. */
export interface Protocol<C extends UpstreamCall<any>, R> {
  /** One attempt on `call.member`, within `call.timeoutMs`; fails only with a TesseraError. */
  attempt: Send<C, R>;
  /** Does this answer say the instance is well (breaker)? HTTP: any status below 500. */
  healthy(result: R): boolean;
  /** Does this failure say the instance is well (breaker)? gRPC: NOT_FOUND and the like are answers about the request. */
  healthyFailure(error: TesseraError): boolean;
  /**
   * Did this failure happen at the connection, before any byte of an answer
   * (refused, reset, closed)? Such an idempotent call may move to another
   * instance outside the retry budget (stages/retry.ts).
   */
  unanswered(error: TesseraError): boolean;
  /** How long to wait before retrying an answer that asks for it (HTTP 503, Retry-After), or undefined: the answer stands. */
  retryWait(result: R, attempt: number, backoffMs: number): number | undefined;
  /** The failure of an attempt that cannot start: no time left in the request deadline, or the client went away. */
  refused(call: C): TesseraError;
  /** The `status` of the `tessera:upstream` event for this answer, if the protocol has one. */
  status(result: R): number | undefined;
  /** Tracing: the name and attributes of the span of an attempt on `call.member`. */
  span(call: C): SpanShape;
  /** Tracing: what an outcome adds to the span (HTTP status, gRPC status code), and the error code that marks it ERROR. */
  spanOutcome(result: R | undefined, error: TesseraError | undefined): SpanOutcome;
}
