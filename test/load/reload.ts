/**
 * `npm run test:reload`: hot reload under load, on loopback, bounded in time.
 * For RELOAD_SECONDS (default 30) a gateway serves a steady mix of queries
 * and mutations from CONCURRENCY clients (default 8) and one open SSE
 * subscription, while the descriptors folder is republished every second (the
 * products descriptor alternates between two timeouts, so every reload loads
 * a new products source and drains the old one). It fails (exit 1) on any
 * failed request, any mutation that ran twice or never, a subscription that
 * ended or erred, or open file descriptors or heap after the run more than
 * 10% above before it (both after a GC, once the replaced versions drained;
 * "before" is after a warm-up of WARMUP_SECONDS, default 5, of the same load
 * and reloads, so pools and caches are at their working size).
 * Prints its figures as JSON and a closing "N passed, N failed" line.
 *
 *   npm run test:reload
 *   RELOAD_SECONDS=10 CONCURRENCY=4 npm run test:reload
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe } from 'node:diagnostics_channel';
import { createGateway, SCHEMA_CHANNEL, type SchemaEvent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { endlessTicks, gql, startGraphqlUpstream } from '../kit/index.js';

const seconds = Number(process.env.RELOAD_SECONDS ?? 30);
const concurrency = Number(process.env.CONCURRENCY ?? 8);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run test:reload does)');

const openFds = (): number => readdirSync('/proc/self/fd').length;
const heapUsed = async (): Promise<number> => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

const mutations = new Map<string, number>();
const products = await startGraphqlUpstream(undefined, 'type Query { products: [Product!]! } type Product { id: ID! name: String! } type Mutation { addToCart(id: ID!): Int! }', {
  Query: { products: () => [{ id: '1', name: 'Lamp' }, { id: '2', name: 'Desk' }] },
  Mutation: {
    addToCart: (_: unknown, { id }: { id: string }) => {
      const count = (mutations.get(id) ?? 0) + 1;
      mutations.set(id, count);
      return count;
    },
  },
});
const events = await startGraphqlUpstream(undefined, 'type Query { ok: Boolean } type Subscription { ticks: Int! }', {
  Query: { ok: () => true },
  Subscription: {
    ticks: endlessTicks(100),
  },
});

const dir = mkdtempSync(join(tmpdir(), 'tessera-reload-load-'));
const productsDescriptor = (timeout: string): string => `name: products\nkind: graphql\nsource: ./products.graphql\nurl: ${products.url}\ntimeout: ${timeout}\n`;
mkdirSync(join(dir, 'subgraphs/products'), { recursive: true });
mkdirSync(join(dir, 'subgraphs/events'), { recursive: true });
writeFileSync(join(dir, 'gateway.yaml'), 'mode: production\nregistry: { debounce: 50ms }\nlogging: { level: warn, requests: false }\n');
writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! } type Mutation { addToCart(id: ID!): Int! }\n');
writeFileSync(join(dir, 'subgraphs/products/subgraph.yaml'), productsDescriptor('5s'));
writeFileSync(join(dir, 'subgraphs/events/subgraph.yaml'), `name: events\nkind: graphql\nurl: ${events.url}\n`);

const reloads: SchemaEvent[] = [];
subscribe(SCHEMA_CHANNEL, (message) => {
  const event = message as SchemaEvent;
  if (event.trigger !== 'start') reloads.push(event);
});
const gateway = await createGateway({ configFile: join(dir, 'gateway.yaml'), logger: createLogger('warn') });
const { url } = await gateway.listen(0, '127.0.0.1');

const failures: string[] = [];
let queries = 0;
let sent = 0;
let ticks = 0;

// The subscription: open for the whole run.
const subscription = new AbortController();
const subscriptionDone = (async () => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: 'subscription { ticks }' }),
    signal: subscription.signal,
  });
  let buffer = '';
  try {
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream()) as unknown as AsyncIterable<string>) {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.includes('event: complete')) failures.push('the subscription completed during the run');
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!data) continue;
        const payload = JSON.parse(data) as { data?: { ticks: number }; errors?: unknown[] };
        if (payload.errors) failures.push(`subscription error: ${JSON.stringify(payload.errors)}`);
        else ticks++;
      }
    }
  } catch (error) {
    if (!subscription.signal.aborted) failures.push(`subscription: ${(error as Error).message}`);
  }
})();

let round = 0;
const client = async (n: number, deadline: number): Promise<void> => {
  for (let i = 0; Date.now() < deadline; i++) {
    if (i % 5 === 4) {
      const id = `${round}-${n}-${i}`;
      sent++;
      const res = await gql(url, 'mutation ($id: ID!) { addToCart(id: $id) }', { id });
      if (res.status !== 200 || res.body.data?.addToCart !== 1) failures.push(`mutation ${id}: ${res.status} ${res.text.slice(0, 200)}`);
    } else {
      queries++;
      const res = await gql(url, '{ products { id name } }');
      if (res.status !== 200 || res.body.data?.products?.length !== 2) failures.push(`query: ${res.status} ${res.text.slice(0, 200)}`);
    }
  }
};
let published = 0;
const publisher = async (deadline: number): Promise<void> => {
  while (Date.now() < deadline - 500) {
    writeFileSync(join(dir, 'subgraphs/products/subgraph.yaml'), productsDescriptor(published++ % 2 === 0 ? '6s' : '5s'));
    await new Promise((r) => setTimeout(r, 1000));
  }
};
/** One phase: every client and the publisher until `phaseSeconds` have passed; then the last reload lands and the replaced versions drain. */
const phase = async (phaseSeconds: number): Promise<{ fds: number; heap: number }> => {
  round++;
  const deadline = Date.now() + phaseSeconds * 1000;
  await Promise.all([...Array.from({ length: concurrency }, (_, n) => client(n, deadline)), publisher(deadline)]);
  await new Promise((r) => setTimeout(r, 1000));
  return { fds: openFds(), heap: await heapUsed() };
};

// A warm-up phase of the same load (pools, keep-alive connections and caches at their working size), then the run.
const before = await phase(Number(process.env.WARMUP_SECONDS ?? 5));
const reloadsBefore = reloads.length;
const after = await phase(seconds);
subscription.abort();
await subscriptionDone;
await gateway.close();
await Promise.all([products.close(), events.close()]);
rmSync(dir, { recursive: true, force: true });

const duplicated = [...mutations.values()].filter((count) => count > 1).length;
const checks: Array<[string, boolean]> = [
  ['no failed request', failures.length === 0],
  ['every mutation ran once', duplicated === 0 && mutations.size === sent],
  ['a reload about every second, none failed', reloads.length - reloadsBefore >= seconds - 2 && reloads.every((e) => e.result !== 'failed')],
  ['the subscription kept its events', ticks > 0],
  ['file descriptors within 10%', after.fds <= before.fds * 1.1],
  ['heap within 10%', after.heap <= before.heap * 1.1],
];
console.log(
  JSON.stringify(
    {
      seconds,
      concurrency,
      queries,
      mutations: sent,
      duplicatedMutations: duplicated,
      reloads: reloads.length - reloadsBefore,
      loaded: reloads.slice(reloadsBefore).filter((e) => e.result === 'loaded').length,
      reloadMs: reloads.length > 0 ? { max: Math.max(...reloads.map((e) => e.durationMs)), mean: Math.round(reloads.reduce((a, e) => a + e.durationMs, 0) / reloads.length) } : null,
      subscriptionEvents: ticks,
      fds: before.fds === 0 ? null : { before: before.fds, after: after.fds },
      heapMB: { before: Math.round(before.heap / 2 ** 20 * 10) / 10, after: Math.round(after.heap / 2 ** 20 * 10) / 10 },
      failures: failures.slice(0, 10),
    },
    null,
    2,
  ),
);
for (const [name, ok] of checks) console.log(`${ok ? 'ok' : 'FAILED'}: ${name}`);
const failed = checks.filter(([, ok]) => !ok).length;
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
