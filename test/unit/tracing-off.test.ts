/**
 * Tracing costs no OpenTelemetry module of its own: off (the default),
 * neither the tracing code nor any OpenTelemetry SDK or exporter file is
 * loaded (gateway.ts imports telemetry/tracing.ts with import() only when
 * tracing is on); on with the OTLP/HTTP exporter, the gateway's own spans and
 * encoder run and still no @opentelemetry/sdk-*, exporter, transformer, core
 * or resources file is loaded. Only an embedder's SpanExporter loads some
 * (its spans are adapted to the SDK's shape), which also shows that the check
 * sees such files when they are there. Checked in processes of their own,
 * since this one may have loaded them for another test.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runProcess } from '../kit/index.js';

const script = fileURLToPath(new URL('../fixtures/tracing/loaded-modules.ts', import.meta.url));

async function loadedWith(mode: 'off' | 'otlp' | 'exporter'): Promise<string[]> {
  const ran = await runProcess(process.execPath, ['--import', 'tsx', script, mode]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as string[];
}

/** OpenTelemetry files other than @opentelemetry/api (which prom-client loads whatever tracing does). */
const sdk = (files: string[]): string[] => files.filter((f) => /\/@opentelemetry\/(?!api\/)[^/]+\//.test(f));

test('no OpenTelemetry SDK or exporter module is loaded with tracing off, nor with it on and exporting over OTLP/HTTP; only for an embedder\'s SpanExporter', async () => {
  const [off, otlp, exporter] = await Promise.all([loadedWith('off'), loadedWith('otlp'), loadedWith('exporter')]);
  assert.deepEqual(sdk(off), [], 'tracing off loads no OpenTelemetry file');
  assert.deepEqual(sdk(otlp), [], 'tracing over OTLP/HTTP loads none either: the spans and their encoding are the gateway\'s own');
  assert.ok(sdk(exporter).some((f) => f.includes('/@opentelemetry/resources/')), `an embedder's SpanExporter gets a real Resource (the check can see what is loaded): ${sdk(exporter).length} files`);
  assert.ok(!sdk(exporter).some((f) => /\/@opentelemetry\/(sdk-trace-base|sdk-trace|exporter-trace-otlp-http)\//.test(f)), 'and still no tracer, processor or exporter of the SDK');
});
