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
 */
import { connect } from 'node:net';
import type { InstanceHealthEvent } from '../events.js';
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

export interface AnswerWatchOptions {
  /** Subgraph name → its instance URLs, for the subgraphs that have not answered yet. */
  subgraphs: ReadonlyMap<string, readonly string[]>;
  /** Longest wait for one TCP connection. */
  timeoutMs: number;
  /** Time between two probe rounds while some subgraph has not answered. */
  intervalMs: number;
  /** Called once for each subgraph when it first answers. */
  onAnswer?: (subgraph: string) => void;
}

/** The subgraphs that have never answered, probed until each has; stops probing once all have, or on close. */
export interface AnswerWatch {
  /** The subgraphs still waited for, by name. */
  waiting(): string[];
  /** Resolves after the first probe round (so readiness is known before the gateway listens). */
  readonly firstRound: Promise<void>;
  close(): void;
}

export function watchAnswers(options: AnswerWatchOptions): AnswerWatch {
  const waiting = new Map(options.subgraphs);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
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
    upstreamChannel.unsubscribe(onEvent);
    instanceHealthChannel.unsubscribe(onHealth);
  };
  const round = async (): Promise<void> => {
    await Promise.all(
      [...waiting].map(async ([name, urls]) => {
        if ((await probeSubgraph(urls, options.timeoutMs)) === undefined) answered(name);
      }),
    );
    if (closed || waiting.size === 0) return;
    timer = setTimeout(() => void round(), options.intervalMs);
    // The probes never keep a process alive on their own.
    timer.unref();
  };
  if (waiting.size > 0) {
    upstreamChannel.subscribe(onEvent);
    instanceHealthChannel.subscribe(onHealth);
  }
  const firstRound = waiting.size > 0 ? round() : Promise.resolve();
  return {
    waiting: () => [...waiting.keys()],
    firstRound,
    close() {
      closed = true;
      stop();
    },
  };
}

/** The health-checked subgraphs with no instance checked up, each with why its instances are not (instance URL → reason). */
export interface HealthWatch {
  unhealthy(): Record<string, Record<string, string>>;
  close(): void;
}

/**
 * Follows the health-check verdicts of these subgraphs' instances (subgraph
 * name → instance URLs). Subscribes at once: call it before the upstreams
 * are made, so that their first verdicts are heard.
 */
export function watchHealth(subgraphs: ReadonlyMap<string, readonly string[]>, onChange?: (event: InstanceHealthEvent) => void): HealthWatch {
  const verdicts = new Map([...subgraphs].map(([name, urls]) => [name, new Map(urls.map((url) => [url, 'not checked yet']))]));
  const onEvent = (message: unknown): void => {
    const event = message as InstanceHealthEvent;
    const instances = verdicts.get(event.subgraph);
    if (!instances?.has(event.instance)) return;
    instances.set(event.instance, event.state === 'up' ? '' : (event.reason ?? 'check failed'));
    onChange?.(event);
  };
  instanceHealthChannel.subscribe(onEvent);
  return {
    unhealthy: () =>
      Object.fromEntries(
        [...verdicts].filter(([, instances]) => ![...instances.values()].includes('')).map(([name, instances]) => [name, Object.fromEntries(instances)]),
      ),
    close: () => instanceHealthChannel.unsubscribe(onEvent),
  };
}
