/**
 * The data of the live status page (telemetry.status): the last 15 minutes of
 * requests, errors and p50/p99 latency, in fixed-size rings of 5 s buckets,
 * per subgraph, per (subgraph, version) and per channel; each upstream
 * instance's last breaker state; each adaptive concurrency limit (limit,
 * in flight, shed); and the description the gateway hands over
 * (kinds, instances, weights, health, schema, channels).
 *
 * Like metrics.ts it only observes: upstream attempts, breaker changes,
 * shadow copies, schema loads and server.admission's changes arrive on the
 * `tessera:upstream`, `tessera:breaker`, `tessera:shadow`, `tessera:schema`
 * and `tessera:admission` diagnostics channels (by name), guarded canary versions on `tessera:canary`, gateway
 * requests through the requests' accounts (`requestObserver()`).
 * Memory is fixed at construction: one ring for each subgraph, each version
 * named in the descriptors and each channel, whatever the traffic; an event
 * of a subgraph, version or instance not configured is dropped, never given
 * a ring of its own. A discovered subgraph (`tessera:discovery`) lists the
 * instances found last, and gets a ring for a version they name.
 *
 * The rings are per process. With `tessera serve --workers N` the worker
 * that answers the page merges every worker's `part()` (raw buckets and
 * histograms, breakers) in `snapshot()`: counts and histograms summed per
 * bucket, percentiles computed from the sums (server/admin-group.ts asks).
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import type { RequestObserver } from '../request-scope.js';
import { EVENTS, type AdmissionEvent, type BreakerEvent, type BreakerState, type CanaryEvent, type ConcurrencyEvent, type DiscoveryEvent, type InstanceHealthEvent, type SchemaEvent, type ShadowEvent, type ShadowOutcome, type UpstreamEvent } from '../events.js';

/** Width of one bucket, and how many buckets a ring keeps (15 minutes). */
export const BUCKET_MS = 5_000;
export const BUCKETS = 180;

/**
 * Upper bounds in ms of the latency histogram of a bucket (the log-linear
 * buckets of the metrics' histograms); a last, open bucket takes the rest.
 */
export const LATENCY_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const;
const BINS = LATENCY_BOUNDS_MS.length + 1;

/** The series of one ring, oldest bucket first, aligned with the snapshot's `timeline`. */
export interface Series {
  /** Requests (or attempts) in each bucket. */
  count: number[];
  errors: number[];
  /** Per second: count over the bucket's width, or over the part of it elapsed for the current one. */
  rate: number[];
  errorRate: number[];
  /** Estimated from the bucket's histogram, ms; null in a bucket with no request. */
  p50: Array<number | null>;
  p99: Array<number | null>;
  /** The last RECENT_BUCKETS buckets together (the current one as far as it went), for the figures beside the charts. */
  recent: { seconds: number; count: number; errors: number; rate: number; p50: number | null; p99: number | null };
}

/** The buckets `Series.recent` sums: the last minute. */
export const RECENT_BUCKETS = 60_000 / BUCKET_MS;

/**
 * The latency at quantile q (0..1) of a histogram over LATENCY_BOUNDS_MS,
 * interpolated linearly inside the bucket holding it (as Prometheus's
 * histogram_quantile does); the open last bucket answers its lower bound.
 * Undefined for an empty histogram.
 */
export function histogramQuantile(bins: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < BINS; i++) total += bins[i] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < BINS; i++) {
    const inBin = bins[i] ?? 0;
    if (inBin > 0 && below + inBin >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - below)) / inBin;
    }
    below += inBin;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

function binOf(durationMs: number): number {
  let i = 0;
  while (i < LATENCY_BOUNDS_MS.length && durationMs > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/**
 * One ring's window as data, for merging the rings of several processes
 * (`tessera serve --workers N`): the buckets that saw a request, by position
 * in the window (0 the oldest), each with its count, errors and latency
 * histogram. Plain JSON, so it crosses the cluster's IPC channel.
 */
export interface RingWindow {
  buckets: Array<{ at: number; count: number; errors: number; bins: number[] }>;
}

/** The windows of several rings over the same `now` as one: per bucket, counts, errors and histograms summed. */
export function mergeWindows(windows: readonly RingWindow[]): RingWindow {
  const byPosition = new Map<number, { at: number; count: number; errors: number; bins: number[] }>();
  for (const window of windows) {
    for (const bucket of window.buckets) {
      const merged = byPosition.get(bucket.at);
      if (!merged) {
        byPosition.set(bucket.at, { at: bucket.at, count: bucket.count, errors: bucket.errors, bins: [...bucket.bins] });
        continue;
      }
      merged.count += bucket.count;
      merged.errors += bucket.errors;
      bucket.bins.forEach((n, i) => (merged.bins[i] = (merged.bins[i] ?? 0) + n));
    }
  }
  return { buckets: [...byPosition.values()].sort((a, b) => a.at - b.at) };
}

/**
 * The series of a window ending with the bucket of `now`, oldest first;
 * percentiles from each bucket's histogram (after merging, from the summed
 * histograms: a percentile of several processes is never an average of
 * theirs).
 */
export function seriesOf(window: RingWindow, now: number): Series {
  const current = Math.floor(now / BUCKET_MS);
  // The current bucket is partly elapsed: its rate is over the elapsed part (at least 1 s, so one request is not a spike).
  const elapsedSeconds = Math.max(1, (now - current * BUCKET_MS) / 1000);
  const out: Series = { count: [], errors: [], rate: [], errorRate: [], p50: [], p99: [], recent: { seconds: 0, count: 0, errors: 0, rate: 0, p50: null, p99: null } };
  const recentBins = new Array<number>(BINS).fill(0);
  const byPosition = new Map(window.buckets.map((b) => [b.at, b]));
  for (let at = 0; at < BUCKETS; at++) {
    const bucket = byPosition.get(at);
    const count = bucket?.count ?? 0;
    const errors = bucket?.errors ?? 0;
    const seconds = at === BUCKETS - 1 ? elapsedSeconds : BUCKET_MS / 1000;
    out.count.push(count);
    out.errors.push(errors);
    out.rate.push(round(count / seconds));
    out.errorRate.push(round(errors / seconds));
    out.p50.push(bucket && count > 0 ? round(histogramQuantile(bucket.bins, 0.5)!) : null);
    out.p99.push(bucket && count > 0 ? round(histogramQuantile(bucket.bins, 0.99)!) : null);
    if (at >= BUCKETS - RECENT_BUCKETS) {
      out.recent.seconds += seconds;
      out.recent.count += count;
      out.recent.errors += errors;
      if (bucket && count > 0) bucket.bins.forEach((n, i) => (recentBins[i]! += n));
    }
  }
  const { recent } = out;
  recent.seconds = round(recent.seconds);
  recent.rate = round(recent.count / recent.seconds);
  if (recent.count > 0) {
    recent.p50 = round(histogramQuantile(recentBins, 0.5)!);
    recent.p99 = round(histogramQuantile(recentBins, 0.99)!);
  }
  return out;
}

/**
 * Counts, errors and a latency histogram for each of the last BUCKETS
 * buckets. A slot holds the bucket whose number it last recorded; a slot
 * whose number is older than the window reads as empty and is reset on its
 * next write, so nothing needs a timer and the arrays never grow.
 */
export class Ring {
  private readonly epochs = new Float64Array(BUCKETS).fill(-1);
  private readonly counts = new Uint32Array(BUCKETS);
  private readonly errorCounts = new Uint32Array(BUCKETS);
  private readonly bins = new Uint32Array(BUCKETS * BINS);

  record(now: number, durationMs: number, error: boolean): void {
    const epoch = Math.floor(now / BUCKET_MS);
    const slot = epoch % BUCKETS;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.counts[slot] = 0;
      this.errorCounts[slot] = 0;
      this.bins.fill(0, slot * BINS, (slot + 1) * BINS);
    }
    this.counts[slot]!++;
    if (error) this.errorCounts[slot]!++;
    this.bins[slot * BINS + binOf(durationMs)]!++;
  }

  /** The window ending with the bucket of `now`: its buckets that saw a request, with their raw histograms. */
  window(now: number): RingWindow {
    const current = Math.floor(now / BUCKET_MS);
    const buckets: RingWindow['buckets'] = [];
    for (let at = 0; at < BUCKETS; at++) {
      const epoch = current - BUCKETS + 1 + at;
      const slot = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
      if (this.epochs[slot] !== epoch || this.counts[slot] === 0) continue;
      buckets.push({ at, count: this.counts[slot]!, errors: this.errorCounts[slot]!, bins: Array.from(this.bins.subarray(slot * BINS, (slot + 1) * BINS)) });
    }
    return { buckets };
  }

  /** The window ending with the bucket of `now`, oldest first. */
  series(now: number): Series {
    return seriesOf(this.window(now), now);
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

export type { BreakerState };

/**
 * A subgraph's health as /readyz sees it: `answered` (an instance accepted a
 * connection or a call got an answer, or its schema came from the upstream
 * itself), `waiting` (required and never answered: /readyz is 503),
 * `not probed` (server.readiness: loaded), `not loaded` (optional and failed
 * to load: served without it).
 */
export type Health = 'answered' | 'waiting' | 'not probed' | 'not loaded';

export interface StatusSubgraph {
  name: string;
  kind: string;
  instances: ReadonlyArray<{ url: string; version?: string; weight: number }>;
  /** The descriptor's `breaker` or `outliers` is not false: each instance has a circuit breaker. */
  breakers: boolean;
  /** The descriptor has `canary:`: its versions are judged by the canary guard. */
  canary?: boolean;
  /** The descriptor has `health:`: each instance is health-checked. */
  checks?: boolean;
  /** The descriptor has `shadow:`: the shadow target's version label, whose copies the page counts. */
  shadow?: string;
  /** With `adaptiveConcurrency:` in the descriptor: its initial limit, shown until the first call. */
  adaptive?: number;
}

/** A subgraph's adaptive concurrency limit as last seen: the limit, attempts in flight, attempts shed since start-up. */
export interface ConcurrencyState {
  limit: number;
  inFlight: number;
  shed: number;
}

/** What became of the shadow copies of a subgraph since the gateway started, by outcome (ShadowEvent). */
export type ShadowCounts = Record<ShadowOutcome, number>;

const SHADOW_OUTCOMES: readonly ShadowOutcome[] = ['match', 'mismatch', 'dropped', 'failed', 'timeout'];

const noShadows = (): ShadowCounts => ({ match: 0, mismatch: 0, dropped: 0, failed: 0, timeout: 0 });
/** A version the canary guard took to weight 0 (the `guarded` event on `tessera:canary`): what was measured against the stable version. */
export type GuardedVersion = Pick<CanaryEvent, 'kind' | 'reason' | 'measured' | 'stable'> & { at: string };

/** An instance's health-check verdict: `unchecked` before its first check, `off` without `health:`. */
export type CheckState = 'up' | 'down' | 'unchecked';

/** Check verdicts from the worst: merged, an instance shows the worst any process saw. */
const CHECK_ORDER: readonly CheckState[] = ['down', 'unchecked', 'up'];

export interface StatusBoardOptions {
  subgraphs: readonly StatusSubgraph[];
  channels: ReadonlyArray<{ name: string; path: string }>;
  /** The unified schema served, and when it was composed. */
  schema: GraphQLSchema;
  loadedAt: Date;
  /** The health of a subgraph now (the gateway's readiness watch). */
  health: (subgraph: string) => Health;
  /** The gateway's id in `tessera:schema` events: events of other gateways in the process are ignored. */
  gatewayId?: string;
  /** The staged rollout this gateway serves, if any (registry/redis.ts), as the page shows it. */
  stage?: () => StatusSnapshot['stage'];
  /** Injected by tests; Date.now otherwise. */
  now?: () => number;
}

/**
 * One process's share of the status page (`tessera serve --workers N`: each
 * worker's, merged by the one that answers the page): its rings' windows
 * ending at the given time, and its breakers' last states. Plain JSON.
 */
export interface StatusPart {
  subgraphs: Record<string, RingWindow>;
  versions: Record<string, Record<string, RingWindow>>;
  channels: Record<string, RingWindow>;
  breakers: Record<string, Record<string, BreakerState>>;
  /** Health-check verdicts, for the subgraphs with `health:` (absent from a worker of an older version). */
  checks?: Record<string, Record<string, CheckState>>;
  /** Shadow copies by outcome, for the subgraphs with `shadow:` (absent from a worker of an older version). */
  shadows?: Record<string, ShadowCounts>;
  /** Adaptive concurrency limits, for the subgraphs with `adaptiveConcurrency:` (absent from a worker of an older version). */
  concurrency?: Record<string, ConcurrencyState>;
  /** Canary versions guarded now, for the subgraphs with `canary:` (absent from a worker of an older version). */
  guarded?: Record<string, Record<string, GuardedVersion>>;
  /** server.admission in this process, once it has seen a request (absent before, with `off`, and from a worker of an older version). */
  admission?: AdmissionState;
}

/** server.admission: the limit now (null: none), requests in progress and waiting, and since start those that waited and those dropped. */
export interface AdmissionState {
  limit: number | null;
  active: number;
  queued: number;
  waited: number;
  dropped: number;
}

/** Several processes' admission states, summed (a limit: the sum of those that limit; null when none does); null when none has one. */
function sumAdmission(states: Iterable<AdmissionState | undefined>): AdmissionState | null {
  let sum: AdmissionState | null = null;
  for (const state of states) {
    if (!state) continue;
    sum ??= { limit: null, active: 0, queued: 0, waited: 0, dropped: 0 };
    if (state.limit !== null) sum.limit = (sum.limit ?? 0) + state.limit;
    sum.active += state.active;
    sum.queued += state.queued;
    sum.waited += state.waited;
    sum.dropped += state.dropped;
  }
  return sum;
}

/** Breaker states from the most open: merged, an instance shows the worst any process saw. */
const BREAKER_ORDER: readonly BreakerState[] = ['open', 'half-open', 'closed'];

/** The worst of breaker states (open, then half-open, then closed); closed when none. */
export function worstBreaker(states: Iterable<BreakerState | undefined>): BreakerState {
  let worst = BREAKER_ORDER.length - 1;
  for (const state of states) if (state !== undefined) worst = Math.min(worst, BREAKER_ORDER.indexOf(state));
  return BREAKER_ORDER[worst]!;
}

/** Several workers' limits of one subgraph as one: each figure summed. */
export function sumConcurrency(states: Iterable<ConcurrencyState | undefined>): ConcurrencyState {
  const sum: ConcurrencyState = { limit: 0, inFlight: 0, shed: 0 };
  for (const state of states) {
    if (!state) continue;
    sum.limit += state.limit;
    sum.inFlight += state.inFlight;
    sum.shed += state.shed;
  }
  return sum;
}

/** The worst of health-check verdicts (down, then unchecked, then up); unchecked when none. */
export function worstCheck(states: Iterable<CheckState | undefined>): CheckState {
  let worst = CHECK_ORDER.length - 1;
  let seen = false;
  for (const state of states) {
    if (state === undefined) continue;
    seen = true;
    worst = Math.min(worst, CHECK_ORDER.indexOf(state));
  }
  return seen ? CHECK_ORDER[worst]! : 'unchecked';
}

/** What `<path>/api` answers. */
export interface StatusSnapshot {
  now: string;
  /** Processes whose rings and breakers the snapshot merges (1 but with `tessera serve --workers N`). */
  workers: number;
  /** Workers of the process group that did not answer in time: left out of the figures. */
  missing: number;
  /** Set when the process group could not be asked (the cluster primary did not answer): the figures are this worker's alone. */
  groupError?: string;
  bucketSeconds: number;
  /** Start of each bucket, seconds since the epoch, oldest first (uPlot's x values). */
  timeline: number[];
  schema: { hash: string; loadedAt: string };
  /** The last hot reload attempt (`tessera:schema`); all null before the first. */
  reload: { lastAttempt: string | null; lastResult: string | null; lastError: string[] | null; version: string };
  /** During a staged rollout (`tessera publish --stage`): the staged version, its rule and its subgraphs' versions; null otherwise. */
  stage: { version: string; rule: string; subgraphs: Record<string, string> } | null;
  /** server.admission, summed over workers; null before the first request and with `server.admission: off`. */
  admission: AdmissionState | null;
  channels: Array<{ name: string; path: string; series: Series }>;
  subgraphs: Array<{
    name: string;
    kind: string;
    health: Health;
    /**
     * `breaker` is `off` where the descriptor turned breakers and outlier detection off; `check` is `off` without `health:`;
     * `canary` is `guarded` when the canary guard took the instance's version to weight 0 (in any worker), `off` without `canary:`.
     */
    instances: Array<{ url: string; version: string | null; weight: number; breaker: BreakerState | 'off'; check: CheckState | 'off'; canary: 'serving' | 'guarded' | 'off' }>;
    /** `off` without `adaptiveConcurrency:`; merged over workers, each figure summed (each worker has its own limit). */
    concurrency: ConcurrencyState | 'off';
    series: Series;
    /** `guarded`: what the canary guard measured when it took the version to weight 0; null when it serves. */
    versions: Array<{ version: string; series: Series; guarded: GuardedVersion | null }>;
    /** With `shadow:`: the shadow target's version and its copies since start, by outcome (summed over workers); null without. */
    shadow: ({ version: string } & ShadowCounts) | null;
  }>;
}


/** The shadow counts of several processes, summed. */
function sumShadows(counts: ReadonlyArray<ShadowCounts | undefined>): ShadowCounts {
  const sum = noShadows();
  for (const one of counts) if (one) for (const outcome of SHADOW_OUTCOMES) sum[outcome] += one[outcome] ?? 0;
  return sum;
}

/** A version guarded in any of the parts (the first part's account of it), or undefined. */
function guardedIn(parts: readonly StatusPart[], subgraph: string, version: string): GuardedVersion | undefined {
  for (const part of parts) {
    const guarded = part.guarded?.[subgraph]?.[version];
    if (guarded) return guarded;
  }
  return undefined;
}

/** The version key of an instance: instances without `version` share the unnamed one. */
const versionKey = (version: string | undefined): string => version ?? '';

export class StatusBoard {
  private readonly now: () => number;
  private readonly subgraphRings = new Map<string, Ring>();
  private readonly versionRings = new Map<string, Map<string, Ring>>();
  private readonly channelRings = new Map<string, Ring>();
  /** Last breaker state by subgraph, then instance URL; an instance with no event yet is closed. */
  private readonly breakers = new Map<string, Map<string, BreakerState>>();
  /** The instances discovery found last, by subgraph (`upstreams[].discovery`): listed instead of the ones given at start. */
  private readonly discovered = new Map<string, StatusSubgraph['instances']>();
  /** Last health-check verdict by subgraph, then instance URL, for the subgraphs with `health:`. */
  private readonly checks = new Map<string, Map<string, CheckState>>();
  /** Shadow copies by outcome, for the subgraphs with `shadow:`. */
  private readonly shadows = new Map<string, ShadowCounts>();
  /** Adaptive concurrency limit by subgraph, for the subgraphs with `adaptiveConcurrency:`. */
  private readonly concurrency = new Map<string, ConcurrencyState>();
  /** Guarded canary versions by subgraph, then version, for the subgraphs with `canary:`. */
  private readonly guarded = new Map<string, Map<string, GuardedVersion>>();
  private schemaHash: string;
  private loadedAt: Date;
  private reload: StatusSnapshot['reload'];
  private admission: AdmissionState | undefined;
  private readonly listeners: Array<[string, (message: unknown) => void]> = [];

  constructor(private readonly options: StatusBoardOptions) {
    this.now = options.now ?? Date.now;
    for (const subgraph of options.subgraphs) {
      this.subgraphRings.set(subgraph.name, new Ring());
      this.versionRings.set(subgraph.name, new Map(subgraph.instances.map((i) => [versionKey(i.version), new Ring()])));
      this.breakers.set(subgraph.name, new Map(subgraph.instances.map((i) => [i.url, 'closed'])));
      if (subgraph.adaptive !== undefined) this.concurrency.set(subgraph.name, { limit: subgraph.adaptive, inFlight: 0, shed: 0 });
      if (subgraph.checks) this.checks.set(subgraph.name, new Map(subgraph.instances.map((i) => [i.url, 'unchecked'])));
      if (subgraph.shadow !== undefined) this.shadows.set(subgraph.name, noShadows());
      if (subgraph.canary) this.guarded.set(subgraph.name, new Map());
    }
    for (const channel of options.channels) this.channelRings.set(channel.name, new Ring());
    // The hash of the SDL `tessera compose` writes (sorted, newline-terminated): `sha256sum schema/unified.graphql` shows the same prefix.
    this.schemaHash = createHash('sha256').update(`${printSchema(lexicographicSortSchema(options.schema))}\n`).digest('hex').slice(0, 12);
    this.loadedAt = options.loadedAt;
    this.reload = { lastAttempt: null, lastResult: null, lastError: null, version: this.schemaHash };
    this.listen(EVENTS.upstream, (message) => this.onUpstream(message as UpstreamEvent));
    this.listen(EVENTS.breaker, (message) => this.onBreaker(message as BreakerEvent));
    this.listen(EVENTS.instanceHealth, (message) => {
      const event = message as InstanceHealthEvent;
      const instances = this.checks.get(event.subgraph);
      if (instances?.has(event.instance)) instances.set(event.instance, event.state);
    });
    this.listen(EVENTS.concurrency, (message) => {
      const event = message as ConcurrencyEvent;
      const state = this.concurrency.get(event.subgraph);
      if (!state) return;
      state.limit = event.limit;
      state.inFlight = event.inFlight;
      state.shed = event.shed;
    });
    this.listen(EVENTS.admission, (message) => {
      const event = message as AdmissionEvent;
      const state = (this.admission ??= { limit: null, active: 0, queued: 0, waited: 0, dropped: 0 });
      state.limit = Number.isFinite(event.limit) ? event.limit : null;
      state.active = event.active;
      state.queued = event.queued;
      if (event.change === 'started' && event.waitedMs > 0) state.waited++;
      else if (event.change === 'dropped') state.dropped++;
    });
    this.listen(EVENTS.schema, (message) => this.onSchema(message as SchemaEvent));
    this.listen(EVENTS.shadow, (message) => {
      const event = message as ShadowEvent;
      const counts = this.shadows.get(event.subgraph);
      if (counts) counts[event.outcome]++;
    });
    this.listen(EVENTS.canary, (message) => {
      const event = message as CanaryEvent;
      if (event.gateway !== undefined && this.options.gatewayId !== undefined && event.gateway !== this.options.gatewayId) return;
      const versions = this.guarded.get(event.subgraph);
      if (!versions || !this.versionRings.get(event.subgraph)?.has(event.version)) return;
      if (event.action === 'guarded') versions.set(event.version, { kind: event.kind, reason: event.reason, measured: event.measured, stable: event.stable, at: new Date(this.now()).toISOString() });
      else if (event.action === 'restored') versions.delete(event.version);
    });
    this.listen(EVENTS.discovery, (message) => this.onDiscovery(message as DiscoveryEvent));
  }

  /** A discovered subgraph's instance set changed: the page lists the instances found now (new ones closed and unchecked). */
  private onDiscovery(event: DiscoveryEvent): void {
    const breakers = this.breakers.get(event.subgraph);
    if (!breakers || event.error !== undefined) return;
    this.discovered.set(event.subgraph, event.instances);
    const urls = new Set(event.instances.map((i) => i.url));
    const checks = this.checks.get(event.subgraph);
    for (const states of [breakers, checks]) {
      for (const url of [...(states?.keys() ?? [])]) if (!urls.has(url)) states!.delete(url);
    }
    const rings = this.versionRings.get(event.subgraph)!;
    for (const instance of event.instances) {
      if (!breakers.has(instance.url)) breakers.set(instance.url, 'closed');
      if (checks && !checks.has(instance.url)) checks.set(instance.url, 'unchecked');
      if (!rings.has(versionKey(instance.version))) rings.set(versionKey(instance.version), new Ring());
    }
  }

  /** A reload attempt (start-up's own load is already in the options): a loaded version becomes the schema shown. */
  private onSchema(event: SchemaEvent): void {
    if (event.trigger === 'start' || (this.options.gatewayId !== undefined && event.gateway !== this.options.gatewayId)) return;
    if (event.result === 'loaded' && event.version) {
      this.schemaHash = event.version;
      this.loadedAt = new Date(event.at);
    }
    this.reload = { lastAttempt: event.at, lastResult: event.result, lastError: event.problems ?? null, version: this.schemaHash };
  }

  private listen(name: string, listener: (message: unknown) => void): void {
    subscribe(name, listener);
    this.listeners.push([name, listener]);
  }

  private onUpstream(event: UpstreamEvent): void {
    const ring = this.subgraphRings.get(event.subgraph);
    if (!ring) return;
    const now = this.now();
    // An error as the metrics count one: a gateway error code, or an HTTP status of 400 or more.
    const error = event.code !== undefined || (event.status !== undefined && event.status >= 400);
    ring.record(now, event.durationMs, error);
    this.versionRings.get(event.subgraph)?.get(versionKey(event.version))?.record(now, event.durationMs, error);
  }

  private onBreaker(event: BreakerEvent): void {
    const instances = this.breakers.get(event.subgraph);
    if (instances?.has(event.instance)) instances.set(event.instance, event.state);
  }

  /** Records one gateway request of a channel (the Yoga plugin calls it; exported for tests). */
  recordRequest(channel: string, durationMs: number, error: boolean): void {
    this.channelRings.get(channel)?.record(this.now(), durationMs, error);
  }

  /**
   * What times the requests of one channel, from each request's account
   * when its response is ready: from the request's arrival to its response;
   * an error is an answer with `errors` or an HTTP status of 400 or more.
   */
  requestObserver(channel: string): RequestObserver {
    return {
      readsAttempts: false,
      ended: (account, _route, status, now) => this.recordRequest(channel, now - account.started, account.errored || status >= 400),
    };
  }

  /** This process's rings over the window ending with the bucket of `now`, and its breakers (for merging several processes). */
  part(now: number = this.now()): StatusPart {
    const windows = (rings: ReadonlyMap<string, Ring>): Record<string, RingWindow> => Object.fromEntries([...rings].map(([name, ring]) => [name, ring.window(now)]));
    return {
      subgraphs: windows(this.subgraphRings),
      versions: Object.fromEntries([...this.versionRings].map(([name, rings]) => [name, windows(rings)])),
      channels: windows(this.channelRings),
      breakers: Object.fromEntries([...this.breakers].map(([name, instances]) => [name, Object.fromEntries(instances)])),
      checks: Object.fromEntries([...this.checks].map(([name, instances]) => [name, Object.fromEntries(instances)])),
      shadows: Object.fromEntries([...this.shadows].map(([name, counts]) => [name, { ...counts }])),
      concurrency: Object.fromEntries([...this.concurrency].map(([name, state]) => [name, { ...state }])),
      guarded: Object.fromEntries([...this.guarded].map(([name, versions]) => [name, Object.fromEntries(versions)])),
      ...(this.admission && { admission: { ...this.admission } }),
    };
  }

  /**
   * The page's data: this process's alone, or, given `group`, the parts of
   * every process that answered (taken at `group.now`) merged: per bucket,
   * counts, errors and histograms summed, percentiles from the sums; each
   * breaker the worst state any process saw; health, schema and the
   * configuration from this process (every worker runs the same).
   */
  snapshot(group?: { now: number; parts: readonly StatusPart[]; missing: number; error?: string }): StatusSnapshot {
    const now = group?.now ?? this.now();
    const parts = group?.parts.length ? group.parts : [this.part(now)];
    const series = (pick: (part: StatusPart) => RingWindow | undefined): Series =>
      seriesOf(mergeWindows(parts.flatMap((part) => pick(part) ?? [])), now);
    const first = Math.floor(now / BUCKET_MS) - BUCKETS + 1;
    const timeline = Array.from({ length: BUCKETS }, (_, i) => ((first + i) * BUCKET_MS) / 1000);
    return {
      now: new Date(now).toISOString(),
      workers: parts.length,
      missing: group?.missing ?? 0,
      ...(group?.error !== undefined && { groupError: group.error }),
      bucketSeconds: BUCKET_MS / 1000,
      timeline,
      schema: { hash: this.schemaHash, loadedAt: this.loadedAt.toISOString() },
      reload: this.reload,
      stage: this.options.stage?.() ?? null,
      admission: sumAdmission(parts.map((part) => part.admission)),
      channels: this.options.channels.map((c) => ({ name: c.name, path: c.path, series: series((part) => part.channels[c.name]) })),
      subgraphs: this.options.subgraphs.map((s) => ({
        name: s.name,
        kind: s.kind,
        health: this.options.health(s.name),
        instances: (this.discovered.get(s.name) ?? s.instances).map((i) => ({
          url: i.url,
          version: i.version ?? null,
          weight: i.weight,
          breaker: s.breakers ? worstBreaker(parts.map((part) => part.breakers[s.name]?.[i.url])) : 'off',
          check: s.checks ? worstCheck(parts.map((part) => part.checks?.[s.name]?.[i.url])) : 'off',
          canary: s.canary ? (guardedIn(parts, s.name, versionKey(i.version)) ? 'guarded' : 'serving') : 'off',
        })),
        concurrency: s.adaptive !== undefined ? sumConcurrency(parts.map((part) => part.concurrency?.[s.name])) : 'off',
        series: series((part) => part.subgraphs[s.name]),
        versions: [...this.versionRings.get(s.name)!.keys()].map((version) => ({
          version,
          series: series((part) => part.versions[s.name]?.[version]),
          guarded: guardedIn(parts, s.name, version) ?? null,
        })),
        shadow: s.shadow === undefined ? null : { version: s.shadow, ...sumShadows(parts.map((part) => part.shadows?.[s.name])) },
      })),
    };
  }

  /** Stops listening to the diagnostics channels (the gateway closed). */
  close(): void {
    for (const [name, listener] of this.listeners.splice(0)) unsubscribe(name, listener);
  }
}
