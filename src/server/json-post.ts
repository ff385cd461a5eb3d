/**
 * The request almost every GraphQL client sends, a POST of an
 * application/json body with a Content-Length, served straight from
 * node:http's req and res through the SAME Yoga instance: its plugin list,
 * in its order, with the same hook payloads (onRequest, onRequestParse and
 * onRequestParseDone, onParams, the envelop chain of getEnveloped,
 * onExecutionResult, onResultProcess, onResponse). What it leaves out is
 * Yoga's generic machinery around those hooks, which allocated more than
 * the hooks themselves on a proxied request (bench/alloc-cost.ts: 127 KiB
 * per request through Yoga, 81 KiB here):
 *
 * - the fetch-API Request built for every request (its URL, Headers over
 *   req.headers, a body stream over req): here a small object that reads
 *   req.headers as they are and reads the body once, when the parser asks;
 * - the promise-or-value chains Yoga and @whatwg-node/server run every hook
 *   list through (several objects and closures per hook per request): here
 *   plain loops that wait only for a hook that returned a promise.
 *
 * The answer is still a fetch-API Response made by Yoga's own result
 * processor and changed by the same onResponse hooks, and it is written by
 * @whatwg-node/server's own sendNodeResponse (Yoga's dependency, the version
 * Yoga uses), so status, headers and body are those Yoga's path gives; the
 * test test/integration/json-post.test.ts sends the same requests down both
 * paths and compares them.
 *
 * Every other request stays on Yoga (server/http.ts decides with
 * takesJsonPost): GET, multipart uploads, a chunked body (no Content-Length:
 * its size is counted while read, see server/yoga.ts useBodyLimit), an Accept
 * that asks for an event stream or multipart/mixed (subscriptions over SSE or multipart),
 * any other method or media type (refused by Yoga's and the gateway's hooks).
 * A Yoga instance with an `instrumentation` plugin has no lean path at all.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import { GraphQLError, getOperationAST, type ExecutionResult } from 'graphql';
import { createGraphQLError, isAsyncIterable, mapAsyncIterator } from 'graphql-yoga';
import { createCustomAbortControllerSignal, sendNodeResponse } from '@whatwg-node/server';
import type { GatewayYoga } from './yoga.js';
import { withoutStackTraces } from '../errors.js';

/** Anything a hook may hand back: a value or a promise of one. */
type Maybe<T> = T | PromiseLike<T>;

function isThenable<T>(value: Maybe<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** The media type names Yoga's JSON parser matches (server.js isPOSTJsonRequest), with the same test on the Content-Type value. */
function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const first = value.split(',')[0];
  return first === 'application/json' || first!.startsWith('application/json;');
}

const DECIMAL = /^\d+$/;
/** Accept values that may pick a streaming result processor (SSE, multipart/mixed): those stay on Yoga. */
const STREAMING_ACCEPT = /event-stream|multipart/i;

/** Whether a request's Accept may ask for a streamed answer (an event stream, multipart/mixed). */
export function mayStream(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && STREAMING_ACCEPT.test(accept);
}

/**
 * Whether a request to a GraphQL path takes the lean path: a POST of
 * application/json with a whole-number Content-Length, no Transfer-Encoding,
 * and an Accept that cannot ask for a streamed answer.
 */
export function takesJsonPost(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const { headers } = req;
  if (!isJsonContentType(headers['content-type'])) return false;
  const length = headers['content-length'];
  if (length === undefined || !DECIMAL.test(length) || headers['transfer-encoding'] !== undefined) return false;
  return !mayStream(req);
}

/**
 * The request's headers as the fetch-API Headers Yoga builds over
 * req.headers read them (lower-case names; node:http has already joined
 * repeated headers). Read-only: no hook changes a request's headers.
 */
class NodeRequestHeaders {
  constructor(private readonly raw: IncomingMessage['headers']) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  getSetCookie(): string[] {
    const value = this.raw['set-cookie'];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  }
  forEach(callback: (value: string, name: string, headers: this) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }
  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  set(name: string): never {
    throw new TypeError(`The request's headers are read-only on the JSON POST path (set ${name}).`);
  }
  append(name: string): never {
    return this.set(name);
  }
  delete(name: string): never {
    return this.set(name);
  }
}

/** The URL Yoga's request carries: the Host header (or the local address), the path and query as sent. */
function fullUrl(req: IncomingMessage): string {
  const host = req.headers.host ?? (req.socket.localAddress ? `${req.socket.localAddress}:${req.socket.localPort}` : 'localhost');
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return `${protocol}://${host}${req.url ?? '/graphql'}`;
}

/**
 * The part of a fetch-API Request the gateway's hooks and Yoga's JSON parser
 * read: method, url, headers, signal (aborted when the response closes
 * before it finished: the client went away), and the body as text or JSON,
 * read from req once.
 */
class JsonPostRequest {
  readonly method = 'POST';
  readonly url: string;
  readonly headers: NodeRequestHeaders;
  readonly signal: AbortSignal;
  private bodyText?: Promise<string>;

  constructor(private readonly req: IncomingMessage, res: ServerResponse) {
    this.url = fullUrl(req);
    this.headers = new NodeRequestHeaders(req.headers);
    // The abort controller Yoga's Request gets on Node (@whatwg-node/server), which makes a native one only when
    // something needs it: a native AbortController per request was 1.7% of the busy time in bench/'s proxy profile.
    const controller = createCustomAbortControllerSignal();
    this.signal = controller.signal;
    const closed = (): void => {
      if (controller.signal.aborted) return;
      Object.defineProperty(req, 'aborted', { value: true });
      controller.abort(res.errored ?? undefined);
    };
    res.once('error', closed);
    res.once('close', closed);
    res.once('finish', () => res.removeListener('close', closed));
  }

  get bodyUsed(): boolean {
    return this.bodyText !== undefined;
  }

  text(): Promise<string> {
    this.bodyText ??= new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.req.on('data', (chunk: Buffer) => chunks.push(chunk));
      this.req.once('error', reject);
      this.req.once('end', () => resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf-8')));
    });
    return this.bodyText;
  }

  /** As the fetch API's json(), with the message Yoga's Request gives a body that is not JSON. */
  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      if (error instanceof SyntaxError) error.message += `, "${text}" is not valid JSON`;
      throw error;
    }
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(await this.text(), 'utf-8');
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

/** A URL built only when a hook reads it, as Yoga's payloads do. */
function lazyUrl(request: JsonPostRequest): URL {
  let url: URL | undefined;
  return new Proxy({} as URL, {
    get(_target, prop) {
      url ??= new URL(request.url, 'http://localhost');
      return Reflect.get(url, prop, url);
    },
  });
}

/*
 * The hook payloads: Yoga's, with the same fields and setters, typed loosely here (the plugins are typed
 * against Yoga's own). One payload per hook list and request, its fields brought up to date before each hook,
 * where Yoga makes one per hook: no hook keeps its payload past its call.
 */
type AnyHook = (payload: any) => any;
interface Hooks {
  request: AnyHook[];
  requestParse: AnyHook[];
  params: AnyHook[];
  executionResult: AnyHook[];
  resultProcess: AnyHook[];
  response: AnyHook[];
}

interface MaskedErrors {
  errorMessage: string;
  isDev?: boolean;
  maskError(error: unknown, message: string, isDev?: boolean): Error;
}

/** What this path reads of a Yoga instance (besides its plugins): the parts its own pipeline uses. */
interface YogaInternals {
  plugins: Array<Record<string, unknown> | null | undefined | false>;
  instrumentation?: unknown;
  onRequestParseHooks: AnyHook[];
  onParamsHooks: AnyHook[];
  onExecutionResultHooks: AnyHook[];
  onResultProcessHooks: AnyHook[];
  maskedErrorsOpts: MaskedErrors | null;
  logger: { debug(...args: unknown[]): void; error(...args: unknown[]): void };
  fetchAPI: { Response: typeof Response; URL: typeof URL };
  getEnveloped: (context: Record<string, unknown>) => any;
  waitUntil: (promise: Promise<unknown>) => void;
}

export interface JsonPostServer {
  /** Serves one request that takesJsonPost() accepted; settles when the answer is written. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const servers = new WeakMap<GatewayYoga, JsonPostServer | null>();

const writeOutgoing = ServerResponse.prototype.write;

/**
 * res.write for the answer: a string chunk written without an encoding is written as 'utf-8', which is what
 * node:http writes it as anyway. Given no encoding (or 'utf8'), node:http glues the response head to the first
 * string chunk (`head + body`: a copy of the whole answer, 66 KB in the benchmark's federation query, made only
 * to be encoded once more by the socket write); given 'utf-8' it queues the head on its own and the socket writes
 * both in the same writev, as the same bytes (bench/alloc-cost.ts --scenario federation: 640 -> 574 KiB
 * allocated per request; openapi 153 -> 141).
 */
function writeTextAsUtf8(this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (typeof chunk === 'string' && (encoding === undefined || typeof encoding === 'function')) {
    return writeOutgoing.call(this, chunk, 'utf-8', encoding as ((error?: Error | null) => void) | undefined);
  }
  return (writeOutgoing as (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean).call(this, chunk, encoding, callback);
}

/**
 * The lean path of a Yoga instance, built once per instance (one per channel
 * and schema version); undefined when the instance has a plugin with
 * `instrumentation`, whose wrappers only Yoga's own pipeline calls.
 */
export function jsonPostServer(yoga: GatewayYoga): JsonPostServer | undefined {
  let server = servers.get(yoga);
  if (server === undefined) servers.set(yoga, (server = buildJsonPostServer(yoga as unknown as YogaInternals)));
  return server ?? undefined;
}

/** Whether an answer (or one of a batch's answers) carries errors. */
function hasErrors(result: unknown): boolean {
  if (Array.isArray(result)) return result.some(hasErrors);
  return ((result as { errors?: unknown[] } | null)?.errors?.length ?? 0) > 0;
}

/**
 * The errors of a failure outside execution, as Yoga's handleError (error.js)
 * gives them with masking on (the gateway always masks): an aggregate error
 * is its errors, an abort is no error, anything else goes through the mask
 * and, when the mask changed it, is logged.
 */
function errorsOf(error: unknown, masked: MaskedErrors, logger: YogaInternals['logger']): GraphQLError[] {
  const found = new Set<GraphQLError>();
  const add = (one: unknown): void => {
    if (one !== null && typeof one === 'object' && 'errors' in one) {
      for (const inner of (one as { errors: Iterable<unknown> }).errors) add(inner);
      return;
    }
    const { constructor, name } = (one ?? {}) as { constructor?: { name?: string }; name?: string };
    if (typeof one === 'object' && constructor?.name === 'DOMException' && (name === 'AbortError' || name === 'TimeoutError')) {
      logger.debug('Request aborted');
      return;
    }
    const maskedError = masked.maskError(one, masked.errorMessage, masked.isDev);
    if (maskedError !== one) logger.error(one);
    found.add(maskedError instanceof GraphQLError ? maskedError : createGraphQLError(maskedError.message, { originalError: maskedError }));
  };
  add(error);
  return [...found];
}

function buildJsonPostServer(yoga: YogaInternals): JsonPostServer | null {
  if (yoga.instrumentation) return null;
  // A Yoga whose internals are not those read here (another version) keeps its own path; json-post.test.ts,
  // which asserts which requests take this path, fails then.
  const lists = [yoga.plugins, yoga.onRequestParseHooks, yoga.onParamsHooks, yoga.onExecutionResultHooks, yoga.onResultProcessHooks];
  if (!lists.every(Array.isArray) || typeof yoga.getEnveloped !== 'function' || !yoga.fetchAPI?.Response) return null;
  const masked = yoga.maskedErrorsOpts;
  // The gateway always masks errors (server/yoga.ts); an unmasked Yoga keeps its own path.
  if (!masked) return null;
  const { logger, fetchAPI } = yoga;
  const hooks: Hooks = {
    request: [],
    response: [],
    requestParse: yoga.onRequestParseHooks,
    params: yoga.onParamsHooks,
    executionResult: yoga.onExecutionResultHooks,
    resultProcess: yoga.onResultProcessHooks,
  };
  // The server adapter's own lists (@whatwg-node/server): every plugin's onRequest and onResponse, in plugin order.
  for (const plugin of yoga.plugins) {
    if (!plugin) continue;
    if (typeof plugin.onRequest === 'function') hooks.request.push(plugin.onRequest as AnyHook);
    if (typeof plugin.onResponse === 'function') hooks.response.push(plugin.onResponse as AnyHook);
  }
  const errorResult = (error: unknown): ExecutionResult => ({ errors: errorsOf(error, masked, logger) });

  /** Yoga's result processing: the onResultProcess hooks choose a processor by Accept; none fits: 406. */
  const processResult = async (request: JsonPostRequest, result: unknown, serverContext: object): Promise<Response> => {
    let processor: ((result: unknown, api: unknown, mediaType: string) => Maybe<Response>) | undefined;
    let mediaType = '*/*';
    const acceptableMediaTypes: string[] = [];
    const payload = {
      request,
      acceptableMediaTypes,
      result,
      setResult(next: unknown) {
        result = next;
      },
      resultProcessor: processor,
      setResultProcessor(next: typeof processor, accepted: string) {
        processor = next;
        mediaType = accepted;
      },
      serverContext,
    };
    for (const hook of hooks.resultProcess) {
      payload.result = result;
      payload.resultProcessor = processor;
      const done = hook(payload);
      if (isThenable(done)) await done;
    }
    if (!processor) {
      return new fetchAPI.Response(null, { status: 406, statusText: 'Not Acceptable', headers: { accept: acceptableMediaTypes.join('; charset=utf-8, ') } });
    }
    // Yoga's processor copies every error of the answer (without its internals) as it writes it; the copies'
    // stacks are never read (errors.ts withoutStackTraces).
    const chosen = processor;
    return hasErrors(result) ? withoutStackTraces(() => chosen(result, fetchAPI, mediaType)) : chosen(result, fetchAPI, mediaType);
  };

  /** Yoga's handleParams: the envelop chain (parse, validate, context, execute) for one operation, failures as results. */
  const execute = async (request: JsonPostRequest, params: any, context: Record<string, unknown>): Promise<unknown> => {
    context.request = request;
    context.params = params;
    let result: unknown;
    try {
      const enveloped = yoga.getEnveloped(context);
      const document = enveloped.parse(params.query);
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return { errors };
      const built = enveloped.contextFactory();
      const contextValue = isThenable(built) ? await built : built;
      const operation = getOperationAST(document, params.operationName);
      const run = operation?.operation === 'subscription' ? enveloped.subscribe : enveloped.execute;
      const ran = run({ schema: enveloped.schema, document, contextValue, variableValues: params.variables, operationName: params.operationName });
      result = isThenable(ran) ? await ran : ran;
    } catch (error) {
      return errorResult(error);
    }
    if (!isAsyncIterable(result)) return result;
    return mapAsyncIterator(
      result,
      (value) => value,
      (error: Error) => {
        if (error.name === 'AbortError') throw error;
        return errorResult(error);
      },
    );
  };

  /** Yoga's getResultForParams: the onParams hooks, the operation (or the result a hook set), the onExecutionResult hooks. */
  const resultFor = async (request: JsonPostRequest, params: any, context: Record<string, unknown>): Promise<unknown> => {
    let result: unknown;
    let handler: (payload: { request: JsonPostRequest; params: unknown; context: Record<string, unknown> }) => Maybe<unknown> = (payload) =>
      execute(payload.request, payload.params, payload.context);
    const payload = {
      params,
      request,
      setParams(next: unknown) {
        params = next;
      },
      paramsHandler: handler,
      setParamsHandler(next: typeof handler) {
        handler = next;
      },
      setResult(next: unknown) {
        result = next;
      },
      fetchAPI,
      context,
    };
    for (const hook of hooks.params) {
      payload.params = params;
      payload.paramsHandler = handler;
      const done = hook(payload);
      if (isThenable(done)) await done;
    }
    if (!result) {
      const ran = handler({ request, params, context });
      result = isThenable(ran) ? await ran : ran;
    }
    if (hooks.executionResult.length === 0) return result;
    const done = {
      result,
      setResult(next: unknown) {
        result = next;
      },
      request,
      context,
    };
    for (const hook of hooks.executionResult) {
      done.result = result;
      const ran = hook(done);
      if (isThenable(ran)) await ran;
    }
    return result;
  };

  /** Yoga's handle: parse the request (onRequestParse), run the operation(s), process the result; a failure is an errors result. */
  const handle = async (request: JsonPostRequest, serverContext: Record<string, unknown>, url: URL): Promise<Response> => {
    try {
      let parser: ((request: JsonPostRequest) => Maybe<unknown>) | undefined;
      let early: Response | undefined;
      let ended = false;
      const parseDone: AnyHook[] = [];
      const payload = {
        request,
        url,
        requestParser: parser,
        serverContext,
        setRequestParser(next: typeof parser) {
          parser = next;
        },
        endResponse(response: Response) {
          early = response;
          ended = true;
        },
        fetchAPI,
      };
      for (const hook of hooks.requestParse) {
        payload.requestParser = parser;
        let done = hook(payload);
        if (isThenable(done)) done = await done;
        if (done?.onRequestParseDone) parseDone.push(done.onRequestParseDone);
        if (ended) break;
      }
      if (early) return early;
      if (!parser) return new fetchAPI.Response(null, { status: 415, statusText: 'Unsupported Media Type' });
      const parsedOrResponse = parser(request);
      let parsed = isThenable(parsedOrResponse) ? await parsedOrResponse : parsedOrResponse;
      if (parsed instanceof fetchAPI.Response) return parsed;
      for (const hook of parseDone) {
        const done = hook({
          requestParserResult: parsed,
          setRequestParserResult(next: unknown) {
            parsed = next;
          },
        });
        if (isThenable(done)) await done;
      }
      const result = Array.isArray(parsed)
        ? await Promise.all(
            parsed.map((params) =>
              Promise.resolve()
                .then(() => resultFor(request, params, Object.create(serverContext) as Record<string, unknown>))
                .catch(errorResult),
            ),
          )
        : await resultFor(request, parsed, serverContext);
      return await processResult(request, result, serverContext);
    } catch (error) {
      return processResult(request, errorResult(error), serverContext);
    }
  };

  /** The server adapter's handleRequest: onRequest hooks (one may answer), the request, then onResponse hooks. */
  const handleRequest = async (request: JsonPostRequest, serverContext: Record<string, unknown>): Promise<Response> => {
    // One URL (built only if read) for the request's hooks and its parse hooks.
    const url = lazyUrl(request);
    let requestHandler: (request: JsonPostRequest, serverContext: Record<string, unknown>, url: URL) => Maybe<Response> = handle;
    let response: Response | undefined;
    let stop = false;
    const onRequest = {
      request,
      setRequest() {
        throw new TypeError('setRequest is not supported on the JSON POST path (server/json-post.ts)');
      },
      serverContext,
      fetchAPI,
      url,
      requestHandler,
      setRequestHandler(next: typeof requestHandler) {
        requestHandler = next;
      },
      endResponse(next: Response | undefined) {
        response = next;
        if (next) stop = true;
      },
    };
    for (const hook of hooks.request) {
      onRequest.requestHandler = requestHandler;
      const done = hook(onRequest);
      if (isThenable(done)) await done;
      if (stop) break;
    }
    if (!response) {
      const handled = requestHandler(request, serverContext, url);
      response = isThenable(handled) ? await handled : handled;
    }
    const onResponse = {
      request,
      response,
      serverContext,
      setResponse(next: Response) {
        response = next;
      },
      fetchAPI,
    };
    for (const hook of hooks.response) {
      onResponse.response = response;
      const done = hook(onResponse);
      if (isThenable(done)) await done;
    }
    return response;
  };

  return {
    async serve(req, res) {
      const serverContext: Record<string, unknown> = { req, res, waitUntil: yoga.waitUntil };
      let response: Response;
      try {
        response = await handleRequest(new JsonPostRequest(req, res), serverContext);
      } catch (error) {
        // As the server adapter answers a hook that threw outside Yoga's own error handling.
        const failure = error as { stack?: string; message?: string; status?: number };
        response = new fetchAPI.Response(failure.stack || failure.message || String(error), { status: failure.status || 500 });
      }
      try {
        res.write = writeTextAsUtf8;
        await sendNodeResponse(response, res, req, true);
      } catch (error) {
        console.error(`Unexpected error while handling request: ${(error as Error).message || error}`);
      }
    },
  };
}
