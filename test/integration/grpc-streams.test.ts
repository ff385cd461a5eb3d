/**
 * Server-streaming methods as Subscription fields: events delivered in order,
 * the stream cancelled upstream when the subscriber leaves, and an upstream
 * failure in the middle delivered as a last event with the gRPC code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { createScope } from '../../src/request-scope.js';
import { kitchenDescriptor, loadGrpc, useKitchen } from '../kit/grpc.js';

const suite = useKitchen();

const plain = (r: ExecutionResult): unknown => JSON.parse(JSON.stringify(r));

describe('gRPC server streams as subscriptions', () => {
  test('every message arrives, in order, then the subscription completes', async () => {
    const events = [];
    for await (const event of await suite.kitchen.subscribe('subscription { count(count: 3, intervalMs: 1) { n } }')) events.push(plain(event));
    assert.deepEqual(events, [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }, { data: { count: { n: '3' } } }]);
  });

  test('a subscriber that leaves cancels the stream upstream', async () => {
    const before = suite.server.cancelled.Count ?? 0;
    const stream = await suite.kitchen.subscribe('subscription { count(count: 1000, intervalMs: 20) { n } }');
    const first = await stream.next();
    const second = await stream.next();
    assert.deepEqual([plain(first.value as ExecutionResult), plain(second.value as ExecutionResult)], [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }]);
    await stream.return(undefined);
    await suite.server.reached('cancelled', 'Count', before);
  });

  test('an aborted request scope (client disconnected) cancels the stream upstream', async () => {
    const before = suite.server.cancelled.Count ?? 0;
    const controller = new AbortController();
    const stream = await suite.kitchen.subscribe('subscription { count(count: 1000, intervalMs: 20) { n } }', undefined, createScope({ deadlineMs: 60_000, signal: controller.signal }));
    await stream.next();
    controller.abort();
    await suite.server.reached('cancelled', 'Count', before);
    // What is left of the stream ends quickly: at most one event saying the request was aborted.
    const rest = [];
    for await (const event of stream) rest.push(plain(event));
    assert.ok(rest.length <= 2, JSON.stringify(rest));
  });

  test('an upstream failure mid-stream arrives as a last event with the gRPC code, then the stream completes', async () => {
    const events = [];
    for await (const event of await suite.kitchen.subscribe('subscription { count(count: 10, intervalMs: 1, failAfter: 2) { n } }')) events.push(plain(event));
    assert.equal(events.length, 3);
    assert.deepEqual(events.slice(0, 2), [{ data: { count: { n: '1' } } }, { data: { count: { n: '2' } } }]);
    const last = events[2] as ExecutionResult;
    assert.deepEqual(last.data, { count: null });
    assert.equal(last.errors?.[0]?.extensions?.code, 'GRPC_STATUS');
    assert.deepEqual(last.errors?.[0]?.extensions?.grpc, { code: 'DATA_LOSS', message: 'the counter broke' });
  });

  test('a stream cannot outlive streamTimeout', async (t) => {
    const short = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'short', streamTimeout: '200ms' }));
    const events = [];
    for await (const event of await short.subscribe('subscription { count(count: 1000, intervalMs: 20) { n } }')) events.push(plain(event));
    const last = events.at(-1) as ExecutionResult;
    assert.equal(last.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.ok(events.length > 1 && events.length < 1000);
  });
});
