/**
 * Row 28 of docs/reliability.md: a gRPC peer that dies without a word. Against a
 * TCP server that accepts and never answers, and a real gRPC server whose
 * process is paused (SIGSTOP) after the channel is up: every call carries a
 * deadline (the descriptor timeout, capped by what is left of the request's
 * budget) and fails with GATEWAY_TIMEOUT; with keepalive configured, an
 * unanswered HTTP/2 ping ends the calls on the dead connection with
 * SOURCE_UNAVAILABLE long before their deadline. The tests assert codes and
 * counts, never times: a call that waited for its 60 s deadline instead of the
 * keepalive would end GATEWAY_TIMEOUT, not SOURCE_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { createScope } from '../../src/request-scope.js';
import { FIXTURES, kitchenDescriptor, loadGrpc } from '../kit/grpc.js';
import { startPausablePeer, startSilentPeer } from '../fixtures/grpc/peers.js';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';

const NEXT_DAY = '{ getNextDay(input: "2024-01-01T00:00:00Z") }';

/** Short keepalive: a ping 250 ms into a call, and 250 ms for its answer (the kitchen server, grpc-js, allows frequent pings). */
const FAST_KEEPALIVE = { time: '250ms', timeout: '250ms' };

function grpcCode(result: ExecutionResult, index = 0): string | undefined {
  return (result.errors?.[index]?.extensions?.grpc as { code?: string } | undefined)?.code;
}

describe('a peer that accepts the connection and never answers', () => {
  test('the call fails with GATEWAY_TIMEOUT at the descriptor timeout', async (t) => {
    const peer = await startSilentPeer(t);
    const silent = await loadGrpc(t, kitchenDescriptor(peer.url, { name: 'silent', timeout: '200ms' }));
    const result = await silent.run(NEXT_DAY);
    assert.deepEqual(result.data, { getNextDay: null });
    assert.deepEqual(result.errors?.[0]?.path, ['getNextDay']);
    assert.equal(result.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.equal(grpcCode(result), 'DEADLINE_EXCEEDED');
    assert.equal(result.errors?.[0]?.extensions?.subgraph, 'silent');
    assert.match(result.errors![0]!.message, /No answer in time from subgraph "silent": timed out after \d+ ms/);
    // The gateway connects (this is not "connection refused"), on a loaded machine maybe only after the deadline.
    await peer.firstConnection;
    assert.ok(peer.accepted >= 1);
  });

  test('what is left of the request budget caps the deadline when it is shorter than the timeout', async (t) => {
    const peer = await startSilentPeer(t);
    const silent = await loadGrpc(t, kitchenDescriptor(peer.url, { name: 'silent', timeout: '60s' }));
    const result = await silent.run(NEXT_DAY, undefined, createScope({ deadlineMs: 200 }));
    assert.equal(result.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.equal(grpcCode(result), 'DEADLINE_EXCEEDED');
  });

  test('a subscription ends with one GATEWAY_TIMEOUT event at the request deadline', async (t) => {
    const peer = await startSilentPeer(t);
    const silent = await loadGrpc(t, kitchenDescriptor(peer.url, { name: 'silent' }));
    const stream = await silent.subscribe('subscription { count(count: 3) { n } }', undefined, createScope({ deadlineMs: 200 }));
    const events: ExecutionResult[] = [];
    for await (const event of stream) events.push(JSON.parse(JSON.stringify(event)) as ExecutionResult);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.equal(grpcCode(events[0]!), 'DEADLINE_EXCEEDED');
  });

  test('through the gateway: HTTP 200, the other source answers, the gRPC field is null with GATEWAY_TIMEOUT', async (t) => {
    const peer = await startSilentPeer(t);
    const hello = await startGraphqlUpstream(t, 'type Query { hello: String! }', { Query: { hello: () => 'world' } });
    const gateway = await startGateway(
      t,
      [
        { name: 'hello', kind: 'graphql', url: hello.url },
        { name: 'kitchen', kind: 'grpc', dir: FIXTURES, source: './kitchen.proto', includePaths: ['./include'], url: peer.url, readOnly: ['Get*'], timeout: '30s' },
      ],
      { server: { requestDeadline: '300ms' } },
    );
    const response = await gateway.query(`{ hello ${NEXT_DAY.slice(1, -1)} }`);
    assert.equal(response.status, 200);
    assert.equal(response.body.data?.hello, 'world');
    assert.equal(response.body.data?.getNextDay, null);
    const error = response.body.errors?.find((e) => e.path?.[0] === 'getNextDay');
    assert.equal(error?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.equal(error?.extensions?.grpc?.code, 'DEADLINE_EXCEEDED');
  });
});

describe('a gRPC server that stops answering on an established channel (process paused)', () => {
  test('the next call fails with GATEWAY_TIMEOUT at its deadline', async (t) => {
    const peer = await startPausablePeer(t);
    const kitchen = await loadGrpc(t, kitchenDescriptor(peer.url, { name: 'paused', timeout: '300ms' }));
    assert.deepEqual(await kitchen.run(NEXT_DAY), { data: { getNextDay: '2024-01-02T00:00:00Z' } }, 'the channel is up');
    peer.pause();
    const result = await kitchen.run(NEXT_DAY);
    assert.equal(result.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.equal(grpcCode(result), 'DEADLINE_EXCEEDED');
  });

  test('with keepalive configured, the unanswered ping ends the call with SOURCE_UNAVAILABLE before its 60 s deadline', async (t) => {
    const peer = await startPausablePeer(t);
    const kitchen = await loadGrpc(
      t,
      // One attempt: a retry would wait for a connection the paused process never completes, until the deadline.
      kitchenDescriptor(peer.url, { name: 'paused', timeout: '60s', keepalive: FAST_KEEPALIVE, retry: { attempts: 1 } }),
    );
    const scope = (): ReturnType<typeof createScope> => createScope({ deadlineMs: 60_000 });
    assert.deepEqual(await kitchen.run(NEXT_DAY, undefined, scope()), { data: { getNextDay: '2024-01-02T00:00:00Z' } }, 'the channel is up');
    peer.pause();
    const result = await kitchen.run(NEXT_DAY, undefined, scope());
    assert.deepEqual(result.data, { getNextDay: null });
    assert.equal(result.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
    assert.equal(grpcCode(result), 'UNAVAILABLE');
  });

  test('with keepalive configured, a subscription on the dead connection ends with a SOURCE_UNAVAILABLE event', async (t) => {
    const peer = await startPausablePeer(t);
    const kitchen = await loadGrpc(t, kitchenDescriptor(peer.url, { name: 'paused', keepalive: FAST_KEEPALIVE }));
    const stream = await kitchen.subscribe('subscription { count(count: 100000, intervalMs: 10) { n } }', undefined, createScope({ deadlineMs: 60_000 }));
    const events: ExecutionResult[] = [];
    for await (const event of stream) {
      events.push(JSON.parse(JSON.stringify(event)) as ExecutionResult);
      if (events.length === 1) peer.pause();
    }
    const last = events.at(-1)!;
    assert.equal(last.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
    assert.equal(grpcCode(last), 'UNAVAILABLE');
    assert.ok(events.length < 100_000, 'the stream ended early, on the dead connection');
    assert.deepEqual(events[0], { data: { count: { n: '1' } } });
  });
});
