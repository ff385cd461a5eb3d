/** The adaptive concurrency limit's arithmetic (AIMD on latency), and its configuration's errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseDescriptor } from '../../src/config/load.js';
import { AdaptiveLimit } from '../../src/transport/concurrency.js';

const OPTIONS = { initialLimit: 10, minLimit: 2, maxLimit: 12, latencyMs: 100, backoff: 0.5 };

test('calls over the limit are shed, never queued; a slot comes back when a call ends', () => {
  const limit = new AdaptiveLimit({ ...OPTIONS, initialLimit: 2 });
  assert.equal(limit.tryAcquire(), true);
  assert.equal(limit.tryAcquire(), true);
  assert.equal(limit.tryAcquire(), false);
  assert.equal(limit.shed, 1);
  limit.release(performance.now(), 2, 5, 'other');
  assert.equal(limit.tryAcquire(), true);
});

test('a slow answer or a timeout halves the limit (backoff 0.5), once per round trip, down to minLimit', () => {
  const limit = new AdaptiveLimit(OPTIONS);
  const started = performance.now();
  for (let i = 0; i < 4; i++) limit.tryAcquire();
  // Four slow answers of calls started together: one cut, not four.
  assert.equal(limit.release(started, 4, 300, 'answered'), true);
  assert.equal(limit.limit, 5);
  for (let i = 0; i < 3; i++) assert.equal(limit.release(started, 4, 300, 'answered'), false);
  assert.equal(limit.limit, 5);
  // Calls started after the cut cut again.
  for (let i = 0; i < 3; i++) {
    limit.tryAcquire();
    limit.release(performance.now() + 1, 1, 0, 'timeout');
  }
  assert.equal(limit.limit, 2, 'never below minLimit');
});

test('fast answers grow the limit by about one per limit of answers while it is in use, up to maxLimit; an idle limit does not grow', () => {
  const limit = new AdaptiveLimit(OPTIONS);
  // In use: 5 of 10 in flight when each started.
  for (let i = 0; i < 10; i++) {
    limit.tryAcquire();
    limit.release(performance.now(), 5, 10, 'answered');
  }
  assert.equal(limit.limit, 10, 'ten answers add 10 × 1/10: just under 11');
  for (let i = 0; i < 200; i++) {
    limit.tryAcquire();
    limit.release(performance.now(), 10, 10, 'answered');
  }
  assert.equal(limit.limit, 12, 'never above maxLimit');
  const idle = new AdaptiveLimit(OPTIONS);
  for (let i = 0; i < 100; i++) {
    idle.tryAcquire();
    idle.release(performance.now(), 1, 10, 'answered');
  }
  assert.equal(idle.limit, 10);
  // A failure that says nothing about load (refused, an error answer) leaves it as it is.
  idle.tryAcquire();
  assert.equal(idle.release(performance.now(), 10, 500, 'other'), false);
  assert.equal(idle.limit, 10);
});

test('adaptiveConcurrency: bad values name the file, the key and what is expected', () => {
  const base = { name: 'a', kind: 'graphql', url: 'http://127.0.0.1:1' };
  const problems = (adaptiveConcurrency: unknown): string[] => {
    try {
      parseDescriptor({ ...base, adaptiveConcurrency }, 'a.subgraph.yaml', '/', {});
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.problems;
    }
    return [];
  };
  assert.deepEqual(problems({}), []);
  assert.deepEqual(problems({ minLimit: 10, maxLimit: 5, initialLimit: 5 }), ['a.subgraph.yaml: adaptiveConcurrency.minLimit: minLimit must not be above maxLimit']);
  assert.match(problems({ backoff: 1 }).join('\n'), /^a\.subgraph\.yaml: adaptiveConcurrency\.backoff: /);
  assert.match(problems({ latency: 'soon' }).join('\n'), /adaptiveConcurrency\.latency: expected a duration/);
  assert.match(problems({ latncy: '1s' }).join('\n'), /adaptiveConcurrency\.latncy: unknown key \(did you mean `latency`\?\)/);
  const parsed = parseDescriptor({ ...base, adaptiveConcurrency: { latency: '250ms' } }, 'a.subgraph.yaml', '/', {});
  assert.deepEqual(parsed.adaptiveConcurrency, { initialLimit: 20, minLimit: 1, maxLimit: 200, latencyMs: 250, backoff: 0.75 });
  // The default initial limit within a smaller maximum.
  assert.equal(parseDescriptor({ ...base, adaptiveConcurrency: { maxLimit: 8 } }, 'a.subgraph.yaml', '/', {}).adaptiveConcurrency?.initialLimit, 8);
  assert.equal(parseDescriptor(base, 'a.subgraph.yaml', '/', {}).adaptiveConcurrency, undefined, 'off when absent');
  const outliers = parseDescriptor({ ...base, outliers: { failureRate: {} } }, 'a.subgraph.yaml', '/', {}).outliers;
  assert.deepEqual(outliers, { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectedPercent: 50, failureRate: { minCalls: 20, margin: 0.2 } });
});
