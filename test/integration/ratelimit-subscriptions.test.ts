/**
 * Subscriptions under the rate limits, as a hostile client would try them:
 * over SSE and WebSocket, a client over its limit is refused before any
 * upstream stream is opened; cost rules charge a subscription; and a consumer
 * holds at most rateLimit.subscriptions open at once, each ending (complete,
 * client gone, upstream end or failure, deadline) giving its slot back.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { deferred, gql, sse, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { costOf } from '../kit/rate-limit.js';

const SDL = `type Query { ok: Boolean } type Tick { n: Int! }
  type Subscription { ticks: Tick! countdown(from: Int!): Int! failing: Int! }`;

/** The upstream's subscription streams: how many it started and how many ended (completed or cancelled). */
class Streams {
  started = 0;
  ended = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  end(): void {
    this.ended++;
    for (const waiter of this.waiters.filter((w) => this.ended >= w.count)) waiter.resolve();
  }

  /** Resolves once `count` streams have ended upstream. */
  endedAtLeast(count: number): Promise<void> {
    const { promise, resolve } = deferred();
    if (this.ended >= count) resolve();
    else this.waiters.push({ count, resolve });
    return promise;
  }
}

async function setup(t: TestContext, config: GatewayFileInput) {
  const streams = new Streams();
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: { ok: () => true },
    Subscription: {
      ticks: {
        // Endless until cancelled.
        subscribe: async function* () {
          streams.started++;
          try {
            for (let n = 0; ; n++) {
              yield { ticks: { n } };
              await new Promise((r) => setTimeout(r, 5));
            }
          } finally {
            streams.end();
          }
        },
      },
      countdown: {
        subscribe: async function* (_: unknown, { from }: { from: number }) {
          streams.started++;
          try {
            for (let i = from; i >= 0; i--) yield { countdown: i };
          } finally {
            streams.end();
          }
        },
      },
      failing: {
        subscribe: async function* () {
          streams.started++;
          try {
            yield { failing: 1 };
            throw new Error('the event source broke');
          } finally {
            streams.end();
          }
        },
      },
    },
  });
  const gw = await startGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }], config);
  return { gw, streams };
}

type Outcome = { errors?: Array<{ message: string; extensions?: Record<string, any> }> };

/** A graphql-ws client that keeps its socket open between operations and counts its connections. */
function wsClient(t: TestContext, url: string): { client: Client; connections: () => number; closes: () => number } {
  let connections = 0;
  let closes = 0;
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    on: { connected: () => connections++, closed: () => closes++ },
    // The gateway closing its sockets when the test ends is reported here; `closes` counts closes during it.
    onNonLazyError: () => undefined,
  });
  t.after(() => client.dispose());
  return { client, connections: () => connections, closes: () => closes };
}

/** One operation over a graphql-ws client: its first event, how it ended (an `error` message or complete), and a way to complete it. */
function wsSubscribe(client: Client, query: string) {
  const first = deferred<unknown>();
  const ended = deferred<Outcome>();
  let events = 0;
  const unsubscribe = client.subscribe(
    { query },
    {
      next: (value) => {
        if (events++ === 0) first.resolve(value);
      },
      error: (error) => ended.resolve({ errors: Array.isArray(error) ? error : [error as never] }),
      complete: () => ended.resolve({}),
    },
  );
  return { first: first.promise, ended: ended.promise, unsubscribe };
}

test('over SSE a subscription is charged like a query; over the limit it gets 429 with Retry-After and RateLimit-*, and no upstream stream opens', async (t) => {
  const { gw, streams } = await setup(t, { rateLimit: { rules: [{ name: 'per-client', by: 'consumer', limit: 2, window: '1m' }] } });
  const first = await sse(t, gw.url, 'subscription { countdown(from: 1) }');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('ratelimit-remaining'), '1', 'the subscription took a point');
  assert.deepEqual(await first.next(), { data: { countdown: 1 } });
  assert.equal((await gw.query('{ ok }')).headers.get('ratelimit-remaining'), '0');

  const refused = await sse(t, gw.url, 'subscription { ticks { n } }');
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get('ratelimit-limit'), '2');
  assert.equal(refused.headers.get('ratelimit-remaining'), '0');
  assert.equal(refused.headers.get('ratelimit-policy'), '2;w=60');
  const body = await refused.next();
  assert.equal(body?.data, undefined);
  assert.equal(body?.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.match(body?.errors?.[0]?.message ?? '', /"per-client" exceeded: 2 operations per 60s/);
  assert.deepEqual(body?.errors?.[0]?.extensions?.rateLimit, { rule: 'per-client', retryAfter });
  assert.equal(body?.errors?.[0]?.extensions?.http, undefined);
  assert.equal(await refused.next(), undefined, 'the stream ends there');
  assert.equal(streams.started, 1, 'the refused subscription opened no upstream stream');
});

test('over WebSocket a client over its limit gets an error message for that id with RATE_LIMITED; the socket stays open', async (t) => {
  const { gw, streams } = await setup(t, {
    rateLimit: { rules: [{ name: 'watch', by: ['consumer', 'operation'], operations: ['Watch'], limit: 1, window: '1m' }] },
  });
  const { client, connections, closes } = wsClient(t, gw.url);
  const allowed = wsSubscribe(client, 'subscription Watch { countdown(from: 1) }');
  assert.deepEqual(await allowed.first, { data: { countdown: 1 } });
  assert.deepEqual(await allowed.ended, {});
  assert.equal(streams.started, 1);

  const refused = await wsSubscribe(client, 'subscription Watch { countdown(from: 0) }').ended;
  assert.equal(refused.errors?.length, 1);
  assert.equal(refused.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.match(refused.errors?.[0]?.message ?? '', /"watch" exceeded: 1 operations per 60s/);
  assert.equal(refused.errors?.[0]?.extensions?.rateLimit?.rule, 'watch');
  assert.equal(refused.errors?.[0]?.extensions?.http, undefined, 'the HTTP status and headers are not sent over the socket');
  assert.equal(streams.started, 1, 'the refused subscription opened no upstream stream');

  const other = wsSubscribe(client, 'subscription Other { countdown(from: 0) }');
  assert.deepEqual(await other.first, { data: { countdown: 0 } }, 'an operation the rule does not name still runs on the same socket');
  assert.deepEqual(await other.ended, {});
  assert.equal(connections(), 1);
  assert.equal(closes(), 0, 'the refusal did not close the socket');
});

test('a cost rule charges a subscription its estimated cost', async (t) => {
  const query = 'subscription { ticks { n } }';
  const cost = costOf(query, SDL);
  assert.ok(cost > 1, `cost ${cost}`);
  const { gw, streams } = await setup(t, { rateLimit: { rules: [{ name: 'points', cost: true, limit: 2 * cost, window: '1m' }] } });
  const first = await sse(t, gw.url, query);
  assert.equal(first.headers.get('ratelimit-remaining'), String(cost));
  const second = await sse(t, gw.url, query);
  assert.equal(second.headers.get('ratelimit-remaining'), '0');
  const third = await sse(t, gw.url, query);
  assert.equal(third.status, 429);
  assert.match((await third.next())?.errors?.[0]?.message ?? '', new RegExp(`${2 * cost} cost points per 60s`));
  assert.equal(streams.started, 2);
});

test('over SSE a consumer at rateLimit.subscriptions.maxPerConsumer is refused the next one; closing one frees its slot; other consumers are apart', async (t) => {
  const { gw, streams } = await setup(t, { rateLimit: { trustedProxies: ['127.0.0.1', '::1'], subscriptions: { maxPerConsumer: 2 } } });
  const as = (address: string) => ({ 'x-forwarded-for': address });
  const open = [];
  for (let i = 0; i < 2; i++) {
    const s = await sse(t, gw.url, 'subscription { ticks { n } }', as('203.0.113.7'));
    assert.equal(s.status, 200);
    assert.deepEqual(await s.next(), { data: { ticks: { n: 0 } } });
    open.push(s);
  }
  const refused = await sse(t, gw.url, 'subscription { ticks { n } }', as('203.0.113.7'));
  assert.equal(refused.status, 429);
  const error = (await refused.next())?.errors?.[0];
  assert.equal(error?.extensions?.code, 'RATE_LIMITED');
  assert.match(error?.message ?? '', /already holds 2 open on channel "default".*rateLimit\.subscriptions\.maxPerConsumer/);
  assert.deepEqual(error?.extensions?.rateLimit, { subscriptions: 2, configKey: 'rateLimit.subscriptions.maxPerConsumer' });
  assert.equal(streams.started, 2, 'no upstream stream for the refused one');
  assert.equal((await gql(gw.url, '{ ok }', undefined, as('203.0.113.7'))).status, 200, 'queries are not subscriptions');

  const other = await sse(t, gw.url, 'subscription { countdown(from: 0) }', as('198.51.100.9'));
  assert.equal(other.status, 200, 'another consumer has its own count');
  assert.deepEqual(await other.next(), { data: { countdown: 0 } });
  await streams.endedAtLeast(1);

  open[0]!.close();
  await streams.endedAtLeast(2);
  const again = await sse(t, gw.url, 'subscription { ticks { n } }', as('203.0.113.7'));
  assert.equal(again.status, 200, 'the slot of the subscription whose client went away is free');
  assert.deepEqual(await again.next(), { data: { ticks: { n: 0 } } });
});

test('the end of the upstream stream, its failure and the subscription deadline each give the slot back', async (t) => {
  const { gw, streams } = await setup(t, { server: { requestDeadline: '1s', subscriptionDeadline: '1s' }, rateLimit: { subscriptions: { maxPerConsumer: 1 } } });
  const read = async (query: string) => {
    const s = await sse(t, gw.url, query);
    assert.equal(s.status, 200, query);
    const events = [];
    for (let event = await s.next(); event; event = await s.next()) events.push(event);
    return events;
  };
  assert.deepEqual(await read('subscription { countdown(from: 1) }'), [{ data: { countdown: 1 } }, { data: { countdown: 0 } }]);
  const failed = await read('subscription { failing }');
  assert.deepEqual(failed[0], { data: { failing: 1 } });
  const ticks = await read('subscription { ticks { n } }');
  assert.ok(ticks.length > 0, 'ended by the deadline, after some events');
  assert.deepEqual(await read('subscription { countdown(from: 0) }'), [{ data: { countdown: 0 } }], 'the slot is free after all three');
  assert.equal(streams.started, 4);
});

test('over WebSocket: the per-channel limit applies on its channel; completing a subscription or closing the socket frees its slot', async (t) => {
  const { gw, streams } = await setup(t, { channels: { mobile: {} }, rateLimit: { subscriptions: { maxPerConsumer: 5, channels: { mobile: 1 } } } });
  const mobileUrl = gw.url.replace(/\/graphql$/, '/mobile/graphql');
  const mobile = wsClient(t, mobileUrl);
  const held = wsSubscribe(mobile.client, 'subscription { ticks { n } }');
  assert.deepEqual(await held.first, { data: { ticks: { n: 0 } } });

  const refused = await wsSubscribe(mobile.client, 'subscription { countdown(from: 0) }').ended;
  assert.equal(refused.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.match(refused.errors?.[0]?.message ?? '', /already holds 1 open on channel "mobile".*rateLimit\.subscriptions\.channels\.mobile/);
  assert.equal(refused.errors?.[0]?.extensions?.http, undefined);
  assert.equal(streams.started, 1);

  const onDefault = wsClient(t, gw.url);
  const elsewhere = wsSubscribe(onDefault.client, 'subscription { countdown(from: 0) }');
  assert.deepEqual(await elsewhere.first, { data: { countdown: 0 } }, 'the default channel keeps maxPerConsumer');
  await streams.endedAtLeast(1);

  held.unsubscribe();
  await streams.endedAtLeast(2);
  const next = wsSubscribe(mobile.client, 'subscription { ticks { n } }');
  assert.deepEqual(await next.first, { data: { ticks: { n: 0 } } }, 'a completed subscription frees its slot');
  assert.equal(mobile.closes(), 0);

  await mobile.client.dispose();
  await streams.endedAtLeast(3);
  const fresh = wsClient(t, mobileUrl);
  const after = wsSubscribe(fresh.client, 'subscription { ticks { n } }');
  assert.deepEqual(await after.first, { data: { ticks: { n: 0 } } }, 'a closed socket frees the slots of its subscriptions');
});

test('rateLimit.subscriptions.channels naming no channel stops start-up', async (t) => {
  await assert.rejects(setup(t, { rateLimit: { subscriptions: { channels: { mobil: 3 } } } }), /rateLimit\.subscriptions\.channels\.mobil: there is no channel named "mobil" \(known: default\)/);
});
