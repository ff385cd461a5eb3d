/** The answers node:http listeners write themselves, outside Yoga: catalog errors and JSON. */
import type { ServerResponse } from 'node:http';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';

export function sendError(res: ServerResponse, code: ErrorCode, message: string, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) return;
  const body = errorBody(code, message);
  res.writeHead(ERRORS[code].status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}
