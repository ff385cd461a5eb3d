/**
 * What one client request carries down to every upstream call it causes:
 * the deadline, the abort signal (client gone or deadline hit) and the client's
 * headers for forwarding. Created once per request by the server; sources read
 * it from the GraphQL context (`context.tessera`).
 */
export interface RequestScope {
  /** Epoch milliseconds after which no upstream call may still be running. */
  deadline: number;
  /** Aborts when the client disconnects or the deadline passes. */
  signal: AbortSignal;
  /** The client's request headers (lower-case names). */
  headers: Headers;
  /** Per-request memo for loaders (DataLoader instances keyed by source and call). */
  memo: Map<string, unknown>;
  /** Who is calling, set by authentication; absent for an anonymous request. */
  identity?: Identity;
}

/** The authenticated caller (rate limits meter it; private cache entries belong to it). */
export interface Identity {
  /** The JWT `sub`, or the owner of an API key. */
  subject: string;
  scopes: readonly string[];
  /** The key that proved it (JWT `kid`, API key id). */
  keyId?: string;
  /** How the caller authenticated ("jwt", "apiKey"). */
  kind: string;
}

export function createScope(options: { deadlineMs: number; signal?: AbortSignal; headers?: Headers }): RequestScope {
  const timeout = AbortSignal.timeout(Math.max(1, options.deadlineMs));
  return {
    deadline: Date.now() + options.deadlineMs,
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    headers: options.headers ?? new Headers(),
    memo: new Map(),
  };
}

/** The scope of a GraphQL context, or a fresh one (for calls made outside a client request, such as introspection). */
export function scopeOf(context: unknown, fallbackDeadlineMs = 10_000): RequestScope {
  const scope = (context as { tessera?: RequestScope } | undefined)?.tessera;
  if (scope) return scope;
  return createScope({ deadlineMs: fallbackDeadlineMs });
}
