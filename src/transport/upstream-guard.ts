/**
 * The SSRF guard: which hosts the gateway may call on a descriptor's behalf
 * (row 37 of docs/reliability.md). Descriptors can come from many teams, or from a
 * shared registry; a URL pointing at the cloud metadata service or at the
 * gateway's own loopback services would turn the gateway into a proxy for
 * whoever wrote it. Checked at start-up for every upstream URL and every
 * `source` URL; sources that read other URLs from a document (OpenAPI
 * `servers`) call `checkUpstreamUrl` for them.
 *
 * Without `security.upstreams.allow`, every host is allowed except the
 * addresses that are never a backend: link-local (which holds the metadata
 * services at 169.254.169.254 and fd00:ec2::254), other known metadata
 * addresses, unspecified (0.0.0.0, ::), multicast and broadcast. With
 * `allow`, only what it lists (host names, `*.domain`, addresses, CIDR
 * ranges), and the refused addresses only when listed by address or range.
 * Host names are resolved (unless `resolve: false`) so a name pointing at a
 * refused address is refused too.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { UpstreamPolicy } from '../config/upstreams.js';
import { ConfigError } from '../errors.js';

type Family = 'ipv4' | 'ipv6';

/** A resolver that does not answer must not hold start-up; the name then decides alone. */
const RESOLVE_TIMEOUT_MS = 2_000;

const NEVER = new BlockList();
for (const [network, prefix, family] of [
  ['169.254.0.0', 16, 'ipv4'], // link-local, AWS/GCP/Azure/OpenStack metadata
  ['100.100.100.200', 32, 'ipv4'], // Alibaba Cloud metadata
  ['168.63.129.16', 32, 'ipv4'], // Azure wire server
  ['0.0.0.0', 8, 'ipv4'], // "this network", unspecified
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['255.255.255.255', 32, 'ipv4'], // broadcast
  ['fe80::', 10, 'ipv6'], // link-local
  ['fd00:ec2::254', 128, 'ipv6'], // AWS metadata over IPv6
  ['::', 128, 'ipv6'], // unspecified
  ['ff00::', 8, 'ipv6'], // multicast
] as const) {
  NEVER.addSubnet(network, prefix, family as Family);
}

/** Names that are the metadata service whatever they resolve to. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is checked as the IPv4 address it is. */
function normalizeAddress(address: string): { address: string; family: Family } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export interface CompiledPolicy {
  allowNames: Set<string>;
  allowSuffixes: string[];
  allowAddresses: BlockList;
  /** Addresses and ranges listed explicitly (the only way to reach a NEVER address). */
  listed: boolean;
  restricted: boolean;
  resolve: boolean;
}

export function compilePolicy(policy: UpstreamPolicy): CompiledPolicy {
  const compiled: CompiledPolicy = {
    allowNames: new Set(),
    allowSuffixes: [],
    allowAddresses: new BlockList(),
    listed: false,
    restricted: policy.allow !== undefined,
    resolve: policy.resolve,
  };
  for (const entry of policy.allow ?? []) {
    const [network, prefix] = entry.split('/') as [string, string | undefined];
    if (isIP(network)) {
      const { address, family } = normalizeAddress(network);
      if (prefix !== undefined) compiled.allowAddresses.addSubnet(address, Number(prefix), family);
      else compiled.allowAddresses.addAddress(address, family);
      compiled.listed = true;
    } else if (entry.startsWith('*.')) {
      compiled.allowSuffixes.push(entry.slice(1));
    } else {
      compiled.allowNames.add(entry);
    }
  }
  return compiled;
}

function addressAllowed(address: string, policy: CompiledPolicy): string | undefined {
  const { address: ip, family } = normalizeAddress(address);
  const listed = policy.listed && policy.allowAddresses.check(ip, family);
  if (NEVER.check(ip, family) && !listed) return `${ip} is a link-local, metadata, unspecified or multicast address`;
  return undefined;
}

const NO_ALLOWLIST = compilePolicy({ resolve: true });

/** Why `address` is never a backend (link-local, cloud metadata, unspecified, multicast), or undefined: for addresses found by discovery (discovery.ts). */
export function neverABackend(address: string): string | undefined {
  return addressAllowed(address, NO_ALLOWLIST);
}

/**
 * The reason `url` may not be called, or undefined when it may. The host is
 * normalised the way a WHATWG URL normalises an http URL (so `grpc://2852039166`
 * is 169.254.169.254, as it would be when connecting).
 */
export async function checkUpstreamUrl(url: string, policy: CompiledPolicy): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme === 'unix') return policy.restricted && !policy.allowNames.has('localhost') ? 'unix sockets are local; list "localhost" in security.upstreams.allow' : undefined;
  if (!['http', 'https', 'grpc', 'grpcs', 'dns'].includes(scheme)) return `the scheme ${scheme}: is not an upstream protocol`;
  let rawHost = parsed.hostname;
  if (scheme === 'dns') rawHost = parsed.pathname.replace(/^\/+/, '').split(/[:/]/)[0] ?? '';
  let host: string;
  try {
    host = new URL(`http://${rawHost.includes(':') && !rawHost.startsWith('[') ? `[${rawHost}]` : rawHost}/`).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return `${JSON.stringify(rawHost)} is not a host`;
  }
  if (!host) return 'the URL has no host';

  if (isIP(host)) {
    const refused = addressAllowed(host, policy);
    if (refused) return refused;
    if (policy.restricted && !policy.allowAddresses.check(normalizeAddress(host).address, normalizeAddress(host).family)) {
      return `${host} is not in security.upstreams.allow`;
    }
    return undefined;
  }

  const bare = host.replace(/\.$/, '');
  const nameListed = policy.allowNames.has(bare) || policy.allowSuffixes.some((suffix) => bare.endsWith(suffix));
  if (METADATA_NAMES.has(bare) && !policy.allowNames.has(bare)) return `${bare} is a cloud metadata service`;
  if (policy.restricted && !nameListed && !policy.resolve) return `${bare} is not in security.upstreams.allow`;
  if (!policy.resolve) return undefined;
  let addresses: Array<{ address: string }>;
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('DNS timeout')), RESOLVE_TIMEOUT_MS);
    });
    addresses = await Promise.race([lookup(bare === 'localhost' || bare.endsWith('.localhost') ? 'localhost' : bare, { all: true, verbatim: true }), timeout]).finally(() => clearTimeout(timer));
  } catch {
    // Not resolvable now (the service may not exist yet): the name decides.
    return policy.restricted && !nameListed ? `${bare} is not in security.upstreams.allow` : undefined;
  }
  for (const { address } of addresses) {
    const refused = addressAllowed(address, policy);
    if (refused) return `${bare} resolves to ${refused}`;
  }
  if (policy.restricted && !nameListed) {
    const allByAddress = addresses.length > 0 && addresses.every(({ address }) => {
      const { address: ip, family } = normalizeAddress(address);
      return policy.allowAddresses.check(ip, family);
    });
    if (!allByAddress) return `${bare} is not in security.upstreams.allow`;
  }
  return undefined;
}

/** Every upstream and `source` URL of these descriptors, checked together; throws a ConfigError listing each refusal. */
export async function guardUpstreams(
  descriptors: ReadonlyArray<{ name: string; file: string; source?: string; upstreams: ReadonlyArray<{ url: string }>; shadow?: { url?: string } }>,
  policy: UpstreamPolicy,
  displayPath: (file: string) => string = (f) => f,
): Promise<void> {
  const compiled = compilePolicy(policy);
  const checks: Array<Promise<string | undefined>> = [];
  for (const descriptor of descriptors) {
    const where = displayPath(descriptor.file);
    descriptor.upstreams.forEach((upstream, i) => {
      checks.push(checkUpstreamUrl(upstream.url, compiled).then((reason) => reason && `${where}: upstreams[${i}].url: ${reason} (subgraph "${descriptor.name}")`));
    });
    const shadowUrl = descriptor.shadow?.url;
    if (shadowUrl) checks.push(checkUpstreamUrl(shadowUrl, compiled).then((reason) => reason && `${where}: shadow.url: ${reason} (subgraph "${descriptor.name}")`));
    if (descriptor.source && /^[a-z][a-z0-9+.-]*:\/\//i.test(descriptor.source)) {
      checks.push(checkUpstreamUrl(descriptor.source, compiled).then((reason) => reason && `${where}: source: ${reason} (subgraph "${descriptor.name}")`));
    }
  }
  const problems = (await Promise.all(checks)).filter((p): p is string => Boolean(p));
  if (problems.length > 0) throw new ConfigError('UPSTREAM_NOT_ALLOWED', problems);
}
