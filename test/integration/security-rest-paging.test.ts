/**
 * Issue 13, holes 1 and 2, as the outside attack sent them: pagination
 * cursors and next-page URLs that made the gateway fetch any path of a REST
 * upstream with its service credential, and path values that climb a
 * directory. A real gateway over a real REST upstream on loopback that
 * records every request it receives; what the client sees and what the
 * upstream received are asserted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, ok, startRest, type RestServer } from '../kit/openapi.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import { startDemo, startGateway, type RunningGateway } from '../kit/index.js';

const SERVICE_SECRET = 'Bearer svc-0123456789abcdef';
const CURSOR_SECRET = 'cursor-secret-shared-by-replicas-0123456789';

const PRODUCTS = Array.from({ length: 12 }, (_, i) => ({ id: `p${i + 1}`, name: i % 2 ? `Lamp ${i + 1}` : `Chair ${i + 1}` }));
const CATEGORIES = Array.from({ length: 7 }, (_, i) => ({ id: `c${i + 1}`, name: `Category ${i + 1}` }));

const int32 = { type: 'integer', format: 'int32' };
const q = (name: string, schema: object = { type: 'string' }, required = false) => ({ name, in: 'query', required, schema });
const named = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, name: { type: 'string' } } };

const spec = {
  openapi: '3.0.3',
  info: { title: 'shop', version: '1' },
  paths: {
    '/products': { get: { operationId: 'listProducts', parameters: [q('offset', int32), q('limit', int32)], responses: ok({ type: 'object', properties: { items: { type: 'array', items: named } } }) } },
    '/products/search': { get: { operationId: 'searchProducts', parameters: [q('q', { type: 'string' }, true), q('page', int32), q('per_page', int32)], responses: ok({ type: 'array', items: named }) } },
    '/categories': { get: { operationId: 'listCategories', parameters: [q('offset', int32), q('limit', int32)], responses: ok({ type: 'object', properties: { items: { type: 'array', items: named } } }) } },
    // `mode` picks the next-page URL the upstream answers with.
    '/feed': { get: { operationId: 'feed', parameters: [q('mode'), q('after', int32)], responses: ok({ type: 'object', properties: { results: { type: 'array', items: named }, next: { type: 'string', nullable: true } } }) } },
    '/tenants/{t}/reports': { get: { operationId: 'reports', parameters: [{ name: 't', in: 'path', required: true, schema: { type: 'string' } }], responses: ok({ type: 'object', properties: { scope: { type: 'string' } } }) } },
  },
};

const pagination = {
  listProducts: 'auto',
  listCategories: 'auto',
  searchProducts: { type: 'link', limit: 'per_page', maxPageSize: 5 },
  feed: { type: 'nextUrl', next: 'next', items: 'results' },
} as const;

const cursorOf = (position: unknown): string => Buffer.from(JSON.stringify(position)).toString('base64url');

describe('REST pagination and path values against a hostile client', () => {
  let upstream: RestServer;
  /** Another host (another origin: its own port) that no next-page URL may reach. */
  let elsewhere: RestServer;
  let dir: string;
  let gw: RunningGateway;
  const paths = (server: RestServer, from: number): string[] => server.calls.slice(from).map((c) => c.url);

  before(async () => {
    elsewhere = await startRest((_req, res) => json(res, 200, { results: [{ id: 'stolen' }], next: null }));
    upstream = await startRest((req, res) => {
      // Parsed with WHATWG URL rules, as the demo catalog (and nginx) do: `%2E%2E` climbs here.
      const url = new URL(req.url, 'http://upstream.local');
      const int = (name: string, fallback: number) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : fallback);
      if (url.pathname === '/products') return json(res, 200, { items: PRODUCTS.slice(int('offset', 0), int('offset', 0) + int('limit', 10)) });
      if (url.pathname === '/categories') return json(res, 200, { items: CATEGORIES.slice(int('offset', 0), int('offset', 0) + int('limit', 10)) });
      if (url.pathname === '/products/search') {
        const hits = PRODUCTS.filter((p) => p.name.toLowerCase().includes(url.searchParams.get('q') ?? ''));
        const page = int('page', 1);
        const size = int('per_page', 10);
        const headers: Record<string, string> = {};
        if (page * size < hits.length) headers.link = `<http://${req.headers.host}/products/search?q=${url.searchParams.get('q')}&page=${page + 1}&per_page=${size}>; rel="next"`;
        return json(res, 200, hits.slice((page - 1) * size, page * size), headers);
      }
      if (url.pathname === '/feed') {
        const start = int('after', 0);
        const mode = url.searchParams.get('mode');
        const nexts: Record<string, string | null> = {
          ok: start + 2 < PRODUCTS.length ? `/feed?mode=ok&after=${start + 2}` : null,
          undeclared: '/internal/admin-users?all=1',
          'undeclared-absolute': `http://${req.headers.host}/internal/admin-users?all=1`,
          'another-operation': '/categories?limit=100',
          climb: '/feed/../internal/admin-users',
          'climb-encoded': '/feed/%2E%2E/internal/admin-users',
          'another-host': `${elsewhere.url}/feed?after=2`,
          'protocol-relative': `//127.0.0.1:${elsewhere.port}/feed?after=2`,
        };
        return json(res, 200, { results: PRODUCTS.slice(start, start + 2), next: nexts[mode ?? 'ok'] ?? null });
      }
      if (url.pathname === '/internal/admin-users') return json(res, 200, { results: [{ id: 'admin', name: 'root' }], next: null });
      const reports = /^\/tenants\/([^/]+)\/reports$/.exec(url.pathname);
      if (reports) return json(res, 200, { scope: decodeURIComponent(reports[1]!) });
      if (url.pathname === '/reports') return json(res, 200, { scope: 'EVERY TENANT' });
      json(res, 404, { message: 'no such path' });
    });
    dir = mkdtempSync(join(tmpdir(), 'tessera-rest-paging-'));
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(spec));
    gw = await startGateway(undefined, [descriptor()], { security: { cursors: { secret: CURSOR_SECRET } } });
    // Every request the upstream receives is checked against the document; the other host must receive none.
    await upstream.watch.declare(gw.gateway.descriptors[0]!);
  });
  after(async () => {
    await gw?.gateway.close();
    await upstream?.close();
    await elsewhere?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function descriptor(paging: Extract<DescriptorInput, { kind: 'openapi' }>['pagination'] = pagination): DescriptorInput & { dir: string } {
    return {
      name: 'shop',
      kind: 'openapi' as const,
      source: './openapi.json',
      dir,
      url: upstream.url,
      retry: { attempts: 1 },
      headers: { set: { authorization: SERVICE_SECRET } },
      pagination: paging,
    };
  }

  /** Walks a connection to its end, one answer per `first` items. */
  async function walk(gateway: RunningGateway, field: string, args: string, first: number): Promise<{ ids: string[]; cursors: string[] }> {
    const ids: string[] = [];
    const cursors: string[] = [];
    let cursor: string | null = null;
    for (let answers = 0; answers < 20; answers++) {
      const res = await gateway.query(`query($a: String) { ${field}(${args}first: ${first}, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, { a: cursor });
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      const conn = res.body.data[field];
      ids.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
      cursors.push(...conn.edges.map((e: { cursor: string }) => e.cursor));
      if (!conn.pageInfo.hasNextPage) return { ids, cursors };
      cursor = conn.pageInfo.endCursor;
    }
    throw new Error('the walk did not end');
  }

  async function firstCursor(field: string, args = ''): Promise<string> {
    const res = await gw.query(`{ ${field}(${args}first: 2) { pageInfo { endCursor } } }`);
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    return res.body.data[field].pageInfo.endCursor as string;
  }

  /** Sends `after` and expects BAD_REQUEST with no upstream request at all. */
  async function refused(field: string, args: string, after: string): Promise<void> {
    const before = upstream.calls.length;
    const res = await gw.query(`query($a: String) { ${field}(${args}first: 3, after: $a) { nodes { id name } } }`, { a: after });
    assert.equal(res.body.data?.[field] ?? null, null);
    assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST', JSON.stringify(res.body));
    assert.match(res.body.errors![0]!.message, /"after" is not a cursor returned by this connection/);
    assert.deepEqual(paths(upstream, before), [], 'the upstream received no request');
  }

  test('a legitimate walk still works through every style, and the cursors reveal no upstream address', async () => {
    const search = await walk(gw, 'searchProductsConnection', 'q: "lamp", ', 2);
    assert.deepEqual(search.ids, PRODUCTS.filter((p) => p.name.startsWith('Lamp')).map((p) => p.id));
    assert.deepEqual((await walk(gw, 'listProductsConnection', '', 5)).ids, PRODUCTS.map((p) => p.id));
    assert.deepEqual((await walk(gw, 'feedConnection', 'mode: "ok", ', 3)).ids, PRODUCTS.map((p) => p.id));
    for (const cursor of search.cursors) {
      const inside = Buffer.from(cursor, 'base64url').toString('latin1');
      assert.doesNotMatch(inside, /products|search|127\.0\.0\.1|page|lamp/i, 'nothing of the upstream is readable in a cursor');
    }
  });

  test('a forged cursor naming an upstream path is BAD_REQUEST: /categories and an undeclared admin endpoint are never fetched', async () => {
    await refused('searchProductsConnection', 'q: "lamp", ', cursorOf({ r: { u: '/categories' }, s: 0 }));
    await refused('searchProductsConnection', 'q: "lamp", ', cursorOf({ r: { u: '/internal/admin-users?all=1' }, s: 0 }));
    assert.ok(!upstream.calls.some((c) => c.url.startsWith('/categories') || c.url.startsWith('/internal')), 'no request for either path, ever');
  });

  test('a forged page size past maxPageSize is BAD_REQUEST, and so is an edited real cursor', async () => {
    await refused('searchProductsConnection', 'q: "lamp", ', cursorOf({ r: { p: 1, z: 100000 }, s: 0 }));
    await refused('listProductsConnection', '', cursorOf({ r: { o: 0 }, s: 0 }));
    const real = await firstCursor('searchProductsConnection', 'q: "lamp", ');
    const bytes = Buffer.from(real, 'base64url');
    bytes[bytes.length - 20]! ^= 1;
    await refused('searchProductsConnection', 'q: "lamp", ', bytes.toString('base64url'));
    assert.ok(!upstream.calls.some((c) => /per_page=100000/.test(c.url)));
  });

  test('a cursor from another connection, or from other arguments, is BAD_REQUEST', async () => {
    // Same page style (offset), another field.
    await refused('listCategoriesConnection', '', await firstCursor('listProductsConnection'));
    // Another page style and field.
    await refused('searchProductsConnection', 'q: "lamp", ', await firstCursor('listProductsConnection'));
    // The same field with other arguments.
    await refused('searchProductsConnection', 'q: "chair", ', await firstCursor('searchProductsConnection', 'q: "lamp", '));
    await refused('feedConnection', 'mode: "undeclared", ', await firstCursor('feedConnection', 'mode: "ok", '));
  });

  test('a next-page URL to an undeclared path, another operation or another host is an error naming the subgraph; nothing is fetched from it', async () => {
    for (const mode of ['undeclared', 'undeclared-absolute', 'another-operation', 'climb', 'climb-encoded', 'another-host', 'protocol-relative']) {
      const before = upstream.calls.length;
      const beforeElsewhere = elsewhere.calls.length;
      // The first page has 2 items: 5 asked makes the connection want the next page.
      const res = await gw.query(`{ feedConnection(mode: "${mode}", first: 5) { nodes { id name } } }`);
      assert.equal(res.body.data?.feedConnection ?? null, null, mode);
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'SOURCE_RESPONSE_INVALID', `${mode}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.errors![0]!.message, /subgraph "shop".*next-page URL/, mode);
      assert.deepEqual(paths(upstream, before), [`/feed?mode=${mode}`], `${mode}: only the first page was fetched`);
      assert.equal(elsewhere.calls.length, beforeElsewhere, `${mode}: the other host received nothing`);
    }
  });

  test('a path value of ".", ".." (in any percent-encoding) or "" is BAD_USER_INPUT with no upstream request; any other value stays in its segment', async () => {
    for (const t of ['..', '.', '%2E%2E', '%2e%2e', '.%2E', '%2E.', '%2e', '%252E%252E', '']) {
      const before = upstream.calls.length;
      const res = await gw.query('query($t: String!) { reports(t: $t) { scope } }', { t });
      assert.equal(res.body.data?.reports, null, JSON.stringify(t));
      assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${JSON.stringify(t)}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.errors![0]!.message, /Argument "t" of reports \(subgraph "shop"\)/);
      assert.deepEqual(paths(upstream, before), [], `${JSON.stringify(t)}: no upstream request`);
    }
    // Every other value stays inside its segment.
    for (const [t, sent] of [
      ['a/b', '/tenants/a%2Fb/reports'],
      ['../../reports', '/tenants/..%2F..%2Freports/reports'],
      ['..a', '/tenants/..a/reports'],
      ['a?b#c%', '/tenants/a%3Fb%23c%25/reports'],
    ] as const) {
      const before = upstream.calls.length;
      const res = await gw.query('query($t: String!) { reports(t: $t) { scope } }', { t });
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.deepEqual(res.body.data.reports, { scope: t }, 'the tenant reached is the one asked for');
      assert.deepEqual(paths(upstream, before), [sent]);
    }
  });

  test('replicas sharing security.cursors.secret take each other\'s cursors; another secret or another page style answers BAD_REQUEST', async (t) => {
    const replica = await startGateway(t, [descriptor()], { security: { cursors: { secret: CURSOR_SECRET } } });
    const cursor = await firstCursor('searchProductsConnection', 'q: "lamp", ');
    const res = await replica.query('query($a: String) { searchProductsConnection(q: "lamp", first: 2, after: $a) { nodes { id } } }', { a: cursor });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    assert.deepEqual(res.body.data.searchProductsConnection.nodes.map((n: { id: string }) => n.id), ['p6', 'p8']);

    const other = await startGateway(t, [descriptor()], { security: { cursors: { secret: 'another-secret-0123456789-0123456789' } } });
    const before = upstream.calls.length;
    const refused = await other.query('query($a: String) { searchProductsConnection(q: "lamp", first: 2, after: $a) { nodes { id } } }', { a: cursor });
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
    assert.match(refused.body.errors![0]!.message, /security\.cursors\.secret/);
    assert.equal(upstream.calls.length, before);

    // The same field and secret, its pages now numbered over offset/limit: an offset cursor is not a page cursor.
    const restyled = await startGateway(t, [descriptor({ listProducts: { type: 'page', page: 'offset', size: 'limit', firstPage: 0, items: 'items' } })], {
      security: { cursors: { secret: CURSOR_SECRET } },
    });
    const offsetCursor = await firstCursor('listProductsConnection');
    const beforeStyled = upstream.calls.length;
    const styled = await restyled.query('query($a: String) { listProductsConnection(first: 2, after: $a) { nodes { id } } }', { a: offsetCursor });
    assert.equal(styled.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
    assert.equal(upstream.calls.length, beforeStyled);
  });
});

test('security.cursors.secret is checked when the gateway starts', async () => {
  await assert.rejects(startGateway(undefined, [], { security: { cursors: { secret: 'short' } } }), /security\.cursors\.secret: use at least 32 characters/);
  await assert.rejects(startGateway(undefined, [], { security: { cursors: { secert: CURSOR_SECRET } } as never }), /security\.cursors\.secert: unknown key/);
});

test('the demo: a forged cursor naming /categories makes the catalog serve nothing', async (t) => {
  const demo = await startDemo(t);
  demo.resetCalls();
  const res = await demo.query('query($a: String) { searchProductsConnection(q: "lamp", first: 3, after: $a) { nodes { id name } } }', { a: cursorOf({ r: { u: '/categories' }, s: 0 }) });
  assert.equal(res.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST', JSON.stringify(res.body));
  assert.equal(demo.calls().catalog, 0);
});
