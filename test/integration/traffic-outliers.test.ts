/**
 * Failure-rate outlier ejection with real servers on loopback, counted at the
 * servers: an instance failing 40% of its calls while the others fail none
 * is ejected (never in a row often enough for the consecutive-failures
 * rule); two such instances of three: only one is, within the
 * max-ejection-percent cap; an upstream failing alike everywhere ejects
 * nothing. Then, through a gateway, what the person on call sees.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createScope } from '../../src/request-scope.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { breakerChannel, type BreakerEvent, type OutlierOptions } from '../../src/transport/breaker.js';
import { serve } from '../../subgraphs/lib/serve.js';
import { captureLogs, startGateway, tempProject } from '../kit/index.js';
import { sample } from '../kit/metrics.js';

interface Instance {
  url: string;
  calls: number;
}

/** An instance answering 500 to `failing` of every 5 calls (2: calls 1 and 3 of each 5, never two in a row), 200 to the rest. */
async function instance(t: TestContext, failing: 0 | 2, body = '{}'): Promise<Instance> {
  const state: Instance = { url: '', calls: 0 };
  const service = await serve(0, (_req, res) => {
    const n = state.calls++ % 5;
    const fail = failing === 2 && (n === 1 || n === 3);
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' }).end(body);
  });
  state.url = service.url;
  t.after(() => service.close());
  return state;
}

function ejections(t: TestContext, subgraph: string): BreakerEvent[] {
  const opened: BreakerEvent[] = [];
  const onBreaker = (message: unknown): void => {
    const event = message as BreakerEvent;
    if (event.subgraph === subgraph && event.state === 'open') opened.push(event);
  };
  breakerChannel.subscribe(onBreaker);
  t.after(() => breakerChannel.unsubscribe(onBreaker));
  return opened;
}

/** Failure-rate ejection alone: no error-rate breaker, and a consecutive-failures rule a 2-in-5 pattern never meets. */
const OUTLIERS: OutlierOptions = { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectedPercent: 50, failureRate: { minCalls: 20, margin: 0.15 } };

function upstream(t: TestContext, subgraph: string, instances: Instance[]): HttpUpstream {
  const http = new HttpUpstream({
    subgraph,
    instances: instances.map((i) => ({ url: i.url, weight: 1 })),
    timeout: 5000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 8,
    retry: { attempts: 1, backoff: 10 },
    breaker: false,
    outliers: OUTLIERS,
  });
  t.after(() => http.close());
  return http;
}

const get = (http: HttpUpstream) => http.request({ method: 'GET', path: '/', idempotent: true, scope: createScope({ deadlineMs: 10_000 }) });

test('an instance failing 40% of its calls while the others fail none is ejected by failure rate, then gets no calls (docs/reliability.md row 57)', async (t) => {
  const good = [await instance(t, 0), await instance(t, 0)];
  const flaky = await instance(t, 2);
  const opened = ejections(t, 'flaky-rate');
  const http = upstream(t, 'flaky-rate', [...good, flaky]);
  for (let i = 0; i < 90; i++) await get(http);
  assert.deepEqual(
    opened.map((e) => [e.instance, e.cause, e.openForMs]),
    [[flaky.url, 'failure-rate', 60_000]],
  );
  // From then on the two good instances share every call.
  const before = [good[0]!.calls, good[1]!.calls, flaky.calls];
  for (let i = 0; i < 40; i++) await get(http);
  assert.deepEqual([good[0]!.calls - before[0]!, good[1]!.calls - before[1]!, flaky.calls - before[2]!], [20, 20, 0]);
});

test('failure-rate ejection stays within the cap: two of three instances failing 40%, only one (50% of 3, rounded down) is ejected (docs/reliability.md row 57)', async (t) => {
  const good = await instance(t, 0);
  const flaky = [await instance(t, 2), await instance(t, 2)];
  const opened = ejections(t, 'flaky-cap');
  const http = upstream(t, 'flaky-cap', [good, ...flaky]);
  for (let i = 0; i < 150; i++) await get(http);
  assert.equal(opened.length, 1, JSON.stringify(opened));
  assert.equal(opened[0]!.cause, 'failure-rate');
  const kept = flaky.find((f) => f.url !== opened[0]!.instance)!;
  const before = kept.calls;
  for (let i = 0; i < 20; i++) await get(http);
  assert.equal(kept.calls - before, 10, 'the flaky instance left in keeps its share');
});

test('an upstream failing 40% on every instance alike is not an outlier anywhere: nothing is ejected (docs/reliability.md row 57)', async (t) => {
  const all = [await instance(t, 2), await instance(t, 2), await instance(t, 2)];
  const opened = ejections(t, 'flaky-all');
  const http = upstream(t, 'flaky-all', all);
  for (let i = 0; i < 150; i++) await get(http);
  assert.deepEqual(opened, []);
});

test('through the gateway: a failure-rate ejection is a warn line naming the instance and the cause, and a metric (docs/reliability.md row 57)', async (t) => {
  const body = JSON.stringify({ data: { hello: 'world' } });
  const good = [await instance(t, 0, body), await instance(t, 0, body)];
  const flaky = await instance(t, 2, body);
  const { lines, logger } = captureLogs();
  // The schema from a file: no introspection call to count.
  const dir = tempProject(t, { 'flaky.graphql': 'type Query { hello: String }' });
  const gateway = await startGateway(
    t,
    [
      {
        kind: 'graphql',
        name: 'flaky',
        source: './flaky.graphql',
        dir,
        upstreams: [{ url: good[0]!.url }, { url: good[1]!.url }, { url: flaky.url }],
        retry: { attempts: 1 },
        breaker: false,
        outliers: { consecutiveFailures: 3, baseEjection: '1m', failureRate: { minCalls: 20, margin: 0.15 } },
      },
    ],
    { cache: { dedupe: false }, telemetry: { metrics: { enabled: true } } },
    { logger },
  );
  for (let i = 0; i < 90; i++) await gateway.query('{ hello }');
  const ejected = lines.find((l) => l.subgraph === 'flaky' && l.cause === 'failure-rate');
  assert.equal(ejected?.level, 40);
  assert.equal(ejected?.instance, flaky.url);
  assert.match(String(ejected?.msg), /^instance ejected after a failure rate above the other instances': no calls for 60 s, then one probe/);
  const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  assert.equal(sample(metrics, 'tessera_outlier_ejections_total', { subgraph: 'flaky', instance: flaky.url, cause: 'failure-rate' }), 1);
});
