/**
 * One event per attempt on `tessera:upstream` (diagnostics_channel), for
 * metrics, logs and tracing: which instance, how long, and the status or the
 * error code. The same event object is published first on
 * `tessera:upstream:start` when the attempt starts (in-flight gauges), and,
 * when its request's account records attempts (the request log, the
 * metrics), added there as it ends. Costs nothing when nobody reads either.
 */
import { channel } from 'node:diagnostics_channel';
import type { TesseraError } from '../../errors.js';
import type { Member, Protocol, Send, Stage, UpstreamCall } from '../call.js';
import { EVENTS, type UpstreamEvent } from '../../events.js';

export const upstreamChannel = channel(EVENTS.upstream);
/** The event of an attempt as it starts (its outcome not known yet); `tessera:upstream` follows with the same object. */
export const upstreamStartChannel = channel(EVENTS.upstreamStart);

/** The event of one attempt (or stream) on `member`, before its outcome is known. */
export function upstreamEvent(subgraph: string, member: Member, method: string, attempt: number, operation?: string): UpstreamEvent {
  return { subgraph, instance: member.url, version: member.version, method, operation, started: performance.now(), durationMs: 0, attempt };
}

/** Sets the event's outcome. */
function ended(event: UpstreamEvent, code: string | undefined, status?: number, started = event.started): void {
  event.durationMs = performance.now() - started;
  if (status !== undefined) event.status = status;
  if (code) event.code = code;
}

/** Publishes the event of a stream (no request of its own) with its outcome, if anyone listens. */
export function publishUpstream(event: UpstreamEvent, started: number, code: string | undefined, status?: number): void {
  if (!upstreamChannel.hasSubscribers) return;
  ended(event, code, status, started);
  upstreamChannel.publish(event);
}

export function observeStage<C extends UpstreamCall<any>, R>(subgraph: string, protocol: Protocol<C, R>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    const attempts = call.scope.account?.attempts;
    if (!attempts && !upstreamChannel.hasSubscribers && !upstreamStartChannel.hasSubscribers) return next(call);
    const event = upstreamEvent(subgraph, call.member as Member, call.operation, call.attempt, call.endpoint);
    event.scope = call.scope;
    if (upstreamStartChannel.hasSubscribers) upstreamStartChannel.publish(event);
    return next(call).then(
      (result) => {
        ended(event, undefined, protocol.status(result));
        attempts?.push(event);
        if (upstreamChannel.hasSubscribers) upstreamChannel.publish(event);
        return result;
      },
      (error: TesseraError) => {
        const grpc = error.extensions?.grpc as { code?: unknown } | undefined;
        if (typeof grpc?.code === 'string') event.grpcCode = grpc.code;
        ended(event, error.code);
        attempts?.push(event);
        if (upstreamChannel.hasSubscribers) upstreamChannel.publish(event);
        throw error;
      },
    );
  };
}

export type { UpstreamEvent };
