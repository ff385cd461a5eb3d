/**
 * The upstream HTTP cache (descriptor `httpCache`), through the gateway and a
 * real REST service: Cache-Control freshness, ETag revalidation, and what a
 * shared cache must not store.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startGateway } from '../kit/index.js';
import { HttpCache } from '../../src/transport/http-cache.js';

const SPEC = `openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, properties: { id: { type: string }, n: { type: integer } } } } }
`;

async function restService(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse, calls: number) => void) {
  const log: Array<Record<string, string | string[] | undefined>> = [];
  const server = createServer((req, res) => {
    log.push(req.headers);
    handler(req, res, log.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'tessera-httpcache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'openapi.yaml'), SPEC);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log, dir };
}

test('a fresh response is served from the cache; a stale one is revalidated with its ETag', async (t) => {
  const rest = await restService(t, (req, res, calls) => {
    if (req.headers['if-none-match'] === '"v1"') return res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=0' }).end();
    res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'cache-control': calls === 1 ? 'max-age=60' : 'max-age=0' }).end(JSON.stringify({ id: 'a', n: calls }));
  });
  const gw = await startGateway(t, [{ name: 'items', kind: 'openapi', source: './openapi.yaml', dir: rest.dir, url: rest.url, httpCache: true }]);
  const first = await gw.query('{ getItem(id: "a") { id n } }');
  assert.deepEqual(first.body.data, { getItem: { id: 'a', n: 1 } });
  const second = await gw.query('{ getItem(id: "a") { id n } }');
  assert.deepEqual(second.body.data, { getItem: { id: 'a', n: 1 } });
  assert.equal(rest.log.length, 1, 'the second query was answered from the cache');
  const other = await gw.query('{ getItem(id: "b") { id n } }');
  assert.equal(other.body.data.getItem.n, 2, 'another path is another entry (stored with max-age=0)');
  const revalidated = await gw.query('{ getItem(id: "b") { id n } }');
  assert.equal(rest.log.length, 3);
  assert.equal(rest.log[2]!['if-none-match'], '"v1"', 'a stale entry is revalidated');
  assert.equal(revalidated.body.data.getItem.n, 2, 'the 304 reuses the stored body');
});

test('without httpCache every query calls the service', async (t) => {
  const rest = await restService(t, (_req, res, calls) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify({ id: 'a', n: calls })));
  const gw = await startGateway(t, [{ name: 'items', kind: 'openapi', source: './openapi.yaml', dir: rest.dir, url: rest.url }]);
  await gw.query('{ getItem(id: "a") { n } }');
  await gw.query('{ getItem(id: "a") { n } }');
  assert.equal(rest.log.length, 2);
});

test('a shared cache does not store private, no-store, Vary: * or authorised responses', () => {
  let now = 0;
  const cache = new HttpCache({ maxEntries: 10, maxEntrySize: 100 }, () => now);
  const body = Buffer.from('{}');
  const store = (path: string, headers: Record<string, string>, request: Record<string, string> = {}) => {
    cache.update(path, request, { status: 200, headers, body });
    return cache.lookup(path, request).fresh !== undefined;
  };
  assert.equal(store('/a', { 'cache-control': 'max-age=10' }), true);
  assert.equal(store('/b', { 'cache-control': 'private, max-age=10' }), false);
  assert.equal(store('/c', { 'cache-control': 'no-store' }), false);
  assert.equal(store('/d', { 'cache-control': 'max-age=10', vary: '*' }), false);
  assert.equal(store('/e', { 'cache-control': 'max-age=10' }, { authorization: 'Bearer x' }), false);
  assert.equal(store('/f', { 'cache-control': 'public, max-age=10' }, { authorization: 'Bearer x' }), true);
  assert.equal(store('/g', { 'cache-control': 's-maxage=10, max-age=0' }), true, 's-maxage wins for a shared cache');
  cache.update('/h', { 'accept-language': 'fr' }, { status: 200, headers: { 'cache-control': 'max-age=10', vary: 'Accept-Language' }, body });
  assert.ok(cache.lookup('/h', { 'accept-language': 'fr' }).fresh);
  assert.equal(cache.lookup('/h', { 'accept-language': 'en' }).fresh, undefined, 'Vary keeps languages apart');
  cache.update('/big', {}, { status: 200, headers: { 'cache-control': 'max-age=10' }, body: Buffer.alloc(101) });
  assert.equal(cache.lookup('/big', {}).fresh, undefined, 'over maxEntrySize');
  now += 10_001;
  assert.equal(cache.lookup('/a', {}).fresh, undefined, 'expired');
});
