/**
 * The security keys of gateway.yaml, channels and descriptors: safe defaults
 * (docs/reliability.md section 1), unknown keys refused, and every value a user can
 * get wrong reported with its path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDescriptor, parseGatewayConfig } from '../../src/config/load.js';

const gateway = (data: unknown) => parseGatewayConfig(data, 'gateway.yaml', {});
const descriptor = (data: Record<string, unknown>) => parseDescriptor({ name: 'a', kind: 'graphql', url: 'http://127.0.0.1:1', ...data }, 'a.subgraph.yaml', '/tmp', {});

test('defaults: limits, auth and request hygiene are on with the documented values', () => {
  const { security, server } = gateway({});
  assert.deepEqual(
    { ...security.limits, cost: undefined },
    { maxTokens: 5000, maxNesting: 200, maxDepth: 12, maxIntrospectionDepth: 20, maxAliases: 30, maxDirectives: 50, maxRootFields: 20, cost: undefined },
  );
  assert.deepEqual(security.limits.cost, { max: 5000, mode: 'enforce', listSize: 10, listArguments: ['first', 'last', 'limit', 'pageSize', 'perPage', 'take', 'size', 'count', 'top', 'maxResults'], objectCost: 1, scalarCost: 1 });
  assert.equal(security.requests.batching, 0);
  assert.equal(security.requests.csrf.requireHeader, false);
  assert.deepEqual(security.auth.jwt, []);
  assert.equal(security.auth.onForbidden, 'partial');
  assert.deepEqual(security.auth.tokenCache, { maxEntries: 10_000, ttl: 60_000 });
  assert.equal(security.upstreams.allow, undefined);
  assert.equal(server.bodyLimit, 1024 * 1024);
  assert.equal(server.tls, undefined);
});

test('unknown keys and wrong values are refused with their path', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ security: { limts: {} } }, /security\.limts: unknown key/],
    [{ security: { limits: { maxDepht: 3 } } }, /security\.limits\.maxDepht: unknown key/],
    [{ security: { limits: { maxDepth: 0 } } }, /security\.limits\.maxDepth/],
    [{ security: { limits: { cost: { mode: 'log' } } } }, /security\.limits\.cost\.mode/],
    [{ security: { auth: { jwt: [{ name: 'a', issuer: 'i', audience: 'x', jwks: { url: 'http://h/' }, clockSkew: '5m' }] } } }, /clockSkew: at most 60s/],
    [{ security: { auth: { jwt: [{ name: 'a', issuer: 'i', audience: 'x' }] } } }, /give either `jwks` or `keys`/],
    [{ security: { auth: { jwt: [{ name: 'a', issuer: 'i', audience: 'x', jwks: { url: 'file:///k' } }] } } }, /jwks\.url: expected an http\(s\) URL/],
    [{ security: { auth: { jwt: [{ name: 'a', issuer: 'i', audience: 'x', keys: [{ alg: 'RS256', pem: 'p', secret: 's'.repeat(40) }] }] } } }, /exactly one of file, pem, jwk or secret/],
    [{ security: { auth: { jwt: [{ name: 'a', issuer: 'i', audience: 'x', keys: [{ alg: 'RS256', jwk: { kty: 'RSA', n: 'x', e: 'AQAB', d: 'secret' } }] }] } } }, /private material/],
    [{ security: { auth: { apiKeys: { keys: [{ id: 'k', sha256: 'plaintext-key' }] } } } }, /hex SHA-256/],
    [{ security: { auth: { apiKeys: { header: 'authorization', keys: [{ id: 'k', sha256: 'a'.repeat(64) }] } } } }, /cannot carry an API key/],
    [{ security: { upstreams: { allow: ['http://host/'] } } }, /security\.upstreams\.allow\[0\]/],
    [{ security: { requests: { batching: 1000 } } }, /security\.requests\.batching/],
    [{ server: { tls: { cert: 'c.pem' } } }, /server\.tls\.key/],
    [{ channels: { web: { limits: { maxAliasez: 1 } } } }, /channels\.web\.limits\.maxAliasez: unknown key/],
    [{ channels: { web: { persistedOperations: { manifest: 'm.json', only: true, apq: true } } } }, /APQ lets clients register any document/],
    [{ channels: { web: { onForbidden: 'hide' } } }, /channels\.web\.onForbidden/],
  ];
  for (const [data, message] of cases) assert.throws(() => gateway(data), message, JSON.stringify(data));
});

test('descriptor keys: auth rules, upstream TLS and credentials', () => {
  const d = descriptor({ auth: { 'Query.orders': ['orders:read'], Customer: [], 'Order.total': [['finance'], ['admin', 'audit']] } });
  assert.deepEqual(d.auth, { 'Query.orders': [['orders:read']], Customer: [[]], 'Order.total': [['finance'], ['admin', 'audit']] });
  assert.deepEqual(d.headers, { forward: [], set: {}, identity: {} });
  assert.throws(() => descriptor({ auth: { 'Query.': ['x'] } }), /auth\.Query\.: expected "Type" or "Type\.field"/);
  assert.throws(() => descriptor({ auth: { Query: ['has space'] } }), /no spaces/);
  assert.throws(() => descriptor({ tls: { cert: 'c.pem' } }), /both `cert` and `key`/);
  assert.throws(() => descriptor({ tls: { ca: 'ca.pem', verify: false } }), /tls\.verify: unknown key/);
  assert.deepEqual(descriptor({ headers: { authorization: 'service', set: { Authorization: 'Bearer x' }, identity: { 'X-User-Id': 'subject', 'x-tenant': 'claim:tenant' } } }).headers, {
    forward: [],
    set: { authorization: 'Bearer x' },
    authorization: 'service',
    identity: { 'x-user-id': 'subject', 'x-tenant': 'claim:tenant' },
  });
});
