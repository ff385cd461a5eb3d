/**
 * server.admission through a running gateway: with a fixed limit, requests
 * beyond it wait (the upstream never sees more at once), every one is
 * answered, and the wait shows in the request log line (`queuedMs`, inside
 * `durationMs`), in /metrics (tessera_admission_*) and in the status page's
 * JSON; a client that leaves
 * while its request waits never reaches the upstream and frees nothing it did
 * not hold (docs/reliability.md row 91); `off` starts every request at once;
 * an SSE subscription is never held and holds no place; the wait counts
 * towards server.requestDeadline.
 * The upstream is a real GraphQL server on loopback whose resolver waits until
 * the test lets it answer, so "at once" is counted, not timed.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { captureLogs, deferred, endlessTicks, sse, startGateway, startGraphqlUpstream, type RunningGateway } from '../kit/index.js';
import { sample } from '../kit/metrics.js';
import type { StatusSnapshot } from '../../src/telemetry/status.js';

/** An upstream whose `item` answers only when released; counts the resolvers running at once. */
async function heldUpstream(t: TestContext) {
  const state = { running: 0, most: 0, seen: [] as string[], gates: [] as Array<() => void> };
  const service = await startGraphqlUpstream(t, 'type Query { item(id: ID!): String! }', {
    Query: {
      item: async (_: unknown, { id }: { id: string }) => {
        state.seen.push(id);
        state.running++;
        state.most = Math.max(state.most, state.running);
        const gate = deferred();
        state.gates.push(gate.resolve);
        await gate.promise;
        state.running--;
        return `item ${id}`;
      },
    },
  });
  return { url: service.url, state };
}

async function gateway(t: TestContext, url: string, admission: number | 'off', logger = captureLogs().logger): Promise<RunningGateway> {
  return startGateway(
    t,
    [{ name: 'items', kind: 'graphql', url }],
    { server: { admission }, telemetry: { metrics: { enabled: true }, status: { enabled: true } } },
    { logger },
  );
}

/** Waits (bounded polling) until `check` holds. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ask = (gw: RunningGateway, id: string, signal?: AbortSignal) =>
  fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': `req-${id}` },
    body: JSON.stringify({ query: `{ item(id: "${id}") }` }),
    signal,
  });

test('a fixed limit: requests beyond it wait in arrival order, all are answered, the wait is logged and counted', async (t) => {
  const upstream = await heldUpstream(t);
  const { lines, logger } = captureLogs();
  const gw = await gateway(t, upstream.url, 1, logger);
  const first = ask(gw, 'a');
  await until('the first request reaches the upstream', () => upstream.state.seen.length === 1);
  const rest = ['b', 'c'].map((id) => ask(gw, id));
  // Both others have arrived and wait: the gauge says so, the upstream has seen one request only.
  const metrics = async () => (await fetch(new URL('/metrics', gw.url))).text();
  let text = '';
  await until('tessera_admission_queued is 2', async () => sample((text = await metrics()), 'tessera_admission_queued') === 2);
  assert.equal(sample(text, 'tessera_admission_limit'), 1);
  // The status page's JSON says the same.
  const status = async () => ((await (await fetch(new URL('/_tessera/api', gw.url))).json()) as StatusSnapshot).admission;
  assert.deepEqual(await status(), { limit: 1, active: 1, queued: 2, waited: 0, dropped: 0 });
  // Released one by one: each next request reaches the upstream only after the previous answered.
  for (let i = 1; i <= 3; i++) {
    await until(`request ${i} at the upstream`, () => upstream.state.gates.length === i);
    upstream.state.gates[i - 1]!();
  }
  const answers = await Promise.all([first, ...rest].map(async (r) => (await r).json() as Promise<{ data: { item: string } }>));
  assert.deepEqual(
    answers.map((a) => a.data.item),
    ['item a', 'item b', 'item c'],
  );
  assert.equal(upstream.state.most, 1, 'the upstream never saw two requests at once');
  assert.deepEqual(upstream.state.seen, ['a', 'b', 'c'], 'in arrival order');

  const requestLines = lines.filter((l) => l.msg === 'request');
  const byId = new Map(requestLines.map((l) => [l.requestId, l]));
  assert.equal(byId.get('req-a')?.queuedMs, undefined, 'the first did not wait');
  for (const id of ['req-b', 'req-c']) {
    const line = byId.get(id)!;
    assert.ok(typeof line.queuedMs === 'number' && line.queuedMs > 0, `${id} logs its wait`);
    assert.ok((line.durationMs as number) >= (line.queuedMs as number), `${id}: the wait is inside its duration`);
  }
  text = await metrics();
  assert.equal(sample(text, 'tessera_admission_wait_seconds_count'), 3);
  assert.equal(sample(text, 'tessera_admission_wait_seconds_bucket', { le: '0' }), 1, 'one request started without waiting');
  assert.equal(sample(text, 'tessera_admission_queued'), 0);
  assert.deepEqual(await status(), { limit: 1, active: 0, queued: 0, waited: 2, dropped: 0 });
});

test('a client that leaves while its request waits: the request never reaches the upstream, the next one still runs (docs/reliability.md row 91)', async (t) => {
  const upstream = await heldUpstream(t);
  const gw = await gateway(t, upstream.url, 1);
  // The gateway's own response objects, by request id (node:http's diagnostics channel; the gateway runs in this process).
  const responses = new Map<string, ServerResponse>();
  const onRequest = (message: unknown): void => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    responses.set(String(request.headers['x-request-id']), response);
  };
  subscribe('http.server.request.start', onRequest);
  t.after(() => unsubscribe('http.server.request.start', onRequest));
  const first = ask(gw, 'a');
  await until('the first request reaches the upstream', () => upstream.state.seen.length === 1);
  const leaving = new AbortController();
  const gone = ask(gw, 'gone', leaving.signal).catch((error: Error) => error.name);
  let text = '';
  const metrics = async () => (text = await (await fetch(new URL('/metrics', gw.url))).text());
  await until('the second request waits', async () => sample(await metrics(), 'tessera_admission_queued') === 1);
  leaving.abort();
  assert.equal(await gone, 'AbortError');
  // The gateway learns of the disconnect when node:http reads the socket's end: wait for that, not for a time.
  await until('the gateway sees the client leave', () => responses.get('req-gone')?.closed === true);
  const third = ask(gw, 'c');
  upstream.state.gates[0]!();
  await until('the third request reaches the upstream', () => upstream.state.gates.length === 2);
  upstream.state.gates[1]!();
  assert.equal(((await (await first).json()) as { data: { item: string } }).data.item, 'item a');
  assert.equal(((await (await third).json()) as { data: { item: string } }).data.item, 'item c');
  assert.deepEqual(upstream.state.seen, ['a', 'c'], 'the request whose client left was never started');
  await metrics();
  assert.equal(sample(text, 'tessera_admission_dropped_total'), 1);
  const snapshot = (await (await fetch(new URL('/_tessera/api', gw.url))).json()) as StatusSnapshot;
  assert.equal(snapshot.admission?.dropped, 1, 'the status page counts it too');
  // The place the dropped request never held was not given back twice: one at a time still.
  assert.equal(upstream.state.most, 1);
});

test('server.admission: off starts every request as it arrives', async (t) => {
  const upstream = await heldUpstream(t);
  const gw = await gateway(t, upstream.url, 'off');
  const answers = ['a', 'b', 'c'].map((id) => ask(gw, id));
  await until('all three at the upstream at once', () => upstream.state.running === 3);
  for (const release of upstream.state.gates) release();
  assert.equal((await Promise.all(answers)).every((r) => r.status === 200), true);
  const text = await (await fetch(new URL('/metrics', gw.url))).text();
  assert.equal(sample(text, 'tessera_admission_wait_seconds_count') ?? 0, 0, 'nothing is counted when off');
  const snapshot = (await (await fetch(new URL('/_tessera/api', gw.url))).json()) as StatusSnapshot;
  assert.equal(snapshot.admission, null, 'the status page shows no admission when off');
});

test('a streamed answer (an SSE subscription) is never held and holds no place: with a limit of 1, queries still run beside it', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { ok: Boolean! } type Subscription { ticks: Int! }', {
    Query: { ok: () => true },
    Subscription: { ticks: endlessTicks(5) },
  });
  const gw = await startGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }], { server: { admission: 1 } });
  const subscription = await sse(t, gw.url, 'subscription { ticks }');
  assert.deepEqual(await subscription.next(), { data: { ticks: 0 } });
  const answers = await Promise.all([gw.query('{ ok }'), gw.query('{ ok }')]);
  assert.deepEqual(
    answers.map((a) => a.body),
    [{ data: { ok: true } }, { data: { ok: true } }],
  );
  assert.deepEqual(await subscription.next(), { data: { ticks: 1 } }, 'the subscription still streams');
  subscription.close();
});

test('the wait for a place counts towards server.requestDeadline: a request that waited it out gets no time of its own', async (t) => {
  const upstream = await heldUpstream(t);
  const gw = await startGateway(t, [{ name: 'items', kind: 'graphql', url: upstream.url }], { server: { admission: 1, requestDeadline: '300ms' } });
  // The first request holds the only place until its own deadline cuts it; the second waits all that time.
  const first = ask(gw, 'a');
  await until('the first request reaches the upstream', () => upstream.state.seen.length === 1);
  const second = ask(gw, 'b');
  type Answer = { errors?: Array<{ message: string; extensions?: { code?: string } }> };
  const [firstAnswer, secondAnswer] = (await Promise.all([first, second].map(async (r) => (await r).json()))) as Answer[];
  for (const release of upstream.state.gates) release();
  // Each upstream call gets what is left of its request's deadline, and says how much that was; a request
  // with nothing left is not sent at all, and says that instead (budget 0).
  const budget = (answer: Answer | undefined): number => {
    assert.equal(answer?.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    const message = answer.errors[0].message;
    if (/no time left in the request deadline/.test(message)) return 0;
    const ms = Number(/within ([\d.]+) ms/.exec(message)?.[1]);
    assert.ok(Number.isFinite(ms), `the timeout names the time the call had: ${message}`);
    return ms;
  };
  assert.ok(budget(firstAnswer) > 150, 'the first had (almost) its whole deadline');
  const left = budget(secondAnswer);
  assert.ok(left < 150, `the second had only what its wait left: ${secondAnswer?.errors?.[0]?.message}`);
  if (left === 0) assert.equal(upstream.state.seen.length, 1, 'a request with no time left never reaches the upstream');
});
