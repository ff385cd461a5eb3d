/**
 * registry/folder.ts: the descriptors folder, read as start-up reads it and
 * watched: a burst of changes gives one call naming every file changed;
 * dot-files (editor swap files) and node_modules are not changes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
