/**
 * The selection math of traffic management, with an injected random source
 * and clock: balancing strategies (counts per instance), outlier ejection on
 * the breaker (consecutive failures, growing periods, the cap), and the
 * health-check verdict's thresholds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer, type BalanceStrategy } from '../../src/transport/balancer.js';
import { CircuitBreaker, DEFAULT_BREAKER, EjectionGroup, type OutlierOptions } from '../../src/transport/breaker.js';
import { InstanceHealth, jittered } from '../../src/transport/health.js';

/** A small deterministic random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const instances = (...weights: number[]) => weights.map((weight, i) => ({ name: String.fromCharCode(97 + i), weight }));

function counts(strategy: BalanceStrategy, weights: number[], picks: number, hold = false): Record<string, number> {
  const items = instances(...weights);
  const balancer = createBalancer(strategy, items, seeded(7));
  const seen: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const item = balancer.pick()!;
    seen[item.name] = (seen[item.name] ?? 0) + 1;
    balancer.acquire(item);
    if (!hold) balancer.release(item);
  }
  return seen;
}

test('round-robin gives each instance exactly its weight over every window', () => {
  assert.deepEqual(counts('round-robin', [3, 1], 400), { a: 300, b: 100 });
});

test('least-outstanding follows the weights when nothing is in flight, and the calls in flight per unit of weight when they pile up', () => {
  // Sequential calls (each ends before the next): the tie between idle instances goes by weight.
  assert.deepEqual(counts('least-outstanding', [3, 1], 400), { a: 300, b: 100 });
  // Calls held open: each instance ends with calls in flight in proportion to its weight.
  assert.deepEqual(counts('least-outstanding', [3, 1], 400, true), { a: 300, b: 100 });
  // An instance with calls stuck in flight gets none of the next ones.
  const items = instances(1, 1);
  const balancer = createBalancer('least-outstanding', items);
  balancer.acquire(items[0]!);
  for (let i = 0; i < 10; i++) assert.equal(balancer.pick()!.name, 'b');
});

test('p2c: two draws by weight, the one with fewer calls in flight per unit of weight wins', () => {
  // Nothing in flight: the first draw wins, so the shares follow the weights (within 5% over 4,000 picks).
  const idle = counts('p2c', [3, 1], 4000);
  assert.ok(Math.abs(idle.a! / 4000 - 0.75) < 0.05, JSON.stringify(idle));
  // Calls held open: the loads per unit of weight stay close, so the shares still follow the weights.
  const held = counts('p2c', [3, 1], 4000, true);
  assert.ok(Math.abs(held.a! / 4000 - 0.75) < 0.05, JSON.stringify(held));
  // A weight of 0 is never drawn; skipped instances are not either.
  const items = instances(1, 0, 1);
  const balancer = createBalancer('p2c', items, seeded(3));
  for (let i = 0; i < 50; i++) assert.equal(balancer.pick((m) => m.name === 'a')!.name, 'c');
  assert.equal(balancer.pick((m) => m.name !== 'b'), undefined);
});

const OUTLIERS: OutlierOptions = { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectedPercent: 50 };

function ejectable(size: number, options = OUTLIERS, now = { t: 0 }) {
  const group = new EjectionGroup(size, options.maxEjectedPercent);
  const causes: string[] = [];
  const breakers = Array.from({ length: size }, () => {
    const breaker: CircuitBreaker = new CircuitBreaker(
      { ...DEFAULT_BREAKER, errorRate: Infinity },
      () => now.t,
      (state, cause) => {
        group.changed(breaker, state);
        causes.push(`${state}:${cause}`);
      },
      { options, group },
    );
    group.add(breaker);
    return breaker;
  });
  return { breakers, causes, now };
}

test('outliers: N failures in a row eject an instance; a success in between starts the count again', () => {
  const { breakers, causes } = ejectable(2);
  const [a] = breakers;
  a!.record(false);
  a!.record(false);
  a!.record(true);
  a!.record(false);
  a!.record(false);
  assert.equal(a!.current, 'closed');
  a!.record(false);
  assert.equal(a!.current, 'open');
  assert.deepEqual(causes, ['open:consecutive-failures']);
});

test('outliers: each ejection in a row lasts base × times ejected; a good probe brings the instance back', () => {
  const { breakers, now } = ejectable(2);
  const a = breakers[0]!;
  for (let i = 0; i < 3; i++) a.record(false);
  assert.equal(a.openForMs, 1000);
  now.t = 999;
  assert.equal(a.current, 'open');
  now.t = 1000;
  assert.equal(a.current, 'half-open');
  assert.ok(a.allow());
  // The probe fails: ejected again, for twice as long.
  a.record(false);
  assert.equal(a.openForMs, 2000);
  now.t = 3000;
  assert.ok(a.allow());
  a.record(true);
  assert.equal(a.current, 'closed');
  // Ejected again soon after coming back: the count goes on (3 × base).
  for (let i = 0; i < 3; i++) a.record(false);
  assert.equal(a.openForMs, 3000);
  assert.equal(a.ejected, 3);
  // Back for 10 base ejections: the next ejection is the first of a new run.
  now.t = 6000;
  assert.ok(a.allow());
  a.record(true);
  now.t = 6000 + 10 * 1000;
  for (let i = 0; i < 3; i++) a.record(false);
  assert.equal(a.openForMs, 1000);
});

test('outliers: never more than maxEjectedPercent of the instances out at once, and one always stays', () => {
  const fail = (breakers: CircuitBreaker[]): number => {
    for (const breaker of breakers) for (let i = 0; i < 10; i++) breaker.record(false);
    return breakers.filter((b) => b.current === 'open').length;
  };
  assert.equal(fail(ejectable(4).breakers), 2, '50% of 4');
  assert.equal(fail(ejectable(2).breakers), 1, '50% of 2');
  assert.equal(fail(ejectable(1).breakers), 0, 'a single instance is never ejected');
  assert.equal(fail(ejectable(3, { ...OUTLIERS, maxEjectedPercent: 100 }).breakers), 2, 'one always stays, even at 100%');
  assert.equal(fail(ejectable(5, { ...OUTLIERS, maxEjectedPercent: 10 }).breakers), 0, '10% of 5 is less than one instance');
  // An instance that comes back frees its place for another.
  const { breakers, now } = ejectable(2);
  fail(breakers);
  now.t = 1000;
  assert.ok(breakers[0]!.allow());
  breakers[0]!.record(true);
  for (let i = 0; i < 3; i++) breakers[1]!.record(false);
  assert.deepEqual(
    breakers.map((b) => b.current),
    ['closed', 'open'],
  );
});

test('outliers.failureRate: a failure rate margin above the others ejects (cause failure-rate), only with minCalls on each side; its failed probe ejects it again for longer', () => {
  const options: OutlierOptions = { ...OUTLIERS, consecutiveFailures: 100, failureRate: { minCalls: 10, margin: 0.2 } };
  const pattern = [false, true, false, true, false, true, true, true, true, false];
  // The others have too few calls to compare with: no ejection.
  const early = ejectable(3, options);
  for (const ok of pattern) early.breakers[0]!.record(ok);
  for (let i = 0; i < 4; i++) early.breakers[1]!.record(true);
  assert.equal(early.breakers[0]!.current, 'closed');
  const { breakers, causes, now } = ejectable(3, options);
  const [a, b, c] = breakers;
  for (let i = 0; i < 10; i++) {
    b!.record(true);
    c!.record(i !== 0);
  }
  // 4 failures in 10, never two in a row, against 1 in 20: 40% ≥ 5% + 20%.
  pattern.forEach((ok, i) => {
    a!.record(ok);
    assert.equal(a!.current, i < pattern.length - 1 ? 'closed' : 'open');
  });
  assert.deepEqual(causes, ['open:failure-rate']);
  assert.equal(a!.openForMs, 1000);
  now.t = 1000;
  assert.ok(a!.allow());
  a!.record(false);
  assert.equal(a!.openForMs, 2000);
  assert.deepEqual(causes, ['open:failure-rate', 'half-open:probe', 'open:failure-rate']);
});

test('the error-rate trip is unchanged beside outlier detection, and not capped', () => {
  const group = new EjectionGroup(2, 50);
  const breakers = [0, 1].map(() => {
    const breaker: CircuitBreaker = new CircuitBreaker({ ...DEFAULT_BREAKER, minCalls: 4 }, () => 0, (state) => group.changed(breaker, state), { options: { ...OUTLIERS, consecutiveFailures: 100 }, group });
    return breaker;
  });
  for (const breaker of breakers) for (const ok of [true, false, true, false]) breaker.record(ok);
  assert.deepEqual(
    breakers.map((b) => [b.current, b.openForMs]),
    [
      ['open', 30_000],
      ['open', 30_000],
    ],
  );
});

test('health: the first check decides; then unhealthyAfter failures in a row mark down, healthyAfter passes mark up', () => {
  const changes: string[] = [];
  const health = new InstanceHealth({ unhealthyAfter: 2, healthyAfter: 3 }, (state, reason) => changes.push(`${state}${reason ? ` ${reason}` : ''}`));
  assert.equal(health.state, 'unchecked');
  health.record(undefined);
  health.record('HTTP 503');
  health.record(undefined);
  health.record('HTTP 503');
  health.record('ECONNREFUSED');
  assert.ok(health.down);
  health.record(undefined);
  health.record(undefined);
  health.record('HTTP 503');
  health.record(undefined);
  health.record(undefined);
  assert.ok(health.down);
  health.record(undefined);
  assert.deepEqual(changes, ['up', 'down ECONNREFUSED', 'up']);
  const first = new InstanceHealth({ unhealthyAfter: 5, healthyAfter: 5 });
  first.record('HTTP 500');
  assert.ok(first.down, 'an instance failing its first check is down at once');
});

test('health checks are jittered by ±10% of the interval', () => {
  assert.equal(jittered(1000, () => 0), 900);
  assert.equal(jittered(1000, () => 0.5), 1000);
  assert.equal(jittered(1000, () => 0.999999), 1100);
});
