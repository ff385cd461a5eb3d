/**
 * Canary versions (descriptor `canary:`, canary.ts): before each attempt,
 * the version a sticky caller's call goes to (the instance choice below then
 * keeps to it), and after it, the attempt's outcome and duration recorded on
 * its version for the canary guard. Failures the client caused (it went
 * away, or its deadline ended the call) say nothing of the version and are
 * not recorded, as for the breaker; an attempt that found no instance is not
 * recorded either. Streams, which do not pass through the stages, take
 * their version from the same `versionFor` (pipeline.ts `chooseStream`).
 */
import type { TesseraError } from '../../errors.js';
import type { Canary } from '../canary.js';
import type { Member, Protocol, Send, Stage, UpstreamCall } from '../call.js';

export function canaryStage<M extends Member, C extends UpstreamCall<M>, R>(canary: Canary<M>, protocol: Protocol<C, R>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    call.version = canary.versionFor(call.scope, call.tried);
    if (!canary.guarding) return next(call);
    const started = performance.now();
    return next(call).then(
      (result) => {
        if (call.member) canary.record(call.member, call.idempotent, performance.now() - started, !protocol.healthy(result));
        return result;
      },
      (error: TesseraError) => {
        if (call.member && error.code !== 'REQUEST_ABORTED' && !call.scope.signal.aborted) {
          canary.record(call.member, call.idempotent, performance.now() - started, !protocol.healthyFailure(error));
        }
        throw error;
      },
    );
  };
}
