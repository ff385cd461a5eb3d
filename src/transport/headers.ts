/**
 * Which client headers may travel upstream. Only names on the descriptor's
 * allowlist are copied, and never the hop-by-hop or framing headers that
 * belong to the client's own connection (RFC 9110 section 7.6.1): copying
 * `Host`, `Content-Length` or `Transfer-Encoding` would let a client shape
 * the upstream request.
 */
import type { Identity, RequestScope } from '../request-scope.js';

const NEVER_FORWARDED = new Set([
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
  /** Headers set from the authenticated caller (`x-user-id: subject`); a client's own header of that name never passes. */
  identity?: Record<string, string>;
}

export function isForwardable(name: string): boolean {
  return !NEVER_FORWARDED.has(name.toLowerCase());
}

interface CompiledRules {
  forward: string[];
  identity: Array<[header: string, field: string]>;
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
    entry = { forward, identity };
    compiled.set(rules, entry);
  }
  return entry;
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
 * The headers for one upstream call: allowlisted client headers, then the
 * descriptor's static ones, then the caller's identity headers (from the
 * request scope, so no call can forget them).
 */
export function upstreamHeaders(scope: Pick<RequestScope, 'headers' | 'identity'>, rules: HeaderRules, base: Record<string, string> = {}): Record<string, string> {
  const { headers } = scope;
  const { forward, identity } = compile(rules);
  const out: Record<string, string> = { ...base };
  for (const name of forward) {
    const value = headers.get(name);
    // Headers objects already refuse CR/LF in values; the check keeps that true for any caller.
    if (value !== null && !/[\r\n]/.test(value)) out[name] = value;
  }
  for (const name in rules.set) out[name] = rules.set[name]!;
  if (identity.length > 0 && scope.identity) {
    for (const [header, field] of identity) {
      const value = identityValue(scope.identity, field);
      if (value !== undefined) out[header] = value;
    }
  }
  return out;
}
