/**
 * Binary responses as URL fields. Next to `getProductImage: Base64` (the
 * bytes inline), `binary.url: true` adds `getProductImageUrl: String`: a link
 * to the same call, served by the gateway, that a browser can put in an
 * `<img src>` and that never puts the bytes in the GraphQL response.
 *
 * The link is a capability, like a presigned S3 URL: `<endpoint>?download=
 * <subgraph>.<payload>.<signature>`, where the payload names the operation,
 * its arguments and an expiry, and the signature is HMAC-SHA256 over the
 * subgraph name and the payload with `binary.secret`. Whoever holds the link
 * may fetch those bytes until it expires, and nothing else: the operation and
 * arguments cannot be changed without the secret, and only GET operations
 * with a binary response get links. The field is resolved like any other, so
 * who may obtain a link is decided by the gateway's policy on that field.
 *
 * Serving a link makes the same upstream call the Base64 field makes (same
 * pool, timeout, size cap, header forwarding from the download request
 * itself). The bytes are served with `X-Content-Type-Options: nosniff` and a
 * sandboxing Content-Security-Policy: they come from an upstream but are
 * served from the gateway's origin, where an SVG or HTML answer must not run.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GraphQLString, type GraphQLFieldConfig } from 'graphql';
import { ERRORS, errorBody, isTesseraError, type ErrorCode } from '../../errors.js';
import { createScope } from '../../request-scope.js';
import type { DownloadRequest, DownloadResponse } from '../types.js';
import type { Operation } from './operations.js';
import type { BuildContext } from './schema.js';

/** The query parameter carrying a link on a channel's GraphQL path. */
export const DOWNLOAD_PARAMETER = 'download';

interface Payload {
  /** Operation: the field name of its Query field. */
  o: string;
  /** Arguments (BigInts as decimal strings). */
  a: Record<string, unknown>;
  /** Expiry, epoch seconds. */
  e: number;
}

function jsonError(status: number, code: ErrorCode, message: string): DownloadResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: errorBody(code, message),
  };
}

/** A media type as a header value, or octet-stream when the upstream's is missing or malformed. */
function safeContentType(value: unknown): string {
  const text = Array.isArray(value) ? value[0] : value;
  return typeof text === 'string' && /^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=("[^"\r\n]*"|[\w.+-]+))*$/.test(text.trim()) ? text.trim() : 'application/octet-stream';
}

export class Downloads {
  private readonly secret: Buffer;
  private readonly byField = new Map<string, Operation>();

  constructor(
    private readonly ctx: BuildContext,
    /** The clock (tests pass their own). */
    private readonly now: () => number = Date.now,
  ) {
    const { secret } = ctx.descriptor.binary;
    // Without a configured secret, links work on this instance only, until it restarts.
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(`${this.ctx.descriptor.name}.${payload}`).digest('base64url');
  }

  /** The link token (`<payload>.<signature>`) for a call of `op` with these arguments. */
  token(op: Operation, args: Record<string, unknown>): string {
    const body: Payload = { o: op.fieldName, a: args, e: Math.floor(this.now() / 1000) + Math.ceil(this.ctx.descriptor.binary.ttl / 1000) };
    const payload = Buffer.from(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The call a token stands for, when its signature holds and it has not expired. */
  verify(token: string): { op: Operation; args: Record<string, unknown>; expires: number } | undefined {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let body: Payload;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
    } catch {
      return undefined;
    }
    const op = this.byField.get(body.o);
    if (!op || typeof body.e !== 'number' || body.e * 1000 <= this.now() || body.a === null || typeof body.a !== 'object') return undefined;
    return { op, args: body.a, expires: body.e };
  }

  /** The `<field>Url` field for a GET operation with a binary response. */
  field(op: Operation): GraphQLFieldConfig<unknown, unknown> {
    this.byField.set(op.fieldName, op);
    const name = this.ctx.descriptor.name;
    return {
      type: GraphQLString,
      args: op.args,
      description: `A link to the bytes ${op.fieldName} returns, served by the gateway; valid for ${Math.round(this.ctx.descriptor.binary.ttl / 1000)} s.`,
      deprecationReason: op.deprecated ? 'Deprecated in the OpenAPI document.' : undefined,
      resolve: (_source, args, context) => {
        // A path-absolute link on the endpoint the client called (so it works behind any host name).
        const requestUrl = (context as { request?: { url?: string } } | undefined)?.request?.url;
        const path = requestUrl ? new URL(requestUrl).pathname : '';
        return `${path}?${DOWNLOAD_PARAMETER}=${name}.${this.token(op, args as Record<string, unknown>)}`;
      },
    };
  }

  /** Serves a link: the upstream's bytes, or a JSON error with a catalog code. */
  async serve(token: string, request: DownloadRequest): Promise<DownloadResponse> {
    const call = this.verify(token);
    if (!call) return jsonError(404, 'NOT_FOUND', 'No download at this link: it is invalid or has expired.');
    const { descriptor, client } = this.ctx;
    // One call under the subgraph's own timeout; the download request's headers are forwarded per `headers.forward`.
    const scope = createScope({ deadlineMs: descriptor.timeout, signal: request.signal, headers: request.headers });
    try {
      const result = await client.call(call.op.compiled, call.args, scope);
      const body = Buffer.isBuffer(result.value) ? result.value : Buffer.from(String(result.value));
      const maxAge = Math.max(0, call.expires - Math.floor(this.now() / 1000));
      return {
        status: 200,
        headers: {
          'content-type': safeContentType(result.headers['content-type']),
          'content-length': String(body.length),
          'cache-control': `private, max-age=${maxAge}`,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
        },
        body,
      };
    } catch (error) {
      if (!isTesseraError(error)) throw error;
      const upstream = (error.extensions.upstream as { status?: number } | undefined)?.status;
      if (upstream === 404) return jsonError(404, 'NOT_FOUND', `Subgraph "${descriptor.name}" has no such file (HTTP 404).`);
      const code = error.code as ErrorCode;
      return jsonError(ERRORS[code]?.status ?? 502, code, error.message);
    }
  }
}

/** Adds `<field>Url` for every GET operation with a binary response, when the descriptor asks for links. */
export function addDownloadFields(ctx: BuildContext): Downloads | undefined {
  if (!ctx.descriptor.binary.url) return undefined;
  const downloads = new Downloads(ctx);
  let any = false;
  for (const op of ctx.operations) {
    if (op.root !== 'Query' || op.compiled.response.kind !== 'binary') continue;
    const name = `${op.fieldName}Url`;
    if (ctx.query[name]) {
      ctx.problems.push(`binary.url: Query.${name} (the link field of ${op.fieldName}) is already a field`);
      continue;
    }
    ctx.query[name] = downloads.field(op);
    any = true;
  }
  return any ? downloads : undefined;
}
