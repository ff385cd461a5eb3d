/**
 * REST subgraphs through the whole gateway over HTTP: what a client of
 * Tessera sees (status, headers, body) and what the REST services receive
 * (number of calls). The demo (gateway.yaml, every service in subgraphs/)
 * for the catalog joined with the GraphQL reviews service; small gateways
 * with their own REST servers on loopback for errors, files, headers and
 * int64.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import { start as startCatalog } from '../../subgraphs/catalog/server.js';
import { watchServer, type UpstreamWatch } from '../kit/openapi-declared.js';
import { json, startRest } from '../kit/openapi.js';
import { gql, startDemo, startGateway, type RunningDemo } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;

/** Writes an OpenAPI document to a fresh folder; returns the folder (a descriptor's `dir`). */
function documentDir(spec: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-openapi-gw-'));
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(spec));
  return dir;
}

describe('the demo gateway: catalog (REST) with reviews and accounts (GraphQL)', () => {
  let demo: RunningDemo;
  let declared: UpstreamWatch;
  before(async () => {
    demo = await startDemo(undefined);
    declared = await watchServer(demo.demo.services.get('catalog')!, demo.gateway.descriptors.find((d) => d.name === 'catalog')!);
  });
  afterEach(() => declared.assertDeclared());
  after(async () => {
    await demo.gateway.close();
    await demo.demo.close();
  });

  test('one query spans REST and GraphQL: reviews picks the products, catalog fills them in, accounts the authors', async () => {
    demo.resetCalls();
    const res = await demo.query('{ topProducts(first: 3) { id averageRating name skuCode status category { name } reviews(first: 1) { rating author { name } } } }');
    assert.equal(res.status, 200);
    assert.equal(res.body.errors, undefined);
    const products = res.body.data.topProducts as Array<Record<string, any>>;
    assert.equal(products.length, 3);
    for (const p of products) {
      const n = Number(String(p.id).slice(1));
      assert.equal(p.skuCode, `SKU-${String(n).padStart(4, '0')}`, 'REST fields of the product reviews chose');
      assert.equal(typeof p.averageRating, 'number', 'GraphQL field of the same product');
      assert.match(p.status, /^(in_stock|sold_out|pre_order)$/, 'enum values sanitised from in-stock etc.');
      assert.equal(typeof p.category.name, 'string', 'descriptor join to /categories');
      assert.equal(typeof p.reviews[0].author.name, 'string');
    }
    // One bulk GET /products?ids=…, one bulk GET /categories?ids=…: no call per product.
    assert.equal(demo.calls().catalog, 2);
  });

  test('50 products joined from reviews cost the catalog one bulk call', async () => {
    demo.resetCalls();
    const res = await demo.query('{ topProducts(first: 50) { id name skuCode } }');
    assert.equal(res.status, 200);
    assert.equal(res.body.errors, undefined);
    const products = res.body.data.topProducts as Array<{ id: string; skuCode: string }>;
    assert.equal(products.length, 50);
    for (const p of products) assert.equal(p.skuCode, `SKU-${p.id.slice(1).padStart(4, '0')}`);
    assert.equal(demo.calls().catalog, 1);
  });

  test('a paginated list as a Relay connection: three answers walk all 60 products, one REST call each', async () => {
    const query = 'query($after: String) { listProductsConnection(first: 25, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }';
    const ids: string[] = [];
    let after: string | null = null;
    const callsPerAnswer: number[] = [];
    for (let i = 0; i < 5; i++) {
      demo.resetCalls();
      const res = await demo.query(query, { after });
      assert.equal(res.status, 200);
      const conn = res.body.data.listProductsConnection;
      ids.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
      callsPerAnswer.push(demo.calls().catalog!);
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    assert.deepEqual(ids, Array.from({ length: 60 }, (_, i) => `p${i + 1}`));
    assert.deepEqual(callsPerAnswer, [1, 1, 1]);
  });
});

describe('files: a multipart upload, and a binary response as Base64 and as a signed link', () => {
  const secret = 'test-secret-that-is-at-least-32-characters';
  let catalog: Awaited<ReturnType<typeof startCatalog>>;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  let url: string;
  let origin: string;
  let declared: UpstreamWatch;
  before(async () => {
    catalog = await startCatalog(0);
    gw = await startGateway(undefined, [
      { name: 'catalog', kind: 'openapi', source: './openapi.yaml', dir: join(root, 'subgraphs/catalog'), url: catalog.url, binary: { url: true, secret } },
    ]);
    declared = await watchServer(catalog, gw.gateway.descriptors[0]!);
    url = gw.url;
    origin = new URL(gw.url).origin;
  });
  afterEach(() => declared.assertDeclared());
  after(async () => {
    await gw.gateway.close();
    await catalog.close();
  });

  const upload = async (bytes: Buffer, name: string, type: string, headers: Record<string, string> = { 'x-tessera-csrf': '1' }) => {
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: 'mutation($f: Upload!) { uploadProductImage(id: "p7", input: { file: $f, caption: "front" }) { productId filename size caption contentType } }',
        variables: { f: null },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.f'] }));
    form.set('0', new File([new Uint8Array(bytes)], name, { type }));
    const res = await fetch(url, { method: 'POST', body: form, headers });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
  };

  test('a GraphQL multipart request uploads a file to a `format: binary` body; the image reads back as Base64', async () => {
    const bytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png \u00e9\u0000\u00ff')]);
    const res = await upload(bytes, 'front.png', 'image/png');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { data: { uploadProductImage: { productId: 'p7', filename: 'front.png', size: bytes.length, caption: 'front', contentType: 'image/png' } } });
    const read = await gql(url, '{ getProductImage(id: "p7") }');
    assert.deepEqual(Buffer.from(read.body.data.getProductImage as string, 'base64'), bytes);
  });

  test('a multipart POST without a CSRF header is refused before the catalog is called (a cross-site form could send one)', async () => {
    const before = catalog.stats.requests;
    const res = await upload(Buffer.from('x'), 'x.png', 'image/png', {});
    assert.equal(res.status, 403);
    assert.equal(res.body.errors![0].extensions.code, 'CSRF_HEADER_MISSING');
    assert.equal(catalog.stats.requests, before);
  });

  test('the link field returns a gateway URL that serves the bytes with their content type, without a GraphQL request', async () => {
    const bytes = Buffer.from('GIF89a tiny picture');
    assert.equal((await upload(bytes, 'pic.gif', 'image/gif')).status, 200);
    const res = await gql(url, '{ getProductImageUrl(id: "p7") }');
    const link = res.body.data.getProductImageUrl as string;
    assert.match(link, /^\/graphql\?download=catalog\.[\w-]+\.[\w-]+$/, 'a path-absolute link on the endpoint that was called');
    const before = catalog.stats.requests;
    const file = await fetch(origin + link);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'image/gif');
    assert.equal(file.headers.get('x-content-type-options'), 'nosniff');
    assert.match(file.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.match(file.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), bytes);
    assert.equal(catalog.stats.requests - before, 1, 'one upstream GET per download');
  });

  test('a link whose payload or signature was changed, that has expired, or that names another subgraph is 404', async () => {
    const res = await gql(url, '{ getProductImageUrl(id: "p7") }');
    const link = res.body.data.getProductImageUrl as string;
    const [payload, signature] = link.split('download=catalog.')[1]!.split('.') as [string, string];
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { o: string; a: Record<string, unknown>; e: number };
    assert.deepEqual(body.a, { id: 'p7' });
    const sign = (p: string): string => createHmac('sha256', secret).update(`catalog.${p}`).digest('base64url');
    const encode = (b: object): string => Buffer.from(JSON.stringify(b)).toString('base64url');
    const otherProduct = encode({ ...body, a: { id: 'p8' } });
    const expired = encode({ ...body, e: 1_000_000_000 });
    const before = catalog.stats.requests;
    for (const bad of [
      `catalog.${otherProduct}.${signature}`, // arguments changed, signature kept
      // Signature changed: its first character, which always changes the decoded bytes (replacing the last two with
      // `AA` left it as it was whenever it already ended so, about once in a thousand runs).
      `catalog.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`,
      `catalog.${expired}.${sign(expired)}`, // correctly signed, but expired
      `reviews.${payload}.${signature}`, // a subgraph that hands out no links
    ]) {
      const answer = await fetch(`${url}?download=${bad}`);
      assert.equal(answer.status, 404, bad);
      assert.equal(((await answer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'NOT_FOUND');
    }
    assert.equal(catalog.stats.requests, before, 'no upstream call for a bad link');
    // The same payload, correctly signed with the key, works: the 404s came from the checks above.
    assert.equal((await fetch(`${url}?download=catalog.${otherProduct}.${sign(otherProduct)}`)).status, 200);
  });
});

describe('REST errors, response headers and int64 through the gateway', () => {
  const spec = {
    openapi: '3.1.0',
    info: { title: 'shop', version: '1' },
    paths: {
      '/proxy-error': { get: { operationId: 'proxyError', responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } } } } } },
      '/html-ok': { get: { operationId: 'htmlOk', responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } } } } } },
      '/item': {
        get: {
          operationId: 'getItem',
          responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer', format: 'int64' }, name: { type: 'string' } } } } } } },
        },
      },
    },
  };
  let rest: Awaited<ReturnType<typeof startRest>>;
  let dir: string;
  before(async () => {
    dir = documentDir(spec);
    rest = await startRest((req, res) => {
      if (req.url === '/proxy-error') {
        res.writeHead(503, { 'content-type': 'text/html' });
        return res.end('<html><body><h1>503 Service Unavailable</h1>upstream host db-7.internal</body></html>');
      }
      if (req.url === '/html-ok') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>login page</html>');
      }
      if (req.url === '/item') {
        res.writeHead(200, [
          ['content-type', 'application/json'],
          ['x-ratelimit-remaining', '42'],
          ['x-internal-trace', 'secret'],
          ['set-cookie', 'session=abc; HttpOnly'],
          ['set-cookie', 'theme=dark'],
        ]);
        return res.end('{"id": 9007199254740993, "name": "big"}');
      }
      json(res, 404, {});
    });
  });
  afterEach(() => rest.watch.assertDeclared());
  after(() => rest.close());

  const gateway = async (t: TestContext, keys: Record<string, unknown> = {}, mode: 'production' | 'development' = 'production') => {
    const gw = await startGateway(t, [{ name: 'shop', kind: 'openapi', source: './openapi.json', dir, url: rest.url, retry: { attempts: 1 }, ...keys }], { mode });
    await rest.watch.declare(gw.gateway.descriptors[0]!);
    return gw;
  };

  test('a non-JSON error response (HTML 503 from a proxy) is a located field error; HTTP 200, the HTML is never echoed in production', async (t) => {
    const gw = await gateway(t);
    const res = await gw.query('{ proxyError { id } item: getItem { name } }');
    assert.equal(res.status, 200, 'an upstream status never becomes the gateway status');
    assert.match(res.headers.get('content-type') ?? '', /json/);
    assert.deepEqual(res.body.data, { proxyError: null, item: { name: 'big' } });
    assert.equal(res.body.errors!.length, 1);
    const [error] = res.body.errors!;
    assert.deepEqual(error!.path, ['proxyError']);
    assert.equal(error!.extensions!.code, 'SOURCE_HTTP_ERROR');
    assert.deepEqual(error!.extensions!.upstream, { status: 503 });
    assert.match(error!.message, /HTTP 503 from subgraph "shop" \(proxyError\)/);
    assert.doesNotMatch(res.text, /db-7|<html/);
  });

  test('in development mode the error body is shown as text; HTML with a 200 is SOURCE_RESPONSE_INVALID', async (t) => {
    const gw = await gateway(t, { errorBodyLimit: '40b' }, 'development');
    const res = await gw.query('{ proxyError { id } htmlOk { id } }');
    assert.equal(res.status, 200);
    const [proxy, html] = res.body.errors!;
    assert.deepEqual(proxy!.extensions!.upstream, { status: 503, body: '<html><body><h1>503 Service Unavailable<', truncated: true });
    assert.equal(html!.extensions!.code, 'SOURCE_RESPONSE_INVALID');
    assert.match(html!.message, /content type "text\/html" \(expected JSON\)/);
  });

  test('selected upstream response headers and Set-Cookie reach the client; others do not', async (t) => {
    const gw = await gateway(t, { responseHeaders: { forward: ['x-ratelimit-remaining'], setCookie: true } });
    const res = await gw.query('{ getItem { id } }');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-remaining'), '42');
    assert.deepEqual(res.headers.getSetCookie(), ['session=abc; HttpOnly', 'theme=dark'], 'each cookie on its own line');
    assert.equal(res.headers.get('x-internal-trace'), null);
    assert.match(res.headers.get('content-type') ?? '', /json/);
  });

  test('Set-Cookie stays behind unless the descriptor allows it; a request that calls no upstream gets no upstream headers', async (t) => {
    const gw = await gateway(t, { responseHeaders: { forward: ['x-ratelimit-remaining'] } });
    const res = await gw.query('{ getItem { id } }');
    assert.equal(res.headers.get('x-ratelimit-remaining'), '42');
    assert.deepEqual(res.headers.getSetCookie(), []);
    const none = await gw.query('{ __typename }');
    assert.equal(none.headers.get('x-ratelimit-remaining'), null);
  });

  test('a descriptor cannot forward a header that frames the gateway\'s own response or sets its CORS policy', async () => {
    await assert.rejects(gateway(undefined as never, { responseHeaders: { forward: ['content-length'] } }), /responseHeaders\.forward\[0\]: this header describes the gateway's own response/);
    await assert.rejects(gateway(undefined as never, { responseHeaders: { forward: ['access-control-allow-origin'] } }), /responseHeaders\.forward\[0\]: this header describes the gateway's own response \(or its CORS policy\)/);
  });

  test('an int64 of 9007199254740993 reaches the client digit for digit', async (t) => {
    const gw = await gateway(t);
    const res = await gw.query('{ getItem { id name } }');
    assert.deepEqual(res.body.data, { getItem: { id: '9007199254740993', name: 'big' } });
    assert.match(res.text, /"id":"9007199254740993"/);
  });
});
