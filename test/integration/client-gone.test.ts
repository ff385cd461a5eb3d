/**
 * A planned request whose client disconnects while its entity call is in
 * flight (docs/reliability.md row 86): the gateway cancels the call and stops
 * there, building no answer nobody reads (no null and located error per item
 * of the list); the request log line says the client went away (status 499,
 * REQUEST_ABORTED), and the next request is served in full.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { deferred, startGateway, startGraphqlUpstream } from '../kit/index.js';

const ITEMS = 300;
const USERS = 'type User { id: ID! name: String! } type Query { users(ids: [ID!]!): [User]! }';
const POSTS = 'type Post { id: ID! author: User } type User { id: ID! } type Query { posts: [Post!]! _usersByIds(ids: [ID!]!): [User]! }';
const QUERY = 'query Posts { posts { id author { id name } } }';

test('a client gone mid-request: the planned request stops, one REQUEST_ABORTED (499) in its log line, the next request answered', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  let logged = deferred<Record<string, unknown>>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'request') logged.resolve(line);
      }
      done();
    },
  });
  // The users subgraph holds its first answer until the test lets it go: the client leaves meanwhile.
  const entered = deferred();
  const release = deferred();
  let held = true;
  const users = await startGraphqlUpstream(t, USERS, {
    Query: {
      users: async (_: unknown, { ids }: { ids: string[] }) => {
        if (held) {
          held = false;
          entered.resolve();
          await release.promise;
        }
        return ids.map((id) => ({ id, name: `user ${id}` }));
      },
    },
  });
  t.after(() => release.resolve());
  const posts = await startGraphqlUpstream(t, POSTS, {
    Query: {
      posts: () => Array.from({ length: ITEMS }, (_, n) => ({ id: `p${n}`, author: { id: `u${n}` } })),
      _usersByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
    },
  });
  const gw = await startGateway(
    t,
    [
      { name: 'users', kind: 'graphql', url: users.url, entities: { User: { key: 'id', batch: { field: 'users', argument: 'ids' } } } },
      { name: 'posts', kind: 'graphql', url: posts.url, entities: { User: { key: 'id', batch: { field: '_usersByIds', argument: 'ids' } } }, transforms: { hide: ['Query._usersByIds'] } },
    ],
    { mode: 'production' },
    { logger: createLogger('info', sink) },
  );

  const body = JSON.stringify({ query: QUERY });
  const client = request(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  client.on('error', () => undefined);
  client.end(body);
  await entered.promise;
  client.destroy();
  const line = await logged.promise;
  assert.equal(line.operation, 'Posts');
  assert.equal(line.route, 'planned');
  assert.equal(line.status, 499, 'the line says the client went away, not that an answer was sent');
  assert.deepEqual(line.errors, ['REQUEST_ABORTED']);
  assert.deepEqual(
    (line.subgraphs as Array<{ subgraph: string; code?: string }>).map((c) => [c.subgraph, c.code]).sort(),
    [['posts', undefined], ['users', 'REQUEST_ABORTED']],
  );

  release.resolve();
  logged = deferred();
  const next = await gw.query(QUERY);
  assert.equal(next.status, 200);
  assert.equal(next.body.errors, undefined);
  assert.equal((next.body.data as { posts: unknown[] }).posts.length, ITEMS);
  assert.deepEqual((next.body.data as { posts: unknown[] }).posts[ITEMS - 1], { id: `p${ITEMS - 1}`, author: { id: `u${ITEMS - 1}`, name: `user u${ITEMS - 1}` } });
  assert.equal((await logged.promise).status, 200);
});
