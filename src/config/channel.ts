/**
 * `channels:` in gateway.yaml: one GraphQL endpoint per client channel (BFF),
 * each a view of the unified graph with its own policy. The `default`
 * channel is always there, at `server.graphqlPath`; naming it here changes
 * its policy.
 */
import { z } from 'zod';
import { channelSecurityKeys } from './security.js';
import { boolean } from './units.js';
import { graphiqlSchema, type ResolvedGraphiql } from './graphiql.js';
import { descriptorCache } from './cache.js';
import { rateLimitRule } from './rate-limit.js';
import { duration } from './units.js';

export const coordinate = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/, 'expected "Type" or "Type.field"');

/** An `include` entry: "Type", "Type.field", "subgraph:<name>" or "tag:<name>" (a federation @tag). */
export const includeEntry = z
  .string()
  .regex(/^(subgraph:[A-Za-z0-9_-]+|tag:[A-Za-z0-9_/-]+|[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?)$/, 'expected "Type", "Type.field", "subgraph:<name>" or "tag:<name>"');

export const channelSchema = z.strictObject({
  /** URL path of this channel's GraphQL endpoint (the default channel uses server.graphqlPath). */
  path: z.string().startsWith('/').optional(),
  /**
   * Types, fields and subgraphs this channel serves (with what they need: see
   * compose/channels.ts); absent: the whole unified graph. `hide` applies after it.
   */
  include: z.array(includeEntry).min(1, 'an include list names at least one type, field or subgraph (leave it out to serve the whole graph)').optional(),
  /** Types and fields of the unified graph this channel does not see. */
  hide: z.array(coordinate).default([]),
  /**
   * Other names on this channel, keyed by the unified graph's names: object,
   * interface, union, enum, input and scalar types (`types: { Product: Item }`)
   * and fields of object and interface types (`fields: { "Product.name": title }`).
   */
  rename: z
    .strictObject({
      types: z.record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'expected a type name'), z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'expected a GraphQL name')).default({}),
      fields: z.record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/, 'expected "Type.field"'), z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'expected a GraphQL name')).default({}),
    })
    .optional(),
  /**
   * Fields only this channel has, built from other fields of their type
   * (compose/channel-fields.ts): `"Product.card": { from: [name, "price { amount }"], template: "{name}: {price.amount}" }`.
   */
  fields: z
    .record(
      z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/, 'expected "Type.field"'),
      z.strictObject({
        /** The field's type: a String built from the template (the one type there is today). */
        type: z.literal('String').default('String'),
        /** Selections of the type the template reads, in GraphQL syntax: `name`, `price { amount currency }`. */
        from: z.array(z.string().min(1)).min(1),
        /** Text with `{path}` placeholders (`{name}`, `{price.amount}`), each a leaf selected by `from`. */
        template: z.string(),
        description: z.string().optional(),
      }),
    )
    .optional(),
  /**
   * Response-cache lifetimes on this channel only: `defaultTtl` replaces
   * `cache.defaultTtl`; `ttl` ("Type" or "Type.field" in the unified graph's
   * names → a TTL or { ttl, private }) replaces the descriptors' `cache:` hint
   * of that coordinate. Other channels keep the gateway's.
   */
  cache: z
    .strictObject({
      defaultTtl: duration.optional(),
      ttl: descriptorCache.default({}),
    })
    .optional(),
  /**
   * Rate-limit rules of this channel: they replace `rateLimit.rules` on it
   * (the gateway's rules meter the other channels). The same keys as a
   * gateway rule, without `channels`.
   */
  rateLimit: z
    .strictObject({
      rules: z.array(rateLimitRule.omit({ channels: true })).superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((rule, i) => {
          if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `rule name "${rule.name}" is used twice` });
          seen.add(rule.name);
        });
      }),
    })
    .optional(),
  /** Overrides the gateway-wide `introspection` for this channel. */
  introspection: boolean.optional(),
  /** Overrides the gateway-wide `graphiql` for this channel, key by key (`enabled`, `defaultQuery`). */
  graphiql: graphiqlSchema.optional(),
  /** anonymous, onForbidden, limits, persistedOperations, batching, csrf: see docs/security.md. */
  ...channelSecurityKeys,
});

export type ChannelConfig = z.output<typeof channelSchema>;

/** A channel with every default filled in. */
export interface ResolvedChannel extends ChannelConfig {
  name: string;
  path: string;
  introspection: boolean;
  graphiql: ResolvedGraphiql;
}
