/**
 * `security.auth` in gateway.yaml (who may call: JWT providers, API keys,
 * anonymous callers) and `auth:` in a descriptor (the scopes a type or field
 * needs). docs/security.md, "Authentication" and "Authorization", is the
 * reference for users.
 */
import { z } from 'zod';
import { boolean, duration, headerName, integer } from './units.js';

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'expected letters, digits, ".", "-" and "_", starting with a letter');

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

export type AuthConfig = z.output<typeof authSchema>;
export type JwtProviderConfig = z.output<typeof jwtProvider>;
export type ApiKeysConfig = z.output<typeof apiKeysSchema>;

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
