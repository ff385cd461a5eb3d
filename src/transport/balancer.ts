/**
 * Weighted choice among the instances of one upstream, by one of three
 * strategies (descriptor `balance:`), each respecting the weights:
 *
 * - `round-robin`: smooth weighted round-robin (as in nginx): over any window
 *   of sum(weights) picks, each instance gets exactly its share, so a 95/5
 *   canary is 95/5 even at low traffic.
 * - `least-outstanding`: the instances with the fewest calls in flight per
 *   unit of weight (outstanding / weight); among those tied, smooth weighted
 *   round-robin, so that light or sequential traffic (nothing in flight)
 *   still follows the weights.
 * - `p2c` (power of two choices): two instances drawn at random in proportion
 *   to their weights, the one with fewer calls in flight per unit of weight
 *   wins. Close to least-outstanding's spread without looking at every
 *   instance, and without every gateway replica piling onto the same one.
 *
 * Calls in flight are counted by the balance stage (`acquire`/`release`).
 */
export interface Weighted {
  weight: number;
}

export type BalanceStrategy = 'round-robin' | 'least-outstanding' | 'p2c';

export interface Balancer<T extends Weighted> {
  readonly items: readonly T[];
  /**
   * The next instance, skipping those `skip` refuses (already tried by this
   * call, or behind an open breaker); undefined when every instance is skipped.
   */
  pick(skip?: (item: T) => boolean): T | undefined;
  /** A call to `item` started (least-outstanding, p2c). */
  acquire(item: T): void;
  /** A call to `item` ended. */
  release(item: T): void;
  /** Calls in flight to `item`. */
  outstanding(item: T): number;
  /** Does this strategy look at calls in flight (so the balance stage must count them)? */
  readonly counts: boolean;
  /**
   * The instance set changed (discovery.ts): `items` from now on. An item
   * kept keeps its calls in flight and its place in the rotation; a call to
   * a removed one releases nothing when it ends.
   */
  update(items: readonly T[]): void;
}

export function createBalancer<T extends Weighted>(strategy: BalanceStrategy, items: readonly T[], random: () => number = Math.random): Balancer<T> {
  if (strategy === 'least-outstanding') return new LeastOutstandingBalancer(items);
  if (strategy === 'p2c') return new PowerOfTwoBalancer(items, random);
  return new WeightedBalancer(items);
}

abstract class CountingBalancer<T extends Weighted> implements Balancer<T> {
  protected inFlight: number[];
  private index: Map<T, number>;
  abstract readonly counts: boolean;

  /** No item picks nothing (a discovered upstream before its name resolved). */
  constructor(public items: readonly T[]) {
    this.inFlight = items.map(() => 0);
    this.index = new Map(items.map((item, i) => [item, i]));
  }

  update(items: readonly T[]): void {
    const kept = (values: readonly number[]): number[] => items.map((item) => values[this.index.get(item) ?? -1] ?? 0);
    this.carry(kept);
    this.inFlight = kept(this.inFlight);
    this.items = items;
    this.index = new Map(items.map((item, i) => [item, i]));
  }

  /** A subclass's own per-item numbers, carried over to the new items by `kept`. */
  protected carry(_kept: (values: readonly number[]) => number[]): void {}

  abstract pick(skip?: (item: T) => boolean): T | undefined;

  acquire(item: T): void {
    const i = this.index.get(item);
    if (i !== undefined) this.inFlight[i]!++;
  }

  release(item: T): void {
    const i = this.index.get(item);
    if (i !== undefined && this.inFlight[i]! > 0) this.inFlight[i]!--;
  }

  outstanding(item: T): number {
    return this.inFlight[this.index.get(item) ?? -1] ?? 0;
  }

  /** Calls in flight per unit of weight. */
  protected load(i: number): number {
    return this.inFlight[i]! / this.items[i]!.weight;
  }
}

export class WeightedBalancer<T extends Weighted> extends CountingBalancer<T> {
  private current: number[];
  readonly counts = false;

  constructor(items: readonly T[]) {
    super(items);
    this.current = items.map(() => 0);
  }

  protected override carry(kept: (values: readonly number[]) => number[]): void {
    this.current = kept(this.current);
  }

  pick(skip?: (item: T) => boolean): T | undefined {
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.weight === 0 || skip?.(item)) continue;
      this.current[i]! += item.weight;
      total += item.weight;
      if (best === -1 || this.current[i]! > this.current[best]!) best = i;
    }
    if (best === -1) return undefined;
    this.current[best]! -= total;
    return this.items[best];
  }
}

export class LeastOutstandingBalancer<T extends Weighted> extends CountingBalancer<T> {
  /** Breaks ties between the least loaded, by weight. */
  private readonly ties: WeightedBalancer<T>;
  readonly counts = true;

  constructor(items: readonly T[]) {
    super(items);
    this.ties = new WeightedBalancer(items);
  }

  override update(items: readonly T[]): void {
    super.update(items);
    this.ties.update(items);
  }

  pick(skip?: (item: T) => boolean): T | undefined {
    let least = Infinity;
    const loads = new Map<T, number>();
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.weight === 0 || skip?.(item)) continue;
      const load = this.load(i);
      loads.set(item, load);
      least = Math.min(least, load);
    }
    if (loads.size === 0) return undefined;
    return this.ties.pick((item) => loads.get(item) !== least);
  }
}

export class PowerOfTwoBalancer<T extends Weighted> extends CountingBalancer<T> {
  readonly counts = true;

  constructor(
    items: readonly T[],
    private readonly random: () => number,
  ) {
    super(items);
  }

  pick(skip?: (item: T) => boolean): T | undefined {
    const eligible: number[] = [];
    let total = 0;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.weight === 0 || skip?.(item)) continue;
      eligible.push(i);
      total += item.weight;
    }
    if (eligible.length === 0) return undefined;
    if (eligible.length === 1) return this.items[eligible[0]!];
    const first = this.draw(eligible, total, -1);
    const second = this.draw(eligible, total - this.items[first]!.weight, first);
    // Equal loads: the first draw wins, which keeps the weights' proportions.
    return this.items[this.load(second) < this.load(first) ? second : first];
  }

  /** One index drawn from `eligible` in proportion to its weight, `except` left out (its weight already taken from `total`). */
  private draw(eligible: readonly number[], total: number, except: number): number {
    let point = this.random() * total;
    let last = -1;
    for (const i of eligible) {
      if (i === except) continue;
      last = i;
      point -= this.items[i]!.weight;
      if (point < 0) return i;
    }
    return last;
  }
}
