/**
 * Persisted (trusted) operations per channel and automatic persisted
 * queries: a persisted-only channel refuses a new document (over HTTP and
 * over WebSocket), runs manifest operations by id (Apollo `sha256Hash` or
 * `documentId`, POST or GET), and APQ registers a document only under its
 * own SHA-256.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { deferred, gql, startGateway } from '../kit/index.js';
import { recordingUpstream, sha256 } from '../kit/security.js';

const HELLO = 'query Hello { hello }';
const GREET = 'query Greet($name: String) { greet(name: $name) }';

function manifestFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-manifest-'));
  const file = join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

async function setup(t: TestContext, gateway: GatewayFileInput) {
  const upstream = await recordingUpstream(t, 'type Query { hello: String greet(name: String): String secret: String }', {
    Query: { hello: () => 'hello', greet: (_: unknown, { name }: { name?: string }) => `hi ${name}`, secret: () => 'secret' },
  });
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], gateway);
  upstream.reset();
  return { gw, upstream };
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify(body) }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string; extensions?: { code?: string } }> },
  }));

const persisted = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });

test('a persisted-only channel runs manifest operations by id and refuses any other document', async (t) => {
  const manifest = manifestFile({ [sha256(HELLO)]: HELLO, greet: GREET });
  const { gw, upstream } = await setup(t, { channels: { mobile: { persistedOperations: { manifest } } } });
  const mobile = gw.url.replace(/\/graphql$/, '/mobile/graphql');

  const byHash = await post(mobile, persisted(sha256(HELLO)));
  assert.deepEqual(byHash, { status: 200, body: { data: { hello: 'hello' } } });
  const byDocumentId = await post(mobile, { documentId: 'greet', variables: { name: 'Ada' } });
  assert.deepEqual(byDocumentId.body, { data: { greet: 'hi Ada' } });
  const viaGet = await fetch(`${mobile}?extensions=${encodeURIComponent(JSON.stringify(persisted(sha256(HELLO)).extensions))}`, { headers: { accept: 'application/json' } });
  assert.equal(viaGet.status, 200);
  assert.deepEqual(await viaGet.json(), { data: { hello: 'hello' } });
  const calls = upstream.stats.requests;

  const fresh = await post(mobile, { query: '{ secret }' });
  assert.equal(fresh.status, 400);
  assert.equal(fresh.body.errors![0]!.extensions!.code, 'PERSISTED_QUERY_ONLY');
  // An id with a different document: the manifest's document is what runs.
  const swapped = await post(mobile, { query: '{ secret }', ...persisted(sha256(HELLO)) });
  assert.deepEqual(swapped.body, { data: { hello: 'hello' } });
  const unknown = await post(mobile, persisted(sha256('{ secret }')));
  assert.equal(unknown.status, 200);
  assert.equal(unknown.body.errors![0]!.message, 'PersistedQueryNotFound');
  assert.equal(unknown.body.errors![0]!.extensions!.code, 'PERSISTED_QUERY_NOT_FOUND');
  assert.equal(upstream.stats.requests, calls + 1, 'only the swapped request (running the manifest document) reached the subgraph');
  assert.ok(upstream.queries.every((q) => !q.includes('secret')));

  // Other channels are unaffected.
  assert.equal((await gql(gw.url, '{ secret }')).status, 200);
});

test('a persisted-only channel refuses a new document over WebSocket too', async (t) => {
  const manifest = manifestFile({ [sha256(HELLO)]: HELLO });
  const { gw, upstream } = await setup(t, { channels: { mobile: { persistedOperations: { manifest } } } });
  const client = createClient({ url: gw.url.replace(/^http/, 'ws').replace(/\/graphql$/, '/mobile/graphql'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const run = (query: string) => {
    const done = deferred<{ data?: unknown; errors?: unknown[] }>();
    let result: { data?: unknown; errors?: unknown[] } = {};
    client.subscribe({ query }, {
      next: (value) => (result = value as typeof result),
      error: (error) => done.resolve({ errors: Array.isArray(error) ? error : [error] }),
      complete: () => done.resolve(result),
    });
    return done.promise;
  };
  const refused = await run('{ secret }');
  assert.match(JSON.stringify(refused.errors), /persisted operations/);
  assert.deepEqual(await run(HELLO), { data: { hello: 'hello' } });
  assert.ok(upstream.queries.every((q) => !q.includes('secret')));
});

test('APQ: an unknown hash gets PersistedQueryNotFound; the document is registered only under its own SHA-256', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { web: { persistedOperations: { apq: true } } } });
  const web = gw.url.replace(/\/graphql$/, '/web/graphql');
  const hash = sha256(GREET);
  const miss = await post(web, { ...persisted(hash), variables: { name: 'Bo' } });
  assert.equal(miss.status, 200);
  assert.equal(miss.body.errors![0]!.message, 'PersistedQueryNotFound');
  assert.equal(upstream.stats.requests, 0);
  const register = await post(web, { query: GREET, ...persisted(hash), variables: { name: 'Bo' } });
  assert.deepEqual(register.body, { data: { greet: 'hi Bo' } });
  const hit = await post(web, { ...persisted(hash), variables: { name: 'Cy' } });
  assert.deepEqual(hit.body, { data: { greet: 'hi Cy' } });
  const lying = await post(web, { query: '{ secret }', ...persisted(sha256(HELLO)) });
  assert.equal(lying.status, 400);
  assert.equal(lying.body.errors![0]!.extensions!.code, 'PERSISTED_QUERY_HASH_MISMATCH');
  const stillUnknown = await post(web, persisted(sha256(HELLO)));
  assert.equal(stillUnknown.body.errors![0]!.extensions!.code, 'PERSISTED_QUERY_NOT_FOUND');
  // Ordinary documents still run on an APQ channel.
  assert.deepEqual((await post(web, { query: '{ hello }' })).body, { data: { hello: 'hello' } });
});

test("Apollo's manifest format is read; a manifest that cannot be read, or only with apq, stops start-up", async (t) => {
  const apollo = manifestFile({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'op-1', name: 'Hello', type: 'query', body: HELLO }] });
  const { gw } = await setup(t, { channels: { app: { persistedOperations: { manifest: apollo } } } });
  assert.deepEqual((await post(gw.url.replace(/\/graphql$/, '/app/graphql'), { documentId: 'op-1' })).body, { data: { hello: 'hello' } });
  const upstream = await recordingUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hello' } });
  const attempts: Array<[GatewayFileInput, RegExp]> = [
    [{ channels: { app: { persistedOperations: { manifest: '/nonexistent/manifest.json' } } } }, /channels\.app\.persistedOperations\.manifest: cannot read/],
    [{ channels: { app: { persistedOperations: { manifest: manifestFile([1, 2]) } } } }, /expected an Apollo persisted-query manifest/],
    [{ channels: { app: { persistedOperations: { manifest: apollo, apq: true } } } }, /APQ lets clients register any document/],
    [{ channels: { app: { persistedOperations: {} } } }, /give a `manifest`, or turn `apq` on/],
  ];
  for (const [config, message] of attempts) {
    await assert.rejects(startGateway(undefined, [{ name: 'app', kind: 'graphql', url: upstream.url }], config), message);
  }
});

test('APQ with a Redis store: a document registered on one replica is found by another', async (t) => {
  const { needRedis, uniquePrefix, REDIS_URL } = await import('../kit/redis.js');
  if (!(await needRedis(t))) return;
  const prefix = uniquePrefix(t);
  // A generous command timeout: this test is about sharing, not about a slow Redis (store-writes.test.ts is).
  const config: GatewayFileInput = { store: { url: REDIS_URL, prefix, timeout: '1s' }, channels: { web: { persistedOperations: { apq: true } } } };
  const { gw: a, upstream } = await setup(t, config);
  const b = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], config);
  const hash = sha256(GREET);
  const onA = await post(a.url.replace(/\/graphql$/, '/web/graphql'), { query: GREET, ...persisted(hash), variables: { name: 'Al' } });
  assert.deepEqual(onA.body, { data: { greet: 'hi Al' } });
  const onB = await post(b.url.replace(/\/graphql$/, '/web/graphql'), { ...persisted(hash), variables: { name: 'Bea' } });
  assert.deepEqual(onB.body, { data: { greet: 'hi Bea' } }, 'replica B knows the hash replica A registered');
});
