/**
 * HTTP only, when the descriptor turns it on (`httpCache`): the shared cache
 * for upstream GETs (http-cache.ts). A fresh entry answers without any
 * attempt; a stale one turns the call into a conditional GET, and a 304
 * refreshes it.
 */
import type { Instance, Send, Stage, UpstreamCall } from '../call.js';
import type { HttpCache } from '../http-cache.js';
import type { IncomingHttpHeaders } from 'node:http';

/** What this stage needs of an HTTP call and its answer. */
interface CacheableCall extends UpstreamCall<any> {
  readonly method: string;
  readonly path: string;
  headers: Record<string, string> | undefined;
}
interface CacheableResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  instance: Instance;
}

/** `servedBy`: the instance a fresh answer names (no instance was called for it). */
export function httpCacheStage<C extends CacheableCall, R extends CacheableResult>(cache: HttpCache, servedBy: Instance): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    if (call.method !== 'GET') return next(call);
    const headers = call.headers ?? {};
    const found = cache.lookup(call.path, headers);
    if (found.fresh) return Promise.resolve({ ...found.fresh, instance: servedBy } as R);
    if (found.conditional) call.headers = { ...headers, ...found.conditional };
    return next(call).then((result) => ({ ...cache.update(call.path, headers, result, found.stale), instance: result.instance }) as R);
  };
}
