/**
 * The order of the upstream-call pipeline (src/transport/pipeline.ts), seen
 * from outside: what reaches the attempt, which instance each attempt went
 * to, what each instance's breaker heard, and the `tessera:upstream` events.
 * The protocol is a recording fake (no sockets); every stage is the real one.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { TesseraError } from '../../src/errors.js';
import { CircuitBreaker } from '../../src/transport/breaker.js';
import type { Member, Protocol, UpstreamCall } from '../../src/transport/call.js';
import { upstreamChannel, type UpstreamEvent } from '../../src/transport/http.js';
import { createPipeline } from '../../src/transport/pipeline.js';
import { createScope, type RequestScope } from '../../src/request-scope.js';

/** A breaker that also keeps every outcome it was told. */
class HeardBreaker extends CircuitBreaker {
  readonly heard: boolean[] = [];
  override record(success: boolean): void {
    this.heard.push(success);
    super.record(success);
  }
}

interface Fake extends Member {
  name: string;
  breaker: HeardBreaker;
  /** What this instance does with an attempt: answer with a status, or be unreachable. */
  behaviour: 'down' | number;
}

type Call = UpstreamCall<Fake>;
type Answer = { status: number; instance: string };

/** Opens after one failure; `openForMs: 0` makes an open breaker half-open at once. */
function fake(name: string, behaviour: Fake['behaviour'], openForMs = 60_000): Fake {
  const breaker = new HeardBreaker({ errorRate: 0.5, minCalls: 1, windowMs: 10_000, openForMs });
  return { name, url: `http://${name}.test`, weight: 1, breaker, behaviour };
}

function pipelineOf(t: TestContext, members: Fake[], attempts = 2) {
  const sent: string[] = [];
  const events: Array<[string, number, string | number | undefined]> = [];
  const onEvent = (message: unknown): void => {
    const event = message as UpstreamEvent;
    if (event.subgraph === 'fake') events.push([event.instance.slice(7, -5), event.attempt, event.code ?? event.status]);
  };
  upstreamChannel.subscribe(onEvent);
  t.after(() => upstreamChannel.unsubscribe(onEvent));
  const protocol: Protocol<Call, Answer> = {
    attempt: (call) => {
      const member = call.member!;
      sent.push(`${member.name}#${call.attempt}`);
      if (member.behaviour === 'down') {
        return Promise.reject(new TesseraError('SOURCE_UNAVAILABLE', 'Subgraph "fake" is unavailable', { extensions: { subgraph: 'fake' } }));
      }
      return Promise.resolve({ status: member.behaviour, instance: member.name });
    },
    healthy: (answer) => answer.status < 500,
    healthyFailure: () => false,
    unanswered: () => false,
    retryWait: (answer) => (answer.status === 503 ? 0 : undefined),
    refused: () => new TesseraError('GATEWAY_TIMEOUT', 'Subgraph "fake" was not called: no time left in the request deadline', { extensions: { subgraph: 'fake' } }),
    status: (answer) => answer.status,
    span: () => ({ name: 'GET', attributes: {} }),
    spanOutcome: () => ({ attributes: {} }),
  };
  const { send } = createPipeline<Fake, Call, Answer>({ subgraph: 'fake', members, timeout: 1_000, retry: { attempts, backoff: 1 }, protocol });
  const call = (scope: RequestScope, options: { memoKey?: string; idempotent?: boolean } = {}): Promise<Answer> =>
    send({ scope, idempotent: options.idempotent ?? true, memoKey: options.memoKey, operation: 'GET', endpoint: undefined, attempt: 0, tried: undefined, version: undefined, member: undefined, timeoutMs: 0, traceHeaders: undefined });
  return { call, sent, events };
}

const scope = (deadlineMs = 5_000): RequestScope => createScope({ deadlineMs });

test('retry re-enters the instance choice, and the breaker and the event hear each attempt', async (t) => {
  const a = fake('a', 'down');
  const b = fake('b', 200);
  const { call, sent, events } = pipelineOf(t, [a, b]);
  const answer = await call(scope());
  assert.deepEqual(answer, { status: 200, instance: 'b' });
  assert.deepEqual(sent, ['a#0', 'b#1'], 'the retry went to the instance not tried yet');
  assert.deepEqual(a.breaker.heard, [false]);
  assert.deepEqual(b.breaker.heard, [true]);
  assert.equal(a.breaker.current, 'open');
  assert.deepEqual(events, [
    ['a', 0, 'SOURCE_UNAVAILABLE'],
    ['b', 1, 200],
  ]);
});

test('an answer that asks for a retry (503) is counted against its instance and retried on the other', async (t) => {
  const a = fake('a', 503);
  const b = fake('b', 200);
  const { call, sent } = pipelineOf(t, [a, b]);
  assert.deepEqual(await call(scope()), { status: 200, instance: 'b' });
  assert.deepEqual(sent, ['a#0', 'b#1']);
  assert.deepEqual([a.breaker.heard, b.breaker.heard], [[false], [true]]);
});

test('a call that is not idempotent is tried once', async (t) => {
  const a = fake('a', 'down');
  const b = fake('b', 200);
  const { call, sent } = pipelineOf(t, [a, b]);
  await assert.rejects(call(scope(), { idempotent: false }), { code: 'SOURCE_UNAVAILABLE' });
  assert.deepEqual(sent, ['a#0']);
});

test('the memo runs before the instance choice: identical calls of one request choose once, send once, report once', async (t) => {
  const a = fake('a', 200);
  const b = fake('b', 200);
  const { call, sent, events } = pipelineOf(t, [a, b]);
  const request = scope();
  const [first, second] = await Promise.all([call(request, { memoKey: 'k' }), call(request, { memoKey: 'k' })]);
  assert.equal(first, second, 'one shared answer');
  // Had the shared call gone through the balancer, it would have moved it on to b, and this call back to a.
  await call(request, { memoKey: 'other' });
  assert.deepEqual(sent, ['a#0', 'b#0']);
  assert.deepEqual(events.map(([instance]) => instance), ['a', 'b']);
  assert.deepEqual(a.breaker.heard, [true], 'the breaker heard one attempt, not two');
  // Another request has its own memo.
  await call(scope(), { memoKey: 'k' });
  assert.equal(sent.length, 3);
});

test('a write empties the memo: the same read after it, in the same request, is sent again', async (t) => {
  const { call, sent } = pipelineOf(t, [fake('a', 200)]);
  const request = scope();
  await call(request, { memoKey: 'read' });
  await call(request, { memoKey: 'read' });
  await call(request, { idempotent: false });
  await call(request, { memoKey: 'read' });
  assert.deepEqual(sent, ['a#0', 'a#0', 'a#0']);
});

test('every breaker open: the call fails at once with SOURCE_UNAVAILABLE, no attempt, no event', async (t) => {
  const a = fake('a', 200);
  a.breaker.record(false);
  const { call, sent, events } = pipelineOf(t, [a], 3);
  await assert.rejects(call(scope()), (error: TesseraError) => {
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.message, 'Subgraph "fake" is unavailable');
    assert.equal((error.cause as Error).message, 'circuit breaker open for every instance');
    return true;
  });
  assert.deepEqual([sent, events], [[], []]);
});

test('the deadline is checked per attempt, inside the breaker: no time left is not sent, is reported with its instance, and answers the half-open probe', async (t) => {
  const a = fake('a', 200, 0);
  a.breaker.record(false);
  assert.equal(a.breaker.current, 'half-open');
  const { call, sent, events } = pipelineOf(t, [a]);
  await assert.rejects(call(scope(0)), { code: 'GATEWAY_TIMEOUT' });
  assert.deepEqual(sent, []);
  assert.deepEqual(events, [['a', 0, 'GATEWAY_TIMEOUT']]);
  assert.deepEqual(a.breaker.heard, [false, false], 'the probe taken by the choice was answered');
  // Not left probing: the next call with time left is the next probe, and closes the breaker.
  assert.deepEqual(await call(scope()), { status: 200, instance: 'a' });
  assert.equal(a.breaker.current, 'closed');
});
