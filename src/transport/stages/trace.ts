/**
 * One CLIENT span per attempt, when the request is traced (`scope.trace`,
 * set by telemetry/tracing.ts): subgraph, instance, version, attempt number,
 * and what the protocol adds (HTTP method and path template, or the gRPC
 * service and method; the status). The span's W3C context goes on the call
 * (`traceHeaders`) for the attempt to send, so the upstream's parent is this
 * attempt's span. An untraced request costs one check here.
 */
import type { TesseraError } from '../../errors.js';
import type { TraceAttributes } from '../../request-scope.js';
import type { Member, Protocol, Send, Stage, UpstreamCall } from '../call.js';

/** The attributes of an instance, made on its first traced attempt. */
const instances = new WeakMap<Member, TraceAttributes>();

/** What every span of an attempt or stream on `member` says about where it went. */
export function instanceAttributes(subgraph: string, member: Member): TraceAttributes {
  let attributes = instances.get(member);
  if (!attributes) {
    let address: string | undefined;
    let port: number | undefined;
    try {
      const url = new URL(member.url);
      address = url.hostname.replace(/^\[(.*)\]$/, '$1');
      port = url.port ? Number(url.port) : undefined;
    } catch {
      // A gRPC target that is not a URL (dns:, unix:): the instance attribute still names it.
    }
    // Frozen: shared by every span to this instance, whose encoding the exporter then keeps (telemetry/otlp-json.ts).
    attributes = Object.freeze({ 'tessera.subgraph': subgraph, 'tessera.instance': member.url, 'tessera.version': member.version, 'server.address': address, 'server.port': port });
    instances.set(member, attributes);
  }
  return attributes;
}

export function traceStage<C extends UpstreamCall<any>, R>(subgraph: string, protocol: Protocol<C, R>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    const trace = call.scope.trace;
    if (!trace) return next(call);
    const shape = protocol.span(call);
    const span = trace.startUpstream(shape.name, instanceAttributes(subgraph, call.member as Member), shape.attributes, call.attempt);
    call.traceHeaders = span.headers;
    return next(call).then(
      (result) => {
        const outcome = protocol.spanOutcome(result, undefined);
        span.end(outcome.attributes, outcome.errorCode);
        return result;
      },
      (error: TesseraError) => {
        const outcome = protocol.spanOutcome(undefined, error);
        span.end(outcome.attributes, outcome.errorCode ?? error.code);
        throw error;
      },
    );
  };
}
