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
  private readonly total: number;

  constructor(readonly items: readonly T[]) {
    if (items.length === 0) throw new Error('WeightedBalancer needs at least one item');
    this.current = items.map(() => 0);
    this.total = items.reduce((sum, item) => sum + item.weight, 0);
  }

  /** The next instance; `exclude` skips instances already tried by this call (retries go elsewhere when they can). */
  pick(exclude?: ReadonlySet<T>): T {
    let best = -1;
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.weight === 0) continue;
      this.current[i]! += item.weight;
      if (exclude?.has(item)) continue;
      if (best === -1 || this.current[i]! > this.current[best]!) best = i;
    }
    if (best === -1) {
      // Every weighted instance was excluded: fall back to the heaviest one.
      best = this.items.reduce((b, item, i) => (item.weight > this.items[b]!.weight ? i : b), 0);
    }
    this.current[best]! -= this.total;
    return this.items[best]!;
  }
}
