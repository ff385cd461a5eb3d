/**
 * registry/folder.ts: the descriptors folder, read as start-up reads it and
 * watched: a burst of changes gives one call naming every file changed;
 * dot-files (editor swap files) and node_modules are not changes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { folderRegistry } from '../../src/registry/folder.js';

test('a burst of changes is one reload naming each changed file; swap files and node_modules are ignored; load() reads the set', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'subgraphs/a'), { recursive: true });
  mkdirSync(join(dir, 'subgraphs/node_modules'), { recursive: true });
  writeFileSync(join(dir, 'subgraphs/a/subgraph.yaml'), 'name: a\nkind: graphql\nsource: ./a.graphql\nurl: http://127.0.0.1:1/graphql\n');
  writeFileSync(join(dir, 'subgraphs/a/a.graphql'), 'type Query { a: String }\n');
  const registry = folderRegistry({ locations: './subgraphs', baseDir: dir, configFile: join(dir, 'gateway.yaml'), env: {}, debounceMs: 50, logger: createLogger('silent') });
  assert.deepEqual((await registry.load()).map((d) => d.name), ['a']);

  const calls: string[] = [];
  let heard!: () => void;
  const first = new Promise<void>((resolve) => (heard = resolve));
  const stop = registry.watch((reason) => {
    calls.push(reason);
    heard();
  });
  t.after(stop);
  // The watch does not keep the process alive (a listening gateway does): this interval does, until the test ends.
  const alive = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(alive));
  writeFileSync(join(dir, 'subgraphs/a/.subgraph.yaml.swp'), 'editor state');
  writeFileSync(join(dir, 'subgraphs/node_modules/x.js'), '');
  writeFileSync(join(dir, 'subgraphs/a/a.graphql'), 'type Query { a: String b: String }\n');
  writeFileSync(join(dir, 'subgraphs/a/subgraph.yaml'), 'name: a\nkind: graphql\nsource: ./a.graphql\nurl: http://127.0.0.1:2/graphql\n');
  await first;
  assert.equal(calls.length, 1);
  assert.match(calls[0]!, /^changed: /);
  assert.ok(calls[0]!.includes(join('subgraphs', 'a', 'a.graphql')) && calls[0]!.includes(join('subgraphs', 'a', 'subgraph.yaml')), calls[0]);
  assert.doesNotMatch(calls[0]!, /\.swp|node_modules/);
});

test('a folder laid out as a mounted Kubernetes ConfigMap: its descriptors (links into ..data) are read, and the kubelet\'s update (a new .. folder, then the ..data link) is one reload', async (t) => {
  // What the kubelet's atomic writer makes of a ConfigMap volume (deploy/kubernetes/base): the keys are links into
  // `..data`, itself a link to a hidden timestamped folder; an update writes a new folder and renames a new `..data` over the old.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-configmap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mount = join(dir, 'descriptors');
  mkdirSync(join(mount, '..2026_12_06_07.00.00.1'), { recursive: true });
  const descriptor = (port: number) => `name: products\nkind: graphql\nsource: ./products.graphql\nurl: http://127.0.0.1:${port}/graphql\n`;
  writeFileSync(join(mount, '..2026_12_06_07.00.00.1/products.subgraph.yaml'), descriptor(1));
  writeFileSync(join(mount, '..2026_12_06_07.00.00.1/products.graphql'), 'type Query { a: String }\n');
  symlinkSync('..2026_12_06_07.00.00.1', join(mount, '..data'));
  symlinkSync('..data/products.subgraph.yaml', join(mount, 'products.subgraph.yaml'));
  symlinkSync('..data/products.graphql', join(mount, 'products.graphql'));
  const registry = folderRegistry({ locations: './descriptors', baseDir: dir, configFile: join(dir, 'gateway.yaml'), env: {}, debounceMs: 50, logger: createLogger('silent') });
  assert.deepEqual((await registry.load()).map((d) => d.upstreams[0]!.url), ['http://127.0.0.1:1/graphql']);

  let heard!: (reason: string) => void;
  const reloaded = new Promise<string>((resolve) => (heard = resolve));
  const stop = registry.watch((reason) => heard(reason));
  t.after(stop);
  const alive = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(alive));
  mkdirSync(join(mount, '..2026_12_06_07.05.00.2'));
  writeFileSync(join(mount, '..2026_12_06_07.05.00.2/products.subgraph.yaml'), descriptor(2));
  writeFileSync(join(mount, '..2026_12_06_07.05.00.2/products.graphql'), 'type Query { a: String }\n');
  symlinkSync('..2026_12_06_07.05.00.2', join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  assert.match(await reloaded, /\.\.2026_12_06_07\.05\.00\.2/);
  assert.deepEqual((await registry.load()).map((d) => d.upstreams[0]!.url), ['http://127.0.0.1:2/graphql']);
});
