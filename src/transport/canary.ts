/**
 * Canaries across the versions of one upstream (descriptor `canary:`): the
 * upstream entries that share a `version:` are one version, whose weight is
 * the sum of theirs. A discovered entry's instances (discovery.ts) all carry
 * its version and share its weight, so a version weighs the same however
 * many instances it has now; the versions are the entries', known from the
 * start, and their instances follow the member set (`update`).
 *
 * Sticky: a caller (the authenticated consumer's subject, or a request
 * header) is hashed onto a version by weighted rendezvous hashing: each
 * version scores `weight / -ln(hash(caller, version))` and the highest wins.
 * A version wins for a share of callers equal to its share of the weight, a
 * caller keeps its version while the weights stay the same, and when they
 * change only the callers whose winner changed move (raising a canary from
 * 5 to 10 moves callers onto it, none off it). When the winner has no
 * instance available (breakers open, health checks down, or every one
 * already tried by this call), the call goes to the next version of the
 * caller's ranking: a `fallback` event. A call with no caller identity is
 * weighted on its own, as without `canary:`. A stream (SSE subscription, gRPC
 * server stream) is placed by the same `versionFor` when it opens
 * (pipeline.ts `chooseStream`), so a caller's streams go where its calls go.
 *
 * Guard: every attempt's outcome and duration is recorded per version and per
 * kind (queries: idempotent calls; mutations: the rest), in a sliding window
 * of WINDOW_SLICES slices. When a version other than the stable one, and the
 * stable one, both have `minCalls` calls of a kind in the window, and the
 * version's error rate exceeds the stable one's by more than
 * `errorRateMargin`, or its p99 exceeds the stable one's by more than
 * `p99Margin` (a share) and `p99MinGap`, the version is guarded: the weight
 * of each of its instances drops to 0 (no call, sticky or not, goes there),
 * and a `guarded` event says what was measured against what. It stays so
 * until `restore()` (admin API, `tessera canary restore`) or a reload that
 * changes the descriptor (which builds a new upstream from the configured
 * weights). The stable version is the descriptor's `canary.stable`, else the
 * version with the highest total weight (the first listed of those tied).
 *
 * Each process judges on its own traffic. With a shared store (`share()`:
 * gateway.yaml `store:`, Redis for replicas, the cluster primary for the
 * workers of `tessera serve`), a decision is written there and every process
 * applies it within a poll: one process guarding a version guards it
 * everywhere, a restore anywhere restores it everywhere. The key names the
 * upstream's configuration (instances, versions, weights), so a reload that
 * changes the descriptor starts afresh, as it does in one process. A key
 * lives `decisionTtl` (gateway.yaml `canary.decisionTtl`) from its last
 * read, and every process reads its keys at each poll: it lasts while some
 * process still runs that configuration, and outlives it by the TTL.
 */
import { channel } from 'node:diagnostics_channel';
import { EVENTS, type CanaryEvent, type CanaryKind, type CanaryMeasure } from '../events.js';
import type { RequestScope } from '../request-scope.js';
import { spareInstance } from './breaker.js';
import type { Instance, Member } from './call.js';

export interface CanaryGuardOptions {
  windowMs: number;
  minCalls: number;
  errorRateMargin: number;
  /** A share (0.5: 50%), or false: latency is not judged. */
  p99Margin: number | false;
  p99MinGapMs: number;
}

export interface CanaryOptions {
  /** The version never guarded and compared with; default: the highest total weight. */
  stable?: string | undefined;
  /** Who a caller is: the consumer's subject (when `consumer`), else the `header`'s value; absent: not sticky. */
  sticky?: { consumer: boolean; header?: string | undefined } | undefined;
  guard: CanaryGuardOptions | false;
}

export const canaryChannel = channel(EVENTS.canary);

/** What tripped a guard, as the admin API and the status page show it. */
export interface CanaryTrip {
  kind: CanaryKind;
  reason: 'error-rate' | 'p99';
  /** ISO 8601. */
  at: string;
  measured: CanaryMeasure;
  stable: CanaryMeasure & { version: string };
}

/** One upstream's canary state, for GET /admin/canary. */
export interface CanaryState {
  subgraph: string;
  stable: string;
  sticky: string | null;
  guard: CanaryGuardOptions | false;
  versions: Array<{ version: string; configuredWeight: number; weight: number; guarded: CanaryTrip | null; window: Record<CanaryKind, CanaryMeasure> }>;
}

const WINDOW_SLICES = 10;
/** Upper bounds (ms) of the latency bins the p99 is read from; a last, open bin takes the rest. */
const BOUNDS_MS = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 30_000];
const BINS = BOUNDS_MS.length + 1;

function binOf(ms: number): number {
  let i = 0;
  while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]!) i++;
  return i;
}

/**
 * Calls, failures and a latency histogram over a sliding window of
 * WINDOW_SLICES slices, with running totals so a measure costs no sum over
 * the slices.
 */
class SlidingWindow {
  private readonly calls = new Array<number>(WINDOW_SLICES).fill(0);
  private readonly failures = new Array<number>(WINDOW_SLICES).fill(0);
  private readonly bins = new Uint32Array(WINDOW_SLICES * BINS);
  private readonly totalBins = new Uint32Array(BINS);
  private totalCalls = 0;
  private totalFailures = 0;
  private sliceStart: number | undefined;
  private slice = 0;

  constructor(private readonly widthMs: number) {}

  record(now: number, ms: number, failed: boolean): void {
    this.rotate(now);
    const bin = binOf(ms);
    this.calls[this.slice]!++;
    this.totalCalls++;
    if (failed) {
      this.failures[this.slice]!++;
      this.totalFailures++;
    }
    this.bins[this.slice * BINS + bin]!++;
    this.totalBins[bin]!++;
  }

  get count(): number {
    return this.totalCalls;
  }

  measure(now: number): CanaryMeasure {
    this.rotate(now);
    return { calls: this.totalCalls, errorRate: this.errorRate(), p99Ms: this.p99() };
  }

  errorRate(): number {
    return this.totalCalls === 0 ? 0 : this.totalFailures / this.totalCalls;
  }

  /** Interpolated inside the bin holding it (the open last bin answers its lower bound). */
  p99(): number {
    if (this.totalCalls === 0) return 0;
    const rank = 0.99 * this.totalCalls;
    let below = 0;
    for (let i = 0; i < BINS; i++) {
      const inBin = this.totalBins[i]!;
      if (inBin > 0 && below + inBin >= rank) {
        const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
        const upper = BOUNDS_MS[i];
        if (upper === undefined) return lower;
        return Math.round((lower + ((upper - lower) * (rank - below)) / inBin) * 100) / 100;
      }
      below += inBin;
    }
    return BOUNDS_MS[BOUNDS_MS.length - 1]!;
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
    this.bins.fill(0);
    this.totalBins.fill(0);
    this.totalCalls = 0;
    this.totalFailures = 0;
  }

  /** Moves the window forward, taking the slices that left it off the totals. */
  private rotate(now: number): void {
    const width = this.widthMs / WINDOW_SLICES;
    this.sliceStart ??= now;
    const steps = Math.floor((now - this.sliceStart) / width);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, WINDOW_SLICES); i++) {
      this.slice = (this.slice + 1) % WINDOW_SLICES;
      this.totalCalls -= this.calls[this.slice]!;
      this.totalFailures -= this.failures[this.slice]!;
      this.calls[this.slice] = 0;
      this.failures[this.slice] = 0;
      for (let b = 0; b < BINS; b++) {
        this.totalBins[b]! -= this.bins[this.slice * BINS + b]!;
        this.bins[this.slice * BINS + b] = 0;
      }
    }
    this.sliceStart += steps * width;
  }
}

interface Version<M extends Member> {
  name: string;
  /** Its instances now (discovery changes them). */
  members: readonly M[];
  /** Each member's configured weight (its entry's share), in `members` order: restored from here. */
  configured: readonly number[];
  /** The sum of its entries' weights. */
  configuredWeight: number;
  guarded: CanaryTrip | undefined;
  windows: Record<CanaryKind, SlidingWindow>;
}

const NONE_TRIED: ReadonlySet<never> = new Set();

/** FNV-1a over the string's UTF-16 units, then murmur3's finaliser: a uniform 32-bit hash of short keys. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Where guard decisions are shared (store/'s KeyValueStore, seen structurally: transport/ imports no store/). */
export interface SharedDecisions {
  /** A value found lives `ttlMs` from now. */
  get(key: string, ttlMs: number): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** How the board shares its decisions, as GET /admin/canary shows it (null: not shared, one process). */
export interface CanarySharing {
  pollMs: number;
  decisionTtlMs: number;
}

export class Canary<M extends Member = Member> {
  readonly stable: string;
  /** Names this upstream's configuration (instances, versions, weights, options) in the shared store's keys. */
  readonly configuration: string;
  /** The gateway whose board holds it (CanaryEvent.gateway). */
  gateway: string | undefined;
  /** Told of each decision taken here (a trip, a restore), for the shared store; not of those applied from it. */
  onDecision: ((version: string, trip: CanaryTrip | undefined) => void) | undefined;
  private readonly versions: Array<Version<M>>;
  private readonly byMember = new Map<M, Version<M>>();
  private readonly stableVersion: Version<M>;

  /**
   * `entries`: the upstream's entries as configured (instances, or names
   * discovery resolves), which name the versions and their weights;
   * `members`: the instances now (`update` when they change).
   */
  constructor(
    readonly subgraph: string,
    entries: readonly Instance[],
    members: readonly M[],
    readonly options: CanaryOptions,
    private readonly now: () => number = Date.now,
  ) {
    const names = [...new Set(entries.map((e) => e.version ?? ''))];
    const windowMs = options.guard === false ? 60_000 : options.guard.windowMs;
    this.versions = names.map((name) => ({
      name,
      members: [],
      configured: [],
      configuredWeight: entries.filter((e) => (e.version ?? '') === name).reduce((sum, e) => sum + e.weight, 0),
      guarded: undefined,
      windows: { query: new SlidingWindow(windowMs), mutation: new SlidingWindow(windowMs) },
    }));
    // The highest total weight; the first listed among those tied (reduce keeps the first of equals).
    const heaviest = this.versions.reduce((best, v) => (v.configuredWeight > best.configuredWeight ? v : best));
    this.stableVersion = this.versions.find((v) => v.name === options.stable) ?? heaviest;
    this.stable = this.stableVersion.name;
    this.configuration = hash32(JSON.stringify([entries.map((e) => [e.url, e.version, e.weight]), options])).toString(36);
    this.update(members);
  }

  /**
   * The instances now (members.ts), each with its configured weight (its
   * entry's share): each version takes its own, and a guarded version's
   * go to weight 0 at once (a new instance of it gets no call either).
   */
  update(members: readonly M[]): void {
    this.byMember.clear();
    for (const version of this.versions) {
      version.members = members.filter((m) => (m.version ?? '') === version.name);
      version.configured = version.members.map((m) => m.weight);
      for (const m of version.members) {
        this.byMember.set(m, version);
        if (version.guarded) m.weight = 0;
      }
    }
  }

  /** Is there a caller identity to stick to (sticky configured, and the call names its caller)? */
  private callerOf(scope: RequestScope): string | undefined {
    const sticky = this.options.sticky;
    if (!sticky) return undefined;
    if (sticky.consumer && scope.identity) return `consumer:${scope.identity.subject}`;
    if (sticky.header === undefined) return undefined;
    const value = scope.headers.get(sticky.header);
    return value ? `header:${value}` : undefined;
  }

  /**
   * The version this attempt goes to, or undefined: any (the call names no
   * caller, stickiness is off, or no version has an instance available, in
   * which case the instance choice applies its own rules).
   */
  versionFor(scope: RequestScope, tried: ReadonlySet<M> | undefined): string | undefined {
    const caller = this.callerOf(scope);
    if (caller === undefined) return undefined;
    const ranked = this.rank(caller);
    if (ranked.length === 0) return undefined;
    const chosen =
      ranked.find((v) => spareInstance(v.members, tried ?? NONE_TRIED)) ?? (tried ? ranked.find((v) => spareInstance(v.members, NONE_TRIED)) : undefined);
    if (!chosen) return undefined;
    const first = ranked[0]!;
    if (chosen !== first && canaryChannel.hasSubscribers) {
      canaryChannel.publish({ gateway: this.gateway, subgraph: this.subgraph, version: first.name, action: 'fallback', to: chosen.name } satisfies CanaryEvent);
    }
    return chosen.name;
  }

  /** The versions with weight, best first for this caller (weighted rendezvous hashing). */
  private rank(caller: string): Array<Version<M>> {
    const scored: Array<{ version: Version<M>; score: number }> = [];
    for (const version of this.versions) {
      let weight = 0;
      for (const m of version.members) weight += m.weight;
      if (weight === 0) continue;
      // In (0, 1): never 0 (ln 0) nor 1 (a score of infinity).
      const u = (hash32(`${caller}\u0000${version.name}`) + 0.5) / 4_294_967_296;
      scored.push({ version, score: weight / -Math.log(u) });
    }
    return scored.sort((a, b) => b.score - a.score).map((s) => s.version);
  }

  /** Does the guard record outcomes (so the stage times the attempts)? */
  get guarding(): boolean {
    return this.options.guard !== false;
  }

  /** One attempt's outcome on `member`: `failed` as the breaker counts a failure. */
  record(member: M, idempotent: boolean, ms: number, failed: boolean): void {
    const guard = this.options.guard;
    if (guard === false) return;
    const version = this.byMember.get(member);
    if (!version) return;
    const kind: CanaryKind = idempotent ? 'query' : 'mutation';
    const now = this.now();
    const window = version.windows[kind];
    window.record(now, ms, failed);
    if (version === this.stableVersion || version.guarded || window.count < guard.minCalls) return;
    const stable = this.stableVersion.windows[kind];
    const stableMeasure = stable.measure(now);
    if (stableMeasure.calls < guard.minCalls) return;
    const measured = window.measure(now);
    let reason: CanaryTrip['reason'] | undefined;
    if (measured.errorRate > stableMeasure.errorRate + guard.errorRateMargin) reason = 'error-rate';
    else if (guard.p99Margin !== false && measured.p99Ms > stableMeasure.p99Ms * (1 + guard.p99Margin) && measured.p99Ms - stableMeasure.p99Ms > guard.p99MinGapMs) reason = 'p99';
    if (reason) this.trip(version, { kind, reason, at: new Date(now).toISOString(), measured, stable: { version: this.stable, ...stableMeasure } });
  }

  /** `by`: set when the decision was taken elsewhere and read from the shared store. */
  private trip(version: Version<M>, trip: CanaryTrip, by?: string): void {
    version.guarded = trip;
    for (const m of version.members) m.weight = 0;
    if (by === undefined) this.onDecision?.(version.name, trip);
    if (canaryChannel.hasSubscribers) {
      canaryChannel.publish({
        gateway: this.gateway,
        subgraph: this.subgraph,
        version: version.name,
        action: 'guarded',
        kind: trip.kind,
        reason: trip.reason,
        measured: trip.measured,
        stable: trip.stable,
        ...(by !== undefined && { by }),
      } satisfies CanaryEvent);
    }
  }

  /** Applies a trip decided by another process (read from the shared store); false when the version is already guarded or unknown. */
  applyShared(name: string, trip: CanaryTrip): boolean {
    const version = this.versions.find((v) => v.name === name);
    if (!version || version.guarded || version === this.stableVersion) return false;
    this.trip(version, trip, 'shared store');
    return true;
  }

  /** The guarded versions and their trips. */
  guardedVersions(): Array<[string, CanaryTrip]> {
    return this.versions.flatMap((v) => (v.guarded ? [[v.name, v.guarded] as [string, CanaryTrip]] : []));
  }

  /**
   * Gives a guarded version its configured weights back, with a fresh window; false when it was not guarded.
   * `shared`: the restore was read from the shared store (so it is not written back).
   */
  restore(name: string, by: string, shared = false): boolean {
    const version = this.versions.find((v) => v.name === name);
    if (!version?.guarded) return false;
    version.members.forEach((m, i) => (m.weight = version.configured[i]!));
    version.guarded = undefined;
    version.windows.query.reset();
    version.windows.mutation.reset();
    if (!shared) this.onDecision?.(name, undefined);
    if (canaryChannel.hasSubscribers) canaryChannel.publish({ gateway: this.gateway, subgraph: this.subgraph, version: name, action: 'restored', by } satisfies CanaryEvent);
    return true;
  }

  /** The version names, stable first. */
  get versionNames(): string[] {
    return [this.stable, ...this.versions.filter((v) => v !== this.stableVersion).map((v) => v.name)];
  }

  state(): CanaryState {
    const now = this.now();
    const sticky = this.options.sticky;
    return {
      subgraph: this.subgraph,
      stable: this.stable,
      sticky: sticky ? [sticky.consumer ? 'consumer' : undefined, sticky.header && `header ${sticky.header}`].filter(Boolean).join(', then ') : null,
      guard: this.options.guard,
      versions: this.versions.map((v) => ({
        version: v.name,
        configuredWeight: v.configuredWeight,
        // Rounded: a discovered entry's weight shared by 7 instances adds back up to 95.00000000000001.
        weight: Math.round(v.members.reduce((sum, m) => sum + m.weight, 0) * 100) / 100,
        guarded: v.guarded ?? null,
        window: { query: v.windows.query.measure(now), mutation: v.windows.mutation.measure(now) },
      })),
    };
  }
}

/**
 * The canaries of one gateway's upstreams, by subgraph, for the admin API:
 * each upstream adds its own when built and removes it when closed. A
 * subgraph can have two for a while (a reload's new upstream beside the old
 * one still draining); a restore reaches both, the state shown is the newest.
 */
export class CanaryBoard {
  /** `gateway`: the id its canaries' events carry (CanaryEvent.gateway). */
  constructor(private readonly gateway?: string) {}

  private readonly bySubgraph = new Map<string, Array<Canary<any>>>();
  private shared: ({ store: SharedDecisions; onError: (error: unknown) => void } & CanarySharing) | undefined;
  /**
   * Shared keys this process found in the store (or wrote there), with when
   * that read or write was sent (performance.now()): the key cannot expire
   * before then + the TTL, so a key found missing sooner was deleted by a
   * restore, and one found missing later may only have expired.
   */
  private readonly seen = new Map<string, number>();

  add(canary: Canary<any>): void {
    const list = this.bySubgraph.get(canary.subgraph) ?? [];
    list.push(canary);
    this.bySubgraph.set(canary.subgraph, list);
    canary.onDecision = (version, trip) => this.write(canary, version, trip);
    canary.gateway = this.gateway;
  }

  /**
   * Shares the guard's decisions through `store` from now on: each one taken
   * here is written with a lifetime of `decisionTtlMs`, and every `pollMs`
   * each process reads the decisions of its canaries' versions, which starts
   * their lifetime again, and applies them (a trip: guarded; a key deleted
   * by a restore: restored). So a decision's key lasts while a process runs
   * its configuration and at most `decisionTtlMs` after the last one stopped
   * (or reloaded a changed descriptor). A key found missing although it
   * could have expired (no read of it got through for `decisionTtlMs`: the
   * store was unreachable that long) is no restore: a process that holds the
   * decision writes it again. One missing sooner (deleted, or the store came
   * back empty within the TTL) is a restore. A store that fails calls `onError`
   * and is tried again at the next poll; each process keeps its own
   * decisions meanwhile. Returns the stop.
   */
  share(store: SharedDecisions, pollMs: number, onError: (error: unknown) => void, decisionTtlMs: number): () => void {
    this.shared = { store, onError, pollMs, decisionTtlMs };
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.poll().finally(() => (running = false));
    }, pollMs);
    timer.unref();
    return () => {
      clearInterval(timer);
      this.shared = undefined;
    };
  }

  private key(canary: Canary<any>, version: string): string {
    return `${canary.subgraph}:${version}:${canary.configuration}`;
  }

  /** How decisions are shared now, or null (one process, nothing shared). */
  sharing(): CanarySharing | null {
    return this.shared ? { pollMs: this.shared.pollMs, decisionTtlMs: this.shared.decisionTtlMs } : null;
  }

  private write(canary: Canary<any>, version: string, trip: CanaryTrip | undefined): void {
    const shared = this.shared;
    if (!shared) return;
    const key = this.key(canary, version);
    if (trip) {
      const sent = performance.now();
      shared.store.set(key, JSON.stringify(trip), shared.decisionTtlMs).then(() => this.seen.set(key, sent), shared.onError);
    } else {
      this.seen.delete(key);
      shared.store.delete(key).catch(shared.onError);
    }
  }

  /** One round of reading the shared decisions (exported through share(); tests call it through the interval). */
  private async poll(): Promise<void> {
    const shared = this.shared;
    if (!shared) return;
    for (const list of this.bySubgraph.values()) {
      const canary = list[list.length - 1]!;
      for (const version of canary.versionNames.slice(1)) {
        const key = this.key(canary, version);
        let value: string | undefined;
        const sent = performance.now();
        try {
          // Reading it starts its lifetime again: a key lasts while some process runs this configuration.
          value = await shared.store.get(key, shared.decisionTtlMs);
        } catch (error) {
          shared.onError(error);
          return;
        }
        const guarded = canary.guardedVersions().find(([name]) => name === version);
        if (value !== undefined) {
          this.seen.set(key, sent);
          if (!guarded) for (const each of list) each.applyShared(version, JSON.parse(value) as CanaryTrip);
        } else if (guarded) {
          // Gone from the store. Found there (or written) less than a TTL ago, so it cannot have expired: a restore
          // elsewhere deleted it. Else this process's own write has not landed yet (or failed), or the key may have
          // expired while no read got through: the decision holds here, so it is written again.
          const seenAt = this.seen.get(key);
          if (seenAt !== undefined && performance.now() - seenAt < shared.decisionTtlMs) {
            this.seen.delete(key);
            for (const each of list) each.restore(version, 'shared store', true);
          } else this.write(canary, version, guarded[1]);
        }
      }
    }
  }

  remove(canary: Canary<any>): void {
    const list = this.bySubgraph.get(canary.subgraph)?.filter((c) => c !== canary) ?? [];
    if (list.length === 0) this.bySubgraph.delete(canary.subgraph);
    else this.bySubgraph.set(canary.subgraph, list);
    // Its keys are no longer read here (they expire unless another process reads them), unless a canary left has the same configuration.
    if (!list.some((c) => c.configuration === canary.configuration)) for (const version of canary.versionNames) this.seen.delete(this.key(canary, version));
  }

  states(): CanaryState[] {
    return [...this.bySubgraph.values()].map((list) => list[list.length - 1]!.state());
  }

  /** The newest canary of `subgraph`, or undefined when it has no `canary:`. */
  of(subgraph: string): Canary<any> | undefined {
    const list = this.bySubgraph.get(subgraph);
    return list?.[list.length - 1];
  }

  /** Restores `version` of `subgraph` in each of its canaries; true when one was guarded. */
  restore(subgraph: string, version: string, by: string): boolean {
    let restored = false;
    const list = this.bySubgraph.get(subgraph) ?? [];
    for (const canary of list) restored = canary.restore(version, by) || restored;
    // Guarded by another process, not read here yet: its decision goes from the store all the same.
    const newest = list[list.length - 1];
    if (!restored && newest && this.shared) {
      const key = this.key(newest, version);
      this.seen.delete(key);
      this.shared.store.delete(key).catch(this.shared.onError);
    }
    return restored;
  }
}
