/**
 * What a request must look like before any GraphQL work (GraphQL over HTTP,
 * section 5): a POST body is application/json, which a browser can only send
 * after a CORS preflight, so a cross-site form or text/plain POST never runs
 * (CSRF, row 3 of docs/reliability.md: 415). A multipart upload (GraphQL multipart
 * request, for file arguments) is a form a browser sends without asking, so
 * it must carry one of the CSRF headers (403 otherwise); so must GET requests
 * when the channel asks for it. A body larger than server.bodyLimit gets 413, also
 * when it is chunked and has no Content-Length (row 1: Yoga counts the bytes
 * while reading and stops at the limit; this plugin gives the refusal the
 * catalog's code).
 *
 * Runs in onRequestParse, the first hook that sees the request: nothing has
 * been read, parsed or built yet.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';
import { refusal } from './refusal.js';

export interface RequestHygieneOptions {
  /** Largest request body, in bytes (server.bodyLimit). */
  bodyLimit: number;
  csrf: { requireHeader: boolean; headers: string[] };
}

const JSON_MEDIA_TYPE = 'application/json';
const MULTIPART = 'multipart/form-data';

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mediaType(contentType: string | null): string {
  if (!contentType) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

type OnRequestParse = NonNullable<Plugin['onRequestParse']>;

export function useRequestHygiene(options: RequestHygieneOptions): Plugin {
  if (!Number.isInteger(options.bodyLimit) || options.bodyLimit < 0) throw new TypeError('useRequestHygiene: bodyLimit must be a whole number of bytes');
  const { bodyLimit } = options;
  const tooLarge = (size?: number) =>
    refusal('PAYLOAD_TOO_LARGE', size === undefined ? `Request body is larger than the limit of ${bodyLimit} bytes.` : `Request body is ${size} bytes; the limit is ${bodyLimit}.`, {
      headers: { connection: 'close' },
    });
  // Yoga's CSRF check (header required unless the content type forces a preflight), with the catalog's error.
  const csrfCheck = options.csrf.requireHeader ? (useCSRFPrevention({ requestHeaders: options.csrf.headers }).onRequestParse as OnRequestParse) : undefined;
  const csrfMessage = `This channel requires one of these headers on GET requests: ${options.csrf.headers.join(', ')}.`;
  const csrfHeaders = options.csrf.headers;

  return {
    onRequestParse(payload) {
      const { request } = payload;
      if (request.method === 'POST') {
        const type = mediaType(request.headers.get('content-type'));
        if (type === MULTIPART && !csrfHeaders.some((h) => request.headers.has(h))) {
          throw refusal('CSRF_HEADER_MISSING', `A multipart request must carry one of these headers: ${csrfHeaders.join(', ')}.`);
        }
        if (type !== JSON_MEDIA_TYPE && type !== MULTIPART) {
          throw refusal('UNSUPPORTED_MEDIA_TYPE', `POST requests must send the GraphQL request as ${JSON_MEDIA_TYPE} (or ${MULTIPART} for uploads)${type ? `, not ${type}` : ''}.`, {
            headers: { accept: JSON_MEDIA_TYPE },
          });
        }
        const declared = request.headers.get('content-length');
        if (declared !== null) {
          // node:http refuses these before Yoga runs; this covers the fetch() entry point.
          if (Number(declared) > bodyLimit) throw tooLarge(Number(declared));
        } else if (payload.requestParser) {
          // Chunked: Yoga's body limit (maxRequestBodySize) errors the stream at the limit; name it with our code.
          const parse = payload.requestParser;
          payload.setRequestParser(async (req) => {
            try {
              return await parse(req);
            } catch (error) {
              if ((error as { extensions?: { code?: unknown } }).extensions?.code === 'REQUEST_ENTITY_TOO_LARGE') throw tooLarge();
              throw error;
            }
          });
        }
      } else if (csrfCheck) {
        try {
          csrfCheck(payload);
        } catch {
          throw refusal('CSRF_HEADER_MISSING', csrfMessage);
        }
      }
    },
  };
}
