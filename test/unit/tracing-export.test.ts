/**
 * The export queue of tracing (telemetry/trace-export.ts, SpanQueue): a
 * failing trace collector is one warn line per burst of failed exports and
 * one info line when exports work again (docs/reliability.md row 42); spans
 * go in batches of at most 512, one export at a time; a full queue drops new
 * spans with a count; close() sends what is queued. The sink here is a
 * stand-in whose outcomes the test decides: no collector, no socket
 * (test/integration/tracing-export-retry.test.ts sends to one on loopback).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { SpanQueue, type SpanSink } from '../../src/telemetry/trace-export.js';
import { KIND_INTERNAL, LeanSpan, newTraceId } from '../../src/telemetry/trace-span.js';
import { deferred } from '../kit/index.js';

function logLines(): { messages: Array<Record<string, unknown> & { level: number; msg: string }>; logger: ReturnType<typeof createLogger> } {
  const messages: Array<Record<string, unknown> & { level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) messages.push(JSON.parse(line) as Record<string, unknown> & { level: number; msg: string });
      done();
    },
  });
  return { messages, logger: createLogger('info', sink) };
}

/** `count` ended spans, each added to `queue` as it ends. */
function endSpans(queue: SpanQueue, count: number): void {
  const traceId = newTraceId();
  for (let i = 0; i < count; i++) new LeanSpan(queue, `step ${i}`, KIND_INTERNAL, traceId, undefined, false, undefined, undefined, undefined, undefined).end();
}

const OPTIONS = { maxQueue: 2048, maxBatch: 512, delayMs: 60_000, endpoint: 'http://127.0.0.1:4318/v1/traces', retries: 0, backoffMs: 0 };

test('failed exports log one warn line per burst and one info line when the collector answers again', async () => {
  const { messages, logger } = logLines();
  const outcomes = ['fail', 'fail', 'fail', 'ok', 'ok', 'fail', 'fail', 'ok'];
  const sent: number[] = [];
  const sink: SpanSink = {
    send: async (spans) => {
      sent.push(spans.length);
      if (outcomes.shift() !== 'ok') throw new Error('connect ECONNREFUSED 127.0.0.1:4318');
    },
    close: async () => {},
  };
  const queue = new SpanQueue(sink, logger, { ...OPTIONS, maxBatch: 1 });
  for (let i = 0; i < 8; i++) {
    endSpans(queue, 1);
    await queue.flush();
  }
  assert.deepEqual(sent, [1, 1, 1, 1, 1, 1, 1, 1], 'one export per batch');
  assert.deepEqual(
    messages.map((m) => [m.level, m.msg.split(':')[0]]),
    [
      [40, 'trace export failed'],
      [30, 'trace export works again'],
      [40, 'trace export failed'],
      [30, 'trace export works again'],
    ],
  );
  assert.equal(messages[0]!.endpoint, OPTIONS.endpoint, 'the warn line names the collector');
  assert.match(String((messages[0]!.err as { message?: string }).message), /ECONNREFUSED/, 'and why');
});

test('spans go in batches of at most 512, one export at a time; a full queue drops new spans with a count; close() sends what is left', async () => {
  const { messages, logger } = logLines();
  const sent: number[] = [];
  const gates: Array<ReturnType<typeof deferred<void>>> = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let closed = false;
  const sink: SpanSink = {
    send: async (spans) => {
      sent.push(spans.length);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      inFlight--;
    },
    close: async () => void (closed = true),
  };
  const queue = new SpanQueue(sink, logger, OPTIONS);
  // A full batch starts an export at once (no waiting for the timer); the collector holds it.
  endSpans(queue, 512);
  assert.deepEqual(sent, [512]);
  // Meanwhile 2048 fit in the queue; the next 100 are dropped.
  endSpans(queue, 2048 + 100);
  assert.deepEqual(sent, [512], 'one export at a time');
  const full = messages.filter((m) => m.msg.startsWith('trace queue full'));
  assert.equal(full.length, 1, 'one warn line for the whole burst of drops');
  assert.equal(full[0]!.level, 40);

  const closing = queue.close();
  // The collector answers each export in turn; each answer lets the next batch go.
  while (gates.length > 0) {
    gates.shift()!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await closing;
  assert.deepEqual(sent, [512, 512, 512, 512, 512], 'the 2048 queued spans are sent by close(), in full batches');
  assert.equal(mostInFlight, 1);
  assert.equal(closed, true, 'the sink is closed after the last export');
  const recovered = messages.find((m) => m.msg === 'trace export works again');
  assert.equal(recovered?.dropped, 100, 'the next successful export tells how many spans were dropped');
});

test('a span ended twice is exported once', async () => {
  const { logger } = logLines();
  const sent: string[] = [];
  const queue = new SpanQueue({ send: async (spans) => void sent.push(...spans.map((s) => s.name)), close: async () => {} }, logger, OPTIONS);
  const span = new LeanSpan(queue, 'once', KIND_INTERNAL, newTraceId(), undefined, false, undefined, undefined, undefined, undefined);
  span.end();
  span.end(undefined, 'LATE');
  await queue.close();
  assert.deepEqual(sent, ['once']);
  assert.equal(span.errorCode, undefined);
});

test('a span that ends after close() is dropped quietly: no export, no log line', async () => {
  const { messages, logger } = logLines();
  let sends = 0;
  const queue = new SpanQueue({ send: async () => void sends++, close: async () => {} }, logger, OPTIONS);
  await queue.close();
  endSpans(queue, 3);
  // Nothing was queued: a flush has nothing to send.
  await queue.flush();
  assert.equal(sends, 0);
  assert.deepEqual(messages, []);
});

