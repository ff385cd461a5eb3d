/**
 * `security:` in gateway.yaml, plus the security keys of channels and
 * descriptors: who may call (auth), what a document may cost (limits), how a
 * request must look (requests), which hosts the gateway may call on a
 * descriptor's behalf (upstreams), and TLS. Every object refuses unknown keys
 * and every limit has its safe default here (docs/reliability.md section 1); the
 * doc comments are the reference in docs/security.md.
 */
import { z } from 'zod';
import { boolean, duration, integer } from './units.js';

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')
  .transform((h) => h.toLowerCase());
const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'expected letters, digits, ".", "-" and "_", starting with a letter');
const positive = integer.pipe(z.number().min(1));

// ---------------------------------------------------------------------------
// Authentication

/** Signature algorithms a token may use. `none` is not one of them, on purpose. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
const algorithm = z.enum([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS], {
  error: `expected one of ${[...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS].join(', ')} ("none" is never accepted)`,
});
export type JwtAlgorithm = z.output<typeof algorithm>;
const isHmac = (alg: string): boolean => alg.startsWith('HS');

/** One verification key, pinned to one algorithm (a token signed with another algorithm never matches it). */
export const jwtKey = z
  .strictObject({
    /** Matched against the token's `kid` header; a token with a `kid` only matches a key with that `kid`. */
    kid: z.string().min(1).optional(),
    alg: algorithm,
    /** A PEM file (SPKI public key or X.509 certificate), relative to gateway.yaml. */
    file: z.string().min(1).optional(),
    /** The same PEM text inline (use ${ENV}). */
    pem: z.string().min(1).optional(),
    /** A public JWK. */
    jwk: z.record(z.string(), z.unknown()).optional(),
    /** HS256/384/512 only: the shared secret (use ${ENV}); at least 32 bytes. */
    secret: z.string().optional(),
  })
  .superRefine((key, ctx) => {
    const given = (['file', 'pem', 'jwk', 'secret'] as const).filter((k) => key[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of file, pem, jwk or secret (got ${given.length === 0 ? 'none' : given.join(', ')})` });
      return;
    }
    if (isHmac(key.alg) !== (key.secret !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['alg'], message: `${key.alg} ${isHmac(key.alg) ? 'needs `secret`' : 'needs a public key (file, pem or jwk), never a shared secret'}` });
    }
    if (key.secret !== undefined && Buffer.byteLength(key.secret) < 32) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'an HMAC secret must be at least 32 bytes' });
    }
    if (key.jwk && ('d' in key.jwk || 'k' in key.jwk)) {
      ctx.addIssue({ code: 'custom', path: ['jwk'], message: 'expected a public JWK (it has private material: "d" or "k")' });
    }
  });

export const jwtProvider = z
  .strictObject({
    /** Names the provider in logs and errors. */
    name,
    /** The exact `iss` every token must carry; also how a token is routed to its provider. */
    issuer: z.string().min(1),
    /** Accepted `aud` values; a token must name at least one. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((a) => (Array.isArray(a) ? a : [a])),
    /** Keys from a JWKS URL: cached, re-fetched on an unknown `kid` at most once per `cooldown`. `jku`/`x5u` in tokens are never followed. */
    jwks: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
        /** How long fetched keys are used before they are fetched again. */
        cacheMaxAge: duration.default(600_000),
        /** Least time between two fetches (an unknown `kid` cannot make the gateway fetch more often). */
        cooldown: duration.default(30_000),
        timeout: duration.default(5_000),
      })
      .optional(),
    /** Static keys, each pinned to its algorithm. */
    keys: z.array(jwtKey).min(1).optional(),
    /** With `jwks`: the algorithms accepted (asymmetric only). */
    algorithms: z.array(algorithm).min(1).optional(),
    /** Tolerated clock difference for `exp` and `nbf`. */
    clockSkew: duration.pipe(z.number().max(60_000, 'at most 60s')).default(30_000),
    /** The claim holding the caller's id. */
    subjectClaim: z.string().min(1).default('sub'),
    /** Claims holding scopes or roles: a space-separated string or an array of strings. */
    scopeClaims: z.array(z.string().min(1)).min(1).default(['scope', 'scp']),
  })
  .superRefine((p, ctx) => {
    if (Boolean(p.jwks) === Boolean(p.keys)) ctx.addIssue({ code: 'custom', message: 'give either `jwks` or `keys`' });
    if (p.keys && p.algorithms) ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'with static `keys`, each key names its own `alg`' });
    for (const [i, alg] of (p.algorithms ?? []).entries()) {
      if (isHmac(alg)) ctx.addIssue({ code: 'custom', path: ['algorithms', i], message: `${alg} uses a shared secret, which a JWKS never publishes; give it as a static key` });
    }
  });

export const apiKeysSchema = z
  .strictObject({
    /** The request header carrying the key. */
    header: headerName.default('x-api-key'),
    /** A query parameter carrying the key (off unless named: query strings end up in logs). */
    query: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'expected a parameter name').optional(),
    keys: z
      .array(
        z.strictObject({
          /** Names the key in logs, rate limits and `identity.keyId`. */
          id: name,
          /** Hex SHA-256 of the key (`printf %s "$KEY" | sha256sum`); the key itself is never in the config. */
          sha256: z
            .string()
            .regex(/^[0-9a-fA-F]{64}$/, 'expected the hex SHA-256 of the key (64 hex digits)')
            .transform((h) => h.toLowerCase()),
          /** The caller's id; the key's `id` when omitted. */
          subject: z.string().min(1).optional(),
          scopes: z.array(z.string().min(1)).default([]),
        }),
      )
      .min(1),
  })
  .superRefine((a, ctx) => {
    const ids = new Set<string>();
    const hashes = new Set<string>();
    a.keys.forEach((k, i) => {
      if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `key id "${k.id}" is used twice` });
      if (hashes.has(k.sha256)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'sha256'], message: 'the same key is listed twice' });
      ids.add(k.id);
      hashes.add(k.sha256);
    });
    if (a.query && ['query', 'variables', 'operationName', 'extensions', 'documentId'].includes(a.query)) {
      ctx.addIssue({ code: 'custom', path: ['query'], message: `"${a.query}" is a GraphQL request parameter` });
    }
    if (['authorization', 'cookie', 'host', 'content-type', 'content-length'].includes(a.header)) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: `"${a.header}" cannot carry an API key` });
    }
  });

export const forbiddenMode = z.enum(['partial', 'reject']);

export const authSchema = z
  .strictObject({
    jwt: z.array(jwtProvider).default([]),
    apiKeys: apiKeysSchema.optional(),
    /** Requests without credentials. Default: allowed when no jwt or apiKeys is configured, refused otherwise. Channels override it. */
    anonymous: boolean.optional(),
    /** `realm` of the WWW-Authenticate challenge. */
    realm: z.string().regex(/^[^"\\\r\n]*$/, 'no quotes, backslashes or line breaks').default('tessera'),
    /** Verified tokens remembered so a token is checked once, not on every request (bounded; an entry lives until `exp` or `ttl`). */
    tokenCache: z
      .strictObject({
        maxEntries: integer.pipe(z.number().min(0).max(1_000_000)).default(10_000),
        ttl: duration.pipe(z.number().max(300_000, 'at most 5m')).default(60_000),
      })
      .prefault({}),
    /**
     * An operation selecting fields the caller may not see: `partial` runs the
     * rest and answers null with a located FORBIDDEN error for each of them;
     * `reject` refuses the whole operation (403, or 401 without credentials).
     */
    onForbidden: forbiddenMode.default('partial'),
  })
  .superRefine((a, ctx) => {
    const names = new Set<string>();
    const issuers = new Set<string>();
    a.jwt.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['jwt', i, 'name'], message: `provider name "${p.name}" is used twice` });
      if (issuers.has(p.issuer)) ctx.addIssue({ code: 'custom', path: ['jwt', i, 'issuer'], message: `issuer "${p.issuer}" is used by two providers` });
      names.add(p.name);
      issuers.add(p.issuer);
    });
  });

// ---------------------------------------------------------------------------
// Query limits

const costShape = {
  /** Most estimated cost for one operation. */
  max: positive,
  /** enforce: refuse over `max` (400 COST_ESTIMATED_TOO_EXPENSIVE); measure: log only (to find a safe `max` first). */
  mode: z.enum(['enforce', 'measure']),
  /** Items assumed in a list field whose size nothing says (no size argument, no default from its source). */
  listSize: positive,
  /**
   * On fields their source did not annotate (GraphQL and gRPC subgraphs):
   * arguments whose value says how many items a list field, or the lists
   * directly under an object field, return. Case and `_` are ignored.
   */
  listArguments: z.array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*$/)).min(1),
  /** Cost of one object (or interface or union) field. */
  objectCost: integer.pipe(z.number().min(0)),
  /** Cost of one scalar or enum field. */
  scalarCost: integer.pipe(z.number().min(0)),
};

export const COST_DEFAULTS = {
  max: 5000,
  mode: 'enforce' as const,
  listSize: 10,
  listArguments: ['first', 'last', 'limit', 'pageSize', 'perPage', 'take', 'size', 'count', 'top', 'maxResults'],
  objectCost: 1,
  scalarCost: 1,
};

const limitShape = {
  /** Lexical tokens in a document; checked while parsing, before anything else. */
  maxTokens: positive,
  /** Bracket nesting ({, [, () in a document; checked before parsing so a deep document cannot exhaust the stack. */
  maxNesting: positive,
  /** Depth of the selection (fragments counted where they are spread). */
  maxDepth: positive,
  /** Depth of an introspection selection (`__schema`, `__type`), when introspection is allowed (GraphiQL's own query is 15 deep). */
  maxIntrospectionDepth: positive,
  maxAliases: positive,
  maxDirectives: positive,
  /** Fields at the top of an operation (one query can fan out to many subgraphs). */
  maxRootFields: positive,
  /** Limit values in error messages (default: development only). */
  exposeLimits: boolean,
  /** "Did you mean …?" in validation errors (default: development only, and only where introspection is allowed). */
  fieldSuggestions: boolean,
};

export const LIMIT_DEFAULTS = {
  maxTokens: 5000,
  maxNesting: 200,
  maxDepth: 12,
  maxIntrospectionDepth: 20,
  maxAliases: 30,
  maxDirectives: 50,
  maxRootFields: 20,
};

export const limitsSchema = z
  .strictObject({
    maxTokens: limitShape.maxTokens.default(LIMIT_DEFAULTS.maxTokens),
    maxNesting: limitShape.maxNesting.default(LIMIT_DEFAULTS.maxNesting),
    maxDepth: limitShape.maxDepth.default(LIMIT_DEFAULTS.maxDepth),
    maxIntrospectionDepth: limitShape.maxIntrospectionDepth.default(LIMIT_DEFAULTS.maxIntrospectionDepth),
    maxAliases: limitShape.maxAliases.default(LIMIT_DEFAULTS.maxAliases),
    maxDirectives: limitShape.maxDirectives.default(LIMIT_DEFAULTS.maxDirectives),
    maxRootFields: limitShape.maxRootFields.default(LIMIT_DEFAULTS.maxRootFields),
    exposeLimits: limitShape.exposeLimits.optional(),
    fieldSuggestions: limitShape.fieldSuggestions.optional(),
    cost: z
      .strictObject({
        max: costShape.max.default(COST_DEFAULTS.max),
        mode: costShape.mode.default(COST_DEFAULTS.mode),
        listSize: costShape.listSize.default(COST_DEFAULTS.listSize),
        listArguments: costShape.listArguments.default(COST_DEFAULTS.listArguments),
        objectCost: costShape.objectCost.default(COST_DEFAULTS.objectCost),
        scalarCost: costShape.scalarCost.default(COST_DEFAULTS.scalarCost),
      })
      .prefault({}),
  })
  .prefault({});

/** A channel's `limits:`: any subset of the gateway's, replacing those values for that channel. */
export const limitsOverride = z.strictObject({
  maxTokens: limitShape.maxTokens.optional(),
  maxNesting: limitShape.maxNesting.optional(),
  maxDepth: limitShape.maxDepth.optional(),
  maxIntrospectionDepth: limitShape.maxIntrospectionDepth.optional(),
  maxAliases: limitShape.maxAliases.optional(),
  maxDirectives: limitShape.maxDirectives.optional(),
  maxRootFields: limitShape.maxRootFields.optional(),
  exposeLimits: limitShape.exposeLimits.optional(),
  fieldSuggestions: limitShape.fieldSuggestions.optional(),
  cost: z
    .strictObject({
      max: costShape.max.optional(),
      mode: costShape.mode.optional(),
      listSize: costShape.listSize.optional(),
      listArguments: costShape.listArguments.optional(),
      objectCost: costShape.objectCost.optional(),
      scalarCost: costShape.scalarCost.optional(),
    })
    .optional(),
});

export type LimitsOverride = z.output<typeof limitsOverride>;
export type LimitsConfig = z.output<typeof limitsSchema>;

// ---------------------------------------------------------------------------
// Request hygiene

export const csrfSchema = z.strictObject({
  /**
   * Also refuse GET requests that carry none of `headers` (403). POST bodies
   * must be application/json whatever this says, so a browser always sends a
   * CORS preflight for them. Turn this on for browser channels whose callers
   * carry ambient credentials (cookies).
   */
  requireHeader: boolean.default(false),
  headers: z.array(headerName).min(1).default(['x-tessera-csrf', 'apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight']),
});

export const requestsSchema = z
  .strictObject({
    /** Operations in one batched (array) POST; 0 turns batching off. More gets 413. */
    batching: integer.pipe(z.number().min(0).max(100)).default(0),
    csrf: csrfSchema.prefault({}),
  })
  .prefault({});

// ---------------------------------------------------------------------------
// Cross-origin requests from browsers (CORS)

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
const channelCorsSchema = z.unknown().transform((value, ctx): CorsConfig | false => {
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

// ---------------------------------------------------------------------------
// Upstream allowlist (SSRF guard)

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

// ---------------------------------------------------------------------------
// TLS of the gateway's own listener (`server.tls`)

export const listenerTlsSchema = z
  .strictObject({
    /** Certificate chain (PEM), relative to gateway.yaml. */
    cert: z.string().min(1),
    /** Private key (PEM), relative to gateway.yaml. */
    key: z.string().min(1),
    passphrase: z.string().optional(),
    /** CA bundle (PEM) that signs client certificates, for mutual TLS. */
    ca: z.string().min(1).optional(),
    /** none: no client certificate asked; request: asked, verified when sent; require: refused without a valid one. */
    clientCertificates: z.enum(['none', 'request', 'require']).default('none'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    /** How often the files are checked for changes (a renewed certificate is used without a restart); 0 turns reloading off. */
    reloadInterval: duration.default(10_000),
  })
  .refine((t) => t.clientCertificates === 'none' || t.ca, { message: '`clientCertificates` needs `ca` (the CA that signs client certificates)', path: ['ca'] });

export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;

// ---------------------------------------------------------------------------
// Pagination cursors

export const cursorsSchema = z
  .strictObject({
    /**
     * The secret a REST connection's cursors are sealed with (AES-256-GCM, key
     * derived with HKDF-SHA256; use ${ENV}). Replicas behind one load balancer
     * must share it: a cursor sealed by one is refused by another with
     * BAD_REQUEST. Without it each `tessera serve` generates one at start (its
     * workers share it), so cursors stop working across a restart.
     */
    secret: z.string().min(32, 'use at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
  })
  .prefault({});

export type CursorsConfig = z.output<typeof cursorsSchema>;

// ---------------------------------------------------------------------------
// The gateway's `security:` key

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
export type AuthConfig = z.output<typeof authSchema>;
export type JwtProviderConfig = z.output<typeof jwtProvider>;
export type ApiKeysConfig = z.output<typeof apiKeysSchema>;

// ---------------------------------------------------------------------------
// Channel keys (spread into channels.<name>)

export const persistedOperationsSchema = z
  .strictObject({
    /**
     * The operations this channel's clients were built with: an Apollo
     * persisted-query manifest or a JSON object of id → document, relative to
     * gateway.yaml. Clients send `extensions.persistedQuery.sha256Hash` or
     * `documentId` instead of the document.
     */
    manifest: z.string().min(1).optional(),
    /** Refuse every document that is not in the manifest (default: true with a manifest). */
    only: boolean.optional(),
    /** Automatic persisted queries: a client registers a document under its SHA-256 on first use. Not with `only`. */
    apq: boolean.default(false),
    /** Most documents registered through APQ kept in memory (least recently used go first). */
    maxEntries: integer.pipe(z.number().min(1).max(1_000_000)).default(10_000),
  })
  .superRefine((p, ctx) => {
    if (!p.manifest && !p.apq) ctx.addIssue({ code: 'custom', message: 'give a `manifest`, or turn `apq` on' });
    if (p.only && !p.manifest) ctx.addIssue({ code: 'custom', path: ['only'], message: '`only` needs a `manifest`' });
    if (p.apq && p.manifest && p.only !== false) {
      ctx.addIssue({ code: 'custom', path: ['apq'], message: 'APQ lets clients register any document, which `only` forbids; set `only: false` to allow both' });
    }
  });

export type PersistedOperationsConfig = z.output<typeof persistedOperationsSchema>;

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

// ---------------------------------------------------------------------------
// Descriptor keys

const coordinateKey = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/, 'expected "Type" or "Type.field"');
const scope = z.string().min(1).regex(/^\S+$/, 'a scope has no spaces');

/**
 * `auth:` in a descriptor: scopes (or roles) needed to read a type or a
 * field, written in the subgraph's own names. `[a, b]`: both; `[[a], [b, c]]`:
 * a, or b and c; `[]`: any authenticated caller.
 */
export const authRulesSchema = z
  .record(
    z.string(),
    z.union([z.array(scope), z.array(z.array(scope).min(1))]).transform((v): string[][] =>
      v.length === 0 ? [[]] : typeof v[0] === 'string' ? [v as string[]] : (v as string[][]),
    ),
  )
  .superRefine((rules, ctx) => {
    // Checked here rather than as the record's key type, so the message names the key.
    for (const key of Object.keys(rules)) {
      if (!coordinateKey.safeParse(key).success) ctx.addIssue({ code: 'custom', path: [key], message: 'expected "Type" or "Type.field"' });
    }
  });

/** TLS to an HTTP upstream (the gRPC descriptor has the same keys). Paths are relative to the descriptor. */
export const upstreamTlsSchema = z
  .strictObject({
    /** CA bundle (PEM) that signs the upstream's certificate; the system roots when omitted. */
    ca: z.string().min(1).optional(),
    /** Client certificate (PEM) for mutual TLS; needs `key` too. */
    cert: z.string().min(1).optional(),
    /** Private key (PEM) of the client certificate. */
    key: z.string().min(1).optional(),
    /** Name checked against the upstream certificate instead of the URL's host. */
    serverName: z.string().min(1).optional(),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), { message: 'a client certificate needs both `cert` and `key`' });

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

