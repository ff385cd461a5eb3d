/**
 * The per-request memo: the one place upstream calls are deduplicated within
 * a request. Calls of one request with the same memo key (set by the source:
 * an OpenAPI GET's method, path and parameter headers; a read-only gRPC
 * method's path, metadata and request bytes) share the first one's outcome,
 * answer or failure, kept in the request scope's memo. A call that is not
 * idempotent is never shared, and when it ends it empties this upstream's
 * memo, so that what is read after a write in the same request is read again.
 *
 * Not the same thing as plugins/use-dedupe.ts, which shares whole operations
 * in flight across requests.
 */
import type { Send, Stage, UpstreamCall } from '../call.js';

export function memoStage<C extends UpstreamCall<any>, R>(subgraph: string): Stage<C, R> {
  /** Where this upstream keeps a request's answers in `scope.memo`: one map per subgraph. */
  const slot = `upstream:calls:${subgraph}`;
  return (next: Send<C, R>) => (call) => {
    const { memo } = call.scope;
    const key = call.memoKey;
    if (key === undefined) {
      // Most calls: nothing to share, nothing to forget (not async: no promise of its own).
      if (call.idempotent) return next(call);
      return next(call).finally(() => memo.delete(slot));
    }
    let calls = memo.get(slot) as Map<string, Promise<R>> | undefined;
    if (!calls) {
      calls = new Map();
      memo.set(slot, calls);
    }
    let pending = calls.get(key);
    if (!pending) {
      pending = next(call);
      calls.set(key, pending);
    }
    return pending;
  };
}
