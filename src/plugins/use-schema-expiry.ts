/**
 * Ends the open subscriptions of a schema version a hot reload replaced, once
 * `registry.subscriptionGrace` has passed (the gateway aborts `expiry` then):
 * each gets one last result, a SCHEMA_RELOADED error telling the client to
 * subscribe again, then completes. The result comes between two events (an
 * event already being sent is sent whole), over SSE and WebSocket alike.
 * Until then a subscription runs on its version as if nothing had changed.
 */
import { isAsyncIterable } from '@envelop/core';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { TesseraError } from '../errors.js';

export const SCHEMA_RELOADED_MESSAGE =
  'The gateway loaded a new schema version and this subscription reached registry.subscriptionGrace on the previous one; subscribe again to continue on the new version.';

const EXPIRED = Symbol('expired');

/** `source`, ended by `expiry` with one SCHEMA_RELOADED error result; return() reaches the source at once. */
export function endOnExpiry(source: AsyncIterable<ExecutionResult>, expiry: AbortSignal): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let fire: (() => void) | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    fire = () => resolve(EXPIRED);
    if (expiry.aborted) fire();
    else expiry.addEventListener('abort', fire, { once: true });
  });
  const finish = (): void => {
    finished = true;
    if (fire) expiry.removeEventListener('abort', fire);
  };
  const done = (): IteratorResult<ExecutionResult> => ({ done: true, value: undefined });
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return done();
      const result = await Promise.race([iterator.next(), expired]);
      if (result === EXPIRED) {
        finish();
        // The source's streams are cancelled; its pending event, if any, is dropped.
        void iterator.return?.().catch(() => undefined);
        return { done: false, value: { errors: [new TesseraError('SCHEMA_RELOADED', SCHEMA_RELOADED_MESSAGE)] } };
      }
      if (result.done) finish();
      return result;
    },
    async return() {
      finish();
      await iterator.return?.();
      return done();
    },
    async throw(error: unknown) {
      finish();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}

/** The plugin of one schema version's channels: its subscriptions end when `expiry` aborts. */
export function useSchemaExpiry(expiry: AbortSignal): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(endOnExpiry(result as AsyncIterable<ExecutionResult>, expiry));
        },
      };
    },
  };
}
