/**
 * The errors a REST call can end in, beyond the transport's own
 * (SOURCE_UNAVAILABLE, GATEWAY_TIMEOUT, SOURCE_RESPONSE_TOO_LARGE from
 * transport/http.ts).
 *
 * The upstream status travels in `extensions.upstream.status`, not in
 * `extensions.http.status`: Yoga turns the latter into the gateway's own HTTP
 * status (and strips it from the body), and an upstream 404 on one field must
 * not make the whole GraphQL response a 404.
 */
import { channel } from 'node:diagnostics_channel';
import type { Descriptor } from '../../config/descriptor.js';
import { TesseraError } from '../../errors.js';
import { parseUpstreamJson } from '../json.js';
import type { Mode } from '../types.js';

/** Published when a response breaks the document (lenient mode nulls the value and reports it). */
export const violationChannel = channel('tessera:openapi:violation');

export interface ViolationEvent {
  subgraph: string;
  type: string;
  property: string;
}

export function httpError(
  descriptor: Descriptor,
  mode: Mode,
  operation: string,
  status: number,
  contentType: string,
  body: Buffer,
  bodyLimit: number,
): TesseraError {
  const upstream: Record<string, unknown> = { status };
  if (mode === 'development' || descriptor.errors.expose) {
    const text = body.subarray(0, bodyLimit).toString('utf8');
    let value: unknown = text;
    if (/json/i.test(contentType) && body.length <= bodyLimit) {
      try {
        value = parseUpstreamJson(text);
      } catch {
        value = text;
      }
    }
    upstream.body = value;
    if (body.length > bodyLimit) upstream.truncated = true;
  }
  return new TesseraError('SOURCE_HTTP_ERROR', `HTTP ${status} from subgraph "${descriptor.name}" (${operation})`, {
    extensions: { subgraph: descriptor.name, upstream },
  });
}

export function invalidResponse(descriptor: Descriptor, operation: string, detail: string): TesseraError {
  return new TesseraError('SOURCE_RESPONSE_INVALID', `Invalid response from subgraph "${descriptor.name}" (${operation}): ${detail}`, {
    extensions: { subgraph: descriptor.name },
  });
}

export function missingProperty(descriptor: Descriptor, typeName: string, property: string): TesseraError {
  if (violationChannel.hasSubscribers) violationChannel.publish({ subgraph: descriptor.name, type: typeName, property } satisfies ViolationEvent);
  return new TesseraError('SOURCE_RESPONSE_INVALID', `Invalid response from subgraph "${descriptor.name}": ${typeName}.${property} is required but missing`, {
    extensions: { subgraph: descriptor.name },
  });
}
