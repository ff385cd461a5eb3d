/**
 * Whether a subgraph's upstream answers, for `/readyz` and `tessera check`.
 *
 * A subgraph has answered once one of its instances accepted a TCP
 * connection (the probe: the cheapest check that works the same for REST,
 * gRPC and GraphQL, and sends no request a service could count or refuse),
 * once any call to it got an answer (an HTTP or gRPC status, whatever it
 * was), or once a health check of one of its instances passed. A connection refused, reset or not accepted within the probe's
 * timeout is no answer. Subgraphs whose schema was read from the upstream
 * itself (introspection) answered while loading and are not probed.
 *
 * With `server.readiness: healthy`, a required subgraph with active health
 * checks (`health:`, health.ts) is ready only while one of its instances is
 * checked up: `watchHealth` follows their verdicts on `tessera:instance-health`.
 *
 * Both watches follow the schema version served (`update` after a reload),
 * and a discovered subgraph's instances as `tessera:discovery` reports them.
 */
import { connect } from 'node:net';
import type { DiscoveryEvent, InstanceHealthEvent } from '../events.js';
import { discoveryChannel } from './discovery.js';
import { instanceHealthChannel } from './health.js';
import { upstreamChannel, type UpstreamEvent } from './stages/observe.js';

type Target = { host: string; port: number; shown: string } | { path: string; shown: string };

/**
 * Where a probe of an instance URL connects: host and port (the scheme's
 * default port when none is given), the host:port of a gRPC `dns:` target,
 * or the socket of a `unix:` one.
 */
function target(url: string): Target {
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length).replace(/^\/\//, '');
    return { path, shown: path };
  }
  const parsed = new URL(url.startsWith('dns:') ? `tcp://${url.replace(/^dns:(\/\/[^/]*\/)?/, '')}` : url);
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'grpcs:';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port) || (secure ? 443 : 80);
  return { host, port, shown: `${host}:${port}` };
}

/** Connects once to the instance: undefined when it accepted, else why not (`ECONNREFUSED 127.0.0.1:9`). */
export function probeInstance(url: string, timeoutMs: number): Promise<string | undefined> {
  let to: Target;
  try {
    to = target(url);
  } catch {
    return Promise.resolve(`${url} is not a URL`);
  }
  return new Promise((resolve) => {
    const socket = 'path' in to ? connect({ path: to.path }) : connect({ host: to.host, port: to.port });
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no connection within ${timeoutMs} ms to ${to.shown}`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(`${error.code ?? error.message} ${to.shown}`));
  });
}

/** Probes every instance of a subgraph: undefined once one accepted, else each instance's reason. */
export async function probeSubgraph(urls: readonly string[], timeoutMs: number): Promise<string[] | undefined> {
  const reasons = await Promise.all(urls.map((url) => probeInstance(url, timeoutMs)));
  return reasons.some((r) => r === undefined) ? undefined : reasons.map((r, i) => `${urls[i]}: ${r}`);
}

/**
 * The instances discovery last found per subgraph (`tessera:discovery`), for
 * the watches below and the admin API: a discovered subgraph's descriptor
 * names a DNS name, not its instances. Make it before the upstreams are made
 * (gateway.ts), so that their first resolution is heard; `close()` stops
 * listening.
 */
export class DiscoveredInstances {
  private readonly last = new Map<string, DiscoveryEvent['instances']>();
  private readonly listeners = new Set<(subgraph: string, urls: readonly string[]) => void>();
  private readonly onEvent = (message: unknown): void => {
    const event = message as DiscoveryEvent;
    if (event.error !== undefined) return;
    this.last.set(event.subgraph, event.instances);
    const urls = event.instances.map((i) => i.url);
    for (const listener of this.listeners) listener(event.subgraph, urls);
  };

  constructor() {
    discoveryChannel.subscribe(this.onEvent);
  }

  /** The instances last found for `subgraph` (none before its first resolution). */
  instances(subgraph: string): DiscoveryEvent['instances'] {
    return this.last.get(subgraph) ?? [];
  }

  /** `urls` as given, or for a discovered subgraph (undefined) the URLs last found for it. */
  urls(subgraph: string, urls: readonly string[] | undefined): readonly string[] {
    return urls ?? this.instances(subgraph).map((i) => i.url);
  }

  /** Hears each change; the returned function stops hearing it. */
  onChange(listener: (subgraph: string, urls: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    discoveryChannel.unsubscribe(this.onEvent);
    this.listeners.clear();
  }
}

/** Subgraph name → its instance URLs; undefined: found by discovery (`upstreams[].discovery`), from its events. */
export type WatchedSubgraphs = ReadonlyMap<string, readonly string[] | undefined>;

export interface AnswerWatchOptions {
  /** The subgraphs that have not answered yet. */
  subgraphs: WatchedSubgraphs;
  /** Longest wait for one TCP connection. */
  timeoutMs: number;
  /** Time between two probe rounds while some subgraph has not answered. */
  intervalMs: number;
  /** Called once for each subgraph when it first answers. */
  onAnswer?: (subgraph: string) => void;
  /** Where a discovered subgraph's instances are known (else the watch follows discovery from now on). */
  discovered?: DiscoveredInstances;
}

/** The subgraphs that have never answered, probed until each has; stops probing once all have, or on close. */
export interface AnswerWatch {
  /** The subgraphs still waited for, by name. */
  waiting(): string[];
  /** Resolves after the first probe round (so readiness is known before the gateway listens). */
  readonly firstRound: Promise<void>;
  /**
   * A new schema version serves (gateway.ts, after a reload): `wait` are its
   * subgraphs to wait for (added, or changed and not answered since), `kept`
   * the names it still serves; a subgraph no longer served is not probed
   * again, and with nothing left to wait for no timer is left.
   */
  update(wait: WatchedSubgraphs, kept: ReadonlySet<string>): void;
  close(): void;
}

export function watchAnswers(options: AnswerWatchOptions): AnswerWatch {
  const own = options.discovered ? undefined : new DiscoveredInstances();
  const discovered = options.discovered ?? own!;
  const waiting = new Map<string, readonly string[]>();
  const described = new Map(options.subgraphs);
  for (const [name, urls] of options.subgraphs) waiting.set(name, discovered.urls(name, urls));
  // A discovered subgraph waited for: its new instances are probed at once, not at the next round.
  const unheard = discovered.onChange((name, urls) => {
    if (!waiting.has(name) || described.get(name) !== undefined) return;
    waiting.set(name, urls);
    void probeSubgraph(urls, options.timeoutMs).then((reasons) => reasons === undefined && !closed && answered(name));
  });
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let subscribed = false;
  let probing = false;
  const answered = (name: string): void => {
    if (!waiting.delete(name)) return;
    options.onAnswer?.(name);
    if (waiting.size === 0) stop();
  };
  // A call that got any status answered; the probe rounds then have nothing left to do for that subgraph.
  const onEvent = (message: unknown): void => {
    const event = message as UpstreamEvent;
    if (event.status !== undefined) answered(event.subgraph);
  };
  // So did an instance whose health check passed (health.ts).
  const onHealth = (message: unknown): void => {
    const event = message as InstanceHealthEvent;
    if (event.state === 'up') answered(event.subgraph);
  };
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!subscribed) return;
    subscribed = false;
    upstreamChannel.unsubscribe(onEvent);
    instanceHealthChannel.unsubscribe(onHealth);
  };
  const round = async (): Promise<void> => {
    probing = true;
    await Promise.all(
      [...waiting].map(async ([name, urls]) => {
        if ((await probeSubgraph(urls, options.timeoutMs)) === undefined) answered(name);
      }),
    );
    probing = false;
    if (closed || waiting.size === 0) return;
    timer = setTimeout(() => void round(), options.intervalMs);
    // The probes never keep a process alive on their own.
    timer.unref();
  };
  const start = (): Promise<void> => {
    if (!subscribed) {
      subscribed = true;
      upstreamChannel.subscribe(onEvent);
      instanceHealthChannel.subscribe(onHealth);
    }
    return timer || probing ? Promise.resolve() : round();
  };
  const firstRound = waiting.size > 0 ? start() : Promise.resolve();
  return {
    waiting: () => [...waiting.keys()],
    firstRound,
    update(wait, kept) {
      if (closed) return;
      for (const name of [...waiting.keys()]) if (!kept.has(name)) waiting.delete(name);
      for (const [name, urls] of wait) {
        described.set(name, urls);
        waiting.set(name, discovered.urls(name, urls));
      }
      if (waiting.size === 0) stop();
      else void start();
    },
    close() {
      closed = true;
      stop();
      unheard();
      own?.close();
    },
  };
}

/** The health-checked subgraphs with no instance checked up, each with why its instances are not (instance URL → reason). */
export interface HealthWatch {
  unhealthy(): Record<string, Record<string, string>>;
  /**
   * A new schema version serves (gateway.ts, after a reload): its
   * health-checked subgraphs. Verdicts of instances still listed stay; a
   * subgraph no longer listed is forgotten.
   */
  update(subgraphs: WatchedSubgraphs): void;
  close(): void;
}

/**
 * Follows the health-check verdicts of these subgraphs' instances (subgraph
 * name → instance URLs, or undefined: from discovery, `shared` when given). Subscribes at once:
 * call it before the upstreams are made, so that their first verdicts are
 * heard. `onChange` hears the verdicts on the subgraphs watched.
 */
export function watchHealth(subgraphs: WatchedSubgraphs, onChange?: (event: InstanceHealthEvent) => void, shared?: DiscoveredInstances): HealthWatch {
  const own = shared ? undefined : new DiscoveredInstances();
  const discovered = shared ?? own!;
  const verdicts = new Map<string, Map<string, string>>();
  const described = new Map<string, readonly string[] | undefined>();
  /**
   * The last verdict heard of each instance, watched or not yet: a reload's
   * new upstreams check before the version is served (and the watch told).
   */
  const heard = new Map<string, Map<string, InstanceHealthEvent>>();
  /** `urls` become the instances of `name`, each keeping its verdict; a subgraph newly watched hears what was heard of it before. */
  const track = (name: string, urls: readonly string[]): void => {
    const before = verdicts.get(name);
    const earlier = heard.get(name);
    const instances = new Map<string, string>();
    for (const url of urls) {
      const known = before?.get(url);
      const event = earlier?.get(url);
      if (known !== undefined) instances.set(url, known);
      else if (event) instances.set(url, verdict(event));
      else instances.set(url, 'not checked yet');
      if (known === undefined && event) onChange?.(event);
    }
    verdicts.set(name, instances);
  };
  const update = (next: WatchedSubgraphs): void => {
    for (const name of [...verdicts.keys()]) if (!next.has(name)) verdicts.delete(name);
    for (const name of [...heard.keys()]) if (!next.has(name)) heard.delete(name);
    described.clear();
    for (const [name, urls] of next) {
      described.set(name, urls);
      track(name, discovered.urls(name, urls));
    }
  };
  update(subgraphs);
  const unheard = discovered.onChange((name, urls) => {
    if (verdicts.has(name) && described.get(name) === undefined) track(name, urls);
  });
  const onEvent = (message: unknown): void => {
    const event = message as InstanceHealthEvent;
    let instances = heard.get(event.subgraph);
    if (!instances) heard.set(event.subgraph, (instances = new Map()));
    instances.set(event.instance, event);
    const watched = verdicts.get(event.subgraph);
    if (!watched?.has(event.instance)) return;
    watched.set(event.instance, verdict(event));
    onChange?.(event);
  };
  instanceHealthChannel.subscribe(onEvent);
  return {
    unhealthy: () =>
      Object.fromEntries(
        [...verdicts].filter(([, instances]) => ![...instances.values()].includes('')).map(([name, instances]) => [name, Object.fromEntries(instances)]),
      ),
    update,
    close: () => {
      instanceHealthChannel.unsubscribe(onEvent);
      unheard();
      own?.close();
    },
  };
}

/** A verdict as `unhealthy()` lists it: '' when up, else why not. */
const verdict = (event: InstanceHealthEvent): string => (event.state === 'up' ? '' : (event.reason ?? 'check failed'));
