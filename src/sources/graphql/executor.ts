/**
 * Runs GraphQL operations against a GraphQL upstream over HTTP (POST,
 * GraphQL-over-HTTP), through the shared HttpUpstream (pool, timeout, retry).
 * An answer carrying `errors`, or one with a success status that is not a
 * GraphQL response, is published on `tessera:upstream:answer-error` (free
 * when nobody listens): the call succeeded as HTTP, so its own
 * `tessera:upstream` event says OK, and metrics count these apart.
 */
import type { ExecutionRequest, ExecutionResult, Executor } from '@graphql-tools/utils';
import { print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import type { Descriptor } from '../../config/descriptor.js';
import { TesseraError } from '../../errors.js';
import { upstreamHeaders } from '../../transport/headers.js';
import type { HttpUpstream } from '../../transport/http.js';
import { scopeOf } from '../../request-scope.js';
import { publishAnswerError, upstreamError } from '../errors.js';
import { parseUpstreamJson } from '../json.js';
import { parseSse } from './sse.js';
import type { Mode } from '../types.js';

const BASE_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json;q=0.9',
};

/** Delegation builds a new document per request, but print() is not free; printed text is memoised per document. */
const printed = new WeakMap<DocumentNode, string>();

function printOnce(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

type Payload = { data?: unknown; errors?: GraphQLFormattedError[] };

const ANSWER_TEXT = Symbol('the upstream answer as JSON text');

/**
 * The JSON text an answer of this executor was parsed from, when the answer
 * was `data` alone (not a subscription event's): the direct route may send
 * it on as it is when its data reaches the client unchanged
 * (execution/passthrough.ts). A symbol key: JSON and graphql-js never see it.
 */
export function answerTextOf(result: ExecutionResult): string | undefined {
  return (result as { [ANSWER_TEXT]?: string })[ANSWER_TEXT];
}

/** A payload with no key but `data`. */
function dataAlone(payload: Payload): boolean {
  for (const key in payload) if (key !== 'data') return false;
  return true;
}

/** The answer, noting the text it was parsed from (answerTextOf). */
export function withAnswerText(answer: ExecutionResult, text: string): ExecutionResult {
  (answer as { [ANSWER_TEXT]?: string })[ANSWER_TEXT] = text;
  return answer;
}

export function createGraphqlExecutor(descriptor: Descriptor, upstream: HttpUpstream, mode: Mode): Executor {
  const name = descriptor.name;
  const badResponse = (detail: string): TesseraError =>
    new TesseraError('SOURCE_BAD_RESPONSE', `Invalid response from subgraph "${name}": ${detail}`, { extensions: { subgraph: name } });
  const bodyOf = (request: ExecutionRequest): string =>
    JSON.stringify({ query: printOnce(request.document), variables: request.variables, operationName: request.operationName });
  const parse = (text: string, what: string): Payload => {
    try {
      return parseUpstreamJson(text) as Payload;
    } catch (error) {
      throw badResponse(`${what} is not valid JSON (${(error as Error).message})`);
    }
  };
  /** The upstream's answer as the stitcher takes it, its errors masked per the descriptor. */
  const resultOf = (payload: Payload): ExecutionResult => {
    const out: ExecutionResult = { data: (payload.data ?? null) as ExecutionResult['data'] };
    if (Array.isArray(payload.errors) && payload.errors.length > 0) out.errors = payload.errors.map((e) => upstreamError(e, descriptor, mode));
    return out;
  };

  /** A subscription, proxied over GraphQL-over-SSE; cancelled upstream when the client goes. */
  async function* subscribe(request: ExecutionRequest): AsyncGenerator<ExecutionResult> {
    const scope = scopeOf(request.context);
    const stream = await upstream.stream({
      method: 'POST',
      path: '',
      headers: upstreamHeaders(scope, descriptor.headers, { 'content-type': 'application/json', accept: 'text/event-stream' }),
      body: bodyOf(request),
      idempotent: false,
      scope,
    });
    try {
      const contentType = String(stream.headers['content-type'] ?? '');
      if (stream.status !== 200 || !contentType.startsWith('text/event-stream')) {
        throw badResponse(`subscription answered HTTP ${stream.status} with content type "${contentType || 'none'}" (expected text/event-stream)`);
      }
      for await (const event of parseSse(stream.body, descriptor.maxResponseSize)) {
        if (event.event === 'complete') return;
        if (event.event === 'next') yield resultOf(parse(event.data, 'subscription event'));
      }
    } finally {
      stream.cancel();
    }
  }

  return async function execute(request: ExecutionRequest): Promise<ExecutionResult | AsyncIterable<ExecutionResult>> {
    if (request.operationType === 'subscription') return subscribe(request);
    const scope = scopeOf(request.context);
    const result = await upstream.request({
      method: 'POST',
      path: '',
      headers: upstreamHeaders(scope, descriptor.headers, BASE_HEADERS),
      body: bodyOf(request),
      idempotent: request.operationType !== 'mutation',
      scope,
    });
    try {
      const contentType = String(result.headers['content-type'] ?? '');
      if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
        throw badResponse(`HTTP ${result.status} with content type "${contentType || 'none'}" (expected JSON)`);
      }
      const text = result.body.toString('utf8');
      const payload = parse(text, `HTTP ${result.status}, body`);
      if (payload === null || typeof payload !== 'object' || (!('data' in payload) && !Array.isArray(payload.errors))) {
        throw badResponse(`HTTP ${result.status}, JSON is not a GraphQL response (no "data" or "errors")`);
      }
      if (result.status >= 300 && payload.data == null && !Array.isArray(payload.errors)) {
        throw badResponse(`HTTP ${result.status}`);
      }
      if (Array.isArray(payload.errors) && payload.errors.length > 0) publishAnswerError(name, result.instance, 'graphql');
      // Only an answer of `data` alone may be sent on as it is (one with errors or extensions never is).
      return dataAlone(payload) ? withAnswerText(resultOf(payload), text) : resultOf(payload);
    } catch (error) {
      // A 4xx/5xx is counted by its status already (tessera:upstream); a success status with a useless body is not.
      if (result.status < 400) publishAnswerError(name, result.instance, 'other');
      throw error;
    }
  };
}
