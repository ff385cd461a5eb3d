/**
 * `admin:` in gateway.yaml: a second listener for what the person on call
 * uses and clients never should: /metrics, the admin API (`/admin/...`) and,
 * once mounted there, the status page. When `admin` is given they are served
 * only there, never on the main port. Without it they stay on the main port,
 * off in production unless enabled (one rule, README "Admin listener and API").
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { boolean, port } from './units.js';

export const adminSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  /** Required: the admin listener has no default port (0 picks a free one, for tests). */
  port,
  /**
   * A bearer token (use ${ENV}): every admin request then needs
   * `authorization: Bearer <credential>`, compared in constant time.
   */
  credential: z.string().min(32, 'use at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
  /** What the admin listener serves; each default on. /metrics also needs `telemetry.metrics.enabled` not false. */
  enabled: z
    .strictObject({
      /** The admin API under /admin/: status, log level, body sampling. */
      api: boolean.default(true),
    })
    .prefault({}),
});

export type AdminConfig = z.output<typeof adminSchema>;

/** A host name or address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/**
 * The production rule: an admin listener reachable from other machines must
 * ask for a credential. Returns the problem (said at `admin.credential`, with what to set), or undefined.
 */
export function adminProblem(mode: 'production' | 'development', admin: AdminConfig | undefined): string | undefined {
  if (!admin || mode !== 'production' || admin.credential || isLoopback(admin.host)) return undefined;
  return `the admin listener on ${admin.host} is reachable from other machines, so in production it needs a credential; set admin.credential (e.g. \${TESSERA_ADMIN_TOKEN}, at least 32 characters) or admin.host: 127.0.0.1`;
}
