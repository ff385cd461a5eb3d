/**
 * Schema build time and memory of Tessera, each in a fresh process: the demo
 * graph (subgraphs/ with gateway.yaml) and a gateway over GitHub's OpenAPI
 * document (the largest real document); memory is the heap after GC and the
 * RSS, each minus what they were before the build.
 */
import { spawnRole } from './proc.js';

export interface SchemaBuild {
  name: string;
  buildMs?: number;
  heapMB?: number;
  rssMB?: number;
  reason?: string;
}

export async function measureSchemaBuilds(log: (m: string) => void): Promise<SchemaBuild[]> {
  const out: SchemaBuild[] = [];
  const builds: Array<{ which: 'demo' | 'github'; name: string }> = [
    { which: 'demo', name: 'demo (gateway.yaml, subgraphs/)' },
    { which: 'github', name: "GitHub's OpenAPI document (@octokit/openapi)" },
  ];
  for (const { which, name } of builds) {
    try {
      const child = await spawnRole(`schema build (${which})`, 'schema-build', { port: 0, which }, { nodeFlags: ['--expose-gc'], readyTimeoutMs: 180_000 });
      await child.stop();
      const info = child.info as { buildMs: number; heapMB: number; rssMB: number };
      out.push({ name, buildMs: info.buildMs, heapMB: info.heapMB, rssMB: info.rssMB });
      log(`  schema build, ${name}: ${info.buildMs.toFixed(0)} ms, heap +${info.heapMB.toFixed(1)} MB, RSS +${info.rssMB.toFixed(1)} MB`);
    } catch (error) {
      out.push({ name, reason: (error as Error).message.split('\n').slice(0, 3).join(' ') });
    }
  }
  return out;
}
