/**
 * A shared HTTP cache for upstream GETs (RFC 9111), opt-in per descriptor
 * (`httpCache`). The gateway is a *shared* cache, so it stores only what a
 * shared cache may: a 200 with `max-age` or `s-maxage`, not `private` or
 * `no-store`, no `Vary: *`, and, for a request carrying Authorization, only
 * responses marked `public` or `s-maxage` (RFC 9111 section 3.5). A stale
 * entry with an ETag or Last-Modified is revalidated with a conditional GET;
 * a 304 refreshes it. Entries are keyed by path and the request headers the
 * response varies on; memory is bounded by entry count and entry size.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';

export interface HttpCacheOptions {
  maxEntries: number;
  /** Larger bodies are not stored. */
  maxEntrySize: number;
}

interface Entry {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Epoch ms after which the entry must be revalidated. */
  freshUntil: number;
  etag?: string;
  lastModified?: string;
  /** Request header names the response varies on (lower-case), and their values at store time. */
  vary: Array<[string, string]>;
}

export interface Lookup {
  /** A fresh entry: serve it without calling the upstream. */
  fresh?: { status: number; headers: IncomingHttpHeaders; body: Buffer };
  /** Headers that turn the call into a revalidation of a stale entry. */
  conditional?: Record<string, string>;
  stale?: Entry;
}

function directives(value: string | string[] | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  for (const part of text.split(',')) {
    const [name, arg] = part.trim().split('=', 2);
    if (name) out.set(name.toLowerCase(), arg === undefined ? true : arg.replace(/^"|"$/g, ''));
  }
  return out;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export class HttpCache {
  private readonly entries: LRUCache<string, Entry>;

  constructor(private readonly options: HttpCacheOptions, private readonly now: () => number = Date.now) {
    this.entries = new LRUCache({ max: options.maxEntries });
  }

  private matches(entry: Entry, headers: Record<string, string>): boolean {
    return entry.vary.every(([name, value]) => (headers[name] ?? '') === value);
  }

  lookup(path: string, headers: Record<string, string>): Lookup {
    const entry = this.entries.get(path);
    if (!entry || !this.matches(entry, headers)) return {};
    if (this.now() < entry.freshUntil) return { fresh: { status: entry.status, headers: entry.headers, body: entry.body } };
    const conditional: Record<string, string> = {};
    if (entry.etag) conditional['if-none-match'] = entry.etag;
    else if (entry.lastModified) conditional['if-modified-since'] = entry.lastModified;
    else return {};
    return { conditional, stale: entry };
  }

  /** After a call: stores a cacheable 200, refreshes a revalidated entry on 304 (and returns it). */
  update(path: string, request: Record<string, string>, response: { status: number; headers: IncomingHttpHeaders; body: Buffer }, stale?: Entry): { status: number; headers: IncomingHttpHeaders; body: Buffer } {
    const cc = directives(response.headers['cache-control']);
    if (response.status === 304 && stale) {
      const lifetime = this.lifetime(cc);
      stale.freshUntil = this.now() + (lifetime ?? 0);
      return { status: stale.status, headers: stale.headers, body: stale.body };
    }
    if (response.status !== 200 || cc.has('no-store') || cc.has('private')) return response;
    const lifetime = this.lifetime(cc);
    const etag = first(response.headers.etag);
    const lastModified = first(response.headers['last-modified']);
    if (lifetime === undefined && !etag && !lastModified) return response;
    if (request.authorization !== undefined && !cc.has('public') && !cc.has('s-maxage')) return response;
    if (response.body.length > this.options.maxEntrySize) return response;
    const varyNames = (first(response.headers.vary) ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean);
    if (varyNames.includes('*')) return response;
    this.entries.set(path, {
      status: 200,
      headers: response.headers,
      body: response.body,
      freshUntil: this.now() + (cc.has('no-cache') ? 0 : (lifetime ?? 0)),
      etag,
      lastModified,
      vary: varyNames.map((name) => [name, request[name] ?? '']),
    });
    return response;
  }

  /** Freshness lifetime in ms from s-maxage (shared caches) or max-age. */
  private lifetime(cc: Map<string, string | true>): number | undefined {
    const value = cc.get('s-maxage') ?? cc.get('max-age');
    if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
    return Number(value) * 1000;
  }

  get size(): number {
    return this.entries.size;
  }
}
