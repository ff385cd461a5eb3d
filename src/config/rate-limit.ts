/**
 * `rateLimit:` in gateway.yaml. Rules meter operations (queries, mutations
 * and subscriptions) per consumer, per operation name, per channel (or all
 * three combined), charging 1 or the operation's computed cost; `subgraphs:`
 * caps the calls made to one backend across every client; `subscriptions:`
 * caps the subscriptions one consumer holds open at once. With a Redis
 * `store`, every replica counts rules into the same buckets; the open
 * subscriptions are counted per gateway process.
 */
import { z } from 'zod';
import { storeSchema } from './store.js';
import { duration, integer } from './units.js';

const wholeSeconds = duration.pipe(
  z
    .number()
    .min(1000, 'a window is at least 1s')
    .max(86_400_000, 'a window is at most 24h')
    .refine((ms) => ms % 1000 === 0, 'a window is a whole number of seconds ("1s", "90s", "1m")'),
);

const limit = integer.pipe(z.number().min(1).max(1_000_000_000));

export const rateLimitRule = z.strictObject({
  /** Names the rule in keys, errors and logs; unique. */
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected letters, digits, "-" and "_"'),
  /**
   * What one bucket belongs to. consumer: the authenticated subject or API key,
   * else the client address; operation: the operation name; channel: the
   * channel. Several combine (one bucket per consumer and operation); an empty
   * list is one bucket for everyone.
   */
  by: z
    .union([z.enum(['consumer', 'operation', 'channel']), z.array(z.enum(['consumer', 'operation', 'channel']))])
    .transform((v) => (Array.isArray(v) ? [...new Set(v)] : [v]))
    .default(['consumer']),
  /** Operations (or cost points) allowed per window. */
  limit,
  window: wholeSeconds.default(60_000),
  /** true: an operation is charged its estimated cost (the model of security.limits.cost) instead of 1. */
  cost: z.boolean().default(false),
  /** Only operations on these channels count (default: every channel). */
  channels: z.array(z.string()).optional(),
  /** Only operations with these names count (default: every operation). */
  operations: z.array(z.string()).optional(),
});

export const subgraphLimit = z.strictObject({
  /** Upstream calls allowed per window, across every client (and every replica with a Redis store). */
  limit,
  window: wholeSeconds.default(1000),
});

const openSubscriptions = integer.pipe(z.number().min(1, 'at least 1 (a consumer must be able to subscribe)').max(100_000));

/**
 * Subscriptions one consumer may hold open at once, per channel and per
 * gateway process: each holds an upstream stream for up to
 * server.subscriptionDeadline, so without a cap one client could hold any
 * number of them.
 */
export const subscriptionLimit = z.strictObject({
  /**
   * Default 10: a page keeps a few live subscriptions and a user has a few tabs
   * open (one consumer: the same subject or API key), while one consumer can
   * hold at most 10 upstream streams on one process.
   */
  maxPerConsumer: openSubscriptions.default(10),
  /** maxPerConsumer for one channel, by channel name (default: maxPerConsumer). */
  channels: z.record(z.string(), openSubscriptions).default({}),
});

export const rateLimitSchema = z
  .strictObject({
    /** Where the counters live; default: the gateway's `store` (memory unless set). */
    store: storeSchema.optional(),
    /**
     * When the store does not answer: open lets requests through under a
     * per-replica local limit (failOpenRatio of each limit); closed refuses
     * them with 503. Logged and counted either way.
     */
    onStoreError: z.enum(['open', 'closed']).default('open'),
    failOpenRatio: z.number().gt(0).max(1).default(0.1),
    /**
     * Addresses (or CIDR ranges) of proxies in front of the gateway. Only a
     * request from one of them has its X-Forwarded-For read to find the
     * client address; everybody else is the socket's address.
     */
    trustedProxies: z.array(z.string().min(1)).default([]),
    /** RateLimit-Limit / -Remaining / -Reset on every metered response (always on a 429). */
    headers: z.boolean().default(true),
    rules: z.array(rateLimitRule).default([]),
    /** Per-subgraph limits by subgraph name: over the limit, that subgraph's fields fail with SUBGRAPH_RATE_LIMITED. */
    subgraphs: z.record(z.string(), subgraphLimit).default({}),
    subscriptions: subscriptionLimit.prefault({}),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${rule.name}" is used twice` });
      seen.add(rule.name);
    });
  });

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RateLimitRule = z.output<typeof rateLimitRule>;
export type SubscriptionLimit = z.output<typeof subscriptionLimit>;
