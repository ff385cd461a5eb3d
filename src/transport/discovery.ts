/**
 * DNS discovery of an upstream's instances (descriptor `upstreams[].discovery`).
 * An entry with `discovery: dns` names a host whose A and AAAA records are
 * its instances (one per address, at the entry URL's port and path, with the
 * entry's version); `discovery: srv` names SRV records whose targets
 * (resolved to their addresses the same way) and ports are. Entries without
 * `discovery` are instances as written.
 *
 * The weight of an entry is shared by the instances it has now: each of its
 * n instances weighs `weight / n`, so an entry (a version, for canaries)
 * keeps its share of the traffic however many instances it has.
 *
 * Each name is resolved when the upstream is made, then every `intervalMs`
 * (jittered by ±10%; every `minIntervalMs`, at least 1 s, while no instance
 * is known), and again soon after a call failed at the connection
 * (`refresh()`, at most once per `minIntervalMs`). A resolution that fails,
 * times out or finds no record keeps the name's last known instances (a
 * DNS hiccup must not empty a fleet). Every resolution that changed the set
 * or failed is published on `tessera:discovery` (the gateway logs it, the
 * metrics count it, the status page lists the instances).
 *
 * Addresses that are never a backend (link-local, cloud metadata,
 * unspecified, multicast: upstream-guard.ts) are left out of what a name
 * resolves to, as the start-up guard refuses them in a URL.
 */
import { channel } from 'node:diagnostics_channel';
import { Resolver } from 'node:dns/promises';
import { EVENTS, type DiscoveryEvent } from '../events.js';
import type { Instance } from './call.js';
import { jittered } from './health.js';
import { neverABackend } from './upstream-guard.js';

export const discoveryChannel = channel(EVENTS.discovery);

/** Every 30 s, again at most once a second after a connection failure, 2 s per resolution, the system's DNS servers. */
export const DEFAULT_DISCOVERY: DiscoveryOptions = { intervalMs: 30_000, minIntervalMs: 1_000, timeoutMs: 2_000 };

export interface DiscoveryOptions {
  intervalMs: number;
  minIntervalMs: number;
  timeoutMs: number;
  /** DNS servers (`127.0.0.1:5353`) instead of the system's; for tests and special setups. */
  servers?: readonly string[];
}

/** An upstream entry as the descriptor gives it: an instance, or a name to resolve into instances. */
export interface UpstreamEntry extends Instance {
  discovery?: 'dns' | 'srv';
}

/** Does any entry of this upstream need resolving? */
export const discovers = (entries: readonly UpstreamEntry[]): boolean => entries.some((e) => e.discovery !== undefined);

/** `10.0.0.5` or `fd00::5` in place of the host of `url` (keeping its scheme, path, and its port unless one is given). */
function withAddress(url: URL, address: string, port?: number): string {
  const copy = new URL(url.href);
  copy.hostname = address.includes(':') ? `[${address}]` : address;
  if (port !== undefined) copy.port = String(port);
  return copy.href.replace(/\/$/, '');
}

/** The addresses of one name (A and AAAA); empty when it has neither. */
async function addresses(resolver: Resolver, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (found.length === 0 && v4.status === 'rejected') throw v4.reason as Error;
  return found.filter((a) => neverABackend(a) === undefined);
}

/** The instances one entry resolves to now; throws when the name cannot be resolved or has no usable record. */
export async function resolveEntry(resolver: Resolver, entry: UpstreamEntry): Promise<Instance[]> {
  const url = new URL(entry.url);
  const name = url.hostname;
  const instance = (href: string): Instance => ({ url: href, weight: entry.weight, ...(entry.version !== undefined && { version: entry.version }) });
  let found: Instance[];
  if (entry.discovery === 'srv') {
    const records = await resolver.resolveSrv(name);
    const targets = await Promise.all(records.map(async (r) => ({ port: r.port, addresses: await addresses(resolver, r.name).catch(() => []) })));
    found = targets.flatMap((t) => t.addresses.map((a) => instance(withAddress(url, a, t.port))));
  } else {
    found = (await addresses(resolver, name)).map((a) => instance(withAddress(url, a)));
  }
  if (found.length === 0) throw Object.assign(new Error(`${name} has no usable ${entry.discovery === 'srv' ? 'SRV' : 'A or AAAA'} record`), { code: 'ENODATA' });
  return found;
}

/**
 * The instances of one upstream, kept current. `onChange` hears each set
 * that differs from the last: the instances to add, the ones to remove,
 * and every instance now with its weight (each entry's shared by its
 * instances: the kept ones' weights change too).
 */
export class UpstreamDiscovery {
  /** Resolves once every name was asked once (found or not): calls wait for it. */
  readonly ready: Promise<void>;
  private readonly resolver: Resolver;
  /** Per entry: its instances (static entries: themselves). */
  private readonly found: Instance[][];
  private timer: NodeJS.Timeout | undefined;
  /** When the next round is due (Date.now() clock). */
  private dueAt = Infinity;
  private lastRound = 0;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly subgraph: string,
    private readonly entries: readonly UpstreamEntry[],
    private readonly options: DiscoveryOptions,
    private readonly onChange: (added: Instance[], removed: Instance[], instances: Instance[]) => void,
  ) {
    this.resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers) this.resolver.setServers([...options.servers]);
    this.found = entries.map((e) => (e.discovery ? [] : [{ url: e.url, weight: e.weight, ...(e.version !== undefined && { version: e.version }) }]));
    this.ready = this.round();
  }

  /** Every instance known now, in the entries' order, each URL once (the first entry's), each with its entry's weight shared by the entry's instances. */
  get instances(): Instance[] {
    const seen = new Set<string>();
    return this.found.flatMap((own) => own.map((i) => ({ ...i, weight: i.weight / own.length }))).filter((i) => !seen.has(i.url) && seen.add(i.url));
  }

  /** A call failed at the connection: resolve again soon (at most once per minIntervalMs). */
  refresh(): void {
    if (this.closed || this.running) return;
    const wait = Math.max(0, this.lastRound + this.options.minIntervalMs - Date.now());
    if (wait === 0) void this.round();
    else if (Date.now() + wait < this.dueAt) this.schedule(wait);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
  }

  private schedule(waitMs: number): void {
    clearTimeout(this.timer);
    this.dueAt = Date.now() + waitMs;
    this.timer = setTimeout(() => void this.round(), waitMs);
    // Discovery never keeps a process alive on its own.
    this.timer.unref();
  }

  /** One resolution of every discovered entry, then the next one scheduled. */
  private round(): Promise<void> {
    this.running ??= (async () => {
      clearTimeout(this.timer);
      this.dueAt = Infinity;
      this.lastRound = Date.now();
      const before = this.instances;
      const failures: Array<{ name: string; error: string }> = [];
      await Promise.all(
        this.entries.map(async (entry, i) => {
          if (!entry.discovery) return;
          try {
            this.found[i] = await resolveEntry(this.resolver, entry);
          } catch (error) {
            failures.push({ name: new URL(entry.url).hostname, error: (error as { code?: string }).code ?? (error as Error).message });
          }
        }),
      );
      if (this.closed) return;
      const after = this.instances;
      const urls = new Set(after.map((i) => i.url));
      const was = new Set(before.map((i) => i.url));
      const added = after.filter((i) => !was.has(i.url));
      const removed = before.filter((i) => !urls.has(i.url));
      if (added.length + removed.length > 0) {
        try {
          this.onChange(added, removed, after);
        } catch (error) {
          // A round runs from a timer: what the upstream could not take is reported like a failed resolution, never thrown there.
          failures.push({ name: added.map((i) => i.url).join(', '), error: (error as Error).message });
        }
      }
      if (discoveryChannel.hasSubscribers) {
        const names = this.entries.filter((e) => e.discovery).map((e) => new URL(e.url).hostname);
        // Shared weights as people read them (the status page, GET /admin/status): 26.67, not 26.666666666666668.
        const instances = after.map((i) => ({ ...i, weight: Math.round(i.weight * 100) / 100 }));
        for (const failure of failures) discoveryChannel.publish({ subgraph: this.subgraph, name: failure.name, added: [], removed: [], instances, error: failure.error } satisfies DiscoveryEvent);
        if (added.length + removed.length > 0) {
          discoveryChannel.publish({ subgraph: this.subgraph, name: names.join(', '), added: added.map((i) => i.url), removed: removed.map((i) => i.url), instances } satisfies DiscoveryEvent);
        }
      }
    })().finally(() => {
      this.running = undefined;
      // Nothing found yet: no call can fail to ask again, so ask again soon (every minInterval, at least 1 s).
      const next = this.instances.length === 0 ? Math.min(this.options.intervalMs, Math.max(this.options.minIntervalMs, 1_000)) : this.options.intervalMs;
      if (!this.closed) this.schedule(jittered(next));
    });
    return this.running;
  }
}
