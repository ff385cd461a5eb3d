/**
 * Whole-response cache for queries, over @envelop/response-cache. Runs when
 * an operation is about to execute, after authentication, authorization and
 * the rate limit: a cached answer is only given to a request that would have
 * been allowed to execute, and is still metered.
 *
 * - TTL: the shortest TTL among the types and fields in the response
 *   (descriptor `cache:`); a type without one gets cache.defaultTtl (0 by
 *   default, so nothing is cached unless a descriptor says how long).
 * - Keys: channel, document, operation name, variables, and the caller's
 *   scopes. A document that can reach a `private` type or field is keyed by
 *   the caller (identity, or the forwarded credential headers) and is not
 *   cached for an anonymous caller; the same data is never served to another
 *   user (row 32 of docs/reliability.md).
 * - A mutation whose result contains an entity (Type and id) drops every
 *   cached response containing that entity, in every replica sharing Redis;
 *   its response waits until that is done.
 * - Clients get `Cache-Control: public|private, max-age=<seconds left>` and an
 *   ETag; a request with a matching If-None-Match gets 304 with no body.
 *   `x-tessera-cache: HIT|MISS` when cache.debugHeader (default: development).
 */
import { channel as diagnosticsChannel } from 'node:diagnostics_channel';
import { useResponseCache as useEnvelopResponseCache, defaultBuildResponseCacheKey } from '@envelop/response-cache';
import type { Plugin } from 'graphql-yoga';
import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isIntrospectionType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { RequestScope } from '../request-scope.js';
import type { CacheRuntime } from './traffic.js';
import { callerScope, scopesKey } from './use-dedupe.js';
import { EVENTS, type CacheEvent } from '../events.js';

export const cacheChannel = diagnosticsChannel(EVENTS.cache);

export interface ResponseCacheOptions {
  cache: CacheRuntime;
  channel: string;
  /** The channel's schema. */
  schema: GraphQLSchema;
  scopeHeaders: readonly string[];
  /** Identity claims sent to subgraphs. */
  scopeClaims?: readonly string[];
  debugHeader: boolean;
}

/** The header lists If-None-Match may carry: `"a", W/"b"` or `*`. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** True when a selection can reach a private type or field (abstract types: any of their possible types). */
function reachesPrivate(schema: GraphQLSchema, document: DocumentNode, privateCoordinates: ReadonlySet<string>): boolean {
  const fragments = new Map<string, SelectionSetNode & { typeName: string }>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, { ...d.selectionSet, typeName: d.typeCondition.name.value });
  }
  const seen = new Set<string>();
  const isPrivateType = (type: GraphQLCompositeType): boolean =>
    privateCoordinates.has(type.name) || (isAbstractType(type) && schema.getPossibleTypes(type).some((t) => privateCoordinates.has(t.name)));
  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType): boolean => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__')) continue;
        const candidates = isAbstractType(parent) ? schema.getPossibleTypes(parent) : isObjectType(parent) ? [parent] : [];
        if (candidates.some((t) => privateCoordinates.has(`${t.name}.${name}`)) || privateCoordinates.has(`${parent.name}.${name}`)) return true;
        const field = 'getFields' in parent ? parent.getFields()[name] : undefined;
        const type = field && getNamedType(field.type);
        if (type && isCompositeType(type) && !isIntrospectionType(type)) {
          if (isPrivateType(type)) return true;
          if (selection.selectionSet && walk(selection.selectionSet, type)) return true;
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type) && (isPrivateType(type) || walk(selection.selectionSet, type))) return true;
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(selection.name.value)) continue;
        seen.add(selection.name.value);
        const type = schema.getType(fragment.typeName);
        if (type && isCompositeType(type) && (isPrivateType(type) || walk(fragment, type))) return true;
      }
    }
    return false;
  };
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = schema.getRootType(d.operation);
    if (root && walk(d.selectionSet, root)) return true;
  }
  return false;
}

export function useResponseCache(options: ResponseCacheOptions): Plugin {
  const { cache, channel, schema, scopeHeaders, debugHeader } = options;
  const { store, hints, config } = cache;

  const ttlPerSchemaCoordinate: Record<string, number> = {};
  const scopePerSchemaCoordinate: Record<string, 'PRIVATE'> = {};
  const privateCoordinates = new Set<string>();
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name));
  // A type with no hint bounds the TTL by defaultTtl, so no response is cached longer than every part of it allows.
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && !roots.has(type.name) && !isIntrospectionType(type)) ttlPerSchemaCoordinate[type.name] = config.defaultTtl;
  }
  for (const [coordinate, hint] of hints) {
    if (!schema.getType(coordinate.split('.')[0]!)) continue; // hidden from this channel
    if (hint.ttl !== undefined) ttlPerSchemaCoordinate[coordinate] = hint.ttl;
    if (hint.private) {
      scopePerSchemaCoordinate[coordinate] = 'PRIVATE';
      privateCoordinates.add(coordinate);
    }
  }

  const privateDocuments = new WeakMap<DocumentNode, boolean>();
  const sessions = new WeakMap<object, string | null>();
  /** Queries that reach private data with no caller to key it by: neither looked up nor stored. */
  const uncached = new WeakSet<object>();
  /** Requests answered 304 (their ETag matched If-None-Match): the response is replaced once Yoga has built it. */
  const notModified = new WeakMap<Request, Record<string, string>>();

  const setSession: Plugin = {
    onExecute({ args }) {
      let isPrivate = privateDocuments.get(args.document);
      if (isPrivate === undefined) {
        isPrivate = privateCoordinates.size > 0 && reachesPrivate(args.schema, args.document, privateCoordinates);
        privateDocuments.set(args.document, isPrivate);
      }
      const scope = (args.contextValue as { tessera?: RequestScope }).tessera;
      let session: string | null = null;
      if (isPrivate) {
        // Per caller; with no way to tell callers apart, private data is not cached at all.
        const caller = callerScope(scope, scopeHeaders, options.scopeClaims);
        session = caller.replaceAll('\u0000', '') === '' ? null : `private:${caller}`;
      } else if (scope?.identity) {
        // Shared data, but only among callers with the same scopes (authorization may depend on them).
        session = `scopes:${scopesKey(scope.identity)}`;
      }
      sessions.set(args.contextValue as object, session);
      if (isPrivate && session === null && getOperationAST(args.document, args.operationName)?.operation === 'query') {
        uncached.add(args.contextValue as object);
      }
    },
  };

  const envelopCache = useEnvelopResponseCache<Record<string, unknown>>({
    cache: store,
    ttl: config.defaultTtl,
    ttlPerSchemaCoordinate,
    scopePerSchemaCoordinate,
    invalidateViaMutation: config.invalidateOnMutation,
    includeExtensionMetadata: false,
    session: (context) => sessions.get(context) ?? null,
    enabled: (context) => !uncached.has(context),
    buildResponseCacheKey: (params) => defaultBuildResponseCacheKey({ ...params, documentString: `${channel}\n${params.documentString}` }),
    shouldCacheResult: ({ result }) => !result.errors?.length,
  }) as Plugin;

  const headers: Plugin = {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const request = (args.contextValue as { request?: Request }).request;
      return {
        onExecuteDone({ result, setResult }) {
          if (operation === 'mutation') return store.invalidated();
          if (operation !== 'query' || Symbol.asyncIterator in result) return;
          const plain = result as ExecutionResult;
          const meta = store.meta(plain);
          if (cacheChannel.hasSubscribers && !uncached.has(args.contextValue as object)) {
            cacheChannel.publish({ channel, result: meta?.hit ? 'hit' : 'miss' } satisfies CacheEvent);
          }
          const added: Record<string, string> = {};
          if (debugHeader) added['x-tessera-cache'] = meta?.hit ? 'HIT' : 'MISS';
          if (meta) {
            const maxAge = Math.max(0, Math.floor((meta.expires - Date.now()) / 1000));
            added['Cache-Control'] = `${sessions.get(args.contextValue as object)?.startsWith('private:') ? 'private' : 'public'}, max-age=${maxAge}`;
            added['ETag'] = meta.etag;
            if (request && matchesEtag(request.headers.get('if-none-match'), meta.etag)) notModified.set(request, added);
          }
          if (Object.keys(added).length > 0) {
            const http = (plain.extensions?.http ?? {}) as { headers?: Record<string, string> };
            setResult({ ...plain, extensions: { ...plain.extensions, http: { ...http, headers: { ...http.headers, ...added } } } });
          }
          return meta?.written;
        },
      };
    },
    onResponse({ request, setResponse, fetchAPI }) {
      const added = notModified.get(request);
      if (added) setResponse(new fetchAPI.Response(null, { status: 304, headers: added }));
    },
  };

  return {
    onPluginInit({ addPlugin }) {
      // In this order: the session is known before the cache looks up; the headers see what the cache decided.
      addPlugin(setSession);
      addPlugin(envelopCache);
      addPlugin(headers);
    },
  };
}
