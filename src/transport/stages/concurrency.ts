/**
 * Adaptive protection of a struggling subgraph (descriptor `adaptiveConcurrency:`):
 * each attempt takes a slot of the subgraph's adaptive concurrency limit
 * (concurrency.ts: AIMD on latency) for as long as it runs; an attempt that
 * finds every slot taken is not sent and not queued, it fails at once with
 * SUBGRAPH_OVERLOADED, so a slow upstream sheds load and recovers while the
 * rest of the graph stays fast. Its fields are null with that error, at
 * their path, like any upstream failure; the retry stage does not retry it.
 *
 * State changes go to `tessera:concurrency` (ConcurrencyEvent) for metrics,
 * the status page and the log, free when nobody listens. Not in the
 * pipeline at all when the descriptor has no `adaptiveConcurrency:`.
 */
import { channel } from 'node:diagnostics_channel';
import { TesseraError } from '../../errors.js';
import { EVENTS, type ConcurrencyEvent } from '../../events.js';
import { AdaptiveLimit, type ConcurrencyOptions } from '../concurrency.js';
import type { Send, Stage, UpstreamCall } from '../call.js';

export const concurrencyChannel = channel(EVENTS.concurrency);

export function concurrencyStage<C extends UpstreamCall<any>, R>(subgraph: string, options: ConcurrencyOptions): Stage<C, R> {
  const limiter = new AdaptiveLimit(options);
  const event: ConcurrencyEvent = { subgraph, change: 'in-flight', limit: limiter.limit, previous: limiter.limit, inFlight: 0, shed: 0 };
  const publish = (change: ConcurrencyEvent['change'], previous = limiter.limit): void => {
    if (!concurrencyChannel.hasSubscribers) return;
    event.change = change;
    event.limit = limiter.limit;
    event.previous = previous;
    event.inFlight = limiter.inFlight;
    event.shed = limiter.shed;
    concurrencyChannel.publish(event);
  };
  return (next: Send<C, R>) => (call) => {
    if (!limiter.tryAcquire()) {
      publish('shed');
      return Promise.reject(
        new TesseraError(
          'SUBGRAPH_OVERLOADED',
          `Subgraph "${subgraph}" was not called: it is overloaded (${limiter.inFlight} calls in flight at its adaptive concurrency limit of ${limiter.limit}).`,
          { extensions: { subgraph, limit: limiter.limit } },
        ),
      );
    }
    const inUse = limiter.inFlight;
    const started = performance.now();
    publish('in-flight');
    const release = (outcome: 'answered' | 'timeout' | 'other'): void => {
      const previous = limiter.limit;
      if (limiter.release(started, inUse, performance.now() - started, outcome)) publish('limit', previous);
      publish('in-flight');
    };
    return next(call).then(
      (result) => {
        release('answered');
        return result;
      },
      (error: TesseraError) => {
        release(error.code === 'GATEWAY_TIMEOUT' && !call.scope.signal.aborted ? 'timeout' : 'other');
        throw error;
      },
    );
  };
}
