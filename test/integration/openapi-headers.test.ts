/**
 * OpenAPI header parameters through a real gateway over a real REST server on
 * loopback that records what it receives: the one header rule
 * (transport/headers.ts) decides them like every other upstream header. An
 * argument never sets an identity header, a credential or a header the
 * gateway owns (the schema does not even offer one), an identity header
 * carries only the verified caller, and a value with CR or LF never travels.
 * Ordinary header parameters still arrive.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import { json, ok, startRest, type RestServer } from '../kit/openapi.js';
import { sha256 } from '../kit/security.js';
import { startGateway } from '../kit/index.js';

const API_KEY = 'key-0123456789abcdef';

const header = (name: string) => ({ name, in: 'header', schema: { type: 'string' } });
const spec = {
  openapi: '3.1.0',
  info: { title: 'profiles', version: '1' },
  paths: {
    '/profile': {
      get: {
        operationId: 'getProfile',
        parameters: [
          header('X-User-Id'),
          header('Host'),
          header('Cookie'),
          header('Connection'),
          header('Content-Length'),
          header('Transfer-Encoding'),
          header('Authorization'),
          header('X-Request-Tag'),
          header('Accept-Language'),
          { name: 'theme', in: 'cookie', schema: { type: 'string' } },
        ],
        responses: ok({ type: 'object', properties: { ok: { type: 'boolean' } } }),
      },
    },
  },
};

describe('OpenAPI header parameters and the one header rule', () => {
  let rest: RestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-openapi-headers-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(spec));
    rest = await startRest((_req, res) => json(res, 200, { ok: true }));
  });
  afterEach(() => rest.watch.assertDeclared());
  after(() => rest.close());

  /** A gateway where anonymous callers are allowed and an API key identifies `alice`. */
  const gateway = async (t: TestContext) => {
    const gw = await startGateway(t, [{ name: 'profiles', kind: 'openapi', source: './openapi.json', dir, url: rest.url, retry: { attempts: 1 }, headers: { identity: { 'x-user-id': 'subject' } } }], {
      security: { auth: { apiKeys: { keys: [{ id: 'k1', subject: 'alice', sha256: sha256(API_KEY) }] }, anonymous: true } },
    });
    // Every request the upstream receives is also checked against the document and these header rules.
    await rest.watch.declare(gw.gateway.descriptors[0]!);
    return gw;
  };

  const received = () => rest.calls.at(-1)!.headers;

  test('no caller can send identity, Host, Cookie, Connection, Content-Length or Authorization as arguments; ordinary header parameters arrive, and the identity header carries only the verified caller', async (t) => {
    const gw = await gateway(t);
    for (const [caller, credentials, identity] of [
      ['anonymous', {}, undefined],
      ['authenticated', { 'x-api-key': API_KEY }, 'alice'],
    ] as const) {
      const before = rest.calls.length;
      const refused = await gw.query(
        '{ getProfile(xUserId: "admin", Host: "internal-admin.svc", Cookie: "session=stolen", Connection: "close", contentLength: "0", transferEncoding: "chunked", Authorization: "Bearer forged") { ok } }',
        undefined,
        credentials,
      );
      assert.equal(refused.status, 400, `${caller}: ${refused.text}`);
      const unknown = refused.body.errors!.map((e) => /^Unknown argument "(\w+)" on field "Query.getProfile"/.exec(e.message)?.[1]).sort();
      assert.deepEqual(unknown, ['Authorization', 'Connection', 'Cookie', 'Host', 'contentLength', 'transferEncoding', 'xUserId'], caller);
      assert.equal(rest.calls.length, before, `${caller}: the upstream was not called`);

      // The client's own header of the identity header's name is dropped too.
      rest.watch.identity = identity ? { 'x-user-id': identity } : undefined;
      const res = await gw.query('{ getProfile(xRequestTag: "tag-1", acceptLanguage: "fr-CH", theme: "dark; session=stolen") { ok } }', undefined, {
        ...credentials,
        'x-user-id': 'admin',
        cookie: 'session=client',
      });
      assert.deepEqual(res.body, { data: { getProfile: { ok: true } } }, caller);
      const seen = received();
      assert.equal(seen['x-request-tag'], 'tag-1', caller);
      assert.equal(seen['accept-language'], 'fr-CH', caller);
      assert.equal(seen['x-user-id'], identity, caller);
      assert.equal(seen.host, `127.0.0.1:${rest.port}`, caller);
      assert.equal(seen.authorization, undefined, caller);
      assert.equal(seen.cookie, 'theme=dark%3B%20session%3Dstolen', `${caller}: a cookie parameter is one cookie of the declared name`);
    }
  });

  test('a header argument with CR or LF never travels: no injected header, and the value is left out', async (t) => {
    const gw = await gateway(t);
    const res = await gw.query('query($tag: String) { getProfile(xRequestTag: $tag, acceptLanguage: "de") { ok } }', { tag: 'a\r\nx-injected: 1' });
    assert.deepEqual(res.body, { data: { getProfile: { ok: true } } });
    const seen = received();
    assert.equal(seen['x-injected'], undefined);
    assert.equal(seen['x-request-tag'], undefined);
    assert.equal(seen['accept-language'], 'de');
  });
});
