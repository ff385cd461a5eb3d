/**
 * GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`)
 * on the GraphQL path of a node:http server, beside Yoga's own HTTP and SSE
 * transports. Every operation runs through the current Yoga instance's
 * envelop pipeline (parse, validate, plugins, masking), so every plugin
 * applies here as it does over HTTP.
 *
 * Each operation gets its own request scope: its signal aborts when the
 * client completes the operation or the socket closes, which cancels the
 * upstream calls and streams it caused (gRPC `call.cancel()`). Subscriptions
 * get `subscriptionDeadline` instead of the request deadline.
 *
 * CORS does not apply to WebSockets: a browser opens a socket to any host
 * from any page, sending the page's Origin and the user's cookies for the
 * host. So the Origin of an upgrade is checked here (`upgradeOrigin`), or any
 * website could act as the user over a socket (cross-site WebSocket
 * hijacking) wherever a descriptor forwards `cookie` upstream.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { isAsyncIterable } from '@envelop/core';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { errorBody, type ErrorCode } from '../errors.js';
import { createScope, type RequestScope } from '../request-scope.js';
import { noteErrors, requestAccount, writeRequestLine, type RequestLog } from '../plugins/use-request-account.js';
import type { Cors } from './cors.js';

export interface WebSocketOptions {
  /**
   * The Yoga instance serving a path (one per channel), or undefined when
   * no GraphQL endpoint is there. With `until`, for one operation: the caller
   * may hold what serves it (its schema version) until `until` aborts, which
   * it does when the operation ends, however it ends.
   */
  getYoga: (path: string, until?: AbortSignal) => YogaServerInstance<any, any> | undefined;
  /** Deadline of a query or mutation sent over the socket, ms. */
  requestDeadline: number;
  /** Longest a subscription lives, ms; its upstream streams are cancelled then. Default 1 hour. */
  subscriptionDeadline?: number;
  /** Largest message accepted from a client, bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Time a client has to send `connection_init`, ms. Default 3 s. */
  connectionInitWaitTimeout?: number;
  /**
   * Which browser pages may open a socket at a path: the CORS policy of the
   * channel there (undefined: CORS off, same-origin pages only) and the config
   * key that sets it, named when an upgrade is refused. Absent (no option, or
   * undefined for the path): CORS off, set by security.cors.
   */
  corsFor?: (path: string) => { cors: Cors | undefined; configKey: string } | undefined;
  /** Refused upgrades are logged here (warn). */
  logger?: Logger;
  /** Where the request line of each operation at a path goes (logging.requests); undefined: no line. */
  requestLog?: (path: string) => RequestLog | undefined;
}

export interface AttachedWebSocket {
  /** Closes every socket (their operations are cancelled) and stops accepting upgrades. */
  close(): Promise<void>;
}

interface SocketState {
  operations: Map<string, AbortController>;
  /** The operations whose request line is still to be written, by id. */
  lines: Map<string, { request: Request; log: RequestLog }>;
}

function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      // Headers refuses CR/LF itself; a malformed value is dropped rather than failing the connection.
      try {
        headers.append(name, v);
      } catch {
        /* dropped */
      }
    }
  }
  return headers;
}

/** An error as a WebSocket client receives it: without extensions.http. */
function forSocket(error: GraphQLError | GraphQLFormattedError): GraphQLFormattedError {
  const formatted = error instanceof GraphQLError ? error.toJSON() : error;
  if (!formatted.extensions || !('http' in formatted.extensions)) return formatted;
  const { http: _http, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

const TOKEN_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Browsers cannot set headers on a WebSocket upgrade, so clients send their
 * credentials in the `connection_init` payload instead (graphql-ws
 * `connectionParams`): `{ authorization: "Bearer …" }`, or `{ headers: {…} }`.
 * They are read as request headers and go through authentication like any
 * other; a value set in the payload wins over the upgrade request's.
 */
export function withConnectionParams(headers: Headers, params: Readonly<Record<string, unknown>> | undefined): void {
  if (!params) return;
  const nested = params.headers;
  const entries = [...Object.entries(params), ...(nested && typeof nested === 'object' ? Object.entries(nested as Record<string, unknown>) : [])];
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || !TOKEN_NAME.test(name)) continue;
    try {
      headers.set(name, value);
    } catch {
      // A value with CR/LF: dropped, like a malformed upgrade header.
    }
  }
}

/** A Host header as a browser sends it: a host name or an IP literal, and a port. */
const HOST = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

/**
 * The origin a page served by the gateway itself would send: the scheme the
 * client used and the Host header. Behind a proxy that terminates TLS, the
 * scheme is the proxy's `X-Forwarded-Proto`. Neither header can be chosen by
 * a page (scripts set no headers on a WebSocket upgrade, and the browser
 * writes Host from the URL it connects to), so a page elsewhere cannot pass
 * for this origin; a non-browser client can send anything, but it carries no
 * user's cookies either.
 */
export function ownOrigin(request: IncomingMessage): string | undefined {
  const host = request.headers.host;
  if (!host || !HOST.test(host)) return undefined;
  const forwarded = request.headers['x-forwarded-proto'];
  const proto = typeof forwarded === 'string' ? forwarded.split(',', 1)[0]!.trim().toLowerCase() : '';
  const secure = proto === 'https' || proto === 'wss' ? true : proto === 'http' || proto === 'ws' ? false : Boolean((request.socket as TLSSocket).encrypted);
  try {
    return new URL(`${secure ? 'https' : 'http'}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether a browser page on `origin` may open a socket, and with what:
 * - `credentials`: the gateway's own origin, or an origin the channel's CORS
 *   policy lists with `credentials: true`: the upgrade's cookies and
 *   Authorization count, as they would for that page's fetch();
 * - `no-credentials`: an origin the policy allows without credentials
 *   (`credentials: false`, always the case with `*`): the socket opens, but
 *   its operations see no cookie and no Authorization from the upgrade (a
 *   credential must come from the page, in `connectionParams`), as a browser
 *   would send none on that page's fetch();
 * - `refused`: any other origin, including `null` (sandboxed iframes, file:
 *   pages) unless the policy allows any origin.
 */
export function upgradeOrigin(origin: string, own: string | undefined, cors: Cors | undefined): 'credentials' | 'no-credentials' | 'refused' {
  if (origin === own) return 'credentials';
  if (!cors?.allows(origin)) return 'refused';
  return cors.policy.credentials ? 'credentials' : 'no-credentials';
}

/** Headers a browser attaches to a request by itself, which a page allowed without credentials must not use. */
const AMBIENT_CREDENTIALS = ['cookie', 'authorization'];

/**
 * Answers an upgrade with a plain HTTP response and closes the connection;
 * with an error code, the body is the catalog's JSON error, as node:http's own
 * refusals (server/http.ts) give it.
 */
function refuseUpgrade(socket: Duplex, status: string, error?: { code: ErrorCode; message: string }): void {
  // node:http stops listening for errors on a socket it hands to 'upgrade'; a reset while this is written must not throw.
  socket.on('error', () => socket.destroy());
  const body = error ? errorBody(error.code, error.message) : '';
  const length = Buffer.byteLength(body);
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n${length ? 'content-type: application/json; charset=utf-8\r\n' : ''}content-length: ${length}\r\n\r\n${body}`);
}

export function attachWebSocket(server: Server, options: WebSocketOptions): AttachedWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
  const states = new WeakMap<object, SocketState>();
  const endLine = (state: SocketState, id: string, errors?: readonly GraphQLError[]): void => {
    const line = state.lines.get(id);
    if (!line) return;
    state.lines.delete(id);
    if (errors) noteErrors(line.request, errors);
    writeRequestLine(line.request, line.log);
  };
  // Upgrade requests (one per socket) whose cookies and Authorization operations must not see.
  const withoutCredentials = new WeakSet<IncomingMessage>();
  const stateOf = (extra: object): SocketState => {
    let state = states.get(extra);
    if (!state) {
      state = { operations: new Map(), lines: new Map() };
      states.set(extra, state);
    }
    return state;
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (!options.getYoga(pathname)) return refuseUpgrade(socket, '404 Not Found');
    // Protocol version 8 (hybi-08) sends Sec-WebSocket-Origin instead; ws still accepts it.
    const origin = request.headers.origin ?? request.headers['sec-websocket-origin'];
    // No Origin: not a browser (a server, a CLI, a mobile app), so no ambient cookie to abuse.
    if (typeof origin === 'string') {
      const { cors, configKey } = options.corsFor?.(pathname) ?? { cors: undefined, configKey: 'security.cors' };
      const own = ownOrigin(request);
      const verdict = upgradeOrigin(origin, own, cors);
      if (verdict === 'refused') {
        options.logger?.warn({ origin, path: pathname, ownOrigin: own, configKey }, 'WebSocket upgrade refused: origin not allowed');
        const allowed = cors
          ? `only the gateway's own origin and the origins in ${configKey}.origins may`
          : `CORS is off there (${configKey}), so only pages on the gateway's own origin (${own ?? 'unknown: no valid Host header'}) may; list the origin in ${configKey}.origins to allow it`;
        return refuseUpgrade(socket, '403 Forbidden', {
          code: 'ORIGIN_NOT_ALLOWED',
          message: `WebSocket upgrade refused: a page on origin ${origin} may not open a socket at ${pathname}; ${allowed}.`,
        });
      }
      if (verdict === 'no-credentials') withoutCredentials.add(request);
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const disposable = useServer(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3_000,
      execute: (args: ExecutionArgs) => (args.rootValue as { execute(a: ExecutionArgs): unknown }).execute(args) as never,
      subscribe: (args: ExecutionArgs) => (args.rootValue as { subscribe(a: ExecutionArgs): unknown }).subscribe(args) as never,
      onSubscribe: async (ctx, id, payload) => {
        // Aborted when the operation ends: onComplete, the socket's close, or here when it is refused before it runs.
        const controller = new AbortController();
        const refused = (errors: readonly GraphQLError[]): readonly GraphQLError[] => {
          controller.abort();
          return errors;
        };
        const path = new URL(ctx.extra.request.url ?? '/', 'http://localhost').pathname;
        const yoga = options.getYoga(path, controller.signal);
        if (!yoga) return refused([new GraphQLError(`No GraphQL endpoint at ${path}`)]);
        const headers = headersOf(ctx.extra.request);
        if (withoutCredentials.has(ctx.extra.request)) for (const name of AMBIENT_CREDENTIALS) headers.delete(name);
        withConnectionParams(headers, ctx.connectionParams);
        const request = new Request(`http://localhost${path}`, { method: 'POST', headers, signal: controller.signal });
        // One request line per operation, written when it ends (onError, onComplete or the socket's close).
        const log = options.requestLog?.(path);
        // The operation's account, before anything else asks for it: its attempts are recorded for its line.
        const account = requestAccount(request, log !== undefined);
        if (log) stateOf(ctx.extra).lines.set(id, { request, log });
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          request,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return refused([error instanceof GraphQLError ? error : new GraphQLError((error as Error).message)]);
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return refused(errors);
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return refused([new GraphQLError('Could not determine the operation to run (check operationName)')]);
        const deadlineMs = operation.operation === 'subscription' ? (options.subscriptionDeadline ?? 3_600_000) : options.requestDeadline;
        let contextValue: Record<string, unknown>;
        try {
          // Authentication runs here (plugins/use-auth.ts): a bad credential is this operation's error.
          contextValue = (await contextFactory()) as Record<string, unknown>;
        } catch (error) {
          return refused([error instanceof GraphQLError ? error : new GraphQLError((error as Error).message)]);
        }
        // The scope is this operation's own: it ends when the operation does, whatever the HTTP context function made.
        // The caller's identity (set by authentication on the first scope) comes along.
        const identity = (contextValue.tessera as RequestScope | undefined)?.identity;
        contextValue.tessera = Object.assign(createScope({ deadlineMs, signal: controller.signal, headers, account }), identity && { identity });
        stateOf(ctx.extra).operations.set(id, controller);
        const args = { schema, operationName: payload.operationName, document, variableValues: payload.variables, contextValue };
        if (operation.operation !== 'subscription') return { ...args, rootValue: { execute, subscribe } };
        // A subscription is started here, not by graphql-ws once this hook returns, so that a refusal before its
        // stream starts (rate limit, open-subscription limit, authorization) answers this id with an `error`
        // message, as a validation error does, rather than `next` and `complete`; the socket stays open.
        const result: AsyncIterable<ExecutionResult> | ExecutionResult = await subscribe({ ...args, rootValue: { execute, subscribe } });
        if (!isAsyncIterable(result) && result.errors?.length) {
          stateOf(ctx.extra).operations.delete(id);
          controller.abort();
          // graphql-ws sends an `error` message only for GraphQLError instances.
          return result.errors.map((error: GraphQLError | GraphQLFormattedError) =>
            error instanceof GraphQLError ? error : new GraphQLError(error.message, { extensions: error.extensions }),
          );
        }
        return { ...args, rootValue: { execute, subscribe: () => result } };
      },
      // extensions.http sets an HTTP answer's status and headers (plugins/refusal.ts); Yoga drops it from HTTP
      // bodies, and it means nothing on a socket, so it is dropped here too.
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        const line = stateOf(ctx.extra).lines.get(id);
        if (line) noteErrors(line.request, result.errors);
        return { ...result, errors: result.errors.map(forSocket) };
      },
      onError: (ctx, id, _payload, errors) => {
        endLine(stateOf(ctx.extra), id, errors);
        return errors.map(forSocket);
      },
      onComplete: (ctx, id) => {
        const state = stateOf(ctx.extra);
        state.operations.get(id)?.abort();
        state.operations.delete(id);
        endLine(state, id);
      },
      onClose: (ctx) => {
        const state = stateOf(ctx.extra);
        for (const controller of state.operations.values()) controller.abort();
        state.operations.clear();
        for (const id of [...state.lines.keys()]) endLine(state, id);
      },
    },
    wss,
  );

  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
    },
  };
}
