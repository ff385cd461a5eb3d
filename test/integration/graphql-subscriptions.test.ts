/**
 * Subscriptions of a GraphQL upstream, proxied: the gateway subscribes over
 * SSE upstream and serves the events to clients over SSE and WebSocket;
 * a client that leaves cancels the upstream stream.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred, startGateway, startGraphqlUpstream } from '../kit/index.js';

const SDL = `type Query { ok: Boolean } type Subscription { countdown(from: Int!): Int! ticks: Int! }`;

async function setup(t: TestContext) {
  const ended = deferred();
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: { ok: () => true },
    Subscription: {
      countdown: {
        subscribe: async function* (_: unknown, { from }: { from: number }) {
          for (let i = from; i >= 0; i--) yield { countdown: i };
        },
      },
      ticks: {
        // Endless until cancelled; `ended` resolves when the upstream sees the cancellation.
        subscribe: async function* () {
          try {
            for (let i = 0; ; i++) {
              yield { ticks: i };
              await new Promise((r) => setTimeout(r, 5));
            }
          } finally {
            ended.resolve();
          }
        },
      },
    },
  });
  const gw = await startGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }]);
  return { gw, ended };
}

async function readSse(response: Response, stopAfter: number): Promise<unknown[]> {
  const events: unknown[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((l) => l.startsWith('data:'));
      if (block.includes('event: complete')) return events;
      if (data) events.push(JSON.parse(data.slice(5)));
      if (events.length >= stopAfter) return events;
    }
  }
  return events;
}

test('an upstream subscription reaches an SSE client, event by event, until it completes', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { countdown(from: 3) }' }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  assert.deepEqual(await readSse(res, 100), [3, 2, 1, 0].map((n) => ({ data: { countdown: n } })));
});

test('an SSE client that goes away cancels the upstream subscription', async (t) => {
  const { gw, ended } = await setup(t);
  const controller = new AbortController();
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { ticks }' }),
    signal: controller.signal,
  });
  const events = await readSse(res, 3);
  assert.deepEqual(events, [0, 1, 2].map((n) => ({ data: { ticks: n } })));
  controller.abort();
  await ended.promise; // the upstream generator's finally ran: its stream was cancelled
});

test('the same subscription over WebSocket (graphql-ws), and completing it cancels upstream', async (t) => {
  const { gw, ended } = await setup(t);
  const client = createClient({ url: gw.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  t.after(() => client.dispose());
  const countdown: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    client.subscribe({ query: 'subscription { countdown(from: 2) }' }, { next: (v) => countdown.push(v), error: reject, complete: resolve });
  });
  assert.deepEqual(countdown, [2, 1, 0].map((n) => ({ data: { countdown: n } })));
  const ticks: unknown[] = [];
  const gotThree = deferred();
  const unsubscribe = client.subscribe(
    { query: 'subscription { ticks }' },
    {
      next: (v) => {
        ticks.push(v);
        if (ticks.length === 3) gotThree.resolve();
      },
      error: () => undefined,
      complete: () => undefined,
    },
  );
  await gotThree.promise;
  unsubscribe();
  await ended.promise;
});

test('a proxied subscription carries the caller identity headers, as queries do', async (t) => {
  const { sha256 } = await import('../kit/security.js');
  const seen: Array<string | null> = [];
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: { ok: () => true },
    Subscription: {
      countdown: {
        subscribe: async function* (_: unknown, { from }: { from: number }, context: { request: Request }) {
          seen.push(context.request.headers.get('x-user-id'));
          for (let i = from; i >= 0; i--) yield { countdown: i };
        },
      },
    },
  });
  const key = 'sub-key-0123456789abcdef';
  const gw = await startGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url, headers: { identity: { 'x-user-id': 'subject' } } }], {
    security: { auth: { apiKeys: { keys: [{ id: 'sub-client', sha256: sha256(key), scopes: [] }] } } },
  });
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key },
    body: JSON.stringify({ query: 'subscription { countdown(from: 1) }' }),
  });
  assert.deepEqual(await readSse(res, 100), [{ data: { countdown: 1 } }, { data: { countdown: 0 } }]);
  assert.deepEqual(seen, ['sub-client']);
});
