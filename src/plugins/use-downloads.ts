/**
 * Signed download links: `GET <channel path>?download=<subgraph>.<token>`
 * is answered with the bytes the link stands for, by the subgraph that
 * signed it (an OpenAPI binary response's `<field>Url` field; see
 * sources/openapi/downloads.ts). The link is the capability, so this runs in
 * onRequest, before the request is parsed as GraphQL: a browser's `<img src>`
 * sends no CSRF header and no GraphQL document.
 *
 * A link naming a subgraph that hands out no links gets 404; anything else
 * on the path (no `download` parameter, another method) goes on as GraphQL.
 */
import type { Plugin } from 'graphql-yoga';
import { errorBody } from '../errors.js';
import type { DownloadRequest, DownloadResponse } from '../sources/types.js';

/** The query parameter a link travels in (sources/openapi/downloads.ts writes it). */
const PARAMETER = 'download';

export type DownloadHandler = (token: string, request: DownloadRequest) => Promise<DownloadResponse>;

export interface DownloadsOptions {
  /** The handler of each subgraph that hands out links, by subgraph name. */
  handlers: ReadonlyMap<string, DownloadHandler>;
}

const NO_SUCH_LINK: DownloadResponse = {
  status: 404,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: errorBody('NOT_FOUND', 'No download at this link.'),
};

export function useDownloads(options: DownloadsOptions): Plugin {
  const { handlers } = options;
  if (handlers.size === 0) return {};
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      const link = url.searchParams.get(PARAMETER);
      if (link === null) return;
      const dot = link.indexOf('.');
      const handler = dot > 0 ? handlers.get(link.slice(0, dot)) : undefined;
      const answer = handler ? handler(link.slice(dot + 1), { headers: request.headers, signal: request.signal }) : Promise.resolve(NO_SUCH_LINK);
      // (Node's Buffer is a Uint8Array over ArrayBufferLike, which the DOM typing of BodyInit does not name.)
      return answer.then((r) => endResponse(new fetchAPI.Response(r.body as BodyInit, { status: r.status, headers: r.headers })));
    },
  };
}
