/**
 * Logs, for the person on call, what the client sees only in masked form:
 * upstream failures with their socket-level cause (ECONNREFUSED and the
 * instance address), and unexpected errors with their stack. One line per
 * error, at warn (upstream) or error (a bug in Tessera), with the route the
 * operation took (`route`: direct, planned or stitched; `routeReason` when
 * stitched, which is what the planner declined).
 */
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
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
      const taken = (args.contextValue as { tessera?: RequestScope } | undefined)?.tessera?.route;
      const route = taken?.route;
      const routeReason = taken?.route === 'stitched' ? taken.reason : undefined;
      for (const error of result.errors) {
        const code = error.extensions?.code;
        if (typeof code === 'string' && UPSTREAM_CODES.has(code)) {
          const cause = causeOf(error);
          logger.warn({ channel, route, routeReason, code, subgraph: error.extensions?.subgraph, path: error.path?.join('.'), cause: cause instanceof Error ? cause.message : cause }, error.message);
        } else if (code === undefined || code === 'INTERNAL_SERVER_ERROR') {
          const original = error.originalError ?? error;
          if (original.constructor?.name === 'GraphQLError' && !error.originalError) continue;
          logger.error({ channel, route, routeReason, path: error.path?.join('.'), err: original }, 'unexpected error while executing');
        }
      }
    },
  };
  return { onExecute: () => hooks };
}
