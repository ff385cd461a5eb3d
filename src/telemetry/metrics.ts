/**
 * Prometheus metrics of one gateway (prom-client), served at
 * telemetry.metrics.path. One Registry per gateway, never prom-client's
 * global one, so several gateways in one process (the tests) keep their own
 * counts.
 *
 * Metrics observe, they change nothing: upstream calls, breaker changes,
 * dedupe joins and response-cache lookups arrive on diagnostics channels (by
 * name: telemetry/ does not import transport/ or plugins/), requests through the Yoga plugin of
 * `requestPlugin()`. Label values are bounded: operation names past
 * `maxOperations` distinct ones count as `__overflow`, unnamed operations as
 * `__anonymous`, requests refused before an operation was chosen as
 * `__unknown`; no identity ever becomes a label.
 *
 * The diagnostics channels are process-wide: a second gateway in the same
 * process would count the other's upstream calls of subgraphs it also has.
 * Events of subgraphs this gateway does not serve are ignored.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { RequestScope } from '../request-scope.js';

/** The fields of a `tessera:upstream` event read here (transport/stages/observe.ts publishes one per attempt). */
interface UpstreamEvent {
  subgraph: string;
  instance: string;
  version?: string;
  status?: number;
  code?: string;
  durationMs: number;
  attempt: number;
}

/** The fields of a `tessera:breaker` event read here (transport/breaker.ts). */
interface BreakerEvent {
  subgraph: string;
  instance: string;
  state: 'closed' | 'open' | 'half-open';
}

export interface MetricsOptions {
  /** Names of the subgraphs this gateway serves; upstream and breaker events of others are ignored. */
  subgraphs: readonly string[];
  /** Distinct operation names kept as labels; later ones count as `__overflow`. */
  maxOperations: number;
}

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const ANONYMOUS = '__anonymous';
export const UNKNOWN = '__unknown';
export const OVERFLOW = '__overflow';

/** What a request carries from its first hook to onResponse. */
interface RequestState {
  started: number;
  operation: string;
  scope?: RequestScope;
  code: string;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly operations = new Set<string>();
  private readonly subgraphs: ReadonlySet<string>;
  private readonly requests: Counter<'operation' | 'channel' | 'route' | 'code'>;
  private readonly requestSeconds: Histogram<'operation' | 'channel' | 'route'>;
  private readonly upstreamCalls: Counter<'subgraph' | 'instance' | 'version' | 'code'>;
  private readonly upstreamSeconds: Histogram<'subgraph' | 'instance' | 'version'>;
  private readonly retries: Counter<'subgraph' | 'instance' | 'version'>;
  private readonly breakerState: Gauge<'subgraph' | 'instance'>;
  private readonly breakerTransitions: Counter<'subgraph' | 'instance' | 'state'>;
  private readonly dedupeHits: Counter<'channel'>;
  private readonly cacheLookups: Counter<'channel' | 'result'>;
  private readonly listeners: Array<[string, (message: unknown) => void]> = [];

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    this.subgraphs = new Set(options.subgraphs);
    this.requests = new Counter({
      name: 'tessera_requests_total',
      help: 'GraphQL requests answered, by operation name, channel, route (direct, planned, stitched, none) and first error code (OK without errors).',
      labelNames: ['operation', 'channel', 'route', 'code'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'tessera_request_duration_seconds',
      help: 'Time from the request reaching Yoga to its response, by operation name, channel and route.',
      labelNames: ['operation', 'channel', 'route'],
      buckets: SECONDS,
      registers,
    });
    this.upstreamCalls = new Counter({
      name: 'tessera_upstream_calls_total',
      help: 'Upstream call attempts, by subgraph, instance, version and outcome code (OK, HTTP_4xx, HTTP_5xx, or the gateway error code such as UPSTREAM_TIMEOUT).',
      labelNames: ['subgraph', 'instance', 'version', 'code'],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: 'tessera_upstream_duration_seconds',
      help: 'Duration of upstream call attempts, by subgraph, instance and version.',
      labelNames: ['subgraph', 'instance', 'version'],
      buckets: SECONDS,
      registers,
    });
    this.retries = new Counter({
      name: 'tessera_upstream_retries_total',
      help: 'Upstream attempts that were retries of an earlier attempt of the same call.',
      labelNames: ['subgraph', 'instance', 'version'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'tessera_breaker_state',
      help: 'Circuit breaker state of an upstream instance: 0 closed, 1 half-open, 2 open (absent until its first change).',
      labelNames: ['subgraph', 'instance'],
      registers,
    });
    this.breakerTransitions = new Counter({
      name: 'tessera_breaker_transitions_total',
      help: 'Circuit breaker changes of an upstream instance, by the state entered.',
      labelNames: ['subgraph', 'instance', 'state'],
      registers,
    });
    this.dedupeHits = new Counter({
      name: 'tessera_dedupe_hits_total',
      help: 'Executions that joined an identical one in flight instead of calling upstreams.',
      labelNames: ['channel'],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'tessera_response_cache_total',
      help: 'Queries the response cache looked up, by result: hit (answered from the cache) or miss.',
      labelNames: ['channel', 'result'],
      registers,
    });
    // Event-loop lag, heap, GC, CPU and file descriptors, under the usual process_/nodejs_ names.
    collectDefaultMetrics({ register: this.registry });
    this.listen('tessera:upstream', (message) => this.onUpstream(message as UpstreamEvent));
    this.listen('tessera:breaker', (message) => this.onBreaker(message as BreakerEvent));
    this.listen('tessera:dedupe', (message) => this.dedupeHits.labels((message as { channel: string }).channel).inc());
    this.listen('tessera:cache', (message) => {
      const { channel, result } = message as { channel: string; result: 'hit' | 'miss' };
      this.cacheLookups.labels(channel, result).inc();
    });
  }

  private listen(name: string, listener: (message: unknown) => void): void {
    subscribe(name, listener);
    this.listeners.push([name, listener]);
  }

  private onUpstream(event: UpstreamEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    const version = event.version ?? '';
    const code = event.code ?? (event.status !== undefined && event.status >= 400 ? `HTTP_${Math.floor(event.status / 100)}xx` : 'OK');
    this.upstreamCalls.labels(event.subgraph, event.instance, version, code).inc();
    this.upstreamSeconds.labels(event.subgraph, event.instance, version).observe(event.durationMs / 1000);
    if (event.attempt > 0) this.retries.labels(event.subgraph, event.instance, version).inc();
  }

  private onBreaker(event: BreakerEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.breakerState.labels(event.subgraph, event.instance).set(BREAKER_STATE[event.state]);
    this.breakerTransitions.labels(event.subgraph, event.instance, event.state).inc();
  }

  /** The label of an operation name: the name while fewer than maxOperations are known, else `__overflow`. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return ANONYMOUS;
    if (this.operations.has(name)) return name;
    if (this.operations.size >= this.options.maxOperations) return OVERFLOW;
    this.operations.add(name);
    return name;
  }

  /**
   * The Yoga plugin that counts and times the requests of one channel. The
   * operation name is taken at execution (the document is valid and the
   * operation chosen then), so a refused request's made-up name never takes
   * a label.
   */
  requestPlugin(channel: string): Plugin<{ tessera?: RequestScope }> {
    const states = new WeakMap<Request, RequestState>();
    return {
      onRequest: ({ request }) => {
        states.set(request, { started: performance.now(), operation: UNKNOWN, code: 'OK' });
      },
      onExecute: ({ args }) => {
        const state = states.get(args.contextValue.request as Request);
        if (!state) return;
        state.operation = this.operationLabel(args.operationName ?? operationNameOf(args.document));
        state.scope = args.contextValue.tessera;
      },
      onResultProcess: ({ request, result }) => {
        const state = states.get(request);
        const first = (Array.isArray(result) ? result[0] : result) as { errors?: readonly GraphQLError[] } | undefined;
        const code = first?.errors?.[0]?.extensions?.code;
        if (state && first?.errors?.length) state.code = typeof code === 'string' ? code : 'ERROR';
      },
      onResponse: ({ request }) => {
        const state = states.get(request);
        if (!state) return;
        const route = state.scope?.route?.route ?? 'none';
        this.requests.labels(state.operation, channel, route, state.code).inc();
        this.requestSeconds.labels(state.operation, channel, route).observe((performance.now() - state.started) / 1000);
      },
    };
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the diagnostics channels (the gateway closed). */
  close(): void {
    for (const [name, listener] of this.listeners.splice(0)) unsubscribe(name, listener);
    this.registry.clear();
  }
}

/** The name of the only operation of a document without an operationName (undefined when it has none or several). */
function operationNameOf(document: { definitions: readonly { kind: string; name?: { value: string } }[] }): string | undefined {
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  return operations.length === 1 ? operations[0]?.name?.value : undefined;
}
