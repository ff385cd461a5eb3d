/**
 * Prometheus metrics of one gateway (prom-client), served at
 * telemetry.metrics.path. One Registry per gateway, never prom-client's
 * global one, so several gateways in one process (the tests) keep their own
 * counts.
 *
 * Metrics observe, they change nothing: upstream attempts (their start and
 * their end), breaker changes, retries the budget refused, GraphQL errors
 * from upstreams and 2xx answers sources could not use, dedupe joins, response-cache lookups, rate-limit refusals
 * and node:http's own refusals arrive on diagnostics channels (by name:
 * telemetry/ does not import transport/, sources/, plugins/ or server/),
 * requests through the Yoga plugin of `requestPlugin()`, schema loads on
 * `tessera:schema` (this gateway's, by its id).
 *
 * Gateway overhead: per request, its total time minus the time it waited on
 * upstreams, that is the union of its upstream attempts' intervals (calls in
 * parallel overlap; intervals.ts counts each instant once). A request's
 * attempts are told apart by the RequestScope on their events. Label values are bounded: operation names past
 * `maxOperations` distinct ones count as `__overflow`, unnamed operations as
 * `__anonymous`, requests refused before an operation was chosen as
 * `__unknown`; no identity ever becomes a label.
 *
 * The diagnostics channels are process-wide: a second gateway in the same
 * process would count the other's upstream calls of subgraphs it also has.
 * Events of subgraphs this gateway does not serve are ignored.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily, type HistogramSeries, type ValueSeries } from './families.js';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { RequestScope } from '../request-scope.js';
import { unionLength } from './intervals.js';
import { EVENTS, type AnswerErrorEvent, type BreakerEvent, type InstanceHealthEvent, type SchemaEvent, type UpstreamEvent } from '../events.js';

export interface MetricsOptions {
  /** Names of the subgraphs this gateway serves; upstream and breaker events of others are ignored. */
  subgraphs: readonly string[];
  /** Distinct operation names kept as labels; later ones count as `__overflow`. */
  maxOperations: number;
  /** This gateway's id on `tessera:schema` events (several gateways may share a process). */
  gatewayId: string;
}

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The gateway's own time per request is far below its requests' (a fraction of a millisecond to tens of them). */
const OVERHEAD_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** The `kind` label of tessera_upstream_errors_total. */
export type UpstreamErrorKind = 'timeout' | 'connection' | 'http_4xx' | 'http_5xx' | `grpc_${string}` | 'graphql' | 'other';

/**
 * The error kind of one attempt, or undefined when it succeeded (or the
 * client went away, which says nothing of the upstream): timeout
 * (GATEWAY_TIMEOUT, gRPC DEADLINE_EXCEEDED included), connection
 * (SOURCE_UNAVAILABLE: refused, reset, DNS, gRPC UNAVAILABLE), an HTTP status
 * class, `grpc_<STATUS>` for any other gRPC status, other for the rest (an
 * answer too large, not HTTP). `graphql`, and `other` for a 2xx answer a
 * source could not use, come from `tessera:upstream:answer-error`.
 */
export function upstreamErrorKind(event: Pick<UpstreamEvent, 'code' | 'status' | 'grpcCode'>): UpstreamErrorKind | undefined {
  switch (event.code) {
    case undefined:
      if (event.status === undefined || event.status < 400) return undefined;
      return event.status >= 500 ? 'http_5xx' : 'http_4xx';
    case 'REQUEST_ABORTED':
      return undefined;
    case 'GATEWAY_TIMEOUT':
      return 'timeout';
    case 'SOURCE_UNAVAILABLE':
      return 'connection';
    case 'GRPC_STATUS':
      return event.grpcCode ? `grpc_${event.grpcCode}` : 'other';
    default:
      return 'other';
  }
}

export const ANONYMOUS = '__anonymous';
export const UNKNOWN = '__unknown';
export const OVERFLOW = '__overflow';

/** The series of one upstream instance, looked up once: an attempt then costs no label lookup. */
interface InstanceSeries {
  inFlight: ValueSeries;
  seconds: HistogramSeries;
  retries: ValueSeries;
  /** By outcome code. */
  calls: Map<string, ValueSeries>;
}

/** The series of one REST operation or gRPC method of a subgraph, looked up once. */
interface OperationSeries {
  seconds: HistogramSeries;
  /** By outcome code. */
  calls: Map<string, ValueSeries>;
}

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
  private readonly requests: CounterFamily;
  private readonly schemaRequests: CounterFamily;
  private readonly requestSeconds: HistogramFamily;
  private readonly upstreamCalls: CounterFamily;
  private readonly upstreamSeconds: HistogramFamily;
  private readonly retries: CounterFamily;
  private readonly breakerState: GaugeFamily;
  private readonly breakerTransitions: CounterFamily;
  private readonly ejections: CounterFamily;
  private readonly instanceHealthy: GaugeFamily;
  private readonly healthTransitions: CounterFamily;
  private readonly dedupeHits: CounterFamily;
  private readonly cacheLookups: CounterFamily;
  private readonly overhead: HistogramFamily;
  private readonly inFlight: GaugeFamily;
  private readonly upstreamErrors: CounterFamily;
  private readonly operationCalls: CounterFamily;
  private readonly operationSeconds: HistogramFamily;
  private readonly budgetExhausted: CounterFamily;
  private readonly rateLimitRefusals: CounterFamily;
  private readonly schemaLoads: CounterFamily;
  private readonly schemaLoadedAt: GaugeFamily;
  private readonly httpRefusals: CounterFamily;
  /** By subgraph, instance and version (joined with NUL). */
  private readonly instances = new Map<string, InstanceSeries>();
  /** By subgraph and operation (joined with NUL). */
  private readonly operationSeries = new Map<string, OperationSeries>();
  /** Attempts counted in tessera_upstream_in_flight: only these are taken off it when they end. */
  private readonly started = new WeakSet<object>();
  /** Per request being timed: its upstream attempts' intervals, flat start/end pairs (performance.now()). */
  private readonly waits = new WeakMap<RequestScope, number[]>();
  private readonly listeners: Array<[string, (message: unknown) => void]> = [];

  constructor(private readonly options: MetricsOptions) {
    this.subgraphs = new Set(options.subgraphs);
    this.requests = new CounterFamily(this.registry, {
      name: 'tessera_requests_total',
      help: 'GraphQL requests answered, by operation name, channel, route (direct, planned, stitched, none) and first error code (OK without errors).',
      labelNames: ['operation', 'channel', 'route', 'code'],
    });
    this.schemaRequests = new CounterFamily(this.registry, {
      name: 'tessera_schema_requests_total',
      help: 'GraphQL requests answered, by channel, the schema version line that served them (current, or staged during a staged rollout) and first error code (OK without errors).',
      labelNames: ['channel', 'schema', 'code'],
    });
    this.requestSeconds = new HistogramFamily(this.registry, {
      name: 'tessera_request_duration_seconds',
      help: 'Time from the request reaching Yoga to its response, by operation name, channel and route.',
      labelNames: ['operation', 'channel', 'route'],
      buckets: SECONDS,
    });
    this.upstreamCalls = new CounterFamily(this.registry, {
      name: 'tessera_upstream_calls_total',
      help: 'Upstream call attempts, by subgraph, instance, version and outcome code (OK, HTTP_4xx, HTTP_5xx, or the gateway error code such as UPSTREAM_TIMEOUT).',
      labelNames: ['subgraph', 'instance', 'version', 'code'],
    });
    this.upstreamSeconds = new HistogramFamily(this.registry, {
      name: 'tessera_upstream_duration_seconds',
      help: 'Duration of upstream call attempts, by subgraph, instance and version.',
      labelNames: ['subgraph', 'instance', 'version'],
      buckets: SECONDS,
    });
    this.retries = new CounterFamily(this.registry, {
      name: 'tessera_upstream_retries_total',
      help: 'Upstream attempts that were retries of an earlier attempt of the same call.',
      labelNames: ['subgraph', 'instance', 'version'],
    });
    this.breakerState = new GaugeFamily(this.registry, {
      name: 'tessera_breaker_state',
      help: 'Circuit breaker state of an upstream instance: 0 closed, 1 half-open, 2 open (absent until its first change). Across workers: the most open.',
      labelNames: ['subgraph', 'instance'],
      aggregator: 'max',
    });
    this.breakerTransitions = new CounterFamily(this.registry, {
      name: 'tessera_breaker_transitions_total',
      help: 'Circuit breaker changes of an upstream instance, by the state entered.',
      labelNames: ['subgraph', 'instance', 'state'],
    });
    this.ejections = new CounterFamily(this.registry, {
      name: 'tessera_outlier_ejections_total',
      help: 'Upstream instances ejected by outlier detection (consecutive failures): their breaker opened for base ejection x times ejected in a row.',
      labelNames: ['subgraph', 'instance'],
    });
    this.instanceHealthy = new GaugeFamily(this.registry, {
      name: 'tessera_instance_healthy',
      help: 'Health-check verdict of an upstream instance: 1 up, 0 down (absent until its first check). Across workers: the lowest.',
      labelNames: ['subgraph', 'instance'],
      aggregator: 'min',
    });
    this.healthTransitions = new CounterFamily(this.registry, {
      name: 'tessera_instance_health_transitions_total',
      help: 'Health-check verdict changes of an upstream instance, by the state entered (up, down); the first check counts as a change.',
      labelNames: ['subgraph', 'instance', 'state'],
    });
    this.dedupeHits = new CounterFamily(this.registry, {
      name: 'tessera_dedupe_hits_total',
      help: 'Executions that joined an identical one in flight instead of calling upstreams.',
      labelNames: ['channel'],
    });
    this.cacheLookups = new CounterFamily(this.registry, {
      name: 'tessera_response_cache_total',
      help: 'Queries the response cache looked up, by result: hit (answered from the cache) or miss.',
      labelNames: ['channel', 'result'],
    });
    this.overhead = new HistogramFamily(this.registry, {
      name: 'tessera_gateway_overhead_seconds',
      help: "Time each request spent in the gateway itself: its total time minus the time it waited on upstreams (the union of its upstream attempts, overlaps counted once), by channel and route.",
      labelNames: ['channel', 'route'],
      buckets: OVERHEAD_SECONDS,
    });
    this.inFlight = new GaugeFamily(this.registry, {
      name: 'tessera_upstream_in_flight',
      help: 'Upstream call attempts started and not ended yet, by subgraph, instance and version.',
      labelNames: ['subgraph', 'instance', 'version'],
    });
    this.upstreamErrors = new CounterFamily(this.registry, {
      name: 'tessera_upstream_errors_total',
      help: 'Failed upstream attempts by kind: timeout, connection, http_4xx, http_5xx, grpc_<STATUS>, graphql (an answer with GraphQL errors), other (e.g. too large, or a 2xx body that is not what the source expects).',
      labelNames: ['subgraph', 'instance', 'version', 'kind'],
    });
    this.operationCalls = new CounterFamily(this.registry, {
      name: 'tessera_upstream_operation_calls_total',
      help: 'Upstream attempts per REST operation (method and path template) or gRPC method (/pkg.Service/Method), by outcome code as in tessera_upstream_calls_total.',
      labelNames: ['subgraph', 'operation', 'code'],
    });
    this.operationSeconds = new HistogramFamily(this.registry, {
      name: 'tessera_upstream_operation_duration_seconds',
      help: 'Duration of upstream attempts per REST operation (method and path template) or gRPC method.',
      labelNames: ['subgraph', 'operation'],
      buckets: SECONDS,
    });
    this.budgetExhausted = new CounterFamily(this.registry, {
      name: 'tessera_upstream_retry_budget_exhausted_total',
      help: "Retries not made because the subgraph's retry budget (20% of its calls, at least 3 per 10 s) was spent.",
      labelNames: ['subgraph'],
    });
    this.rateLimitRefusals = new CounterFamily(this.registry, {
      name: 'tessera_rate_limit_refusals_total',
      help: 'Operations refused by a rate limit, by channel and rule (its name; __subscriptions: too many open subscriptions; __store_unavailable: store down, onStoreError closed).',
      labelNames: ['channel', 'rule'],
    });
    this.schemaLoads = new CounterFamily(this.registry, {
      name: 'tessera_schema_loads_total',
      help: 'Unified schema loads (composition of every subgraph), by result: success or failure.',
      labelNames: ['result'],
    });
    this.schemaLoadedAt = new GaugeFamily(this.registry, {
      name: 'tessera_schema_loaded_timestamp_seconds',
      help: 'When the schema served now was loaded, Unix time in seconds. Across workers: the latest.',
      aggregator: 'max',
    });
    this.httpRefusals = new CounterFamily(this.registry, {
      name: 'tessera_http_refusals_total',
      help: "Requests node:http refused before the gateway saw them, by reason: headers_too_large (431), request_timeout (408), bad_request (400).",
      labelNames: ['reason'],
    });
    // Event-loop lag, heap, GC, CPU and file descriptors, under the usual process_/nodejs_ names.
    collectDefaultMetrics({ register: this.registry });
    this.listen(EVENTS.upstreamStart, (message) => this.onUpstreamStart(message as UpstreamEvent));
    this.listen(EVENTS.upstream, (message) => this.onUpstream(message as UpstreamEvent));
    this.listen(EVENTS.answerError, (message) => {
      const event = message as AnswerErrorEvent;
      if (this.subgraphs.has(event.subgraph)) this.upstreamErrors.of(event.subgraph, event.instance, event.version ?? '', event.kind).value++;
    });
    this.listen(EVENTS.retryBudget, (message) => {
      const { subgraph } = message as { subgraph: string };
      if (this.subgraphs.has(subgraph)) this.budgetExhausted.of(subgraph).value++;
    });
    this.listen(EVENTS.rateLimit, (message) => {
      const { channel, rule } = message as { channel: string; rule: string };
      this.rateLimitRefusals.of(channel, rule).value++;
    });
    this.listen(EVENTS.httpRefusal, (message) => this.httpRefusals.of((message as { reason: string }).reason).value++);
    this.listen(EVENTS.breaker, (message) => this.onBreaker(message as BreakerEvent));
    this.listen(EVENTS.schema, (message) => this.onSchema(message as SchemaEvent));
    this.listen(EVENTS.instanceHealth, (message) => this.onInstanceHealth(message as InstanceHealthEvent));
    this.listen(EVENTS.dedupe, (message) => this.dedupeHits.of((message as { channel: string }).channel).value++);
    this.listen(EVENTS.cache, (message) => {
      const { channel, result } = message as { channel: string; result: 'hit' | 'miss' };
      this.cacheLookups.of(channel, result).value++;
    });
  }

  private listen(name: string, listener: (message: unknown) => void): void {
    subscribe(name, listener);
    this.listeners.push([name, listener]);
  }

  private series(event: UpstreamEvent): InstanceSeries {
    const version = event.version ?? '';
    const key = `${event.subgraph}\u0000${event.instance}\u0000${version}`;
    let series = this.instances.get(key);
    if (!series) {
      const labels = [event.subgraph, event.instance, version];
      series = {
        inFlight: this.inFlight.of(...labels),
        seconds: this.upstreamSeconds.of(...labels),
        retries: this.retries.of(...labels),
        calls: new Map(),
      };
      this.instances.set(key, series);
    }
    return series;
  }

  private onUpstreamStart(event: UpstreamEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.started.add(event);
    this.series(event).inFlight.value++;
  }

  private onUpstream(event: UpstreamEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    const version = event.version ?? '';
    const code = event.code ?? (event.status !== undefined && event.status >= 400 ? `HTTP_${Math.floor(event.status / 100)}xx` : 'OK');
    const seconds = event.durationMs / 1000;
    const series = this.series(event);
    if (this.started.delete(event)) series.inFlight.value--;
    let calls = series.calls.get(code);
    if (!calls) series.calls.set(code, (calls = this.upstreamCalls.of(event.subgraph, event.instance, version, code)));
    calls.value++;
    this.upstreamSeconds.observe(series.seconds, seconds);
    if (event.attempt > 0) series.retries.value++;
    const kind = upstreamErrorKind(event);
    if (kind) this.upstreamErrors.of(event.subgraph, event.instance, version, kind).value++;
    if (event.operation) {
      const key = `${event.subgraph}\u0000${event.operation}`;
      let operation = this.operationSeries.get(key);
      if (!operation) this.operationSeries.set(key, (operation = { seconds: this.operationSeconds.of(event.subgraph, event.operation), calls: new Map() }));
      let operationCalls = operation.calls.get(code);
      if (!operationCalls) operation.calls.set(code, (operationCalls = this.operationCalls.of(event.subgraph, event.operation, code)));
      operationCalls.value++;
      this.operationSeconds.observe(operation.seconds, seconds);
    }
    const waits = event.scope && this.waits.get(event.scope);
    if (waits) waits.push(event.started, event.started + event.durationMs);
  }

  /** A schema load of this gateway (start-up or a reload): a new version counts as success and sets the timestamp; one that changed nothing is not a load. */
  private onSchema(event: SchemaEvent): void {
    if (event.gateway !== this.options.gatewayId || event.result === 'unchanged') return;
    this.schemaLoads.of(event.result === 'loaded' ? 'success' : 'failure').value++;
    if (event.result === 'loaded') this.schemaLoadedAt.of().value = Date.parse(event.at) / 1000;
  }

  private onBreaker(event: BreakerEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.breakerState.of(event.subgraph, event.instance).value = BREAKER_STATE[event.state];
    this.breakerTransitions.of(event.subgraph, event.instance, event.state).value++;
    if (event.cause === 'consecutive-failures') this.ejections.of(event.subgraph, event.instance).value++;
  }

  private onInstanceHealth(event: InstanceHealthEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.instanceHealthy.of(event.subgraph, event.instance).value = event.state === 'up' ? 1 : 0;
    this.healthTransitions.of(event.subgraph, event.instance, event.state).value++;
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
  requestPlugin(channel: string, schema: 'current' | 'staged' = 'current'): Plugin<{ tessera?: RequestScope }> {
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
        // A batch executes several operations in one request: one list of waits for all of them.
        if (state.scope && !this.waits.has(state.scope)) this.waits.set(state.scope, []);
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
        const ended = performance.now();
        const waits = state.scope && this.waits.get(state.scope);
        const waited = waits ? unionLength(waits, state.started, ended) : 0;
        if (state.scope) this.waits.delete(state.scope);
        this.requests.of(state.operation, channel, route, state.code).value++;
        this.schemaRequests.of(channel, schema, state.code).value++;
        this.requestSeconds.observe(this.requestSeconds.of(state.operation, channel, route), (ended - state.started) / 1000);
        this.overhead.observe(this.overhead.of(channel, route), (ended - state.started - waited) / 1000);
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
    this.instances.clear();
    this.operationSeries.clear();
    this.registry.clear();
  }
}

/** The name of the only operation of a document without an operationName (undefined when it has none or several). */
function operationNameOf(document: { definitions: readonly { kind: string; name?: { value: string } }[] }): string | undefined {
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  return operations.length === 1 ? operations[0]?.name?.value : undefined;
}
