/**
 * A channel's own names and composed fields (`channels.<name>.rename`,
 * `channels.<name>.fields`; compose/channel-fields.ts): Yoga validates an
 * operation against the channel's schema; here, before any other plugin's
 * onExecute/onSubscribe, the operation is swapped for its translation to the
 * unified graph's names, run against the channel's view (so authorization,
 * the router, rate limits, dedupe and the cache all see the graph's names),
 * and its answer (each event, for a subscription) is put back in the
 * channel's names. An operation naming nothing renamed or composed, or one
 * asking for introspection, runs as it is.
 */
import type { Plugin } from 'graphql-yoga';
import type { ExecutionResult } from '@graphql-tools/utils';
import { handleStreamOrSingleExecutionResult } from '@envelop/core';
import { BREAK, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { ChannelFields, Translation } from '../compose/channel-fields.js';

export interface UseChannelFieldsOptions {
  fields: ChannelFields;
  /** The channel's view of the unified graph (what the translated operation runs against). */
  view: GraphQLSchema;
}

function asksIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

export function useChannelFields({ fields, view }: UseChannelFieldsOptions): Plugin {
  // Once per parsed document (Yoga caches parsing, so once per distinct query text).
  const translations = new WeakMap<DocumentNode, Translation | null>();
  const swap = (args: { document: DocumentNode; schema: GraphQLSchema; variableValues?: Readonly<Record<string, unknown>> | null }): Translation | undefined => {
    let translation = translations.get(args.document);
    if (translation === undefined) {
      translation = (asksIntrospection(args.document) ? undefined : fields.translate(args.document)) ?? null;
      translations.set(args.document, translation);
    }
    if (!translation) return undefined;
    args.document = translation.document;
    args.schema = view;
    // Renamed input fields and enum values in the variables, per request.
    if (translation.variables) args.variableValues = translation.variables(args.variableValues ?? undefined);
    return translation;
  };
  // The result object itself is changed, not replaced: later plugins (the response cache) know a result by its identity.
  const answerInPlace = (result: ExecutionResult, translation: Translation): void => {
    Object.assign(result, fields.answer(result, translation));
  };
  return {
    onExecute({ args }) {
      const translation = swap(args);
      if (!translation) return undefined;
      return {
        onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, ({ result }) => answerInPlace(result, translation)),
      };
    },
    onSubscribe({ args }) {
      const translation = swap(args);
      if (!translation) return undefined;
      return {
        onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, ({ result }) => answerInPlace(result, translation)),
      };
    },
  };
}
