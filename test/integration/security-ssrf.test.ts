/**
 * Where the gateway may be sent: docs/reliability.md row 37 (a descriptor or a
 * spec URL pointing at the metadata service, localhost or file: is refused at
 * start-up unless allowlisted) and row 38 (arguments cannot move a REST call
 * to another path or host, and redirects are not followed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import { isConfigError } from '../../src/errors.js';
import { checkUpstreamUrl, compilePolicy } from '../../src/transport/upstream-guard.js';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';
import { startRest, json } from '../kit/openapi.js';

async function refused(descriptors: Array<DescriptorInput & { dir?: string }>, gateway: Record<string, unknown> = {}): Promise<string[]> {
  try {
    const gw = await startGateway(undefined, descriptors, gateway);
    await gw.gateway.close();
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    assert.equal(error.code, 'UPSTREAM_NOT_ALLOWED', error.message);
    return error.problems;
  }
  assert.fail('the gateway started');
}

test('row 37: upstreams at the metadata service, link-local, unspecified addresses or file: are refused at start-up, naming the descriptor', async () => {
  const problems = await refused([
    { name: 'meta', kind: 'graphql', url: 'http://169.254.169.254/latest/meta-data' },
    { name: 'decimal', kind: 'grpc', source: './svc.proto', url: 'grpc://2852039166:50051' },
    { name: 'mapped', kind: 'graphql', upstreams: [{ url: 'http://127.0.0.1:1/ok' }, { url: 'http://[::ffff:169.254.169.254]/' }] },
    { name: 'google', kind: 'graphql', url: 'http://metadata.google.internal/computeMetadata/v1/' },
    { name: 'zero', kind: 'graphql', url: 'http://0.0.0.0:8080/graphql' },
    { name: 'spec', kind: 'openapi', source: 'file:///etc/passwd', url: 'http://127.0.0.1:1' },
  ]);
  const text = problems.join('\n');
  for (const expected of [
    /url: 169\.254\.169\.254 is a link-local.*\(subgraph "meta"\)/,
    /url: 169\.254\.169\.254 is a link-local.*\(subgraph "decimal"\)/,
    /upstreams\[1\]\.url: .*link-local.*\(subgraph "mapped"\)/,
    /metadata\.google\.internal is a cloud metadata service/,
    /0\.0\.0\.0 is a link-local, metadata, unspecified/,
    /source: the scheme file: is not an upstream protocol \(subgraph "spec"\)/,
  ]) {
    assert.match(text, expected);
  }
  assert.equal(problems.length, 6, text);
  assert.ok(problems.every((p) => p.startsWith('<inline descriptor')), 'each problem names the descriptor');
});

test('row 37: with an allowlist only listed hosts and networks are reached, localhost included', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hello' } });
  const local = upstream.url.replace('127.0.0.1', 'localhost');
  const problems = await refused([{ name: 'local', kind: 'graphql', url: local }], { security: { upstreams: { allow: ['10.0.0.0/8', '*.svc.cluster.local'] } } });
  assert.match(problems.join('\n'), /localhost is not in security\.upstreams\.allow/);
  assert.match((await refused([{ name: 'loop', kind: 'graphql', url: upstream.url }], { security: { upstreams: { allow: ['10.0.0.0/8'] } } })).join(), /127\.0\.0\.1 is not in/);
  const listed = await startGateway(t, [{ name: 'loop', kind: 'graphql', url: upstream.url }], { security: { upstreams: { allow: ['127.0.0.0/8'] } } });
  assert.deepEqual((await listed.query('{ hello }')).body, { data: { hello: 'hello' } });
  const byName = await startGateway(t, [{ name: 'named', kind: 'graphql', url: local }], { security: { upstreams: { allow: ['localhost'] } } });
  assert.deepEqual((await byName.query('{ hello }')).body, { data: { hello: 'hello' } });
});

test('row 37: the check sources call for URLs found in documents (OpenAPI servers) follows the same rules', async () => {
  const open = compilePolicy({ resolve: true });
  const strict = compilePolicy({ allow: ['api.internal.example', '169.254.170.2'], resolve: false });
  assert.match((await checkUpstreamUrl('http://169.254.169.254/', open))!, /link-local/);
  assert.match((await checkUpstreamUrl('http://[fe80::1]/', open))!, /link-local/);
  assert.match((await checkUpstreamUrl('http://0xa9fea9fe/', open))!, /169\.254\.169\.254/);
  assert.match((await checkUpstreamUrl('file:///etc/passwd', open))!, /scheme file:/);
  assert.equal(await checkUpstreamUrl('http://127.0.0.1:4000/', open), undefined, 'loopback is allowed without an allowlist');
  assert.equal(await checkUpstreamUrl('https://api.internal.example/v1', strict), undefined);
  assert.equal(await checkUpstreamUrl('http://169.254.170.2/creds', strict), undefined, 'a link-local address listed explicitly');
  assert.match((await checkUpstreamUrl('http://169.254.169.254/', strict))!, /link-local/);
  assert.match((await checkUpstreamUrl('https://other.example/', strict))!, /not in security\.upstreams\.allow/);
});

test('row 38: path and query arguments cannot change the path or host of a REST call; redirects are not followed', async (t) => {
  const elsewhere = { hits: 0 };
  const other = createServer((_req, res) => {
    elsewhere.hits++;
    res.end('{}');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  t.after(() => other.close());
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  const rest = await startRest((req, res) => {
    if (req.url.startsWith('/go')) return json(res, 302, {}, { location: `${otherUrl}/stolen` });
    const id = decodeURIComponent(req.url.split('?')[0]!.slice('/users/'.length));
    return json(res, 200, { id });
  });
  t.after(() => rest.close());
  const dir = mkdtempSync(join(tmpdir(), 'tessera-row38-'));
  const object = { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } } } };
  writeFileSync(
    join(dir, 'openapi.json'),
    JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'users', version: '1' },
      paths: {
        '/users/{id}': {
          get: {
            operationId: 'getUser',
            parameters: [
              { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
              { name: 'q', in: 'query', schema: { type: 'string' } },
            ],
            responses: object,
          },
        },
        '/go': { get: { operationId: 'go', responses: object } },
      },
    }),
  );
  const gw = await startGateway(t, [{ name: 'users', kind: 'openapi', source: './openapi.json', dir, url: rest.url, retry: { attempts: 1 } }]);
  await rest.watch.declare(gw.gateway.descriptors[0]!);
  for (const [id, path] of [
    ['../admin', '/users/..%2Fadmin'],
    ['@evil.com', '/users/%40evil.com'],
    ['a%2Fb', '/users/a%252Fb'],
    ['x?admin=1#frag', '/users/x%3Fadmin%3D1%23frag'],
  ] as const) {
    const res = await gw.query('query ($id: String!, $q: String) { getUser(id: $id, q: $q) { id } }', { id, q: '&role=admin' });
    assert.deepEqual(res.body.data, { getUser: { id } }, res.text);
    const call = rest.calls.at(-1)!;
    assert.equal(call.url, `${path}?q=%26role%3Dadmin`);
    assert.equal(call.headers.host, new URL(rest.url).host, 'the call went to the configured host');
  }
  const redirected = await gw.query('{ go { id } }');
  assert.equal(redirected.body.data?.go ?? null, null);
  assert.ok(redirected.body.errors?.length, 'a redirect is an error, not followed');
  assert.equal(elsewhere.hits, 0, 'the redirect target was never called');
});
