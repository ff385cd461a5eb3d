/**
 * Checks the credential on a request and says who is calling: a JWT bearer
 * token (jose), an API key (compared by SHA-256, so the config holds no key),
 * or nobody. Built once per `security.auth` and shared by every channel.
 *
 * JWT rules, each a row of docs/reliability.md (33-35):
 *   - algorithms come from the configuration, never from the token: a static
 *     key verifies only its own `alg`, a JWKS provider only its `algorithms`
 *     (asymmetric), so `none` and HS256-signed-with-the-RSA-public-key fail;
 *   - `jku`, `x5u` and embedded keys in the header are never used (jose does
 *     not follow them), and an unknown `kid` re-fetches the configured JWKS
 *     URL at most once per `cooldown`;
 *   - `iss`, `aud` and `exp` are required; `exp` and `nbf` allow `clockSkew`.
 * A verified token is remembered (by its SHA-256) until `exp` or
 * `tokenCache.ttl`, so signature checks do not run on every request.
 */
import { createHash, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig, JwtAlgorithm, JwtProviderConfig } from '../config/auth.js';
import { ConfigError, TesseraError } from '../errors.js';
import type { Identity } from '../request-scope.js';
import { refusal } from './refusal.js';

/** A credential was presented and it is not good (or none was, where one is required). */
export type AuthFailure = TesseraError;

interface StaticKey {
  kid?: string;
  alg: JwtAlgorithm;
  key: KeyObject;
}

interface Provider {
  config: JwtProviderConfig;
  verify(token: string): Promise<JWTPayload & { kid?: string }>;
}

const DEFAULT_JWKS_ALGORITHMS: JwtAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** Which key types each algorithm family needs (checked at start-up, and by jose again when verifying). */
function keyFits(alg: JwtAlgorithm, key: KeyObject): boolean {
  if (alg.startsWith('HS')) return key.type === 'secret';
  if (key.type !== 'public') return false;
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (alg === 'ES256') return type === 'ec' && curve === 'prime256v1';
  if (alg === 'ES384') return type === 'ec' && curve === 'secp384r1';
  if (alg === 'ES512') return type === 'ec' && curve === 'secp521r1';
  if (alg === 'Ed25519') return type === 'ed25519';
  return type === 'ed25519' || type === 'ed448';
}

function loadStaticKeys(provider: JwtProviderConfig, where: string, baseDir: string): StaticKey[] {
  const problems: string[] = [];
  const keys: StaticKey[] = [];
  for (const [i, spec] of (provider.keys ?? []).entries()) {
    const at = `${where}.keys[${i}]`;
    try {
      let key: KeyObject;
      if (spec.secret !== undefined) key = createSecretKey(Buffer.from(spec.secret));
      else if (spec.jwk) key = createPublicKey({ key: spec.jwk as never, format: 'jwk' });
      else key = createPublicKey(spec.pem ?? readFileSync(resolve(baseDir, spec.file!), 'utf8'));
      if (key.type === 'private') throw new Error('expected a public key, got a private key');
      if (!keyFits(spec.alg, key)) throw new Error(`the key does not fit ${spec.alg} (it is ${key.asymmetricKeyType ?? key.type})`);
      keys.push({ kid: spec.kid, alg: spec.alg, key });
    } catch (error) {
      problems.push(`${at}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  return keys;
}

/** jose codes meaning the JWKS could not be fetched (as opposed to a token that does not match it). */
function isFetchFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === undefined || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_INVALID';
}

function remoteKeys(jwks: NonNullable<JwtProviderConfig['jwks']>): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(jwks.url), {
    cacheMaxAge: jwks.cacheMaxAge,
    cooldownDuration: jwks.cooldown,
    timeoutDuration: jwks.timeout,
  });
  let stale: { source: JSONWebKeySet; keys: JWTVerifyGetKey } | undefined;
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      // The JWKS endpoint is down but keys were fetched before: keep using them.
      const last = isFetchFailure(error) ? remote.jwks() : undefined;
      if (!last) throw error;
      if (stale?.source !== last) stale = { source: last, keys: createLocalJWKSet(last) };
      return stale.keys(header, token);
    }
  };
}

function buildProvider(config: JwtProviderConfig, where: string, baseDir: string): Provider {
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: Math.floor(config.clockSkew / 1000),
    requiredClaims: ['exp', 'iss', 'aud'],
  };
  if (config.jwks) {
    const keys = remoteKeys(config.jwks);
    const algorithms = config.algorithms ?? DEFAULT_JWKS_ALGORITHMS;
    return {
      config,
      async verify(token) {
        const { payload, protectedHeader } = await jwtVerify(token, keys, { ...options, algorithms });
        return { ...payload, kid: protectedHeader.kid };
      },
    };
  }
  const keys = loadStaticKeys(config, where, baseDir);
  return {
    config,
    async verify(token) {
      const header = decodeProtectedHeader(token);
      // A token naming a kid is checked with that key only, and only with that key's own algorithm.
      const candidates = keys.filter((k) => (header.kid === undefined || k.kid === header.kid) && k.alg === header.alg);
      if (candidates.length === 0) throw Object.assign(new Error('no key matches'), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      let lastError: unknown;
      for (const candidate of candidates) {
        try {
          const { payload } = await jwtVerify(token, candidate.key, { ...options, algorithms: [candidate.alg] });
          return { ...payload, kid: header.kid };
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
  };
}

/** What the client is told when a token fails, by jose error code; never the token or its claims. */
function describeJwtError(error: unknown): string {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'The token has expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return 'The token is not valid yet.';
      if (claim === 'iss') return 'The token was issued by an issuer this gateway does not trust.';
      if (claim === 'aud') return 'The token is not meant for this gateway (audience).';
      return `The token's "${claim ?? 'claims'}" claim is missing or invalid.`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'The token signature is invalid.';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return "The token's algorithm is not accepted.";
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'No known key matches the token.';
    default:
      return 'The token is malformed.';
  }
}

/**
 * A WWW-Authenticate parameter value as an RFC 9110 (5.6.4) quoted-string: `"` and `\` are
 * backslash-escaped, and what a quoted-string cannot carry (CR, LF and other controls, non-ASCII)
 * becomes "?", so a message quoting a claim name or the expected header stays one valid header.
 */
function quotedString(value: string): string {
  return `"${value.replace(/[^\t\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`;
}

export interface Authenticator {
  /** True when some credential can be checked (JWT providers or API keys). */
  readonly enabled: boolean;
  /** The API key query parameter, when keys may come in the URL. */
  readonly queryParameter?: string;
  /** The WWW-Authenticate value of a 401 for a request without credentials. */
  readonly challenge: string;
  /**
   * Who is calling. undefined: nobody (allowed when `anonymous`). Throws (or
   * rejects with) a TesseraError for a bad or missing credential.
   */
  authenticate(headers: Headers, url: string, anonymous: boolean): Identity | undefined | Promise<Identity | undefined>;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function createAuthenticator(config: AuthConfig, options: { baseDir: string; file?: string }): Authenticator {
  const where = `${options.file ?? 'gateway.yaml'}: security.auth`;
  const problems: string[] = [];
  const providers: Provider[] = [];
  for (const [i, providerConfig] of config.jwt.entries()) {
    try {
      providers.push(buildProvider(providerConfig, `${where}.jwt[${i}]`, options.baseDir));
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
    }
  }
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  const byIssuer = new Map(providers.map((p) => [p.config.issuer, p]));

  const apiKeys = config.apiKeys;
  const keysByHash = new Map<string, Identity>(
    (apiKeys?.keys ?? []).map((k) => [k.sha256, Object.freeze({ kind: 'apiKey', subject: k.subject ?? k.id, keyId: k.id, scopes: Object.freeze([...k.scopes]) })]),
  );
  const queryParameter = apiKeys?.query;
  const apiKeyHeader = apiKeys?.header;

  const realm = quotedString(config.realm);
  const challenge = (error?: 'invalid_token' | 'invalid_request', description?: string): string => {
    const parts: string[] = [];
    if (providers.length > 0) parts.push(`Bearer realm=${realm}${error ? `, error="${error}", error_description=${quotedString(description ?? '')}` : ''}`);
    if (apiKeys) parts.push(`ApiKey realm=${realm}, header=${quotedString(apiKeys.header)}`);
    return parts.join(', ');
  };
  const unauthenticated = (message: string, error?: 'invalid_token' | 'invalid_request') =>
    refusal('UNAUTHENTICATED', message, { headers: { 'www-authenticate': challenge(error, message) } });

  const cache = new Map<string, { identity: Identity; until: number }>();
  const { maxEntries, ttl } = config.tokenCache;
  const remember = (key: string, identity: Identity, exp: number | undefined): void => {
    if (maxEntries === 0) return;
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    const until = Math.min(Date.now() + ttl, exp !== undefined ? exp * 1000 : Infinity);
    cache.set(key, { identity, until });
  };

  const scopesOf = (payload: JWTPayload, claims: string[]): string[] => {
    const scopes = new Set<string>();
    for (const claim of claims) {
      const value = payload[claim];
      if (typeof value === 'string') for (const s of value.split(/\s+/)) if (s) scopes.add(s);
      if (Array.isArray(value)) for (const s of value) if (typeof s === 'string' && s) scopes.add(s);
    }
    return [...scopes];
  };

  const verifyJwt = async (token: string): Promise<Identity> => {
    const cacheKey = createHash('sha256').update(token).digest('base64');
    const hit = cache.get(cacheKey);
    if (hit && hit.until > Date.now()) return hit.identity;
    if (hit) cache.delete(cacheKey);
    let provider: Provider | undefined;
    try {
      const issuer = decodeJwt(token).iss;
      provider = (issuer !== undefined ? byIssuer.get(issuer) : undefined) ?? (providers.length === 1 ? providers[0] : undefined);
    } catch {
      throw unauthenticated('The token is malformed.', 'invalid_token');
    }
    if (!provider) throw unauthenticated('The token was issued by an issuer this gateway does not trust.', 'invalid_token');
    let payload: JWTPayload & { kid?: string };
    try {
      payload = await provider.verify(token);
    } catch (error) {
      if (provider.config.jwks && isFetchFailure(error) && !(error as { claim?: unknown }).claim) {
        throw refusal('AUTH_PROVIDER_UNAVAILABLE', `The keys of the identity provider "${provider.config.name}" cannot be fetched; try again later.`, {
          headers: { 'retry-after': '5' },
        });
      }
      throw unauthenticated(describeJwtError(error), 'invalid_token');
    }
    const subject = payload[provider.config.subjectClaim];
    if (typeof subject !== 'string' || subject === '') throw unauthenticated(`The token has no "${provider.config.subjectClaim}" claim.`, 'invalid_token');
    const identity: Identity = Object.freeze({
      kind: 'jwt',
      subject,
      scopes: Object.freeze(scopesOf(payload, provider.config.scopeClaims)),
      keyId: payload.kid,
      issuer: provider.config.issuer,
      claims: Object.freeze(payload),
    });
    remember(cacheKey, identity, payload.exp);
    return identity;
  };

  const enabled = providers.length > 0 || keysByHash.size > 0;

  return {
    enabled,
    queryParameter,
    challenge: challenge(),
    authenticate(headers, url, anonymous) {
      // Authorization is the gateway's credential only when JWT providers are configured;
      // otherwise it is the client's business with its upstreams.
      const authorization = providers.length > 0 ? headers.get('authorization') : null;
      let apiKey = apiKeyHeader ? headers.get(apiKeyHeader) : null;
      if (queryParameter && url.includes('?')) {
        const inQuery = new URL(url).searchParams.get(queryParameter);
        if (inQuery !== null) {
          if (apiKey !== null) throw unauthenticated('Send one API key, in the header or in the query, not both.', 'invalid_request');
          apiKey = inQuery;
        }
      }
      if (authorization !== null && apiKey !== null) throw unauthenticated('Send one credential: a bearer token or an API key.', 'invalid_request');
      if (authorization !== null) {
        const match = BEARER.exec(authorization);
        if (!match) throw unauthenticated('Authorization must be "Bearer <token>".', 'invalid_request');
        return verifyJwt(match[1]!);
      }
      if (apiKey !== null) {
        const identity = keysByHash.get(createHash('sha256').update(apiKey).digest('hex'));
        if (!identity) throw unauthenticated('The API key is not valid.');
        return identity;
      }
      if (anonymous) return undefined;
      throw unauthenticated('This endpoint needs credentials.');
    },
  };
}
