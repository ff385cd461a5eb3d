/**
 * Balancing and outlier ejection with real servers on loopback, counted at
 * the servers: the ejection cap (three of four instances failing, only two
 * ejected), least-outstanding and p2c steering away from an instance whose
 * calls pile up, and the weights respected by each.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ServerResponse } from 'node:http';
import { createScope } from '../../src/request-scope.js';
import { HttpUpstream, type HttpUpstreamOptions } from '../../src/transport/http.js';
import { breakerChannel, type BreakerEvent } from '../../src/transport/breaker.js';
import type { BalanceStrategy } from '../../src/transport/balancer.js';
import { serve } from '../../subgraphs/lib/serve.js';

interface Instance {
  url: string;
  /** Calls received. */
  calls: number;
  /** Answers held back (the `hold` behaviour), to release at the end. */
  held: ServerResponse[];
}

async function instance(t: TestContext, behaviour: 'ok' | 'fail' | 'hold'): Promise<Instance> {
  const state: Instance = { url: '', calls: 0, held: [] };
  const service = await serve(0, (_req, res) => {
    state.calls++;
    if (behaviour === 'hold') state.held.push(res);
    else res.writeHead(behaviour === 'fail' ? 500 : 200, { 'content-type': 'application/json' }).end('{}');
  });
  state.url = service.url;
  t.after(() => {
    for (const res of state.held) res.end();
    return service.close();
  });
  return state;
}

function upstream(t: TestContext, subgraph: string, instances: Array<{ url: string; weight?: number }>, extra: Partial<HttpUpstreamOptions> = {}): HttpUpstream {
  const http = new HttpUpstream({
    subgraph,
    instances: instances.map((i) => ({ url: i.url, weight: i.weight ?? 1 })),
    timeout: 5000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 64,
    retry: { attempts: 1, backoff: 10 },
    ...extra,
  });
  t.after(() => http.close());
  return http;
}

const get = (http: HttpUpstream) => http.request({ method: 'GET', path: '/', idempotent: true, scope: createScope({ deadlineMs: 10_000 }) });

test('outlier ejection is capped: three of four instances failing every call, only two (50%) are ejected, the third keeps its share (docs/reliability.md row 48)', async (t) => {
  const instances = [await instance(t, 'ok'), await instance(t, 'fail'), await instance(t, 'fail'), await instance(t, 'fail')];
  const opened: BreakerEvent[] = [];
  const onBreaker = (message: unknown): void => {
    const event = message as BreakerEvent;
    if (event.subgraph === 'capped' && event.state === 'open') opened.push(event);
  };
  breakerChannel.subscribe(onBreaker);
  t.after(() => breakerChannel.unsubscribe(onBreaker));
  // No error-rate breaker: outlier detection alone.
  const http = upstream(t, 'capped', instances, { breaker: false, outliers: { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectedPercent: 50 } });
  for (let i = 0; i < 40; i++) await get(http);
  const ejected = new Set(opened.map((e) => e.instance));
  assert.equal(ejected.size, 2, JSON.stringify(opened));
  assert.ok(opened.every((e) => e.cause === 'consecutive-failures' && e.openForMs === 60_000));
  assert.ok(!ejected.has(instances[0]!.url), 'the healthy instance is never ejected');
  // From then on the two instances left share the calls.
  const left = instances.filter((i) => !ejected.has(i.url));
  const before = left.map((i) => i.calls);
  const out = instances.filter((i) => ejected.has(i.url)).map((i) => i.calls);
  for (let i = 0; i < 40; i++) await get(http);
  assert.deepEqual(
    left.map((i, k) => i.calls - before[k]!),
    [20, 20],
  );
  assert.deepEqual(
    instances.filter((i) => ejected.has(i.url)).map((i) => i.calls),
    out,
    'no call to an ejected instance',
  );
});

/** Sends `n` calls one after another, each once the previous was answered or reached the holding instance; counts where they went. */
async function sendPiling(http: HttpUpstream, holding: Instance, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const heldBefore = holding.held.length;
    let answered = false;
    const done = (): void => void (answered = true);
    void get(http).then(done, done);
    // Polled, not timed: the call ends here once it is answered or held.
    await new Promise<void>((resolve) => {
      const poll = (): void => (answered || holding.held.length > heldBefore ? resolve() : void setImmediate(poll));
      poll();
    });
  }
}

for (const strategy of ['least-outstanding', 'p2c'] as BalanceStrategy[]) {
  test(`${strategy}: an instance whose calls pile up gets none of the next ones (round-robin would give it half); healthy instances get their weights`, async (t) => {
    const stuck = await instance(t, 'hold');
    const fast = await instance(t, 'ok');
    const piling = upstream(t, `pile-${strategy}`, [stuck, fast], { balance: strategy });
    await sendPiling(piling, stuck, 40);
    assert.equal(stuck.calls + fast.calls, 40);
    // Only the first call (a tie) may go to the stuck instance; with two instances p2c always compares both.
    assert.ok(stuck.calls <= 1, `stuck: ${stuck.calls}, fast: ${fast.calls}`);
    // Answered now, before the upstream closes (its close waits for the calls in flight).
    for (const res of stuck.held.splice(0)) res.end();

    const heavy = await instance(t, 'ok');
    const light = await instance(t, 'ok');
    const weighted = upstream(
      t,
      `weights-${strategy}`,
      [
        { url: heavy.url, weight: 3 },
        { url: light.url, weight: 1 },
      ],
      { balance: strategy },
    );
    // Twenty clients at a time, so that calls are in flight together: 2,000 calls, the share within 5% of 3:1.
    for (let round = 0; round < 100; round++) await Promise.all(Array.from({ length: 20 }, () => get(weighted)));
    assert.equal(heavy.calls + light.calls, 2000);
    const share = heavy.calls / 2000;
    assert.ok(Math.abs(share - 0.75) <= 0.05, `heavy ${heavy.calls}, light ${light.calls}`);
  });
}
