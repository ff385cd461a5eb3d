/**
 * Where the gateway may send requests and what it says there:
 * `security.upstreams` (the allowlist that guards against SSRF, for every
 * upstream and spec URL) and a descriptor's upstream credential keys
 * (`headers.authorization`, `headers.identity`).
 */
import { z } from 'zod';
import { boolean, headerName } from './units.js';

/** `api.example.com`, `*.svc.cluster.local`, `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`. */
export const hostPattern = z
  .string()
  .min(1)
  .regex(/^(\*\.)?[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+(\/\d{1,3})?$|^\[[0-9A-Fa-f:.]+\]$/, 'expected a host name, "*.domain", an IP address or a CIDR range')
  .transform((h) => h.toLowerCase().replace(/^\[|\]$/g, ''));

export const upstreamPolicySchema = z
  .strictObject({
    /**
     * Hosts and networks descriptors may point at (upstream URLs, `source`
     * URLs). When given, nothing else is allowed, loopback included. Without
     * it, any host is allowed except link-local and cloud metadata addresses,
     * unspecified (0.0.0.0, ::) and multicast addresses, which are refused
     * unless listed here.
     */
    allow: z.array(hostPattern).min(1).optional(),
    /** Resolve host names at start-up and check the addresses too. */
    resolve: boolean.default(true),
  })
  .prefault({});

export type UpstreamPolicy = z.output<typeof upstreamPolicySchema>;

/** What may be said about the caller to an upstream, as a header value. */
export const identityField = z.union([
  z.enum(['subject', 'scopes', 'keyId', 'kind', 'issuer']),
  z.string().regex(/^claim:[A-Za-z0-9_.:-]+$/, 'expected subject, scopes, keyId, kind, issuer or claim:<name>'),
]);

/** Keys added to a descriptor's `headers:`. */
export const upstreamCredentialKeys = {
  /**
   * The client's Authorization header: `forward` it, `strip` it, or replace it
   * with the `service` credential in `set.authorization`. Default: `forward`
   * when `forward` lists authorization, `service` when `set` has it, else
   * `strip`. A client credential never reaches an upstream that does not say so.
   */
  authorization: z.enum(['forward', 'strip', 'service']).optional(),
  /** Headers describing the authenticated caller (`x-user-id: subject`); a client's header or an argument of that name is always dropped. */
  identity: z.record(headerName, identityField).default({}),
};

/** Checks between `forward`, `set`, `authorization` and `identity` of a descriptor's `headers:`. */
export function checkUpstreamCredentials(
  h: { forward: string[]; set: Record<string, string>; authorization?: 'forward' | 'strip' | 'service'; identity: Record<string, string> },
  ctx: z.RefinementCtx,
): void {
  const listed = h.forward.includes('authorization');
  const service = 'authorization' in h.set;
  if (h.authorization === 'strip' && (listed || service)) {
    ctx.addIssue({ code: 'custom', path: ['authorization'], message: '`strip` contradicts authorization in `forward` or `set`' });
  }
  if (h.authorization === 'service' && !service) {
    ctx.addIssue({ code: 'custom', path: ['authorization'], message: '`service` needs the credential in `set.authorization` (use ${ENV})' });
  }
  if (listed && service) {
    ctx.addIssue({ code: 'custom', path: ['set', 'authorization'], message: 'authorization is both forwarded and set; choose one with `authorization: forward | service`' });
  }
  if (h.authorization === 'forward' && service) {
    ctx.addIssue({ code: 'custom', path: ['authorization'], message: '`forward` contradicts `set.authorization`' });
  }
  for (const header of Object.keys(h.identity)) {
    if (h.forward.includes(header) || header in h.set) {
      ctx.addIssue({ code: 'custom', path: ['identity', header], message: `"${header}" is also in \`forward\` or \`set\`; an identity header is only ever set by the gateway` });
    }
    if (header === 'authorization' || header === 'cookie' || header === 'host') {
      ctx.addIssue({ code: 'custom', path: ['identity', header], message: `"${header}" cannot carry the identity` });
    }
  }
}
