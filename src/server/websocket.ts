/**
 * GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`)
 * on the GraphQL path of a node:http server, beside Yoga's own HTTP and SSE
 * transports. Every operation runs through the current Yoga instance's
 * envelop pipeline (parse, validate, plugins, masking), so a schema swap or a
 * plugin applies here as it does over HTTP.
 *
 * Each operation gets its own request scope: its signal aborts when the
 * client completes the operation or the socket closes, which cancels the
 * upstream calls and streams it caused (gRPC `call.cancel()`). Subscriptions
 * get `subscriptionDeadline` instead of the request deadline.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { createScope, type RequestScope } from '../transport/scope.js';

export interface WebSocketOptions {
  /**
   * The Yoga instance serving a path now (one per channel), or undefined when
   * no GraphQL endpoint is there; read for every operation, so a hot swap
   * applies at once.
   */
  getYoga: (path: string) => YogaServerInstance<any, any> | undefined;
  /** Deadline of a query or mutation sent over the socket, ms. */
  requestDeadline: number;
  /** Longest a subscription lives, ms; its upstream streams are cancelled then. Default 1 hour. */
  subscriptionDeadline?: number;
  /** Largest message accepted from a client, bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Time a client has to send `connection_init`, ms. Default 3 s. */
  connectionInitWaitTimeout?: number;
}

export interface AttachedWebSocket {
  /** Closes every socket (their operations are cancelled) and stops accepting upgrades. */
  close(): Promise<void>;
}

interface SocketState {
  operations: Map<string, AbortController>;
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

export function attachWebSocket(server: Server, options: WebSocketOptions): AttachedWebSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
  const states = new WeakMap<object, SocketState>();
  const stateOf = (extra: object): SocketState => {
    let state = states.get(extra);
    if (!state) {
      state = { operations: new Map() };
      states.set(extra, state);
    }
    return state;
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (!options.getYoga(pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
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
        const path = new URL(ctx.extra.request.url ?? '/', 'http://localhost').pathname;
        const yoga = options.getYoga(path);
        if (!yoga) return [new GraphQLError(`No GraphQL endpoint at ${path}`)];
        const headers = headersOf(ctx.extra.request);
        withConnectionParams(headers, ctx.connectionParams);
        const controller = new AbortController();
        const request = new Request(`http://localhost${path}`, { method: 'POST', headers, signal: controller.signal });
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
          return [error instanceof GraphQLError ? error : new GraphQLError((error as Error).message)];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError('Could not determine the operation to run (check operationName)')];
        const deadlineMs = operation.operation === 'subscription' ? (options.subscriptionDeadline ?? 3_600_000) : options.requestDeadline;
        let contextValue: Record<string, unknown>;
        try {
          // Authentication runs here (plugins/use-auth.ts): a bad credential is this operation's error.
          contextValue = (await contextFactory()) as Record<string, unknown>;
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError((error as Error).message)];
        }
        // The scope is this operation's own: it ends when the operation does, whatever the HTTP context function made.
        // The caller's identity (set by authentication on the first scope) comes along.
        const identity = (contextValue.tessera as RequestScope | undefined)?.identity;
        contextValue.tessera = Object.assign(createScope({ deadlineMs, signal: controller.signal, headers }), identity && { identity });
        stateOf(ctx.extra).operations.set(id, controller);
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      onComplete: (ctx, id) => {
        const state = stateOf(ctx.extra);
        state.operations.get(id)?.abort();
        state.operations.delete(id);
      },
      onClose: (ctx) => {
        const state = stateOf(ctx.extra);
        for (const controller of state.operations.values()) controller.abort();
        state.operations.clear();
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
