/**
 * The data of the live status page (telemetry.status): the last 15 minutes of
 * requests, errors and p50/p99 latency, in fixed-size rings of 5 s buckets,
 * per subgraph, per (subgraph, version) and per channel; each upstream
 * instance's last breaker state; and the description the gateway hands over
 * (kinds, instances, weights, health, schema, channels).
 *
 * Like metrics.ts it only observes: upstream attempts, breaker changes and
 * schema loads arrive on the `tessera:upstream`, `tessera:breaker` and
 * `tessera:schema` diagnostics channels (by name), gateway requests through
 * the Yoga plugin of `requestPlugin()`.
 * Memory is fixed at construction: one ring for each subgraph, each version
 * named in the descriptors and each channel, whatever the traffic; an event
 * of a subgraph, version or instance not configured is dropped, never given
 * a ring of its own.
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { lexicographicSortSchema, printSchema, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

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

  /** The window ending with the bucket of `now`, oldest first. */
  series(now: number): Series {
    const current = Math.floor(now / BUCKET_MS);
    // The current bucket is partly elapsed: its rate is over the elapsed part (at least 1 s, so one request is not a spike).
    const elapsedSeconds = Math.max(1, (now - current * BUCKET_MS) / 1000);
    const out: Series = { count: [], errors: [], rate: [], errorRate: [], p50: [], p99: [], recent: { seconds: 0, count: 0, errors: 0, rate: 0, p50: null, p99: null } };
    const recentBins = new Array<number>(BINS).fill(0);
    for (let epoch = current - BUCKETS + 1; epoch <= current; epoch++) {
      const slot = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
      const live = this.epochs[slot] === epoch;
      const count = live ? this.counts[slot]! : 0;
      const errors = live ? this.errorCounts[slot]! : 0;
      const seconds = epoch === current ? elapsedSeconds : BUCKET_MS / 1000;
      const bins = this.bins.subarray(slot * BINS, (slot + 1) * BINS);
      out.count.push(count);
      out.errors.push(errors);
      out.rate.push(round(count / seconds));
      out.errorRate.push(round(errors / seconds));
      out.p50.push(count > 0 ? round(histogramQuantile(bins, 0.5)!) : null);
      out.p99.push(count > 0 ? round(histogramQuantile(bins, 0.99)!) : null);
      if (epoch > current - RECENT_BUCKETS) {
        out.recent.seconds += seconds;
        out.recent.count += count;
        out.recent.errors += errors;
        if (count > 0) bins.forEach((n, i) => (recentBins[i]! += n));
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
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** The fields of a `tessera:upstream` event read here (transport/stages/observe.ts publishes one per attempt). */
interface UpstreamEvent {
  subgraph: string;
  instance: string;
  version?: string;
  status?: number;
  code?: string;
  durationMs: number;
}

/** The fields of a `tessera:breaker` event read here (transport/breaker.ts publishes one per change). */
interface BreakerEvent {
  subgraph: string;
  instance: string;
  state: BreakerState;
}

export type BreakerState = 'closed' | 'half-open' | 'open';

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
  /** The descriptor's `breaker` is not false: each instance has a circuit breaker. */
  breakers: boolean;
}

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
  /** Injected by tests; Date.now otherwise. */
  now?: () => number;
}

/** What `<path>/api` answers. */
export interface StatusSnapshot {
  now: string;
  bucketSeconds: number;
  /** Start of each bucket, seconds since the epoch, oldest first (uPlot's x values). */
  timeline: number[];
  schema: { hash: string; loadedAt: string };
  /** The last hot reload attempt (`tessera:schema`); all null before the first. */
  reload: { lastAttempt: string | null; lastResult: string | null; lastError: string[] | null; version: string };
  channels: Array<{ name: string; path: string; series: Series }>;
  subgraphs: Array<{
    name: string;
    kind: string;
    health: Health;
    /** `breaker` is `off` where the descriptor turned breakers off. */
    instances: Array<{ url: string; version: string | null; weight: number; breaker: BreakerState | 'off' }>;
    series: Series;
    versions: Array<{ version: string; series: Series }>;
  }>;
}

/** What this page reads of a `tessera:schema` event (registry/index.ts SchemaEvent; subscribed by name). */
interface SchemaEvent {
  gateway: string;
  result: 'loaded' | 'unchanged' | 'failed';
  version: string | undefined;
  trigger: string;
  at: string;
  problems?: string[];
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
  private schemaHash: string;
  private loadedAt: Date;
  private reload: StatusSnapshot['reload'];
  private readonly listeners: Array<[string, (message: unknown) => void]> = [];

  constructor(private readonly options: StatusBoardOptions) {
    this.now = options.now ?? Date.now;
    for (const subgraph of options.subgraphs) {
      this.subgraphRings.set(subgraph.name, new Ring());
      this.versionRings.set(subgraph.name, new Map(subgraph.instances.map((i) => [versionKey(i.version), new Ring()])));
      this.breakers.set(subgraph.name, new Map(subgraph.instances.map((i) => [i.url, 'closed'])));
    }
    for (const channel of options.channels) this.channelRings.set(channel.name, new Ring());
    // The hash of the SDL `tessera compose` writes (sorted, newline-terminated): `sha256sum schema/unified.graphql` shows the same prefix.
    this.schemaHash = createHash('sha256').update(`${printSchema(lexicographicSortSchema(options.schema))}\n`).digest('hex').slice(0, 12);
    this.loadedAt = options.loadedAt;
    this.reload = { lastAttempt: null, lastResult: null, lastError: null, version: this.schemaHash };
    this.listen('tessera:upstream', (message) => this.onUpstream(message as UpstreamEvent));
    this.listen('tessera:breaker', (message) => this.onBreaker(message as BreakerEvent));
    this.listen('tessera:schema', (message) => this.onSchema(message as SchemaEvent));
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
   * The Yoga plugin that times the requests of one channel: from the request
   * reaching Yoga to its response; an error is an answer with `errors` or an
   * HTTP status of 400 or more.
   */
  requestPlugin(channel: string): Plugin {
    const states = new WeakMap<Request, { started: number; error: boolean }>();
    return {
      onRequest: ({ request }) => {
        states.set(request, { started: performance.now(), error: false });
      },
      onResultProcess: ({ request, result }) => {
        const state = states.get(request);
        const first = (Array.isArray(result) ? result[0] : result) as { errors?: readonly GraphQLError[] } | undefined;
        if (state && first?.errors?.length) state.error = true;
      },
      onResponse: ({ request, response }) => {
        const state = states.get(request);
        if (!state) return;
        this.recordRequest(channel, performance.now() - state.started, state.error || response.status >= 400);
      },
    };
  }

  snapshot(): StatusSnapshot {
    const now = this.now();
    const first = Math.floor(now / BUCKET_MS) - BUCKETS + 1;
    const timeline = Array.from({ length: BUCKETS }, (_, i) => ((first + i) * BUCKET_MS) / 1000);
    return {
      now: new Date(now).toISOString(),
      bucketSeconds: BUCKET_MS / 1000,
      timeline,
      schema: { hash: this.schemaHash, loadedAt: this.loadedAt.toISOString() },
      reload: this.reload,
      channels: this.options.channels.map((c) => ({ name: c.name, path: c.path, series: this.channelRings.get(c.name)!.series(now) })),
      subgraphs: this.options.subgraphs.map((s) => ({
        name: s.name,
        kind: s.kind,
        health: this.options.health(s.name),
        instances: s.instances.map((i) => ({ url: i.url, version: i.version ?? null, weight: i.weight, breaker: s.breakers ? (this.breakers.get(s.name)?.get(i.url) ?? 'closed') : 'off' })),
        series: this.subgraphRings.get(s.name)!.series(now),
        versions: [...this.versionRings.get(s.name)!].map(([version, ring]) => ({ version, series: ring.series(now) })),
      })),
    };
  }

  /** Stops listening to the diagnostics channels (the gateway closed). */
  close(): void {
    for (const [name, listener] of this.listeners.splice(0)) unsubscribe(name, listener);
  }
}
