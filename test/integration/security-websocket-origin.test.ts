/**
 * The Origin of a WebSocket upgrade, over real sockets. CORS does not apply
 * to WebSockets: a browser opens a socket to the gateway from any page, with
 * the page's Origin and the user's cookies, so without this check any
 * website could run operations as the user (cross-site WebSocket hijacking).
 * An upgrade with an Origin is accepted from the gateway's own origin and
 * from the origins the channel's CORS policy allows; one without an Origin
 * (not a browser) as before. A refusal is a 403 before any socket exists.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { recordingUpstream } from '../kit/security.js';
import { deferred, startGateway } from '../kit/index.js';

const APP = 'https://app.example.com';
const WEB = 'https://web.example.com';
const EVIL = 'https://evil.example';

async function setup(t: TestContext, gateway: GatewayFileInput = {}) {
  const upstream = await recordingUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hello' } });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // The descriptor forwards the cookie: what a hijacked socket would carry upstream.
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url, headers: { forward: ['cookie'] } }], gateway, { logger: pino({ level: 'warn' }, sink) });
  upstream.reset();
  const at = (path: string): string => new URL(path, gw.url).toString();
  return { gw, upstream, logs, at, self: new URL(gw.url).origin };
}

interface Upgrade {
  status: number;
  body: string;
}

/** Opens a socket as a browser would (its Origin, the user's cookie), and closes it at once; resolves with the handshake's status. */
function upgrade(url: string, headers: Record<string, string>): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
    ws.on('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '' });
    });
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

/** Runs one operation over graphql-ws, with these upgrade headers. */
function run(t: TestContext, url: string, headers: Record<string, string>, query = '{ hello }') {
  class Browser extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: Browser, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const done = deferred<{ data?: unknown; errors?: unknown[] }>();
  let result = {};
  client.subscribe(
    { query },
    {
      next: (value) => (result = value),
      error: (error) => done.resolve({ errors: [error] }),
      complete: () => done.resolve(result),
    },
  );
  return done.promise;
}

test('an allowed origin opens a socket and runs an operation, with the user\'s cookie when the policy allows credentials', async (t) => {
  const { gw, upstream } = await setup(t, { security: { cors: { origins: [APP], credentials: true } } });
  assert.deepEqual(await run(t, gw.url, { origin: APP, cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(upstream.stats.requests, 1);
  assert.equal(upstream.headers.at(-1)!.get('cookie'), 'session=abc');
  assert.equal((await upgrade(gw.url, { origin: EVIL, cookie: 'session=abc' })).status, 403, 'and only that origin');
});

test('another origin gets 403 and no socket; the refusal names the origin and the key to change, and is logged', async (t) => {
  const { gw, upstream, logs } = await setup(t, { security: { cors: { origins: [APP], credentials: true } } });
  for (const origin of [EVIL, 'null', 'https://app.example.com.evil.example', 'http://app.example.com']) {
    const refused = await upgrade(gw.url, { origin, cookie: 'session=abc' });
    assert.equal(refused.status, 403, origin);
    const error = (JSON.parse(refused.body) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors[0]!;
    assert.equal(error.extensions.code, 'ORIGIN_NOT_ALLOWED');
    assert.match(error.message, new RegExp(`origin ${origin.replace(/\./g, '\\.')} may not open a socket at /graphql; only the gateway's own origin and the origins in security\\.cors\\.origins may`));
  }
  // graphql-ws sees the handshake fail: no operation runs.
  const viaClient = await run(t, gw.url, { origin: EVIL, cookie: 'session=abc' });
  assert.ok(viaClient.errors, 'the client could not connect');
  assert.equal(upstream.stats.requests, 0);
  const warning = logs.find((l) => l.msg === 'WebSocket upgrade refused: origin not allowed' && l.origin === EVIL);
  assert.ok(warning, JSON.stringify(logs));
  assert.equal(warning.level, 40);
  assert.equal(warning.path, '/graphql');
  assert.equal(warning.configKey, 'security.cors');
});

test('no Origin (not a browser: a server, a CLI, a mobile app) opens a socket as before, with CORS on and off', async (t) => {
  const on = await setup(t, { security: { cors: { origins: [APP] } } });
  assert.deepEqual(await run(t, on.gw.url, { cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(on.upstream.headers.at(-1)!.get('cookie'), 'session=abc');
  const off = await setup(t);
  assert.deepEqual(await run(t, off.gw.url, {}), { data: { hello: 'hello' } });
  // What a browser on another site sends to the same gateways is refused.
  for (const { gw } of [on, off]) assert.equal((await upgrade(gw.url, { origin: EVIL })).status, 403);
});

test('CORS off: only a page on the gateway\'s own origin opens a socket (scheme from the listener, or X-Forwarded-Proto behind a proxy)', async (t) => {
  const { gw, upstream, self, logs } = await setup(t);
  const refused = await upgrade(gw.url, { origin: EVIL, cookie: 'session=abc' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, new RegExp(`CORS is off there \\(security\\.cors\\), so only pages on the gateway's own origin \\(${self.replace(/\./g, '\\.')}\\) may; list the origin in security\\.cors\\.origins`));
  assert.ok(logs.some((l) => l.origin === EVIL && l.ownOrigin === self));

  // Same origin: GraphiQL or a page served beside the gateway; the user's cookie counts.
  assert.deepEqual(await run(t, gw.url, { origin: self, cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(upstream.headers.at(-1)!.get('cookie'), 'session=abc');

  // Same host, other scheme or port: another origin.
  const httpsSelf = self.replace(/^http:/, 'https:');
  assert.equal((await upgrade(gw.url, { origin: httpsSelf })).status, 403, 'an https page while the client came over http');
  assert.equal((await upgrade(gw.url, { origin: `${self}1` })).status, 403, 'another port');
  // Behind a proxy that terminates TLS, the page is on https and the proxy says so; an http page there is another origin.
  assert.equal((await upgrade(gw.url, { origin: httpsSelf, 'x-forwarded-proto': 'https' })).status, 101);
  assert.equal((await upgrade(gw.url, { origin: self, 'x-forwarded-proto': 'https' })).status, 403);
  assert.equal(upstream.stats.requests, 1);
});

test('per channel: each channel\'s own policy decides, false turns CORS off there, and the refusal names the channel\'s key', async (t) => {
  const { gw, at, self } = await setup(t, {
    security: { cors: { origins: [APP] } },
    channels: { web: { cors: { origins: [WEB] } }, internal: { cors: false } },
  });
  assert.equal((await upgrade(gw.url, { origin: APP })).status, 101);
  assert.equal((await upgrade(gw.url, { origin: WEB })).status, 403);

  assert.equal((await upgrade(at('/web/graphql'), { origin: WEB })).status, 101);
  const web = await upgrade(at('/web/graphql'), { origin: APP });
  assert.equal(web.status, 403, 'the gateway\'s origin is not the web channel\'s');
  assert.match(web.body, /at \/web\/graphql; only the gateway's own origin and the origins in channels\.web\.cors\.origins may/);
  assert.deepEqual(await run(t, at('/web/graphql'), { origin: WEB }), { data: { hello: 'hello' } });
  assert.equal((await upgrade(at('/web/graphql'), { origin: self })).status, 101, 'the gateway\'s own pages, listed or not');

  const internal = await upgrade(at('/internal/graphql'), { origin: APP });
  assert.equal(internal.status, 403);
  assert.match(internal.body, /CORS is off there \(channels\.internal\.cors\)/);
  assert.equal((await upgrade(at('/internal/graphql'), { origin: self })).status, 101, 'same origin still works there');
  assert.equal((await upgrade(at('/internal/graphql'), {})).status, 101);
});

test('an origin allowed without credentials (origins ["*"], or credentials: false) opens a socket, but the upgrade\'s cookie is not used', async (t) => {
  const any = await setup(t, { security: { cors: { origins: ['*'] } } });
  assert.deepEqual(await run(t, any.gw.url, { origin: EVIL, cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(any.upstream.stats.requests, 1);
  assert.equal(any.upstream.headers.at(-1)!.get('cookie'), null, 'any website may connect, but not as the user');
  // The gateway's own pages keep the user's cookie.
  assert.deepEqual(await run(t, any.gw.url, { origin: any.self, cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(any.upstream.headers.at(-1)!.get('cookie'), 'session=abc');

  const listed = await setup(t, { security: { cors: { origins: [APP] } } });
  assert.deepEqual(await run(t, listed.gw.url, { origin: APP, cookie: 'session=abc' }), { data: { hello: 'hello' } });
  assert.equal(listed.upstream.headers.at(-1)!.get('cookie'), null, 'credentials: false (the default)');
});
