/** The gateway's logger: JSON lines (pino) on stdout; one per process. */
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Field names whose values are credentials: never written by any logger the
 * gateway creates, at any level. The one list (docs/security.md, "Logs"):
 * header names as they appear in a header map (lower case) and the names the
 * gateway's own code uses for secrets.
 */
export const SECRET_FIELDS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'apiKey', 'token', 'password', 'secret'] as const;

/**
 * Where pino looks for them: at the top of a line, one object down (`{ headers: { cookie } }`),
 * and in the header maps of a request or response (`req.headers.cookie`).
 */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `["${field}"]`;
  return [key.slice(key.startsWith('.') ? 1 : 0), `*${key}`, `*.headers${key}`];
});

const SECRET_HEADERS: ReadonlySet<string> = new Set(SECRET_FIELDS.map((field) => field.toLowerCase()));

/**
 * A copy of a header map with the values of SECRET_FIELDS replaced, for code
 * that logs headers through a logger it did not create (pino's redaction
 * applies only to loggers made by createLogger).
 */
export function redactHeaders(headers: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : value;
  return out;
}

/**
 * A copy of a value (an upstream answer's excerpt) with the values of
 * SECRET_FIELDS replaced at any depth, for text that is logged as a string
 * (pino's redaction sees only a line's own fields). Objects below `depth`
 * levels are left out (`[…]`): an excerpt is short anyway.
 */
export function redactValue(value: unknown, depth = 8): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth <= 0) return '[…]';
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value)) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : redactValue(inner, depth - 1);
  return out;
}

/** Is this field name one of SECRET_FIELDS (any case)? */
export function isSecretField(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase());
}

/** `base`: fields every line carries, beside `service` (a cluster worker's `pid`). */
export function createLogger(level: string, destination?: DestinationStream, base: Readonly<Record<string, unknown>> = {}): Logger {
  return pino(
    { level, base: { service: 'tessera', ...base }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}

export type { Logger };
