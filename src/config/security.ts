/**
 * `security:` in gateway.yaml, and the security keys a channel may override.
 * Each concern has its own file: auth.ts, limits.ts, requests.ts, cors.ts,
 * upstreams.ts, tls.ts, cursors.ts, persisted.ts. Every object refuses
 * unknown keys and every limit has its safe default there
 * (docs/reliability.md section 1); the doc comments are the reference in
 * docs/security.md.
 */
import { z } from 'zod';
import { boolean, integer } from './units.js';
import { authSchema, forbiddenMode } from './auth.js';
import { channelCorsSchema, corsSchema } from './cors.js';
import { cursorsSchema } from './cursors.js';
import { limitsOverride, limitsSchema } from './limits.js';
import { persistedOperationsSchema } from './persisted.js';
import { csrfSchema, requestsSchema } from './requests.js';
import { upstreamPolicySchema } from './upstreams.js';

export const securitySchema = z
  .strictObject({
    auth: authSchema.prefault({}),
    limits: limitsSchema,
    requests: requestsSchema,
    /** Browsers on other origins: off (no CORS headers) unless given. */
    cors: corsSchema.optional(),
    upstreams: upstreamPolicySchema,
    /** How pagination cursors handed to clients are sealed. */
    cursors: cursorsSchema,
  })
  .prefault({});

export type SecurityConfig = z.output<typeof securitySchema>;

export const channelSecurityKeys = {
  /** Callers without credentials on this channel; overrides security.auth.anonymous. */
  anonymous: boolean.optional(),
  /** Overrides security.auth.onForbidden for this channel. */
  onForbidden: forbiddenMode.optional(),
  /** Overrides of security.limits for this channel (any subset). */
  limits: limitsOverride.optional(),
  /** Trusted documents and APQ for this channel. */
  persistedOperations: persistedOperationsSchema.optional(),
  /** Overrides security.requests.batching for this channel. */
  batching: integer.pipe(z.number().min(0).max(100)).optional(),
  /** Overrides security.requests.csrf for this channel. */
  csrf: csrfSchema.optional(),
  /** Replaces security.cors for this channel; `false` turns CORS off for it. */
  cors: channelCorsSchema.optional(),
};
