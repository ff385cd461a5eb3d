/**
 * Dead-instance failover under load, with real processes on loopback: one
 * of two instances of a GraphQL subgraph is killed with SIGKILL while ten
 * clients send queries, then started again on the same port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamChannel, type UpstreamEvent } from '../../src/transport/stages/observe.js';
import { breakerChannel, type BreakerEvent } from '../../src/transport/breaker.js';
import * as grpc from '@grpc/grpc-js';
import { createScope } from '../../src/request-scope.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { serve } from '../../subgraphs/lib/serve.js';
import { captureLogs, freePort, grpcUpstream, startGateway, startUpstreamProcess } from '../kit/index.js';
import { sample } from '../kit/metrics.js';

const CLIENTS = 10;

/** Answers per instance URL, counted from the gateway's upstream events. */
function answersByInstance(t: import('node:test').TestContext, subgraph: string): Map<string, number> {
  const counts = new Map<string, number>();
  const onEvent = (message: unknown): void => {
    const event = message as UpstreamEvent;
    if (event.subgraph === subgraph && event.status === 200) counts.set(event.instance, (counts.get(event.instance) ?? 0) + 1);
  };
  upstreamChannel.subscribe(onEvent);
  t.after(() => upstreamChannel.unsubscribe(onEvent));
  return counts;
}

/** Resolves once `condition` holds, checked after each answer of the load. */
function when(condition: () => boolean): { promise: Promise<void>; check(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, check: () => condition() && resolve() };
}

test('one of two instances killed with SIGKILL under load, then restarted: no query fails, the dead one is ejected and comes back (docs/reliability.md row 46)', async (t) => {
  const a = await startUpstreamProcess(t, 'graphql/instance.ts', ['a'], '/graphql');
  const b = await startUpstreamProcess(t, 'graphql/instance.ts', ['b'], '/graphql');
  const answers = answersByInstance(t, 'failover');
  const breaker: BreakerEvent[] = [];
  const onBreaker = (message: unknown): void => {
    if ((message as BreakerEvent).subgraph === 'failover') breaker.push(message as BreakerEvent);
  };
  breakerChannel.subscribe(onBreaker);
  t.after(() => breakerChannel.unsubscribe(onBreaker));
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(
    t,
    [
      // The default retry budget and attempts; a short ejection so that the restarted instance is probed within the test.
      { kind: 'graphql', name: 'failover', upstreams: [{ url: a.url }, { url: b.url }], outliers: { consecutiveFailures: 3, baseEjection: '300ms' } },
    ],
    { telemetry: { metrics: { enabled: true } } },
    { logger },
  );

  let answered = 0;
  const failures: string[] = [];
  let stop = false;
  const waits: Array<{ check(): void }> = [];
  const client = async (): Promise<void> => {
    while (!stop) {
      const res = await gateway.query('{ hello instance }');
      answered++;
      if (res.status !== 200 || res.body.errors || res.body.data?.hello !== 'world') failures.push(res.text);
      for (const w of waits) w.check();
    }
  };
  const clients = Array.from({ length: CLIENTS }, () => client());

  const warmed = when(() => (answers.get(a.url) ?? 0) >= 50 && (answers.get(b.url) ?? 0) >= 50);
  waits.push(warmed);
  await warmed.promise;

  await a.kill();
  const killedAt = answered;
  const servedWhileDead = when(() => answered >= killedAt + 500);
  waits.push(servedWhileDead);
  await servedWhileDead.promise;

  await a.start();
  const beforeReturn = answers.get(a.url) ?? 0;
  const back = when(() => (answers.get(a.url) ?? 0) >= beforeReturn + 50);
  waits.push(back);
  await back.promise;
  stop = true;
  await Promise.all(clients);

  assert.deepEqual(failures, [], `${failures.length} of ${answered} queries failed`);
  // Ejected by outlier detection while dead, closed again after its probe once back.
  assert.ok(breaker.some((e) => e.instance === a.url && e.state === 'open' && e.cause === 'consecutive-failures'), JSON.stringify(breaker));
  assert.equal(breaker.filter((e) => e.instance === a.url).at(-1)?.state, 'closed');
  assert.ok(!breaker.some((e) => e.instance === b.url && e.state === 'open'), 'the healthy instance was never ejected');
  // For the person on call: a warning naming the instance, the cause and how long it is out.
  const ejected = lines.find((l) => l.subgraph === 'failover' && l.cause === 'consecutive-failures');
  assert.equal(ejected?.level, 40);
  assert.equal(ejected?.instance, a.url);
  assert.match(String(ejected?.msg), /^instance ejected after consecutive failures: no calls for 0\.3 s, then one probe/);
  const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  assert.ok((sample(metrics, 'tessera_outlier_ejections_total', { subgraph: 'failover', instance: a.url, cause: 'consecutive-failures' }) ?? 0) >= 1);
  assert.equal(sample(metrics, 'tessera_outlier_ejections_total', { subgraph: 'failover', instance: b.url, cause: 'consecutive-failures' }), undefined);
});

test('a read refused at the connection moves to the other instance, even with retry.attempts: 1, HTTP and gRPC alike; a write is not moved', async (t) => {
  const dead = await freePort();
  // HTTP: one live instance, one port nothing listens on.
  const live = await serve(0, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  t.after(() => live.close());
  const http = new HttpUpstream({
    subgraph: 'refused-http',
    instances: [
      { url: `http://127.0.0.1:${dead}`, weight: 1 },
      { url: live.url, weight: 1 },
    ],
    timeout: 2000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 4,
    retry: { attempts: 1, backoff: 10 },
    // Never ejected within the test: every call meets the dead instance in turn.
    outliers: false,
    breaker: false,
  });
  t.after(() => http.close());
  const call = (idempotent: boolean) => http.request({ method: idempotent ? 'GET' : 'POST', path: '/', idempotent, scope: createScope({ deadlineMs: 5000 }) });
  const reads = await Promise.allSettled(Array.from({ length: 20 }, () => call(true)));
  assert.deepEqual(
    reads.map((r) => r.status),
    Array(20).fill('fulfilled'),
  );
  const writes = await Promise.allSettled(Array.from({ length: 4 }, () => call(false)));
  assert.deepEqual(
    writes.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok')),
    ['SOURCE_UNAVAILABLE', 'ok', 'SOURCE_UNAVAILABLE', 'ok'],
  );

  // gRPC: the standard health method as the read, on a live server and a dead port.
  const server = new grpc.Server();
  server.addService(
    { Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
    { Check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from([0x08, 0x01])) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  const rpc = grpcUpstream(t, {
    subgraph: 'refused-grpc',
    instances: [
      { url: `grpc://127.0.0.1:${dead}`, weight: 1 },
      { url: `grpc://127.0.0.1:${port}`, weight: 1 },
    ],
    outliers: false,
    breaker: false,
  });
  const check = { path: '/grpc.health.v1.Health/Check', serialize: pass, deserialize: pass, readOnly: true };
  const answers = await Promise.allSettled(Array.from({ length: 10 }, () => rpc.unary(check, { request: Buffer.alloc(0), scope: createScope({ deadlineMs: 5000 }) })));
  assert.deepEqual(
    answers.map((r) => (r.status === 'fulfilled' ? r.value.toString('hex') : (r.reason as Error).message)),
    Array(10).fill('0801'),
  );
});

const pass = (bytes: Buffer): Buffer => bytes;
