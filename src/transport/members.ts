/**
 * The instances of one upstream as its pipeline holds them (members), and
 * how that set changes; one class for the HTTP and the gRPC upstream, which
 * give only what differs: how to connect to an instance (an undici pool, a
 * grpc-js channel), how to drain one, and how to check one.
 *
 * Static entries are members from the start. With discovered entries
 * (`upstreams[].discovery`, discovery.ts) the set follows the records:
 *
 * - an instance that appears joins with a breaker and a health verdict of
 *   its own; with `health:` it gets no call until its first check passed
 *   (except in the first resolution, as static instances at start-up);
 * - one that vanishes is retired at once (no new attempt goes to it: an
 *   attempt that chose it just before fails as a connection failure, so an
 *   idempotent call moves to another instance), is no longer checked, and
 *   is drained: its calls in flight finish, then its connection closes;
 * - every change gives each member its weight again: an entry's weight
 *   shared by the entry's instances now (discovery.ts), so that each entry
 *   (each version, for canaries) keeps its share of the traffic however
 *   many instances it has. The pipeline then hears the new set
 *   (`Pipeline.update`: the balancer, and the canary, which takes a guarded
 *   version's new weights to 0 again).
 */
import { upstreamBreakers, type BreakerOptions, type OutlierOptions, type UpstreamBreakers } from './breaker.js';
import type { Instance, Member } from './call.js';
import { DEFAULT_DISCOVERY, discovers, UpstreamDiscovery, type DiscoveryOptions, type UpstreamEntry } from './discovery.js';
import { instanceHealth, runHealthChecks, type HealthChecks, type HealthOptions } from './health.js';

/** A member a discovered upstream can retire: `retired` once discovery removed it (its connection is draining). */
export interface DrainableMember extends Member {
  retired: boolean;
}

export interface MemberSetOptions<M extends DrainableMember> {
  subgraph: string;
  /** The descriptor's upstream entries: instances, or names to resolve (`discovery`). */
  entries: readonly UpstreamEntry[];
  /** How entries with `discovery` are resolved (default DEFAULT_DISCOVERY). */
  discovery?: DiscoveryOptions | undefined;
  breaker?: BreakerOptions | false | undefined;
  outliers?: OutlierOptions | false | undefined;
  health?: HealthOptions | undefined;
  /** The protocol's connection to one instance, with `retired: false` (the breaker and health are added here). */
  connect(instance: Instance): M;
  /** Closes `member`'s connection once its calls in flight have ended. */
  drain(member: M): Promise<void>;
  /** One health check of `member` (health.ts): undefined when healthy, else why not. */
  check(member: M, timeoutMs: number): Promise<string | undefined>;
}

export class UpstreamMembers<M extends DrainableMember> {
  /** The entries as configured (each version's weight, the shadow's version), whatever discovery found. */
  readonly entries: readonly Instance[];
  /** Until the first resolution ends, calls wait for it; undefined without discovered entries, and after. */
  ready: Promise<void> | undefined;
  private list: M[];
  private readonly breakerOf: UpstreamBreakers;
  private readonly checks: HealthChecks<M> | undefined;
  private discovery: UpstreamDiscovery | undefined;
  /** During the first resolution: instances found then are not held back by their first check. */
  private first = true;
  /** Members discovery removed whose connections are closing (their calls in flight finish first). */
  private readonly retiring = new Set<Promise<void>>();
  private onUpdate: (members: readonly M[]) => void = () => undefined;

  constructor(private readonly options: MemberSetOptions<M>) {
    const discovered = discovers(options.entries);
    this.entries = options.entries.map((e) => ({ url: e.url, weight: e.weight, ...(e.version !== undefined && { version: e.version }) }));
    this.breakerOf = upstreamBreakers(options.breaker, options.outliers, options.subgraph, discovered ? 0 : options.entries.length);
    this.list = discovered ? [] : this.entries.map((instance) => this.join(instance, false));
    this.checks = options.health && runHealthChecks(this.list, options.health, options.check);
  }

  /** The members calls are sent to now. */
  get members(): readonly M[] {
    return this.list;
  }

  /**
   * Starts following the discovered entries' records (nothing to follow
   * without any); `onUpdate` hears each new member set. Called once the
   * pipeline that takes the set exists.
   */
  start(onUpdate: (members: readonly M[]) => void): void {
    this.onUpdate = onUpdate;
    if (!discovers(this.options.entries)) return;
    const discovery = new UpstreamDiscovery(this.options.subgraph, this.options.entries, this.options.discovery ?? DEFAULT_DISCOVERY, (added, removed, instances) =>
      this.changed(added, removed, instances),
    );
    this.discovery = discovery;
    this.ready = discovery.ready.then(() => {
      this.first = false;
      this.ready = undefined;
    });
  }

  /** A call failed at the connection: the instance may be gone for good, so DNS is asked again soon. */
  refresh(): void {
    this.discovery?.refresh();
  }

  /** One instance's connection, breaker and health; `gated`: no traffic before its first passed check (health.ts). */
  private join(instance: Instance, gated: boolean): M {
    const { options } = this;
    const member = options.connect(instance);
    const breaker = this.breakerOf(instance.url);
    const health = options.health && instanceHealth(options.health, options.subgraph, instance.url, gated);
    return Object.assign(member, breaker && { breaker }, health && { health });
  }

  /** Discovery found a different set: see the file's comment. */
  private changed(added: readonly Instance[], removed: readonly Instance[], instances: readonly Instance[]): void {
    const gone = new Set(removed.map((i) => i.url));
    const leaving = this.list.filter((m) => gone.has(m.url));
    const joining = added.map((instance) => this.join(instance, !this.first && this.options.health !== undefined));
    this.list = [...this.list.filter((m) => !gone.has(m.url)), ...joining];
    const weights = new Map(instances.map((i) => [i.url, i.weight]));
    for (const member of this.list) member.weight = weights.get(member.url) ?? member.weight;
    this.breakerOf.resize(this.list.length, leaving.flatMap((m) => m.breaker ?? []));
    this.onUpdate(this.list);
    for (const member of joining) this.checks?.add(member);
    for (const member of leaving) {
      this.checks?.remove(member);
      member.retired = true;
      const closing: Promise<void> = this.options.drain(member).finally(() => this.retiring.delete(closing));
      this.retiring.add(closing);
    }
  }

  /** Stops discovery and the checks, and drains every member (and those still draining). */
  async close(): Promise<void> {
    this.discovery?.close();
    this.checks?.();
    await Promise.all([...this.list.map((m) => this.options.drain(m)), ...this.retiring]);
  }
}
