/**
 * JSON from upstreams, parsed without letting `__proto__` or
 * `constructor.prototype` keys through (row 8 of RELIABILITY.md): JSON.parse
 * itself is safe, but merging such an object into another later is not. The
 * reviver only runs when the text could contain such a key.
 */
const DANGEROUS = /"(?:__proto__|constructor|prototype)"\s*:/;

function reviver(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined;
  if (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value) return undefined;
  return value;
}

export function parseUpstreamJson(text: string): unknown {
  return DANGEROUS.test(text) ? JSON.parse(text, reviver) : JSON.parse(text);
}
