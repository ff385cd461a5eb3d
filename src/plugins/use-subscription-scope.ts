/**
 * A subscription lives longer than a request: its scope gets
 * `server.subscriptionDeadline` (1 hour by default) instead of
 * `server.requestDeadline`. The scope is created with the context, before the
 * operation type is known, so its deadline is moved here, when the operation
 * turns out to be a subscription.
 *
 * The per-request memo (identical upstream reads made once) is emptied after
 * each event, so the fields resolved for the next event read fresh data and
 * the memo does not grow for the life of the subscription.
 */
import type { Plugin } from 'graphql-yoga';
import type { RequestScope } from '../request-scope.js';

export function useSubscriptionScope(options: { deadlineMs: number }): Plugin {
  return {
    onSubscribe({ args }) {
      const scope = (args.contextValue as { tessera?: RequestScope }).tessera;
      if (!scope) return undefined;
      scope.deadline = Math.max(scope.deadline, Date.now() + options.deadlineMs);
      return {
        onSubscribeResult() {
          return {
            onNext() {
              scope.memo.clear();
            },
          };
        },
      };
    },
  };
}
