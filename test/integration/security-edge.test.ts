/**
 * The hardened edge, over real sockets: docs/reliability.md rows 1 (body over the
 * limit, chunked included: 413 and reading stops), 3 (text/plain, form and
 * multipart POSTs: refused before any GraphQL work), 6 (101 headers, a 20 KiB
 * cookie: 431), 7 (batches over the limit, batching off) and 9 (slowloris:
 * headers or body trickled in are cut by the timeouts while other clients are
 * served).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { deferred, gql, startGateway } from '../kit/index.js';
import { recordingUpstream, sha256 } from '../kit/security.js';

async function setup(t: TestContext, gateway: GatewayFileInput = {}) {
  const upstream = await recordingUpstream(t, 'type Query { hello: String } type Mutation { bump: Int }', { Query: { hello: () => 'hello' }, Mutation: { bump: () => 1 } });
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], gateway);
  upstream.reset();
  return { gw, upstream };
}

interface RawExchange {
  /** Everything the server sent. */
  response: string;
  /** Bytes the client managed to write before the server closed the connection. */
  written: number;
}

/** Opens a raw connection, runs `script`, and resolves when the server closes it. */
function raw(port: number, script: (socket: Socket) => void): Promise<RawExchange> {
  const done = deferred<RawExchange>();
  const socket = connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (data) => (response += data.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => done.resolve({ response, written: socket.bytesWritten }));
  socket.on('connect', () => script(socket));
  return done.promise;
}

/** Writes `data` every `ms` until the socket closes (or `limit` writes). */
function trickle(socket: Socket, data: string | Buffer, ms: number, limit = 10_000): void {
  let writes = 0;
  const timer = setInterval(() => {
    if (!socket.writable || ++writes > limit) {
      clearInterval(timer);
      return;
    }
    socket.write(data);
  }, ms);
  socket.once('close', () => clearInterval(timer));
}

test('row 1: a body over the limit gets 413 before parsing: by Content-Length, and chunked without one, where reading stops at the limit', async (t) => {
  const { gw, upstream } = await setup(t, { server: { bodyLimit: 1000 } });
  const declared = await raw(gw.port, (s) => s.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1001\r\n\r\n'));
  assert.match(declared.response, /^HTTP\/1\.1 413 /);
  assert.match(declared.response, /PAYLOAD_TOO_LARGE/);

  // An endless chunked body: the server answers 413 and closes the connection, so the client cannot go on sending.
  const chunk = `64\r\n${'x'.repeat(100)}\r\n`;
  const endless = await raw(gw.port, (s) => {
    s.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    trickle(s, chunk, 1, 2_000);
  });
  assert.match(endless.response, /^HTTP\/1\.1 413 /);
  assert.match(endless.response, /"code":"PAYLOAD_TOO_LARGE"/);
  assert.match(endless.response, /connection: close/i);
  assert.ok(endless.written < 2_000 * chunk.length, `the server stopped reading (client wrote ${endless.written} bytes)`);

  // Under the limit, chunked works.
  const body = JSON.stringify({ query: '{ hello }' });
  const small = await raw(gw.port, (s) => {
    s.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  });
  assert.match(small.response, /^HTTP\/1\.1 200 /);
  assert.match(small.response, /"hello":"hello"/);
  assert.equal(upstream.stats.requests, 1);
});

test('row 3: text/plain and form POSTs get 415, a multipart POST without a CSRF header 403, before authentication or any source', async (t) => {
  // Anonymous callers are refused: a 415 rather than a 401 shows the request never reached the context (authentication).
  const { gw, upstream } = await setup(t, { security: { auth: { apiKeys: { keys: [{ id: 'k', sha256: sha256('key-0123456789') }] } } } });
  const post = (contentType: string, body: string | FormData, headers: Record<string, string> = {}) =>
    fetch(gw.url, { method: 'POST', headers: contentType ? { 'content-type': contentType, ...headers } : headers, body });
  for (const [type, body] of [
    ['text/plain', JSON.stringify({ query: 'mutation { bump }' })],
    ['application/x-www-form-urlencoded', 'query=mutation%20%7B%20bump%20%7D'],
    ['application/graphql', 'mutation { bump }'],
  ] as const) {
    const res = await post(type, body);
    assert.equal(res.status, 415, type);
    assert.equal(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'UNSUPPORTED_MEDIA_TYPE');
  }
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: 'mutation { bump }' }));
  form.set('map', '{}');
  const multipart = await fetch(gw.url, { method: 'POST', body: form });
  assert.equal(multipart.status, 403);
  assert.equal(((await multipart.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'CSRF_HEADER_MISSING');
  assert.equal(upstream.stats.requests, 0);
  const json = await gql(gw.url, '{ hello }', undefined, { 'x-api-key': 'key-0123456789' });
  assert.equal(json.status, 200);
});

test('row 3: a channel that requires the CSRF header refuses GET requests without it', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { web: { csrf: { requireHeader: true } } } });
  const web = gw.url.replace(/\/graphql$/, '/web/graphql');
  const query = `?query=${encodeURIComponent('{ hello }')}`;
  const bare = await fetch(web + query, { headers: { accept: 'application/json' } });
  assert.equal(bare.status, 403);
  assert.equal(upstream.stats.requests, 0);
  const withHeader = await fetch(web + query, { headers: { accept: 'application/json', 'x-tessera-csrf': '1' } });
  assert.equal(withHeader.status, 200);
  const elsewhere = await fetch(gw.url + query, { headers: { accept: 'application/json' } });
  assert.equal(elsewhere.status, 200, 'other channels keep plain GET');
});

test('row 6: 101 headers or a 20 KiB cookie get 431, and the server goes on serving', async (t) => {
  const { gw, upstream } = await setup(t);
  const many = Array.from({ length: 100 }, (_v, i) => `x-h${i}: v\r\n`).join('');
  const tooMany = await raw(gw.port, (s) => s.write(`GET /graphql?query=%7Bhello%7D HTTP/1.1\r\nHost: x\r\n${many}\r\n`));
  assert.match(tooMany.response, /^HTTP\/1\.1 431 /);
  assert.match(tooMany.response, /HEADERS_TOO_LARGE/);
  const cookie = await raw(gw.port, (s) => s.write(`GET /graphql?query=%7Bhello%7D HTTP/1.1\r\nHost: x\r\nCookie: c=${'a'.repeat(20 * 1024)}\r\n\r\n`));
  assert.match(cookie.response, /^HTTP\/1\.1 431 /);
  assert.equal(upstream.stats.requests, 0);
  const fine = Array.from({ length: 90 }, (_v, i) => `x-h${i}: v\r\n`).join('');
  const ok = await raw(gw.port, (s) => s.write(`GET /graphql?query=%7Bhello%7D HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nConnection: close\r\n${fine}\r\n`));
  assert.match(ok.response, /^HTTP\/1\.1 200 /);
});

test('row 7: a batch over the limit gets 413; with batching off (the default) an array gets 400', async (t) => {
  const { gw, upstream } = await setup(t, { channels: { batch: { batching: 10 } } });
  const batchUrl = gw.url.replace(/\/graphql$/, '/batch/graphql');
  const send = (url: string, n: number) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify(Array.from({ length: n }, () => ({ query: '{ hello }' }))),
    });
  const over = await send(batchUrl, 11);
  assert.equal(over.status, 413);
  assert.equal(upstream.stats.requests, 0);
  const within = await send(batchUrl, 2);
  assert.equal(within.status, 200);
  assert.deepEqual(await within.json(), [{ data: { hello: 'hello' } }, { data: { hello: 'hello' } }]);
  const off = await send(gw.url, 2);
  assert.equal(off.status, 400);
});

test('row 9: slowloris (headers or body trickled in) is cut by the timeouts while other clients are served', async (t) => {
  const { gw } = await setup(t, { server: { headersTimeout: 300, requestTimeout: 600 } });
  const slowHeaders = raw(gw.port, (s) => {
    s.write('GET /graphql?query=%7Bhello%7D HTTP/1.1\r\nHost: x\r\n');
    trickle(s, 'X', 50);
  });
  const slowBody = raw(gw.port, (s) => {
    s.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{');
    trickle(s, ' ', 50);
  });
  // Meanwhile, a normal client is answered.
  for (let i = 0; i < 5; i++) assert.equal((await gql(gw.url, '{ hello }')).status, 200);
  const [headers, body] = await Promise.all([slowHeaders, slowBody]);
  assert.match(headers.response, /^HTTP\/1\.1 408 /);
  assert.match(body.response, /^HTTP\/1\.1 408 /);
  assert.equal((await gql(gw.url, '{ hello }')).status, 200);
});

test('row 7: every operation of a batch is charged to the rate limiter', async (t) => {
  const { gw } = await setup(t, {
    channels: { batch: { batching: 10 } },
    rateLimit: { rules: [{ name: 'per-consumer', by: 'consumer', limit: 3, window: '1m' }] },
  });
  const batchUrl = gw.url.replace(/\/graphql$/, '/batch/graphql');
  const batch = await fetch(batchUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify([{ query: '{ hello }' }, { query: '{ hello }' }, { query: '{ hello }' }]),
  });
  assert.equal(batch.status, 200);
  assert.deepEqual(await batch.json(), Array.from({ length: 3 }, () => ({ data: { hello: 'hello' } })));
  // Three operations used the three points: the next single request is over the limit.
  assert.equal((await gql(batchUrl, '{ hello }')).status, 429);
});
