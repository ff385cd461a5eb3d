/**
 * Packages a gateway loads only when its configuration needs them: a loaded
 * module keeps its source and compiled code in the heap for the life of the
 * process (bench/heap-live.ts), so ioredis (about 1 MB) waits for a Redis
 * store or registry and @theguild/federation-composition (about 2 MB) for a
 * federation source.
 *
 * Each gateway is built in a fresh process (the test's own has both loaded by
 * the test kit), which records every module it loads through either loader:
 * CommonJS from require.cache, ES modules through a resolve hook that appends
 * each URL to a file.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { atTestEnd, runProcess, startGraphqlUpstream } from '../kit/index.js';
import { needRedis, REDIS_URL } from '../kit/redis.js';

const ON_DEMAND = /\/node_modules\/(ioredis|@theguild\/federation-composition)\//;
const gatewayModule = pathToFileURL(join(import.meta.dirname, '../../src/index.js')).href;

/** Builds a gateway from `config` in a new process and answers the packages of ON_DEMAND it loaded, sorted. */
async function onDemandPackagesLoaded(t: TestContext, config: Record<string, unknown>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-modules-'));
  atTestEnd(t, () => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'esm.log');
  const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}`;
  const script = `
import { register, createRequire } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const { createGateway } = await import(${JSON.stringify(gatewayModule)});
const gateway = await createGateway(${JSON.stringify(config)});
await gateway.close();
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
`;
  const ran = await runProcess(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, NODE_ENV: 'production' } });
  assert.equal(ran.code, 0, ran.stderr);
  const loaded = [...(JSON.parse(ran.stdout.trim().split('\n').at(-1)!) as string[]), ...readFileSync(log, 'utf8').split('\n')];
  return [...new Set(loaded.map((file) => ON_DEMAND.exec(file)?.[1]).filter((name) => name !== undefined))].sort();
}

const gatewayBase = { mode: 'production', logging: { level: 'silent' } };

test('a gateway with a GraphQL source and its stores in memory loads neither ioredis nor the federation composition', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hi' } });
  const loaded = await onDemandPackagesLoaded(t, { gateway: gatewayBase, descriptors: [{ name: 'hello', kind: 'graphql', url: upstream.url }] });
  assert.deepEqual(loaded, []);
});

test('a federation source loads the federation composition, a Redis store loads ioredis', async (t) => {
  if (!(await needRedis(t))) return;
  const subgraph = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse('type Query { hello: String }'), resolvers: { Query: { hello: () => 'hi' } } }));
  const loaded = await onDemandPackagesLoaded(t, {
    gateway: { ...gatewayBase, store: REDIS_URL },
    descriptors: [{ name: 'hello', kind: 'federation', url: subgraph.url }],
  });
  assert.deepEqual(loaded, ['@theguild/federation-composition', 'ioredis']);
});
