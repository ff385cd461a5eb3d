/**
 * The load generator of the in-process cost benchmarks (trace-cost.ts,
 * alloc-cost.ts): their gateway runs in the parent process, this runs in the
 * child beside the upstreams, so none of its CPU or allocations is counted.
 */
import { Pool } from 'undici';

export interface LoadOrder {
  url: string;
  body: string;
  requests: number;
  concurrency: number;
}

const pools = new Map<string, Pool>();

/** One POST; false unless HTTP 200 without `"errors"` in the body. */
async function send(pool: Pool, path: string, body: string): Promise<boolean> {
  const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
  const text = await res.body.text();
  return res.statusCode === 200 && !text.includes('"errors"');
}

/** Sends `order.requests` requests, `order.concurrency` at a time, then `sequential` one at a time; resolves to how many failed. */
export async function sendLoad(order: LoadOrder, sequential = 0): Promise<number> {
  const url = new URL(order.url);
  let pool = pools.get(url.origin);
  if (!pool) pools.set(url.origin, (pool = new Pool(url.origin, { connections: 64 })));
  let errors = 0;
  let left = order.requests;
  const worker = async (): Promise<void> => {
    while (left-- > 0) if (!(await send(pool, url.pathname, order.body))) errors++;
  };
  await Promise.all(Array.from({ length: order.concurrency }, worker));
  for (let i = 0; i < sequential; i++) if (!(await send(pool, url.pathname, order.body))) errors++;
  return errors;
}
