/**
 * Errors of the gRPC source: load-time problems located in the descriptor and
 * the .proto files, and what of an upstream status reaches the client. A
 * status message is the upstream's own text (it may name hosts or internals),
 * so in production it is shown only when the descriptor says so:
 * `errors.expose: true`, or the status name (NOT_FOUND, ...) in
 * `errors.allowCodes`. `extensions.grpc.code` is always there.
 */
import type { Descriptor } from '../../config/descriptor.js';
import { displayPath } from '../../config/load.js';
import { ConfigError, isTesseraError, TesseraError } from '../../errors.js';
import type { GrpcTransportError } from '../../transport/grpc.js';
import type { Mode } from '../types.js';

export function loadFailed(descriptor: Descriptor, detail: string, key = 'source'): ConfigError {
  return new ConfigError('SOURCE_LOAD_FAILED', [`${displayPath(descriptor.file)}: ${key}: subgraph "${descriptor.name}": ${detail}`]);
}

/** The error a resolver throws for a failed call: the transport's error, with the status message shown where allowed. */
export function clientError(error: unknown, descriptor: Descriptor, mode: Mode): unknown {
  if (!isTesseraError(error) || error.code !== 'GRPC_STATUS') return error;
  const grpc = error.extensions.grpc as { code: string } | undefined;
  const detail = (error as GrpcTransportError).grpcMessage;
  const show =
    mode === 'development' || descriptor.errors.expose || (grpc !== undefined && descriptor.errors.allowCodes.includes(grpc.code));
  if (!show || !detail) return error;
  return new TesseraError('GRPC_STATUS', `${error.message}: ${detail}`, {
    extensions: { ...error.extensions, grpc: { ...grpc, message: detail } },
    cause: error.originalError ?? error,
  });
}
