/**
 * Tessera runs in the benchmark as users run it in production: compiled to
 * JavaScript (tsx would add its loader, about 40 MB of RSS and start-up
 * time, to every Tessera process). The whole project is compiled with the
 * root tsconfig into a temporary folder once per run, without type checking
 * (`--noCheck`: the same JavaScript in half the time; `npm run typecheck`
 * is where types are checked), with node_modules linked beside it; removed
 * when the run ends.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './proc.js';

export function buildTessera(log: (m: string) => void): string {
  const root = join(BENCH_DIR, '..');
  const out = mkdtempSync(join(tmpdir(), 'tessera-bench-build-'));
  process.on('exit', () => rmSync(out, { recursive: true, force: true }));
  const started = performance.now();
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit', 'false', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false', '--incremental', 'false', '--noCheck'], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch {
    // tsc exits non-zero on type errors but still writes the JavaScript; a missing file is checked below.
  }
  if (!existsSync(join(out, 'src', 'index.js')) || !existsSync(join(out, 'bench', 'lib', 'child.js'))) {
    throw new Error(`compiling Tessera into ${out} wrote no src/index.js (run \`npx tsc --noEmit -p .\` to see why), or run with --tsx`);
  }
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
  log(`Tessera compiled with tsc in ${((performance.now() - started) / 1000).toFixed(1)} s (${out})`);
  return out;
}
