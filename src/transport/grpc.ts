/**
 * One gRPC upstream (all instances of one subgraph): a @grpc/grpc-js client
 * (one HTTP/2 channel) per instance, created once and reused by every call;
 * weighted choice among the instances; a deadline on every call, capped by
 * what is left of the request's own deadline; `call.cancel()` when the request
 * scope aborts; retries only for read-only methods and only on UNAVAILABLE.
 * Identical read-only calls within one request (same method, metadata and
 * encoded request bytes) are sent once: the answer is kept in the request
 * scope's memo. Every failure leaves here as a TesseraError with a catalog
 * code and `extensions.grpc.code`, never as a raw ServiceError.
 */
import * as grpc from '@grpc/grpc-js';
import { TesseraError, type ErrorCode } from '../errors.js';
import { WeightedBalancer } from './balancer.js';
import { chooseInstance, instanceBreaker, type BreakerOptions, type CircuitBreaker } from './breaker.js';
import { upstreamChannel, type Instance, type UpstreamEvent } from './http.js';
import { backoffDelay, RetryBudget, sleep } from './retry.js';
import type { RequestScope } from '../request-scope.js';

export interface GrpcTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

export interface GrpcUpstreamOptions {
  subgraph: string;
  instances: Instance[];
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

interface Member extends Instance {
  client: grpc.Client;
  breaker?: CircuitBreaker;
}

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

export class GrpcUpstream {
  private readonly members: Member[];
  private readonly balancer: WeightedBalancer<Member>;
  private readonly budget = new RetryBudget();
  /** Where this upstream keeps a request's answers in `scope.memo`: one map per subgraph, keyed by method, metadata and request bytes. */
  private readonly memoKey: string;

  constructor(readonly options: GrpcUpstreamOptions) {
    this.memoKey = `grpc:calls:${options.subgraph}`;
    this.members = options.instances.map((instance) => {
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
      const breaker = instanceBreaker(options.breaker, options.subgraph, instance.url);
      return { ...instance, client, breaker };
    });
    this.balancer = new WeightedBalancer(this.members);
  }

  get subgraph(): string {
    return this.options.subgraph;
  }

  /**
   * One unary call, retried on UNAVAILABLE for read-only methods while the
   * deadline and the retry budget allow.
   *
   * A read-only call is made once per request: a second identical call (an
   * alias, or another path to the same data) gets the first one's answer or
   * failure from `scope.memo`. A call with side effects is never shared, and
   * when it ends it empties this upstream's memo, so that what is read after
   * a write in the same request is read again.
   */
  async unary<Req, Res>(method: GrpcMethod<Req, Res>, call: GrpcCall<Req>): Promise<Res> {
    // Encoded once, before any attempt: a request that cannot be encoded fails here with its own error, and a retry re-sends the same bytes.
    const bytes = method.serialize(call.request);
    const { memo } = call.scope;
    if (!method.readOnly) {
      try {
        return (await this.send(method, bytes, call)).value as Res;
      } finally {
        memo.delete(this.memoKey);
      }
    }
    let answers = memo.get(this.memoKey) as Map<string, Promise<Answer>> | undefined;
    if (!answers) {
      answers = new Map();
      memo.set(this.memoKey, answers);
    }
    // latin1 maps each byte to one character: a compact key, equal only for equal bytes.
    const key = `${method.path}\u0000${call.metadata ? JSON.stringify(call.metadata) : ''}\u0000${bytes.toString('latin1')}`;
    let pending = answers.get(key);
    if (!pending) {
      pending = this.send(method, bytes, call);
      answers.set(key, pending);
    }
    const answer = await pending;
    if (answer.deserialize === method.deserialize) return answer.value as Res;
    try {
      return method.deserialize(answer.bytes);
    } catch (error) {
      // What grpc-js reports when a deserializer throws, so both paths fail alike.
      const detail = `Response message parsing error: ${(error as Error).message}`;
      throw this.error('GRPC_STATUS', 'gRPC INTERNAL', detail, 'INTERNAL', answer.member, error);
    }
  }

  /** The attempts of one unary call: the first, then retries (read-only methods, UNAVAILABLE only). */
  private async send<Req, Res>(method: GrpcMethod<Req, Res>, bytes: Buffer, call: GrpcCall<Req>): Promise<Answer> {
    const { retry } = this.options;
    const attempts = method.readOnly ? retry.attempts : 1;
    const tried = new Set<Member>();
    const metadata = this.metadataOf(call.metadata);
    this.budget.recordCall();
    for (let attempt = 0; ; attempt++) {
      const member = this.choose(tried);
      tried.add(member);
      try {
        const response = await this.attempt(member, method, bytes, call.scope, metadata, attempt);
        member.breaker?.record(true);
        return { ...response, deserialize: method.deserialize, member };
      } catch (error) {
        const code = (error as TesseraError).code;
        this.recordFailure(member, error as TesseraError, call.scope);
        if (attempt + 1 >= attempts || code !== 'SOURCE_UNAVAILABLE') throw error;
        const wait = backoffDelay(attempt, retry.backoff);
        if (!this.canRetry(call.scope, wait)) throw error;
        await sleep(wait, call.scope.signal).catch(() => undefined);
      }
    }
  }

  /**
   * A server-streaming call as an async iterator. Ending the iteration early
   * (the subscriber went away) or aborting the scope cancels the call upstream.
   */
  async *serverStream<Req, Res>(method: GrpcMethod<Req, Res>, call: GrpcCall<Req>): AsyncGenerator<Res, void, undefined> {
    const bytes = method.serialize(call.request);
    const member = this.choose(new Set());
    const { scope } = call;
    const started = performance.now();
    const event = this.event(member, method.path, 0);
    const remaining = scope.deadline - Date.now();
    const limit = this.options.streamTimeout > 0 ? Math.min(this.options.streamTimeout, remaining) : remaining;
    if (limit <= 0 || scope.signal.aborted) {
      const error = this.scopeError(scope, member, limit);
      this.publish(event, started, error.code);
      throw error;
    }
    const stream = member.client.makeServerStreamRequest(method.path, passBytes, method.deserialize, bytes, this.metadataOf(call.metadata), {
      deadline: Date.now() + limit,
    });
    const onAbort = (): void => stream.cancel();
    scope.onAbort(onAbort);
    let code: string | undefined;
    let finished = false;
    try {
      for await (const message of stream as AsyncIterable<Res>) yield message;
      finished = true;
    } catch (error) {
      const mapped = this.mapError(error, member, scope, limit, started);
      code = mapped.code;
      this.recordFailure(member, mapped, scope);
      throw mapped;
    } finally {
      scope.offAbort(onAbort);
      // A no-op when the stream already ended; otherwise the consumer left early (return()).
      if (!finished) stream.cancel();
      this.publish(event, started, code);
    }
  }

  /**
   * A bidirectional stream to the first instance, for start-up work such as
   * server reflection: not balanced, not retried, bounded by `timeoutMs`.
   */
  duplex<Req, Res>(path: string, serialize: (value: Req) => Buffer, deserialize: (bytes: Buffer) => Res, timeoutMs: number): grpc.ClientDuplexStream<Req, Res> {
    return this.members[0]!.client.makeBidiStreamRequest(path, serialize, deserialize, new grpc.Metadata(), { deadline: Date.now() + timeoutMs });
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

  /** Failures the client caused (it went away) say nothing of the instance. */
  private recordFailure(member: Member, error: TesseraError, scope: RequestScope): void {
    if (!member.breaker || error.code === 'REQUEST_ABORTED' || scope.signal.aborted) return;
    const grpcCode = (error.extensions.grpc as { code?: string } | undefined)?.code;
    const status = grpcCode ? (grpc.status as unknown as Record<string, number>)[grpcCode] : undefined;
    member.breaker.record(status === undefined || !UNHEALTHY.has(status));
  }

  /** A retry must fit in what is left of the deadline and in the retry budget. */
  private canRetry(scope: RequestScope, waitMs: number): boolean {
    if (scope.signal.aborted) return false;
    if (Date.now() + waitMs >= scope.deadline - 10) return false;
    return this.budget.tryRetry();
  }

  /** One attempt on one instance; the answer keeps its bytes beside the decoded value (see Answer). */
  private attempt(member: Member, method: GrpcMethod<never, unknown>, bytes: Buffer, scope: RequestScope, metadata: grpc.Metadata, attempt: number): Promise<{ bytes: Buffer; value: unknown }> {
    const started = performance.now();
    const event = this.event(member, method.path, attempt);
    const timeoutMs = Math.min(this.options.timeout, scope.deadline - Date.now());
    if (timeoutMs <= 0 || scope.signal.aborted) {
      const error = this.scopeError(scope, member, timeoutMs);
      this.publish(event, started, error.code);
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => unaryCall.cancel();
      const unaryCall = member.client.makeUnaryRequest(
        method.path,
        passBytes,
        // Decoded inside grpc-js, so that a message that cannot be decoded fails the call as INTERNAL (and counts against the instance).
        (response: Buffer) => ({ bytes: response, value: method.deserialize(response) }),
        bytes,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          scope.offAbort(onAbort);
          if (error) {
            const mapped = this.mapError(error, member, scope, timeoutMs, started);
            this.publish(event, started, mapped.code);
            reject(mapped);
          } else {
            this.publish(event, started, undefined);
            resolve(response!);
          }
        },
      );
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

  private event(member: Member, path: string, attempt: number): UpstreamEvent {
    return { subgraph: this.options.subgraph, instance: member.url, version: member.version, method: path, durationMs: 0, attempt };
  }

  private publish(event: UpstreamEvent, started: number, code: string | undefined): void {
    if (!upstreamChannel.hasSubscribers) return;
    event.durationMs = performance.now() - started;
    if (code) event.code = code;
    upstreamChannel.publish(event);
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

  close(): Promise<void> {
    for (const member of this.members) member.client.close();
    return Promise.resolve();
  }
}

/** A TesseraError raised here carries the upstream's status message, for the source to expose or mask. */
export type GrpcTransportError = TesseraError & { grpcMessage?: string };
