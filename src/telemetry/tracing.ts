/**
 * OpenTelemetry tracing of client requests (telemetry.tracing). This module
 * loads the OpenTelemetry SDK; gateway.ts imports it with `import()` only
 * when tracing is on, so a gateway without tracing loads none of it.
 *
 * One SERVER span per HTTP request, children for parse, validate and the
 * route decision (plugins/use-router.ts), and one CLIENT span per upstream
 * attempt or stream (transport/stages/trace.ts, and the streams of
 * transport/http.ts and grpc.ts). The request's trace travels on the request
 * scope (`scope.trace`, a RequestTrace): layers below ask for spans through it
 * and never import OpenTelemetry.
 *
 * A client's W3C `traceparent`/`tracestate` is continued when
 * `acceptClientContext` is on (a malformed one is ignored: a new trace
 * starts); its sampled flag decides for its trace (parent-based sampling),
 * `sampling` decides for new traces. An unsampled request still propagates
 * its context (flag 00), so the upstreams agree not to record it.
 *
 * Export is batched (BatchSpanProcessor: a bounded queue, spans beyond it are
 * dropped): a slow or dead collector never slows or fails a request; its
 * failures are logged once per burst (one warn line when exports start
 * failing, one info line when they work again).
 */
import {
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { TracingConfig } from '../config/telemetry.js';
import type { Logger } from '../logger.js';
import type { RequestScope, RequestTrace, TraceAttributes, TraceSpan, UpstreamSpan } from '../request-scope.js';

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

const headersGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

/** Values OpenTelemetry accepts: undefined ones left out. */
function defined(attributes: TraceAttributes | undefined): Record<string, string | number | boolean> | undefined {
  if (!attributes) return undefined;
  const out: Record<string, string | number | boolean> = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function finish(span: Span, attributes: TraceAttributes | undefined, errorCode: string | undefined): void {
  const values = defined(attributes);
  if (values) span.setAttributes(values);
  if (errorCode) {
    span.setAttribute('error.type', errorCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  }
  span.end();
}

class Step implements TraceSpan {
  constructor(protected readonly span: Span) {}

  end(attributes?: TraceAttributes, errorCode?: string): void {
    finish(this.span, attributes, errorCode);
  }
}

class Upstream extends Step implements UpstreamSpan {
  constructor(
    span: Span,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(span);
  }
}

/** One traced request: its SERVER span, and what its hooks gathered for it. */
class TracedRequest implements RequestTrace {
  /** The context whose active span is the request's: the parent of every other span of the request. */
  readonly context: Context;
  operation?: { name?: string; type: string };
  scope?: RequestScope;
  /** The first error code of each result, in order. */
  readonly codes: string[] = [];

  constructor(
    readonly root: Span,
    parent: Context,
    private readonly tracer: Tracer,
    private readonly propagator: W3CTraceContextPropagator,
  ) {
    this.context = trace.setSpan(parent, root);
  }

  span(name: string, attributes?: TraceAttributes): TraceSpan {
    return new Step(this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes: defined(attributes) }, this.context));
  }

  startUpstream(name: string, attributes: TraceAttributes): UpstreamSpan {
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: defined(attributes) }, this.context);
    const headers: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(this.context, span), headers, defaultTextMapSetter);
    return new Upstream(span, headers);
  }
}

/**
 * The exporter, watched: the first failed export of a burst is one warn line
 * for the person on call (where to, why, what it means), the first success
 * after it one info line. The spans of a failed export are dropped.
 */
export class WatchedExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
    private readonly endpoint: string,
    /** Shut down with the gateway (the OTLP exporter made here), or only flushed (an embedder's, which it owns). */
    private readonly owned: boolean,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        if (!this.failing) {
          this.failing = true;
          this.logger.warn(
            { endpoint: this.endpoint, err: result.error, dropped: spans.length },
            'trace export failed: spans are dropped until the collector answers again (requests are not affected); check telemetry.tracing.exporter.endpoint and that the collector is up',
          );
        }
      } else if (this.failing) {
        this.failing = false;
        this.logger.info({ endpoint: this.endpoint }, 'trace export works again');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.owned ? this.inner.shutdown() : this.forceFlush();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

async function otlpExporter(config: TracingConfig): Promise<SpanExporter> {
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ url: config.exporter.endpoint, headers: config.exporter.headers, timeoutMillis: config.exporter.timeout });
}

/** The operation a request runs: the one named, or the only one of the document (undefined when it cannot be told). */
function operationOf(document: { definitions: readonly { kind: string; operation?: string; name?: { value: string } }[] }, name: string | null | undefined): { name?: string; type: string } | undefined {
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  const chosen = name ? operations.find((d) => d.name?.value === name) : operations.length === 1 ? operations[0] : undefined;
  return chosen?.operation ? { name: chosen.name?.value, type: chosen.operation } : undefined;
}

export async function createTracing(options: TracingOptions): Promise<Tracing> {
  const { config, logger } = options;
  const exporter = options.exporter ?? (await otlpExporter(config));
  const processor = new BatchSpanProcessor(new WatchedExporter(exporter, logger, config.exporter.endpoint ?? 'spanExporter', !options.exporter), {
    maxQueueSize: MAX_QUEUE,
    maxExportBatchSize: MAX_BATCH,
    scheduledDelayMillis: EXPORT_DELAY_MS,
    exportTimeoutMillis: config.exporter.timeout,
  });
  // Not registered globally: this gateway's spans only, several gateways in one process apart.
  const provider = new BasicTracerProvider({
    // process.pid tells the workers of `tessera serve --workers N` apart: each exports its own spans.
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'process.pid': process.pid }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampling) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('tessera');
  const propagator = new W3CTraceContextPropagator();
  const accept = config.acceptClientContext;

  const plugin = (channel: string): Plugin<{ tessera?: RequestScope }> => {
    const requests = new WeakMap<Request, TracedRequest>();
    const of = (context: unknown): TracedRequest | undefined => {
      const request = (context as { request?: Request } | undefined)?.request;
      return request && requests.get(request);
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
    return {
      onRequest({ request, url }) {
        // A malformed traceparent extracts nothing: the request starts a trace of its own.
        const parent = accept ? propagator.extract(ROOT_CONTEXT, request.headers, headersGetter) : ROOT_CONTEXT;
        const root = tracer.startSpan(
          `${request.method} ${url.pathname}`,
          { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': url.pathname, 'tessera.channel': channel } },
          parent,
        );
        requests.set(request, new TracedRequest(root, parent, tracer, propagator));
      },
      onParse({ context }) {
        const traced = of(context);
        if (!traced) return;
        const span = traced.span('graphql.parse');
        return ({ result }) => span.end(undefined, result instanceof Error ? 'GRAPHQL_PARSE_FAILED' : undefined);
      },
      onValidate({ context }) {
        const traced = of(context);
        if (!traced) return;
        const span = traced.span('graphql.validate');
        return ({ valid }) => span.end(undefined, valid ? undefined : 'GRAPHQL_VALIDATION_FAILED');
      },
      onExecute({ args }) {
        attach(args.contextValue, args.document, args.operationName);
      },
      onSubscribe({ args }) {
        attach(args.contextValue, args.document, args.operationName);
      },
      onResultProcess({ request, result }) {
        const traced = requests.get(request);
        if (!traced) return;
        for (const each of Array.isArray(result) ? result : [result]) {
          const errors = (each as { errors?: readonly GraphQLError[] } | undefined)?.errors;
          const code = errors?.[0]?.extensions?.code;
          if (errors?.length) traced.codes.push(typeof code === 'string' ? code : 'ERROR');
        }
      },
      onResponse({ request, response }) {
        const traced = requests.get(request);
        if (!traced) return;
        requests.delete(request);
        const { root, operation, scope, codes } = traced;
        if (operation) root.updateName(operation.name ? `${operation.type} ${operation.name}` : operation.type);
        const failed = codes[0] ?? (response.status >= 500 ? `HTTP_${response.status}` : undefined);
        finish(
          root,
          {
            'graphql.operation.name': operation?.name,
            'graphql.operation.type': operation?.type,
            'tessera.route': scope?.route?.route,
            'tessera.request_id': scope?.requestId ?? response.headers.get('x-request-id') ?? undefined,
            'tessera.error_codes': codes.length > 0 ? codes.join(',') : undefined,
            'http.response.status_code': response.status,
          },
          failed,
        );
      },
    };
  };

  return {
    plugin,
    async close() {
      try {
        await provider.shutdown();
      } catch (error) {
        logger.warn({ err: error }, 'trace export at shutdown failed: the last spans are lost');
      }
    },
  };
}
