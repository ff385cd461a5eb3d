/**
 * Tessera as a benchmark target: the gateway built from inline descriptors,
 * in its own process, production mode, logging off. Reports how long building
 * it took (load every source, compose, build the server) and what it cost in
 * memory.
 */
import type { DescriptorInput } from '../../src/config/descriptor.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';

export interface TesseraTargetOptions {
  port: number;
  /** Inline descriptors; without them, the descriptor files where `gateway.descriptors` says, with `env` for their ${VAR}s. */
  descriptors?: Array<DescriptorInput & { dir?: string }>;
  env?: Record<string, string>;
  gateway?: GatewayFileInput;
  /** Load the gateway from this module instead of src/index.ts (for example a compiled dist/index.js). */
  entry?: string;
}

export interface BuildInfo {
  /** createGateway(): load every source, compose, build the server. */
  buildMs: number;
  heapUsedMB: number;
  rssMB: number;
  /** Module loading before createGateway() (importing Tessera and its dependencies). */
  importMs: number;
}

export async function startTessera(options: TesseraTargetOptions): Promise<{ port: number; info: BuildInfo; close(): Promise<void> }> {
  const importStart = performance.now();
  // TESSERA_BENCH_ENTRY (set by `npm run bench -- --tessera-src DIR`) measures another checkout side by side.
  const entry = options.entry ?? process.env.TESSERA_BENCH_ENTRY;
  const { createGateway } = (entry ? await import(entry) : await import('../../src/index.js')) as typeof import('../../src/index.js');
  const importMs = performance.now() - importStart;
  const started = performance.now();
  const gateway = await createGateway({
    gateway: { mode: 'production', logging: { level: 'silent' }, ...options.gateway },
    descriptors: options.descriptors,
    env: { ...process.env, ...options.env },
  });
  const buildMs = performance.now() - started;
  const { port } = await gateway.listen(options.port, '127.0.0.1');
  const memory = process.memoryUsage();
  return {
    port,
    info: { buildMs, importMs, heapUsedMB: memory.heapUsed / 2 ** 20, rssMB: memory.rss / 2 ** 20 },
    close: () => gateway.close(),
  };
}
