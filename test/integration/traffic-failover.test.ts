/**
 * Dead-instance failover under load, with real processes on loopback: one
 * of two instances of a GraphQL subgraph is killed with SIGKILL while ten
 * clients send queries, then started again on the same port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamChannel, type UpstreamEvent } from '../../src/transport/stages/observe.js';
import { breakerChannel, type BreakerEvent } from '../../src/transport/breaker.js';
import { startGateway, startUpstreamProcess } from '../kit/index.js';

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

test('one of two instances killed with SIGKILL under load, then restarted: no query fails, the dead one is ejected and comes back (docs/reliability.md row 44)', async (t) => {
  const a = await startUpstreamProcess(t, 'graphql/instance.ts', ['a'], '/graphql');
  const b = await startUpstreamProcess(t, 'graphql/instance.ts', ['b'], '/graphql');
  const answers = answersByInstance(t, 'failover');
  const breaker: BreakerEvent[] = [];
  const onBreaker = (message: unknown): void => {
    if ((message as BreakerEvent).subgraph === 'failover') breaker.push(message as BreakerEvent);
  };
  breakerChannel.subscribe(onBreaker);
  t.after(() => breakerChannel.unsubscribe(onBreaker));
  const gateway = await startGateway(t, [
    // The default retry budget and attempts; a short ejection so that the restarted instance is probed within the test.
    { kind: 'graphql', name: 'failover', upstreams: [{ url: a.url }, { url: b.url }], outliers: { consecutiveFailures: 3, baseEjection: '300ms' } },
  ]);

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
});
