/**
 * Rate limits per consumer, operation name and channel, charged per operation
 * (1, or its computed cost for `cost: true` rules). Runs when an operation is
 * about to execute: after authentication (the consumer is known) and after
 * validation (a malformed request never costs a point); before the response
 * cache, so cached answers are metered too.
 *
 * Over a limit: HTTP 429, code RATE_LIMITED, with Retry-After and
 * RateLimit-Limit / -Remaining / -Reset / -Policy of the exhausted rule. Under
 * it, the RateLimit-* headers of the rule closest to its limit (when
 * `rateLimit.headers`). With the store down and onStoreError "closed": 503,
 * RATE_LIMIT_STORE_UNAVAILABLE.
 */
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, Kind, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { TesseraError } from '../errors.js';
import type { RequestScope } from '../request-scope.js';
import { estimateCost } from './cost.js';
import type { LimitOutcome } from './limiter.js';
import { refusal } from './refusal.js';
import type { CompiledRule, RateLimits } from './traffic.js';

export interface RateLimitOptions {
  limits: RateLimits;
  /** The channel this chain serves. */
  channel: string;
}

interface Applied {
  rule: CompiledRule;
  key: string;
  points: number;
  outcome: LimitOutcome;
}

function operationName(document: DocumentNode, given: string | null | undefined): string {
  if (given) return given;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) return definition.name?.value ?? '(anonymous)';
  }
  return '(anonymous)';
}

/** The operation's estimated cost, by the cost limit's own model (so the two always agree). */
function costOf(schema: GraphQLSchema, document: DocumentNode, name: string | null | undefined, variables: unknown, limits: RateLimits): number {
  const operation = getOperationAST(document, name);
  return operation ? estimateCost(schema, document, operation, (variables ?? undefined) as Record<string, unknown> | undefined, limits.cost) : 0;
}

/** The authenticated subject (or API key), else the client address. */
function consumerOf(context: unknown, limits: RateLimits): string {
  const identity = (context as { tessera?: RequestScope }).tessera?.identity;
  if (identity) return `${identity.kind}:${identity.subject}`;
  return `ip:${limits.clientAddress(context)}`;
}

function rateLimitHeaders({ rule, outcome }: Applied): Record<string, string> {
  const reset = Math.max(0, Math.ceil(outcome.resetMs / 1000));
  return {
    'RateLimit-Limit': String(outcome.limit),
    'RateLimit-Remaining': String(Math.max(0, outcome.remaining)),
    'RateLimit-Reset': String(reset),
    'RateLimit-Policy': `${outcome.limit};w=${rule.rule.window / 1000}`,
  };
}

function refusalFor(applied: Applied): TesseraError {
  const { rule, outcome } = applied;
  if (outcome.storeDown) {
    return refusal('RATE_LIMIT_STORE_UNAVAILABLE', 'Rate limits cannot be checked right now; retry shortly.', { headers: { 'Retry-After': '1' } });
  }
  const retryAfter = Math.max(1, Math.ceil(outcome.resetMs / 1000));
  const unit = rule.rule.cost ? 'cost points' : 'operations';
  return refusal('RATE_LIMITED', `Rate limit "${rule.rule.name}" exceeded: ${outcome.limit} ${unit} per ${rule.rule.window / 1000}s. Retry in ${retryAfter}s.`, {
    headers: { 'Retry-After': String(retryAfter), ...rateLimitHeaders(applied) },
    extensions: { rateLimit: { rule: rule.rule.name, retryAfter } },
  });
}

export function useRateLimit(options: RateLimitOptions): Plugin {
  const { limits, channel } = options;
  const rules = limits.rules.filter((r) => !r.channels || r.channels.has(channel));
  if (rules.length === 0) return {};
  const byOperation = rules.some((r) => r.operations || r.rule.by.includes('operation'));
  const byConsumer = rules.some((r) => r.rule.by.includes('consumer'));
  const byCost = rules.some((r) => r.rule.cost);
  const pendingHeaders = new WeakMap<Request, Record<string, string>>();

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const name = byOperation ? operationName(args.document, args.operationName) : '';
      const consumer = byConsumer ? consumerOf(args.contextValue, limits) : '';
      const cost = byCost ? costOf(args.schema, args.document, args.operationName, args.variableValues, limits) : 1;
      const charged: Array<Promise<Applied>> = [];
      for (const rule of rules) {
        if (rule.operations && !rule.operations.has(name)) continue;
        let key = 'all';
        for (const part of rule.rule.by) key += part === 'consumer' ? `|c=${consumer}` : part === 'operation' ? `|o=${name}` : `|ch=${channel}`;
        const points = rule.rule.cost ? cost : 1;
        charged.push(rule.limiter.consume(key, points).then((outcome) => ({ rule, key, points, outcome })));
      }
      if (charged.length === 0) return;
      return Promise.all(charged).then((applied) => {
        let refused: Applied | undefined;
        let closest: Applied | undefined;
        for (const a of applied) {
          if (!a.outcome.allowed) {
            if (!refused || a.outcome.storeDown || a.outcome.resetMs > refused.outcome.resetMs) refused = a;
          } else if (!closest || a.outcome.remaining / a.outcome.limit < closest.outcome.remaining / closest.outcome.limit) closest = a;
        }
        if (refused) {
          // Refused by one rule: the others give their points back (the operation does not run).
          const refunds = applied.filter((a) => a.outcome.allowed).map((a) => a.rule.limiter.refund(a.key, a.points));
          setResultAndStopExecution({ errors: [refusalFor(refused)] });
          return refunds.length > 0 ? Promise.all(refunds).then(() => undefined) : undefined;
        }
        // Set on the HTTP response, not in the result, so a cached result never carries another request's counts.
        const request = (args.contextValue as { request?: Request }).request;
        if (limits.headers && closest && request) pendingHeaders.set(request, rateLimitHeaders(closest));
      });
    },
    onResponse({ request, response }) {
      const headers = pendingHeaders.get(request);
      if (!headers) return;
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    },
  };
}
