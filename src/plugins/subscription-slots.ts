/**
 * The subscriptions each consumer holds open, per channel, in this process
 * (rateLimit.subscriptions). Built once per gateway with the other rate-limit
 * state and shared by every channel's plugin chain.
 *
 * The count is per process, not shared through the store: a slot belongs to a
 * stream this process serves and is given back when that stream ends here, so
 * no count outlives the process that held it (a shared count would need a TTL
 * renewed for the life of every stream to survive a crash). With several
 * replicas, or the workers of `tessera serve`, a consumer may hold
 * maxPerConsumer on each.
 */
import type { SubscriptionLimit } from '../config/rate-limit.js';

export class SubscriptionSlots {
  /** Open subscriptions by `<channel>|<consumer>`; a key is removed at 0, so the map holds only consumers with one open. */
  private readonly open = new Map<string, number>();

  constructor(private readonly config: SubscriptionLimit) {}

  /** The limit on a channel, and the config key that sets it (named when a subscription is refused). */
  limitFor(channel: string): { max: number; configKey: string } {
    const override = this.config.channels[channel];
    return override === undefined
      ? { max: this.config.maxPerConsumer, configKey: 'rateLimit.subscriptions.maxPerConsumer' }
      : { max: override, configKey: `rateLimit.subscriptions.channels.${channel}` };
  }

  /**
   * Takes a slot for one subscription: the function that gives it back (once,
   * however often it is called), or undefined when the consumer already holds
   * the channel's limit.
   */
  take(channel: string, consumer: string): (() => void) | undefined {
    const key = `${channel}|${consumer}`;
    const held = this.open.get(key) ?? 0;
    if (held >= this.limitFor(channel).max) return undefined;
    this.open.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.open.get(key) ?? 1) - 1;
      if (now > 0) this.open.set(key, now);
      else this.open.delete(key);
    };
  }

  /** Subscriptions the consumer holds open on the channel. */
  held(channel: string, consumer: string): number {
    return this.open.get(`${channel}|${consumer}`) ?? 0;
  }
}
