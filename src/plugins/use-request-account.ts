/**
 * The request's account: its id, its log line, and what the metrics and the
 * status page read of it, kept once per request.
 *
 * Every HTTP request to a GraphQL path gets an id: the client's
 * `x-request-id` when it is 1 to 128 characters of [A-Za-z0-9._:-] (safe to
 * write into a log line and a header as is), else a generated UUID. It is on
 * the request scope (`requestId`, so every layer's log lines can carry it) and
 * echoed as `x-request-id` on every response, refusals included.
 *
 * The account (RequestAccount, on the scope as `account`) notes the
 * operations executed, the error codes of the answers and, when anyone reads
 * them, the upstream attempts the request caused (the transport's observe
 * stage adds each as it ends). When the response is ready, the observers
 * given (telemetry/metrics.ts, telemetry/status.ts) read it, and, when
 * `logging.requests` is on, one info line is written: request id, channel,
 * operation name, route, consumer (the identity's subject, never a
 * credential), status, duration (from the request's arrival: a wait for a
 * place under server.admission counts, and is also given as `queuedMs`), the
 * subgraph calls with their durations and error codes, and the error codes of
 * the answer. server/websocket.ts writes
 * one line per operation over WebSocket when it ends (writeRequestLine).
 * With neither a log nor an observer, the account holds the id alone and
 * its other hooks are not installed.
 */
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { ExecutionArgs } from 'graphql';
import type { Logger } from 'pino';
import type { Arrival, AttemptRecord, RequestAccount, RequestObserver, RequestScope } from '../request-scope.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it is safe to log and echo, else a new one. */
export function acceptRequestId(given: string | null): string {
  return given !== null && SAFE_ID.test(given) ? given : randomUUID();
}

class Account implements RequestAccount {
  readonly started: number;
  /** Time spent waiting for a place before any work (server.admission), in ms. */
  readonly queuedMs: number;
  readonly operations: Array<string | undefined> = [];
  readonly codes: string[] = [];
  errored = false;
  readonly attempts?: AttemptRecord[];
  /** The scope of its first operation (route, identity). */
  scope?: RequestScope;
  written = false;

  constructor(
    readonly id: string,
    recordAttempts: boolean,
    arrival?: Arrival,
  ) {
    this.started = arrival?.at ?? performance.now();
    this.queuedMs = arrival?.waitedMs ?? 0;
    if (recordAttempts) this.attempts = [];
  }
}

const accounts = new WeakMap<Request, Account>();

/** The account of a request, made at its first sight (its upstream attempts recorded when `recordAttempts`). */
function accountOf(request: Request, recordAttempts = false, arrival?: Arrival): Account {
  let account = accounts.get(request);
  if (!account) accounts.set(request, (account = new Account(acceptRequestId(request.headers.get('x-request-id')), recordAttempts, arrival)));
  return account;
}

/**
 * The account of a request: server/yoga.ts puts it on the scope it creates;
 * server/websocket.ts makes one per operation (recording its attempts when
 * its line is written).
 */
export function requestAccount(request: Request, recordAttempts = false): RequestAccount {
  return accountOf(request, recordAttempts);
}

/** Notes the error codes of one answer of the request. */
export function noteErrors(request: Request, errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined): void {
  if (!errors?.length) return;
  noteAnswerErrors(accountOf(request), errors);
}

function noteAnswerErrors(account: Account, errors: ReadonlyArray<{ extensions?: Record<string, unknown> }>): void {
  account.errored = true;
  for (const error of errors) {
    const code = error.extensions?.code;
    if (typeof code === 'string' && !account.codes.includes(code)) account.codes.push(code);
  }
}

/** Where a channel's request lines go. */
export interface RequestLog {
  logger: Logger;
  channel: string;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Writes the request's line, once (later calls write nothing). `status`: the
 * HTTP status; absent for an operation over WebSocket, which has none.
 */
export function writeRequestLine(request: Request, log: RequestLog, status?: number): void {
  const account = accountOf(request);
  if (account.written) return;
  account.written = true;
  // The level can change at run time (POST /admin/log-level): asked per line, before the line is built.
  if (!log.logger.isLevelEnabled('info')) return;
  const scope = account.scope;
  const taken = scope?.route;
  const names = account.operations.filter((name) => name !== undefined);
  log.logger.info(
    {
      requestId: account.id,
      channel: log.channel,
      operation: names.length > 0 ? names.join(',') : undefined,
      route: taken?.route,
      routeReason: taken?.route === 'stitched' ? taken.reason : undefined,
      consumer: scope?.identity?.subject,
      status,
      durationMs: round(performance.now() - account.started),
      queuedMs: account.queuedMs > 0 ? round(account.queuedMs) : undefined,
      subgraphs: (account.attempts ?? []).map((a) => ({ subgraph: a.subgraph, durationMs: round(a.durationMs), status: a.status, code: a.code })),
      errors: account.codes.length > 0 ? [...account.codes] : undefined,
    },
    'request',
  );
}

/** The name of the operation `args` executes (undefined: anonymous). Execution has checked that it exists. */
function operationName(args: ExecutionArgs): string | undefined {
  if (args.operationName) return args.operationName;
  let name: string | undefined;
  let operations = 0;
  for (const definition of args.document.definitions) {
    if (definition.kind !== 'OperationDefinition') continue;
    operations++;
    name = definition.name?.value;
  }
  return operations === 1 ? name : undefined;
}

export interface RequestAccountOptions {
  /** Where the line goes; absent (logging.requests: false): no line. */
  log?: RequestLog;
  /** Who reads the account when the response is ready. */
  observers?: readonly RequestObserver[];
  /** When the request arrived (performance.now()) and how long it waited for a place before any work (server.admission); absent: it arrived when Yoga saw it. */
  arrivalOf?: (serverContext: unknown) => Arrival | undefined;
}

/** Makes each request's account and id, echoes the id, writes the line and tells the observers. */
export function useRequestAccount(options: RequestAccountOptions): Plugin {
  const { log } = options;
  const observers = options.observers ?? [];
  const recordAttempts = log !== undefined || observers.some((o) => o.readsAttempts);
  const noteOperation = (args: ExecutionArgs): void => {
    const context = args.contextValue as { request?: Request; tessera?: RequestScope };
    if (!context.request) return;
    const account = accountOf(context.request);
    account.operations.push(operationName(args));
    if (context.tessera && !account.scope) account.scope = context.tessera;
  };
  const observing = log !== undefined || observers.length > 0;
  return {
    onRequest({ request, serverContext }) {
      accountOf(request, recordAttempts, options.arrivalOf?.(serverContext));
    },
    ...(observing && {
      onExecute({ args }) {
        noteOperation(args);
      },
      onSubscribe({ args }) {
        noteOperation(args);
      },
      onResultProcess({ request, result }) {
        const account = accountOf(request);
        if (!Array.isArray(result)) {
          if ((result as { errors?: unknown[] }).errors?.length && !(Symbol.asyncIterator in result)) noteAnswerErrors(account, result.errors!);
          return;
        }
        for (const one of result) if (one.errors?.length) noteAnswerErrors(account, one.errors);
      },
    }),
    onResponse({ request, response }) {
      const account = accountOf(request);
      response.headers.set('x-request-id', account.id);
      if (log) writeRequestLine(request, log, response.status);
      if (observers.length === 0) return;
      const route = account.scope?.route?.route;
      const now = performance.now();
      for (const observer of observers) observer.ended(account, route, response.status, now);
    },
  };
}
