/**
 * server.admission (src/server/admission.ts): a fixed limit holds requests in
 * arrival order and frees a place when a response closes; a request whose
 * client left while it waited is dropped without taking a place
 * (docs/reliability.md row 91); `auto` limits only after BUSY_TICKS busy ticks,
 * starting at the requests in progress (or the limit the last busy tick left,
 * when lower) and shrinking to MIN_LIMIT, holds while
 * the loop is between SPARE and BUSY, grows on a tick with time to spare and
 * lifts after BUSY_TICKS of them in a row. The clock and the
 * event loop's utilization are the test's (no timing is asserted).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { Admission, BUSY, BUSY_TICKS, DECREASE, INCREASE, MIN_LIMIT, SPARE, TICK_MS, arrivalOf } from '../../src/server/admission.js';
import { EVENTS, type AdmissionEvent } from '../../src/events.js';

/** A response that closes when told, as node:http's does once. */
class FakeResponse extends EventEmitter {
  closed = false;
  close(): void {
    this.closed = true;
    this.emit('close');
  }
}

function clock(): { now: number; busy: number; clock: { now(): number; utilization(): number } } {
  const state = {
    now: 0,
    busy: 0,
    clock: {
      now: () => state.now,
      utilization: () => state.busy,
    },
  };
  return state;
}

/** Admits `n` requests; returns their responses and the order they started in. */
function admitMany(admission: Admission, n: number, started: number[]): FakeResponse[] {
  return Array.from({ length: n }, (_, i) => {
    const res = new FakeResponse();
    admission.admit({} as IncomingMessage, res as unknown as ServerResponse, () => started.push(i));
    return res;
  });
}

test('a fixed limit: the first requests start, the others wait in arrival order and start as responses close', () => {
  const time = clock();
  const admission = new Admission(2, { clock: time.clock, ticking: false });
  const started: number[] = [];
  const responses = admitMany(admission, 5, started);
  assert.deepEqual(started, [0, 1]);
  assert.equal(admission.queued, 3);
  time.now = 40;
  responses[1]!.close();
  assert.deepEqual(started, [0, 1, 2]);
  responses[0]!.close();
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal(admission.active, 2);
  assert.equal(admission.queued, 1);
});

test('a request whose client left while it waited is dropped without taking a place (docs/reliability.md row 91)', () => {
  const time = clock();
  const events: AdmissionEvent[] = [];
  const listener = (message: unknown): void => void events.push({ ...(message as AdmissionEvent) });
  subscribe(EVENTS.admission, listener);
  try {
    const admission = new Admission(1, { clock: time.clock, ticking: false });
    const started: number[] = [];
    const responses = admitMany(admission, 3, started);
    // The second request's client goes away while it waits: node:http closes its response.
    responses[1]!.close();
    assert.equal(admission.active, 1, 'a closed waiting request does not free the running one\'s place');
    time.now = 25;
    responses[0]!.close();
    assert.deepEqual(started, [0, 2], 'the third starts; the second never does');
    assert.equal(admission.active, 1);
    assert.equal(admission.queued, 0);
    responses[2]!.close();
    assert.equal(admission.active, 0);
    assert.deepEqual(
      events.map((e) => `${e.change} ${e.waitedMs}`),
      ['started 0', 'queued 0', 'queued 0', 'ended 0', 'dropped 25', 'started 25', 'ended 0'],
    );
  } finally {
    unsubscribe(EVENTS.admission, listener);
  }
});

test('each started request keeps its arrival time and its wait, for its deadline and its logged duration', () => {
  const time = clock();
  const admission = new Admission(1, { clock: time.clock, ticking: false });
  time.now = 7;
  const first = {} as IncomingMessage;
  const second = {} as IncomingMessage;
  const running = new FakeResponse();
  admission.admit(first, running as unknown as ServerResponse, () => undefined);
  time.now = 9;
  admission.admit(second, new FakeResponse() as unknown as ServerResponse, () => undefined);
  assert.deepEqual(arrivalOf(first), { at: 7, waitedMs: 0 });
  assert.equal(arrivalOf(second), undefined, 'not started yet');
  time.now = 12;
  running.close();
  assert.deepEqual(arrivalOf(second), { at: 9, waitedMs: 3 });
});

/** Runs `ticks` ticks of `auto` at event-loop utilization `busy`. */
function ticks(admission: Admission, time: ReturnType<typeof clock>, n: number, busy: number): void {
  time.busy = busy;
  for (let i = 0; i < n; i++) {
    time.now += TICK_MS;
    admission.tick();
  }
}

test('auto: no limit while the event loop has time to spare, however many requests run', () => {
  const time = clock();
  const admission = new Admission('auto', { clock: time.clock, ticking: false });
  const started: number[] = [];
  admitMany(admission, 500, started);
  ticks(admission, time, 20, 0.5);
  assert.equal(admission.limit, Infinity);
  admitMany(admission, 500, started);
  assert.equal(started.length, 1000);
});

test('auto: after BUSY_TICKS busy ticks the limit starts at the requests in progress and shrinks to MIN_LIMIT; it holds between SPARE and BUSY; ticks with time to spare grow it, then lift it', () => {
  const time = clock();
  const changes: Array<[number, number]> = [];
  const admission = new Admission('auto', { clock: time.clock, ticking: false, onLimit: (limit, previous) => changes.push([limit, previous]) });
  const started: number[] = [];
  const running = admitMany(admission, 50, started);
  ticks(admission, time, BUSY_TICKS - 1, 0.97);
  assert.equal(admission.limit, Infinity, 'not yet: fewer busy ticks than BUSY_TICKS');
  ticks(admission, time, 1, 0.97);
  assert.equal(admission.limit, 50, 'starts at the requests in progress');
  assert.deepEqual(changes, [[50, Infinity]]);
  ticks(admission, time, 1, 0.97);
  assert.equal(admission.limit, Math.floor(50 * DECREASE));
  ticks(admission, time, 30, 0.99);
  assert.equal(admission.limit, MIN_LIMIT, 'never below MIN_LIMIT');

  // New requests wait while the running ones hold every place; as they end, waiting ones take their places.
  const extra = MIN_LIMIT + 2;
  admitMany(admission, extra, started);
  assert.equal(started.length, 50);
  for (const res of running.slice(0, 50 - MIN_LIMIT)) res.close();
  assert.equal(admission.active, MIN_LIMIT);
  assert.equal(started.length, 50, 'down to the limit: nothing starts yet');
  for (const res of running.slice(50 - MIN_LIMIT)) res.close();
  assert.equal(admission.active, MIN_LIMIT);
  assert.equal(started.length, 50 + MIN_LIMIT);
  assert.equal(admission.queued, extra - MIN_LIMIT);

  // Between SPARE and BUSY the limit holds.
  ticks(admission, time, 3, (SPARE + BUSY) / 2);
  assert.equal(admission.limit, MIN_LIMIT);
  // A tick with time to spare grows the limit and starts the rest; BUSY_TICKS of them in a row lift it.
  ticks(admission, time, 1, SPARE - 0.1);
  assert.equal(admission.limit, Math.ceil(MIN_LIMIT * INCREASE));
  assert.equal(started.length, 50 + extra);
  ticks(admission, time, BUSY_TICKS - 1, SPARE - 0.1);
  assert.equal(admission.limit, Infinity);
  assert.equal(changes.at(-1)?.[0], Infinity);

  // Busy again: the limit starts where the last busy tick left it, not at the requests in progress.
  assert.ok(admission.active > MIN_LIMIT);
  ticks(admission, time, BUSY_TICKS, 0.99);
  assert.equal(admission.limit, MIN_LIMIT, 'starts at the last busy limit when that is below the requests in progress');
  admission.stop();
  assert.equal(admission.limit, Infinity, 'stop() lifts the auto limit');
  // After the ticker stopped (a quiet spell), a new burst too starts at the settled limit.
  admitMany(admission, 50, started);
  ticks(admission, time, BUSY_TICKS, 0.99);
  assert.equal(admission.limit, MIN_LIMIT);
});

test('auto: the first busy period starts at the requests in progress when the last one settled higher', () => {
  const time = clock();
  const admission = new Admission('auto', { clock: time.clock, ticking: false });
  const running = admitMany(admission, 40, []);
  ticks(admission, time, BUSY_TICKS, 0.97);
  assert.equal(admission.limit, 40);
  ticks(admission, time, BUSY_TICKS, SPARE - 0.1);
  assert.equal(admission.limit, Infinity);
  for (const res of running.slice(0, 20)) res.close();
  ticks(admission, time, BUSY_TICKS, 0.97);
  assert.equal(admission.limit, 20, 'the requests in progress (20) are below the last busy limit (40)');
});
