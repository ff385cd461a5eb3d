/**
 * Tessera started the way an operator starts it: `tessera serve --config
 * gateway.yaml --workers N` (node:cluster). The run writes a gateway file and
 * the descriptors into a temporary folder, picks a free port (cluster workers
 * share one), and polls the port until the GraphQL endpoint answers.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BENCH_DIR, spawnNode, type Child } from './proc.js';

export const CLI_ENTRY = join(BENCH_DIR, '..', 'src', 'cli', 'bin.ts');

/** A free TCP port on loopback (cluster workers share one, so it is chosen before they start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface CliTargetOptions {
  workers: number;
  gateway: Record<string, unknown>;
  descriptors?: Array<Record<string, unknown>>;
  env?: Record<string, string>;
  /** GraphQL request used to tell that a worker serves (any HTTP answer from the endpoint counts). */
  path: string;
}

export async function spawnTesseraCli(name: string, options: CliTargetOptions): Promise<Child> {
  const build = process.env.TESSERA_BENCH_BUILD;
  const entry = build ? join(build, 'src', 'cli', 'bin.js') : process.env.TESSERA_BENCH_ENTRY ? join(dirname(dirname(process.env.TESSERA_BENCH_ENTRY)), 'src', 'cli', 'bin.ts') : CLI_ENTRY;
  if (!existsSync(entry)) throw new Error(`no ${entry}: \`tessera serve --workers\` is not there to measure`);
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const port = await freePort();
  for (const d of options.descriptors ?? []) writeFileSync(join(dir, `${String(d.name)}.subgraph.json`), JSON.stringify(d));
  const gateway = {
    mode: 'production',
    logging: { level: 'silent' },
    ...options.gateway,
    server: { host: '127.0.0.1', port },
    descriptors: options.descriptors ? '.' : options.gateway.descriptors,
  };
  // YAML is a superset of JSON.
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify(gateway, null, 2));
  const child = await spawnNode({
    name,
    args: [...(build ? [] : ['--import', 'tsx']), entry, 'serve', '--config', join(dir, 'gateway.yaml'), '--workers', String(options.workers)],
    env: options.env,
    readyTimeoutMs: 90_000,
    readyWhen: async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.text();
      return res.status === 200 ? port : undefined;
    },
  });
  const stop = child.stop;
  return { ...child, stop: async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  } };
}
