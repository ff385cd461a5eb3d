/**
 * Export of ended spans, off the request path: a bounded queue (spans that
 * do not fit are dropped and counted), sent in batches of up to 512 spans
 * every 2 s or as soon as a batch is full, one batch at a time, to a sink:
 * the OTLP/HTTP collector (OtlpHttpSink, JSON over undici) or an embedder's
 * SpanExporter (trace-sdk.ts). A slow or dead collector never slows or fails
 * a request; its failures are one warn line per burst (when exports start
 * failing, with the endpoint and the reason) and one info line when they
 * work again (docs/reliability.md row 42).
 *
 * A batch the collector could not take for a passing reason (no connection,
 * a timeout, HTTP 429, 502, 503 or 504, as OTLP/HTTP defines them) is sent
 * again, up to `retries` times, after a backoff that doubles from
 * `backoffMs` (with jitter) or the collector's Retry-After when it gives one
 * (at most 30 s); spans ended meanwhile wait in the bounded queue. A batch
 * refused for good (any other status) is dropped at once. close() does not
 * wait out a backoff: it sends what is left once more and stops.
 */
import { Client } from 'undici';
import type { Logger } from '../logger.js';
import type { LeanSpan, SpanSinkQueue } from './trace-span.js';

/** Where batches go. */
export interface SpanSink {
  /** Delivers one batch; rejects with the reason when it could not. */
  send(spans: readonly LeanSpan[]): Promise<void>;
  /** Releases what the sink holds (after the last send). */
  close(): Promise<void>;
}

export interface SpanQueueOptions {
  /** Most spans waiting; beyond it new spans are dropped (a dead collector must not grow memory). */
  maxQueue: number;
  maxBatch: number;
  /** Longest a span waits for a batch to fill. */
  delayMs: number;
  /** Named in log lines: the collector's URL, or `spanExporter`. */
  endpoint: string;
  /** Times a batch is sent again after a passing failure; 0: never. */
  retries: number;
  /** The first wait before sending again; each next one doubles. */
  backoffMs: number;
}

/** The longest wait before sending a batch again, whatever the collector's Retry-After says. */
const MAX_BACKOFF_MS = 30_000;

/** Why an export failed, as the queue decides whether to send the batch again. */
export class ExportError extends Error {
  constructor(
    message: string,
    /** Whether sending the same batch again may work (OTLP/HTTP's retryable failures). */
    readonly retryable: boolean,
    /** The collector's Retry-After, when it gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A failure the sink did not classify (no connection, a timeout, an embedder's exporter): worth one more try. */
function retryable(error: unknown): boolean {
  return !(error instanceof ExportError) || error.retryable;
}

export class SpanQueue implements SpanSinkQueue {
  private queue: LeanSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private failing = false;
  private overflowing = false;
  private closed = false;
  /** close() was called: no backoff is waited out, no batch sent more than once more. */
  private closing = false;
  /** Spans dropped (the queue full, or their batch given up), since the last log line that told. */
  private dropped = 0;
  /** Ends the backoff being waited out, if any (close() sends at once). */
  private wake: (() => void) | undefined;

  constructor(
    private readonly sink: SpanSink,
    private readonly logger: Logger,
    private readonly options: SpanQueueOptions,
  ) {}

  add(span: LeanSpan): void {
    // A span ending after close() (a stream outliving the gateway) has nowhere to go.
    if (this.closed) return;
    const { queue } = this;
    if (queue.length >= this.options.maxQueue) {
      this.dropped++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.logger.warn(
          { endpoint: this.options.endpoint, queued: queue.length },
          'trace queue full: new spans are dropped until exports catch up (requests are not affected); the collector is slower than the traffic, or down: check telemetry.tracing.exporter.endpoint, or lower telemetry.tracing.sampling',
        );
      }
      return;
    }
    queue.push(span);
    if (queue.length >= this.options.maxBatch) this.send();
    else if (this.timer === undefined && this.sending === undefined) this.schedule();
  }

  /** Sends everything queued, batch by batch, and resolves when the last export has ended. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.sending !== undefined || this.queue.length > 0) {
      if (this.sending === undefined) this.send();
      await this.sending;
    }
  }

  /** Flushes, then closes the sink; spans ended afterwards are dropped. */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.flush();
    this.closed = true;
    await this.sink.close();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, this.options.delayMs);
    // A queued span never keeps the process alive: close() exports what is left.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts one export of up to maxBatch spans, unless one is running (its end starts the next). */
  private send(): void {
    if (this.sending !== undefined || this.queue.length === 0) return;
    this.clearTimer();
    const { maxBatch } = this.options;
    let batch: LeanSpan[];
    if (this.queue.length <= maxBatch) {
      batch = this.queue;
      this.queue = [];
    } else {
      batch = this.queue.splice(0, maxBatch);
    }
    this.sending = this.export(batch);
    void this.sending.finally(() => {
      this.sending = undefined;
      if (this.queue.length >= maxBatch) this.send();
      else if (this.queue.length > 0 && this.timer === undefined) this.schedule();
    });
  }

  /** Sends one batch, again after a passing failure (up to `retries` times), and tells how it went. */
  private async export(batch: readonly LeanSpan[]): Promise<void> {
    for (let retry = 0; ; retry++) {
      try {
        await this.sink.send(batch);
        return this.succeeded();
      } catch (error) {
        const again = retryable(error) && retry < this.options.retries && !(this.closing && retry > 0);
        this.failed(error, again ? 0 : batch.length, again);
        if (!again) return;
        if (!this.closing) await this.backoff(retry, error instanceof ExportError ? error.retryAfterMs : undefined);
      }
    }
  }

  /** Waits before sending a batch again: the collector's Retry-After, or the doubling backoff with jitter; close() ends it. */
  private backoff(retry: number, retryAfterMs: number | undefined): Promise<void> {
    const doubled = this.options.backoffMs * 2 ** retry;
    const wait = Math.min(MAX_BACKOFF_MS, retryAfterMs ?? doubled / 2 + Math.random() * (doubled / 2));
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      // A waiting batch never keeps the process alive: close() sends it.
      timer.unref();
      this.wake = done;
    });
  }

  private succeeded(): void {
    if (this.failing || this.overflowing) {
      this.logger.info({ endpoint: this.options.endpoint, dropped: this.dropped }, 'trace export works again');
      this.failing = false;
      this.overflowing = false;
      this.dropped = 0;
    }
  }

  /** One failed send: `dropped` spans given up (0: the batch is sent again). One warn line per burst of failures. */
  private failed(error: unknown, dropped: number, retrying: boolean): void {
    if (this.failing) {
      this.dropped += dropped;
      return;
    }
    this.failing = true;
    this.logger.warn(
      { endpoint: this.options.endpoint, err: error, dropped, retrying },
      retrying
        ? 'trace export failed: the batch is sent again after a backoff, new spans wait in the queue (requests are not affected); check telemetry.tracing.exporter.endpoint and that the collector is up'
        : 'trace export failed: spans are dropped until the collector answers again (requests are not affected); check telemetry.tracing.exporter.endpoint and that the collector is up',
    );
  }
}

export interface OtlpHttpOptions {
  /** The collector's traces URL (telemetry.tracing.exporter.endpoint). */
  endpoint: string;
  /** Sent with every export (telemetry.tracing.exporter.headers). */
  headers: Readonly<Record<string, string>>;
  /** Longest one export may take, then it fails. */
  timeoutMs: number;
  encode(spans: readonly LeanSpan[]): Buffer;
}

/** The statuses OTLP/HTTP says are worth sending the same batch again for. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Retry-After in seconds (the form collectors send), as milliseconds; undefined when absent or not a number. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

/** OTLP/HTTP with JSON bodies: one POST per batch over one connection (batches go one at a time). */
export class OtlpHttpSink implements SpanSink {
  private readonly client: Client;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: OtlpHttpOptions) {
    const url = new URL(options.endpoint);
    this.client = new Client(url.origin, { connectTimeout: options.timeoutMs, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    this.path = url.pathname + url.search;
    this.headers = { ...options.headers, 'content-type': 'application/json' };
  }

  async send(spans: readonly LeanSpan[]): Promise<void> {
    const response = await this.client.request({
      method: 'POST',
      path: this.path,
      headers: this.headers,
      // A Buffer, not a string: undici writes a large string body at about twice the CPU of the same bytes as a Buffer.
      body: this.options.encode(spans),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    // The collector's answer (an ExportTraceServiceResponse) is not needed: read and dropped, so the connection is reused.
    await response.body.dump();
    const status = response.statusCode;
    if (status >= 300) {
      throw new ExportError(`the collector answered HTTP ${status}`, RETRYABLE_STATUS.has(status), retryAfterMs(response.headers['retry-after']));
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
