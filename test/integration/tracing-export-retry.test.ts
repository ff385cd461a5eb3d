/**
 * Trace export retries (telemetry/trace-export.ts, docs/reliability.md row
 * 42): a batch the collector cannot take for now (no connection, 429, 502,
 * 503, 504) is sent again after a backoff or the collector's Retry-After; one
 * refused for good is dropped at once; close() never waits out a backoff.
 * Sent through OtlpHttpSink to a collector on loopback whose answers the test
 * decides; the spans' encoding is a stand-in (the collector counts them).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { OtlpHttpSink, SpanQueue, type SpanSink } from '../../src/telemetry/trace-export.js';
import { KIND_INTERNAL, LeanSpan, newTraceId } from '../../src/telemetry/trace-span.js';
import { captureLogs, freePort } from '../kit/index.js';

const OPTIONS = { maxQueue: 2048, maxBatch: 512, delayMs: 60_000 };

function logLines(): { messages: Array<Record<string, unknown>>; logger: ReturnType<typeof captureLogs>['logger'] } {
  const { lines, logger } = captureLogs('info');
  return { messages: lines, logger };
}

/** `count` ended spans, each added to `queue` as it ends. */
function endSpans(queue: SpanQueue, count: number): void {
  const traceId = newTraceId();
  for (let i = 0; i < count; i++) new LeanSpan(queue, `step ${i}`, KIND_INTERNAL, traceId, undefined, false, undefined, undefined, undefined, undefined).end();
}

/** A collector on loopback answering each POST with the next status of `answers` (then 200), counting what it got. */
async function collector(t: TestContext, answers: Array<{ status: number; retryAfter?: string }>): Promise<{ endpoint: string; posts: number[] }> {
  const posts: number[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      posts.push((JSON.parse(body) as { spans: number }).spans);
      const answer = answers.shift() ?? { status: 200 };
      response.writeHead(answer.status, answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, posts };
}

/** OtlpHttpSink with a stand-in encoding: the collector only counts the spans of each batch. */
function sinkTo(endpoint: string): OtlpHttpSink {
  return new OtlpHttpSink({ endpoint, headers: {}, timeoutMs: 5_000, encode: (spans) => Buffer.from(JSON.stringify({ spans: spans.length })) });
}

test('a batch the collector cannot take for now (503, 429 with Retry-After) is sent again and delivered; one warn line, then one info line', async (t) => {
  const { messages, logger } = logLines();
  const { endpoint, posts } = await collector(t, [{ status: 503 }, { status: 429, retryAfter: '0' }]);
  const queue = new SpanQueue(sinkTo(endpoint), logger, { ...OPTIONS, endpoint, retries: 3, backoffMs: 10 });
  endSpans(queue, 5);
  await queue.flush();
  assert.deepEqual(posts, [5, 5, 5], 'the same batch, sent three times: the third is taken');
  assert.deepEqual(
    messages.map((m) => [m.level, String(m.msg).split(':')[0], m.retrying, m.dropped]),
    [
      [40, 'trace export failed', true, 0],
      [30, 'trace export works again', undefined, 0],
    ],
  );
  assert.match(String((messages[0]!.err as { message?: string }).message), /HTTP 503/);
  await queue.close();
});

test('a batch refused for good (400) is dropped at once, not sent again; a dead collector is tried `retries` more times, then the batch dropped', async (t) => {
  const { messages, logger } = logLines();
  const { endpoint, posts } = await collector(t, [{ status: 400 }]);
  const queue = new SpanQueue(sinkTo(endpoint), logger, { ...OPTIONS, endpoint, retries: 3, backoffMs: 10 });
  endSpans(queue, 4);
  await queue.flush();
  assert.deepEqual(posts, [4], 'sent once');
  assert.deepEqual(
    messages.map((m) => [m.level, m.retrying, m.dropped]),
    [[40, false, 4]],
  );
  await queue.close();

  // No collector at all: a loopback port that was just free (connection refused).
  const deadEndpoint = `http://127.0.0.1:${await freePort()}/v1/traces`;
  const { messages: deadLines, logger: deadLogger } = logLines();
  const tries: number[] = [];
  const sink = sinkTo(deadEndpoint);
  const counted: SpanSink = {
    send: (spans) => {
      tries.push(spans.length);
      return sink.send(spans);
    },
    close: () => sink.close(),
  };
  const refused = new SpanQueue(counted, deadLogger, { ...OPTIONS, endpoint: deadEndpoint, retries: 2, backoffMs: 10 });
  endSpans(refused, 3);
  await refused.flush();
  assert.deepEqual(tries, [3, 3, 3], 'the first send and two more');
  assert.deepEqual(
    deadLines.map((m) => [m.level, m.retrying]),
    [[40, true]],
    'one warn line for the burst',
  );
  await refused.close();
});

test('close() does not wait out a backoff: it sends the waiting batch once more and ends', async (t) => {
  const { logger } = logLines();
  const { endpoint, posts } = await collector(t, [{ status: 503 }]);
  const queue = new SpanQueue(sinkTo(endpoint), logger, { ...OPTIONS, endpoint, retries: 3, backoffMs: 600_000 });
  endSpans(queue, 2);
  // Sent at once by flush (no 60 s batch timer), refused with 503: a backoff of minutes begins.
  void queue.flush();
  while (posts.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  await queue.close();
  assert.deepEqual(posts, [2, 2], 'sent again at close, not after the backoff');
});
