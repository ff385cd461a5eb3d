/** Response checks: every target must answer the scenario's query exactly as the direct call does. */

export interface Check {
  target: string;
  status: number;
  /** Same JSON (same keys in the same order, same values) as the reference. */
  identical: boolean;
  /** Same bytes as the reference. */
  sameBytes: boolean;
  bytes: number;
  /** Where the first difference is, when not identical. */
  difference?: string;
}

/** The first path where two JSON values differ (key order counts: GraphQL orders fields as the query does). */
export function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return `${path}: ${JSON.stringify(a)?.slice(0, 80)} != ${JSON.stringify(b)?.slice(0, 80)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} items != ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.join(',') !== kb.join(',')) return `${path}: keys {${ka.join(',')}} != {${kb.join(',')}}`;
  for (const k of ka) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

export function check(target: string, status: number, text: string, reference: string): Check {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { target, status, identical: false, sameBytes: false, bytes: Buffer.byteLength(text), difference: `not JSON: ${text.slice(0, 120)}` };
  }
  const difference = firstDifference(parsed, JSON.parse(reference));
  return { target, status, identical: status === 200 && !difference, sameBytes: text === reference, bytes: Buffer.byteLength(text), difference };
}
