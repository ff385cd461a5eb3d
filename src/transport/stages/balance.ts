/**
 * Instance choice: weighted, by the descriptor's strategy (balancer.ts:
 * round-robin, least-outstanding, p2c), among the instances whose breaker
 * lets calls through and that no health check marked down, preferring one
 * this call has not tried, and among the instances of the call's version
 * when the canary stage set one. When every breaker is open the call fails at
 * once, with no attempt: that is what the breaker is for. With a strategy
 * that looks at calls in flight, each attempt is counted on its instance
 * until it ends.
 */
import { TesseraError } from '../../errors.js';
import type { Balancer } from '../balancer.js';
import { chooseInstance } from '../breaker.js';
import type { Member, Send, Stage, UpstreamCall } from '../call.js';

/** Picks the instance for one attempt (of `version` when given); throws SOURCE_UNAVAILABLE when every breaker is open. */
export type Choose<M extends Member> = (tried?: ReadonlySet<M>, version?: string) => M;

const NONE_TRIED: ReadonlySet<never> = new Set();

/** One balancer per upstream, shared by its calls and its streams. */
export function instanceChooser<M extends Member>(subgraph: string, balancer: Balancer<M>): Choose<M> {
  return (tried = NONE_TRIED, version) => {
    const member = chooseInstance(balancer, tried, version);
    if (member) return member;
    throw new TesseraError('SOURCE_UNAVAILABLE', `Subgraph "${subgraph}" is unavailable`, {
      extensions: { subgraph },
      cause: new Error(balancer.items.length === 0 ? 'no instance: discovery has found none yet' : 'circuit breaker open for every instance'),
    });
  };
}

export function balanceStage<M extends Member, C extends UpstreamCall<M>, R>(choose: Choose<M>, balancer: Balancer<M>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    let member: M;
    try {
      member = choose(call.tried, call.version);
    } catch (error) {
      call.member = undefined;
      return Promise.reject(error as Error);
    }
    call.member = member;
    if (!balancer.counts) return next(call);
    balancer.acquire(member);
    return next(call).finally(() => balancer.release(member));
  };
}
