/**
 * Tracing of client requests (telemetry.tracing), with spans of our own
 * (trace-span.ts) exported over OTLP/HTTP JSON (otlp-json.ts,
 * trace-export.ts): no OpenTelemetry module is loaded for it, only for an
 * embedder's SpanExporter (trace-sdk.ts). gateway.ts imports this module with
 * `import()` only when tracing is on, so a gateway without tracing loads none
 * of it.
 *
 * One SERVER span per HTTP request, children for parse, validate and the
 * route decision (plugins/use-router.ts), and one CLIENT span per upstream
 * attempt or stream (transport/stages/trace.ts, and the streams of
 * transport/http.ts and grpc.ts). The request's trace travels on the request
 * scope (`scope.trace`, a RequestTrace): layers below ask for spans through it.
 *
 * A client's W3C `traceparent`/`tracestate` is continued when
 * `acceptClientContext` is on (a malformed one is ignored: a new trace
 * starts); its sampled flag decides for its trace (parent-based sampling),
 * `sampling` decides for new traces, once per request at the request span.
 * An unsampled request records nothing and still propagates its context
 * (flag 00), so the upstreams agree not to record it.
 *
 * Export is batched (trace-export.ts: a bounded queue, spans beyond it are
 * dropped): a slow or dead collector never slows or fails a request; its
 * failures are logged once per burst.
 */
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/telemetry.js';
import type { Logger } from '../logger.js';
import type { RequestScope, RequestTrace, TraceAttributes, TraceSpan, UpstreamSpan } from '../request-scope.js';
import { otlpJsonEncoder } from './otlp-json.js';
import { OtlpHttpSink, SpanQueue, type SpanSink } from './trace-export.js';
import { KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, LeanSpan, newSpanId, newTraceId, upstreamHeaders } from './trace-span.js';

export type { SpanExporter };

export interface TracingOptions {
  config: TracingConfig;
  /** Where spans go instead of the OTLP/HTTP exporter (createGateway's `spanExporter`); flushed on close, never shut down (its owner does that). */
  exporter?: SpanExporter;
  logger: Logger;
}

export interface Tracing {
  /** The Yoga plugin that traces the requests of one channel; first in the chain, so it sees every request. */
  plugin(channel: string): Plugin<{ tessera?: RequestScope }>;
  /** Exports the spans still queued, then stops (gateway.close()). */
  close(): Promise<void>;
}

/** Most spans waiting for export; beyond it new spans are dropped (a dead collector must not grow memory). */
const MAX_QUEUE = 2048;
const MAX_BATCH = 512;
const EXPORT_DELAY_MS = 2_000;
/** A batch the collector could not take for a passing reason is sent again up to 3 times, after about 1 s, 2 s and 4 s (trace-export.ts). */
const EXPORT_RETRY = { retries: 3, backoffMs: 1_000 };
/** Request span names and attributes kept per channel (method and path pairs). */
const MAX_STARTS = 64;
/** The instrumentation scope of every span. */
const SCOPE = 'tessera';

/** W3C traceparent, as OpenTelemetry's propagator reads it: version ff and all-zero ids refused, nothing after the flags in version 00. */
const TRACEPARENT = /^\s?((?!ff)[\da-f]{2})-((?![0]{32})[\da-f]{32})-((?![0]{16})[\da-f]{16})-([\da-f]{2})(-.*)?\s?$/;
/** W3C tracestate list members (https://www.w3.org/TR/trace-context/#key), as OpenTelemetry's TraceState keeps them. */
const TRACESTATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[ -~]{0,255}[!-~]$/;
const MAX_TRACESTATE = 512;
const MAX_TRACESTATE_MEMBERS = 32;

/** The client's trace context, when it sent a valid one. */
interface ClientContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  traceState: string | undefined;
}

/** The valid members of a client's tracestate, in order, within W3C's limits (32 members, 512 characters); undefined when none is. */
export function cleanTraceState(header: string | null): string | undefined {
  if (!header) return undefined;
  let out = '';
  let members = 0;
  for (const raw of header.split(',')) {
    const member = raw.trim();
    const eq = member.indexOf('=');
    if (eq === -1) continue;
    const value = member.slice(eq + 1);
    if (!TRACESTATE_KEY.test(member.slice(0, eq)) || !TRACESTATE_VALUE.test(value) || value.includes('=')) continue;
    if (out.length + member.length + (members > 0 ? 1 : 0) > MAX_TRACESTATE || members === MAX_TRACESTATE_MEMBERS) break;
    out += (members++ > 0 ? ',' : '') + member;
  }
  return out === '' ? undefined : out;
}

export function clientContext(headers: Headers): ClientContext | undefined {
  const header = headers.get('traceparent');
  if (!header) return undefined;
  const match = TRACEPARENT.exec(header);
  // Future versions may add fields after the flags; version 00 may not.
  if (!match || (match[1] === '00' && match[5])) return undefined;
  return { traceId: match[2]!, spanId: match[3]!, sampled: (parseInt(match[4]!, 16) & 1) === 1, traceState: cleanTraceState(headers.get('tracestate')) };
}

/** What every traced request keeps, recorded or not: its hooks' findings for the request span. */
interface RequestState extends RequestTrace {
  operation?: Operation;
  scope?: RequestScope;
  /** The first error code of each result, in order. */
  readonly codes: string[];
  /** The request span, when recorded. */
  readonly root: LeanSpan | undefined;
  /** An operation over WebSocket: no HTTP response ends it, the end of its execution or stream does. */
  socket?: boolean;
}

const NO_SPAN: TraceSpan = { end() {} };

/** A request that is not recorded: no span is kept, its context still goes upstream with flag 00 (a new span id per call, as OpenTelemetry's non-recording spans have). */
class UnsampledRequest implements RequestState {
  operation?: Operation;
  scope?: RequestScope;
  socket?: boolean;
  readonly codes: string[] = [];
  readonly root = undefined;

  constructor(
    private readonly traceId: string,
    private readonly traceState: string | undefined,
  ) {}

  span(): TraceSpan {
    return NO_SPAN;
  }

  startUpstream(): UpstreamSpan {
    return { headers: upstreamHeaders(this.traceId, newSpanId(), false, this.traceState), end() {} };
  }
}

/** A recorded request: its SERVER span, the parent of every other span of the request. */
class SampledRequest implements RequestState {
  operation?: Operation;
  scope?: RequestScope;
  socket?: boolean;
  readonly codes: string[] = [];

  constructor(
    private readonly queue: SpanQueue,
    readonly root: LeanSpan,
  ) {}

  span(name: string, attributes?: TraceAttributes): TraceSpan {
    const { root } = this;
    return new LeanSpan(this.queue, name, KIND_INTERNAL, root.traceId, root.spanId, false, root.traceState, undefined, attributes, undefined);
  }

  startUpstream(name: string, instance: TraceAttributes, attributes: TraceAttributes, attempt: number): UpstreamSpan {
    const { root } = this;
    return new LeanSpan(this.queue, name, KIND_CLIENT, root.traceId, root.spanId, false, root.traceState, instance, attributes, attempt);
  }
}

/** The operation a request runs, with the request span's name for it (`query Name`, or the type alone). */
interface Operation {
  name?: string;
  type: string;
  spanName: string;
}

type Document = { definitions: readonly { kind: string; operation?: string; name?: { value: string } }[] };

/** Operations by document (documents are cached and shared by requests: useDocumentCache) and operation name: found once each. */
const operations = new WeakMap<Document, Map<string, Operation | null>>();

/** The operation a request runs: the one named, or the only one of the document (undefined when it cannot be told). */
function operationOf(document: Document, name: string | null | undefined): Operation | undefined {
  let byName = operations.get(document);
  if (!byName) operations.set(document, (byName = new Map()));
  const key = name ?? '';
  let found = byName.get(key);
  if (found === undefined) {
    found = findOperation(document, name) ?? null;
    // Names a client sends for a document: a few; a bound all the same.
    if (byName.size < 64) byName.set(key, found);
  }
  return found ?? undefined;
}

function findOperation(document: Document, name: string | null | undefined): Operation | undefined {
  let chosen: Document['definitions'][number] | undefined;
  let count = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== 'OperationDefinition') continue;
    count++;
    if (name ? definition.name?.value === name : count === 1) chosen = definition;
  }
  if ((!name && count !== 1) || !chosen?.operation) return undefined;
  const operationName = chosen.name?.value;
  return { name: operationName, type: chosen.operation, spanName: operationName ? `${chosen.operation} ${operationName}` : chosen.operation };
}

export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const { config, logger } = options;
  // process.pid tells the workers of `tessera serve --workers N` apart: each exports its own spans.
  const resource = Object.freeze({ 'service.name': config.serviceName, 'process.pid': process.pid });
  let sink: SpanSink;
  if (options.exporter) {
    const { exporterSink } = await import('./trace-sdk.js');
    sink = await exporterSink(options.exporter, resource, SCOPE);
  } else {
    sink = new OtlpHttpSink({ endpoint: config.exporter.endpoint!, headers: config.exporter.headers, timeoutMs: config.exporter.timeout, encode: otlpJsonEncoder(resource, SCOPE) });
  }
  const queue = new SpanQueue(sink, logger, {
    maxQueue: MAX_QUEUE,
    maxBatch: MAX_BATCH,
    delayMs: EXPORT_DELAY_MS,
    endpoint: config.exporter.endpoint ?? 'spanExporter',
    // An embedder's SpanExporter retries as it was built to; the queue does not add its own tries.
    ...(options.exporter ? { retries: 0, backoffMs: 0 } : EXPORT_RETRY),
  });
  const ratio = config.sampling;
  const accept = config.acceptClientContext;

  const plugin = (channel: string): Plugin<{ tessera?: RequestScope }> => {
    const requests = new WeakMap<Request, RequestState>();
    // The request span's name and first attributes by method, then path, made once each (frozen: encoded once).
    const starts = new Map<string, Map<string, { name: string; attributes: TraceAttributes }>>();
    let startCount = 0;
    const startOf = (method: string, path: string): { name: string; attributes: TraceAttributes } => {
      let byPath = starts.get(method);
      if (!byPath) starts.set(method, (byPath = new Map()));
      let start = byPath.get(path);
      if (!start) {
        start = { name: `${method} ${path}`, attributes: Object.freeze({ 'http.request.method': method, 'url.path': path, 'tessera.channel': channel }) };
        // Yoga answers a channel's GraphQL path (and its GraphiQL page): a handful of entries; a bound all the same.
        if (startCount < MAX_STARTS) {
          byPath.set(path, start);
          startCount++;
        }
      }
      return start;
    };
    /** A request's trace, begun from its headers (a client's W3C context, when accepted) and sampled once. */
    const begin = (request: Request, path: string): RequestState => {
      // A malformed traceparent is no context: the request starts a trace of its own.
      const client = accept ? clientContext(request.headers) : undefined;
      const sampled = client ? client.sampled : ratio >= 1 || (ratio > 0 && Math.random() < ratio);
      const traceId = client ? client.traceId : newTraceId();
      const traceState = client?.traceState;
      let traced: RequestState;
      if (!sampled) traced = new UnsampledRequest(traceId, traceState);
      else {
        const start = startOf(request.method, path);
        traced = new SampledRequest(queue, new LeanSpan(queue, start.name, KIND_SERVER, traceId, client?.spanId, client !== undefined, traceState, undefined, start.attributes, undefined));
      }
      requests.set(request, traced);
      return traced;
    };
    /**
     * The trace of the request in `context`. An operation over WebSocket (server/websocket.ts) never passes
     * onRequest: its request (one per operation, carrying the upgrade's headers) is begun here, at its parse.
     */
    const of = (context: unknown, orBegin = false): RequestState | undefined => {
      const request = (context as { request?: Request } | undefined)?.request;
      if (!request) return undefined;
      const traced = requests.get(request);
      if (traced || !orBegin) return traced;
      const socket = begin(request, new URL(request.url).pathname);
      socket.socket = true;
      return socket;
    };
    const attach = (context: { tessera?: RequestScope }, document: Parameters<typeof operationOf>[0], name: string | null | undefined): void => {
      const traced = of(context);
      if (!traced) return;
      traced.operation = operationOf(document, name) ?? traced.operation;
      if (context.tessera) {
        context.tessera.trace = traced;
        traced.scope = context.tessera;
      }
    };
    /** Ends the request span: the operation, route, request id and error codes as attributes; status ERROR on an error code or a 5xx. */
    const finish = (request: Request, traced: RequestState, status: number | undefined, requestId: string | undefined): void => {
      requests.delete(request);
      const { root, operation, scope, codes } = traced;
      if (!root) return;
      if (operation) root.name = operation.spanName;
      const failed = codes[0] ?? (status !== undefined && status >= 500 ? `HTTP_${status}` : undefined);
      root.end(
        {
          'graphql.operation.name': operation?.name,
          'graphql.operation.type': operation?.type,
          'tessera.route': scope?.route?.route,
          'tessera.request_id': scope?.requestId ?? requestId,
          'tessera.error_codes': codes.length > 0 ? codes.join(',') : undefined,
          'http.response.status_code': status,
        },
        failed,
      );
    };
    /** Over WebSocket: the span of an operation ends with its result, or with its stream (a subscription, @defer). */
    const socketEnd = (context: unknown): ((options: { result: unknown }) => { onNext(options: { result: unknown }): void; onEnd(): void } | void) | undefined => {
      const request = (context as { request?: Request } | undefined)?.request;
      const traced = request && requests.get(request);
      if (!request || !traced?.socket) return undefined;
      return ({ result }) => {
        if (!isAsyncIterable(result)) {
          noteErrors(traced, result);
          return finish(request, traced, undefined, undefined);
        }
        return { onNext: ({ result: next }) => noteErrors(traced, next), onEnd: () => finish(request, traced, undefined, undefined) };
      };
    };
    return {
      onRequest({ request, url }) {
        begin(request, url.pathname);
      },
      onParse({ context }) {
        const traced = of(context, true);
        if (!traced?.root) return;
        const span = traced.span('graphql.parse');
        return ({ result }) => span.end(undefined, result instanceof Error ? 'GRAPHQL_PARSE_FAILED' : undefined);
      },
      onValidate({ context }) {
        const traced = of(context);
        if (!traced?.root) return;
        const span = traced.span('graphql.validate');
        return ({ valid }) => span.end(undefined, valid ? undefined : 'GRAPHQL_VALIDATION_FAILED');
      },
      onExecute({ args }) {
        attach(args.contextValue, args.document, args.operationName);
        const end = socketEnd(args.contextValue);
        if (end) return { onExecuteDone: end };
      },
      onSubscribe({ args }) {
        attach(args.contextValue, args.document, args.operationName);
        const end = socketEnd(args.contextValue);
        if (end) return { onSubscribeResult: end, onSubscribeError: () => end({ result: undefined }) };
      },
      onResultProcess({ request, result }) {
        const traced = requests.get(request);
        if (!traced?.root) return;
        if (Array.isArray(result)) for (const each of result) noteErrors(traced, each);
        else noteErrors(traced, result);
      },
      onResponse({ request, response }) {
        const traced = requests.get(request);
        if (traced) finish(request, traced, response.status, response.headers.get('x-request-id') ?? undefined);
      },
    };
  };

  return {
    plugin,
    async close() {
      try {
        await queue.close();
      } catch (error) {
        logger.warn({ err: error }, 'trace export at shutdown failed: the last spans are lost');
      }
    },
  };
}

/** The first error code of a result, when it has errors. */
function noteErrors(traced: RequestState, result: unknown): void {
  const errors = (result as { errors?: readonly GraphQLError[] } | undefined)?.errors;
  if (!errors?.length) return;
  const code = errors[0]?.extensions?.code;
  traced.codes.push(typeof code === 'string' ? code : 'ERROR');
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
