/**
 * Identical queries in flight at the same time execute once: the second
 * waits for the first's result instead of calling the subgraphs again.
 * "Identical" means same document, operation name, variables, channel and
 * caller: the authenticated identity (subject and scopes) and the value of
 * every client header some subgraph receives, so two callers who could get
 * different answers never share one (row 32 of docs/reliability.md). Mutations
 * and subscriptions are never deduplicated.
 *
 * If the first request was cancelled (client gone, deadline) or failed with
 * an exception, each waiting request runs its own execution instead.
 */
import { channel as diagnosticsChannel } from 'node:diagnostics_channel';
import { getDocumentString } from '@envelop/core';
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, print, type ExecutionResult } from 'graphql';
import type { RequestScope } from '../request-scope.js';
import { EVENTS, type DedupeEvent } from '../events.js';

export interface DedupeOptions {
  channel: string;
  /** Client headers forwarded to subgraphs (lower-case). */
  scopeHeaders: readonly string[];
  /** Identity claims sent to subgraphs. */
  scopeClaims?: readonly string[];
}

export const dedupeChannel = diagnosticsChannel(EVENTS.dedupe);

interface Leader {
  result: Promise<unknown>;
  signal?: AbortSignal;
}

/**
 * Who is asking, as far as an upstream or an authorization rule could tell:
 * the identity (kind, issuer, subject, key, scopes, and the claims some
 * subgraph receives) and the forwarded client headers.
 */
/** The caller's scopes as one key part (sorted, so their order never matters). */
export function scopesKey(identity: { scopes: Iterable<string> }): string {
  return [...identity.scopes].sort().join(',');
}

export function callerScope(scope: RequestScope | undefined, headers: readonly string[], claims: readonly string[] = []): string {
  let key = '';
  const identity = scope?.identity;
  if (identity) {
    key = `${identity.kind}:${identity.issuer ?? ''}:${identity.subject}:${identity.keyId ?? ''}:${scopesKey(identity)}`;
    for (const claim of claims) key += `\u0000${JSON.stringify(identity.claims?.[claim] ?? null)}`;
  }
  if (scope) for (const name of headers) key += `\u0000${scope.headers.get(name) ?? ''}`;
  return key;
}

function isPlainResult(value: unknown): value is ExecutionResult {
  return typeof value === 'object' && value !== null && !(Symbol.asyncIterator in value);
}

export function useDedupe(options: DedupeOptions): Plugin {
  const inFlight = new Map<string, Leader>();
  const { scopeHeaders, channel } = options;
  const scopeClaims = options.scopeClaims ?? [];

  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'query') return;
      const scope = (args.contextValue as { tessera?: RequestScope }).tessera;
      const key = [channel, getDocumentString(args.document, print), args.operationName ?? '', JSON.stringify(args.variableValues ?? {}), callerScope(scope, scopeHeaders, scopeClaims)].join('\u0001');
      setExecuteFn((executeArgs) => {
        const leader = inFlight.get(key);
        if (leader) {
          if (dedupeChannel.hasSubscribers) dedupeChannel.publish({ channel, operationName: args.operationName } satisfies DedupeEvent);
          const own = (): unknown => executeFn(executeArgs);
          return leader.result.then(
            (result) => (leader.signal?.aborted || !isPlainResult(result) ? own() : { ...result }),
            own,
          ) as ReturnType<typeof executeFn>;
        }
        const result = Promise.resolve(executeFn(executeArgs));
        const done = (): void => {
          inFlight.delete(key);
        };
        inFlight.set(key, { result, signal: scope?.signal });
        result.then(done, done);
        // Each waiter gets its own copy: later hooks replace fields of the result they are given.
        return result.then((r) => (isPlainResult(r) ? { ...r } : r)) as ReturnType<typeof executeFn>;
      });
    },
  };
}
