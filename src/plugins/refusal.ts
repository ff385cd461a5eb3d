/**
 * A TesseraError that decides the HTTP outcome of the whole request: its
 * catalog status (and any headers, such as WWW-Authenticate) travel in
 * `extensions.http`, which Yoga turns into the response status and headers
 * and never shows to the client.
 */
import { ERRORS, TesseraError, type ErrorCode } from '../errors.js';

export function refusal(
  code: ErrorCode,
  message: string,
  options: { headers?: Record<string, string>; status?: number; extensions?: Record<string, unknown> } = {},
): TesseraError {
  const http: { status: number; headers?: Record<string, string> } = { status: options.status ?? ERRORS[code].status };
  if (options.headers) http.headers = options.headers;
  return new TesseraError(code, message, { extensions: { ...options.extensions, http } });
}
