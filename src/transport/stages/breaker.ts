/**
 * The breaker hears every attempt: the outcome of each one is recorded on the
 * breaker of the instance it went to. Failures the client caused (it went
 * away, or its own deadline ended the call) say nothing of the instance and
 * are not counted; the protocol says which answers and failures are healthy.
 */
import type { TesseraError } from '../../errors.js';
import type { Member, Protocol, Send, Stage, UpstreamCall } from '../call.js';
import type { RequestScope } from '../../request-scope.js';

/** Records a failed attempt (or stream) on its instance's breaker, unless the client caused it. */
export function recordFailure(member: Member, error: TesseraError, scope: RequestScope, healthyFailure: (error: TesseraError) => boolean): void {
  if (!member.breaker || error.code === 'REQUEST_ABORTED' || scope.signal.aborted) return;
  member.breaker.record(healthyFailure(error));
}

export function breakerStage<C extends UpstreamCall<any>, R>(protocol: Protocol<C, R>): Stage<C, R> {
  const healthyFailure = protocol.healthyFailure.bind(protocol);
  return (next: Send<C, R>) => (call) => {
    const member = call.member as Member;
    const breaker = member.breaker;
    if (!breaker) return next(call);
    return next(call).then(
      (result) => {
        breaker.record(protocol.healthy(result));
        return result;
      },
      (error: TesseraError) => {
        recordFailure(member, error, call.scope, healthyFailure);
        throw error;
      },
    );
  };
}
