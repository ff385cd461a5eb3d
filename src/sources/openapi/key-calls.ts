/**
 * Calling the endpoints bulk.ts found, for keys gathered in one request: a
 * bulk endpoint once per `maxKeys` distinct keys, a single endpoint once per
 * key with at most the descriptor's `concurrency` calls in flight (shared by
 * every join of the source in that request). A 404 for one key is a null for
 * that key, not an error.
 */
import type { RequestScope } from '../../request-scope.js';
import { isTesseraError } from '../../errors.js';
import type { BulkEndpoint } from './bulk.js';
import type { Operation } from './operations.js';
import type { BuildContext } from './schema.js';

/** Runs tasks for one request with at most `limit` in flight (shared by every join of the source in that request). */
function limiterFor(scope: RequestScope, key: string, limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let state = scope.memo.get(key) as { active: number; queue: Array<() => void> } | undefined;
  if (!state) {
    state = { active: 0, queue: [] };
    scope.memo.set(key, state);
  }
  const s = state;
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (s.active >= limit) await new Promise<void>((resolve) => s.queue.push(resolve));
    s.active++;
    try {
      return await task();
    } finally {
      s.active--;
      s.queue.shift()?.();
    }
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function bulkArgs(bulk: BulkEndpoint, keys: readonly unknown[]): Record<string, unknown> {
  if (bulk.inBody) return { [bulk.operation.compiled.body!.arg]: { [bulk.parameter]: keys } };
  return { [bulk.operation.argOf.get(bulk.parameter)!]: keys };
}

/** Calls a bulk endpoint for some keys; returns the items by their key (as text). */
export async function fetchBulk(ctx: BuildContext, bulk: BulkEndpoint, keys: readonly unknown[], maxKeys: number, scope: RequestScope): Promise<Map<string, unknown>> {
  const index = new Map<string, unknown>();
  const distinct = [...new Set(keys.map(String))];
  await Promise.all(
    chunks(distinct, maxKeys).map(async (chunk) => {
      const { value } = await ctx.client.call(bulk.operation.compiled, bulkArgs(bulk, chunk), scope);
      const list = bulk.list.property === undefined ? value : (value as Record<string, unknown> | null)?.[bulk.list.property];
      if (!Array.isArray(list)) return;
      for (const item of list) {
        const key = (item as Record<string, unknown> | null)?.[bulk.key];
        if (key !== undefined && key !== null) index.set(String(key), item);
      }
    }),
  );
  return index;
}

const notFound = (error: unknown): boolean => isTesseraError(error) && (error.extensions.upstream as { status?: number } | undefined)?.status === 404;

/** A resolver helper for one-at-a-time joins: null for 404, the error for that item otherwise. */
export function fetchOne(ctx: BuildContext, single: { operation: Operation; arg: string }, key: unknown, scope: RequestScope): Promise<unknown> {
  return callOne(ctx, single.operation, { [single.arg]: key }, scope);
}

/** One call under the source's per-request concurrency limit: its value, null for 404, the error otherwise (returned, not thrown). */
export async function callOne(ctx: BuildContext, operation: Operation, args: Record<string, unknown>, scope: RequestScope): Promise<unknown> {
  const limit = limiterFor(scope, `openapi:limit:${ctx.descriptor.name}`, ctx.descriptor.concurrency);
  try {
    const { value } = await limit(() => ctx.client.call(operation.compiled, args, scope));
    return value;
  } catch (error) {
    if (notFound(error)) return null;
    return error;
  }
}
