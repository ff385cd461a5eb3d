/**
 * Parsed documents and their validation results, kept across requests, in
 * place of Yoga's own cache (`parserAndValidationCache: false` in
 * server/yoga.ts), for two reasons:
 *
 * - Yoga keys validation results by the names of the rules
 *   (`rules.map((rule) => rule.name).join(',')`), computed on every request:
 *   about 2% of a proxied request's CPU in bench/'s proxy scenario, and a
 *   name does not tell two rules apart. Here a result is kept with the rules
 *   it was computed with and reused only for the same rule functions, compared
 *   by identity (the plugins add the same functions to every request).
 * - Yoga bounds each cache by count only (1024 documents, each up to the body
 *   limit), so distinct large documents could hold a gigabyte. Here the
 *   parsed documents are bounded by the size of their text too.
 *
 * After the gateway's plugins (server/yoga.ts): its onValidate then sees
 * every rule they added (document limits, introspection policy), and its
 * onParse runs after the checks that refuse a text before any parsing
 * (persisted operations only).
 */
import type { Plugin } from 'graphql-yoga';
import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface DocumentCacheOptions {
  /** Most documents kept (and most parse errors kept). Default 1024. */
  maxDocuments?: number;
  /** Most characters of document text kept in all; a longer text is parsed every time. Default 16 MiB. */
  maxTextSize?: number;
}

interface Validated {
  rules: readonly ValidationRule[];
  errors: readonly GraphQLError[];
}

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function useDocumentCache(options: DocumentCacheOptions = {}): Plugin {
  const max = options.maxDocuments ?? 1024;
  const maxSize = options.maxTextSize ?? 16 * 2 ** 20;
  const sizeCalculation = (_value: unknown, text: string): number => Math.max(1, text.length);
  const documents = new LRUCache<string, DocumentNode>({ max, maxSize, sizeCalculation });
  const parseErrors = new LRUCache<string, Error>({ max, maxSize, sizeCalculation });
  // Per schema (a channel's view; a new schema version is a new object), per document: the result and its rules.
  const validations = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Validated>>();
  return {
    onParse({ params, setParsedDocument }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      const document = documents.get(text);
      if (document) return setParsedDocument(document);
      const error = parseErrors.get(text);
      if (error) throw error;
      return ({ result }) => {
        if (result == null) return;
        if (result instanceof Error) parseErrors.set(text, result);
        else documents.set(text, result as DocumentNode);
      };
    },
    onValidate({ params: { schema, documentAST, rules }, setResult }) {
      if (!schema) return;
      const used = rules ?? [];
      let bySchema = validations.get(schema);
      if (!bySchema) validations.set(schema, (bySchema = new WeakMap()));
      const known = bySchema.get(documentAST);
      if (known && sameRules(known.rules, used)) return setResult(known.errors);
      // The rules array is envelop's own for this request; a copy is kept with the result.
      const kept = [...used];
      const forSchema = bySchema;
      return ({ result }) => {
        if (result != null) forSchema.set(documentAST, { rules: kept, errors: result as readonly GraphQLError[] });
      };
    },
  };
}
