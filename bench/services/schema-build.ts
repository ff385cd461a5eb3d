/**
 * Builds the demo graph once (demo services started in this process, then
 * createGateway on gateway.yaml) and reports the time and the memory it took.
 * Run with --expose-gc so the heap is measured after collection.
 */
import { join } from 'node:path';
import { BENCH_DIR } from '../lib/proc.js';

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

export async function measureDemoBuild(): Promise<{ buildMs: number; heapMB: number; rssMB: number; subgraphs: string[] }> {
  const { startDemoServices, demoEnv } = await import('../../subgraphs/demo.js');
  const { createGateway } = await import('../../src/index.js');
  const demo = await startDemoServices({ accounts: 0, reviews: 0, catalog: 0, inventory: 0 });
  try {
    gc();
    const before = process.memoryUsage();
    const started = performance.now();
    const gateway = await createGateway({
      configFile: join(BENCH_DIR, '..', 'gateway.yaml'),
      env: { ...demoEnv(demo), TESSERA_MODE: 'production', LOG_LEVEL: 'silent', PORT: '0' },
    });
    const buildMs = performance.now() - started;
    gc();
    const after = process.memoryUsage();
    const subgraphs = gateway.descriptors.map((d) => d.name);
    await gateway.close();
    return { buildMs, heapMB: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMB: (after.rss - before.rss) / 2 ** 20, subgraphs };
  } finally {
    await demo.close();
  }
}

/**
 * Builds a gateway over GitHub's OpenAPI document (@octokit/openapi, the
 * largest real document the OpenAPI source is checked with) and reports the
 * time and memory. The upstream (127.0.0.1:9) is never called.
 */
export async function measureGithubBuild(): Promise<{ buildMs: number; heapMB: number; rssMB: number; fields: number }> {
  const { createRequire } = await import('node:module');
  const source = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
  const { createGateway } = await import('../../src/index.js');
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const gateway = await createGateway({
    gateway: { mode: 'production', logging: { level: 'silent' } },
    descriptors: [{ name: 'github', kind: 'openapi', source, url: 'http://127.0.0.1:9' }],
  });
  const buildMs = performance.now() - started;
  gc();
  const after = process.memoryUsage();
  const fields = Object.keys(gateway.schema.getQueryType()?.getFields() ?? {}).length + Object.keys(gateway.schema.getMutationType()?.getFields() ?? {}).length;
  await gateway.close();
  return { buildMs, heapMB: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMB: (after.rss - before.rss) / 2 ** 20, fields };
}
