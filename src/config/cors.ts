/**
 * `security.cors` and `channels.<name>.cors`: which browser origins may read
 * the gateway's answers, resolved per channel into the policy server/cors.ts
 * applies.
 */
import { z } from 'zod';
import { boolean, duration, headerName } from './units.js';
import type { SecurityConfig } from './security.js';

const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([^/?#@\s]+)$/i;

/**
 * An origin as a browser sends it in `Origin`: scheme://host[:port], nothing
 * after. http(s) origins are normalised the way browsers serialise them
 * (lower case, default port dropped), so `https://App.example.com:443` matches.
 */
const corsOrigin = z.string().transform((value, ctx) => {
  if (value === '*') return value;
  const match = ORIGIN.exec(value);
  const problem =
    value === 'null'
      ? 'the "null" origin is what sandboxed iframes and file: pages send, so allowing it allows any of them'
      : !match
        ? `expected an origin like https://app.example.com (scheme://host[:port], no path, not even a trailing "/"), or "*"${/^[a-z][a-z0-9+.-]*:\/\/[^/]+\//i.test(value) ? `; drop the path: ${value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]+)\/.*$/i, '$1')}` : ''}`
        : match[2]!.includes('*')
          ? 'wildcards inside an origin are not supported: list each origin, or use "*" alone'
          : undefined;
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  const scheme = match![1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return value.toLowerCase();
  try {
    return new URL(value).origin;
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a valid origin` });
    return z.NEVER;
  }
});

/** A header list entry for CORS: a header name, never `*` (which would allow or expose any header). */
const corsHeaderName = headerName.refine((h) => h !== '*', { message: 'list the header names; "*" is not accepted' });

const corsMethod = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(['GET', 'POST'], { error: 'expected GET or POST (the methods a GraphQL endpoint serves)' }));

export const CORS_DEFAULTS = {
  methods: ['GET', 'POST'] as Array<'GET' | 'POST'>,
  maxAge: 600_000,
};

/**
 * `security.cors` (and `channels.<name>.cors`): which web origins may call
 * the gateway from a browser and read the answer. Absent: no CORS headers at
 * all, so only same-origin pages (GraphiQL served by the gateway) can read
 * answers. An allowed origin gets exactly itself back in
 * Access-Control-Allow-Origin, with `Vary: Origin`; any other origin gets no
 * CORS header. The same origins may open a WebSocket (server/websocket.ts):
 * a browser's upgrade from any other origin than these and the gateway's own
 * is refused with 403.
 */
export const corsSchema = z
  .strictObject({
    /** Exact origins (`https://app.example.com`), or `*` alone for any origin (never with `credentials`). */
    origins: z.array(corsOrigin).min(1),
    /**
     * Let browsers send cookies and HTTP authentication, and read the answer
     * (Access-Control-Allow-Credentials). Without it, a WebSocket from an
     * allowed origin opens, but its operations see no cookie or Authorization
     * from the upgrade.
     */
    credentials: boolean.default(false),
    /** Methods a preflight allows. */
    methods: z.array(corsMethod).min(1).default(CORS_DEFAULTS.methods),
    /**
     * Request headers a preflight allows, in addition to those the gateway
     * reads itself (content-type, authorization, the API-key header, the
     * channel's CSRF headers). What a preflight asks for is never reflected.
     */
    allowedHeaders: z.array(corsHeaderName).default([]),
    /** Response headers scripts may read, in addition to the gateway's own (Retry-After, RateLimit-*, WWW-Authenticate). */
    exposedHeaders: z.array(corsHeaderName).default([]),
    /** How long a browser may reuse a preflight answer (Access-Control-Max-Age; browsers cap it, Chrome at 2h). */
    maxAge: duration.default(CORS_DEFAULTS.maxAge),
  })
  .superRefine((c, ctx) => {
    const any = c.origins.indexOf('*');
    if (any !== -1 && c.origins.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['origins', any], message: '"*" allows every origin; list it alone, or list only exact origins' });
    }
    if (any !== -1 && c.credentials) {
      ctx.addIssue({
        code: 'custom',
        path: ['credentials'],
        message:
          'cannot be true with origin "*": browsers refuse credentialed answers to "*", and allowing any origin with credentials would let every website send requests with your users\' cookies and read the answers; list the origins instead',
      });
    }
  });

export type CorsConfig = z.output<typeof corsSchema>;

/**
 * `channels.<name>.cors`: `false`, or a policy replacing the gateway's. Not a
 * z.union, whose failure would be a bare "Invalid input": a policy's problems
 * are reported with their own paths.
 */
export const channelCorsSchema = z.unknown().transform((value, ctx): CorsConfig | false => {
  if (value === false || value === 'false') return false;
  if (value === true || value === 'true') {
    ctx.addIssue({ code: 'custom', message: 'expected `false` (CORS off for this channel) or a policy like { origins: [https://app.example.com] }' });
    return z.NEVER;
  }
  const parsed = corsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/** A channel's CORS policy, resolved: what the server's CORS plugin is built from. */
export interface CorsPolicy {
  /** Exact origins allowed, or `*` for any origin (then never with credentials). */
  origins: '*' | readonly string[];
  credentials: boolean;
  methods: readonly string[];
  /** Lower-case request header names a preflight allows. */
  allowedHeaders: readonly string[];
  /** Lower-case response header names scripts may read. */
  exposedHeaders: readonly string[];
  /** Milliseconds. */
  maxAge: number;
}

/** Response headers the gateway sets that a script needs (rate limits, retries, authentication challenges). */
export const CORS_GATEWAY_RESPONSE_HEADERS = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy', 'www-authenticate'];

/**
 * The CORS policy of a channel: its own `cors` (false: off for it), else the
 * gateway's; undefined when off. The header lists include what the gateway
 * itself reads (content-type, authorization, the API-key header, the
 * channel's CSRF headers) and sets.
 */
export function channelCors(security: SecurityConfig, channel: { cors?: CorsConfig | false; csrf?: { headers: string[] } }): CorsPolicy | undefined {
  const cors = channel.cors ?? security.cors;
  if (!cors) return undefined;
  const read = ['content-type', 'authorization', ...(security.auth.apiKeys ? [security.auth.apiKeys.header] : []), ...(channel.csrf ?? security.requests.csrf).headers];
  return {
    origins: cors.origins.includes('*') ? '*' : [...new Set(cors.origins)],
    credentials: cors.credentials,
    methods: [...new Set(cors.methods)],
    allowedHeaders: [...new Set([...read, ...cors.allowedHeaders])],
    exposedHeaders: [...new Set([...CORS_GATEWAY_RESPONSE_HEADERS, ...cors.exposedHeaders])],
    maxAge: cors.maxAge,
  };
}
