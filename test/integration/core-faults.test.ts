/**
 * What a client sees when an upstream misbehaves: partial data with located
 * errors, timeouts, retries, masking, and no crash. Real GraphQL upstreams
 * on loopback; the "misbehaving" ones are plain node:http servers that answer
 * exactly what a broken service would.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { deferred, startGateway, startGraphqlUpstream } from '../kit/index.js';

const USERS = `type User { id: ID! name: String! } type Query { users(ids: [ID!]!): [User]! user(id: ID!): User me: User }`;
const usersResolvers = {
  Query: {
    users: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id, name: `user ${id}` })),
    user: (_: unknown, { id }: { id: string }) => ({ id, name: `user ${id}` }),
    me: () => ({ id: 'u1', name: 'user u1' }),
  },
};
const POSTS = `type Post { id: ID! title: String! author: User } type User { id: ID! } type Query { posts: [Post!]! }`;
const postsResolvers = {
  Query: { posts: () => [1, 2, 3].map((n) => ({ id: `p${n}`, title: `post ${n}`, author: { id: `u${n}` } })) },
};

/** A raw upstream that answers each request with the given handler. */
async function rawUpstream(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, calls: () => calls };
}

async function twoSubgraphs(t: TestContext, gateway = {}) {
  const users = await startGraphqlUpstream(t, USERS, usersResolvers);
  const posts = await startGraphqlUpstream(t, POSTS, postsResolvers);
  const gw = await startGateway(
    t,
    [
      { name: 'users', kind: 'graphql', url: users.url, retry: { attempts: 1 }, entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } } },
      { name: 'posts', kind: 'graphql', url: posts.url, entities: { User: { key: 'id', resolvable: false } } },
    ],
    gateway,
  );
  return { users, posts, gw };
}

test('one subgraph down: the other fields come back, the failed ones are null with a located SOURCE_UNAVAILABLE error', async (t) => {
  const { users, gw } = await twoSubgraphs(t);
  await users.close();
  const res = await gw.query('{ posts { id title author { id name } } me { name } }');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type')?.startsWith('application/graphql-response+json') || res.headers.get('content-type')?.startsWith('application/json'), true);
  assert.equal(res.body.data.me, null);
  assert.equal(res.body.data.posts.length, 3);
  assert.equal(res.body.data.posts[0].title, 'post 1');
  const meError = res.body.errors!.find((e) => e.path?.[0] === 'me');
  assert.ok(meError, 'an error located at me');
  assert.equal(meError.extensions?.code, 'SOURCE_UNAVAILABLE');
  assert.equal(meError.extensions?.subgraph, 'users');
  assert.doesNotMatch(JSON.stringify(res.body), /127\.0\.0\.1|ECONNREFUSED|stack/, 'no upstream address or stack in production');
  const authorError = res.body.errors!.find((e) => e.path?.[0] === 'posts');
  assert.ok(authorError, 'an error located under posts');
  assert.equal(authorError.extensions?.code, 'SOURCE_UNAVAILABLE');
});

test('an upstream slower than its timeout gives GATEWAY_TIMEOUT for its fields only', async (t) => {
  const released = deferred();
  t.after(() => released.resolve());
  const slow = await rawUpstream(t, (_req, res) => {
    void released.promise.then(() => res.end());
  });
  const fast = await startGraphqlUpstream(t, POSTS, postsResolvers);
  const gw = await startGateway(t, [
    { name: 'slow', kind: 'graphql', url: slow.url, source: 'schema.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname, timeout: '300ms', retry: { attempts: 1 } },
    { name: 'posts', kind: 'graphql', url: fast.url },
  ]);
  const res = await gw.query('{ posts { id } slowField }');
  assert.equal(res.status, 200);
  assert.equal(res.body.data.posts.length, 3);
  assert.equal(res.body.data.slowField, null);
  assert.equal(res.body.errors![0]!.extensions?.code, 'GATEWAY_TIMEOUT');
  assert.deepEqual(res.body.errors![0]!.path, ['slowField']);
});

test('queries are retried on 503 and succeed; mutations are never retried', async (t) => {
  let failures = 1;
  const flaky = await rawUpstream(t, (_req, res, body) => {
    if (failures-- > 0 || body.includes('mutation')) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { slowField: 'ok' } }));
  });
  const gw = await startGateway(t, [
    { name: 'flaky', kind: 'graphql', url: flaky.url, source: 'schema.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname, retry: { attempts: 2, backoff: 1 } },
  ]);
  const ok = await gw.query('{ slowField }');
  assert.deepEqual(ok.body, { data: { slowField: 'ok' } });
  assert.equal(flaky.calls(), 2, 'one failure, one retry');
  const before = flaky.calls();
  const mutation = await gw.query('mutation { touch }');
  assert.equal(flaky.calls() - before, 1, 'a mutation is sent once');
  assert.equal(mutation.body.data.touch, null);
  assert.equal(mutation.body.errors![0]!.extensions?.code, 'SOURCE_BAD_RESPONSE');
  assert.match(mutation.body.errors![0]!.message, /HTTP 503/);
});

test('an upstream answering HTML with 200 gives SOURCE_BAD_RESPONSE naming the subgraph, without echoing the body', async (t) => {
  const html = await rawUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>secret proxy page</html>'));
  const truncated = await rawUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data": {"slowFie'));
  const dir = new URL('../fixtures/graphql/slow', import.meta.url).pathname;
  for (const upstream of [html, truncated]) {
    const gw = await startGateway(t, [{ name: 'broken', kind: 'graphql', url: upstream.url, source: 'schema.graphql', dir }]);
    const res = await gw.query('{ slowField }');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.slowField, null);
    assert.equal(res.body.errors![0]!.extensions?.code, 'SOURCE_BAD_RESPONSE');
    assert.equal(res.body.errors![0]!.extensions?.subgraph, 'broken');
    assert.doesNotMatch(res.text, /secret proxy page/);
  }
});

test('row 24: a wrong type or a null for a non-null field from a source bubbles per the spec, with a path', async (t) => {
  const wrong = await rawUpstream(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { items: [{ id: 'a', count: 'not a number' }, { id: null, count: 2 }] } })),
  );
  const gw = await startGateway(t, [
    { name: 'items', kind: 'graphql', url: wrong.url, source: 'items.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname },
  ]);
  const res = await gw.query('{ items { id count } }');
  assert.equal(res.status, 200);
  // A value of the wrong type becomes null with an error; the rest of the item stays.
  assert.deepEqual(res.body.data.items[0], { id: 'a', count: null });
  const wrongType = res.body.errors!.find((e) => JSON.stringify(e.path) === '["items",0,"count"]');
  assert.equal(wrongType?.extensions?.code, 'RESPONSE_VALIDATION_FAILED');
  assert.match(wrongType!.message, /Int cannot represent non-integer value/);
  assert.equal(res.body.data.items[1], null, 'null for a non-null id nulls the item');
  const error = res.body.errors!.find((e) => JSON.stringify(e.path) === '["items",1,"id"]');
  assert.ok(error, `an error at items.1.id, got ${JSON.stringify(res.body.errors)}`);
  assert.equal(error.extensions?.code, 'RESPONSE_VALIDATION_FAILED');
  assert.match(error.message, /non-nullable field Item\.id/);
});

test('the client gets the checked answer, serialized by the gateway unless the subgraph sent exactly that: the fields asked for, in that order, of their types, nothing else', async (t) => {
  const answers: Record<string, string> = {
    spaced: '{"data": {"items": [{"id": "a", "count": 1}, null]}}',
    extraField: '{"data":{"items":[{"id":"a","count":1,"secret":"x"}]}}',
    otherOrder: '{"data":{"items":[{"count":1,"id":"a"}]}}',
    numericId: '{"data":{"items":[{"id":7,"count":1}]}}',
    missingField: '{"data":{"items":[{"id":"a"}]}}',
    withExtensions: '{"data":{"items":[{"id":"a","count":1}]},"extensions":{"cost":3}}',
    // A client whose parser keeps the first of two equal keys must not see the string.
    duplicateKey: '{"data":{"items":[{"id":"a","count":"not a number","count":1}]}}',
  };
  let next = 'spaced';
  const upstream = await rawUpstream(t, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(answers[next]));
  const gw = await startGateway(t, [
    { name: 'items', kind: 'graphql', url: upstream.url, source: 'items.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname },
  ]);
  const ask = async (which: string) => {
    next = which;
    return (await gw.query('{ items { id count } }')).text;
  };
  // Already exactly what was asked, every value of its type: sent as the subgraph wrote it (execution/passthrough.ts).
  assert.equal(await ask('spaced'), answers.spaced);
  assert.equal(await ask('extraField'), '{"data":{"items":[{"id":"a","count":1}]}}', 'a field the client did not ask for is not sent');
  assert.equal(await ask('otherOrder'), '{"data":{"items":[{"id":"a","count":1}]}}', 'fields in the order the client asked');
  assert.equal(await ask('numericId'), '{"data":{"items":[{"id":"7","count":1}]}}', 'an ID is a string');
  assert.equal(await ask('missingField'), '{"data":{"items":[{"id":"a","count":null}]}}');
  assert.equal(await ask('withExtensions'), '{"data":{"items":[{"id":"a","count":1}]}}', "the upstream's extensions are not the client's");
  assert.equal(await ask('duplicateKey'), '{"data":{"items":[{"id":"a","count":1}]}}');
});

test('row 30: an upstream error with a stack and internal hostnames is masked in production, shown in development', async (t) => {
  const leaky = await rawUpstream(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        data: { slowField: null },
        errors: [{ message: 'db-7.internal.corp:5432 refused', path: ['slowField'], extensions: { code: 'DB_DOWN', stacktrace: ['at db.js:1'] } }, { message: 'no such thing', path: ['slowField'], extensions: { code: 'NOT_FOUND' } }],
      }),
    ),
  );
  const dir = new URL('../fixtures/graphql/slow', import.meta.url).pathname;
  const descriptor = { name: 'leaky', kind: 'graphql' as const, url: leaky.url, source: 'schema.graphql', dir, errors: { allowCodes: ['NOT_FOUND'] } };
  const prod = await startGateway(t, [descriptor]);
  const masked = await prod.query('{ slowField }');
  assert.doesNotMatch(masked.text, /internal\.corp|stacktrace|db\.js|DB_DOWN/);
  assert.equal(masked.body.errors![0]!.message, 'Error from subgraph "leaky"');
  assert.equal(masked.body.errors![0]!.extensions?.code, 'SUBGRAPH_ERROR');
  assert.equal(masked.body.errors![1]!.extensions?.code, 'NOT_FOUND', 'an allowlisted code passes');
  const dev = await startGateway(t, [descriptor], { mode: 'development' });
  const shown = await dev.query('{ slowField }');
  assert.match(shown.body.errors![0]!.message, /internal\.corp/);
  assert.equal(shown.body.errors![0]!.extensions?.subgraph, 'leaky');
});

test('row 8: __proto__ in upstream JSON or in variables pollutes nothing', async (t) => {
  const evil = await rawUpstream(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"items":[{"id":"a","count":1,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}]}}'),
  );
  const gw = await startGateway(t, [
    { name: 'items', kind: 'graphql', url: evil.url, source: 'items.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname },
  ]);
  // Upstream JSON: the answer keeps the real fields, and the __proto__ key is dropped.
  const fromUpstream = await gw.query('{ items { id count } }');
  assert.deepEqual(fromUpstream.body, { data: { items: [{ id: 'a', count: 1 }] } });
  // Variables: a __proto__ key is not a field of the input type, so the request is refused before any call.
  const calls = evil.calls();
  const res = await gw.query('query ($input: Filter) { items(filter: $input) { id count } }', {
    input: JSON.parse('{"__proto__": {"polluted": "yes"}, "name": "x"}'),
  });
  assert.equal(res.status, 400);
  assert.match(res.body.errors![0]!.message, /__proto__/);
  assert.equal(evil.calls(), calls);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
});

test('row 10: a client that goes away aborts the upstream call', async (t) => {
  const upstreamClosed = deferred();
  const arrived = deferred();
  const hanging = await rawUpstream(t, (req, res) => {
    arrived.resolve();
    res.on('close', () => upstreamClosed.resolve());
    void req;
  });
  const gw = await startGateway(t, [
    { name: 'hang', kind: 'graphql', url: hanging.url, source: 'schema.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname, timeout: '30s' },
  ]);
  const controller = new AbortController();
  const request = fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ slowField }' }),
    signal: controller.signal,
  }).catch(() => 'aborted');
  await arrived.promise;
  controller.abort();
  assert.equal(await request, 'aborted');
  await upstreamClosed.promise; // resolves only when the gateway closed its upstream request
});

test('row 39: on close, a request in flight completes, new connections are refused, and readyz fails first', async (t) => {
  const release = deferred();
  const arrived = deferred();
  const slow = await rawUpstream(t, (_req, res) => {
    arrived.resolve();
    void release.promise.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"slowField":"done"}}'));
  });
  const gw = await startGateway(t, [
    { name: 'slow', kind: 'graphql', url: slow.url, source: 'schema.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname, timeout: '30s' },
  ]);
  const inFlight = gw.query('{ slowField }');
  await arrived.promise;
  const closing = gw.gateway.close();
  // A new connection is refused; one that was already open is told the gateway is draining.
  const ready = await fetch(gw.url.replace('/graphql', '/readyz')).then((r) => r.status, () => 'refused');
  assert.ok(ready === 'refused' || ready === 503, `readyz while draining: ${ready}`);
  release.resolve();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { data: { slowField: 'done' } });
  await closing;
});

test('weighted upstreams share traffic by weight (canary)', async (t) => {
  const stable = await startGraphqlUpstream(t, USERS, usersResolvers);
  const canary = await startGraphqlUpstream(t, USERS, usersResolvers);
  const gw = await startGateway(t, [
    {
      name: 'users',
      kind: 'graphql',
      source: 'users.graphql',
      dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname,
      upstreams: [
        { url: stable.url, version: 'v1', weight: 3 },
        { url: canary.url, version: 'v2', weight: 1 },
      ],
    },
  ]);
  for (let i = 0; i < 8; i++) assert.equal((await gw.query('{ me { id } }')).body.data.me.id, 'u1');
  assert.equal(stable.stats.requests, 6);
  assert.equal(canary.stats.requests, 2);
});

test('headers: only allowlisted client headers and the static ones reach the upstream; framing headers never do', async (t) => {
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const upstream = await rawUpstream(t, (req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"slowField":"ok"}}');
  });
  const gw = await startGateway(t, [
    {
      name: 'h',
      kind: 'graphql',
      url: upstream.url,
      source: 'schema.graphql',
      dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname,
      headers: { forward: ['Accept-Language', 'x-request-id', 'host', 'transfer-encoding'], set: { 'x-api-key': 'k1' } },
    },
  ]);
  const res = await gw.query('{ slowField }', undefined, { 'accept-language': 'fr', 'x-request-id': 'abc', cookie: 'session=1', authorization: 'Bearer secret', 'x-other': 'no' });
  assert.equal(res.body.data.slowField, 'ok');
  const headers = seen[0]!;
  assert.equal(headers['accept-language'], 'fr');
  assert.equal(headers['x-request-id'], 'abc');
  assert.equal(headers['x-api-key'], 'k1');
  assert.equal(headers.cookie, undefined);
  assert.equal(headers.authorization, undefined, 'not on the allowlist, never sent');
  assert.equal(headers['x-other'], undefined);
  assert.match(String(headers.host), /^127\.0\.0\.1:\d+$/, 'the upstream host, not the client one');
  assert.equal(headers['content-type'], 'application/json');
});

test('keep-alive: consecutive requests to one upstream reuse the connection', async (t) => {
  const sockets = new Set<unknown>();
  const upstream = await rawUpstream(t, (req, res) => {
    sockets.add(req.socket);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"slowField":"ok"}}');
  });
  const gw = await startGateway(t, [
    { name: 'k', kind: 'graphql', url: upstream.url, source: 'schema.graphql', dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname },
  ]);
  for (let i = 0; i < 5; i++) assert.equal((await gw.query('{ slowField }')).body.data.slowField, 'ok');
  assert.equal(upstream.calls(), 5);
  assert.equal(sockets.size, 1);
});

test('row 20: a dead upstream opens its breaker; calls then fail fast without touching the socket', async (t) => {
  const { createServer: createTcpServer } = await import('node:net');
  let connections = 0;
  // Accepts, then resets every connection: what a crashed process behind a live port looks like.
  const dead = createTcpServer((socket) => {
    connections++;
    socket.resetAndDestroy();
  });
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  t.after(() => dead.close());
  const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/graphql`;
  const gw = await startGateway(t, [
    {
      name: 'dead',
      kind: 'graphql',
      url,
      source: 'schema.graphql',
      dir: new URL('../fixtures/graphql/slow', import.meta.url).pathname,
      retry: { attempts: 1 },
      breaker: { minCalls: 5, errorRate: 0.5, window: '10s', openFor: '30s' },
    },
  ]);
  for (let i = 0; i < 5; i++) {
    const res = await gw.query('{ slowField }');
    assert.equal(res.body.errors![0]!.extensions?.code, 'SOURCE_UNAVAILABLE');
  }
  const before = connections;
  assert.ok(before >= 5);
  for (let i = 0; i < 10; i++) {
    const res = await gw.query('{ slowField }');
    assert.equal(res.status, 200);
    assert.equal(res.body.errors![0]!.extensions?.code, 'SOURCE_UNAVAILABLE');
  }
  assert.equal(connections, before, 'no connection is attempted while the breaker is open');
});
