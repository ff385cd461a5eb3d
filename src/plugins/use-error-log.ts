/**
 * Logs, for the person on call, what the client sees only in masked form:
 * upstream failures with their socket-level cause (ECONNREFUSED and the
 * instance address), and unexpected errors with their stack. One line per
 * failed upstream call, at warn, with `nulledFields`, the number of fields
 * it left null (the client gets one error per field, all of them copies of
 * that one failure); one line per unexpected error, at error (a bug in
 * Tessera). Each line carries the route the operation took (`route`:
 * direct, planned or stitched; `routeReason` when stitched, which is what
 * the planner declined), the channel, the operation name and the request id
 * (`requestId`, the one the request log line and the response carry).
 */
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, type GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { RequestScope } from '../request-scope.js';

type OnExecuteHooks = Exclude<ReturnType<NonNullable<Plugin['onExecute']>>, void | Promise<unknown>>;

const UPSTREAM_CODES = new Set(['SOURCE_UNAVAILABLE', 'GATEWAY_TIMEOUT', 'SOURCE_BAD_RESPONSE', 'SOURCE_RESPONSE_TOO_LARGE', 'RESPONSE_VALIDATION_FAILED']);

function causeOf(error: GraphQLError): unknown {
  const own = (error as { cause?: unknown }).cause;
  if (own) return own;
  const original = error.originalError as { cause?: unknown } | undefined;
  return original?.cause ?? error.originalError;
}

export function useErrorLog(options: { logger: Logger; channel: string }): Plugin {
  const { logger, channel } = options;
  // One hooks object for every execution: it keeps no per-request state.
  const hooks: OnExecuteHooks = {
    onExecuteDone({ args, result }) {
      if (!('errors' in result) || !result.errors) return;
      const scope = (args.contextValue as { tessera?: RequestScope } | undefined)?.tessera;
      const taken = scope?.route;
      const requestId = scope?.requestId;
      const route = taken?.route;
      const routeReason = taken?.route === 'stitched' ? taken.reason : undefined;
      const operation = getOperationAST(args.document, args.operationName)?.name?.value;
      // One failed call: the errors that share its original error (copies made per field by execution/).
      const calls = new Map<unknown, { error: GraphQLError; code: string; nulledFields: number }>();
      for (const error of result.errors) {
        const code = error.extensions?.code;
        if (typeof code === 'string' && UPSTREAM_CODES.has(code)) {
          const failure = error.originalError ?? error;
          const call = calls.get(failure) ?? { error, code, nulledFields: 0 };
          if (error.path) call.nulledFields++;
          calls.set(failure, call);
        } else if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
          const original = error.originalError ?? error;
          if (original.constructor?.name === 'GraphQLError' && !error.originalError) continue;
          logger.error({ requestId, channel, route, routeReason, operation, path: error.path?.join('.'), err: original }, 'unexpected error while executing');
        }
      }
      for (const { error, code, nulledFields } of calls.values()) {
        const found = causeOf(error);
        const cause = found instanceof Error ? found.message : found;
        logger.warn(
          { requestId, channel, route, routeReason, operation, code, subgraph: error.extensions?.subgraph, path: error.path?.join('.'), nulledFields, cause: cause === error.message ? undefined : cause },
          error.message,
        );
      }
    },
  };
  return { onExecute: () => hooks };
}
