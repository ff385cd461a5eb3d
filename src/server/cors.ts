/**
 * A channel's CORS policy (security.cors, channels.<name>.cors) compiled into
 * the answers it gives, and the Yoga plugin that applies it. Also read by
 * node:http's own refusals (server/http.ts) and WebSocket upgrades
 * (server/websocket.ts).
 */
import type { Plugin } from 'graphql-yoga';
import type { CorsPolicy } from '../config/cors.js';

/**
 * CORS (Fetch standard, "CORS protocol") for the origins a channel allows,
 * compiled once per channel into the headers each kind of answer carries.
 * The one place that decides whether an origin is allowed and what an answer
 * says about it: used by the Yoga plugin below, by the answers node:http
 * gives itself (server/http.ts: 413, 431, 503) and by WebSocket upgrades
 * (server/websocket.ts), so the three cannot disagree.
 *
 * - An allowed Origin gets exactly itself back (`*` when any origin is
 *   allowed), any other origin no CORS header: the browser then keeps the
 *   answer from the page. Answers carry `Vary: Origin` whenever they depend
 *   on it, so a shared cache cannot hand one origin's answer to another.
 * - Allowed headers are a fixed list, never what a preflight asks for.
 */
export interface Cors {
  readonly policy: CorsPolicy;
  /** Whether a page on `origin` (an Origin header's value) may use the channel: listed exactly, or any origin with `*`. */
  allows(origin: string): boolean;
  /**
   * The CORS headers of an answer to a request with this Origin (null: none
   * sent), including `Vary: Origin` when the answer depends on it. The same
   * object for every call with the same arguments: never modify it.
   */
  answerHeaders(origin: string | null, method: string): Readonly<Record<string, string>>;
  /** What a preflight's 204 adds for this origin: methods, headers and max-age when it is allowed, nothing otherwise. */
  preflightHeaders(origin: string): Readonly<Record<string, string>>;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});

export function createCors(policy: CorsPolicy): Cors {
  const any = policy.origins === '*';
  const exposed = policy.exposedHeaders.length > 0 ? { 'access-control-expose-headers': policy.exposedHeaders.join(', ') } : {};
  const preflight = Object.freeze({
    'access-control-allow-methods': policy.methods.join(', '),
    'access-control-allow-headers': policy.allowedHeaders.join(', '),
    'access-control-max-age': String(Math.floor(policy.maxAge / 1000)),
  });
  // Every answer is built here, once: serving a request only looks one up.
  if (any) {
    const toPreflight = Object.freeze({ 'access-control-allow-origin': '*' });
    const toRequest = Object.freeze({ ...toPreflight, ...exposed });
    return {
      policy,
      allows: () => true,
      answerHeaders: (_origin, method) => (method === 'OPTIONS' ? toPreflight : toRequest),
      preflightHeaders: () => preflight,
    };
  }
  const other = Object.freeze({ vary: 'Origin' });
  const answers = new Map(
    (policy.origins as readonly string[]).map((origin) => {
      const toPreflight = Object.freeze({ ...other, 'access-control-allow-origin': origin, ...(policy.credentials && { 'access-control-allow-credentials': 'true' }) });
      return [origin, { toPreflight, toRequest: Object.freeze({ ...toPreflight, ...exposed }) }] as const;
    }),
  );
  return {
    policy,
    allows: (origin) => answers.has(origin),
    answerHeaders: (origin, method) => {
      const answer = origin === null ? undefined : answers.get(origin);
      if (!answer) return other;
      return method === 'OPTIONS' ? answer.toPreflight : answer.toRequest;
    },
    preflightHeaders: (origin) => (answers.has(origin) ? preflight : NONE),
  };
}

const VARY_ORIGIN = /(^|,)\s*(origin|\*)\s*(,|$)/i;

/**
 * The Cors above as a Yoga plugin, instead of Yoga's own, which reflects any
 * Origin with Access-Control-Allow-Credentials: true when left at its
 * default, answers an unlisted origin with `Access-Control-Allow-Origin: null`
 * (the origin of every sandboxed iframe), and never sends `*` or
 * `Vary: Origin` for a single listed origin.
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered here, in onRequest, before request hygiene (onRequestParse) would
 * refuse it for not being a GraphQL request: 204 with the allowed methods and
 * headers for an allowed origin, 204 without them otherwise.
 *
 * Request hygiene still holds for what follows a preflight: a POST must be
 * application/json, so a page on an origin that is not allowed cannot get
 * past the browser's preflight to send one.
 */
export function useCors(cors: Cors): Plugin {
  return {
    onRequest({ request, fetchAPI, endResponse }) {
      if (request.method !== 'OPTIONS') return;
      const origin = request.headers.get('origin');
      if (origin === null || !request.headers.has('access-control-request-method')) return;
      // Safari waits for a body on a 204 without Content-Length: 0.
      endResponse(new fetchAPI.Response(null, { status: 204, headers: { ...cors.preflightHeaders(origin), 'content-length': '0' } }));
    },
    // Also runs for the preflight answered above, and for refusals (a page may read a 4xx from an allowed origin).
    onResponse({ request, response }) {
      // No upstream can set access-control-* headers (config/openapi.ts gatewayOwnedHeader): these are the only ones.
      const { headers } = response;
      const answer = cors.answerHeaders(request.headers.get('origin'), request.method);
      for (const name in answer) {
        const value = answer[name]!;
        if (name !== 'vary') headers.set(name, value);
        else {
          const vary = headers.get('vary');
          if (!vary) headers.set('vary', value);
          else if (!VARY_ORIGIN.test(vary)) headers.set('vary', `${vary}, ${value}`);
        }
      }
    },
  };
}
