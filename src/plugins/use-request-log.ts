/**
 * The request id and the request log.
 *
 * Every HTTP request to a GraphQL path gets an id: the client's
 * `x-request-id` when it is 1 to 128 characters of [A-Za-z0-9._:-] (safe to
 * write into a log line and a header as is), else a generated UUID. It is on
 * the request scope (`requestId`, so every layer's log lines can carry it) and
 * echoed as `x-request-id` on every response, refusals included.
 *
 * When `logging.requests` is on, one info line per request, written once the
 * response is ready (server/websocket.ts writes one per operation when it
 * ends, with writeRequestLine): request id, channel, operation name, route, consumer
 * (the identity's subject, never a credential), status, duration, the
 * subgraph calls it caused with their durations and error codes, and the
 * error codes of the answer. The subgraph calls come from `tessera:upstream`
 * (diagnostics_channel, one event per attempt, published by the transport's
 * observe stage with the call's request scope); listening changes no call.
 */
import { randomUUID } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, type ExecutionArgs } from 'graphql';
import type { Logger } from 'pino';
import type { RequestScope } from '../request-scope.js';
import { EVENTS } from '../events.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it is safe to log and echo, else a new one. */
export function acceptRequestId(given: string | null): string {
  return given !== null && SAFE_ID.test(given) ? given : randomUUID();
}

/** What `tessera:upstream` publishes (transport/stages/observe.ts), as far as the log reads it. */
interface UpstreamAttempt {
  subgraph: string;
  durationMs: number;
  status?: number;
  code?: string;
  scope?: RequestScope;
}

interface SubgraphCall {
  subgraph: string;
  durationMs: number;
  status?: number;
  code?: string;
}

interface RequestState {
  id: string;
  started: number;
  scope?: RequestScope;
  operations: string[];
  codes: Set<string>;
  calls: SubgraphCall[];
  written?: boolean;
}

const requests = new WeakMap<Request, RequestState>();
/** The requests being logged, by scope: where an upstream attempt finds its request. */
const byScope = new WeakMap<RequestScope, RequestState>();

function stateOf(request: Request): RequestState {
  let state = requests.get(request);
  if (!state) {
    state = { id: acceptRequestId(request.headers.get('x-request-id')), started: performance.now(), operations: [], codes: new Set(), calls: [] };
    requests.set(request, state);
  }
  return state;
}

/** The request's id (server/yoga.ts puts it on the scope it creates). */
export function requestIdOf(request: Request): string {
  return stateOf(request).id;
}

let listening = false;

/** One subscriber for every gateway in the process: the maps above tell the requests apart. */
function listen(): void {
  if (listening) return;
  listening = true;
  subscribe(EVENTS.upstream, (message) => {
    const attempt = message as UpstreamAttempt;
    const state = attempt.scope && byScope.get(attempt.scope);
    if (!state) return;
    state.calls.push({ subgraph: attempt.subgraph, durationMs: round(attempt.durationMs), status: attempt.status, code: attempt.code });
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Where a channel's request lines go. */
export interface RequestLog {
  logger: Logger;
  channel: string;
}

/** Notes the error codes of a result of the request (each code once). */
export function noteErrors(request: Request, errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined): void {
  const { codes } = stateOf(request);
  for (const error of errors ?? []) {
    const code = error.extensions?.code;
    if (typeof code === 'string') codes.add(code);
  }
}

/**
 * Writes the request's line, once (later calls write nothing). `status`: the
 * HTTP status; absent for an operation over WebSocket, which has none.
 */
export function writeRequestLine(request: Request, log: RequestLog, status?: number): void {
  const state = stateOf(request);
  if (state.written) return;
  state.written = true;
  const scope = state.scope;
  const taken = scope?.route;
  log.logger.info(
    {
      requestId: state.id,
      channel: log.channel,
      operation: state.operations.length > 0 ? state.operations.join(',') : undefined,
      route: taken?.route,
      routeReason: taken?.route === 'stitched' ? taken.reason : undefined,
      consumer: scope?.identity?.subject,
      status,
      durationMs: round(performance.now() - state.started),
      subgraphs: state.calls,
      errors: state.codes.size > 0 ? [...state.codes] : undefined,
    },
    'request',
  );
}

/** Reads or makes each request's id and echoes it; with `log`, also writes one line per request (absent: logging.requests: false). */
export function useRequestLog(options: { log?: RequestLog }): Plugin {
  const { log } = options;
  if (log) listen();
  const noteOperation = (args: ExecutionArgs): void => {
    const context = args.contextValue as { request?: Request; tessera?: RequestScope };
    if (!context.request) return;
    const state = stateOf(context.request);
    const name = getOperationAST(args.document, args.operationName)?.name?.value;
    if (name) state.operations.push(name);
    if (context.tessera && !state.scope) {
      state.scope = context.tessera;
      byScope.set(context.tessera, state);
    }
  };
  return {
    onRequest({ request }) {
      stateOf(request);
    },
    ...(log && {
      onExecute({ args }) {
        noteOperation(args);
      },
      onSubscribe({ args }) {
        noteOperation(args);
      },
      onResultProcess({ request, result }) {
        for (const one of Array.isArray(result) ? result : [result]) {
          if (!(Symbol.asyncIterator in one)) noteErrors(request, one.errors);
        }
      },
    }),
    onResponse({ request, response }) {
      response.headers.set('x-request-id', stateOf(request).id);
      if (log) writeRequestLine(request, log, response.status);
    },
  };
}
