/**
 * Hot reload (README "Publishing and hot reload"): the descriptors folder is
 * watched and read again on SIGHUP, POST /admin/reload or gateway.reload(); a
 * new set is loaded and composed off the request path and swapped in, or the
 * running version stays. Requests in flight finish on the version they
 * started with, whose sources close only once its last request is done;
 * unchanged subgraphs keep their loaded source (no reconnect, no new
 * introspection); open subscriptions end at registry.subscriptionGrace.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createGateway, SCHEMA_CHANNEL, type Gateway, type SchemaEvent } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { deferred, endlessTicks, gql, serveTessera, sse, startGraphqlUpstream, tempProject, type DemoService } from '../kit/index.js';

type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A logger whose JSON lines are kept, and a wait for the first line matching (already written, or to come). */
function logSink(): { logger: ReturnType<typeof createLogger>; lines: LogLine[]; next(match: (line: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      callback();
    },
  });
  return {
    logger: createLogger('info', stream),
    lines,
    next: (match) => {
      const written = lines.find(match);
      return written ? Promise.resolve(written) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

/** The next `tessera:schema` event that matches (reload attempts are published there). */
function schemaEvent(t: TestContext, match: (event: SchemaEvent) => boolean): Promise<SchemaEvent> {
  const { promise, resolve } = deferred<SchemaEvent>();
  const listener = (message: unknown): void => {
    if (!match(message as SchemaEvent)) return;
    unsubscribe(SCHEMA_CHANNEL, listener);
    resolve(message as SchemaEvent);
  };
  subscribe(SCHEMA_CHANNEL, listener);
  t.after(() => unsubscribe(SCHEMA_CHANNEL, listener));
  return promise;
}

/** The connections a test upstream has open now, and a wait for none. */
function connections(service: DemoService): { open(): number; allClosed(): Promise<void> } {
  const sockets = new Set<Socket>();
  let onEmpty: (() => void) | undefined;
  service.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) onEmpty?.();
    });
  });
  return {
    open: () => sockets.size,
    allClosed: () => (sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onEmpty = resolve))),
  };
}

const PRODUCTS_SDL = 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }';
const products = { Query: { products: () => [{ id: '1', name: 'Lamp', price: 12.5 }] } };

/** A project folder: gateway.yaml (development: the admin API on the main port) and the products descriptor, whose SDL file leaves `price` out. */
function project(t: TestContext, productsUrl: string, extra: Record<string, string> = {}, options: { yaml?: string; watch?: boolean } = {}): string {
  return tempProject(t, {
    'gateway.yaml': `mode: development\nregistry: { debounce: 50ms, watch: ${options.watch ?? true} }\n${options.yaml ?? ''}`,
    'subgraphs/products/subgraph.yaml': `name: products\nkind: graphql\nsource: ./products.graphql\nurl: ${productsUrl}\n`,
    'subgraphs/products/products.graphql': 'type Query { products: [Product!]! } type Product { id: ID! name: String! }\n',
    ...extra,
  });
}

async function start(t: TestContext, dir: string): Promise<{ gateway: Gateway; url: string; log: ReturnType<typeof logSink> }> {
  const log = logSink();
  const gateway = await createGateway({ configFile: join(dir, 'gateway.yaml'), logger: log.logger });
  const { url } = await gateway.listen(0, '127.0.0.1');
  t.after(() => gateway.close());
  return { gateway, url, log };
}

async function adminStatus(url: string): Promise<{ schema: { version: string }; reload: { lastResult: string | null; lastError: string[] | null; version: string }; subgraphs: Array<{ name: string }> }> {
  const res = await fetch(new URL('/admin/status', url));
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

test('editing a descriptor file while the gateway runs serves the new field without a restart; the log and /admin/status show the new version', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const dir = project(t, upstream.url);
  const { gateway, url, log } = await start(t, dir);
  const before = gateway.version;
  const refused = await gql(url, '{ products { name price } }');
  assert.match(refused.body.errors?.[0]?.message ?? '', /Cannot query field "price"/);

  const reloaded = schemaEvent(t, (e) => e.trigger === 'watch');
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }\n');
  const event = await reloaded;
  assert.equal(event.result, 'loaded');
  assert.notEqual(event.version, before);
  assert.deepEqual(event.subgraphs, { added: [], changed: ['products'], removed: [] });

  const served = await gql(url, '{ products { name price } }');
  assert.deepEqual(served.body, { data: { products: [{ name: 'Lamp', price: 12.5 }] } });
  assert.equal(gateway.version, event.version);
  const line = log.lines.find((l) => l.msg === 'schema reloaded');
  assert.ok(line, 'a schema reloaded line');
  assert.equal(line.level, 30);
  assert.equal(line.version, event.version);
  assert.deepEqual([line.added, line.changed, line.removed], [[], ['products'], []]);
  assert.equal(typeof line.durationMs, 'number');
  const status = await adminStatus(url);
  assert.equal(status.schema.version, event.version);
  assert.equal(status.reload.lastResult, 'loaded');
  assert.equal(status.reload.lastError, null);
  const page = (await (await fetch(new URL('/_tessera/api', url))).json()) as { schema: { hash: string }; reload: { lastResult: string } };
  assert.equal(page.schema.hash, event.version, "the status page's JSON shows the new version");
  assert.equal(page.reload.lastResult, 'loaded');
});

test('a broken edit keeps the running schema (readiness too), logs the problem with file and path, shows it in /admin/status; fixing it reloads (docs/reliability.md row 44)', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const dir = project(t, upstream.url);
  const { gateway, url, log } = await start(t, dir);
  const before = gateway.version;
  const descriptor = join(dir, 'subgraphs/products/subgraph.yaml');

  const failed = schemaEvent(t, (e) => e.trigger === 'watch');
  writeFileSync(descriptor, `name: products\nkind: graphql\nsource: ./products.graphql\nurl: ${upstream.url}\ntimout: 5s\n`);
  const event = await failed;
  assert.equal(event.result, 'failed');
  assert.equal(event.version, before, 'the running version stays');
  assert.match(event.problems?.join('\n') ?? '', /subgraph\.yaml: timout: unknown key \(did you mean `timeout`\?\)/);

  const line = log.lines.find((l) => l.msg.startsWith('schema reload failed'));
  assert.ok(line, 'a schema reload failed line');
  assert.equal(line.level, 50);
  assert.match(String(line.msg), /subgraphs\/products\/subgraph\.yaml: timout: unknown key/);
  assert.deepEqual((await gql(url, '{ products { name } }')).body, { data: { products: [{ name: 'Lamp' }] } });
  assert.equal((await fetch(new URL('/readyz', url))).status, 200, '/readyz stays ready');
  const status = await adminStatus(url);
  assert.equal(status.reload.lastResult, 'failed');
  assert.match(status.reload.lastError?.join('\n') ?? '', /subgraph\.yaml: timout: unknown key/);
  assert.equal(status.schema.version, before);
  const page = (await (await fetch(new URL('/_tessera/api', url))).json()) as { schema: { hash: string }; reload: { lastResult: string; lastError: string[] } };
  assert.equal(page.schema.hash, before, "the status page's JSON still shows the running version");
  assert.match(page.reload.lastError.join('\n'), /timout: unknown key/);

  // POST /admin/reload reads the folder again: still broken, so 409 with the problems.
  const again = await fetch(new URL('/admin/reload', url), { method: 'POST' });
  assert.equal(again.status, 409);
  assert.match(((await again.json()) as SchemaEvent).error ?? '', /timout: unknown key/);

  const fixed = schemaEvent(t, (e) => e.trigger === 'watch');
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }\n');
  writeFileSync(descriptor, `name: products\nkind: graphql\nsource: ./products.graphql\nurl: ${upstream.url}\n`);
  assert.equal((await fixed).result, 'loaded');
  assert.deepEqual((await gql(url, '{ products { price } }')).body, { data: { products: [{ price: 12.5 }] } });
  assert.equal((await adminStatus(url)).reload.lastError, null);
});

test('a schema file that does not parse, or a required subgraph that cannot be loaded, fails the reload with the reason; the running version stays', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const dir = project(t, upstream.url, {}, { watch: false });
  const { gateway, url } = await start(t, dir);
  const before = gateway.version;

  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! \n');
  const unparsable = await gateway.reload();
  assert.equal(unparsable.result, 'failed');
  assert.match(unparsable.error ?? '', /products\.graphql/);
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! }\n');

  writeFileSync(join(dir, 'subgraphs/dead.subgraph.yaml'), 'name: dead\nkind: graphql\nurl: http://127.0.0.1:1/graphql\n');
  const unreachable = await gateway.reload();
  assert.equal(unreachable.result, 'failed');
  assert.match(unreachable.error ?? '', /subgraph "dead"/);
  assert.equal(gateway.version, before);
  assert.deepEqual((await gql(url, '{ products { name } }')).body, { data: { products: [{ name: 'Lamp' }] } });
});

test('persisted operations are parsed and validated against a new version before it serves; those it breaks are named in a warn line', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const dir = project(
    t,
    upstream.url,
    { 'manifest.json': JSON.stringify({ names: '{ products { name } }', ids: '{ products { id } }' }) },
    { yaml: 'channels: { mobile: { persistedOperations: { manifest: ./manifest.json } } }\n', watch: false },
  );
  const { gateway, log } = await start(t, dir);
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { name: String! }\n');
  assert.equal((await gateway.reload()).result, 'loaded');
  const warned = log.lines.find((l) => l.msg.startsWith('schema reload: persisted operations that do not validate'));
  assert.ok(warned, 'a warn line');
  assert.equal(warned.level, 40);
  assert.deepEqual(
    (warned.invalid as Array<{ channel: string; id: string }>).map((o) => `${o.channel} ${o.id}`),
    ['mobile ids'],
  );
  assert.equal(log.lines.find((l) => l.msg === 'schema reloaded')?.warmed, 2);
});

/** A GraphQL upstream whose `{ slow }` answers only once `gate` resolves; `arrived` resolves when the call reaches it. */
async function slowUpstream(t: TestContext): Promise<{ slow: DemoService; gate: ReturnType<typeof deferred<void>>; arrived: ReturnType<typeof deferred<void>> }> {
  const gate = deferred();
  const arrived = deferred();
  const slow = await startGraphqlUpstream(t, 'type Query { slow: String! }', {
    Query: {
      slow: async () => {
        arrived.resolve();
        await gate.promise;
        return 'done';
      },
    },
  });
  return { slow, gate, arrived };
}

test('no dropped request across several reloads: a steady stream all answers, a slow request in flight finishes on its version, and the removed subgraph closes its connections only after it (docs/reliability.md row 40)', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const { slow, gate, arrived } = await slowUpstream(t);
  const slowConnections = connections(slow);
  const dir = project(t, upstream.url, {
    'subgraphs/slow/subgraph.yaml': `name: slow\nkind: graphql\nsource: ./slow.graphql\nurl: ${slow.url}\n`,
    'subgraphs/slow/slow.graphql': 'type Query { slow: String! }\n',
  }, { watch: false });
  const { gateway, url, log } = await start(t, dir);

  const inFlight = gql(url, '{ slow }');
  await arrived.promise;
  const stream = (async () => {
    const answers = [];
    for (let i = 0; i < 60; i++) answers.push(await gql(url, '{ products { id name } }'));
    return answers;
  })();
  // Reload 1: the slow subgraph is removed while its request is in flight.
  rmSync(join(dir, 'subgraphs/slow'), { recursive: true });
  const removed = await gateway.reload();
  assert.equal(removed.result, 'loaded');
  assert.deepEqual(removed.subgraphs?.removed, ['slow']);
  assert.match((await gql(url, '{ slow }')).body.errors?.[0]?.message ?? '', /Cannot query field "slow"/, 'new requests get the new version');
  // Reloads 2 and 3: products' schema changes twice more while the stream runs.
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }\n');
  assert.equal((await gateway.reload()).result, 'loaded');
  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! }\n');
  assert.equal((await gateway.reload()).result, 'loaded');

  assert.ok(slowConnections.open() > 0, 'the removed subgraph keeps its connection while its request is in flight');
  assert.equal(log.lines.filter((l) => l.msg.startsWith('schema version drained') && (l.closed as string[]).includes('slow')).length, 0, 'its version has not drained');
  const drained = log.next((l) => l.msg.startsWith('schema version drained') && (l.closed as string[]).includes('slow'));
  gate.resolve();
  assert.deepEqual((await inFlight).body, { data: { slow: 'done' } }, 'the in-flight request answers on the version it started with');
  await drained;
  await slowConnections.allClosed();
  assert.equal(slowConnections.open(), 0);

  for (const answer of await stream) {
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { data: { products: [{ id: '1', name: 'Lamp' }] } });
  }
});

test('gateway.fetch() holds its version too: the removed subgraph closes only after a request in flight through it answers', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const { slow, gate, arrived } = await slowUpstream(t);
  const slowConnections = connections(slow);
  const dir = project(t, upstream.url, { 'subgraphs/slow/subgraph.yaml': `name: slow\nkind: graphql\nurl: ${slow.url}\n` }, { watch: false });
  const { gateway, log } = await start(t, dir);
  const answer = gateway.fetch(new Request('http://gateway/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ slow }' }) }));
  await arrived.promise;
  rmSync(join(dir, 'subgraphs/slow'), { recursive: true });
  assert.equal((await gateway.reload()).result, 'loaded');
  assert.ok(slowConnections.open() > 0);
  assert.equal(log.lines.filter((l) => l.msg.startsWith('schema version drained')).length, 0, 'not drained while the fetch() request is in flight');
  gate.resolve();
  assert.deepEqual(await (await answer).json(), { data: { slow: 'done' } });
  await log.next((l) => l.msg.startsWith('schema version drained'));
  await slowConnections.allClosed();
});

test('a removed subgraph with nothing in flight: its pool closes at the swap and /admin/status no longer lists it', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const other = await startGraphqlUpstream(t, 'type Query { other: String! }', { Query: { other: () => 'yes' } });
  const otherConnections = connections(other);
  const dir = project(t, upstream.url, { 'subgraphs/other/subgraph.yaml': `name: other\nkind: graphql\nurl: ${other.url}\n` }, { watch: false });
  const { gateway, url } = await start(t, dir);
  assert.deepEqual((await gql(url, '{ other }')).body, { data: { other: 'yes' } });
  assert.ok(otherConnections.open() > 0, 'a kept-alive connection to the upstream');

  rmSync(join(dir, 'subgraphs/other'), { recursive: true });
  const reloaded = await fetch(new URL('/admin/reload', url), { method: 'POST' });
  assert.equal(reloaded.status, 200);
  assert.deepEqual(((await reloaded.json()) as SchemaEvent).subgraphs?.removed, ['other']);
  await otherConnections.allClosed();
  assert.deepEqual((await adminStatus(url)).subgraphs.map((s) => s.name), ['products']);
  assert.equal(gateway.descriptors.length, 1);
});

test('unchanged subgraphs keep their loaded source: their upstream sees no new introspection; a reload with no change swaps nothing', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  const users = await startGraphqlUpstream(t, 'type Query { me: String! }', { Query: { me: () => 'ada' } });
  const dir = project(t, upstream.url, { 'subgraphs/users/subgraph.yaml': `name: users\nkind: graphql\nurl: ${users.url}\n` }, { watch: false });
  const { gateway, url } = await start(t, dir);
  const introspections = users.stats.requests;
  assert.ok(introspections > 0, 'users was read by introspection at start-up');

  writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }\n');
  const event = await gateway.reload();
  assert.deepEqual(event.subgraphs, { added: [], changed: ['products'], removed: [] });
  assert.equal(users.stats.requests, introspections, 'users was not loaded again');
  assert.deepEqual((await gql(url, '{ me products { price } }')).body, { data: { me: 'ada', products: [{ price: 12.5 }] } });

  const same = await gateway.reload();
  assert.equal(same.result, 'unchanged');
  assert.equal(same.version, event.version);
});

test('an SSE subscription open across a swap keeps its events, then completes with SCHEMA_RELOADED at registry.subscriptionGrace', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { ok: Boolean } type Subscription { ticks: Int! }', {
    Query: { ok: () => true },
    Subscription: {
      ticks: endlessTicks(5),
    },
  });
  const dir = tempProject(t, {
    'gateway.yaml': 'mode: development\nregistry: { watch: false, subscriptionGrace: 200ms }\n',
    'subgraphs/events/subgraph.yaml': `name: events\nkind: graphql\nurl: ${upstream.url}\n`,
    'subgraphs/other/subgraph.yaml': 'name: other\nkind: graphql\nsource: ./other.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/other/other.graphql': 'type Query { other: String }\n',
  });
  const { gateway, url, log } = await start(t, dir);
  const subscription = await sse(t, url, 'subscription { ticks }');
  assert.deepEqual(await subscription.next(), { data: { ticks: 0 } });

  writeFileSync(join(dir, 'subgraphs/other/other.graphql'), 'type Query { other: String more: String }\n');
  const drained = log.next((l) => l.msg.startsWith('schema version drained'));
  assert.equal((await gateway.reload()).result, 'loaded');
  // Events keep coming on the old version, then one SCHEMA_RELOADED error, then complete.
  let events = 0;
  let last;
  for (;;) {
    const payload = await subscription.next();
    if (payload === undefined) break;
    last = payload;
    if (payload.data) events++;
  }
  assert.ok(events > 0, 'events after the swap');
  assert.equal(last?.errors?.[0]?.extensions?.code, 'SCHEMA_RELOADED');
  assert.match(last?.errors?.[0]?.message ?? '', /subscribe again/);
  await drained;
});

/** Runs one operation over a graphql-ws client; resolves with every payload once it completes. */
function wsRun(client: Client, query: string, onNext?: (payload: unknown) => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const payloads: unknown[] = [];
    client.subscribe({ query }, {
      next: (payload) => {
        payloads.push(payload);
        onNext?.(payload);
      },
      error: reject,
      complete: () => resolve(payloads),
    });
  });
}

test('over one WebSocket across a swap: a mutation in flight completes once on its version, a new operation gets the new one, the subscription ends at the grace', async (t) => {
  const gate = deferred();
  const arrived = deferred();
  let purchases = 0;
  const upstream = await startGraphqlUpstream(t, 'type Query { ok: Boolean } type Mutation { buy: String! } type Subscription { ticks: Int! }', {
    Query: { ok: () => true },
    Mutation: {
      buy: async () => {
        purchases++;
        arrived.resolve();
        await gate.promise;
        return 'bought';
      },
    },
    Subscription: {
      ticks: endlessTicks(5),
    },
  });
  const dir = tempProject(t, {
    'gateway.yaml': 'mode: development\nregistry: { watch: false, subscriptionGrace: 300ms }\n',
    'subgraphs/events/subgraph.yaml': `name: events\nkind: graphql\nurl: ${upstream.url}\n`,
    'subgraphs/other/subgraph.yaml': 'name: other\nkind: graphql\nsource: ./other.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/other/other.graphql': 'type Query { other: String }\n',
  });
  const { gateway, url, log } = await start(t, dir);
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());

  const firstTick = deferred();
  const subscription = wsRun(client, 'subscription { ticks }', () => firstTick.resolve());
  await firstTick.promise;
  const mutation = wsRun(client, 'mutation { buy }');
  await arrived.promise;

  writeFileSync(join(dir, 'subgraphs/other/other.graphql'), 'type Query { other: String more: String }\n');
  assert.equal((await gateway.reload()).result, 'loaded');
  const introspected = await wsRun(client, '{ __type(name: "Query") { fields { name } } }');
  assert.deepEqual(
    (introspected[0] as { data: { __type: { fields: Array<{ name: string }> } } }).data.__type.fields.map((f) => f.name).sort(),
    ['more', 'ok', 'other'],
    'an operation sent after the swap, on the same socket, gets the new version',
  );
  assert.equal(log.lines.filter((l) => l.msg.startsWith('schema version drained')).length, 0, 'the old version serves the mutation and the subscription');

  gate.resolve();
  assert.deepEqual(await mutation, [{ data: { buy: 'bought' } }]);
  assert.equal(purchases, 1, 'the mutation ran once');
  const events = (await subscription) as Array<{ data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> }>;
  assert.ok(events.filter((e) => e.data).length > 1, 'events kept coming after the swap');
  assert.equal(events.at(-1)?.errors?.[0]?.extensions?.code, 'SCHEMA_RELOADED');
  await log.next((l) => l.msg.startsWith('schema version drained'));
});

test('SIGHUP to `tessera serve` reloads every process (one process and --workers 2)', async (t) => {
  const upstream = await startGraphqlUpstream(t, PRODUCTS_SDL, products);
  for (const workers of ['1', '2']) {
    const dir = project(t, upstream.url, {}, { yaml: 'server: { port: 0 }\nlogging: { level: info }\n', watch: false });
    const served = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', workers]);
    const url = await served.url;
    writeFileSync(join(dir, 'subgraphs/products/products.graphql'), 'type Query { products: [Product!]! } type Product { id: ID! name: String! price: Float! }\n');
    const reloaded = new Promise<void>((resolve) => {
      const look = (): void => {
        const lines = served.output().split('\n').filter((l) => l.includes('"msg":"schema reloaded"'));
        if (lines.length === Number(workers)) resolve();
      };
      served.child.stdout!.on('data', look);
    });
    served.child.kill('SIGHUP');
    await reloaded;
    // New connections go to every worker in turn: each serves the new field.
    for (let i = 0; i < 4; i++) {
      const answer = await gql(url, '{ products { price } }', undefined, { connection: 'close' });
      assert.deepEqual(answer.body, { data: { products: [{ price: 12.5 }] } }, `--workers ${workers}`);
    }
    served.child.kill('SIGTERM');
    assert.equal(await served.exited, 0);
  }
});
