/**
 * Row 32 of docs/reliability.md in process: two users sending the same query at
 * once. The cache and dedupe keys include the authenticated identity (set
 * here by a stand-in for authentication at `context.tessera.identity`), so
 * user B never receives user A's data; mutations are never deduplicated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { memoryResponseCache } from '../../src/store/response-cache.js';
import { dedupeChannel, useDedupe } from '../../src/plugins/use-dedupe.js';
import { useResponseCache } from '../../src/plugins/use-response-cache.js';
import { createScope, type RequestScope } from '../../src/request-scope.js';
import { cacheSchema, type CacheHint } from '../../src/config/cache.js';

const schema = createSchema({
  typeDefs: `
    type Profile { id: ID! owner: String! }
    type Notice { id: ID! text: String! }
    type Query { profile: Profile notice: Notice }
    type Mutation { touch: Notice }
  `,
  resolvers: {
    Query: {
      profile: async (_: unknown, __: unknown, ctx: { tessera: RequestScope; gate?: Promise<void> }) => {
        calls.profile++;
        await gate;
        return { id: 'p', owner: ctx.tessera.identity?.subject ?? 'nobody' };
      },
      notice: async () => {
        calls.notice++;
        await gate;
        return { id: 'n', text: 'hello' };
      },
    },
    Mutation: {
      touch: async () => {
        calls.touch++;
        await gate;
        return { id: 'n2', text: 'touched' };
      },
    },
  },
});

const calls = { profile: 0, notice: 0, touch: 0 };
let gate: Promise<void> | undefined;

/** Stand-in for authentication: `x-user: alice` (scopes in `x-scopes`) becomes the identity. */
const fakeAuthentication: Plugin = {
  onContextBuilding({ context }) {
    const scope = (context as unknown as { tessera: RequestScope }).tessera;
    const user = scope.headers.get('x-user');
    if (user) scope.identity = { subject: user, scopes: (scope.headers.get('x-scopes') ?? '').split(',').filter(Boolean), kind: 'jwt' };
  },
};

function gateway(hints: Record<string, CacheHint>, withCache = true) {
  const config = cacheSchema.parse({});
  const plugins: Plugin[] = [fakeAuthentication, useDedupe({ channel: 'default', scopeHeaders: [] })];
  if (withCache) {
    plugins.push(
      useResponseCache({
        cache: { config, store: memoryResponseCache(100), hints: new Map(Object.entries(hints)) },
        channel: 'default',
        schema,
        scopeHeaders: [],
        debugHeader: true,
      }),
    );
  }
  const yoga = createYoga({
    schema,
    logging: false,
    context: ({ request }) => ({ tessera: createScope({ deadlineMs: 5000, headers: request.headers, signal: request.signal }) }),
    plugins,
  });
  return async (query: string, headers: Record<string, string> = {}) => {
    const res = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, cache: res.headers.get('x-tessera-cache'), body: (await res.json()) as { data?: Record<string, { owner?: string; text?: string }> } };
  };
}

function reset(): void {
  calls.profile = calls.notice = calls.touch = 0;
  gate = undefined;
}

test('a private type: user B gets his own answer, never A\'s cached one; A gets hers from the cache', async () => {
  reset();
  const send = gateway({ Profile: { ttl: 60_000, private: true }, Notice: { ttl: 60_000, private: false } });
  const alice = await send('{ profile { owner } }', { 'x-user': 'alice' });
  assert.equal(alice.body.data?.profile?.owner, 'alice');
  const bob = await send('{ profile { owner } }', { 'x-user': 'bob' });
  assert.equal(bob.body.data?.profile?.owner, 'bob');
  assert.equal(bob.cache, 'MISS');
  const aliceAgain = await send('{ profile { owner } }', { 'x-user': 'alice' });
  assert.equal(aliceAgain.body.data?.profile?.owner, 'alice');
  assert.equal(aliceAgain.cache, 'HIT');
  assert.equal(calls.profile, 2);
});

test('a public type is shared among callers with the same scopes, not across different scopes', async () => {
  reset();
  const send = gateway({ Notice: { ttl: 60_000, private: false } });
  await send('{ notice { text } }', { 'x-user': 'alice', 'x-scopes': 'read' });
  assert.equal((await send('{ notice { text } }', { 'x-user': 'bob', 'x-scopes': 'read' })).cache, 'HIT');
  assert.equal((await send('{ notice { text } }', { 'x-user': 'carol', 'x-scopes': 'read,admin' })).cache, 'MISS');
  assert.equal((await send('{ notice { text } }')).cache, 'MISS', 'anonymous callers do not share an authenticated entry');
  assert.equal(calls.notice, 3);
});

test('same query at the same time: one execution per user, never one for two users; mutations always run', async () => {
  reset();
  const send = gateway({}, false);
  let release!: () => void;
  gate = new Promise<void>((resolve) => (release = resolve));
  const pending = [
    send('{ profile { owner } }', { 'x-user': 'alice' }),
    send('{ profile { owner } }', { 'x-user': 'alice' }),
    send('{ profile { owner } }', { 'x-user': 'bob' }),
    send('mutation { touch { text } }', { 'x-user': 'alice' }),
    send('mutation { touch { text } }', { 'x-user': 'alice' }),
  ];
  let joined = 0;
  const onJoin = (): void => {
    joined++;
  };
  dedupeChannel.subscribe(onJoin);
  // Released once alice's second query has joined her first and the other three executions have started.
  while (joined < 1 || calls.profile + calls.touch < 4) await new Promise((r) => setImmediate(r));
  dedupeChannel.unsubscribe(onJoin);
  release();
  const [a1, a2, b] = await Promise.all(pending);
  assert.equal(a1!.body.data?.profile?.owner, 'alice');
  assert.equal(a2!.body.data?.profile?.owner, 'alice');
  assert.equal(b!.body.data?.profile?.owner, 'bob');
  assert.equal(calls.profile, 2, 'alice\'s two queries share one execution; bob has his own');
  assert.equal(calls.touch, 2, 'mutations are never merged');
});
