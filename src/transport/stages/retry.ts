/**
 * Retries with a budget: an idempotent call whose attempt failed with
 * SOURCE_UNAVAILABLE, or whose answer asks for a retry (the protocol says
 * which: HTTP 429/502/503/504), is tried again on another instance after a
 * full-jitter backoff (or the upstream's Retry-After), while the attempts, the
 * request deadline and the upstream's retry budget allow (retry.ts). A call
 * that found no instance at all (every breaker open) is not retried.
 *
 * Failover: an idempotent call whose attempt failed at the connection, before
 * any byte of an answer (refused, reset, closed: the protocol's `unanswered`),
 * moves at once to an instance it has not tried, when one is available
 * (breaker closed, not marked down), without a wait and outside the retry
 * budget and `attempts` (once per call). It cannot amplify load on the
 * healthy instances: the failed attempt did no work on a live upstream (a
 * refused connection reached none; a reset one is an instance that died or
 * dropped it), each call moves at most once, so the instances that answer see
 * at most one attempt per call from it, and every such failure counts against
 * the failing instance's breaker, whose outlier detection ejects it after
 * `outliers.consecutiveFailures` in a row: from then on no call goes there
 * and nothing is moved. Any other failure is retried only within the budget.
 *
 * A retry skipped because the budget is spent is published on
 * `tessera:retry-budget` (free when nobody listens): a budget exhausted is
 * an upstream failing more than retries can hide.
 */
import { channel } from 'node:diagnostics_channel';
import type { TesseraError } from '../../errors.js';
import type { Protocol, Send, Stage, UpstreamCall } from '../call.js';
import { backoffDelay, RetryBudget, sleep } from '../retry.js';
import type { RequestScope } from '../../request-scope.js';
import { EVENTS, type RetryBudgetEvent } from '../../events.js';

export interface RetryOptions {
  /** Attempts in all for an idempotent call (1: no retry). */
  attempts: number;
  /** Base of the exponential backoff, ms. */
  backoff: number;
}

export const retryBudgetChannel = channel(EVENTS.retryBudget);

/** `spare`: is there an instance the call has not tried that would be chosen now (the pipeline's)? */
export function retryStage<C extends UpstreamCall<any>, R>(
  subgraph: string,
  options: RetryOptions,
  protocol: Protocol<C, R>,
  spare: (tried: ReadonlySet<NonNullable<C['member']>>) => boolean,
): Stage<C, R> {
  /** One budget per upstream: retries may add at most 20% to its calls. */
  const budget = new RetryBudget();
  /** A retry must fit in what is left of the deadline and in the retry budget. */
  const canRetry = (scope: RequestScope, waitMs: number): boolean => {
    if (scope.signal.aborted) return false;
    if (Date.now() + waitMs >= scope.deadline - 10) return false;
    if (budget.tryRetry()) return true;
    if (retryBudgetChannel.hasSubscribers) retryBudgetChannel.publish({ subgraph } satisfies RetryBudgetEvent);
    return false;
  };
  /** A failover needs time left, a client still there and a spare instance. */
  const canFailOver = (call: C): boolean => !call.scope.signal.aborted && Date.now() < call.scope.deadline - 10 && spare(call.tried!);
  return (next: Send<C, R>) => async (call) => {
    const attempts = call.idempotent ? options.attempts : 1;
    budget.recordCall();
    let failedOver = false;
    // Attempts that count against `attempts` and the backoff; a failover does not.
    let counted = 0;
    for (let attempt = 0; ; attempt++) {
      call.attempt = attempt;
      const last = counted + 1 >= attempts;
      let wait: number | undefined;
      try {
        const result = await next(call);
        if (last) return result;
        wait = protocol.retryWait(result, counted, options.backoff);
        if (wait === undefined || !canRetry(call.scope, wait)) return result;
      } catch (error) {
        if (call.member === undefined || (error as TesseraError).code !== 'SOURCE_UNAVAILABLE') throw error;
        (call.tried ??= new Set()).add(call.member);
        if (call.idempotent && !failedOver && protocol.unanswered(error as TesseraError) && canFailOver(call)) {
          failedOver = true;
          continue;
        }
        if (last) throw error;
        wait = backoffDelay(counted, options.backoff);
        if (!canRetry(call.scope, wait)) throw error;
      }
      counted++;
      (call.tried ??= new Set()).add(call.member!);
      await sleep(wait, call.scope.signal).catch(() => undefined);
    }
  };
}
