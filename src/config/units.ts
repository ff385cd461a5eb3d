/**
 * Durations ("2s", "500ms", "1m", or a number of milliseconds) and sizes
 * ("1mb", "512kb", or a number of bytes) as zod types, so every timeout and
 * limit in the config reads the same way.
 */
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

function parseUnit(text: string, units: Record<string, number>, defaultUnit: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const factor = units[(match[2] || defaultUnit).toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** Milliseconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseUnit(value, DURATION_UNITS, 'ms');
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "500ms", "2s" or "1m", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** Bytes. */
export const size = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseUnit(value, SIZE_UNITS, 'b');
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size like "512kb" or "1mb", got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return bytes;
});

/** A whole number that may arrive as a string (after ${ENV} interpolation). */
export const integer = z.union([z.number(), z.string().regex(/^\d+$/, 'expected a whole number')]).transform(Number).pipe(z.number().int());

export const port = integer.pipe(z.number().min(0).max(65535));

/** true or false, or "true"/"false" (after ${ENV} interpolation). */
export const boolean = z.union([z.boolean(), z.enum(['true', 'false'])], { error: 'expected true or false' }).transform((v) => v === true || v === 'true');

/** An HTTP header name (RFC 9110 token), lower-cased. */
export const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name')
  .transform((h) => h.toLowerCase());
