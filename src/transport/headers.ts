/**
 * Which client headers may travel upstream. Only names on the descriptor's
 * allowlist are copied, and never the hop-by-hop or framing headers that
 * belong to the client's own connection (RFC 9110 section 7.6.1): copying
 * `Host`, `Content-Length` or `Transfer-Encoding` would let a client shape
 * the upstream request.
 */
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
}

export function isForwardable(name: string): boolean {
  return !NEVER_FORWARDED.has(name.toLowerCase());
}

/** The headers for one upstream call: allowlisted client headers, then the descriptor's static ones. */
export function upstreamHeaders(client: Headers, rules: HeaderRules, base: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const name of rules.forward) {
    if (!isForwardable(name)) continue;
    const value = client.get(name);
    // Headers objects already refuse CR/LF in values; the check keeps that true for any caller.
    if (value !== null && !/[\r\n]/.test(value)) out[name] = value;
  }
  for (const [name, value] of Object.entries(rules.set)) out[name] = value;
  return out;
}
