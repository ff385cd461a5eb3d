/**
 * Upstream request and response bodies for the admin API's sampling
 * (`POST /admin/sample`): one diagnostics channel per subgraph,
 * `tessera:upstream-body:<subgraph>`, published by the HTTP and gRPC attempts
 * (http.ts, grpc.ts) only while someone subscribes to it. The subscriber is
 * telemetry/sampling.ts, for the length of a sampling window; otherwise an
 * attempt pays one `hasSubscribers` check.
 */
import { channel, type Channel } from 'node:diagnostics_channel';
import { EVENTS, type UpstreamBodyEvent } from '../events.js';

export const UPSTREAM_BODY_CHANNEL_PREFIX = EVENTS.upstreamBodyPrefix;

/** The body channel of one subgraph; an upstream holds its own, so the check per attempt is a property read. */
export function upstreamBodyChannel(subgraph: string): Channel {
  return channel(UPSTREAM_BODY_CHANNEL_PREFIX + subgraph);
}

export type { UpstreamBodyEvent };
