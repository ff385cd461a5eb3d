/**
 * One event per attempt on `tessera:upstream` (diagnostics_channel), for
 * metrics, logs and tracing: which instance, how long, and the status or the
 * error code. Costs nothing when nobody listens.
 */
import { channel } from 'node:diagnostics_channel';
import type { TesseraError } from '../../errors.js';
import type { RequestScope } from '../../request-scope.js';
import type { Member, Protocol, Send, Stage, UpstreamCall } from '../call.js';

/** Published once per attempt on `tessera:upstream` (for metrics and tracing; free when nobody listens). */
export interface UpstreamEvent {
  subgraph: string;
  instance: string;
  version?: string;
  method: string;
  status?: number;
  code?: string;
  durationMs: number;
  attempt: number;
  /** The client request that caused the call (absent for a stream): the request log sums its calls per request. */
  scope?: RequestScope;
}

export const upstreamChannel = channel('tessera:upstream');

/** The event of one attempt (or stream) on `member`, before its outcome is known. */
export function upstreamEvent(subgraph: string, member: Member, method: string, attempt: number): UpstreamEvent {
  return { subgraph, instance: member.url, version: member.version, method, durationMs: 0, attempt };
}

/** Publishes the event with its outcome, if anyone listens. */
export function publishUpstream(event: UpstreamEvent, started: number, code: string | undefined, status?: number): void {
  if (!upstreamChannel.hasSubscribers) return;
  event.durationMs = performance.now() - started;
  if (status !== undefined) event.status = status;
  if (code) event.code = code;
  upstreamChannel.publish(event);
}

export function observeStage<C extends UpstreamCall<any>, R>(subgraph: string, protocol: Protocol<C, R>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    if (!upstreamChannel.hasSubscribers) return next(call);
    const started = performance.now();
    const event = upstreamEvent(subgraph, call.member as Member, call.operation, call.attempt);
    event.scope = call.scope;
    return next(call).then(
      (result) => {
        publishUpstream(event, started, undefined, protocol.status(result));
        return result;
      },
      (error: TesseraError) => {
        publishUpstream(event, started, error.code);
        throw error;
      },
    );
  };
}
