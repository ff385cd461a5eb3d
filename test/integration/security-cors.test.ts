/**
 * CORS over real sockets: which web origins may read the gateway's answers
 * from a browser (`security.cors`, `channels.<name>.cors`). Browsers enforce
 * CORS, so these tests check what a browser would decide on: the
 * Access-Control-* and Vary headers of real answers to requests carrying an
 * Origin, and the preflight (OPTIONS) answer. Without `security.cors` there
 * are none at all: Yoga's own default would reflect any Origin with
 * Access-Control-Allow-Credentials: true. The refusals node:http answers
 * itself (413, 431, 503) carry the same headers as Yoga's answers.
 * (WebSocket upgrades: security-websocket-origin.test.ts.)
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { isConfigError } from '../../src/errors.js';
import { createGateway } from '../../src/index.js';
import { recordingUpstream } from '../kit/security.js';
import { deferred, startGateway } from '../kit/index.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example';
const QUERY = JSON.stringify({ query: '{ hello }' });

async function setup(t: TestContext, gateway: GatewayFileInput = {}) {
  const upstream = await recordingUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hello' } });
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], gateway);
  upstream.reset();
  return { gw, upstream };
}

/** A cross-origin POST as a browser sends it (fetch with credentials: 'include' adds the cookie). */
function post(url: string, origin: string | undefined, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(origin && { origin }), ...headers }, body: QUERY });
}

/** The preflight a browser sends before a cross-origin JSON POST. */
function preflight(url: string, origin: string, requestHeaders = 'content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders } });
}

function corsHeaders(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));
}

const list = (value: string | null): string[] => (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

/** Opens a raw connection, runs `script`, and resolves with everything the server sent once it closes the connection. */
function raw(port: number, script: (socket: Socket) => void): Promise<string> {
  const done = deferred<string>();
  const socket = connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (data) => (response += data.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => done.resolve(response));
  socket.on('connect', () => script(socket));
  return done.promise;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** The responses in what a server sent on one connection (each with a Content-Length), in order. */
function responses(text: string): RawResponse[] {
  const found: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = new Headers(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
    const length = Number(headers.get('content-length') ?? 0);
    found.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return found;
}

/** A request with these headers and no body sent (node:http decides on the headers alone). */
function head(path: string, headers: Record<string, string>): string {
  return [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

function corsOf(res: RawResponse): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));
}

test('default (no security.cors): a cross-origin request, credentialed or not, gets no CORS header, and a preflight is not approved', async (t) => {
  const { gw, upstream } = await setup(t);

  const credentialed = await post(gw.url, EVIL, { cookie: 'session=abc' });
  assert.equal(credentialed.status, 200);
  assert.deepEqual(await credentialed.json(), { data: { hello: 'hello' } });
  assert.deepEqual(corsHeaders(credentialed), {}, 'no Access-Control-Allow-Origin, no Access-Control-Allow-Credentials');

  const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ hello }')}`, { headers: { origin: EVIL, accept: 'application/json' } });
  assert.equal(get.status, 200);
  assert.deepEqual(corsHeaders(get), {});

  const pre = await preflight(gw.url, EVIL);
  assert.deepEqual(corsHeaders(pre), {}, 'the preflight allows nothing, so a browser never sends the JSON POST');
  assert.notEqual(pre.status, 204);

  // Same-origin use (no Origin: GraphiQL served by the gateway, server-side clients) is unaffected.
  const sameOrigin = await post(gw.url, undefined);
  assert.deepEqual(await sameOrigin.json(), { data: { hello: 'hello' } });
  assert.equal(upstream.stats.requests, 3);
});

test('configured origin: Access-Control-Allow-Origin is exactly that origin, with Vary: Origin, credentials when configured, and the gateway\'s headers exposed', async (t) => {
  const { gw } = await setup(t, {
    security: { cors: { origins: [APP, 'https://admin.example.com'], credentials: true, exposedHeaders: ['x-request-id'] } },
    rateLimit: { rules: [{ name: 'everyone', by: [], limit: 100 }] },
  });
  const res = await post(gw.url, APP, { cookie: 'session=abc' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { hello: 'hello' } });
  assert.equal(res.headers.get('access-control-allow-origin'), APP);
  assert.ok(list(res.headers.get('vary')).includes('origin'), `Vary: ${res.headers.get('vary')}`);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  // The rate-limit headers are on the answer, and a script on the page may read them.
  assert.equal(res.headers.get('ratelimit-limit'), '100');
  const exposed = list(res.headers.get('access-control-expose-headers'));
  for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'www-authenticate', 'x-request-id']) assert.ok(exposed.includes(name), `exposes ${name}: ${exposed.join(', ')}`);

  // The second listed origin gets itself, not the first.
  const admin = await post(gw.url, 'https://admin.example.com');
  assert.equal(admin.headers.get('access-control-allow-origin'), 'https://admin.example.com');
});

test('preflight of an allowed origin: 204 before request hygiene, with the configured methods, a fixed header list (not the one asked for) and max-age', async (t) => {
  const { gw, upstream } = await setup(t, {
    security: {
      cors: { origins: [APP], allowedHeaders: ['x-client-version'], maxAge: '2m' },
      auth: { apiKeys: { header: 'x-partner-key', keys: [{ id: 'k', sha256: 'a'.repeat(64) }] }, anonymous: true },
    },
    // Request hygiene refuses every non-POST request without a CSRF header on this channel: a preflight never carries one.
    channels: { default: { csrf: { requireHeader: true } } },
  });
  const pre = await preflight(gw.url, APP, 'content-type, x-evil-header');
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), APP);
  assert.ok(list(pre.headers.get('vary')).includes('origin'));
  assert.deepEqual(list(pre.headers.get('access-control-allow-methods')), ['get', 'post']);
  const allowed = list(pre.headers.get('access-control-allow-headers'));
  for (const name of ['content-type', 'authorization', 'x-partner-key', 'x-tessera-csrf', 'x-client-version']) assert.ok(allowed.includes(name), `allows ${name}: ${allowed.join(', ')}`);
  assert.ok(!allowed.includes('x-evil-header'), 'what the preflight asks for is not reflected');
  assert.equal(pre.headers.get('access-control-max-age'), '120');
  assert.equal(pre.headers.get('access-control-allow-credentials'), null, 'credentials default to false');
  assert.equal(upstream.stats.requests, 0);

  // Hygiene still holds for the requests themselves: a GET without a CSRF header is refused, from an allowed origin too,
  // and the refusal is readable by the page.
  const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ hello }')}`, { headers: { origin: APP, accept: 'application/json' } });
  assert.equal(get.status, 403);
  assert.equal(get.headers.get('access-control-allow-origin'), APP);
  const withHeader = await fetch(`${gw.url}?query=${encodeURIComponent('{ hello }')}`, { headers: { origin: APP, accept: 'application/json', 'x-tessera-csrf': '1' } });
  assert.equal(withHeader.status, 200);
  assert.equal(upstream.stats.requests, 1);
});

test('another origin: no CORS header on its answers or its preflight, and the answer still varies on Origin', async (t) => {
  const { gw, upstream } = await setup(t, { security: { cors: { origins: [APP], credentials: true } } });
  const res = await post(gw.url, EVIL, { cookie: 'session=abc' });
  assert.deepEqual(corsHeaders(res), {}, 'a browser keeps the answer from the page');
  assert.ok(list(res.headers.get('vary')).includes('origin'), 'a shared cache must not give this answer to the allowed origin, or the reverse');

  // "null" (sandboxed iframes, file: pages) and a look-alike are other origins too.
  for (const origin of ['null', 'https://app.example.com.evil.example', 'http://app.example.com']) {
    assert.deepEqual(corsHeaders(await post(gw.url, origin)), {}, origin);
  }

  const pre = await preflight(gw.url, EVIL);
  assert.deepEqual(corsHeaders(pre), {});
  assert.equal(upstream.stats.requests, 4);

  // CSRF: a form-like text/plain POST (no preflight needed) is refused before any GraphQL work, from any origin.
  const form = await fetch(gw.url, { method: 'POST', headers: { origin: EVIL, 'content-type': 'text/plain' }, body: QUERY });
  assert.equal(form.status, 415);
  assert.equal(upstream.stats.requests, 4);
});

test('origins ["*"]: any origin gets "*", never Access-Control-Allow-Credentials', async (t) => {
  const { gw } = await setup(t, { security: { cors: { origins: ['*'] } } });
  for (const origin of [APP, EVIL]) {
    const res = await post(gw.url, origin, { cookie: 'session=abc' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  }
  const pre = await preflight(gw.url, EVIL);
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.equal(pre.headers.get('access-control-allow-credentials'), null);
  assert.deepEqual(list(pre.headers.get('access-control-allow-methods')), ['get', 'post']);
  assert.equal(pre.headers.get('access-control-max-age'), '600', 'maxAge defaults to 10m');
});

test('per channel: a channel\'s cors replaces the gateway\'s, and false turns CORS off for it', async (t) => {
  const { gw } = await setup(t, {
    security: { cors: { origins: [APP] } },
    channels: { web: { cors: { origins: ['https://web.example.com'] } }, internal: { cors: false } },
  });
  const base = new URL(gw.url);
  const at = (path: string) => new URL(path, base).toString();

  assert.equal((await post(gw.url, APP)).headers.get('access-control-allow-origin'), APP);
  assert.equal((await post(at('/web/graphql'), 'https://web.example.com')).headers.get('access-control-allow-origin'), 'https://web.example.com');
  assert.deepEqual(corsHeaders(await post(at('/web/graphql'), APP)), {});
  const internal = await post(at('/internal/graphql'), APP);
  assert.equal(internal.status, 200);
  assert.deepEqual(corsHeaders(internal), {});
});

test('config errors name the file and the path: "*" with credentials, an origin with a path, "null", a channel\'s policy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cors-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      'security:',
      '  cors:',
      '    origins: ["*"]',
      '    credentials: true',
      'channels:',
      '  web:',
      '    cors: { origins: [https://app.example.com/graphql, "null"] }',
      '',
    ].join('\n'),
  );
  const error = await createGateway({ configFile: file }).then(
    () => assert.fail('the gateway started'),
    (e: unknown) => e,
  );
  assert.ok(isConfigError(error), String(error));
  const problems = error.problems.join('\n');
  assert.match(problems, /gateway\.yaml: security\.cors\.credentials: cannot be true with origin "\*": browsers refuse/);
  assert.match(problems, /gateway\.yaml: channels\.web\.cors\.origins\[0\]: expected an origin like https:\/\/app\.example\.com \(scheme:\/\/host\[:port\], no path.*drop the path: https:\/\/app\.example\.com$/m);
  assert.match(problems, /gateway\.yaml: channels\.web\.cors\.origins\[1\]: the "null" origin/);
  assert.equal(error.problems.length, 3, problems);
});

test('node:http\'s own refusals (413 by Content-Length, 431) carry the CORS headers of the channel at that path; a 404 off every channel carries none', async (t) => {
  const { gw } = await setup(t, {
    server: { bodyLimit: 1000, maxHeaders: 20 },
    security: { cors: { origins: [APP], credentials: true } },
    channels: { web: { cors: { origins: ['https://web.example.com'] } }, partners: { cors: { origins: ['*'] } } },
  });
  const refusal = async (path: string, headers: Record<string, string>): Promise<RawResponse> => {
    const [res] = responses(await raw(gw.port, (s) => s.write(head(path, headers))));
    assert.ok(res, `an answer to ${path}`);
    return res;
  };

  const tooLarge = await refusal('/graphql', { Origin: APP, 'Content-Length': '1001' });
  assert.equal(tooLarge.status, 413);
  assert.match(tooLarge.body, /PAYLOAD_TOO_LARGE/);
  assert.equal(tooLarge.headers.get('access-control-allow-origin'), APP, 'the page can read why it was refused');
  assert.equal(tooLarge.headers.get('access-control-allow-credentials'), 'true');
  assert.ok(list(tooLarge.headers.get('vary')).includes('origin'));
  assert.ok(list(tooLarge.headers.get('access-control-expose-headers')).includes('retry-after'));
  assert.equal(tooLarge.headers.get('connection'), 'close');

  const fromElsewhere = await refusal('/graphql', { Origin: EVIL, 'Content-Length': '1001' });
  assert.equal(fromElsewhere.status, 413);
  assert.deepEqual(corsOf(fromElsewhere), {});
  assert.ok(list(fromElsewhere.headers.get('vary')).includes('origin'), 'a shared cache must not give this answer to the allowed origin');

  const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-Filler-${i}`, 'x']));
  const tooMany = await refusal('/graphql', { Origin: APP, 'Content-Length': '0', ...many });
  assert.equal(tooMany.status, 431);
  assert.match(tooMany.body, /HEADERS_TOO_LARGE/);
  assert.equal(tooMany.headers.get('access-control-allow-origin'), APP);
  assert.deepEqual(corsOf(await refusal('/graphql', { Origin: EVIL, 'Content-Length': '0', ...many })), {});

  // Each channel's own policy: the web channel allows its origin (without credentials), not the gateway's.
  const web = await refusal('/web/graphql', { Origin: 'https://web.example.com', 'Content-Length': '1001' });
  assert.equal(web.status, 413);
  assert.equal(web.headers.get('access-control-allow-origin'), 'https://web.example.com');
  assert.equal(web.headers.get('access-control-allow-credentials'), null);
  assert.deepEqual(corsOf(await refusal('/web/graphql', { Origin: APP, 'Content-Length': '1001' })), {});
  const partners = await refusal('/partners/graphql', { Origin: EVIL, 'Content-Length': '1001' });
  assert.equal(partners.headers.get('access-control-allow-origin'), '*');
  assert.equal(partners.headers.get('vary'), null, 'the answer is the same for every origin');

  const notFound = await refusal('/nope', { Origin: APP, 'Content-Length': '0', Connection: 'close' });
  assert.equal(notFound.status, 404);
  assert.deepEqual(corsOf(notFound), {}, 'no channel here, so no policy says anything to another origin');
});

test('while draining, the 503 on a connection already open carries the CORS headers for an allowed origin, none for another', async (t) => {
  const release = deferred();
  let arrivals = 0;
  const bothArrived = deferred();
  const upstream = await recordingUpstream(t, 'type Query { hello: String slow: String }', {
    Query: {
      hello: () => 'hello',
      slow: async () => {
        if (++arrivals === 2) bothArrived.resolve();
        await release.promise;
        return 'done';
      },
    },
  });
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: upstream.url }], { security: { cors: { origins: [APP] } } });
  // Two documents, so the gateway's dedupe does not fold the two requests into one upstream call.
  const slow = (origin: string): string => JSON.stringify({ query: origin === APP ? '{ slow }' : '{ other: slow }' });
  const hello = JSON.stringify({ query: '{ hello }' });

  // Each connection has a request in flight (so it stays open while draining), then sends a second one once draining has started.
  const sockets = new Map<string, Socket>();
  const exchanges = [APP, EVIL].map((origin) =>
    raw(gw.port, (s) => {
      sockets.set(origin, s);
      s.write(head('/graphql', { Origin: origin, 'Content-Length': String(slow(origin).length) }) + slow(origin));
    }),
  );
  await bothArrived.promise;

  // node:http announces each request as it hands it to the gateway: the 503s are decided before the slow requests are let go.
  const probes = deferred();
  let seen = 0;
  const onRequest = (message: unknown): void => {
    if ((message as { request: IncomingMessage }).request.headers['x-probe'] && ++seen === 2) probes.resolve();
  };
  subscribe('http.server.request.start', onRequest);
  t.after(() => unsubscribe('http.server.request.start', onRequest));

  const closing = gw.gateway.close();
  for (const [origin, socket] of sockets) socket.write(head('/graphql', { Origin: origin, 'X-Probe': '1', 'Content-Length': String(hello.length) }) + hello);
  await probes.promise;
  release.resolve();

  const [fromApp, fromEvil] = (await Promise.all(exchanges)).map(responses);
  await closing;
  assert.deepEqual(fromApp!.map((r) => r.status), [200, 503]);
  const drainingApp = fromApp![1]!;
  assert.match(drainingApp.body, /SHUTTING_DOWN/);
  assert.equal(drainingApp.headers.get('access-control-allow-origin'), APP);
  assert.equal(drainingApp.headers.get('retry-after'), '1');
  assert.ok(list(drainingApp.headers.get('access-control-expose-headers')).includes('retry-after'), 'the page may read when to retry');

  assert.deepEqual(fromEvil!.map((r) => r.status), [200, 503]);
  assert.deepEqual(corsOf(fromEvil![1]!), {});
  assert.ok(list(fromEvil![1]!.headers.get('vary')).includes('origin'));
});
