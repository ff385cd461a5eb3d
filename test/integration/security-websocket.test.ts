/**
 * GraphQL over WebSocket goes through the same authentication and
 * authorization as HTTP: the credential of the upgrade request is checked,
 * the identity reaches the upstream, and forbidden fields are withheld.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred, startGateway } from '../kit/index.js';
import { recordingUpstream, sha256 } from '../kit/security.js';

const KEY = 'ws-key-0123456789abcdef';

async function setup(t: TestContext) {
  const upstream = await recordingUpstream(t, 'type Query { hello: String secret: String }', { Query: { hello: () => 'hello', secret: () => 'secret' } });
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url, auth: { 'Query.secret': ['admin'] }, headers: { identity: { 'x-user-id': 'subject' } } }], {
    security: { auth: { apiKeys: { keys: [{ id: 'ws-client', sha256: sha256(KEY), scopes: ['read'] }] } } },
  });
  upstream.reset();
  return { gw, upstream };
}

function run(t: TestContext, url: string, query: string, headers: Record<string, string> = {}) {
  // The credential travels on the upgrade request, as browsers' cookies or a server client's headers do.
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WithHeaders, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const done = deferred<{ data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> }>();
  let result = {};
  client.subscribe({ query }, {
    next: (value) => (result = value),
    error: (error) => done.resolve({ errors: Array.isArray(error) ? error : [error as never] }),
    complete: () => done.resolve(result),
  });
  return done.promise;
}

test('over WebSocket: no credential is refused; a valid one runs, carries the identity upstream, and forbidden fields are withheld', async (t) => {
  const { gw, upstream } = await setup(t);
  const refused = await run(t, gw.url, '{ hello }');
  assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  assert.equal(upstream.stats.requests, 0);
  const allowed = await run(t, gw.url, '{ hello secret }', { 'x-api-key': KEY });
  assert.deepEqual(allowed.data, { hello: 'hello', secret: null });
  assert.equal(allowed.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), 'ws-client');
  assert.ok(upstream.queries.every((q) => !q.includes('secret')));
});

test('over WebSocket: a browser-style client sends its credential in connection_init, and a bad one there is refused', async (t) => {
  const { gw, upstream } = await setup(t);
  const subscribeWith = (connectionParams: Record<string, unknown>) => {
    const client = createClient({ url: gw.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
    t.after(() => client.dispose());
    const done = deferred<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }>();
    let result = {};
    client.subscribe({ query: '{ hello }' }, {
      next: (value) => (result = value),
      error: (error) => done.resolve({ errors: Array.isArray(error) ? error : [error as never] }),
      complete: () => done.resolve(result),
    });
    return done.promise;
  };
  assert.deepEqual((await subscribeWith({ 'x-api-key': KEY })).data, { hello: 'hello' });
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), 'ws-client');
  assert.deepEqual((await subscribeWith({ headers: { 'x-api-key': KEY } })).data, { hello: 'hello' }, 'or nested under headers');
  const bad = await subscribeWith({ 'x-api-key': 'not-the-key' });
  assert.equal(bad.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
});
