/**
 * Adaptive protection with real servers on loopback: a GraphQL subgraph whose
 * answers turn slow under closed-loop load sees its adaptive concurrency
 * limit shrink, the calls over it shed at once with SUBGRAPH_OVERLOADED at
 * the field's path while another subgraph's field in the same query
 * resolves; when it is fast again the limit grows back. Read where an
 * operator reads it: the answers, /metrics, the status page's JSON, the log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { TesseraError } from '../../src/errors.js';
import { createScope } from '../../src/request-scope.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { serve } from '../../subgraphs/lib/serve.js';
import { concurrencyChannel } from '../../src/transport/stages/concurrency.js';
import type { ConcurrencyEvent } from '../../src/events.js';
import type { StatusSnapshot } from '../../src/telemetry/status.js';
import { captureLogs, type GraphqlResponse, grpcUpstream, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { sample } from '../kit/metrics.js';

/** At most the limit's maximum: when the upstream is fast, every call fits. */
const CLIENTS = 6;

test('the adaptive concurrency limit shrinks under a slow upstream, sheds with SUBGRAPH_OVERLOADED at the field path, and recovers when it is fast again (docs/reliability.md row 56)', async (t) => {
  let delayMs = 0;
  const slow = await startGraphqlUpstream(t, 'type Query { hello: String }', {
    Query: { hello: () => new Promise((resolve) => setTimeout(() => resolve('world'), delayMs)) },
  });
  const steady = await startGraphqlUpstream(t, 'type Query { other: String! }', { Query: { other: () => 'fine' } });
  // The limit as the gateway last published it.
  let limit = 0;
  const onLimit = (message: unknown): void => {
    const event = message as ConcurrencyEvent;
    if (event.subgraph === 'struggling') limit = event.limit;
  };
  concurrencyChannel.subscribe(onLimit);
  t.after(() => concurrencyChannel.unsubscribe(onLimit));
  const { lines, logger } = captureLogs('debug');
  const gateway = await startGateway(
    t,
    [
      {
        kind: 'graphql',
        name: 'struggling',
        url: slow.url,
        timeout: '5s',
        adaptiveConcurrency: { initialLimit: 8, minLimit: 1, maxLimit: 8, latency: '250ms', backoff: 0.5 },
      },
      { kind: 'graphql', name: 'steady', url: steady.url },
    ],
    // Dedupe off: every query is the same, and each must be its own upstream call.
    { mode: 'development', cache: { dedupe: false }, telemetry: { metrics: { enabled: true }, status: { enabled: true } } },
    { logger },
  );

  const overloaded: GraphqlResponse[] = [];
  const unexpected: string[] = [];
  let stop: () => boolean = () => true;
  const client = async (): Promise<void> => {
    while (!stop()) {
      const res = await gateway.query('{ hello other }');
      const codes = (res.body.errors ?? []).map((e) => e.extensions?.code);
      if (codes.includes('SUBGRAPH_OVERLOADED')) overloaded.push(res);
      else if (res.status !== 200 || codes.length > 0 || res.body.data?.hello !== 'world') unexpected.push(res.text);
    }
  };
  const load = async (until: () => boolean): Promise<void> => {
    stop = until;
    await Promise.all(Array.from({ length: CLIENTS }, () => client()));
  };

  // Warm-up, fast (a loaded machine may still see an answer over the bound now and then, which would cut the limit).
  let answered = 0;
  await load(() => ++answered > 60);
  assert.deepEqual(unexpected, []);

  // Slow (4× the latency bound): each round trip halves the limit, down to 1; calls over it are shed.
  delayMs = 1_000;
  await load(() => limit === 1 && overloaded.length >= 20);
  assert.deepEqual(unexpected, []);
  const shed = overloaded[0]!;
  assert.equal(shed.status, 200);
  // Located: the struggling subgraph's field is null with the error at its path; the other subgraph's field resolves.
  assert.deepEqual(shed.body.data, { hello: null, other: 'fine' });
  const error = shed.body.errors!.find((e) => e.extensions?.code === 'SUBGRAPH_OVERLOADED')!;
  assert.deepEqual(error.path, ['hello']);
  assert.equal(error.extensions?.subgraph, 'struggling');
  assert.match(error.message, /^Subgraph "struggling" was not called: it is overloaded \(\d+ calls in flight at its adaptive concurrency limit of \d+\)\.$/);
  const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  assert.equal(sample(metrics, 'tessera_concurrency_limit', { subgraph: 'struggling' }), 1);
  assert.ok((sample(metrics, 'tessera_concurrency_shed_total', { subgraph: 'struggling' }) ?? 0) >= 20);
  assert.equal(sample(metrics, 'tessera_concurrency_limit', { subgraph: 'steady' }), undefined, 'no limit where the descriptor has none');
  const page = (await (await fetch(new URL('/_tessera/api', gateway.url))).json()) as StatusSnapshot;
  const struggling = page.subgraphs.find((s) => s.name === 'struggling')!;
  assert.ok(struggling.concurrency !== 'off');
  assert.equal(struggling.concurrency.limit, 1);
  assert.ok(struggling.concurrency.shed >= 20);
  assert.equal(page.subgraphs.find((s) => s.name === 'steady')!.concurrency, 'off');
  // For the person on call: one warn line for the shedding (rate-limited), the limit's moves at debug.
  const warns = lines.filter((l) => l.level === 40 && l.subgraph === 'struggling');
  assert.equal(warns.length, 1, JSON.stringify(warns));
  assert.match(String(warns[0]!.msg), /^subgraph overloaded: calls shed with SUBGRAPH_OVERLOADED at its adaptive concurrency limit of \d+/);
  assert.ok(lines.some((l) => l.level === 20 && l.subgraph === 'struggling' && l.msg === 'adaptive concurrency limit changed' && l.limit === 1));

  // Fast again: the limit grows back to its maximum while the load uses it.
  delayMs = 0;
  await load(() => limit === 8);
  assert.deepEqual(unexpected, []);
  const after = await (await fetch(new URL('/metrics', gateway.url))).text();
  assert.equal(sample(after, 'tessera_concurrency_limit', { subgraph: 'struggling' }), 8);
  // Once recovered, the load is answered again (shedding only if an answer is over the bound: not asserted, a loaded machine may see one).
  const shedBefore = overloaded.length;
  answered = 0;
  await load(() => ++answered > 60);
  assert.deepEqual(unexpected, []);
  assert.ok(overloaded.length - shedBefore < 60, 'most calls are answered once the limit has recovered');
});

test("REST and gRPC upstreams alike: with the limit's slots held by calls in flight, the next call is shed at once with SUBGRAPH_OVERLOADED, and a slot freed is used again (docs/reliability.md row 56)", async (t) => {
  const options = { initialLimit: 2, minLimit: 1, maxLimit: 2, latencyMs: 60_000, backoff: 0.5 };
  // HTTP: answers held until released.
  const held: Array<() => void> = [];
  const rest = await serve(0, (_req, res) => held.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
  t.after(() => rest.close());
  const http = new HttpUpstream({
    subgraph: 'limited-http',
    instances: [{ url: rest.url, weight: 1 }],
    timeout: 10_000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 4,
    retry: { attempts: 2, backoff: 10 },
    adaptiveConcurrency: options,
  });
  t.after(() => http.close());
  const get = () => http.request({ method: 'GET', path: '/', idempotent: true, scope: createScope({ deadlineMs: 20_000 }) });
  const first = [get(), get()];
  await waitFor(() => held.length === 2);
  await assert.rejects(get(), (error: TesseraError) => error.code === 'SUBGRAPH_OVERLOADED' && error.extensions.subgraph === 'limited-http');
  held.shift()!();
  await first[0];
  const third = get();
  await waitFor(() => held.length === 2);
  for (const release of held.splice(0)) release();
  await Promise.all([first[1], third]);

  // gRPC: the standard health method, answered when released.
  const pending: Array<() => void> = [];
  const server = new grpc.Server();
  server.addService(
    { Check: { path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
    { Check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => pending.push(() => callback(null, Buffer.from([0x08, 0x01]))) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  const rpc = grpcUpstream(t, {
    subgraph: 'limited-grpc',
    instances: [{ url: `grpc://127.0.0.1:${port}`, weight: 1 }],
    timeout: 10_000,
    retry: { attempts: 2, backoff: 10 },
    adaptiveConcurrency: options,
  });
  const check = { path: '/grpc.health.v1.Health/Check', serialize: pass, deserialize: pass, readOnly: true };
  const call = () => rpc.unary(check, { request: Buffer.alloc(0), scope: createScope({ deadlineMs: 20_000 }) });
  const calls = [call(), call()];
  await waitFor(() => pending.length === 2);
  await assert.rejects(call(), (error: TesseraError) => error.code === 'SUBGRAPH_OVERLOADED' && error.extensions.subgraph === 'limited-grpc');
  for (const release of pending.splice(0)) release();
  assert.deepEqual((await Promise.all(calls)).map((b) => b.toString('hex')), ['0801', '0801']);
});

const pass = (bytes: Buffer): Buffer => bytes;

/** Resolves once `condition` holds, checked every 10 ms (at most 20 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'condition not met within 20 s');
}
