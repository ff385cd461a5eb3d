/**
 * Hands each operation to the router (execution/router.ts), which runs it
 * direct, planned or stitched, and makes the route taken visible: on the
 * request scope (`route`, read by the error log lines and by telemetry; a
 * `tessera.route` span when the request is traced), and,
 * in development mode, in a `tessera-route` response header (the routes of a
 * batched request, comma-separated, in order).
 *
 * Subscriptions never reach onExecute: onSubscribe asks the router for their
 * route (progressive @override labels rolled once per subscription), runs a
 * planned one (Router.subscribe: each event's later waves planned as a
 * query's), and leaves the rest to stitching, refusing one that selects a
 * field only the planner answers to the federation spec as a stitched query
 * is (OPERATION_NOT_PLANNABLE, docs/reliability.md row 77).
 */
import type { Plugin } from 'graphql-yoga';
import { mapMaybePromise } from '@graphql-tools/utils';
import { Router, operationError, refusedResult, type RouterOptions, type RouteName } from '../execution/router.js';
import type { RequestScope, TraceAttributes } from '../request-scope.js';

export interface UseRouterOptions extends RouterOptions {
  /** Adds the `tessera-route` header to every response (mode: development). */
  header: boolean;
}

export const ROUTE_HEADER = 'tessera-route';

type Context = { request?: Request; tessera?: RequestScope } | undefined;

/** The route span's attributes of each decision (decisions are made once per document): made once, frozen, so the trace exporter encodes them once. */
const routeSpans = new WeakMap<object, TraceAttributes>();

function routeAttributes(decision: { route: RouteName; reason: string }): TraceAttributes {
  let attributes = routeSpans.get(decision);
  if (!attributes) routeSpans.set(decision, (attributes = Object.freeze({ 'tessera.route': decision.route, 'tessera.route_reason': decision.reason })));
  return attributes;
}

export function useRouter(options: UseRouterOptions): Plugin {
  const router = new Router(options);
  // Routes by request, for the header; only kept in development mode.
  const taken = options.header ? new WeakMap<Request, RouteName[]>() : undefined;
  // The decision itself goes on the scope (made once per document and operation: no allocation per request).
  const note = (context: Context, decision: { route: RouteName; reason: string }): void => {
    if (context?.tessera) context.tessera.route = decision;
    if (taken && context?.request) {
      const list = taken.get(context.request);
      if (list) list.push(decision.route);
      else taken.set(context.request, [decision.route]);
    }
  };
  return {
    onSubscribe({ args: client, setResultAndStopExecution, setSubscribeFn }) {
      const document = router.withDirectiveDefaults(client.document);
      const args = document === client.document ? client : { ...client, document };
      const operation = router.operation(args.document, args.operationName);
      // Not a subscription (a query sent over a subscription transport) or no operation: graphql-js answers it.
      if (operation instanceof Error || operation.operation !== 'subscription') return;
      const span = (args.contextValue as Context)?.tessera?.trace?.span('tessera.route');
      // Progressive @override: the labels on are rolled once per subscription, for all of its events.
      const decision = router.decide(args.document, operation, router.rollLabels());
      span?.end(routeAttributes(decision));
      note(args.contextValue as Context, decision);
      if (decision.route === 'planned') setSubscribeFn(() => router.subscribe(decision, operation, args));
      else if (decision.route === 'stitched' && decision.refused) setResultAndStopExecution(refusedResult(decision.refused));
    },
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((client) => {
        const document = router.withDirectiveDefaults(client.document);
        const args = document === client.document ? client : { ...client, document };
        const operation = router.operation(args.document, args.operationName);
        if (operation instanceof Error) return router.routes ? operationError(operation) : executeFn(args);
        // The route decision is a span of the request's trace when it is traced (decided once per document, planned then).
        const span = (args.contextValue as Context)?.tessera?.trace?.span('tessera.route');
        // Progressive @override: the labels on for this request are rolled once, here, for all of it.
        const decision = router.decide(args.document, operation, router.rollLabels());
        span?.end(routeAttributes(decision));
        note(args.contextValue as Context, decision);
        if (decision.route !== 'stitched') return router.run(decision, operation, args);
        // Stitching would answer differently from the federation spec: a located request error, no subgraph called.
        if (decision.refused) return refusedResult(decision.refused);
        // As the router does for its own routes: errors at the client's fields, with their list indices
        // (a stream, from @defer or @stream, is left as it is).
        return mapMaybePromise(executeFn(args), (result) =>
          Symbol.asyncIterator in result ? result : router.locateErrors(router.stitchedPaths(result), args.document, operation),
        );
      });
    },
    ...(taken && {
      onResponse({ request, response }) {
        const routes = taken.get(request);
        if (routes) response.headers.set(ROUTE_HEADER, routes.join(', '));
      },
    }),
  };
}
