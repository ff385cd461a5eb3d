/**
 * What of an upstream's own GraphQL errors reaches the client. In production
 * the message is replaced and only allowlisted `extensions.code` values pass
 * (an upstream's stack trace or internal hostnames must not leak, row 30 of
 * docs/reliability.md); in development everything passes, labelled with the
 * subgraph.
 */
import { channel } from 'node:diagnostics_channel';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Descriptor } from '../config/descriptor.js';
import type { Mode } from './types.js';

export function upstreamError(error: GraphQLFormattedError, descriptor: Descriptor, mode: Mode): GraphQLError {
  const upstreamCode = typeof error.extensions?.code === 'string' ? error.extensions.code : undefined;
  const subgraph = descriptor.name;
  if (mode === 'development') {
    return new GraphQLError(String(error.message), {
      path: error.path,
      extensions: { ...error.extensions, code: upstreamCode ?? 'SUBGRAPH_ERROR', subgraph },
    });
  }
  const allowed = upstreamCode !== undefined && descriptor.errors.allowCodes.includes(upstreamCode);
  const message = descriptor.errors.expose ? String(error.message) : `Error from subgraph "${subgraph}"`;
  return new GraphQLError(message, {
    path: error.path,
    extensions: { code: allowed ? upstreamCode : 'SUBGRAPH_ERROR', subgraph },
  });
}

/**
 * An upstream answer the transport saw succeed (its `tessera:upstream` event
 * says OK) that the source found wrong: `graphql` when a GraphQL upstream
 * answered with `errors`, `other` when the content cannot be used (HTML or
 * invalid JSON with a 2xx status). Published on `tessera:upstream:answer-error`
 * for metrics, free when nobody listens.
 */
export interface AnswerErrorEvent {
  subgraph: string;
  instance: string;
  version?: string;
  kind: 'graphql' | 'other';
}
export const answerErrorChannel = channel('tessera:upstream:answer-error');

export function publishAnswerError(subgraph: string, instance: { url: string; version?: string }, kind: AnswerErrorEvent['kind']): void {
  if (answerErrorChannel.hasSubscribers) answerErrorChannel.publish({ subgraph, instance: instance.url, version: instance.version, kind } satisfies AnswerErrorEvent);
}
