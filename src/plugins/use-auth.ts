/**
 * Authentication: who is calling, checked once per operation when its context
 * is built (after the document passed the limits, before anything runs), and
 * put where every later plugin and the upstream headers find it:
 *
 *   context.tessera.identity = { kind: 'jwt' | 'apiKey', subject, scopes, keyId, issuer?, claims? }
 *
 * (absent for an anonymous caller). A bad credential, or none where the
 * channel refuses anonymous callers, ends the request with 401 and a
 * WWW-Authenticate challenge (RFC 6750 section 3); a JWKS that cannot be
 * fetched with no keys cached ends it with 503.
 */
import type { Plugin } from 'graphql-yoga';
import type { AuthConfig } from '../config/auth.js';
import type { RequestScope } from '../request-scope.js';
import { createAuthenticator, type Authenticator } from './authenticator.js';

export interface AuthOptions {
  auth: AuthConfig;
  /** Callers without credentials are let through (with no identity). */
  anonymous: boolean;
  /** Folder key files are relative to (gateway.yaml's). */
  baseDir: string;
  /** gateway.yaml's path, for error messages. */
  file?: string;
}

/** One authenticator per `security.auth` object: the JWKS cache and the token cache are shared by every channel. */
const authenticators = new WeakMap<AuthConfig, Authenticator>();

export function authenticatorFor(options: Omit<AuthOptions, 'anonymous'>): Authenticator {
  let authenticator = authenticators.get(options.auth);
  if (!authenticator) {
    authenticator = createAuthenticator(options.auth, { baseDir: options.baseDir, file: options.file });
    authenticators.set(options.auth, authenticator);
  }
  return authenticator;
}

interface AuthContext {
  request: Request;
  tessera?: RequestScope;
}

export function useAuth(options: AuthOptions): Plugin {
  const authenticator = authenticatorFor(options);
  const { anonymous } = options;
  if (!authenticator.enabled) {
    if (!anonymous) throw new TypeError('useAuth: anonymous callers are refused, but no JWT provider or API key is configured');
    return {};
  }
  const parameter = authenticator.queryParameter;
  return {
    // A GET request's query string is its GraphQL parameters; the API key is not one of them.
    ...(parameter && {
      onParams({ params, setParams }) {
        if (parameter in params) {
          const { [parameter]: _key, ...rest } = params as Record<string, unknown>;
          setParams(rest as typeof params);
        }
      },
    }),
    onContextBuilding({ context }) {
      const { request, tessera } = context as unknown as AuthContext;
      const identity = authenticator.authenticate(request.headers, request.url, anonymous);
      if (identity === undefined || !tessera) return;
      if (identity instanceof Promise) {
        return identity.then((who) => {
          if (who) tessera.identity = who;
        }) as unknown as void;
      }
      tessera.identity = identity;
    },
  };
}
