/**
 * The descriptor's `breaker` applies to gRPC upstreams as to HTTP ones: an
 * instance answering UNAVAILABLE opens its breaker after `minCalls`, and
 * calls then fail at once without reaching the server; `breaker: false`
 * turns it off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kitchenDescriptor, loadGrpc } from '../kit/grpc.js';
import { startKitchen } from '../fixtures/grpc/kitchen-server.js';

const UNAVAILABLE = '{ getFailure(code: 14, message: "down") }';

test('a gRPC instance answering UNAVAILABLE opens its breaker: later calls never reach it', async (t) => {
  const server = await startKitchen();
  t.after(() => server.close());
  const source = await loadGrpc(t, kitchenDescriptor(server.url, { retry: { attempts: 1 }, breaker: { minCalls: 3, errorRate: 0.5, window: '10s', openFor: '30s' } }));
  for (let i = 0; i < 3; i++) assert.equal((await source.run(UNAVAILABLE)).errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  const reached = server.calls.GetFailure;
  assert.equal(reached, 3);
  const failedFast = await source.run(UNAVAILABLE);
  assert.equal(failedFast.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  assert.equal(server.calls.GetFailure, reached, 'the open breaker answered without a call');
});

test('breaker: false lets every call through', async (t) => {
  const server = await startKitchen();
  t.after(() => server.close());
  const source = await loadGrpc(t, kitchenDescriptor(server.url, { retry: { attempts: 1 }, breaker: false }));
  for (let i = 0; i < 25; i++) await source.run(UNAVAILABLE);
  assert.equal(server.calls.GetFailure, 25);
});
