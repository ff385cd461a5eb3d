/**
 * Instance choice: weighted round-robin (balancer.ts) among the instances
 * whose breaker lets calls through, preferring one this call has not tried.
 * When every breaker is open the call fails at once, with no attempt: that
 * is what the breaker is for.
 */
import { TesseraError } from '../../errors.js';
import { WeightedBalancer } from '../balancer.js';
import { chooseInstance } from '../breaker.js';
import type { Member, Send, Stage, UpstreamCall } from '../call.js';

/** Picks the instance for one attempt; throws SOURCE_UNAVAILABLE when every breaker is open. */
export type Choose<M extends Member> = (tried?: ReadonlySet<M>) => M;

const NONE_TRIED: ReadonlySet<never> = new Set();

/** One balancer per upstream, shared by its calls and its streams. */
export function instanceChooser<M extends Member>(subgraph: string, members: readonly M[]): Choose<M> {
  const balancer = new WeightedBalancer(members);
  return (tried = NONE_TRIED) => {
    const member = chooseInstance(balancer, tried);
    if (member) return member;
    throw new TesseraError('SOURCE_UNAVAILABLE', `Subgraph "${subgraph}" is unavailable`, {
      extensions: { subgraph },
      cause: new Error('circuit breaker open for every instance'),
    });
  };
}

export function balanceStage<M extends Member, C extends UpstreamCall<M>, R>(choose: Choose<M>): Stage<C, R> {
  return (next: Send<C, R>) => (call) => {
    let member: M;
    try {
      member = choose(call.tried);
    } catch (error) {
      call.member = undefined;
      return Promise.reject(error as Error);
    }
    call.member = member;
    return next(call);
  };
}
