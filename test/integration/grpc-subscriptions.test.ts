/**
 * gRPC server streams served to clients as GraphQL subscriptions over SSE
 * (Yoga) and WebSocket (graphql-ws), through the gateway's Yoga and the
 * stitched schema; a client that leaves cancels the stream upstream.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { buildYoga } from '../../src/server/yoga.js';
import { attachWebSocket, type AttachedWebSocket } from '../../src/server/websocket.js';
import { kitchenDescriptor, loadGrpc } from '../kit/grpc.js';
import { startKitchen, type KitchenServer } from '../fixtures/grpc/kitchen-server.js';

let upstream: KitchenServer;
let http: Server;
let ws: AttachedWebSocket;
let base: string;
let close: () => Promise<void>;

before(async () => {
  upstream = await startKitchen();
  const kitchen = await loadGrpc(undefined, kitchenDescriptor(upstream.url));
  const yoga = buildYoga({ schema: kitchen.schema, mode: 'development', graphqlPath: '/graphql', graphiql: false, requestDeadline: 10_000, plugins: [] });
  http = createServer(yoga);
  ws = attachWebSocket(http, { getYoga: (path) => (path === '/graphql' ? yoga : undefined), requestDeadline: 10_000 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  close = async () => {
    await ws.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await kitchen.source.close();
    await upstream.close();
  };
});

after(() => close());

/** Reads SSE `next` events until `stop` says so or the stream ends. */
async function readSse(response: Response, stop: (events: unknown[]) => boolean): Promise<unknown[]> {
  const events: unknown[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!/^event: next$/m.test(block)) continue;
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data) events.push(JSON.parse(data));
    }
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

describe('subscriptions from a gRPC stream', () => {
  test('over SSE: every tick arrives, then the stream completes', async () => {
    const response = await fetch(`http://${base}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { count(count: 3, intervalMs: 1) { n } }' }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await readSse(response, () => false);
    assert.deepEqual(events, [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }, { data: { count: { n: '3' } } }]);
  });

  test('over SSE: a client that disconnects cancels the gRPC stream', async () => {
    const before = upstream.cancelled.Count ?? 0;
    const controller = new AbortController();
    const response = await fetch(`http://${base}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { count(count: 1000, intervalMs: 20) { n } }' }),
      signal: controller.signal,
    });
    const events = await readSse(response, (e) => e.length >= 2);
    assert.deepEqual(events.slice(0, 2), [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }]);
    controller.abort();
    await upstream.reached('cancelled', 'Count', before);
  });

  test('over WebSocket (graphql-ws): ticks arrive and the subscription completes', async (t) => {
    const client = wsClient();
    t.after(() => client.dispose());
    const events: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe({ query: 'subscription { count(count: 3, intervalMs: 1) { n } }' }, { next: (e) => void events.push(e), error: reject, complete: resolve });
    });
    assert.deepEqual(events, [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }, { data: { count: { n: '3' } } }]);
  });

  test('over WebSocket: unsubscribing cancels the gRPC stream; queries work on the same socket', async (t) => {
    const client = wsClient();
    t.after(() => client.dispose());
    const before = upstream.cancelled.Count ?? 0;
    let second!: () => void;
    const twoEvents = new Promise<void>((resolve) => (second = resolve));
    let events = 0;
    const unsubscribe = client.subscribe({ query: 'subscription { count(count: 1000, intervalMs: 20) { n } }' }, { next: () => void (++events === 2 && second()), error: () => undefined, complete: () => undefined });
    await twoEvents;
    unsubscribe();
    await upstream.reached('cancelled', 'Count', before);
    const answer = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: '{ getNextDay(input: "2024-01-01T00:00:00Z") }' }, { next: resolve, error: reject, complete: () => undefined });
    });
    assert.deepEqual(answer, { data: { getNextDay: '2024-01-02T00:00:00Z' } });
  });

  test('over WebSocket: closing the socket cancels the gRPC stream', async () => {
    const client = wsClient();
    const before = upstream.cancelled.Count ?? 0;
    await new Promise<void>((first) => {
      client.subscribe({ query: 'subscription { count(count: 1000, intervalMs: 20) { n } }' }, { next: () => first(), error: () => undefined, complete: () => undefined });
    });
    await client.dispose();
    await upstream.reached('cancelled', 'Count', before);
  });

  test('over WebSocket: an invalid operation gets validation errors, and no upstream call', async (t) => {
    const client = wsClient();
    t.after(() => client.dispose());
    const callsBefore = upstream.calls.Count ?? 0;
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { count(nope: 1) { n } }' }, { next: () => undefined, error: resolve, complete: () => resolve(undefined) });
    });
    assert.match((error as Array<{ message: string }>)[0]!.message, /Unknown argument "nope"/);
    assert.equal(upstream.calls.Count ?? 0, callsBefore);
  });
});

function wsClient(): Client {
  return createClient({ url: `ws://${base}`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
}
