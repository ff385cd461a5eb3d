/**
 * Authentication with real signed tokens and a JWKS served on loopback:
 * docs/reliability.md rows 33 (alg none, empty signature), 34 (HS256 signed with
 * the RSA public key, jku/x5u ignored, unknown kid), 35 (expired, nbf, wrong
 * aud/iss, clock skew), key rotation, a JWKS outage, API keys, and anonymous
 * callers allowed or refused per channel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { SignJWT } from 'jose';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { gql, startGateway } from '../kit/index.js';
import { AUDIENCE, b64url, ISSUER, recordingUpstream, sha256, signingKey, startJwks, token, type SigningKey } from '../kit/security.js';

const SDL = 'type Query { me: String hello: String }';
const resolvers = { Query: { me: () => 'me', hello: () => 'hello' } };

async function setup(t: TestContext, security: GatewayFileInput['security'], extra: GatewayFileInput = {}) {
  const upstream = await recordingUpstream(t, SDL, resolvers);
  const gw = await startGateway(
    t,
    [{ name: 'app', kind: 'graphql', url: upstream.url, headers: { identity: { 'x-user-id': 'subject', 'x-user-scopes': 'scopes', 'x-auth-kind': 'kind' } } }],
    { security, ...extra },
  );
  upstream.reset(); // the schema was read by introspection: count from here
  return { upstream, gw };
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

function assertUnauthenticated(res: Awaited<ReturnType<typeof gql>>, error?: string): void {
  assert.equal(res.status, 401, res.text);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  const challenge = res.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer realm="tessera"/);
  if (error) assert.match(challenge, new RegExp(`error="${error}"`));
  assert.equal(res.body.data, undefined);
}

async function jwksGateway(t: TestContext, keys: SigningKey[], jwks: Record<string, unknown> = {}) {
  const server = await startJwks(t, keys);
  const { upstream, gw } = await setup(t, { auth: { jwt: [{ name: 'test', issuer: ISSUER, audience: AUDIENCE, jwks: { url: server.url, ...jwks } }] } });
  return { server, upstream, gw };
}

test('a valid token from the JWKS: 200, and the upstream gets the caller as identity headers', async (t) => {
  const key = await signingKey('k1');
  const { gw, upstream } = await jwksGateway(t, [key]);
  const res = await gw.query('{ me }', undefined, bearer(await token(key, { sub: 'alice', scope: 'orders:read pii' })));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, { data: { me: 'me' } });
  const seen = upstream.headers.at(-1)!;
  assert.equal(seen.get('x-user-id'), 'alice');
  assert.equal(seen.get('x-user-scopes'), 'orders:read pii');
  assert.equal(seen.get('x-auth-kind'), 'jwt');
  assert.equal(seen.get('authorization'), null, 'the client credential does not travel on by default');
});

test('without credentials: anonymous is refused by default once auth is configured (401, WWW-Authenticate, no upstream call)', async (t) => {
  const key = await signingKey('k1');
  const { gw, upstream } = await jwksGateway(t, [key]);
  const res = await gw.query('{ me }');
  assertUnauthenticated(res);
  assert.doesNotMatch(res.headers.get('www-authenticate')!, /error=/, 'a missing credential is not an invalid one');
  assert.equal(upstream.stats.requests, 0);
});

test('row 33: a token with alg "none", or with an empty signature, gets 401 and is ignored', async (t) => {
  const key = await signingKey('k1');
  const { gw, upstream } = await jwksGateway(t, [key]);
  const now = Math.floor(Date.now() / 1000);
  const claims = b64url(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: now + 300 }));
  const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${claims}.`;
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(none)), 'invalid_token');
  const [header, payload] = (await token(key)).split('.');
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(`${header}.${payload}.`)), 'invalid_token');
  // The header says none but a signature is attached anyway.
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(`${b64url(JSON.stringify({ alg: 'none' }))}.${claims}.${b64url('x')}`)), 'invalid_token');
  assert.equal(upstream.stats.requests, 0);
});

test('row 34: an RS256 key re-used as an HS256 secret is refused; algorithms are pinned per key', async (t) => {
  const key = await signingKey('k1');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-keys-'));
  writeFileSync(join(dir, 'k1.pem'), key.publicPem);
  const { gw, upstream } = await setup(
    t,
    { auth: { jwt: [{ name: 'static', issuer: ISSUER, audience: AUDIENCE, keys: [{ kid: 'k1', alg: 'RS256', file: join(dir, 'k1.pem') }] }] } },
  );
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key)))).status, 200, 'the genuine token works');
  // The classic confusion attack: sign HS256 with the public key's PEM text as the HMAC secret.
  const now = Math.floor(Date.now() / 1000);
  const forged = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'mallory', exp: now + 300 })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .sign(new TextEncoder().encode(key.publicPem));
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(forged)), 'invalid_token');
  // Another RSA key claiming the same kid.
  const other = await signingKey('k1');
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(await token(other))), 'invalid_token');
  assert.equal(upstream.stats.requests, 1);
});

test('row 34: jku and x5u in a token are never followed; an unknown kid re-fetches the configured JWKS at most once per cooldown', async (t) => {
  const key = await signingKey('k1');
  const { gw, server, upstream } = await jwksGateway(t, [key], { cooldown: '10m' });
  const attackerKey = await signingKey('evil');
  const attacker = await startJwks(t, [attackerKey]);
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key)))).status, 200);
  assert.equal(server.fetches, 1);
  for (const header of [{ jku: attacker.url }, { x5u: attacker.url }, { jwk: attackerKey.publicJwk }]) {
    assertUnauthenticated(await gw.query('{ me }', undefined, bearer(await token(attackerKey, {}, header))), 'invalid_token');
  }
  for (let i = 0; i < 5; i++) {
    const stranger = await signingKey(`unknown-${i}`);
    assertUnauthenticated(await gw.query('{ me }', undefined, bearer(await token(stranger))), 'invalid_token');
  }
  assert.equal(attacker.fetches, 0, 'the attacker-supplied key URL was never fetched');
  assert.equal(server.fetches, 1, 'no refetch inside the cooldown');
  assert.equal(upstream.stats.requests, 1);
});

test('row 35: expired, not yet valid, wrong audience, wrong issuer, no expiry: 401; a clock a few seconds off is tolerated', async (t) => {
  const key = await signingKey('k1');
  const { gw, upstream } = await jwksGateway(t, [key]);
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['expired', { exp: now - 120 }, /expired/],
    ['nbf in the future', { nbf: now + 120 }, /not valid yet/],
    ['wrong audience', { aud: 'someone-else' }, /audience/],
    ['wrong issuer', { iss: 'https://evil.example/' }, /issuer/],
    ['no exp', { exp: undefined }, /exp/],
  ];
  for (const [name, claims, message] of cases) {
    const res = await gw.query('{ me }', undefined, bearer(await token(key, claims)));
    assertUnauthenticated(res, 'invalid_token');
    assert.match(res.body.errors![0]!.message, message, name);
  }
  assert.equal(upstream.stats.requests, 0);
  // Within the default 30 s skew: expired 5 s ago, valid from 5 s from now.
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key, { exp: now - 5 })))).status, 200);
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key, { nbf: now + 5 })))).status, 200);
});

test('key rotation: a token signed with a newly published key is accepted after one JWKS fetch', async (t) => {
  const oldKey = await signingKey('2025');
  const newKey = await signingKey('2026', 'ES256');
  const { gw, server } = await jwksGateway(t, [oldKey], { cooldown: 0 });
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(oldKey)))).status, 200);
  assertUnauthenticated(await gw.query('{ me }', undefined, bearer(await token(newKey))), 'invalid_token');
  const before = server.fetches;
  server.publish([oldKey, newKey]);
  const res = await gw.query('{ me }', undefined, bearer(await token(newKey, { sub: 'bob' })));
  assert.equal(res.status, 200, res.text);
  assert.equal(server.fetches, before + 1);
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(oldKey, { sub: 'carol' })))).status, 200, 'the old key still works while published');
});

test('a JWKS outage: keys fetched before stay in use; with none ever fetched the answer is 503, not 401', async (t) => {
  const key = await signingKey('k1');
  // cacheMaxAge 0: every verification tries to refresh, so the outage is met at once.
  const { gw, server } = await jwksGateway(t, [key], { cacheMaxAge: 0, cooldown: 0 });
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key, { sub: 'a' })))).status, 200);
  await server.close();
  // A token the gateway has not seen before (not in its token cache) still verifies with the kept keys.
  assert.equal((await gw.query('{ me }', undefined, bearer(await token(key, { sub: 'b' })))).status, 200);
  const { gw: orphan, upstream } = await setup(t, { auth: { jwt: [{ name: 'down', issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'http://127.0.0.1:1/jwks.json', timeout: '2s' } }] } });
  const res = await orphan.query('{ me }', undefined, bearer(await token(key)));
  assert.equal(res.status, 503, res.text);
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'AUTH_PROVIDER_UNAVAILABLE');
  assert.ok(res.headers.get('retry-after'));
  assert.equal(upstream.stats.requests, 0);
});

test('API keys: the header or (when enabled) the query parameter; stored hashed; unknown or doubled credentials get 401', async (t) => {
  const { gw, upstream } = await setup(t, {
    auth: {
      apiKeys: {
        query: 'api_key',
        keys: [
          { id: 'partner-a', sha256: sha256('sk_live_partner_a_0123456789'), scopes: ['orders:read'] },
          { id: 'partner-b', sha256: sha256('sk_live_partner_b_0123456789').toUpperCase(), subject: 'acme' },
        ],
      },
    },
  });
  const viaHeader = await gw.query('{ me }', undefined, { 'x-api-key': 'sk_live_partner_a_0123456789' });
  assert.equal(viaHeader.status, 200, viaHeader.text);
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), 'partner-a');
  assert.equal(upstream.headers.at(-1)!.get('x-user-scopes'), 'orders:read');
  assert.equal(upstream.headers.at(-1)!.get('x-auth-kind'), 'apiKey');
  const viaQuery = await fetch(`${gw.url}?query=${encodeURIComponent('{ hello }')}&api_key=sk_live_partner_b_0123456789`, { headers: { accept: 'application/json' } });
  assert.equal(viaQuery.status, 200);
  assert.deepEqual(await viaQuery.json(), { data: { hello: 'hello' } });
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), 'acme');
  const wrong = await gw.query('{ me }', undefined, { 'x-api-key': 'sk_live_guess' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /ApiKey realm="tessera", header="x-api-key"/);
  const calls = upstream.stats.requests;
  const both = await fetch(`${gw.url}?api_key=sk_live_partner_b_0123456789`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk_live_partner_a_0123456789' },
    body: JSON.stringify({ query: '{ me }' }),
  });
  assert.equal(both.status, 401);
  assert.equal(upstream.stats.requests, calls);
});

/** RFC 9110 11.6.1: one challenge, `auth-scheme SP auth-param *( ", " auth-param )`, each value a token or a quoted-string (5.6.4). */
const CHALLENGE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [!#$%&'*+.^_`|~0-9A-Za-z-]+=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*")(?:, [!#$%&'*+.^_`|~0-9A-Za-z-]+=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"))*$/;

test('WWW-Authenticate quotes its error_description as RFC 9110 says: quotes and backslashes escaped, line breaks and controls replaced', async (t) => {
  const key = await signingKey('k1');
  // A subject claim named with a quote, a backslash and a line break, quoted back in the description.
  const { gw, upstream } = await setup(t, { auth: { jwt: [{ name: 'static', issuer: ISSUER, audience: AUDIENCE, subjectClaim: 'uid"\\x\r\n', keys: [{ kid: 'k1', alg: 'RS256', jwk: key.publicJwk }] }] } });
  const basic = await gw.query('{ me }', undefined, { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' });
  assertUnauthenticated(basic);
  assert.equal(basic.headers.get('www-authenticate'), 'Bearer realm="tessera", error="invalid_request", error_description="Authorization must be \\"Bearer <token>\\"."');
  const badExp = await gw.query('{ me }', undefined, bearer(await token(key, { exp: 'soon' as never })));
  assertUnauthenticated(badExp, 'invalid_token');
  assert.equal(badExp.headers.get('www-authenticate'), 'Bearer realm="tessera", error="invalid_token", error_description="The token\'s \\"exp\\" claim is missing or invalid."');
  const noSubject = await gw.query('{ me }', undefined, bearer(await token(key)));
  assertUnauthenticated(noSubject, 'invalid_token');
  assert.equal(noSubject.headers.get('www-authenticate'), 'Bearer realm="tessera", error="invalid_token", error_description="The token has no \\"uid\\"\\\\x??\\" claim."');
  for (const res of [basic, badExp, noSubject]) assert.match(res.headers.get('www-authenticate')!, CHALLENGE);
  assert.equal(upstream.stats.requests, 0);
});

test('anonymous callers per channel: allowed on one, refused (401) on another', async (t) => {
  const key = await signingKey('k1');
  const server = await startJwks(t, [key]);
  const { gw, upstream } = await setup(
    t,
    { auth: { anonymous: true, jwt: [{ name: 'test', issuer: ISSUER, audience: AUDIENCE, jwks: { url: server.url } }] } },
    { channels: { partner: { anonymous: false } } },
  );
  const open = await gw.query('{ hello }');
  assert.equal(open.status, 200);
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), null, 'anonymous: no identity header');
  const partner = gw.url.replace(/\/graphql$/, '/partner/graphql');
  assertUnauthenticated(await gql(partner, '{ hello }'));
  const signedIn = await gql(partner, '{ hello }', undefined, bearer(await token(key)));
  assert.equal(signedIn.status, 200);
  // A bad token is refused even where anonymous callers are welcome: it is never treated as "no token".
  assertUnauthenticated(await gw.query('{ hello }', undefined, bearer('not.a.token')), 'invalid_token');
});

test('a client cannot pose as someone else through identity headers', async (t) => {
  const { gw, upstream } = await setup(t, { auth: { anonymous: true, apiKeys: { keys: [{ id: 'k', sha256: sha256('secret-key-value') }] } } });
  await gw.query('{ hello }', undefined, { 'x-user-id': 'admin', 'x-auth-kind': 'jwt' });
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), null);
  assert.equal(upstream.headers.at(-1)!.get('x-auth-kind'), null);
  await gw.query('{ hello }', undefined, { 'x-user-id': 'admin', 'x-api-key': 'secret-key-value' });
  assert.equal(upstream.headers.at(-1)!.get('x-user-id'), 'k');
});

test('configuration mistakes stop start-up: a private key, a key of the wrong type, anonymous refused with nothing to authenticate', async (t) => {
  const key = await signingKey('k1', 'ES256');
  const attempts: Array<[GatewayFileInput, RegExp]> = [
    [{ security: { auth: { jwt: [{ name: 'x', issuer: ISSUER, audience: AUDIENCE, keys: [{ alg: 'RS256', pem: key.publicPem }] }] } } }, /does not fit RS256/],
    [{ security: { auth: { jwt: [{ name: 'x', issuer: ISSUER, audience: AUDIENCE, keys: [{ alg: 'none' as never, pem: key.publicPem }] }] } } }, /"none" is never accepted/],
    [{ security: { auth: { jwt: [{ name: 'x', issuer: ISSUER, audience: AUDIENCE, keys: [{ alg: 'HS256', secret: 'short' }] }] } } }, /at least 32 bytes/],
    [{ security: { auth: { jwt: [{ name: 'x', issuer: ISSUER, audience: AUDIENCE, jwks: { url: 'http://127.0.0.1:1/' }, algorithms: ['HS256'] }] } } }, /shared secret/],
    [{ channels: { partner: { anonymous: false } } }, /channels\.partner: anonymous callers are refused/],
  ];
  const upstream = await recordingUpstream(t, SDL, resolvers);
  for (const [config, message] of attempts) {
    await assert.rejects(startGateway(undefined, [{ name: 'app', kind: 'graphql', url: upstream.url }], config), message);
  }
});
