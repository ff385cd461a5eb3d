/**
 * Pagination cursors, sealed. A connection's cursor says which upstream page
 * to ask for next (an offset, a page number and size, the upstream's own
 * cursor, or the path of a next-page URL) and how many of its items to skip.
 * Clients only ever see it sealed with AES-256-GCM:
 *
 *   base64url( version(1) | nonce(12) | ciphertext | tag(16) )
 *
 * Encrypted rather than only signed, because what is inside belongs to the
 * upstream: its paths and its own cursors (which often encode row ids) are
 * not for clients to read. The additional authenticated data is the binding:
 * subgraph, field, page style and the field's other (non-paging) arguments,
 * so a cursor opens only on the connection and arguments it was issued for.
 * An edited, forged or foreign cursor fails the tag check; nothing in it is
 * read before that.
 *
 * The nonce is synthetic (as in AES-GCM-SIV, RFC 8452): an HMAC of the
 * binding and the position under a second key. The same position on the same
 * binding seals to the same cursor (an edge's cursor equals the endCursor
 * naming the same place, and repeated answers are identical), and two
 * different messages never share a nonce, short of an HMAC collision.
 *
 * The key comes from `security.cursors.secret` (HKDF-SHA256), shared by every
 * replica, or is random for this process (see docs/security.md).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** Where a page starts upstream: an offset, a page number and size, the upstream's cursor, or a next-page path. */
export type PageRef = { o: number } | { p: number; z: number } | { c: string | null } | { u: string | null };

export interface Position {
  r: PageRef;
  /** Items of that page already returned. */
  s: number;
}

const VERSION = 1;
const NONCE = 12;
const TAG = 16;

/** The 32-byte cursor key: derived from a configured secret, or random (valid in this process only). */
export function cursorKey(secret?: string): Buffer {
  if (secret === undefined) return randomBytes(32);
  return Buffer.from(hkdfSync('sha256', secret, 'tessera', 'pagination cursors v1', 32));
}

export class CursorSeal {
  private readonly key: Buffer;
  private readonly nonceKey: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new TypeError(`a cursor key is 32 bytes, got ${key.length}`);
    this.key = Buffer.from(hkdfSync('sha256', key, '', 'encryption', 32));
    this.nonceKey = Buffer.from(hkdfSync('sha256', key, '', 'nonce', 32));
  }

  seal(position: Position, binding: string): string {
    const text = JSON.stringify(position);
    const nonce = createHmac('sha256', this.nonceKey).update(binding).update('\0').update(text).digest().subarray(0, NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(binding));
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The position sealed in `cursor` for this binding, or undefined (not ours, edited, or another binding). */
  open(cursor: string, binding: string): Position | undefined {
    const data = Buffer.from(cursor, 'base64url');
    if (data.length <= 1 + NONCE + TAG || data[0] !== VERSION || data.toString('base64url') !== cursor) return undefined;
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(1, 1 + NONCE), { authTagLength: TAG });
      decipher.setAAD(Buffer.from(binding));
      decipher.setAuthTag(data.subarray(data.length - TAG));
      text = Buffer.concat([decipher.update(data.subarray(1 + NONCE, data.length - TAG)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as Position;
    } catch {
      return undefined;
    }
  }
}

/**
 * Arguments as one string, the same whatever order their keys came in:
 * object keys sorted, BigInts as decimal text (graphql-js builds input
 * objects in definition order already; this does not rely on it).
 */
export function canonicalArguments(args: Record<string, unknown>): string {
  return JSON.stringify(args, (_key, value: unknown) => {
    if (typeof value === 'bigint') return `${value}n`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
    return sorted;
  });
}
