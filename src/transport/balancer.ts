/**
 * Weighted choice among the instances of one upstream (canary routing by
 * weight). Smooth weighted round-robin (as in nginx) rather than random
 * choice: over any window of sum(weights) picks, each instance gets exactly
 * its share, so a 95/5 canary is 95/5 even at low traffic.
 */
export interface Weighted {
  weight: number;
}

export class WeightedBalancer<T extends Weighted> {
  private readonly current: number[];

  constructor(readonly items: readonly T[]) {
    if (items.length === 0) throw new Error('WeightedBalancer needs at least one item');
    this.current = items.map(() => 0);
  }

  /**
   * The next instance, skipping those `skip` refuses (already tried by this
   * call, or behind an open breaker); undefined when every instance is skipped.
   */
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
