/**
 * `tessera serve --workers 2` with the memory store behaves as one process:
 * the workers share the rate limits, the response cache and the APQ
 * documents, held by the cluster primary (src/store/cluster.ts), and the key
 * pagination cursors are sealed with, which the primary hands them.
 *
 * Which worker answers: every request goes on a connection of its own, and
 * the cluster primary hands each new connection to the next free worker in
 * turn (round robin, node:cluster's default except on Windows), so
 * consecutive requests alternate between the two workers. Each test also
 * checks that both workers called the upstream: each worker has its own
 * upstream connection pool, so calls over two different sockets come from
 * two processes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { json, ok, startRest } from '../kit/openapi.js';
import { loadDescriptorFile } from '../../src/config/load.js';
import { serveTessera, startGraphqlUpstream, tempProject } from '../kit/index.js';

const SDL = `
  type Product { id: ID! name: String! }
  type Query { product(id: ID!): Product hello: String greet(name: String!): String }
  type Mutation { renameProduct(id: ID!, name: String!): Product }
`;

const GATEWAY = `
server: { host: 127.0.0.1, port: 0 }
descriptors: ./subgraphs
rateLimit:
  rules:
    - { name: limited, by: consumer, operations: [Limited], limit: 4, window: 1m }
cache: { debugHeader: true }
channels:
  web: { persistedOperations: { apq: true } }
`;

const DESCRIPTOR = `
name: shop
kind: graphql
url: \${SHOP_URL}
source: ./shop.graphql
cache: { Product: 60s }
`;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
}

/** POSTs a GraphQL request on a connection of its own (no agent, `Connection: close`): the next worker answers it. */
function post(url: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', connection: 'close' };
    const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Answer['body'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('tessera serve --workers 2 with a memory store: the workers share limits, cache and APQ as one process', async (t) => {
  const names = new Map([['1', 'lamp']]);
  /** The gateway socket (its port) each upstream call came over, by field. */
  const sockets: Record<string, number[]> = { hello: [], greet: [], product: [], renameProduct: [] };
  const seen = (field: string, ctx: { req: IncomingMessage }): void => void sockets[field]!.push(ctx.req.socket.remotePort!);
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: {
      hello: (_: unknown, __: unknown, ctx: { req: IncomingMessage }) => (seen('hello', ctx), 'hello'),
      greet: (_: unknown, { name }: { name: string }, ctx: { req: IncomingMessage }) => (seen('greet', ctx), `hi ${name}`),
      product: (_: unknown, { id }: { id: string }, ctx: { req: IncomingMessage }) => (seen('product', ctx), names.has(id) ? { id, name: names.get(id) } : null),
    },
    Mutation: {
      renameProduct: (_: unknown, { id, name }: { id: string; name: string }, ctx: { req: IncomingMessage }) => {
        seen('renameProduct', ctx);
        names.set(id, name);
        return { id, name };
      },
    },
  });
  const dir = tempProject(t, { 'gateway.yaml': GATEWAY, 'subgraphs/subgraph.yaml': DESCRIPTOR, 'subgraphs/shop.graphql': SDL });
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { SHOP_URL: upstream.url });
  const url = await serve.url;
  assert.match(serve.output(), /starting 2 workers[\s\S]*\(2 workers\)/);
  const twoWorkers = (fields: string[]): void => {
    const used = new Set(fields.flatMap((field) => sockets[field]!));
    assert.ok(used.size >= 2, `the upstream calls came over ${used.size} socket(s): both workers should have called`);
  };

  await t.test('a rate limit of 4 lets 4 requests through, whichever worker answers, and refuses the 5th and 6th with RATE_LIMITED', async () => {
    for (let i = 1; i <= 4; i++) {
      const ok = await post(url, { query: 'query Limited { hello }' });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { data: { hello: 'hello' } });
      // One counter: 3, 2, 1, 0 (with a counter per worker: 3, 3, 2, 2, and the 5th would pass).
      assert.equal(ok.headers['ratelimit-remaining'], String(4 - i));
    }
    twoWorkers(['hello']);
    for (let i = 5; i <= 6; i++) {
      const refused = await post(url, { query: 'query Limited { hello }' });
      assert.equal(refused.status, 429, `request ${i}`);
      // The code, status and headers one process gives (test/integration/ratelimit-memory.test.ts).
      assert.equal(refused.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
      assert.equal(refused.headers['ratelimit-remaining'], '0');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
    }
    assert.equal(sockets.hello!.length, 4, 'a refused request never reaches the subgraph');
  });

  await t.test('the response cache is one for both workers: HIT on each; a mutation through either makes the next query a MISS on each', async () => {
    const query = { query: '{ product(id: "1") { id name } }' };
    const rename = (name: string) => post(url, { query: `mutation { renameProduct(id: "1", name: "${name}") { id name } }` });
    const look = async (): Promise<[string | undefined, string]> => {
      const res = await post(url, query);
      assert.equal(res.status, 200);
      return [res.headers['x-tessera-cache'] as string | undefined, res.body.data?.product?.name];
    };
    // Consecutive requests alternate between the workers: call them A and B.
    assert.deepEqual(await look(), ['MISS', 'lamp']); // A
    assert.deepEqual(await look(), ['HIT', 'lamp'], 'cached by the other worker'); // B
    assert.deepEqual(await look(), ['HIT', 'lamp']); // A
    assert.deepEqual((await rename('lamp 2')).body, { data: { renameProduct: { id: '1', name: 'lamp 2' } } }); // B
    assert.deepEqual(await look(), ['MISS', 'lamp 2'], 'invalidated by a mutation the other worker ran'); // A
    assert.deepEqual(await look(), ['HIT', 'lamp 2']); // B
    assert.deepEqual((await rename('lamp 3')).body, { data: { renameProduct: { id: '1', name: 'lamp 3' } } }); // A
    assert.deepEqual(await look(), ['MISS', 'lamp 3'], 'invalidated by a mutation the other worker ran'); // B
    assert.equal(sockets.product!.length, 3, 'the upstream was asked once per MISS');
    twoWorkers(['product', 'renameProduct']);
  });

  await t.test('APQ: a hash registered through one worker runs on both', async () => {
    const web = url.replace(/\/graphql$/, '/web/graphql');
    const GREET = 'query Greet($name: String!) { greet(name: $name) }';
    const persisted = { extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(GREET).digest('hex') } } };
    const miss = await post(web, { ...persisted, variables: { name: 'Al' } });
    assert.equal(miss.body.errors?.[0]?.message, 'PersistedQueryNotFound');
    const registered = await post(web, { query: GREET, ...persisted, variables: { name: 'Bo' } });
    assert.deepEqual(registered.body, { data: { greet: 'hi Bo' } });
    for (const name of ['Cy', 'Di', 'Ed']) {
      // The first of these goes to the worker that answered PersistedQueryNotFound, which never saw the document.
      assert.deepEqual((await post(web, { ...persisted, variables: { name } })).body, { data: { greet: `hi ${name}` } });
    }
    twoWorkers(['greet']);
  });

  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0);
});

test('tessera serve --workers 2 without security.cursors.secret: a cursor one worker issued opens on the other', async (t) => {
  const items = Array.from({ length: 8 }, (_, i) => ({ id: `i${i + 1}` }));
  const upstream = await startRest((req, res) => {
    const url = new URL(req.url, 'http://x');
    const offset = Number(url.searchParams.get('offset') ?? 0);
    json(res, 200, { items: items.slice(offset, offset + Number(url.searchParams.get('limit') ?? 10)) });
  });
  t.after(() => upstream.close());
  const spec = {
    openapi: '3.0.3',
    info: { title: 'items', version: '1' },
    paths: {
      '/items': {
        get: {
          operationId: 'listItems',
          parameters: ['offset', 'limit'].map((name) => ({ name, in: 'query', schema: { type: 'integer', format: 'int32' } })),
          responses: ok({ type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } } } }),
        },
      },
    },
  };
  const dir = tempProject(t, {
    'gateway.yaml': 'server: { host: 127.0.0.1, port: 0 }\ndescriptors: ./subgraphs\n',
    'subgraphs/subgraph.yaml': 'name: items\nkind: openapi\nsource: ./openapi.json\nurl: ${ITEMS_URL}\npagination: { listItems: auto }\n',
    'subgraphs/openapi.json': JSON.stringify(spec),
  });
  // What the workers may send the upstream: the same descriptor, read as they read it.
  await upstream.watch.declare(loadDescriptorFile(join(dir, 'subgraphs/subgraph.yaml'), { ITEMS_URL: upstream.url }));
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { ITEMS_URL: upstream.url });
  const url = await serve.url;
  // Consecutive requests alternate between the workers, so each cursor is opened by the worker that did not seal it.
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 4; page++) {
    const res = await post(url, { query: 'query($a: String) { listItemsConnection(first: 2, after: $a) { nodes { id } pageInfo { endCursor } } }', variables: { a: after } });
    assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
    ids.push(...res.body.data.listItemsConnection.nodes.map((n: { id: string }) => n.id));
    after = res.body.data.listItemsConnection.pageInfo.endCursor;
  }
  assert.deepEqual(ids, items.map((i) => i.id));
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0);
});
