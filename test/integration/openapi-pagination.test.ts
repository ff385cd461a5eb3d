/**
 * Relay connections over the three pagination styles the catalog demo does
 * not use: a cursor read from the response, a next-page URL in the response,
 * and page numbers; declared in the descriptor and detected (`auto`). A real
 * REST server on loopback serves 23 items and records every page asked for.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { ok, json, loadOpenapi, plain, run, startRest, type RestServer } from '../kit/openapi.js';
import type { LoadedSource } from '../../src/sources/index.js';

const ITEMS = Array.from({ length: 23 }, (_, i) => ({ id: `i${i + 1}`, n: i + 1 }));
const item = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, n: { type: 'integer', format: 'int32' } } };
const list = { type: 'array', items: { $ref: '#/components/schemas/Item' } };
const q = (name: string, schema: object = { type: 'string' }) => ({ name, in: 'query', schema });
const int32 = { type: 'integer', format: 'int32' };

const spec = {
  openapi: '3.0.3',
  info: { title: 'pages', version: '1' },
  paths: {
    // { data, meta: { next_cursor } }: the cursor is declared, with a JSON pointer.
    '/by-cursor': { get: { operationId: 'byCursor', parameters: [q('cursor'), q('limit', int32), q('color')], responses: ok({ type: 'object', properties: { data: list, meta: { type: 'object', properties: { next_cursor: { type: 'string', nullable: true } } } } }) } },
    // { items, next_cursor }: detected.
    '/by-token': { get: { operationId: 'byToken', parameters: [q('page_token'), q('page_size', int32)], responses: ok({ type: 'object', properties: { items: list, next_cursor: { type: 'string' } } }) } },
    // { results, next }: the next page's URL, detected.
    '/by-url': { get: { operationId: 'byUrl', parameters: [q('limit', int32), q('after')], responses: ok({ type: 'object', properties: { results: list, next: { type: 'string', nullable: true } } }) } },
    '/escaping': { get: { operationId: 'escaping', responses: ok({ type: 'object', properties: { results: list, next: { type: 'string' } } }) } },
    // A bare array, page numbers from 0, detected and declared.
    '/by-page': { get: { operationId: 'byPage', parameters: [q('page', int32), q('per_page', int32)], responses: ok(list) } },
  },
  components: { schemas: { Item: item } },
};

describe('OpenAPI connections: cursor, next URL and page numbers', () => {
  let server: RestServer;
  let source: LoadedSource;
  const asked = (path: string): string[] => server.calls.filter((c) => c.url.startsWith(path)).map((c) => c.url);

  before(async () => {
    server = await startRest((req, res) => {
      const url = new URL(req.url, 'http://x');
      const int = (name: string, fallback: number) => (url.searchParams.has(name) ? Number(url.searchParams.get(name)) : fallback);
      if (url.pathname === '/by-cursor') {
        // The cursor is the index of the next item, written so it is clearly opaque.
        const start = url.searchParams.has('cursor') ? Number(Buffer.from(url.searchParams.get('cursor')!, 'base64').toString()) : 0;
        const end = start + int('limit', 10);
        return json(res, 200, { data: ITEMS.slice(start, end), meta: { next_cursor: end < ITEMS.length ? Buffer.from(String(end)).toString('base64') : null } });
      }
      if (url.pathname === '/by-token') {
        const start = Number(url.searchParams.get('page_token') ?? 0);
        const end = start + int('page_size', 10);
        return json(res, 200, { items: ITEMS.slice(start, end), ...(end < ITEMS.length ? { next_cursor: String(end) } : {}) });
      }
      if (url.pathname === '/by-url') {
        const start = Number(url.searchParams.get('after') ?? 0);
        // Like many services, it caps the page size below what was asked.
        const limit = Math.min(int('limit', 10), 10);
        const end = start + limit;
        return json(res, 200, { results: ITEMS.slice(start, end), next: end < ITEMS.length ? `${server.url}/by-url?after=${end}&limit=${limit}` : null });
      }
      if (url.pathname === '/escaping') return json(res, 200, { results: ITEMS.slice(0, 2), next: 'http://upstream.example.invalid/escaping?page=2' });
      if (url.pathname === '/by-page') {
        const page = int('page', 0);
        const size = int('per_page', 10);
        return json(res, 200, ITEMS.slice(page * size, (page + 1) * size));
      }
      json(res, 404, {});
    });
    source = await loadOpenapi(spec, server.url, {
      pagination: {
        byCursor: { type: 'cursor', cursor: 'cursor', limit: 'limit', next: '/meta/next_cursor', items: 'data', maxPageSize: 5 },
        byToken: 'auto',
        byUrl: 'auto',
        escaping: { type: 'nextUrl', items: 'results' },
        byPage: { type: 'page', page: 'page', size: 'per_page', firstPage: 0, maxPageSize: 4 },
      },
    });
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await server.close();
  });

  /** Walks a connection to its end with `first`, returning the ids in order and the number of answers it took. */
  async function walk(field: string, first: number, extra = ''): Promise<{ ids: string[]; answers: number }> {
    const ids: string[] = [];
    let after: string | null = null;
    let answers = 0;
    for (;;) {
      const result = plain(await run(source, `query($after: String) { ${field}(first: ${first}, after: $after${extra}) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, { variables: { after } }));
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const conn = result.data[field];
      ids.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
      answers++;
      assert.equal(conn.pageInfo.endCursor, conn.edges.at(-1)?.cursor ?? null);
      if (!conn.pageInfo.hasNextPage) return { ids, answers };
      after = conn.pageInfo.endCursor;
      assert.ok(answers < 20, 'the walk ends');
    }
  }

  const all = ITEMS.map((i) => i.id);

  test('cursor: first/after walk every item once, in order, following the cursor the upstream returns', async () => {
    const before = server.calls.length;
    const { ids, answers } = await walk('byCursorConnection', 7, ', color: "red"');
    assert.deepEqual(ids, all);
    assert.equal(answers, 4);
    const urls = server.calls.slice(before).map((c) => c.url);
    // Pages of at most maxPageSize (5); the other arguments go on every page; the first page has no cursor.
    assert.equal(urls[0], '/by-cursor?limit=5&color=red');
    assert.ok(urls.every((u) => /[?&]limit=[1-5]&color=red$/.test(u)), urls.join(' '));
    assert.ok(urls.slice(1).every((u) => /^\/by-cursor\?cursor=[^&]+&limit=/.test(u)), urls.join(' '));
  });

  test('cursor, detected: page_token/page_size and a next_cursor property; an edge cursor resumes right after that edge', async () => {
    assert.deepEqual((await walk('byTokenConnection', 10)).ids, all);
    const first = plain(await run(source, '{ byTokenConnection(first: 3) { edges { cursor node { id } } } }'));
    const second = first.data.byTokenConnection.edges[1].cursor as string;
    const resumed = plain(await run(source, 'query($a: String) { byTokenConnection(first: 4, after: $a) { nodes { id } } }', { variables: { a: second } }));
    assert.deepEqual(resumed.data.byTokenConnection.nodes.map((n: { id: string }) => n.id), ['i3', 'i4', 'i5', 'i6']);
  });

  test('next URL, detected: the `next` property is followed on the same upstream; one answer spans pages', async () => {
    const before = server.calls.length;
    const result = plain(await run(source, '{ byUrlConnection(first: 23) { nodes { id } pageInfo { hasNextPage } } }'));
    assert.deepEqual(result.data.byUrlConnection.nodes.map((n: { id: string }) => n.id), all);
    assert.equal(result.data.byUrlConnection.pageInfo.hasNextPage, false);
    assert.deepEqual(server.calls.slice(before).map((c) => c.url), ['/by-url?limit=23', '/by-url?after=10&limit=10', '/by-url?after=20&limit=10']);
    assert.deepEqual((await walk('byUrlConnection', 6)).ids, all);
    assert.ok(asked('/by-url?after=').length > 0, 'later pages were fetched through the next URL');
  });

  test('next URL pointing at another host is not followed: the field fails with SOURCE_RESPONSE_INVALID', async () => {
    const before = server.calls.length;
    const result = plain(await run(source, '{ escapingConnection(first: 5) { nodes { id } } }'));
    assert.equal(result.data.escapingConnection, null);
    assert.equal(result.errors![0].extensions.code, 'SOURCE_RESPONSE_INVALID');
    assert.match(result.errors![0].message, /next-page URL points outside the upstream/);
    assert.equal(server.calls.length - before, 1, 'only the first page, on the upstream itself');
  });

  test('page numbers (from 0, pages of at most 4): every item once, in order', async () => {
    const before = server.calls.length;
    const { ids, answers } = await walk('byPageConnection', 9);
    assert.deepEqual(ids, all);
    assert.equal(answers, 3);
    const pages = server.calls.slice(before).map((c) => c.url);
    assert.equal(pages[0], '/by-page?page=0&per_page=4');
    assert.ok(pages.every((u) => u.endsWith('per_page=4')), 'the page size stays fixed, so page numbers stay meaningful');
  });

  test('the connection keeps the operation\'s other arguments and drops the paging ones', async () => {
    const field = source.schema.getQueryType()!.getFields().byCursorConnection!;
    assert.deepEqual(field.args.map((a) => a.name), ['color', 'first', 'after']);
    const bad = plain(await run(source, '{ byPageConnection(first: 2, after: "not-a-cursor") { nodes { id } } }'));
    assert.equal(bad.errors![0].extensions.code, 'BAD_REQUEST');
  });
});
