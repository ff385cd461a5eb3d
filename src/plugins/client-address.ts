/**
 * The client's address, for rate limits on anonymous callers. The socket's
 * peer is the client unless it is one of the configured trusted proxies; only
 * then is the proxies' header read, right to left, skipping trusted hops, so a
 * client cannot pick its own bucket by sending the header itself.
 *
 * The header is X-Forwarded-For when the request has one, else Forwarded
 * (RFC 7239, the `for=` parameter of each element); never both, so a client
 * cannot add hops through the header its proxy does not write. X-Forwarded-For
 * wins because it is the one common proxies (nginx, HAProxy, Envoy, cloud
 * load balancers) append to by default.
 *
 * An entry is an address, with or without a port: `203.0.113.7`,
 * `203.0.113.7:1234`, `[2001:db8::1]`, `[2001:db8::1]:443`, and in
 * X-Forwarded-For a bare `2001:db8::1`; in Forwarded, quoted or not, IPv6
 * only in brackets as RFC 7239 requires (`2001:db8::1:80` is itself an
 * address). Anything else (`unknown`, an obfuscated `_node`, a host name, a
 * port over 65535, an element without exactly one `for=`) ends the walk: the
 * trusted peer is then the client, as for a missing header. Both headers are split on
 * every comma and semicolon, quotes or not, since no address contains one:
 * a client's unbalanced quote cannot swallow the entry its proxy appends.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../errors.js';

function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** `[IPv6]` or IPv4, then an optional port (RFC 7239's node-port: digits or an obfuscated `_name`). */
const NODE = /^(?:\[([^\]]+)\]|([\d.]+))(?::(\d{1,5}|_[A-Za-z0-9._-]+))?$/;

/** The address of one proxy-header entry (forms above), or undefined when it is none. */
function entryAddress(entry: string, bareIpv6: boolean): string | undefined {
  const match = NODE.exec(entry);
  // A bare IPv6 address: its colons leave no room for a port.
  if (!match) return bareIpv6 && isIP(entry) === 6 ? normalise(entry) : undefined;
  const [, ipv6, ipv4, port] = match;
  if (port !== undefined && !port.startsWith('_') && Number(port) > 65535) return undefined;
  if (ipv6 !== undefined) return isIP(ipv6) === 6 ? normalise(ipv6) : undefined;
  return isIP(ipv4!) === 4 ? ipv4 : undefined;
}

/** RFC 7239 section 4: the value of each element's one `for=` parameter, unquoted; undefined for an element without exactly one. */
function forwardedFor(header: string): Array<string | undefined> {
  return header.split(',').map((element) => {
    let value: string | undefined;
    for (const pair of element.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0 || pair.slice(0, equals).trim().toLowerCase() !== 'for') continue;
      if (value !== undefined) return undefined;
      value = pair.slice(equals + 1).trim();
    }
    if (value === undefined || !value.startsWith('"')) return value;
    return value.length >= 2 && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : undefined;
  });
}

/** The proxies' hops for this request, nearest last (see above for which header). */
function forwardedHops(req: IncomingMessage): Array<string | undefined> {
  const joined = (name: string): string | undefined => {
    const header = req.headers[name];
    return Array.isArray(header) ? header.join(',') : header;
  };
  const xff = joined('x-forwarded-for');
  if (xff !== undefined) return xff.split(',').map((hop) => entryAddress(hop.trim(), true));
  const forwarded = joined('forwarded');
  return forwarded === undefined ? [] : forwardedFor(forwarded).map((node) => (node === undefined ? undefined : entryAddress(node, false)));
}

/** Builds the resolver once; a malformed entry stops start-up with the path of the entry. */
export function clientAddressResolver(trustedProxies: readonly string[], where = 'gateway.yaml: rateLimit.trustedProxies'): (context: unknown) => string {
  const trusted = new BlockList();
  const problems: string[] = [];
  trustedProxies.forEach((entry, i) => {
    const [address, bits, extra] = entry.split('/');
    const kind = address ? family(address) : undefined;
    const prefix = bits === undefined ? undefined : Number(bits);
    if (!kind || extra !== undefined || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (kind === 'ipv4' ? 32 : 128)))) {
      problems.push(`${where}[${i}]: expected an IP address or a CIDR range like 10.0.0.0/8, got "${entry}"`);
      return;
    }
    if (prefix === undefined) trusted.addAddress(address!, kind);
    else trusted.addSubnet(address!, prefix, kind);
  });
  if (problems.length > 0) throw new ConfigError('CONFIG_INVALID', problems);
  const isTrusted = (address: string): boolean => {
    const kind = family(address);
    return kind !== undefined && trusted.check(address, kind);
  };

  return (context) => {
    const req = (context as { req?: IncomingMessage }).req;
    const peer = req?.socket?.remoteAddress;
    if (!peer) return 'unknown';
    const address = normalise(peer);
    if (trustedProxies.length === 0 || !isTrusted(address)) return address;
    const hops = forwardedHops(req);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i];
      if (hop === undefined) break;
      if (!isTrusted(hop)) return hop;
    }
    return address;
  };
}
