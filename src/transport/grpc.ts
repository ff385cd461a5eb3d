/**
 * One gRPC upstream (all instances of one subgraph): a @grpc/grpc-js client
 * (one HTTP/2 channel) per instance, created once and reused by every call,
 * and the upstream-call pipeline (pipeline.ts: memo, retries, weighted
 * choice, breakers, events, deadline) in front of the attempt written here.
 * A deadline on every call, capped by what is left of the request's own
 * deadline; `call.cancel()` when the request scope aborts; retries only for
 * read-only methods and only on UNAVAILABLE. Identical read-only calls within
 * one request (same method, metadata and encoded request bytes) are sent
 * once (the memo stage). Every failure leaves here as a TesseraError with a
 * catalog code and `extensions.grpc.code`, never as a raw ServiceError.
 * Discovered entries (`upstreams[].discovery`) resolve into instances as
 * for HTTP (members.ts); an instance discovery removed gets no new call,
 * and its channel closes once its calls in flight (unary and streams) end.
 */
import * as grpc from '@grpc/grpc-js';
import { TesseraError, type ErrorCode } from '../errors.js';
import type { BreakerOptions, OutlierOptions } from './breaker.js';
import type { BalanceStrategy } from './balancer.js';
import type { CanaryBoard, CanaryOptions } from './canary.js';
import type { HealthOptions } from './health.js';
import type { DiscoveryOptions, UpstreamEntry } from './discovery.js';
import { UpstreamMembers, type DrainableMember } from './members.js';
import type { Instance, Protocol, SpanOutcome, SpanShape, UpstreamCall } from './call.js';
import type { ConcurrencyOptions } from './concurrency.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import type { RequestScope, UpstreamSpan } from '../request-scope.js';
import { recordFailure } from './stages/breaker.js';
import { publishUpstream, upstreamEvent } from './stages/observe.js';
import { upstreamBodyChannel, type UpstreamBodyEvent } from './sample.js';
import type { Channel } from 'node:diagnostics_channel';
import { instanceAttributes } from './stages/trace.js';
import { shadowOptions, shadowStage, shadowVersion, type ShadowSettings } from './stages/shadow.js';

export interface GrpcTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

export interface GrpcUpstreamOptions {
  subgraph: string;
  /** The descriptor's upstream entries: instances, or names to resolve (`discovery`). */
  instances: UpstreamEntry[];
  /** How entries with `discovery` are resolved (default: every 30 s, 2 s timeout, the system's DNS servers). */
  discovery?: DiscoveryOptions;
  /** Longest one unary attempt may take, ms (capped by the remaining deadline). */
  timeout: number;
  /** Longest a server stream may stay open, ms (capped by the remaining deadline); 0: only the request deadline. */
  streamTimeout: number;
  maxReceiveMessageSize: number;
  maxSendMessageSize: number;
  keepalive: { time: number; timeout: number };
  retry: { attempts: number; backoff: number };
  /** TLS for every instance (`grpcs://` and `https://` URLs use TLS even without it). */
  tls?: GrpcTlsMaterial;
  /** Circuit breaker per instance; false turns it off. */
  breaker?: BreakerOptions | false;
  /** Passive outlier detection (consecutive failures eject an instance); false turns it off; absent: the defaults. */
  outliers?: OutlierOptions | false;
  /** Active health checks per instance: grpc.health.v1.Health/Check for `service`. */
  health?: HealthOptions;
  /** How each attempt's instance is chosen (default round-robin). */
  balance?: BalanceStrategy;
  /** Shadow traffic for read-only methods (stages/shadow.ts). */
  shadow?: ShadowSettings;
  /** The subgraph's adaptive concurrency limit (concurrency.ts); off when absent. */
  adaptiveConcurrency?: ConcurrencyOptions;
  /** Sticky canaries and the canary guard across the instances' versions (canary.ts); off when absent. */
  canary?: { options: CanaryOptions; board?: CanaryBoard | undefined } | undefined;
}

/** An UNAVAILABLE that happened at the connection, before any answer (Protocol.unanswered). */
const UNANSWERED = /ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EHOSTUNREACH|No connection established|Connection dropped|Failed to connect/i;

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';
/** HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** HealthCheckRequest { string service = 1; } as protobuf bytes. */
function healthRequest(service: string): Buffer {
  const name = Buffer.from(service);
  if (name.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  let n = name.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...length]), name]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status's number (0 when absent). */
function servingStatus(bytes: Buffer): number {
  let status = 0;
  for (let i = 0; i < bytes.length; ) {
    const tag = bytes[i++]!;
    let value = 0;
    let shift = 0;
    let byte: number;
    // Only varint fields are expected here; an unknown wire type ends the read.
    if ((tag & 7) !== 0) break;
    do {
      byte = bytes[i++] ?? 0;
      value |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && i < bytes.length);
    if (tag >>> 3 === 1) status = value;
  }
  return status;
}

/** How to call one method: its path and how its messages become bytes. Built once per method. */
export interface GrpcMethod<Req, Res> {
  /** `/package.Service/Method` */
  path: string;
  serialize(value: Req): Buffer;
  deserialize(bytes: Buffer): Res;
  /** Safe to send twice: only read-only methods are retried. */
  readOnly: boolean;
}

export interface GrpcCall<Req> {
  request: Req;
  /** Metadata (headers) for this call: lower-case names; `-bin` names carry base64. */
  metadata?: Record<string, string>;
  scope: RequestScope;
}

interface Member extends DrainableMember {
  client: grpc.Client;
  /** Calls and streams in flight on its channel: a retired member's channel closes when they are done. */
  inFlight: number;
  /** Set while it drains: called when the last call in flight ends. */
  drained: (() => void) | undefined;
}

/** A call (unary or stream) on `member` ended: the last one of a draining member closes its channel. Once per call, paired with `inFlight++`. */
function left(member: Member): void {
  if (--member.inFlight === 0) member.drained?.();
}

/**
 * Closes `member`'s channel once its calls in flight have ended (closing it
 * at once would make grpc-js cancel the calls still waiting for a
 * connection), or at once when the upstream closes (`closing`): grpc-js
 * then lets the calls already started finish, as it always did at close.
 */
function drain(member: Member, closing: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    member.drained = () => {
      member.client.close();
      resolve();
    };
    if (member.inFlight === 0 || closing.aborted) member.drained();
    else closing.addEventListener('abort', () => member.drained?.(), { once: true });
  });
}

/** The failures of attempts on an instance discovery had just removed (Protocol.unanswered: an idempotent call moves on). */
const removedFailures = new WeakSet<TesseraError>();

/**
 * One answer of a unary call as the memo keeps it: the decoded value for the
 * method that asked, and the bytes, so that another method object of the same
 * RPC (a join and a root field both calling GetStockLevels) decodes them its own way.
 */
interface Answer {
  bytes: Buffer;
  value: unknown;
  deserialize: (bytes: Buffer) => unknown;
  member: Member;
}

/** A unary call in the pipeline (call.ts): every field present, so that each call has the same shape. */
interface PipelineCall extends UpstreamCall<Member> {
  readonly method: GrpcMethod<never, unknown>;
  /** The request, encoded once before any attempt: a retry re-sends the same bytes. */
  readonly bytes: Buffer;
  readonly headers: Record<string, string> | undefined;
  /** The request message before encoding, for the admin API's body sampling (sample.ts). */
  readonly request: unknown;
  /** Built from `headers` by the first attempt (a memo hit never needs it), reused by retries. */
  metadata: grpc.Metadata | undefined;
}

/**
 * Statuses that say the instance is unwell (they count against its breaker);
 * the others (NOT_FOUND, INVALID_ARGUMENT, ...) are answers from a healthy
 * service about the request.
 */
const UNHEALTHY = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DATA_LOSS]);

/** Metadata names that belong to gRPC or HTTP/2 framing itself; a client header must not set them. */
const RESERVED_METADATA = /^(grpc-|:)|^(te|content-type|user-agent|host|connection|content-length|transfer-encoding)$/;

const passBytes = (bytes: Buffer): Buffer => bytes;

function targetOf(url: string): { target: string; secure: boolean } {
  if (/^(dns|unix|unix-abstract|ipv4|ipv6):/.test(url)) return { target: url, secure: false };
  const parsed = new URL(url);
  const secure = parsed.protocol === 'grpcs:' || parsed.protocol === 'https:';
  const port = parsed.port || (secure ? '443' : '80');
  return { target: `${parsed.hostname}:${port}`, secure };
}

function credentialsFor(secure: boolean, tls: GrpcTlsMaterial | undefined): grpc.ChannelCredentials {
  if (!secure && !tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls?.ca ?? null, tls?.key ?? null, tls?.cert ?? null);
}

/** An UNAVAILABLE at the connection, before any answer (refused, reset, not connected). */
function atConnection(error: TesseraError): boolean {
  return (error.extensions.grpc as { code?: string } | undefined)?.code === 'UNAVAILABLE' && UNANSWERED.test((error as GrpcTransportError).grpcMessage ?? '');
}

/** A gRPC failure that says nothing against the instance: NOT_FOUND, INVALID_ARGUMENT... are answers about the request. */
function healthyFailure(error: TesseraError): boolean {
  const grpcCode = (error.extensions.grpc as { code?: string } | undefined)?.code;
  const status = grpcCode ? (grpc.status as unknown as Record<string, number>)[grpcCode] : undefined;
  return status === undefined || !UNHEALTHY.has(status);
}

export class GrpcUpstream {
  /** The instances calls are sent to now, with their breakers, health checks and discovery (members.ts). */
  private readonly set: UpstreamMembers<Member>;
  private readonly pipeline: Pipeline<Member, PipelineCall, Answer>;
  /** Bodies for the admin API's sampling (sample.ts): published only while a window is open for this subgraph. */
  private readonly bodies: Channel;
  /** The shadow target when it is an instance of its own (`shadow.url`). */
  private readonly shadowMember: Member | undefined;
  /** Aborted by close(): shadow copies in flight end with it. */
  private readonly closing = new AbortController();

  constructor(readonly options: GrpcUpstreamOptions) {
    this.bodies = upstreamBodyChannel(options.subgraph);
    this.set = new UpstreamMembers<Member>({
      subgraph: options.subgraph,
      entries: options.instances,
      discovery: options.discovery,
      breaker: options.breaker,
      outliers: options.outliers,
      health: options.health,
      connect: (instance) => this.connected(instance),
      drain: (member) => drain(member, this.closing.signal),
      check: (member, timeoutMs) => this.check(member, timeoutMs),
    });
    const { shadow } = options;
    // A shadow instance of its own: a client of its own, with no breaker and no health check (it never serves a client).
    this.shadowMember = shadow?.url ? this.connected({ url: shadow.url, version: shadowVersion(shadow), weight: 0 }) : undefined;
    this.pipeline = createPipeline<Member, PipelineCall, Answer>({
      subgraph: options.subgraph,
      members: this.set.members,
      entries: this.set.entries,
      timeout: options.timeout,
      retry: options.retry,
      balance: options.balance,
      concurrency: options.adaptiveConcurrency,
      canary: options.canary,
      protocol: this.protocol(),
      shadow:
        shadow &&
        shadowStage<Member, PipelineCall, Answer>(
          shadowOptions(options.subgraph, shadow, this.shadowMember, this.set, this.closing.signal),
          {
            attempt: (call) => this.attempt(call),
            healthyFailure,
            // The bytes first (equal bytes: a match, nothing compared); the message already decoded by the attempt otherwise.
            view: (answer) => ({ status: 'OK', bytes: answer.bytes, document: () => answer.value }),
            failureView: (error) => ({ status: (error.extensions.grpc as { code?: string } | undefined)?.code ?? error.code, bytes: undefined, document: () => undefined }),
          },
        ),
    });
    this.set.start((members) => this.pipeline.update(members));
  }

  /** An instance's client (one HTTP/2 channel), with the message size limits, keepalive and TLS. */
  private connected(instance: Instance): Member {
    const options = this.options;
    const { target, secure } = targetOf(instance.url);
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': options.maxReceiveMessageSize,
      'grpc.max_send_message_length': options.maxSendMessageSize,
      'grpc.keepalive_time_ms': options.keepalive.time,
      'grpc.keepalive_timeout_ms': options.keepalive.timeout,
      'grpc.keepalive_permit_without_calls': 0,
      // Each upstream instance is its own client: no channel sharing across subgraphs.
      'grpc.use_local_subchannel_pool': 1,
    };
    if (options.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    const client = new grpc.Client(target, credentialsFor(secure, options.tls), channelOptions);
    return { url: instance.url, weight: instance.weight, ...(instance.version !== undefined && { version: instance.version }), client, retired: false, inFlight: 0, drained: undefined };
  }

  get subgraph(): string {
    return this.options.subgraph;
  }

  /**
   * One unary call through the pipeline (pipeline.ts): retried on UNAVAILABLE
   * for read-only methods while the deadline and the retry budget allow.
   *
   * A read-only call is made once per request: a second identical call (an
   * alias, or another path to the same data) gets the first one's answer or
   * failure (the memo stage). A call with side effects is never shared, and
   * when it ends it empties this upstream's memo, so that what is read after
   * a write in the same request is read again.
   */
  async unary<Req, Res>(method: GrpcMethod<Req, Res>, call: GrpcCall<Req>): Promise<Res> {
    // With discovery: after the first resolution.
    if (this.set.ready) await this.set.ready;
    // Encoded once, before any attempt: a request that cannot be encoded fails here with its own error, and a retry re-sends the same bytes.
    const bytes = method.serialize(call.request);
    const headers = call.metadata;
    const answer = await this.pipeline.send({
      scope: call.scope,
      idempotent: method.readOnly,
      // latin1 maps each byte to one character: a compact key, equal only for equal bytes.
      memoKey: method.readOnly ? `${method.path}\u0000${headers ? JSON.stringify(headers) : ''}\u0000${bytes.toString('latin1')}` : undefined,
      operation: method.path,
      endpoint: method.path,
      method: method as GrpcMethod<never, unknown>,
      bytes,
      headers,
      request: call.request,
      metadata: undefined,
      attempt: 0,
      tried: undefined,
      version: undefined,
      member: undefined,
      timeoutMs: 0,
      traceHeaders: undefined,
    });
    if (answer.deserialize === method.deserialize) return answer.value as Res;
    // A shared answer asked for by another method object of the same RPC: decoded its own way.
    try {
      return method.deserialize(answer.bytes);
    } catch (error) {
      // What grpc-js reports when a deserializer throws, so both paths fail alike.
      const detail = `Response message parsing error: ${(error as Error).message}`;
      throw this.error('GRPC_STATUS', 'gRPC INTERNAL', detail, 'INTERNAL', answer.member, error);
    }
  }

  /** How gRPC outcomes read for the pipeline's stages, and its attempt. */
  private protocol(): Protocol<PipelineCall, Answer> {
    return {
      attempt: (call) => this.attempt(call),
      // A status is a failure (below); an answer always says the instance is well.
      healthy: () => true,
      healthyFailure,
      unanswered: (error) => removedFailures.has(error) || atConnection(error),
      // Only failures (UNAVAILABLE) are retried, never an answer.
      retryWait: () => undefined,
      refused: (call) => this.scopeError(call.scope, call.member!, call.timeoutMs),
      status: () => undefined,
      span: (call) => grpcSpan(call.method.path),
      spanOutcome: (_result, error) => grpcOutcome(error ? grpcStatusOf(error) : grpc.status.OK),
    };
  }

  /**
   * A server-streaming call as an async iterator. Ending the iteration early
   * (the subscriber went away) or aborting the scope cancels the call upstream.
   */
  async *serverStream<Req, Res>(method: GrpcMethod<Req, Res>, call: GrpcCall<Req>): AsyncGenerator<Res, void, undefined> {
    const bytes = method.serialize(call.request);
    if (this.set.ready) await this.set.ready;
    const member = this.pipeline.chooseStream(call.scope);
    const { scope } = call;
    const started = performance.now();
    const event = upstreamEvent(this.options.subgraph, member, method.path, 0, method.path);
    const remaining = scope.deadline - Date.now();
    const limit = this.options.streamTimeout > 0 ? Math.min(this.options.streamTimeout, remaining) : remaining;
    if (limit <= 0 || scope.signal.aborted) {
      const error = this.scopeError(scope, member, limit);
      publishUpstream(event, started, error.code);
      throw error;
    }
    let span: UpstreamSpan | undefined;
    if (scope.trace) {
      const shape = grpcSpan(method.path);
      span = scope.trace.startUpstream(shape.name, instanceAttributes(this.options.subgraph, member), shape.attributes, 0);
    }
    const metadata = span ? withHeaders(this.metadataOf(call.metadata), span.headers) : this.metadataOf(call.metadata);
    const stream = member.client.makeServerStreamRequest(method.path, passBytes, method.deserialize, bytes, metadata, {
      deadline: Date.now() + limit,
    });
    // Counted once the call exists (a channel already closed throws above); ended in the finally below.
    member.inFlight++;
    const onAbort = (): void => stream.cancel();
    scope.onAbort(onAbort);
    let code: string | undefined;
    let grpcStatus: number = grpc.status.OK;
    let finished = false;
    try {
      for await (const message of stream as AsyncIterable<Res>) yield message;
      finished = true;
    } catch (error) {
      const mapped = this.mapError(error, member, scope, limit, started);
      code = mapped.code;
      grpcStatus = grpcStatusOf(mapped);
      recordFailure(member, mapped, scope, healthyFailure);
      if (atConnection(mapped)) this.set.refresh();
      throw mapped;
    } finally {
      left(member);
      scope.offAbort(onAbort);
      // A no-op when the stream already ended; otherwise the consumer left early (return()).
      if (!finished) stream.cancel();
      publishUpstream(event, started, code);
      span?.end({ 'rpc.grpc.status_code': grpcStatus }, code);
    }
  }

  /**
   * A bidirectional stream to the first instance (with discovery: the first
   * one found), for start-up work such as server reflection: not balanced,
   * not retried, bounded by `timeoutMs`. Not counted in flight: it ends
   * within `timeoutMs`, and grpc-js ends it when the channel closes.
   */
  async duplex<Req, Res>(path: string, serialize: (value: Req) => Buffer, deserialize: (bytes: Buffer) => Res, timeoutMs: number): Promise<grpc.ClientDuplexStream<Req, Res>> {
    await this.set.ready;
    const member = this.set.members[0];
    if (!member) throw new Error(`no instance of subgraph "${this.options.subgraph}": discovery has found none yet`);
    return member.client.makeBidiStreamRequest(path, serialize, deserialize, new grpc.Metadata(), { deadline: Date.now() + timeoutMs });
  }

  /**
   * The attempt stage: one call to `call.member` within `call.timeoutMs` (set by the deadline stage);
   * the answer keeps its bytes beside the decoded value (see Answer).
   */
  private attempt(call: PipelineCall): Promise<Answer> {
    const member = call.member!;
    const { method, scope, timeoutMs } = call;
    if (member.retired) {
      // Chosen just before discovery removed it: a connection failure, so an idempotent call moves to another instance.
      const error = this.error('SOURCE_UNAVAILABLE', 'Upstream unavailable', 'instance removed by discovery', 'UNAVAILABLE', member);
      removedFailures.add(error);
      return Promise.reject(error);
    }
    const started = performance.now();
    const shared = (call.metadata ??= this.metadataOf(call.headers));
    // The trace context names this attempt's span: a copy per traced attempt, the shared metadata otherwise.
    const metadata = call.traceHeaders ? withHeaders(shared.clone(), call.traceHeaders) : shared;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => unaryCall.cancel();
      const unaryCall = member.client.makeUnaryRequest(
        method.path,
        passBytes,
        // Decoded inside grpc-js, so that a message that cannot be decoded fails the call as INTERNAL (and counts against the instance).
        (response: Buffer): Answer => ({ bytes: response, value: method.deserialize(response), deserialize: method.deserialize, member }),
        call.bytes,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          left(member);
          scope.offAbort(onAbort);
          const failure = error ? this.mapError(error, member, scope, timeoutMs, started) : undefined;
          // The instance may be gone for good: ask DNS again soon.
          if (failure && atConnection(failure)) this.set.refresh();
          if (this.bodies.hasSubscribers) {
            this.bodies.publish({
              subgraph: this.options.subgraph,
              instance: member.url,
              method: method.path,
              requestHeaders: call.headers,
              requestBody: call.request,
              ...(failure ? { code: failure.code } : { responseBody: response!.value }),
            } satisfies UpstreamBodyEvent);
          }
          if (failure) reject(failure);
          else resolve(response!);
        },
      );
      // Counted once the call exists (a channel already closed throws above); grpc-js calls back later, once.
      member.inFlight++;
      scope.onAbort(onAbort);
    });
  }

  private metadataOf(headers: Record<string, string> | undefined): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (!headers) return metadata;
    for (const [name, value] of Object.entries(headers)) {
      const key = name.toLowerCase();
      if (RESERVED_METADATA.test(key)) continue;
      if (key.endsWith('-bin')) metadata.set(key, Buffer.from(value, 'base64'));
      else metadata.set(key, value);
    }
    return metadata;
  }

  /** The error for a call that cannot start or was stopped by the request scope (client gone or deadline passed). */
  private scopeError(scope: RequestScope, member: Member, timeoutMs: number, cause?: unknown): TesseraError {
    if (scope.signal.aborted && Date.now() < scope.deadline - 1) {
      return this.error('REQUEST_ABORTED', 'Request aborted', 'the client went away', 'CANCELLED', member, cause);
    }
    const detail = timeoutMs <= 0 ? 'no time left in the request deadline' : 'the request deadline passed';
    return this.error('GATEWAY_TIMEOUT', 'No answer in time', detail, 'DEADLINE_EXCEEDED', member, cause);
  }

  private mapError(error: unknown, member: Member, scope: RequestScope, timeoutMs: number, started: number): TesseraError {
    const status = error as Partial<grpc.ServiceError>;
    const code = typeof status.code === 'number' ? status.code : grpc.status.UNKNOWN;
    const name = grpc.status[code] ?? 'UNKNOWN';
    const details = status.details || (error as Error).message || name;
    switch (code) {
      case grpc.status.CANCELLED:
        // Cancelled by us (scope aborted) or by the server; only the first is the client's doing.
        if (scope.signal.aborted) return this.scopeError(scope, member, timeoutMs, error);
        break;
      case grpc.status.DEADLINE_EXCEEDED: {
        // Ours when our deadline has passed; otherwise the upstream ran out of its own time (on a call of its own).
        const ours = performance.now() - started >= timeoutMs - 5;
        const detail = ours ? `timed out after ${Math.round(timeoutMs)} ms` : 'the upstream answered DEADLINE_EXCEEDED';
        return this.error('GATEWAY_TIMEOUT', 'No answer in time', detail, name, member, error);
      }
      case grpc.status.UNAVAILABLE:
        return this.error('SOURCE_UNAVAILABLE', 'Upstream unavailable', details, name, member, error);
      case grpc.status.RESOURCE_EXHAUSTED:
        if (/larger than max/i.test(details)) {
          return this.error('SOURCE_RESPONSE_TOO_LARGE', 'Response too large', `more than ${this.options.maxReceiveMessageSize} bytes`, name, member, error);
        }
        break;
    }
    return this.error('GRPC_STATUS', `gRPC ${name}`, details, name, member, error);
  }

  /**
   * Transport failures (timeout, unavailable, too large) name their cause in
   * the message, in Tessera's words. For any other status the upstream's own
   * message is kept aside in `grpcMessage`, for the source to expose or mask.
   */
  private error(code: ErrorCode, what: string, detail: string, grpcCode: string, member: Member, cause?: unknown): TesseraError {
    const own = code !== 'GRPC_STATUS';
    const message = `${what} from subgraph "${this.options.subgraph}"${own ? `: ${detail}` : ''}`;
    const error = new TesseraError(code, message, {
      extensions: { subgraph: this.options.subgraph, grpc: { code: grpcCode } },
      cause: cause instanceof Error ? cause : new Error(`${detail} (${member.url})`),
    });
    (error as GrpcTransportError).grpcMessage = detail;
    return error;
  }

  /** One health check of `member` (health.ts): grpc.health.v1.Health/Check; healthy when SERVING. */
  private check(member: Member, timeoutMs: number): Promise<string | undefined> {
    const pass = (bytes: Buffer): Buffer => bytes;
    return new Promise((resolve) => {
      const health = this.options.health!;
      member.client.makeUnaryRequest(HEALTH_CHECK, pass, pass, healthRequest(health.service), this.metadataOf(health.headers), { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) {
          resolve(error.code === grpc.status.DEADLINE_EXCEEDED ? `no answer within ${timeoutMs} ms` : `${grpc.status[error.code] ?? error.code}: ${error.details}`);
          return;
        }
        const status = servingStatus(response!);
        resolve(status === 1 ? undefined : (SERVING_STATUS[status] ?? `status ${status}`));
      });
    });
  }

  /** Stops discovery and the checks, and closes every channel (calls already started finish; grpc-js cancels those not started). */
  async close(): Promise<void> {
    this.closing.abort();
    this.pipeline.close();
    this.shadowMember?.client.close();
    await this.set.close();
  }
}

/** The span of a gRPC call (OpenTelemetry's RPC conventions): `package.Service/Method`. */
/** Span shapes by method path, and outcomes by status code: made once each, frozen (the exporter encodes each once). */
const grpcShapes = new Map<string, SpanShape>();
const MAX_GRPC_SHAPES = 1000;
const grpcOutcomes: SpanOutcome[] = [];

function grpcSpan(path: string): SpanShape {
  let shape = grpcShapes.get(path);
  if (shape) return shape;
  const name = path.startsWith('/') ? path.slice(1) : path;
  const slash = name.lastIndexOf('/');
  shape = Object.freeze({ name, attributes: Object.freeze({ 'rpc.system': 'grpc', 'rpc.service': name.slice(0, slash), 'rpc.method': name.slice(slash + 1) }) });
  if (grpcShapes.size < MAX_GRPC_SHAPES) grpcShapes.set(path, shape);
  return shape;
}

/** The outcome of a gRPC status code (0 to 16) on a span. */
function grpcOutcome(status: number): SpanOutcome {
  return (grpcOutcomes[status] ??= Object.freeze({ attributes: Object.freeze({ 'rpc.grpc.status_code': status }) }));
}

/** The numeric gRPC status of a failure raised here (extensions.grpc.code names it); UNKNOWN when it has none. */
function grpcStatusOf(error: TesseraError): number {
  const name = (error.extensions.grpc as { code?: string } | undefined)?.code;
  const status = name ? (grpc.status as unknown as Record<string, number>)[name] : undefined;
  return status ?? grpc.status.UNKNOWN;
}

function withHeaders(metadata: grpc.Metadata, headers: Readonly<Record<string, string>>): grpc.Metadata {
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  return metadata;
}

/** A TesseraError raised here carries the upstream's status message, for the source to expose or mask. */
export type GrpcTransportError = TesseraError & { grpcMessage?: string };
