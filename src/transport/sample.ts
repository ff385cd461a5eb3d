/**
 * Upstream request and response bodies for the admin API's sampling
 * (`POST /admin/sample`): one diagnostics channel per subgraph,
 * `tessera:upstream-body:<subgraph>`, published by the HTTP and gRPC attempts
 * (http.ts, grpc.ts) only while someone subscribes to it. The subscriber is
 * telemetry/sampling.ts, for the length of a sampling window; otherwise an
 * attempt pays one `hasSubscribers` check.
 */
import { channel, type Channel } from 'node:diagnostics_channel';

/** One attempt's bodies, as the attempt saw them (not truncated, not redacted: the subscriber does both). */
export interface UpstreamBodyEvent {
  subgraph: string;
  instance: string;
  /** The HTTP method, or the gRPC method path. */
  method: string;
  /** HTTP: path and query sent. */
  path?: string;
  /** HTTP headers or gRPC metadata sent. */
  requestHeaders?: Readonly<Record<string, unknown>>;
  /** HTTP: the bytes sent; gRPC: the request message before encoding. */
  requestBody?: unknown;
  /** HTTP status, when an answer came. */
  status?: number;
  responseHeaders?: Readonly<Record<string, unknown>>;
  /** HTTP: the bytes received; gRPC: the decoded response message. */
  responseBody?: unknown;
  /** The catalog code of a failed attempt. */
  code?: string;
}

export const UPSTREAM_BODY_CHANNEL_PREFIX = 'tessera:upstream-body:';

/** The body channel of one subgraph; an upstream holds its own, so the check per attempt is a property read. */
export function upstreamBodyChannel(subgraph: string): Channel {
  return channel(UPSTREAM_BODY_CHANNEL_PREFIX + subgraph);
}
