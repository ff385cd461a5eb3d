/**
 * Body sampling for one subgraph at a time (admin API, `POST /admin/sample`):
 * while a window is open, every upstream attempt of that subgraph is logged
 * at info with its request and response bodies, truncated to
 * SAMPLE_BODY_BYTES and with secret headers redacted (logger.ts). The window
 * closes by itself after its duration or its count, with a log line.
 *
 * The bodies come from the attempts themselves (transport/sample.ts), on the
 * subgraph's own diagnostics channel, subscribed to by name only while its
 * window is open: with no window open, the transport publishes nothing.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { redactHeaders, type Logger } from '../logger.js';
import { type UpstreamBodyEvent } from '../events.js';

/** Longest part of one body written to a log line. */
export const SAMPLE_BODY_BYTES = 4096;

/** A body as a log line holds it: text cut at SAMPLE_BODY_BYTES, with its full size when cut. */
interface LoggedBody {
  text: string;
  bytes: number;
  truncated?: true;
}

export interface SamplingWindow {
  subgraph: string;
  maxBodies: number;
  logged: number;
  /** ISO time the window closes at the latest. */
  until: string;
  /** Id of the admin request that opened it. */
  openedBy: string;
}

interface OpenWindow extends SamplingWindow {
  timer: NodeJS.Timeout;
  listener: (message: unknown) => void;
  channel: string;
}

/** JSON text of a decoded message (gRPC): 64-bit integers as text, bytes as base64. */
function toText(body: unknown): string {
  if (body === undefined) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return JSON.stringify(body, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return Buffer.from((value as { data: number[] }).data).toString('base64');
    }
    return value;
  });
}

function logged(body: unknown): LoggedBody | undefined {
  if (body === undefined) return undefined;
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(toText(body), 'utf8');
  if (bytes.length <= SAMPLE_BODY_BYTES) return { text: bytes.toString('utf8'), bytes: bytes.length };
  // Cut on a byte bound; a character split there shows as U+FFFD, which is fine for a log line.
  return { text: bytes.subarray(0, SAMPLE_BODY_BYTES).toString('utf8'), bytes: bytes.length, truncated: true };
}

export class BodySampler {
  private readonly windows = new Map<string, OpenWindow>();

  constructor(
    private readonly logger: Logger,
    /** The subgraph body channel's name (transport/sample.ts), given by the gateway so telemetry/ does not import transport/. */
    private readonly channelOf: (subgraph: string) => string,
  ) {}

  /** Opens (or replaces) the window of `subgraph`. */
  open(subgraph: string, durationMs: number, maxBodies: number, requestId: string): SamplingWindow {
    const replaced = this.windows.get(subgraph);
    if (replaced) this.stop(replaced, 'replaced by a new sampling request');
    const channel = this.channelOf(subgraph);
    const window: OpenWindow = {
      subgraph,
      maxBodies,
      logged: 0,
      until: new Date(Date.now() + durationMs).toISOString(),
      openedBy: requestId,
      channel,
      timer: setTimeout(() => this.stop(window, 'its duration elapsed'), durationMs).unref(),
      listener: (message) => this.onBodies(window, message as UpstreamBodyEvent),
    };
    this.windows.set(subgraph, window);
    subscribe(channel, window.listener);
    this.logger.info({ requestId, subgraph, maxBodies, until: window.until }, `body sampling started for subgraph "${subgraph}"`);
    return this.view(window);
  }

  /** The windows open now. */
  current(): SamplingWindow[] {
    return [...this.windows.values()].map((w) => this.view(w));
  }

  /** Closes every window (gateway.close()). */
  close(): void {
    for (const window of this.windows.values()) this.stop(window, 'the gateway is closing');
  }

  private view({ subgraph, maxBodies, logged: count, until, openedBy }: OpenWindow): SamplingWindow {
    return { subgraph, maxBodies, logged: count, until, openedBy };
  }

  private onBodies(window: OpenWindow, event: UpstreamBodyEvent): void {
    // The channel is process-wide: a window that was closed meanwhile logs nothing more.
    if (this.windows.get(window.subgraph) !== window) return;
    window.logged++;
    this.logger.info(
      {
        subgraph: event.subgraph,
        instance: event.instance,
        method: event.method,
        ...(event.path !== undefined && { path: event.path }),
        sample: { n: window.logged, of: window.maxBodies, openedBy: window.openedBy },
        request: { headers: redactHeaders(event.requestHeaders), body: logged(event.requestBody) },
        response: { status: event.status, headers: redactHeaders(event.responseHeaders), body: logged(event.responseBody), code: event.code },
      },
      'upstream body sample',
    );
    if (window.logged >= window.maxBodies) this.stop(window, `maxBodies (${window.maxBodies}) reached`);
  }

  private stop(window: OpenWindow, reason: string): void {
    if (this.windows.get(window.subgraph) !== window) return;
    this.windows.delete(window.subgraph);
    clearTimeout(window.timer);
    unsubscribe(window.channel, window.listener);
    this.logger.info({ subgraph: window.subgraph, logged: window.logged, openedBy: window.openedBy, reason }, `body sampling stopped for subgraph "${window.subgraph}": ${reason}`);
  }
}
