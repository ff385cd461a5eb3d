/**
 * Prometheus metrics of one gateway (prom-client), served at
 * telemetry.metrics.path. One Registry per gateway, never prom-client's
 * global one, so several gateways in one process (the tests) keep their own
 * counts.
 *
 * Metrics observe, they change nothing: upstream attempts (their start and
 * their end), breaker changes, retries the budget refused, GraphQL errors
 * from upstreams and 2xx answers sources could not use, shadow copies and
 * their comparison, adaptive concurrency limits (limit, in flight, shed),
 * dedupe joins, response-cache lookups, rate-limit refusals, node:http's
 * own refusals and store failures arrive on diagnostics channels (by name:
 * telemetry/ does not import transport/, sources/, plugins/ or server/),
 * requests from their accounts (`requestObserver()`, read when each
 * response is ready: plugins/use-request-account.ts), schema loads on
 * `tessera:schema` (this gateway's, by its id).
 *
 * Gateway overhead: per request, its total time minus the time it waited on
 * upstreams, that is the union of its upstream attempts' intervals (calls in
 * parallel overlap; intervals.ts counts each instant once), read from the
 * request's account. Label values are bounded: operation names past
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
import type { AttemptRecord, RequestObserver } from '../request-scope.js';
import { unionLength } from './intervals.js';
import { EVENTS, type AdmissionEvent, type AnswerErrorEvent, type BreakerEvent, type CanaryEvent, type ConcurrencyEvent, type DiscoveryEvent, type InstanceHealthEvent, type SchemaEvent, type ShadowEvent, type StoreEvent, type UpstreamEvent } from '../events.js';

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

/** The series of requests of one channel, operation and route, looked up once. */
interface RequestSeries {
  seconds: HistogramSeries;
  /** By first error code (OK without errors). */
  requests: Map<string, ValueSeries>;
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
  private readonly canaryTrips: CounterFamily;
  private readonly canaryGuarded: GaugeFamily;
  private readonly canaryFallbacks: CounterFamily;
  private readonly discoveredInstances: GaugeFamily;
  private readonly discoveryChanges: CounterFamily;
  private readonly discoveryFailures: CounterFamily;
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
  private readonly admissionLimit: GaugeFamily;
  private readonly admissionQueued: GaugeFamily;
  private readonly admissionWait: HistogramFamily;
  private readonly admissionWaitSeries: HistogramSeries;
  private readonly admissionDropped: CounterFamily;
  private readonly storeFailures: CounterFamily;
  private readonly shadowCalls: CounterFamily;
  private readonly shadowSeconds: HistogramFamily;
  private readonly concurrencyLimit: GaugeFamily;
  private readonly concurrencyInFlight: GaugeFamily;
  private readonly concurrencyShed: CounterFamily;
  /** By subgraph, then instance, then version: no key is built per attempt. */
  private readonly instances = new Map<string, Map<string, Map<string, InstanceSeries>>>();
  /** By subgraph, then operation. */
  private readonly operationSeries = new Map<string, Map<string, OperationSeries>>();
  /** Attempts counted in tessera_upstream_in_flight: only these are taken off it when they end. */
  private readonly started = new WeakSet<object>();
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
      help: 'Upstream instances ejected by outlier detection, by cause: consecutive-failures, or failure-rate (its failure rate over the window above the other instances\' by outliers.failureRate.margin); their breaker opened for base ejection x times ejected in a row.',
      labelNames: ['subgraph', 'instance', 'cause'],
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
    this.canaryTrips = new CounterFamily(this.registry, {
      name: 'tessera_canary_guard_trips_total',
      help: 'Canary versions the canary guard took to weight 0, by subgraph, version, kind of calls judged (query, mutation) and reason (error-rate, p99).',
      labelNames: ['subgraph', 'version', 'kind', 'reason'],
    });
    this.canaryGuarded = new GaugeFamily(this.registry, {
      name: 'tessera_canary_guarded',
      help: 'A canary version guarded (weight 0) by the canary guard: 1, or 0 once restored (absent until its first change). Across workers: the highest.',
      labelNames: ['subgraph', 'version'],
      aggregator: 'max',
    });
    this.canaryFallbacks = new CounterFamily(this.registry, {
      name: 'tessera_canary_fallbacks_total',
      help: 'Attempts of sticky callers whose version had no instance available, sent to their next version instead, by subgraph, version and the version taken.',
      labelNames: ['subgraph', 'version', 'to'],
    });
    this.discoveredInstances = new GaugeFamily(this.registry, {
      name: 'tessera_discovery_instances',
      help: 'Instances of a discovered subgraph (upstreams[].discovery), static ones included, set at each change after start-up (absent until the first).',
      labelNames: ['subgraph'],
    });
    this.discoveryChanges = new CounterFamily(this.registry, {
      name: 'tessera_discovery_changes_total',
      help: 'Instances discovery added to or removed from a subgraph after start-up, by change (added, removed).',
      labelNames: ['subgraph', 'change'],
    });
    this.discoveryFailures = new CounterFamily(this.registry, {
      name: 'tessera_discovery_failures_total',
      help: 'Resolutions of a discovered name that failed (the last known instances stayed).',
      labelNames: ['subgraph'],
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
    this.admissionLimit = new GaugeFamily(this.registry, {
      name: 'tessera_admission_limit',
      help: 'GraphQL requests worked on at once (server.admission); 0: no limit now (auto while the event loop has time to spare, or off). Across workers: the sum.',
    });
    this.admissionQueued = new GaugeFamily(this.registry, {
      name: 'tessera_admission_queued',
      help: 'GraphQL requests waiting for a place (server.admission) before any work is done on them. Across workers: the sum.',
    });
    this.admissionWait = new HistogramFamily(this.registry, {
      name: 'tessera_admission_wait_seconds',
      help: 'Time each GraphQL request waited for a place before its work started (server.admission; 0 for most): it is part of tessera_request_duration_seconds.',
      buckets: [0, ...SECONDS],
    });
    this.admissionWaitSeries = this.admissionWait.of();
    this.admissionDropped = new CounterFamily(this.registry, {
      name: 'tessera_admission_dropped_total',
      help: 'GraphQL requests whose client went away while they waited for a place (server.admission): never started.',
    });
    this.httpRefusals = new CounterFamily(this.registry, {
      name: 'tessera_http_refusals_total',
      help: "Requests node:http refused before the gateway saw them, by reason: headers_too_large (431), request_timeout (408), bad_request (400).",
      labelNames: ['reason'],
    });
    this.shadowCalls = new CounterFamily(this.registry, {
      name: 'tessera_shadow_calls_total',
      help: "Shadow copies of read-only calls (descriptor shadow:), by subgraph, the shadow target's version and outcome: match, mismatch (the answers differ, ignored paths aside), dropped (shadow concurrency full, not sent), failed (no answer), timeout (no answer within shadow.timeout).",
      labelNames: ['subgraph', 'version', 'outcome'],
    });
    this.shadowSeconds = new HistogramFamily(this.registry, {
      name: 'tessera_shadow_duration_seconds',
      help: "Duration of shadow calls (those sent), by subgraph and the shadow target's version: compare with tessera_upstream_duration_seconds of the primary's.",
      labelNames: ['subgraph', 'version'],
      buckets: SECONDS,
    });
    this.concurrencyLimit = new GaugeFamily(this.registry, {
      name: 'tessera_concurrency_limit',
      help: "A subgraph's adaptive concurrency limit (adaptiveConcurrency: in its descriptor): upstream attempts allowed in flight at once, all instances together; absent until its first attempt. Across workers: the sum.",
      labelNames: ['subgraph'],
    });
    this.concurrencyInFlight = new GaugeFamily(this.registry, {
      name: 'tessera_concurrency_in_flight',
      help: 'Upstream attempts holding a slot of the subgraph\'s adaptive concurrency limit.',
      labelNames: ['subgraph'],
    });
    this.concurrencyShed = new CounterFamily(this.registry, {
      name: 'tessera_concurrency_shed_total',
      help: 'Upstream attempts not sent because the subgraph\'s adaptive concurrency limit was full: their fields failed with SUBGRAPH_OVERLOADED.',
      labelNames: ['subgraph'],
    });
    this.storeFailures = new CounterFamily(this.registry, {
      name: 'tessera_store_failures_total',
      help: 'Store commands (Redis, or the cluster primary for --workers) that failed or timed out, by use (rate-limit, response-cache, cache-invalidation, apq, rate-limit-refund) and what was done: open (local limit), closed (refused), miss (read as absent), retried (a shared write tried again), dropped (a shared write given up: other replicas will not see it).',
      labelNames: ['use', 'fallback'],
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
    this.listen(EVENTS.store, (message) => {
      const { use, fallback } = message as StoreEvent;
      this.storeFailures.of(use, fallback).value++;
    });
    this.listen(EVENTS.admission, (message) => this.onAdmission(message as AdmissionEvent));
    this.listen(EVENTS.httpRefusal, (message) => this.httpRefusals.of((message as { reason: string }).reason).value++);
    this.listen(EVENTS.breaker, (message) => this.onBreaker(message as BreakerEvent));
    this.listen(EVENTS.concurrency, (message) => this.onConcurrency(message as ConcurrencyEvent));
    this.listen(EVENTS.schema, (message) => this.onSchema(message as SchemaEvent));
    this.listen(EVENTS.instanceHealth, (message) => this.onInstanceHealth(message as InstanceHealthEvent));
    this.listen(EVENTS.shadow, (message) => this.onShadow(message as ShadowEvent));
    this.listen(EVENTS.canary, (message) => this.onCanary(message as CanaryEvent));
    this.listen(EVENTS.discovery, (message) => this.onDiscovery(message as DiscoveryEvent));
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
    const byInstance = lookup(this.instances, event.subgraph, () => new Map<string, Map<string, InstanceSeries>>());
    const byVersion = lookup(byInstance, event.instance, () => new Map<string, InstanceSeries>());
    return lookup(byVersion, version, () => {
      const labels = [event.subgraph, event.instance, version];
      return {
        inFlight: this.inFlight.of(...labels),
        seconds: this.upstreamSeconds.of(...labels),
        retries: this.retries.of(...labels),
        calls: new Map(),
      };
    });
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
    lookup(series.calls, code, () => this.upstreamCalls.of(event.subgraph, event.instance, version, code)).value++;
    this.upstreamSeconds.observe(series.seconds, seconds);
    if (event.attempt > 0) series.retries.value++;
    const kind = upstreamErrorKind(event);
    if (kind) this.upstreamErrors.of(event.subgraph, event.instance, version, kind).value++;
    const name = event.operation;
    if (name) {
      const byName = lookup(this.operationSeries, event.subgraph, () => new Map<string, OperationSeries>());
      const operation = lookup(byName, name, () => ({ seconds: this.operationSeconds.of(event.subgraph, name), calls: new Map() }));
      lookup(operation.calls, code, () => this.operationCalls.of(event.subgraph, name, code)).value++;
      this.operationSeconds.observe(operation.seconds, seconds);
    }
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
    if (event.cause === 'consecutive-failures' || event.cause === 'failure-rate') this.ejections.of(event.subgraph, event.instance, event.cause).value++;
  }

  private onAdmission(event: AdmissionEvent): void {
    this.admissionLimit.of().value = Number.isFinite(event.limit) ? event.limit : 0;
    this.admissionQueued.of().value = event.queued;
    if (event.change === 'started') this.admissionWait.observe(this.admissionWaitSeries, event.waitedMs / 1000);
    else if (event.change === 'dropped') this.admissionDropped.of().value++;
  }

  private onConcurrency(event: ConcurrencyEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.concurrencyLimit.of(event.subgraph).value = event.limit;
    this.concurrencyInFlight.of(event.subgraph).value = event.inFlight;
    if (event.change === 'shed') this.concurrencyShed.of(event.subgraph).value++;
  }

  private onShadow(event: ShadowEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    this.shadowCalls.of(event.subgraph, event.version, event.outcome).value++;
    if (event.durationMs !== undefined) this.shadowSeconds.observe(this.shadowSeconds.of(event.subgraph, event.version), event.durationMs / 1000);
  }

  private onCanary(event: CanaryEvent): void {
    if ((event.gateway !== undefined && event.gateway !== this.options.gatewayId) || !this.subgraphs.has(event.subgraph)) return;
    if (event.action === 'guarded') {
      // Counted where it was decided: a trip read from the shared store is another process's, counted there.
      if (event.by === undefined) this.canaryTrips.of(event.subgraph, event.version, event.kind ?? '', event.reason ?? '').value++;
      this.canaryGuarded.of(event.subgraph, event.version).value = 1;
    } else if (event.action === 'restored') {
      this.canaryGuarded.of(event.subgraph, event.version).value = 0;
    } else {
      this.canaryFallbacks.of(event.subgraph, event.version, event.to ?? '').value++;
    }
  }

  private onDiscovery(event: DiscoveryEvent): void {
    if (!this.subgraphs.has(event.subgraph)) return;
    if (event.error !== undefined) {
      this.discoveryFailures.of(event.subgraph).value++;
      return;
    }
    this.discoveredInstances.of(event.subgraph).value = event.instances.length;
    if (event.added.length > 0) this.discoveryChanges.of(event.subgraph, 'added').value += event.added.length;
    if (event.removed.length > 0) this.discoveryChanges.of(event.subgraph, 'removed').value += event.removed.length;
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
   * What counts and times the requests of one channel, read from each
   * request's account when its response is ready: the operation is the
   * first one it executed (a refused request's made-up name never takes a
   * label: it executed none), the code its answers' first error code.
   * `schema`: the line of schema versions the channel's requests are served
   * by (`staged` during a staged rollout), counted by
   * tessera_schema_requests_total.
   */
  requestObserver(channel: string, schema: 'current' | 'staged' = 'current'): RequestObserver {
    /** By operation label, then route. */
    const byOperation = new Map<string, Map<string, RequestSeries>>();
    /** Overhead by route. */
    const overheads = new Map<string, HistogramSeries>();
    /** tessera_schema_requests_total by code. */
    const lineRequests = new Map<string, ValueSeries>();
    return {
      readsAttempts: true,
      ended: (account, taken, _status, now) => {
        const operation = account.operations.length > 0 ? this.operationLabel(account.operations[0]) : UNKNOWN;
        const route = taken ?? 'none';
        const code = account.codes[0] ?? (account.errored ? 'ERROR' : 'OK');
        const byRoute = lookup(byOperation, operation, () => new Map<string, RequestSeries>());
        const series = lookup(byRoute, route, () => ({ seconds: this.requestSeconds.of(operation, channel, route), requests: new Map() }));
        lookup(series.requests, code, () => this.requests.of(operation, channel, route, code)).value++;
        lookup(lineRequests, code, () => this.schemaRequests.of(channel, schema, code)).value++;
        const total = now - account.started;
        this.requestSeconds.observe(series.seconds, total / 1000);
        const waited = waitedOn(account.attempts, account.started, now);
        this.overhead.observe(
          lookup(overheads, route, () => this.overhead.of(channel, route)),
          (total - waited) / 1000,
        );
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

/** The value of `key` in `map`, made by `make` and kept at its first lookup. */
function lookup<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

/** The time within [from, to] covered by the attempts, overlaps counted once (one attempt, the usual case, without a list). */
function waitedOn(attempts: readonly AttemptRecord[] | undefined, from: number, to: number): number {
  if (!attempts?.length) return 0;
  if (attempts.length === 1) {
    const { started, durationMs } = attempts[0]!;
    return Math.max(0, Math.min(to, started + durationMs) - Math.max(from, started));
  }
  const flat = new Array<number>(attempts.length * 2);
  for (let i = 0; i < attempts.length; i++) {
    const attempt = attempts[i]!;
    flat[2 * i] = attempt.started;
    flat[2 * i + 1] = attempt.started + attempt.durationMs;
  }
  return unionLength(flat, from, to);
}
