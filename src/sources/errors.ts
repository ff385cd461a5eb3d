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
import { EVENTS, type AnswerErrorEvent } from '../events.js';

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

export const answerErrorChannel = channel(EVENTS.answerError);

export function publishAnswerError(subgraph: string, instance: { url: string; version?: string }, kind: AnswerErrorEvent['kind']): void {
  if (answerErrorChannel.hasSubscribers) answerErrorChannel.publish({ subgraph, instance: instance.url, version: instance.version, kind } satisfies AnswerErrorEvent);
}
