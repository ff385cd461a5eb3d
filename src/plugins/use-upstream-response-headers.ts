/**
 * Upstream response headers back to the client. Sources collect the headers
 * a descriptor names (`responseHeaders.forward`, and `Set-Cookie` only where
 * `responseHeaders.setCookie` is true) in the request scope's memo under
 * RESPONSE_HEADERS_KEY while the operation runs; this plugin copies them onto
 * the client's HTTP response once it is built.
 *
 * What the client sees, per request:
 * - a forwarded header holds the last value an upstream call of this request
 *   returned (two calls that both return it: the later one wins);
 * - each `Set-Cookie` is its own header line, never joined with commas;
 * - headers that describe the gateway's own response or connection (framing,
 *   encoding, hop-by-hop) or its CORS policy are never taken from an
 *   upstream, whatever a descriptor says (config/openapi.ts gatewayOwnedHeader);
 * - a request answered without running the sources (a response-cache hit, a
 *   deduplicated follower) gets none: its upstream calls were someone else's.
 *
 * The scope is found from the Request object: `onExecute` sees the GraphQL
 * context (which holds both), `onResponse` only the Request.
 */
import type { Plugin } from 'graphql-yoga';
import { gatewayOwnedHeader } from '../config/openapi.js';
import { RESPONSE_HEADERS_KEY, type RequestScope } from '../request-scope.js';

export function useUpstreamResponseHeaders(): Plugin {
  const scopes = new WeakMap<Request, RequestScope>();
  return {
    onExecute({ args }) {
      const context = args.contextValue as { request?: Request; tessera?: RequestScope } | undefined;
      if (context?.request && context.tessera) scopes.set(context.request, context.tessera);
    },
    onResponse({ request, response }) {
      const collected = scopes.get(request)?.memo.get(RESPONSE_HEADERS_KEY) as Headers | undefined;
      if (!collected) return;
      for (const [name, value] of collected) {
        if (name === 'set-cookie' || gatewayOwnedHeader(name)) continue;
        response.headers.set(name, value);
      }
      for (const cookie of collected.getSetCookie()) response.headers.append('set-cookie', cookie);
    },
  };
}
