/**
 * A descriptor's `canary:` key: sticky canaries across the versions of its
 * upstreams (`version:` and `weight:` on each), and the automatic guard that
 * takes a version's weight to 0 when it does worse than the stable one.
 *
 * ```yaml
 * upstreams:
 *   - { url: http://10.0.0.1:4001, version: v1, weight: 95 }
 *   - { url: http://10.0.0.2:4001, version: v2, weight: 5 }
 * canary:
 *   sticky: consumer          # or { header: x-user-id }, or { consumer: true, header: x-device-id }
 *   stable: v1                # default: the version with the highest total weight
 *   guard: { window: 60s, minCalls: 50, errorRateMargin: 0.05, p99Margin: 0.5, p99MinGap: 25ms }
 * ```
 *
 * An upstream entry with `discovery:` (a headless Service per version) is one
 * entry of its version whatever number of instances it resolves to: its
 * weight is shared by them (transport/discovery.ts).
 */
import { z } from 'zod';
import { duration, headerName, integer } from './units.js';

const GUARD_DEFAULT = { window: 60_000, minCalls: 50, errorRateMargin: 0.05, p99Margin: 0.5, p99MinGap: 25 };

export const canaryGuard = z.strictObject({
  /** The sliding window the error rate and p99 of each version are measured over. */
  window: duration.pipe(z.number().min(1_000, 'expected at least 1s')).default(GUARD_DEFAULT.window),
  /** Calls of one kind (queries, or mutations) each of the two versions needs in the window before they are compared. */
  minCalls: integer.pipe(z.number().min(1)).default(GUARD_DEFAULT.minCalls),
  /** A version is guarded when its error rate exceeds the stable version's by more than this (0.05: 5 points). */
  errorRateMargin: z.number().min(0).max(1).default(GUARD_DEFAULT.errorRateMargin),
  /** ... or when its p99 exceeds the stable version's by more than this share (0.5: 50%); false: latency is not judged. */
  p99Margin: z.union([z.literal(false), z.number().min(0)]).default(GUARD_DEFAULT.p99Margin),
  /** ... and by more than this much time (so 2 ms against 1 ms is not a regression). */
  p99MinGap: duration.default(GUARD_DEFAULT.p99MinGap),
});

/** Who a caller is, for stickiness: the authenticated consumer, a request header, or the consumer then the header. */
const sticky = z.union([
  z.literal('consumer').transform(() => ({ consumer: true, header: undefined as string | undefined })),
  z
    .strictObject({
      /** The authenticated consumer's subject (JWT `sub`, API key owner). */
      consumer: z.boolean().default(false),
      /** A request header naming the caller (`x-user-id`); read when there is no consumer (or `consumer` is false). */
      header: headerName.optional(),
    })
    .refine((s) => s.consumer || s.header !== undefined, { message: 'expected `consumer: true` or a `header`, or `sticky: consumer`' }),
]);

export const canarySchema = z
  .strictObject({
    /** The version the others are compared with, and that is never guarded. Default: the version with the highest total weight. */
    stable: z.string().min(1).optional(),
    /** A caller keeps hitting the same version while the weights stay the same; absent: every call is weighted on its own. */
    sticky: sticky.optional(),
    /** The automatic canary guard; `false` turns it off. */
    guard: z.union([z.literal(false), canaryGuard]).default(GUARD_DEFAULT),
  })
  // As the transport takes it (transport/canary.ts CanaryOptions).
  .transform((c) => ({
    stable: c.stable,
    sticky: c.sticky,
    guard:
      c.guard === false
        ? (false as const)
        : { windowMs: c.guard.window, minCalls: c.guard.minCalls, errorRateMargin: c.guard.errorRateMargin, p99Margin: c.guard.p99Margin, p99MinGapMs: c.guard.p99MinGap },
  }));

export type CanaryConfig = z.output<typeof canarySchema>;

/** What `canary:` needs of the upstreams: a version on each, at least two versions, the stable one among them. */
export function canaryProblems(where: string, canary: CanaryConfig | undefined, upstreams: ReadonlyArray<{ version?: string; weight: number }>): string[] {
  if (!canary) return [];
  const problems: string[] = [];
  upstreams.forEach((u, i) => {
    if (u.version === undefined) problems.push(`${where}: upstreams[${i}].version: \`canary:\` needs a \`version:\` on every upstream`);
  });
  const versions = [...new Set(upstreams.flatMap((u) => (u.version === undefined ? [] : [u.version])))];
  if (versions.length < 2) problems.push(`${where}: canary: needs at least two versions among the upstreams (found ${versions.length === 0 ? 'none' : versions.join(', ')})`);
  if (canary.stable !== undefined && !versions.includes(canary.stable)) {
    problems.push(`${where}: canary.stable: no upstream has version "${canary.stable}"; versions: ${versions.join(', ') || 'none'}`);
  }
  return problems;
}

/** Every gateway process reads the shared decisions this often (src/gateway.ts): a TTL shorter than a few reads would let keys lapse between them. */
const MIN_DECISION_TTL_MS = 5_000;

/**
 * gateway.yaml's `canary:` key: how the canary guard's decisions live in
 * the shared store (`store:` on Redis, or the cluster primary for the
 * workers of `tessera serve`); the canaries themselves are per descriptor.
 *
 * ```yaml
 * canary:
 *   decisionTtl: 10m          # a decision's key outlives the last process reading it by this
 * ```
 */
export const gatewayCanarySchema = z.strictObject({
  /**
   * How long a guard decision's key stays in the shared store after its last
   * read; every gateway process running that upstream configuration reads it
   * every 2 s, which starts it again.
   */
  decisionTtl: duration
    .pipe(z.number().min(MIN_DECISION_TTL_MS, 'expected at least 5s (every gateway process reads the decisions every 2s)').max(7 * 86_400_000, 'expected at most 7d'))
    .default(600_000),
});
