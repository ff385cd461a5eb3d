/**
 * The client's address, for rate limits on anonymous callers. The socket's
 * peer is the client unless it is one of the configured trusted proxies; only
 * then is X-Forwarded-For read, right to left, skipping trusted hops, so a
 * client cannot pick its own bucket by sending the header itself.
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
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalise(hops[i]!.trim());
      if (!family(hop)) break;
      if (!isTrusted(hop)) return hop;
    }
    return address;
  };
}
