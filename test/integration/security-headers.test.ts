/**
 * What reaches an upstream (docs/reliability.md row 36): only allowlisted headers;
 * never Host, Connection, Transfer-Encoding or Content-Length from the client;
 * no CR/LF; and the client's Authorization only where the descriptor says so:
 * forwarded, replaced by a service credential, or stripped (the default).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { argumentHeaderRefusal, upstreamHeaders } from '../../src/transport/headers.js';
import type { RequestScope } from '../../src/request-scope.js';
import { deferred, startGateway } from '../kit/index.js';
import { recordingUpstream } from '../kit/security.js';

const SDL = (field: string) => `type Query { ${field}: String }`;

test("a client's Authorization never reaches an upstream that does not allow it; forwarded or replaced where configured", async (t) => {
  const plain = await recordingUpstream(t, SDL('plain'), { Query: { plain: () => 'p' } });
  const listed = await recordingUpstream(t, SDL('listed'), { Query: { listed: () => 'l' } });
  const explicit = await recordingUpstream(t, SDL('explicit'), { Query: { explicit: () => 'e' } });
  const service = await recordingUpstream(t, SDL('service'), { Query: { service: () => 's' } });
  const stripped = await recordingUpstream(t, SDL('stripped'), { Query: { stripped: () => 'x' } });
  const gw = await startGateway(t, [
    // Forwards other headers, but not Authorization: nothing says it may have it.
    { name: 'plain', kind: 'graphql', url: plain.url, headers: { forward: ['accept-language', 'cookie'] } },
    { name: 'listed', kind: 'graphql', url: listed.url, headers: { forward: ['authorization'] } },
    { name: 'explicit', kind: 'graphql', url: explicit.url, headers: { authorization: 'forward' } },
    { name: 'service', kind: 'graphql', url: service.url, headers: { authorization: 'service', set: { authorization: 'Bearer service-token' } } },
    { name: 'stripped', kind: 'graphql', url: stripped.url, headers: { authorization: 'strip', forward: ['accept-language'] } },
  ]);
  for (const u of [plain, listed, explicit, service, stripped]) u.reset();
  const res = await gw.query('{ plain listed explicit service stripped }', undefined, { authorization: 'Bearer client-secret', 'accept-language': 'fr', cookie: 'sid=1' });
  assert.deepEqual(res.body, { data: { plain: 'p', listed: 'l', explicit: 'e', service: 's', stripped: 'x' } });
  const seen = (u: typeof plain) => u.headers.at(-1)!;
  assert.equal(seen(plain).get('authorization'), null);
  assert.equal(seen(plain).get('accept-language'), 'fr');
  assert.equal(seen(plain).get('cookie'), 'sid=1');
  assert.equal(seen(listed).get('authorization'), 'Bearer client-secret');
  assert.equal(seen(explicit).get('authorization'), 'Bearer client-secret');
  assert.equal(seen(service).get('authorization'), 'Bearer service-token');
  assert.equal(seen(stripped).get('authorization'), null);
  assert.equal(seen(stripped).get('accept-language'), 'fr');
  for (const u of [plain, service, stripped]) {
    assert.doesNotMatch(JSON.stringify([...seen(u).entries()]), /client-secret/, 'the client credential is in no header of an upstream that was not allowed it');
  }
});

test('contradictory credential settings stop start-up', async (t) => {
  const upstream = await recordingUpstream(t, SDL('a'), { Query: { a: () => 'a' } });
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ authorization: 'strip', forward: ['authorization'] }, /strip/],
    [{ authorization: 'service' }, /set\.authorization/],
    [{ forward: ['authorization'], set: { authorization: 'Bearer x' } }, /both forwarded and set/],
    [{ identity: { 'x-user-id': 'subject' }, forward: ['x-user-id'] }, /only ever set by the gateway/],
    [{ identity: { 'x-user': 'password' } }, /subject, scopes/],
  ];
  for (const [headers, message] of cases) {
    await assert.rejects(startGateway(undefined, [{ name: 'a', kind: 'graphql', url: upstream.url, headers: headers as never }]), message, JSON.stringify(headers));
  }
});

test('row 36: Host, Connection, Transfer-Encoding and Content-Length are never forwarded, even when listed; only allowlisted headers travel', async (t) => {
  const upstream = await recordingUpstream(t, SDL('hello'), { Query: { hello: () => 'hello' } });
  const gw = await startGateway(t, [
    { name: 'a', kind: 'graphql', url: upstream.url, headers: { forward: ['host', 'connection', 'transfer-encoding', 'content-length', 'te', 'x-tenant'] } },
  ]);
  upstream.reset();
  const body = JSON.stringify({ query: '{ hello }' });
  const done = deferred<string>();
  const socket = connect(gw.port, '127.0.0.1', () => {
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\nTE: trailers\r\nX-Tenant: t1\r\nX-Other: nope\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  socket.on('close', () => done.resolve(response));
  assert.match(await done.promise, /"hello":"hello"/);
  const seen = upstream.headers.at(-1)!;
  assert.equal(seen.get('x-tenant'), 't1');
  assert.equal(seen.get('x-other'), null);
  assert.notEqual(seen.get('host'), 'evil.example');
  assert.equal(seen.get('te'), null);
  assert.notEqual(seen.get('content-length'), String(body.length), 'the upstream body has its own length');
});

test('row 36: a header value with CR or LF never travels; a request carrying one is refused by the HTTP parser', async (t) => {
  const forged = { get: (name: string) => (name === 'x-tenant' ? 'a\r\nx-injected: 1' : null) } as unknown as Headers;
  assert.deepEqual(upstreamHeaders({ headers: forged }, { forward: ['x-tenant'], set: {} }), {});
  const scope = { headers: new Headers({ 'x-tenant': 't' }), identity: { kind: 'jwt', subject: 'a\r\nb', scopes: [] } } as unknown as RequestScope;
  assert.deepEqual(upstreamHeaders(scope, { forward: ['x-tenant'], set: {}, identity: { 'x-user-id': 'subject' } }), { 'x-tenant': 't' }, 'an identity value with CR/LF is left out');

  const upstream = await recordingUpstream(t, SDL('hello'), { Query: { hello: () => 'hello' } });
  const gw = await startGateway(t, [{ name: 'a', kind: 'graphql', url: upstream.url, headers: { forward: ['x-tenant'] } }]);
  upstream.reset();
  const done = deferred<string>();
  const socket = connect(gw.port, '127.0.0.1', () => socket.write('GET /graphql?query=%7Bhello%7D HTTP/1.1\r\nHost: x\r\nX-Tenant: a\rx-injected: 1\r\n\r\n'));
  let response = '';
  socket.on('data', (d) => (response += d.toString()));
  socket.on('close', () => done.resolve(response));
  assert.match(await done.promise, /^HTTP\/1\.1 400 /);
  assert.equal(upstream.stats.requests, 0);
});

test('one rule for every origin: an argument never sets an identity header, a credential or a gateway-owned header; an identity header comes from the verified caller or not at all', () => {
  const rules = { forward: ['x-tenant', 'x-user-id'], set: { 'x-static': '1', host: 'set.example', 'content-length': '9' }, identity: { 'x-user-id': 'subject' } };
  const args = {
    'x-user-id': 'admin',
    host: 'internal-admin.svc',
    cookie: 'session=stolen',
    connection: 'close',
    'content-length': '0',
    'transfer-encoding': 'chunked',
    authorization: 'Bearer forged',
    accept: 'text/html',
    'x-request-tag': 'tag-1',
    'accept-language': 'fr',
    'x-bad': 'a\r\nx-injected: 1',
    'x-nul': 'a\u0000b',
  };
  const client = new Headers({ 'x-user-id': 'client-admin', 'x-tenant': 't1', host: 'evil' });
  const base = { accept: 'application/json' };
  const expected = { accept: 'application/json', 'x-request-tag': 'tag-1', 'accept-language': 'fr', 'x-tenant': 't1', 'x-static': '1' };

  const anonymous = upstreamHeaders({ headers: client }, rules, base, args);
  assert.deepEqual(anonymous, expected, 'anonymous: no x-user-id at all, from the argument or the client');

  const identity = { kind: 'apiKey', subject: 'alice', scopes: [] };
  const known = upstreamHeaders({ headers: client, identity }, rules, base, args);
  assert.deepEqual(known, { ...expected, 'x-user-id': 'alice' });

  // The same rule, asked at load: why an argument may not carry a header (shown by `tessera check`).
  for (const name of ['X-User-Id', 'Host', 'Cookie', 'Connection', 'Content-Length', 'Transfer-Encoding', 'Authorization', 'Accept', 'Content-Type']) {
    assert.equal(typeof argumentHeaderRefusal(name, rules), 'string', name);
  }
  assert.match(argumentHeaderRefusal('X-User-Id', rules)!, /identity header/);
  assert.match(argumentHeaderRefusal('Host', rules)!, /owned by the gateway/);
  assert.match(argumentHeaderRefusal('Cookie', rules)!, /headers\.forward lists cookie/);
  assert.equal(argumentHeaderRefusal('X-Request-Tag', rules), undefined);

  // Where the descriptor forwards the client's Cookie, an argument may carry one too.
  const cookies = { forward: ['cookie'], set: {} };
  assert.equal(argumentHeaderRefusal('Cookie', cookies), undefined);
  assert.deepEqual(upstreamHeaders({ headers: new Headers() }, cookies, {}, { cookie: 'session=arg' }), { cookie: 'session=arg' });
});
