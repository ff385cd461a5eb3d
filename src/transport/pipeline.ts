/**
 * The upstream-call pipeline: every unary call to an upstream, HTTP or gRPC,
 * passes through these stages, outermost first. Each stage is
 * `next => call => result` in its own file under stages/; the chain is built
 * once per upstream, never per call. HTTP and gRPC differ only in their
 * Protocol (the attempt, and how its outcome reads) and in HTTP's optional
 * shared cache.
 *
 * The order, and why each stage stands where it does:
 *
 * 1. memo: identical calls of one request share one outcome. Outermost, so
 *    that a shared call costs nothing below it: no cache lookup, no retry
 *    budget, no instance choice, no attempt, no event.
 * 1b. shadow (when the descriptor has `shadow:`): a share of the idempotent
 *    calls is copied to the shadow target after the primary answered, and
 *    the answers compared (stages/shadow.ts). Inside the memo, so that calls
 *    sharing one outcome are copied once; outside the cache, so that it
 *    compares the answer the client gets and copies the call as the source
 *    made it (before the cache adds conditional headers); outside the
 *    retries, so that one call makes one copy whatever its attempts. Absent
 *    from the chain when the descriptor has no `shadow:`.
 * 2. cache (HTTP, when configured): the shared cache across requests. Before
 *    the retries, because a fresh entry needs no attempt at all, and a
 *    revalidation is one call that may be retried like any other.
 * 3. retry: a failed attempt of an idempotent call is tried again, within
 *    the retry budget and the request deadline; one that failed at the
 *    connection moves to a spare instance outside the budget (failover).
 *    Outside the instance choice, so that every retry chooses again and goes
 *    to an instance not tried yet.
 * 4. concurrency (when the descriptor has `adaptiveConcurrency:`): the subgraph's
 *    adaptive concurrency limit; an attempt over it fails at once with
 *    SUBGRAPH_OVERLOADED, not queued. Per attempt, inside the retries, so a
 *    retry needs a slot like any attempt (retries cannot pile onto an
 *    overloaded upstream) and the latency it learns from is one attempt's,
 *    not a call's with its backoff waits; outside the instance choice,
 *    because the limit is the subgraph's, all instances together, and a
 *    shed attempt needs no instance, no breaker and no event of its own.
 * 5. canary (with `canary:`): the version a sticky caller's attempt keeps
 *    to, and each attempt's outcome recorded on its version for the canary
 *    guard. Inside the retries, so that a retry whose version has no
 *    instance left moves to the caller's next version, and so that the guard
 *    judges attempts as the breaker does; inside the concurrency limit, so
 *    that an attempt it shed is never held against a version; outside the
 *    instance choice, which it narrows to the version.
 * 6. balance: instance choice, weighted by the descriptor's strategy,
 *    skipping instances behind an open breaker (it takes a half-open
 *    breaker's one probe) or marked down by a health check; counts calls in
 *    flight per instance for the strategies that use them. A call that finds
 *    no instance fails here, and the retry stage does not retry it.
 * 7. breaker: records the outcome of each attempt on the instance chosen for
 *    it. Right inside the choice, so that it hears every attempt the choice
 *    let through, also those refused below for lack of time: a half-open
 *    probe left unrecorded would keep its instance half-open for good.
 * 8. observe: one `tessera:upstream` event per attempt. Inside the breaker,
 *    so the event of an attempt comes before the `tessera:breaker` event it
 *    causes; outside the deadline, so an attempt refused for lack of time is
 *    reported too, with its instance.
 * 9. trace: one CLIENT span per attempt when the request is traced, and the
 *    W3C context naming it for the attempt to send. Beside observe and for
 *    the same reasons: per attempt, the instance known, an attempt refused
 *    for lack of time still a span; one check when the request is untraced.
 * 10. deadline: the attempt's timeout, the descriptor's capped by what is left
 *    of the request deadline; no time left, or the client gone: not sent.
 *    Per attempt (innermost but one), because the backoff waits between
 *    attempts use up the deadline.
 * 11. attempt: the protocol's own call (undici for HTTP, grpc-js for gRPC),
 *    with the trace stage's headers when there are some.
 *
 * Streams (SSE subscriptions, gRPC server streams) do not pass through it:
 * their outcome arrives while they are read, not as one answer. Their
 * instance is chosen by `chooseStream`: the canary stage's version for the
 * stream's caller (stages/canary.ts: sticky, with the same fallback event),
 * then the balance stage's choice within it (stages/balance.ts), so a
 * caller's streams land on the version its calls do. They use the same
 * breaker rule (stages/breaker.ts) and open their own span
 * (stages/trace.ts's attributes). The canary guard does not judge them (a
 * stream's duration says nothing of its version), but a guarded version,
 * at weight 0, gets no new stream.
 */
import type { Instance, Member, Protocol, Send, Stage, UpstreamCall } from './call.js';
import type { RequestScope } from '../request-scope.js';
import { createBalancer, type BalanceStrategy } from './balancer.js';
import { spareInstance } from './breaker.js';
import { balanceStage, instanceChooser } from './stages/balance.js';
import { Canary, type CanaryBoard, type CanaryOptions } from './canary.js';
import { canaryStage } from './stages/canary.js';
import { breakerStage } from './stages/breaker.js';
import type { ConcurrencyOptions } from './concurrency.js';
import { concurrencyStage } from './stages/concurrency.js';
import { deadlineStage } from './stages/deadline.js';
import { memoStage } from './stages/memo.js';
import { observeStage } from './stages/observe.js';
import { retryStage, type RetryOptions } from './stages/retry.js';
import { traceStage } from './stages/trace.js';

export interface PipelineOptions<M extends Member, C extends UpstreamCall<M>, R> {
  subgraph: string;
  /** The instances calls go to at first (none for a discovered upstream before its first resolution). */
  members: readonly M[];
  /** The descriptor's entries (versions and their weights, for the canary); default: `members`. */
  entries?: readonly Instance[];
  /** Longest one attempt may take, ms (capped by the request deadline). */
  timeout: number;
  retry: RetryOptions;
  /** How each attempt's instance is chosen (default round-robin). */
  balance?: BalanceStrategy;
  protocol: Protocol<C, R>;
  /** The subgraph's adaptive concurrency limit (concurrency.ts), when the descriptor has `adaptiveConcurrency:`. */
  concurrency?: ConcurrencyOptions;
  /** HTTP's shared cache (stages/http-cache.ts), when the descriptor turns it on. */
  cache?: Stage<C, R>;
  /** Shadow traffic (stages/shadow.ts), when the descriptor has `shadow:`. */
  shadow?: Stage<C, R>;
  /** Canary versions (descriptor `canary:`), and the gateway's board the admin API restores them through. */
  canary?: { options: CanaryOptions; board?: CanaryBoard | undefined } | undefined;
}

export interface Pipeline<M extends Member, C, R> {
  /** Sends one call through every stage. */
  send: Send<C, R>;
  /**
   * The instance of a stream (which does not pass through the stages), chosen as an attempt's is:
   * the version the canary stage would keep the scope's caller to, then the balance stage's choice.
   * Throws SOURCE_UNAVAILABLE when no instance can be chosen.
   */
  chooseStream(scope: RequestScope): M;
  /** The canary versions, with `canary:`. */
  canary: Canary<M> | undefined;
  /** Takes the canary off the gateway's board (the upstream closed). */
  close(): void;
  /** The instance set changed (members.ts): calls from now on choose among `members`, and the canary's versions have them. */
  update(members: readonly M[]): void;
}

/** Runs `last` behind `stages`, the first stage outermost. */
export function compose<C, R>(stages: ReadonlyArray<Stage<C, R>>, last: Send<C, R>): Send<C, R> {
  return stages.reduceRight((next, stage) => stage(next), last);
}

export function createPipeline<M extends Member, C extends UpstreamCall<M>, R>(options: PipelineOptions<M, C, R>): Pipeline<M, C, R> {
  const { subgraph, protocol } = options;
  const balancer = createBalancer(options.balance ?? 'round-robin', options.members);
  const choose = instanceChooser(subgraph, balancer);
  const spare = (tried: ReadonlySet<M>): boolean => spareInstance(balancer.items, tried);
  // The versions and their weights are the entries'; their instances follow the member set (update below).
  const canary = options.canary && new Canary<M>(subgraph, options.entries ?? options.members, options.members, options.canary.options);
  if (canary) options.canary?.board?.add(canary);
  const stages: Array<Stage<C, R>> = [
    memoStage(subgraph),
    ...(options.shadow ? [options.shadow] : []),
    ...(options.cache ? [options.cache] : []),
    retryStage(subgraph, options.retry, protocol, spare),
    ...(options.concurrency ? [concurrencyStage<C, R>(subgraph, options.concurrency)] : []),
    ...(canary ? [canaryStage<M, C, R>(canary, protocol)] : []),
    balanceStage(choose, balancer),
    breakerStage(protocol),
    observeStage(subgraph, protocol),
    traceStage(subgraph, protocol),
    deadlineStage(options.timeout, protocol),
  ];
  return {
    send: compose(stages, protocol.attempt),
    // The canary and balance stages' own steps, with nothing tried yet (a stream is never retried).
    chooseStream: (scope) => choose(undefined, canary?.versionFor(scope, undefined)),
    canary,
    update: (members) => {
      // The canary first: a guarded version's new members are at weight 0 before the balancer sees them.
      canary?.update(members);
      balancer.update(members);
    },
    close: () => canary && options.canary?.board?.remove(canary),
  };
}
