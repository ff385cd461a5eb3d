/**
 * plugins/use-schema-expiry.ts: a subscription on a replaced schema version
 * ends at registry.subscriptionGrace with one SCHEMA_RELOADED result, even
 * while its source waits for its next event; a client that leaves first
 * reaches the source at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionResult } from 'graphql';
import { endOnExpiry } from '../../src/plugins/use-schema-expiry.js';

/** A source that yields one event, then waits for ever; `returned` counts return() calls. */
function stalled(): { source: AsyncIterable<ExecutionResult>; returned: () => number } {
  let returned = 0;
  let sent = false;
  const iterator: AsyncIterator<ExecutionResult> = {
    next: () => {
      if (!sent) {
        sent = true;
        return Promise.resolve({ done: false, value: { data: { ticks: 0 } } });
      }
      return new Promise(() => undefined);
    },
    return: async () => {
      returned++;
      return { done: true, value: undefined };
    },
  };
  return { source: { [Symbol.asyncIterator]: () => iterator }, returned: () => returned };
}

test('at expiry: one SCHEMA_RELOADED result between events, then done; the source is returned', async () => {
  const { source, returned } = stalled();
  const expiry = new AbortController();
  const stream = endOnExpiry(source, expiry.signal);
  assert.deepEqual(await stream.next(), { done: false, value: { data: { ticks: 0 } } });
  const waiting = stream.next();
  expiry.abort();
  const last = await waiting;
  assert.equal(last.done, false);
  assert.equal((last.value as ExecutionResult).errors?.[0]?.extensions?.code, 'SCHEMA_RELOADED');
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
  assert.equal(returned(), 1);
});

test('a client that leaves before expiry returns the source at once, and a later expiry sends nothing', async () => {
  const { source, returned } = stalled();
  const expiry = new AbortController();
  const stream = endOnExpiry(source, expiry.signal);
  await stream.next();
  await stream.return!();
  assert.equal(returned(), 1);
  expiry.abort();
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
});
