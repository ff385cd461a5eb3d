/**
 * The one rule for the headers of an upstream call, whatever their origin:
 * the source's own (`accept`, `content-type`, the `in: cookie` parameters an
 * OpenAPI source serialises), GraphQL arguments (OpenAPI header
 * parameters), allowlisted client headers, the descriptor's `headers.set`,
 * and the verified caller's identity. `upstreamHeaders` applies it per call;
 * `argumentHeaderRefusal` is the same rule asked at load, so a source does
 * not offer an argument that could never be sent. docs/security.md
 * ("Upstream credentials and identity headers") states it for reviewers.
 *
 * - Gateway-owned headers (hop-by-hop and framing, RFC 9110 section 7.6.1,
 *   and `Host`) come from the gateway alone: copying `Host`,
 *   `Content-Length` or `Transfer-Encoding` from a client would let it shape
 *   the upstream request.
 * - An identity header is set from the verified identity and from nothing
 *   else; without an identity it is absent, whoever tried to set it.
 * - Credentials (`Authorization`, `Cookie`) follow the descriptor's policy,
 *   never an argument on its own.
 * - A value with CR, LF, NUL or a character outside Latin-1 never travels.
 */
import type { Identity, RequestScope } from '../request-scope.js';

const GATEWAY_OWNED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-type',
  'accept-encoding',
  'expect',
]);

export interface HeaderRules {
  forward: string[];
  set: Record<string, string>;
  /** The client's Authorization: forwarded only with `forward` (or when `forward` lists it); `service` sends `set.authorization`. */
  authorization?: 'forward' | 'strip' | 'service';
  /** Headers set from the authenticated caller (`x-user-id: subject`); a header of that name from anywhere else never passes. */
  identity?: Record<string, string>;
}

export function isForwardable(name: string): boolean {
  return !GATEWAY_OWNED.has(name.toLowerCase());
}

interface CompiledRules {
  forward: string[];
  set: Array<[header: string, value: string]>;
  identity: Array<[header: string, field: string]>;
  identityHeaders: Set<string>;
  /** A `Cookie` header parameter may be sent only where the client's own Cookie is forwarded. */
  cookieArgument: boolean;
}

/** Rules are compiled once per descriptor, not per call. */
const compiled = new WeakMap<HeaderRules, CompiledRules>();

function compile(rules: HeaderRules): CompiledRules {
  let entry = compiled.get(rules);
  if (!entry) {
    const identity = Object.entries(rules.identity ?? {});
    const identityHeaders = new Set(identity.map(([header]) => header));
    const authorization = rules.authorization ?? (rules.forward.includes('authorization') ? 'forward' : 'strip');
    // A client credential reaches an upstream only when the descriptor says so.
    const forward = rules.forward.filter((name) => isForwardable(name) && !identityHeaders.has(name) && name !== 'authorization');
    if (authorization === 'forward') forward.push('authorization');
    const set = Object.entries(rules.set).filter(([name]) => isForwardable(name) && !identityHeaders.has(name));
    entry = { forward, set, identity, identityHeaders, cookieArgument: forward.includes('cookie') };
    compiled.set(rules, entry);
  }
  return entry;
}

/**
 * Why a GraphQL argument may never carry the header `name` under these rules
 * (for the load report and `tessera check`), or undefined when it may.
 * `accept` and `content-type` are the source's to set from the operation's
 * media types (OpenAPI 3.1 section 4.8.12.1 says to ignore such parameters).
 */
export function argumentHeaderRefusal(name: string, rules: HeaderRules): string | undefined {
  const lower = name.toLowerCase();
  const { identityHeaders, cookieArgument } = compile(rules);
  if (identityHeaders.has(lower)) return "an identity header (headers.identity): only the verified caller's identity sets it";
  if (lower === 'authorization') return 'a credential: headers.authorization alone decides what reaches the upstream';
  if (lower === 'cookie' && !cookieArgument) return 'a credential: sent only where headers.forward lists cookie';
  if (lower === 'accept' || !isForwardable(lower)) return 'owned by the gateway (hop-by-hop, framing, Host or media type)';
  return undefined;
}

/** Header-safe text: visible ASCII and Latin-1 only (no CR, LF or NUL). */
const SAFE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function identityValue(identity: Identity, field: string): string | undefined {
  let value: unknown;
  if (field === 'scopes') value = identity.scopes.join(' ');
  else if (field.startsWith('claim:')) value = identity.claims?.[field.slice(6)];
  else value = (identity as unknown as Record<string, unknown>)[field];
  if (Array.isArray(value)) value = value.filter((v) => typeof v === 'string').join(',');
  if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
  return typeof value === 'string' && value !== '' && SAFE_VALUE.test(value) ? value : undefined;
}

/**
 * The headers for one upstream call, later origins winning: the source's own
 * (`base`), header arguments the rule allows, allowlisted client headers,
 * the descriptor's static ones, then the identity headers, which are always
 * replaced or removed (read from the request scope, so no call can forget
 * them). Names in `base` and `args` are lower case.
 */
export function upstreamHeaders(
  scope: Pick<RequestScope, 'headers' | 'identity'>,
  rules: HeaderRules,
  base: Record<string, string> = {},
  args?: Record<string, string>,
): Record<string, string> {
  const { headers } = scope;
  const { forward, set, identity, identityHeaders } = compile(rules);
  const out: Record<string, string> = { ...base };
  if (args) {
    for (const name in args) {
      const value = args[name]!;
      if (argumentHeaderRefusal(name, rules) === undefined && SAFE_VALUE.test(value)) out[name] = value;
    }
  }
  for (const name of forward) {
    const value = headers.get(name);
    // Headers objects already refuse CR/LF in values; the check keeps that true for any caller.
    if (value !== null && SAFE_VALUE.test(value)) out[name] = value;
  }
  for (const [name, value] of set) out[name] = value;
  for (const name of identityHeaders) delete out[name];
  if (identity.length > 0 && scope.identity) {
    for (const [header, field] of identity) {
      const value = identityValue(scope.identity, field);
      if (value !== undefined) out[header] = value;
    }
  }
  return out;
}
