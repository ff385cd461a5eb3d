/**
 * Running one REST operation: arguments in, decoded response out, through the
 * subgraph's HttpUpstream (its undici pools, timeout, retries). Everything a
 * call needs (path template, parameter serializers, how to decode the
 * response) was compiled at load time into a CompiledOperation; a call only
 * runs those functions.
 *
 * Identical GETs within one GraphQL request are sent once: each carries a
 * memo key (method, path and query, and the header parameters that vary per
 * call) for the transport's per-request memo (transport/stages/memo.ts).
 */
import type { Descriptor } from '../../config/descriptor.js';
import type { OpenapiDescriptor } from '../../config/openapi.js';
import { TesseraError } from '../../errors.js';
import { upstreamHeaders } from '../../transport/headers.js';
import type { HttpResult, HttpUpstream } from '../../transport/http.js';
import { RESPONSE_HEADERS_KEY, type RequestScope } from '../../request-scope.js';
import { parseUpstreamJson } from '../json.js';
import type { Mode } from '../types.js';
import { httpError, invalidResponse } from './errors.js';
import { publishAnswerError } from '../errors.js';
import { parseInt64Json, stringifyJson } from './int64.js';
import { appendQuery, type Serializer } from './params.js';
import { isUploadValue } from './scalars.js';

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'binary';
export type ResponseKind = 'json' | 'text' | 'binary' | 'none';

export interface CompiledParam {
  /** Name in the document. */
  name: string;
  /** The GraphQL argument that carries it. */
  arg: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  serialize: Serializer;
  allowReserved: boolean;
  /** Converts a GraphQL input value to the document's property names (only when they differ). */
  convert?: (value: unknown) => unknown;
}

export interface CompiledOperation {
  /** `getProduct` or `GET /products/{id}`, for messages. */
  label: string;
  /** Method and path template as the document writes it (`GET /products/{id}`): the `operation` of per-operation metrics. */
  endpoint: string;
  method: string;
  /** The path template split into literal text and parameters, in order. */
  pathParts: Array<string | CompiledParam>;
  /** Every parameter by its GraphQL argument name. */
  params: Map<string, CompiledParam>;
  body?: {
    arg: string;
    kind: BodyKind;
    mediaType: string;
    convert?: (value: unknown) => unknown;
  };
  /**
   * `int64`: the response type reaches an Int64 field, so integers beyond 2^53
   * are parsed exactly (int64.ts); set once the schema is built.
   */
  response: { kind: ResponseKind; mediaType?: string; int64?: boolean };
  /** Safe to send twice and to share between identical calls of one request. */
  safe: boolean;
}

export interface RestResult {
  status: number;
  headers: HttpResult['headers'];
  value: unknown;
}

function valueOf(param: CompiledParam, args: Record<string, unknown>): unknown {
  const value = args[param.arg];
  return param.convert && value !== undefined && value !== null ? param.convert(value) : value;
}

/** A JSON media type: `application/json`, `application/problem+json`, `text/json`... */
const JSON_MEDIA_TYPE = /[/+]json\b|^application\/json/i;
/** With no content type at all, a body that starts like JSON is taken as JSON. */
const LOOKS_LIKE_JSON = /^\s*[[{"]/;

const ACCEPT: Record<ResponseKind, string> = {
  json: 'application/json',
  text: 'text/plain, */*;q=0.5',
  binary: '*/*',
  none: 'application/json, */*;q=0.5',
};

export class RestClient {
  private readonly forwardResponse: string[];
  /** Origin and base path of each instance, for next-page URLs (parsed once, not per page). */
  private readonly instanceBases: Array<{ origin: string; path: string }>;
  /** Each paginated operation's path template as a pattern, made on its first next-page URL. */
  private readonly templates = new WeakMap<CompiledOperation, RegExp>();

  constructor(
    readonly descriptor: OpenapiDescriptor & Descriptor,
    readonly upstream: HttpUpstream,
    readonly mode: Mode,
  ) {
    this.forwardResponse = descriptor.responseHeaders.forward.filter((h) => h !== 'set-cookie');
    this.instanceBases = descriptor.upstreams.map((instance) => {
      const base = new URL(instance.url);
      return { origin: base.origin, path: base.pathname.replace(/\/$/, '') };
    });
  }

  /**
   * Path and query for a call, built from the compiled template; the header
   * parameters' values (`headers`, still to pass the header rule of
   * transport/headers.ts) and the Cookie header the `in: cookie` parameters
   * make (each value percent-encoded, so one argument is one cookie of the
   * name the document declares). A path segment that parameters wrote and
   * that is `.`, `..` or empty, in any percent-encoding, is refused before
   * any call: WHATWG URL parsers (Node's `new URL()`) and nginx turn `%2E%2E`
   * back into `..`, and nginx merges an empty segment away, so the upstream
   * would serve another path.
   */
  target(op: CompiledOperation, args: Record<string, unknown>): { path: string; headers: Record<string, string>; cookie?: string } {
    let path = '';
    // The segment being written and the parameters that wrote into it.
    let segment = '';
    let writers: string[] = [];
    for (const part of op.pathParts) {
      if (typeof part === 'string') {
        let from = 0;
        for (let slash = part.indexOf('/'); slash !== -1; slash = part.indexOf('/', from)) {
          segment += part.slice(from, slash);
          if (writers.length > 0) this.checkSegment(op, segment, writers);
          segment = '';
          writers = [];
          from = slash + 1;
        }
        segment += part.slice(from);
        path += part;
      } else {
        // Serializers percent-encode `/`, so a parameter never ends a segment.
        const text = (part.serialize(valueOf(part, args)) as string | undefined) ?? '';
        segment += text;
        writers.push(part.arg);
        path += text;
      }
    }
    if (writers.length > 0) this.checkSegment(op, segment, writers);
    let query = '';
    const headers: Record<string, string> = {};
    let cookie = '';
    for (const param of op.params.values()) {
      if (param.in === 'path') continue;
      const value = valueOf(param, args);
      if (value === undefined || value === null) continue;
      const out = param.serialize(value);
      if (out === undefined) continue;
      if (param.in === 'query') query = appendQuery(query, out as Array<[string, string]>, param.allowReserved);
      else if (param.in === 'header') headers[param.name.toLowerCase()] = out as string;
      else cookie += `${cookie ? '; ' : ''}${out as string}`;
    }
    return { path: path + query, headers, cookie: cookie || undefined };
  }

  /** Runs an operation with its GraphQL arguments. */
  async call(op: CompiledOperation, args: Record<string, unknown>, scope: RequestScope): Promise<RestResult> {
    const { path, headers: paramHeaders, cookie } = this.target(op, args);
    const body = op.body ? await this.encodeBody(op, args[op.body.arg]) : undefined;
    const base: Record<string, string> = { accept: ACCEPT[op.response.kind] };
    if (cookie) base.cookie = cookie;
    if (body) base['content-type'] = body.contentType;
    const headers = upstreamHeaders(scope, this.descriptor.headers, base, paramHeaders);

    // A safe call without a body is shared by the identical calls of one request.
    const memoKey = op.safe && !body ? `${op.method} ${path}${cookie || Object.keys(paramHeaders).length ? ` ${JSON.stringify([paramHeaders, cookie])}` : ''}` : undefined;
    const result = await this.upstream.request({ method: op.method, path, headers, body: body?.data, idempotent: op.safe, memoKey, endpoint: op.endpoint, scope });
    this.collectHeaders(result, scope);
    return { status: result.status, headers: result.headers, value: this.decode(op, result) };
  }

  private checkSegment(op: CompiledOperation, segment: string, writers: string[]): void {
    if (!climbs(segment)) return;
    const names = writers.map((a) => `"${a}"`).join(', ');
    throw new TesseraError(
      'BAD_USER_INPUT',
      `Argument ${names} of ${op.label} (subgraph "${this.descriptor.name}"): a path segment cannot be ".", ".." or empty, in any percent-encoding; the upstream would serve another path`,
      { extensions: { subgraph: this.descriptor.name, arguments: writers } },
    );
  }

  /**
   * The path (below the upstream's URL) of a next-page URL an upstream gave
   * (a `next` property or a `Link` header), checked: it must be on one of the
   * descriptor's own instances (an absolute URL with its origin and base
   * path, or a path-absolute reference under the base path, RFC 3986 5.2)
   * and be a GET of this same operation, matching its path template. An
   * upstream must not make the gateway call another host, or an endpoint its
   * document does not declare, with the subgraph's credentials.
   */
  nextPage(op: CompiledOperation, url: string): string {
    const path = this.relativePath(url);
    if (path === undefined) throw invalidResponse(this.descriptor, op.label, 'the next-page URL points outside the upstream');
    if (!this.isOwnPath(op, path)) {
      throw invalidResponse(this.descriptor, op.label, `the next-page URL is not a GET of this operation's path in the OpenAPI document`);
    }
    return path;
  }

  /**
   * Follows a next-page path that nextPage returned (and a sealed cursor
   * kept); checked again, so a cursor can never be the way to another path.
   */
  async follow(op: CompiledOperation, path: string, scope: RequestScope): Promise<RestResult> {
    if (!this.isOwnPath(op, path)) {
      throw invalidResponse(this.descriptor, op.label, `the next-page URL is not a GET of this operation's path in the OpenAPI document`);
    }
    const headers = upstreamHeaders(scope, this.descriptor.headers, { accept: ACCEPT[op.response.kind] });
    const result = await this.upstream.request({ method: 'GET', path, headers, idempotent: true, endpoint: op.endpoint, scope });
    this.collectHeaders(result, scope);
    return { status: result.status, headers: result.headers, value: this.decode(op, result) };
  }

  /** Path and query below an instance's base path; undefined when the URL is not on an instance. */
  private relativePath(url: string): string | undefined {
    // `//host/...` is a network-path reference: another host.
    const pathAbsolute = url.startsWith('/') && !url.startsWith('//');
    let parsed: URL;
    try {
      // Parsing also removes dot segments, `%2E%2E` included, as the upstream would.
      parsed = new URL(url, this.instanceBases[0]!.origin);
    } catch {
      return undefined;
    }
    for (const base of this.instanceBases) {
      if (!pathAbsolute && parsed.origin !== base.origin) continue;
      if (parsed.pathname === base.path || parsed.pathname.startsWith(`${base.path}/`)) return parsed.pathname.slice(base.path.length) + parsed.search;
    }
    return undefined;
  }

  /** True when a GET of `path` (with its query) is this GET operation: its template matches, with no dot segment where a parameter goes. */
  private isOwnPath(op: CompiledOperation, path: string): boolean {
    if (op.method !== 'GET') return false;
    let template = this.templates.get(op);
    if (!template) {
      const source = op.pathParts.map((p) => (typeof p === 'string' ? p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '([^/?#]+)')).join('');
      template = new RegExp(`^${source}(?:\\?[^#]*)?$`);
      this.templates.set(op, template);
    }
    const match = template.exec(path);
    return match !== null && match.slice(1).every((segment) => !climbs(segment));
  }

  private collectHeaders(result: HttpResult, scope: RequestScope): void {
    const setCookie = this.descriptor.responseHeaders.setCookie;
    if (this.forwardResponse.length === 0 && !setCookie) return;
    let out = scope.memo.get(RESPONSE_HEADERS_KEY) as Headers | undefined;
    if (!out) {
      out = new Headers();
      scope.memo.set(RESPONSE_HEADERS_KEY, out);
    }
    for (const name of this.forwardResponse) {
      const value = result.headers[name];
      if (typeof value === 'string') out.set(name, value);
      else if (Array.isArray(value)) out.set(name, value.join(', '));
    }
    if (setCookie) {
      const cookies = result.headers['set-cookie'];
      for (const c of Array.isArray(cookies) ? cookies : cookies ? [cookies] : []) out.append('set-cookie', c);
    }
  }

  private decode(op: CompiledOperation, result: HttpResult): unknown {
    try {
      return this.decodeBody(op, result);
    } catch (error) {
      // A non-2xx status is counted by its status already (tessera:upstream); a 2xx with a body that cannot be used is not.
      if (result.status >= 200 && result.status < 300) publishAnswerError(this.descriptor.name, result.instance, 'other');
      throw error;
    }
  }

  private decodeBody(op: CompiledOperation, result: HttpResult): unknown {
    const contentType = String(result.headers['content-type'] ?? '');
    if (result.status < 200 || result.status >= 300) {
      throw httpError(this.descriptor, this.mode, op.label, result.status, contentType, result.body, this.descriptor.errorBodyLimit);
    }
    switch (op.response.kind) {
      case 'none':
        return true;
      case 'text':
        return result.body.toString('utf8');
      case 'binary':
        return result.body;
      case 'json': {
        if (result.body.length === 0) return null;
        const text = result.body.toString('utf8');
        if (!JSON_MEDIA_TYPE.test(contentType) && !(contentType === '' && LOOKS_LIKE_JSON.test(text))) {
          throw invalidResponse(this.descriptor, op.label, `HTTP ${result.status} with content type "${contentType || 'none'}" (expected JSON)`);
        }
        try {
          return op.response.int64 ? parseInt64Json(text) : parseUpstreamJson(text);
        } catch (error) {
          throw invalidResponse(this.descriptor, op.label, `HTTP ${result.status}, body is not valid JSON (${(error as Error).message})`);
        }
      }
    }
  }

  private async encodeBody(op: CompiledOperation, raw: unknown): Promise<{ data: string | Buffer; contentType: string } | undefined> {
    const spec = op.body!;
    if (raw === undefined) return undefined;
    const value = spec.convert ? spec.convert(raw) : raw;
    switch (spec.kind) {
      case 'json':
        return { data: stringifyJson(value), contentType: spec.mediaType };
      case 'text':
        return { data: String(value), contentType: spec.mediaType };
      case 'binary': {
        const data = isUploadValue(value) ? Buffer.from(await value.arrayBuffer()) : Buffer.from(String(value));
        return { data, contentType: isUploadValue(value) && value.type ? value.type : spec.mediaType };
      }
      case 'form': {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
          if (v === undefined || v === null) continue;
          if (Array.isArray(v)) for (const item of v) form.append(k, typeof item === 'object' ? stringifyJson(item) : String(item));
          else form.append(k, typeof v === 'object' ? stringifyJson(v) : String(v));
        }
        return { data: form.toString(), contentType: 'application/x-www-form-urlencoded' };
      }
      case 'multipart':
        return multipart((value ?? {}) as Record<string, unknown>);
    }
  }
}

/**
 * True for a path segment that is `.`, `..` or empty once percent-decoded, as
 * often as it decodes (a server that decodes twice sees `%252E%252E` as `..`).
 */
export function climbs(segment: string): boolean {
  let text = segment;
  for (;;) {
    if (text === '' || text === '.' || text === '..') return true;
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      return false;
    }
    if (decoded === text) return false;
    text = decoded;
  }
}

/** A multipart/form-data body (RFC 7578): files as binary parts, objects as JSON parts, everything else as text. */
async function multipart(fields: Record<string, unknown>): Promise<{ data: Buffer; contentType: string }> {
  const boundary = `----tessera${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const chunks: Buffer[] = [];
  const quote = (s: string): string => s.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
  const part = async (name: string, value: unknown): Promise<void> => {
    if (value === undefined || value === null) return;
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"`;
    let data: Buffer;
    if (isUploadValue(value)) {
      head += `; filename="${quote(value.name ?? 'file')}"\r\nContent-Type: ${value.type || 'application/octet-stream'}`;
      data = Buffer.from(await value.arrayBuffer());
    } else if (typeof value === 'object') {
      head += '\r\nContent-Type: application/json';
      data = Buffer.from(stringifyJson(value));
    } else {
      data = Buffer.from(String(value));
    }
    chunks.push(Buffer.from(`${head}\r\n\r\n`), data, Buffer.from('\r\n'));
  };
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value) && value.some(isUploadValue)) for (const item of value) await part(name, item);
    else await part(name, value);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { data: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
