/**
 * Retries with a budget: an idempotent call whose attempt failed with
 * SOURCE_UNAVAILABLE, or whose answer asks for a retry (the protocol says
 * which: HTTP 429/502/503/504), is tried again on another instance after a
 * full-jitter backoff (or the upstream's Retry-After), while the attempts, the
 * request deadline and the upstream's retry budget allow (retry.ts). A call
 * that found no instance at all (every breaker open) is not retried.
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

export function retryStage<C extends UpstreamCall<any>, R>(subgraph: string, options: RetryOptions, protocol: Protocol<C, R>): Stage<C, R> {
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
  return (next: Send<C, R>) => async (call) => {
    const attempts = call.idempotent ? options.attempts : 1;
    budget.recordCall();
    for (let attempt = 0; ; attempt++) {
      call.attempt = attempt;
      const last = attempt + 1 >= attempts;
      let wait: number | undefined;
      try {
        const result = await next(call);
        if (last) return result;
        wait = protocol.retryWait(result, attempt, options.backoff);
        if (wait === undefined || !canRetry(call.scope, wait)) return result;
      } catch (error) {
        if (last || call.member === undefined || (error as TesseraError).code !== 'SOURCE_UNAVAILABLE') throw error;
        wait = backoffDelay(attempt, options.backoff);
        if (!canRetry(call.scope, wait)) throw error;
      }
      (call.tried ??= new Set()).add(call.member);
      await sleep(wait, call.scope.signal).catch(() => undefined);
    }
  };
}
