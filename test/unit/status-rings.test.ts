/**
 * The status page's rings (telemetry/status.ts) with an injected clock:
 * buckets rotate and expire with time, memory stays the same whatever the
 * traffic and the label values, and p50/p99 come out of the bucket histogram
 * as computed by hand. Events arrive on the real diagnostics channels. The
 * parts of several processes (`tessera serve --workers N`) merge from their
 * raw histograms.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { test, type TestContext } from 'node:test';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { BUCKET_MS, BUCKETS, histogramQuantile, LATENCY_BOUNDS_MS, Ring, StatusBoard, worstCheck, type Health } from '../../src/telemetry/status.js';

const upstream = channel('tessera:upstream');
const breaker = channel('tessera:breaker');
const instanceHealth = channel('tessera:instance-health');
const schema = buildSchema('type Query { hello: String }');

/** A board over one subgraph with two versions, on a clock the test moves. */
function board(t: TestContext, health: Health = 'answered') {
  const clock = { now: 1_000_000 * BUCKET_MS };
  const status = new StatusBoard({
    subgraphs: [
      {
        name: 'orders',
        kind: 'openapi',
        instances: [
          { url: 'http://a:1', version: 'v1', weight: 90 },
          { url: 'http://b:1', version: 'v2', weight: 10 },
        ],
        breakers: true,
        checks: true,
        adaptive: 20,
      },
      { name: 'unguarded', kind: 'grpc', instances: [{ url: 'dns:c:1', weight: 1 }], breakers: false },
    ],
    channels: [{ name: 'default', path: '/graphql' }],
    schema,
    loadedAt: new Date(0),
    health: () => health,
    now: () => clock.now,
  });
  t.after(() => status.close());
  return { status, clock };
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const round = (n: number): number => Math.round(n * 100) / 100;

test('percentiles from a bucket histogram interpolate inside the bucket holding the rank', () => {
  const bins = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  assert.equal(histogramQuantile(bins, 0.5), undefined, 'no observation, no percentile');
  // 100 observations in (5, 10] ms: the median is half-way through that bucket, p99 at 99% of it.
  bins[3] = 100;
  assert.equal(histogramQuantile(bins, 0.5), 7.5);
  assert.equal(histogramQuantile(bins, 0.99), 9.95);
  // 98 fast ones in (0, 1] and 2 in (250, 500]: p50 stays in the first bucket, p99 is mid-way through the slow one.
  bins.fill(0);
  bins[0] = 98;
  bins[8] = 2;
  assert.equal(histogramQuantile(bins, 0.5), 50 / 98);
  assert.equal(histogramQuantile(bins, 0.99), 375);
  // Past the last bound the open bucket answers its lower bound.
  bins.fill(0);
  bins[LATENCY_BOUNDS_MS.length] = 5;
  assert.equal(histogramQuantile(bins, 0.99), 10_000);
});

test('a ring keeps 15 minutes of buckets, rotates with the clock and forgets what left the window', () => {
  const ring = new Ring();
  let now = 500 * BUCKET_MS;
  ring.record(now, 3, false);
  ring.record(now, 30, true);
  let series = ring.series(now);
  assert.equal(series.count.length, BUCKETS);
  assert.equal(BUCKETS * BUCKET_MS, 15 * 60_000);
  assert.deepEqual(series.count.slice(-1), [2]);
  assert.deepEqual(series.errors.slice(-1), [1]);
  assert.equal(series.rate.at(-1), 2, 'the current bucket: 2 requests over its first second (never less than 1 s)');

  now += BUCKET_MS;
  ring.record(now, 7, false);
  series = ring.series(now);
  assert.deepEqual(series.count.slice(-2), [2, 1], 'the previous bucket moved one to the left');
  assert.equal(series.rate.at(-2), 2 / (BUCKET_MS / 1000), 'a complete bucket: its count over its width');
  assert.equal(series.p50.at(-3), null, 'a bucket without requests has no percentile');

  // The last minute: the 12 buckets ending with the current one, their histograms merged.
  // Sorted: 3 ms in (2.5, 5], 7 ms in (5, 10], 30 ms in (25, 50]; rank 1.5 is half-way through (5, 10], rank 2.97 at 97% of (25, 50].
  assert.deepEqual(series.recent, { seconds: 55 + 1, count: 3, errors: 1, rate: round(3 / 56), p50: 7.5, p99: round(25 + 25 * (0.99 * 3 - 2)) });
  now += 11 * BUCKET_MS;
  assert.equal(ring.series(now).recent.count, 1, 'the first bucket left the last minute; the second is its oldest');
  now += BUCKET_MS;
  assert.deepEqual(ring.series(now).recent, { seconds: 56, count: 0, errors: 0, rate: 0, p50: null, p99: null });

  // Just inside the window the first bucket is still there; one bucket later it is gone.
  now = 500 * BUCKET_MS + (BUCKETS - 1) * BUCKET_MS;
  assert.equal(ring.series(now).count[0], 2);
  now += BUCKET_MS;
  assert.equal(sum(ring.series(now).count), 1);
  // A slot reused after a full turn starts from zero, not from what the old bucket held.
  now = 500 * BUCKET_MS + BUCKETS * BUCKET_MS;
  ring.record(now, 1, false);
  assert.deepEqual(ring.series(now).count.slice(-1), [1]);
  assert.deepEqual(ring.series(now).errors.slice(-1), [0]);
});

test('upstream events fill the rings of the subgraph and of its version; p50/p99 as computed by hand', (t) => {
  const { status, clock } = board(t);
  for (let i = 0; i < 99; i++) upstream.publish({ subgraph: 'orders', instance: 'http://a:1', version: 'v1', status: 200, durationMs: 7 });
  upstream.publish({ subgraph: 'orders', instance: 'http://b:1', version: 'v2', status: 503, durationMs: 400 });
  upstream.publish({ subgraph: 'orders', instance: 'http://b:1', version: 'v2', code: 'GATEWAY_TIMEOUT', durationMs: 20_000 });
  clock.now += 2_000;
  const snapshot = status.snapshot();
  const orders = snapshot.subgraphs[0]!;
  assert.equal(orders.series.count.at(-1), 101);
  assert.equal(orders.series.errors.at(-1), 2, 'a 503 and a timeout are errors, a 200 is not');
  assert.equal(orders.series.rate.at(-1), 50.5, '101 requests over the 2 s elapsed of the current bucket');
  // 99 in (5, 10], one in (250, 500], one past 10 s: rank 50.5 is at 45.5/99 of (5, 10], rank 99.99 is in (250, 500].
  assert.equal(orders.series.p50.at(-1), Math.round((5 + (5 * 50.5) / 99) * 100) / 100);
  assert.equal(orders.series.p99.at(-1), Math.round((250 + 250 * 0.99) * 100) / 100);
  const byVersion = Object.fromEntries(orders.versions.map((v) => [v.version, v.series]));
  assert.equal(byVersion.v1!.count.at(-1), 99);
  assert.equal(byVersion.v1!.errors.at(-1), 0);
  assert.equal(byVersion.v2!.count.at(-1), 2);
  assert.equal(byVersion.v2!.errors.at(-1), 2);
  assert.equal(snapshot.timeline.length, BUCKETS);
  assert.equal(snapshot.timeline.at(-1), (Math.floor(clock.now / BUCKET_MS) * BUCKET_MS) / 1000);
});

test('memory is fixed: unknown subgraphs, versions and instances get no ring, whatever the traffic', (t) => {
  const { status, clock } = board(t);
  // Every key and array length of the snapshot, series values and the time left out.
  const shape = (): string =>
    JSON.stringify(status.snapshot(), (key, value: unknown) => {
      if (key === 'now' || key === 'recent') return undefined;
      return Array.isArray(value) && (value[0] === null || typeof value[0] !== 'object') ? value.length : value;
    });
  const before = shape();
  for (let i = 0; i < 10_000; i++) {
    upstream.publish({ subgraph: `other-${i}`, instance: `http://x:${i}`, version: `v${i}`, durationMs: 1 });
    upstream.publish({ subgraph: 'orders', instance: `http://x:${i}`, version: `canary-${i}`, durationMs: 1 });
    breaker.publish({ subgraph: 'orders', instance: `http://x:${i}`, state: 'open' });
    status.recordRequest(`channel-${i}`, 1, false);
    // Two hours of traffic: every slot is reused many times over.
    clock.now += 720;
  }
  assert.equal(shape(), before, 'the same subgraphs, versions, instances and channels, each series BUCKETS long');
  const orders = status.snapshot().subgraphs[0]!;
  assert.deepEqual(
    orders.versions.map((v) => v.version),
    ['v1', 'v2'],
  );
  assert.ok(sum(orders.series.count) > 0, 'the events of unknown versions still count for their subgraph');
  assert.equal(sum(orders.versions.flatMap((v) => v.series.count)), 0, 'but for none of its versions');
  assert.deepEqual(
    orders.instances.map((i) => i.breaker),
    ['closed', 'closed'],
    'breaker events of unknown instances are dropped',
  );
});

test('the snapshot: kinds, instances with their breaker state, health, channels and the schema hash of `tessera compose`', (t) => {
  const { status, clock } = board(t, 'waiting');
  breaker.publish({ subgraph: 'orders', instance: 'http://b:1', state: 'open' });
  instanceHealth.publish({ subgraph: 'orders', instance: 'http://b:1', state: 'down', reason: 'HTTP 503 from GET /health' });
  status.recordRequest('default', 12, false);
  status.recordRequest('default', 12, true);
  clock.now += 1_000;
  const snapshot = status.snapshot();
  assert.deepEqual(snapshot.subgraphs[0]!.instances, [
    { url: 'http://a:1', version: 'v1', weight: 90, breaker: 'closed', check: 'unchecked', canary: 'off' },
    { url: 'http://b:1', version: 'v2', weight: 10, breaker: 'open', check: 'down', canary: 'off' },
  ]);
  assert.equal(snapshot.subgraphs[0]!.kind, 'openapi');
  assert.deepEqual(snapshot.subgraphs[1]!.instances, [{ url: 'dns:c:1', version: null, weight: 1, breaker: 'off', check: 'off', canary: 'off' }], 'breaker: false, no health: and no canary: in the descriptor');
  instanceHealth.publish({ subgraph: 'orders', instance: 'http://b:1', state: 'up' });
  assert.equal(status.snapshot().subgraphs[0]!.instances[1]!.check, 'up');
  // Merged across workers: the worst verdict any process saw.
  assert.equal(worstCheck(['up', 'down', 'unchecked']), 'down');
  assert.equal(worstCheck(['up', undefined]), 'up');
  assert.equal(snapshot.subgraphs[0]!.health, 'waiting');
  breaker.publish({ subgraph: 'orders', instance: 'http://b:1', state: 'half-open' });
  assert.equal(status.snapshot().subgraphs[0]!.instances[1]!.breaker, 'half-open');
  const channelSeries = snapshot.channels[0]!;
  assert.equal(channelSeries.path, '/graphql');
  assert.equal(channelSeries.series.count.at(-1), 2);
  assert.equal(channelSeries.series.errors.at(-1), 1);
  const sdl = `${printSchema(lexicographicSortSchema(schema))}\n`;
  assert.equal(snapshot.schema.hash, createHash('sha256').update(sdl).digest('hex').slice(0, 12));
  assert.equal(snapshot.schema.loadedAt, '1970-01-01T00:00:00.000Z');
  assert.equal(snapshot.bucketSeconds, BUCKET_MS / 1000);
});

test('a closed board no longer listens', (t) => {
  const { status, clock } = board(t);
  status.close();
  upstream.publish({ subgraph: 'orders', instance: 'http://a:1', version: 'v1', status: 200, durationMs: 7 });
  clock.now += 1;
  assert.equal(sum(status.snapshot().subgraphs[0]!.series.count), 0);
});

test('the parts of two workers merge: counts summed per bucket, percentiles from the summed histograms, each breaker the worst seen', (t) => {
  // Worker A: 99 fast calls, and a breaker that opened; its part crosses the IPC channel as JSON.
  const a = board(t);
  for (let i = 0; i < 99; i++) upstream.publish({ subgraph: 'orders', instance: 'http://a:1', version: 'v1', status: 200, durationMs: 7 });
  breaker.publish({ subgraph: 'orders', instance: 'http://a:1', state: 'open' });
  a.status.recordRequest('default', 12, false);
  a.clock.now += 2_000;
  const now = a.clock.now;
  const partA = JSON.parse(JSON.stringify(a.status.part(now))) as ReturnType<StatusBoard['part']>;
  a.status.close();

  // Worker B: one slow failed call, a breaker half-open on the other instance.
  const b = board(t);
  upstream.publish({ subgraph: 'orders', instance: 'http://b:1', version: 'v2', status: 503, durationMs: 400 });
  breaker.publish({ subgraph: 'orders', instance: 'http://b:1', state: 'half-open' });
  b.status.recordRequest('default', 12, true);
  b.clock.now = now;
  const alone = b.status.snapshot().subgraphs[0]!.series;
  assert.equal(alone.count.at(-1), 1, 'B alone');

  const merged = b.status.snapshot({ now, parts: [partA, b.status.part(now)], missing: 1 });
  assert.equal(merged.workers, 2);
  assert.equal(merged.missing, 1);
  const orders = merged.subgraphs[0]!;
  assert.equal(orders.series.count.at(-1), 100);
  assert.equal(orders.series.errors.at(-1), 1);
  assert.equal(orders.series.recent.count, 100);
  // 99 in (5, 10] and one in (250, 500]: rank 99 of 100 is the last of (5, 10] (A alone: 9.95, B alone: 497.5; never their mean).
  assert.equal(orders.series.p99.at(-1), 10);
  assert.equal(orders.series.p50.at(-1), round(5 + (5 * 50) / 99));
  assert.equal(orders.series.recent.p99, 10);
  assert.deepEqual(
    orders.versions.map((v) => [v.version, v.series.count.at(-1)]),
    [
      ['v1', 99],
      ['v2', 1],
    ],
  );
  assert.deepEqual(
    orders.instances.map((i) => i.breaker),
    ['open', 'half-open'],
  );
  assert.equal(merged.subgraphs[1]!.instances[0]!.breaker, 'off');
  assert.deepEqual([merged.channels[0]!.series.count.at(-1), merged.channels[0]!.series.errors.at(-1)], [2, 1]);
});

test('adaptive concurrency limits: the last state each process saw, `off` without the key; merged over workers, each figure summed', (t) => {
  const concurrency = channel('tessera:concurrency');
  const a = board(t);
  assert.deepEqual(a.status.snapshot().subgraphs[0]!.concurrency, { limit: 20, inFlight: 0, shed: 0 }, 'the initial limit before any call');
  concurrency.publish({ subgraph: 'orders', change: 'shed', limit: 4, previous: 4, inFlight: 4, shed: 3 });
  // Not configured: ignored.
  concurrency.publish({ subgraph: 'unguarded', change: 'limit', limit: 9, previous: 8, inFlight: 1, shed: 0 });
  const alone = a.status.snapshot();
  assert.deepEqual(alone.subgraphs[0]!.concurrency, { limit: 4, inFlight: 4, shed: 3 });
  assert.equal(alone.subgraphs[1]!.concurrency, 'off');
  const partA = JSON.parse(JSON.stringify(a.status.part())) as ReturnType<StatusBoard['part']>;
  a.status.close();
  const b = board(t);
  concurrency.publish({ subgraph: 'orders', change: 'limit', limit: 6, previous: 5, inFlight: 2, shed: 1 });
  const merged = b.status.snapshot({ now: b.clock.now, parts: [partA, b.status.part()], missing: 0 });
  assert.deepEqual(merged.subgraphs[0]!.concurrency, { limit: 10, inFlight: 6, shed: 4 });
});
