/**
 * A failing trace collector is one warn line per burst of failed exports,
 * and one info line when exports work again (telemetry/tracing.ts,
 * WatchedExporter; docs/reliability.md row 42). The exporter here is a
 * stand-in whose outcomes the test decides: no collector, no socket.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/logger.js';
import { WatchedExporter } from '../../src/telemetry/tracing.js';

test('failed exports log one warn line per burst and one info line when the collector answers again', async () => {
  const messages: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) messages.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  const outcomes = ['fail', 'fail', 'fail', 'ok', 'ok', 'fail', 'fail', 'ok'];
  let shutdowns = 0;
  const inner: SpanExporter = {
    export(_spans, done) {
      const ok = outcomes.shift() === 'ok';
      done(ok ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') });
    },
    shutdown: async () => void shutdowns++,
  };
  const watched = new WatchedExporter(inner, createLogger('info', sink), 'http://127.0.0.1:4318/v1/traces', false);
  const results: ExportResult[] = [];
  for (let i = 0; i < 8; i++) watched.export([] as ReadableSpan[], (result) => results.push(result));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    results.map((r) => r.code),
    [1, 1, 1, 0, 0, 1, 1, 0],
    'each outcome is passed on as it is',
  );
  assert.deepEqual(
    messages.map((m) => [m.level, m.msg.split(':')[0]]),
    [
      [40, 'trace export failed'],
      [30, 'trace export works again'],
      [40, 'trace export failed'],
      [30, 'trace export works again'],
    ],
  );
  await watched.shutdown();
  assert.equal(shutdowns, 0, "an embedder's exporter is flushed, not shut down");
});
