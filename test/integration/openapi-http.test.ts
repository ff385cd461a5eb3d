/**
 * How the OpenAPI source talks HTTP: parameter serialisation by style and
 * explode, request bodies (JSON, multipart with a file), responses that are
 * errors, HTML or broken JSON, binary responses, header forwarding both
 * ways, and identical GETs shared within one request. A real REST server on
 * loopback records what arrived.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createScope, RESPONSE_HEADERS_KEY } from '../../src/request-scope.js';
import { ok, json, loadOpenapi, plain, run, startRest, type RestServer } from '../kit/openapi.js';
import type { LoadedSource } from '../../src/sources/index.js';

const item = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } };

const spec = {
  openapi: '3.1.0',
  info: { title: 'http', version: '1' },
  paths: {
    '/items/{id}': {
      get: {
        operationId: 'getItem',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
          { name: 'ids', in: 'query', explode: false, schema: { type: 'array', items: { type: 'integer', format: 'int32' } } },
          { name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object', properties: { color: { type: 'string' }, size: { type: 'string' } } } },
          { name: 'fields', in: 'query', style: 'spaceDelimited', explode: false, schema: { type: 'array', items: { type: 'string' } } },
          { name: 'X-Tenant', in: 'header', schema: { type: 'string' } },
          { name: 'session', in: 'cookie', schema: { type: 'string' } },
        ],
        responses: ok(item),
      },
    },
    '/matrix/{coords}': {
      get: {
        operationId: 'matrix',
        parameters: [{ name: 'coords', in: 'path', required: true, style: 'matrix', explode: true, schema: { type: 'array', items: { type: 'string' } } }],
        responses: ok({ type: 'string' }, { media: 'text/plain' }),
      },
    },
    '/files/{id}': { get: { operationId: 'getFile', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ type: 'string', format: 'binary' }, { media: 'application/octet-stream' }) } },
    '/html': { get: { operationId: 'html', responses: ok(item) } },
    '/broken': { get: { operationId: 'broken', responses: ok(item) } },
    '/missing/{id}': { get: { operationId: 'missing', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok(item) } },
    '/upload': {
      post: {
        operationId: 'upload',
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: { file: { type: 'string', format: 'binary' }, meta: { type: 'object', properties: { label: { type: 'string' } } } },
              },
            },
          },
        },
        responses: ok({ type: 'object', properties: { size: { type: 'integer', format: 'int32' }, name: { type: 'string' } } }),
      },
    },
    '/items': {
      post: {
        operationId: 'createItem',
        requestBody: { required: true, content: { 'application/json': { schema: item } } },
        responses: { 201: { description: 'created', content: { 'application/json': { schema: item } } } },
      },
    },
  },
};

describe('OpenAPI source over HTTP', () => {
  let server: RestServer;
  let source: LoadedSource;
  let prodSource: LoadedSource;
  before(async () => {
    server = await startRest((req, res) => {
      // The raw path: WHATWG URL parsing would resolve a %2E%2E segment itself.
      const rawPath = req.url.split('?')[0]!;
      const url = new URL(req.url, 'http://x');
      if (rawPath.startsWith('/items/')) {
        return json(res, 200, { id: decodeURIComponent(rawPath.slice(7)), name: 'Item' }, { 'x-rate-limit': '99', 'set-cookie': 'upstream=1', 'x-internal': 'secret' });
      }
      if (url.pathname.startsWith('/matrix/')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(url.pathname);
      }
      if (url.pathname.startsWith('/files/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(Buffer.from([0, 1, 2, 250, 255]));
      }
      if (url.pathname === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html><body>Proxy error at 10.0.0.7</body></html>');
      }
      if (url.pathname === '/broken') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"id": "x", "name": ');
      }
      if (url.pathname.startsWith('/missing/')) return json(res, 404, { code: 'NOT_FOUND', message: 'no such item', internal: 'db-7.internal' });
      if (url.pathname === '/upload') {
        const text = req.body.toString('latin1');
        const name = /filename="([^"]+)"/.exec(text)?.[1];
        const file = /filename="[^"]+"\r\nContent-Type: [^\r]+\r\n\r\n([\s\S]*?)\r\n--/.exec(text)?.[1] ?? '';
        return json(res, 200, { size: file.length, name });
      }
      if (url.pathname === '/items' && req.method === 'POST') return json(res, 201, JSON.parse(req.body.toString('utf8')));
      json(res, 404, {});
    });
    const keys = { headers: { forward: ['authorization'] }, responseHeaders: { forward: ['x-rate-limit'], setCookie: true } };
    source = await loadOpenapi(spec, server.url, keys);
    prodSource = await loadOpenapi(spec, server.url, keys, 'production');
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await prodSource.close();
    await server.close();
  });

  test('query parameters are serialised per style and explode; header and cookie parameters are sent', async () => {
    const result = plain(
      await run(
        source,
        '{ getItem(id: "a b", tags: ["x", "y"], ids: [1, 2], filter: { color: "red", size: "L" }, fields: ["id", "name"], xTenant: "t1", session: "s=1") { id } }',
      ),
    );
    assert.deepEqual(result.data, { getItem: { id: 'a b' } });
    const call = server.calls.at(-1)!;
    assert.equal(call.url, '/items/a%20b?tags=x&tags=y&ids=1%2C2&filter%5Bcolor%5D=red&filter%5Bsize%5D=L&fields=id%20name');
    assert.equal(call.headers['x-tenant'], 't1');
    assert.equal(call.headers.cookie, 'session=s%3D1');
  });

  test('path arguments are percent-encoded per segment: no traversal, no other host', async () => {
    for (const [id, path] of <Array<[string, string]>>[
      ['../admin', '/items/..%2Fadmin'],
      ['..a', '/items/..a'],
      ['a/..', '/items/a%2F..'],
      ['@evil.com', '/items/%40evil.com'],
      ['a%2Fb', '/items/a%252Fb'],
    ]) {
      const result = plain(await run(source, 'query($id: String!) { getItem(id: $id) { id } }', { variables: { id } }));
      assert.deepEqual(result.data, { getItem: { id: decodeURIComponent(path.slice(7)) } });
      assert.equal(server.calls.at(-1)!.url, path);
      assert.equal(server.calls.at(-1)!.headers.host, `127.0.0.1:${server.port}`);
    }
    await run(source, '{ matrix(coords: ["1", "2"]) }');
    assert.equal(server.calls.at(-1)!.url, '/matrix/;coords=1;coords=2');
  });

  test('identical GETs in one request are sent once; different ones are not shared', async () => {
    const before = server.calls.length;
    const result = plain(await run(source, '{ a: getItem(id: "1") { id } b: getItem(id: "1") { name } c: getItem(id: "2") { id } }'));
    assert.deepEqual(result.data, { a: { id: '1' }, b: { name: 'Item' }, c: { id: '2' } });
    assert.equal(server.calls.length - before, 2);
    // A second request makes its own calls.
    await run(source, '{ a: getItem(id: "1") { id } }');
    assert.equal(server.calls.length - before, 3);
  });

  test('mutations are never shared, even when identical', async () => {
    const before = server.calls.length;
    const result = plain(await run(source, 'mutation { a: createItem(input: { id: "n", name: "N" }) { id } b: createItem(input: { id: "n", name: "N" }) { id } }'));
    assert.deepEqual(result.data, { a: { id: 'n' }, b: { id: 'n' } });
    assert.equal(server.calls.length - before, 2);
  });

  test('a write empties the memo: the same GET after it, in the same request, is sent again', async () => {
    // One scope is one client request; its operations share the memo.
    const scope = createScope({ deadlineMs: 5000 });
    const before = server.calls.length;
    await run(source, '{ getItem(id: "w") { id } }', { scope });
    await run(source, '{ getItem(id: "w") { name } }', { scope });
    assert.equal(server.calls.length - before, 1, 'the second read is shared');
    await run(source, 'mutation { createItem(input: { id: "w", name: "W" }) { id } }', { scope });
    const result = plain(await run(source, '{ getItem(id: "w") { id } }', { scope }));
    assert.deepEqual(result.data, { getItem: { id: 'w' } });
    assert.deepEqual(
      server.calls.slice(before).map((c) => `${c.method} ${c.url}`),
      ['GET /items/w', 'POST /items', 'GET /items/w'],
    );
  });

  test('allowlisted client headers are forwarded; selected response headers and Set-Cookie are collected for the client', async () => {
    const scope = createScope({ deadlineMs: 5000, headers: new Headers({ authorization: 'Bearer abc', cookie: 'client=1', 'x-other': 'no' }) });
    await run(source, '{ getItem(id: "h") { id } }', { scope });
    const call = server.calls.at(-1)!;
    assert.equal(call.headers.authorization, 'Bearer abc');
    assert.equal(call.headers['x-other'], undefined);
    assert.equal(call.headers.cookie, undefined);
    const collected = scope.memo.get(RESPONSE_HEADERS_KEY) as Headers;
    assert.equal(collected.get('x-rate-limit'), '99');
    assert.deepEqual(collected.getSetCookie(), ['upstream=1']);
    assert.equal(collected.get('x-internal'), null);
  });

  test('a non-2xx status is a field error with extensions.upstream.status; the body is shown in development only', async () => {
    const dev = plain(await run(source, '{ missing(id: "1") { id } ok: getItem(id: "1") { id } }'));
    assert.deepEqual(dev.data, { missing: null, ok: { id: '1' } });
    assert.equal(dev.errors!.length, 1);
    assert.deepEqual(dev.errors![0].path, ['missing']);
    assert.equal(dev.errors![0].extensions.code, 'SOURCE_HTTP_ERROR');
    assert.deepEqual(dev.errors![0].extensions.upstream, { status: 404, body: { code: 'NOT_FOUND', message: 'no such item', internal: 'db-7.internal' } });
    assert.equal(dev.errors![0].extensions.http, undefined, 'the upstream status must not become the gateway HTTP status');

    const prod = plain(await run(prodSource, '{ missing(id: "1") { id } }'));
    assert.deepEqual(prod.errors![0].extensions.upstream, { status: 404 });
    assert.doesNotMatch(JSON.stringify(prod), /db-7/);
  });

  test('HTML where JSON was promised, and broken JSON, are clear errors naming the subgraph; the body is not echoed', async () => {
    const result = plain(await run(source, '{ html { id } broken { id } ok: getItem(id: "1") { id } }'));
    assert.deepEqual(result.data, { html: null, broken: null, ok: { id: '1' } });
    const [html, broken] = result.errors!;
    assert.equal(html.extensions.code, 'SOURCE_RESPONSE_INVALID');
    assert.match(html.message, /subgraph "rest" \(html\): HTTP 200 with content type "text\/html" \(expected JSON\)/);
    assert.doesNotMatch(html.message, /10\.0\.0\.7/);
    assert.equal(broken.extensions.code, 'SOURCE_RESPONSE_INVALID');
    assert.match(broken.message, /body is not valid JSON/);
  });

  test('a binary response is returned base64-encoded', async () => {
    const result = plain(await run(source, '{ getFile(id: "f") }'));
    assert.deepEqual(result.data, { getFile: Buffer.from([0, 1, 2, 250, 255]).toString('base64') });
  });

  test('a file upload (GraphQL multipart request spec value) is sent as a multipart/form-data part', async () => {
    const file = new File([Buffer.from('hello upload')], 'hello.txt', { type: 'text/plain' });
    const result = plain(
      await run(source, 'mutation($file: Upload!) { upload(input: { file: $file, meta: { label: "L" } }) { size name } }', { variables: { file } }),
    );
    assert.deepEqual(result.data, { upload: { size: 12, name: 'hello.txt' } });
    const call = server.calls.at(-1)!;
    assert.match(String(call.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.match(call.body.toString('utf8'), /name="meta"\r\nContent-Type: application\/json\r\n\r\n\{"label":"L"\}/);
  });

  test('an unreachable upstream is SOURCE_UNAVAILABLE on the field, not a crash', async () => {
    const dead = await loadOpenapi(spec, 'http://127.0.0.1:9');
    try {
      const result = plain(await run(dead, '{ getItem(id: "1") { id } }'));
      assert.deepEqual(result.data, { getItem: null });
      assert.equal(result.errors![0].extensions.code, 'SOURCE_UNAVAILABLE');
    } finally {
      await dead.close();
    }
  });
});
