/**
 * telemetry.tracing off costs nothing: no OpenTelemetry SDK or exporter file
 * is loaded at all (gateway.ts imports telemetry/tracing.ts with import() only
 * when tracing is on). Checked in a process of its own, since this one may
 * have loaded them for another test; the same process with tracing on shows
 * that the check sees the SDK when it is there.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runProcess } from '../kit/index.js';

const script = fileURLToPath(new URL('../fixtures/tracing/loaded-modules.ts', import.meta.url));

async function loadedWith(tracing: 'on' | 'off'): Promise<string[]> {
  const ran = await runProcess(process.execPath, ['--import', 'tsx', script, tracing]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as string[];
}

const sdk = (files: string[]): string[] => files.filter((f) => /\/@opentelemetry\/(sdk-trace-base|sdk-trace|exporter-trace-otlp-http|otlp-exporter-base)\//.test(f));

test('with tracing off no OpenTelemetry SDK or exporter module is loaded; with it on, they are', async () => {
  const [off, on] = await Promise.all([loadedWith('off'), loadedWith('on')]);
  assert.deepEqual(sdk(off), [], 'tracing off loads no SDK file');
  assert.ok(sdk(on).some((f) => f.includes('/@opentelemetry/sdk-trace-base/')), `tracing on loads the SDK (the check can see it): ${sdk(on).length} files`);
  assert.ok(sdk(on).some((f) => f.includes('/@opentelemetry/exporter-trace-otlp-http/')), 'and the OTLP exporter');
});
