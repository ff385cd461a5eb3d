/** The HTTP upstream of a descriptor: what every HTTP-based source kind (graphql, openapi) calls through. */
import type { Descriptor } from '../config/descriptor.js';
import { displayPath } from '../config/load.js';
import { upstreamHeaders } from '../transport/headers.js';
import type { CanaryBoard } from '../transport/canary.js';
import { HttpUpstream } from '../transport/http.js';
import { readUpstreamTls } from '../transport/upstream-tls.js';
import type { ShadowSettings } from '../transport/stages/shadow.js';
import type { DiscoveryOptions } from '../transport/discovery.js';

/** `canaries`: the gateway's board, where a descriptor with `canary:` puts its canary for the admin API. */
export function httpUpstreamFor(descriptor: Descriptor, canaries?: CanaryBoard): HttpUpstream {
  return new HttpUpstream({
    subgraph: descriptor.name,
    instances: descriptor.upstreams,
    discovery: discoveryOptions(descriptor),
    timeout: descriptor.timeout,
    connectTimeout: descriptor.connectTimeout,
    maxResponseSize: descriptor.maxResponseSize,
    connections: descriptor.connections,
    retry: descriptor.retry,
    httpCache: descriptor.httpCache,
    breaker: descriptor.breaker,
    outliers: descriptor.outliers,
    // A check sends the static headers every call sends (a service credential), never a client's.
    health: descriptor.health && { ...descriptor.health, graphql: descriptor.kind === 'graphql', headers: upstreamHeaders({ headers: new Headers(), identity: undefined }, descriptor.headers) },
    balance: descriptor.balance,
    adaptiveConcurrency: descriptor.adaptiveConcurrency,
    canary: descriptor.canary && { options: descriptor.canary, board: canaries },
    tls: readUpstreamTls(descriptor.tls, descriptor.dir, displayPath(descriptor.file)),
    shadow: descriptor.shadow && { ...shadowSettings(descriptor.shadow), graphql: descriptor.kind === 'graphql' || descriptor.kind === 'federation' },
  });
}

/** A descriptor's `discovery:` as the transport takes it (transport/discovery.ts DiscoveryOptions), for HTTP and gRPC upstreams. */
export function discoveryOptions(descriptor: Descriptor): DiscoveryOptions {
  const { interval, minInterval, timeout, servers } = descriptor.discovery;
  return { intervalMs: interval, minIntervalMs: minInterval, timeoutMs: timeout, servers };
}

/** A descriptor's `shadow:` as the transport takes it (transport/stages/shadow.ts ShadowSettings). */
export function shadowSettings(shadow: NonNullable<Descriptor['shadow']>): ShadowSettings {
  const { timeout, ...rest } = shadow;
  return { ...rest, timeoutMs: timeout };
}
