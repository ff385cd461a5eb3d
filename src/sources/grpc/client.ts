/**
 * The resolvers that call the upstream: one per unary method, server stream
 * and entity join. A resolver does little per call:
 * the message codecs and the method descriptions are built with the schema;
 * here only the request scope, the metadata and the call itself remain.
 */
import type { GraphQLFieldResolver } from 'graphql';
import type { Descriptor } from '../../config/descriptor.js';
import type { GrpcDescriptor } from '../../config/grpc.js';
import type { GrpcMethod, GrpcUpstream } from '../../transport/grpc.js';
import { upstreamHeaders } from '../../transport/headers.js';
import { scopeOf, type RequestScope } from '../../request-scope.js';
import type { Mode } from '../types.js';
import { clientError } from './errors.js';

export interface Caller {
  /** A Query or Mutation resolver for one unary method (`method.serialize` takes the field's arguments). */
  unary(method: GrpcMethod<any, unknown>): GraphQLFieldResolver<unknown, unknown>;
  /** The subscribe and resolve functions of a Subscription field for one server-streaming method. */
  stream(method: GrpcMethod<any, unknown>): { subscribe: GraphQLFieldResolver<unknown, unknown>; resolve: GraphQLFieldResolver<unknown, unknown> };
  /** A raw unary call, for resolvers that shape the result themselves (entity joins). */
  call<Res>(method: GrpcMethod<any, Res>, request: unknown, context: unknown): Promise<Res>;
}

/**
 * An upstream failure in the middle of a stream becomes one last event whose
 * field resolves to the error (so the client sees `errors` with the gRPC code)
 * before the stream completes, instead of a broken connection.
 */
class StreamFailure {
  constructor(readonly error: unknown) {}
}

export function createCaller(upstream: GrpcUpstream, descriptor: GrpcDescriptor & Descriptor, mode: Mode): Caller {
  const metadataOf = (scope: RequestScope): Record<string, string> => upstreamHeaders(scope, descriptor.headers);

  async function call<Res>(method: GrpcMethod<any, Res>, request: unknown, context: unknown): Promise<Res> {
    const scope = scopeOf(context);
    try {
      return await upstream.unary(method, { request, metadata: metadataOf(scope), scope });
    } catch (error) {
      throw clientError(error, descriptor, mode);
    }
  }

  async function* failSoft(stream: AsyncGenerator<unknown>): AsyncGenerator<unknown> {
    try {
      // yield* hands return() on to the upstream stream, which cancels the call.
      yield* stream;
    } catch (error) {
      yield new StreamFailure(clientError(error, descriptor, mode));
    }
  }

  return {
    call,
    unary(method) {
      return (_root, args, context) => call(method, args, context);
    },
    stream(method) {
      return {
        subscribe: (_root, args, context) => {
          const scope = scopeOf(context);
          return failSoft(upstream.serverStream(method, { request: args, metadata: metadataOf(scope), scope }));
        },
        resolve: (payload) => {
          if (payload instanceof StreamFailure) throw payload.error;
          return payload;
        },
      };
    },
  };
}
