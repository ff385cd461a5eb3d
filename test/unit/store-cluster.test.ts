/**
 * The request/response helper between a worker and the cluster primary
 * (src/store/cluster.ts), over a real IPC channel to a child process playing
 * the primary: values survive the channel's JSON, and a primary that does
 * not answer, or a channel that closes, is a StoreUnavailableError, as a
 * Redis outage is. And the other direction, the primary asking workers for
 * their metrics (src/store/cluster-metrics.ts): a worker that does not answer
 * is left out of the scrape and counted as missing; and any question put to
 * every worker (src/store/cluster-group.ts, the admin endpoints' way): each
 * answer comes with its worker's pid, and a worker that does not answer in
 * time is listed as missing by its pid.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { IpcClient, type SharedStateOps } from '../../src/store/cluster.js';
import { ClusterWorkers } from '../../src/store/cluster-group.js';
import { clusterScrape } from '../../src/store/cluster-metrics.js';
import type { Entry } from '../../src/store/response-cache.js';

const PRIMARY = new URL('../fixtures/store/primary-process.ts', import.meta.url).pathname;

async function startPrimary(t: TestContext, mode: 'answering' | 'silent'): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', PRIMARY, mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const [message] = (await once(child, 'message')) as [unknown];
  assert.equal(message, 'ready');
  return child;
}

function clientOf(t: TestContext, child: ChildProcess, timeoutMs: number): IpcClient<SharedStateOps> {
  const client = new IpcClient<SharedStateOps>(child, { name: 'cluster primary', timeoutMs });
  t.after(() => client.close());
  return client;
}

/** The message of the StoreUnavailableError a request rejects with (told by its code and name, as callers do). */
async function unavailable(request: Promise<unknown>): Promise<string> {
  const error = (await request.then(
    () => assert.fail('expected the request to reject'),
    (e: unknown) => e,
  )) as Error & { code?: string };
  assert.equal(error.code, 'STORE_UNAVAILABLE');
  assert.equal(error.name, 'StoreUnavailableError');
  return error.message;
}

test('a primary that does not answer: the request rejects with StoreUnavailableError after the timeout, and nothing is left waiting', async (t) => {
  const client = clientOf(t, await startPrimary(t, 'silent'), 100);
  const request = client.request('kv.get', 'apq:web', 10, 'abc');
  assert.equal(client.waiting, 1);
  assert.equal(await unavailable(request), 'store cluster primary did not answer: timed out after 100 ms');
  assert.equal(client.waiting, 0);
});

test('a channel that closes rejects what is waiting at once (not at the timeout), and every later request', async (t) => {
  const child = await startPrimary(t, 'silent');
  const client = clientOf(t, child, 50_000);
  const request = client.request('rc.get', 'responses', 10, 'k');
  child.kill('SIGKILL');
  assert.equal(await unavailable(request), 'store cluster primary did not answer: its IPC channel closed');
  assert.equal(client.waiting, 0);
  assert.equal(await unavailable(client.request('kv.get', 'apq:web', 10, 'abc')), 'store cluster primary did not answer: its IPC channel is closed');
});

test("answered from the primary's memory: key-value namespaces, and response-cache entries with their entities, across JSON", async (t) => {
  const client = clientOf(t, await startPrimary(t, 'answering'), 10_000);
  assert.equal(await client.request('kv.get', 'apq:web', 10, 'h1'), null);
  assert.equal(await client.request('kv.set', 'apq:web', 10, 'h1', '{ hello }', 0), null);
  assert.equal(await client.request('kv.get', 'apq:web', 10, 'h1'), '{ hello }');
  assert.equal(await client.request('kv.get', 'apq:mobile', 10, 'h1'), null, 'one namespace per name');
  await client.request('kv.delete', 'apq:web', 10, 'h1');
  assert.equal(await client.request('kv.get', 'apq:web', 10, 'h1'), null);

  const lamp: Entry = {
    r: { data: { product: { __typename: 'Product', id: '1', name: 'lämp "x"', price: 10.5, tags: ['a'], parent: null } } },
    x: Date.now() + 60_000,
    t: '"0123456789abcdef0123-lx"',
  };
  const desk: Entry = { ...lamp, r: { data: { product: { __typename: 'Product', id: '2' } } }, t: '"desk"' };
  await client.request('rc.set', 'responses', 10, 'k1', lamp, [{ typename: 'Product', id: 1 }], 60_000);
  await client.request('rc.set', 'responses', 10, 'k2', desk, [{ typename: 'Product', id: '2' }], 60_000);
  assert.deepEqual(await client.request('rc.get', 'responses', 10, 'k1'), lamp);
  await client.request('rc.invalidate', 'responses', 10, [{ typename: 'Product', id: '1' }]);
  assert.equal(await client.request('rc.get', 'responses', 10, 'k1'), null, 'Product:1 dropped');
  assert.deepEqual(await client.request('rc.get', 'responses', 10, 'k2'), desk, 'Product:2 kept');

  const unknown = client as unknown as IpcClient<{ nope: { args: []; value: null } }>;
  assert.equal(await unavailable(unknown.request('nope')), 'store cluster primary did not answer: no operation "nope"');
});

const METRICS_WORKER = new URL('../fixtures/store/metrics-worker-process.ts', import.meta.url).pathname;

async function startMetricsWorker(t: TestContext, ...args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', METRICS_WORKER, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const [message] = (await once(child, 'message')) as [unknown];
  assert.equal(message, 'ready');
  return child;
}

test("the primary's key-value entries expire at the TTL they were written with, unless a read asking for a TTL starts it again (the canary guard's shared decisions, docs/reliability.md row 76)", async (t) => {
  const client = clientOf(t, await startPrimary(t, 'answering'), 10_000);
  await client.request('kv.set', 'canary', 10, 'read', 'guarded', 150);
  await client.request('kv.set', 'canary', 10, 'unread', 'guarded', 150);
  assert.equal(await client.request('kv.get', 'canary', 10, 'read', 60_000), 'guarded');
  assert.equal(await client.request('kv.get', 'canary', 10, 'missing', 60_000), null, 'a read with a TTL makes no entry');
  // Past the 150 ms the entries were written with.
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(await client.request('kv.get', 'canary', 10, 'unread'), null);
  assert.equal(await client.request('kv.get', 'canary', 10, 'read'), 'guarded');
  assert.equal(await client.request('kv.get', 'canary', 10, 'missing'), null);
});

test('the primary aggregates the workers that answer a metrics scrape, and counts the one that does not as missing', async (t) => {
  const workers = [await startMetricsWorker(t, 'answering', '3'), await startMetricsWorker(t, 'answering', '4'), await startMetricsWorker(t, 'silent')];
  const group = new ClusterWorkers();
  workers.forEach((worker) => group.add(worker, worker, worker.pid!, () => worker.connected));
  t.after(() => workers.forEach((worker) => group.remove(worker)));
  const { text, workers: answered, missing } = await clusterScrape(group)();
  assert.equal(answered, 2);
  assert.equal(missing, 1);
  assert.match(text, /^tessera_dedupe_hits_total\{channel="web"\} 7$/m, 'the counters of the two that answered, summed');
  assert.match(text, /^tessera_metrics_workers_missing 1$/m);
  assert.match(text, /^tessera_metrics_workers 2$/m);
});

// docs/reliability.md row 43
test('a question to every worker: each answer with its pid, the worker that does not answer listed as missing, the others not held up by it', async (t) => {
  const [a, b, silent] = [await startMetricsWorker(t, 'answering', '1'), await startMetricsWorker(t, 'answering', '2'), await startMetricsWorker(t, 'silent')];
  const group = new ClusterWorkers();
  for (const worker of [a!, b!, silent!]) group.add(worker, worker, worker.pid!, () => worker.connected);
  t.after(() => [a!, b!, silent!].forEach((worker) => group.remove(worker)));
  const { answers, missing } = await group.gather('echo', ['status.part', 42]);
  assert.deepEqual(
    answers.map(({ pid, value }) => [pid, value]).sort(),
    [
      [a!.pid, { pid: a!.pid, args: ['status.part', 42] }],
      [b!.pid, { pid: b!.pid, args: ['status.part', 42] }],
    ].sort(),
  );
  assert.deepEqual(missing, [silent!.pid]);

  // A worker that has gone (its channel closed) is not asked at all; the next question has one answer less.
  b!.kill('SIGKILL');
  await once(b!, 'exit');
  const after = await group.gather('echo', []);
  assert.deepEqual(after.answers.map(({ pid }) => pid), [a!.pid]);
  assert.deepEqual(after.missing, [silent!.pid]);
});
