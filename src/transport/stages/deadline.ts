/**
 * The request deadline, per attempt: each attempt may take the descriptor's
 * timeout, capped by what is left of the request's deadline (backoff waits
 * use some of it). An attempt with no time left, or whose client has gone
 * away, is not sent at all.
 */
import type { Protocol, Send, Stage, UpstreamCall } from '../call.js';

export function deadlineStage<C extends UpstreamCall<any>, R>(timeoutMs: number, protocol: Protocol<C, R>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    const { scope } = call;
    call.timeoutMs = Math.min(timeoutMs, scope.deadline - Date.now());
    if (call.timeoutMs <= 0 || scope.signal.aborted) return Promise.reject(protocol.refused(call));
    return next(call);
  };
}
