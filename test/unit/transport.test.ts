/** Balancer, breaker and retry arithmetic, with a fake clock where time matters; the request scope's signal. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { WeightedBalancer } from '../../src/transport/balancer.js';
import { CircuitBreaker } from '../../src/transport/breaker.js';
import { backoffDelay, RetryBudget, retryAfterMs } from '../../src/transport/retry.js';
import { upstreamHeaders } from '../../src/transport/headers.js';
import { createScope } from '../../src/request-scope.js';

test('smooth weighted round-robin gives each instance exactly its share in every cycle', () => {
  const a = { name: 'a', weight: 95 };
  const b = { name: 'b', weight: 5 };
  const balancer = new WeightedBalancer([a, b]);
  const picks = Array.from({ length: 200 }, () => balancer.pick()!.name);
  assert.equal(picks.filter((p) => p === 'b').length, 10);
  assert.equal(picks.slice(0, 100).filter((p) => p === 'b').length, 5, 'the share holds in each cycle of 100');
  assert.equal(balancer.pick((item) => item === a)!.name, 'b', 'skipped items are not chosen');
  assert.equal(balancer.pick(() => true), undefined);
  const zero = new WeightedBalancer([{ weight: 0 }, { weight: 1 }]);
  assert.equal(zero.pick()!.weight, 1);
});

test('the breaker opens at the error rate over the minimum calls, fails fast, then lets one probe through', () => {
  let now = 1_000;
  const states: string[] = [];
  const breaker = new CircuitBreaker({ errorRate: 0.5, minCalls: 4, windowMs: 10_000, openForMs: 30_000 }, () => now, (s) => states.push(s));
  breaker.record(false);
  breaker.record(false);
  breaker.record(false);
  assert.equal(breaker.current, 'closed', 'fewer calls than minCalls never open it');
  breaker.record(true);
  assert.equal(breaker.current, 'open', '3 of 4 failed');
  assert.equal(breaker.allow(), false);
  now += 29_999;
  assert.equal(breaker.allow(), false);
  now += 1;
  assert.equal(breaker.current, 'half-open');
  assert.equal(breaker.allow(), true, 'one probe');
  assert.equal(breaker.allow(), false, 'only one');
  breaker.record(false);
  assert.equal(breaker.current, 'open', 'a failed probe opens it again');
  now += 30_000;
  assert.equal(breaker.allow(), true);
  breaker.record(true);
  assert.equal(breaker.current, 'closed');
  assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
});

test('old failures leave the breaker window', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ errorRate: 0.5, minCalls: 4, windowMs: 10_000, openForMs: 30_000 }, () => now);
  for (let i = 0; i < 3; i++) breaker.record(false);
  now += 11_000;
  for (let i = 0; i < 3; i++) breaker.record(true);
  breaker.record(false);
  assert.equal(breaker.current, 'closed', '1 failure in 4 within the window');
});

test('retry budget: at most 20% extra with a floor of 3 per window; full-jitter backoff; Retry-After parsing', () => {
  const budget = new RetryBudget({ ratio: 0.2, minPerWindow: 3, windowMs: 10_000 });
  for (let i = 0; i < 50; i++) budget.recordCall();
  let granted = 0;
  while (budget.tryRetry()) granted++;
  assert.equal(granted, 10);
  const small = new RetryBudget();
  small.recordCall();
  assert.equal([small.tryRetry(), small.tryRetry(), small.tryRetry(), small.tryRetry()].filter(Boolean).length, 3);
  assert.equal(backoffDelay(0, 100, () => 0.999), 99);
  assert.equal(backoffDelay(3, 100, () => 0.5), 400);
  assert.equal(retryAfterMs('2'), 2000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(retryAfterMs('soon'), undefined);
});

test('row 36: hop-by-hop and framing headers are never forwarded, even when listed', () => {
  const client = new Headers({ host: 'evil', 'content-length': '5', 'transfer-encoding': 'chunked', connection: 'close', 'x-ok': 'yes', authorization: 'Bearer t' });
  const out = upstreamHeaders({ headers: client }, { forward: ['host', 'content-length', 'transfer-encoding', 'connection', 'x-ok'], set: { 'x-static': '1' } }, { 'content-type': 'application/json' });
  assert.deepEqual(out, { 'content-type': 'application/json', 'x-ok': 'yes', 'x-static': '1' });
});

test('a request scope follows its signal with one listener, however many calls follow the scope', () => {
  const controller = new AbortController();
  const scope = createScope({ deadlineMs: 5000, signal: controller.signal });
  const seen: unknown[] = [];
  const calls = Array.from({ length: 12 }, (_, i) => (reason: unknown) => seen.push([i, reason]));
  for (const call of calls) scope.onAbort(call);
  assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 1);
  scope.offAbort(calls[3]!);
  controller.abort('gone');
  assert.equal(seen.length, 11, 'every call still following, once each');
  assert.ok(!seen.some((s) => (s as unknown[])[0] === 3), 'not the one that stopped following');
  assert.ok(seen.every((s) => (s as unknown[])[1] === 'gone'));
  // After the abort, a new call is told at once.
  let late: unknown;
  scope.onAbort((reason) => (late = reason));
  assert.equal(late, 'gone');
  // A scope whose signal aborted before any call tells the first call at once.
  const early = new AbortController();
  early.abort('before');
  let first: unknown;
  createScope({ deadlineMs: 5000, signal: early.signal }).onAbort((reason) => (first = reason));
  assert.equal(first, 'before');
});
