/**
 * Canaries with real servers on loopback, counted at the servers: the split
 * by weight (plain and sticky), a caller sticking to its version and falling
 * back when its version has no instance left, and the canary guard tripping
 * on an erroring canary and not on a healthy one (the log line, the metrics,
 * the status page's JSON and GET /admin/canary), restored through the admin
 * API; mutations judged apart from queries.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createScope, type Identity } from '../../src/request-scope.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { CanaryBoard, canaryChannel, type CanaryOptions } from '../../src/transport/canary.js';
import type { CanaryEvent } from '../../src/events.js';
import { parseDescriptor, parseGatewayConfig } from '../../src/config/load.js';
import { isConfigError } from '../../src/errors.js';
import { captureLogs, runTessera, sse, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';
import { sample } from '../kit/metrics.js';
import { serve } from '../../subgraphs/lib/serve.js';
import { kitchenDescriptor, loadGrpc } from '../kit/grpc.js';
import { Redis } from 'ioredis';
import { needRedis, REDIS_URL, startOwnRedis, uniquePrefix } from '../kit/redis.js';
import { startKitchen } from '../fixtures/grpc/kitchen-server.js';

interface Version {
  url: string;
  /** Calls received, by the caller named in `x-user` ('' without one). */
  callers: Map<string, number>;
  calls: number;
  close(): Promise<void>;
}

async function version(t: TestContext, answer: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')): Promise<Version> {
  const state: Version = { url: '', callers: new Map(), calls: 0, close: async () => undefined };
  const service = await serve(0, (req, res) => {
    state.calls++;
    const user = String(req.headers['x-user'] ?? '');
    state.callers.set(user, (state.callers.get(user) ?? 0) + 1);
    answer(req, res);
  });
  state.url = service.url;
  state.close = () => service.close();
  t.after(() => service.close());
  return state;
}

function upstream(t: TestContext, subgraph: string, instances: Array<{ url: string; version: string; weight: number }>, canary: CanaryOptions, board?: CanaryBoard): HttpUpstream {
  const http = new HttpUpstream({
    subgraph,
    instances,
    timeout: 5000,
    connectTimeout: 1000,
    maxResponseSize: 1 << 20,
    connections: 16,
    retry: { attempts: 2, backoff: 10 },
    // Breakers and outlier ejection off: what takes a version out here is the canary guard alone.
    breaker: false,
    outliers: false,
    canary: { options: canary, board },
  });
  t.after(() => http.close());
  return http;
}

/** Canary events of one subgraph as they come. */
function canaryEvents(t: TestContext, subgraph: string): CanaryEvent[] {
  const seen: CanaryEvent[] = [];
  const onEvent = (message: unknown): void => {
    if ((message as CanaryEvent).subgraph === subgraph) seen.push(message as CanaryEvent);
  };
  canaryChannel.subscribe(onEvent);
  t.after(() => canaryChannel.unsubscribe(onEvent));
  return seen;
}

const NO_GUARD: CanaryOptions = { guard: false };

const call = (http: HttpUpstream, headers: Record<string, string> = {}, options: { identity?: Identity; idempotent?: boolean; path?: string } = {}) => {
  const scope = createScope({ deadlineMs: 10_000, headers: new Headers(headers) });
  if (options.identity) scope.identity = options.identity;
  return http.request({ method: options.idempotent === false ? 'POST' : 'GET', path: options.path ?? '/', idempotent: options.idempotent ?? true, headers, scope });
};

/** Within ±5% of the expected share (relative). */
function nearShare(got: number, total: number, weight: number, message: string): void {
  const share = got / total;
  assert.ok(Math.abs(share - weight) <= weight * 0.05, `${message}: ${got} of ${total} (${(share * 100).toFixed(2)}%), expected ${(weight * 100).toFixed(1)}% ±5%`);
}

test('canary split: 2,000 calls at 80/20 reach v1 and v2 within ±5% of their weights, weighted per call and sticky over 2,000 callers (docs/reliability.md row 50)', async (t) => {
  const v1 = await version(t);
  const v2 = await version(t);
  const instances = [
    { url: v1.url, version: 'v1', weight: 80 },
    { url: v2.url, version: 'v2', weight: 20 },
  ];
  // Not sticky: every call weighted on its own.
  const plain = upstream(t, 'split', instances, NO_GUARD);
  for (let i = 0; i < 2000; i += 20) await Promise.all(Array.from({ length: 20 }, () => call(plain)));
  nearShare(v2.calls, 2000, 0.2, 'v2, weighted per call');
  nearShare(v1.calls, 2000, 0.8, 'v1, weighted per call');

  // Sticky by header: 2,000 callers, one call each.
  v1.calls = v2.calls = 0;
  const sticky = upstream(t, 'split-sticky', instances, { sticky: { consumer: false, header: 'x-user' }, guard: false });
  for (let i = 0; i < 2000; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => call(sticky, { 'x-user': `user-${i + k}` })));
  nearShare(v2.calls, 2000, 0.2, 'v2, sticky callers');
  nearShare(v1.calls, 2000, 0.8, 'v1, sticky callers');
});

test('sticky: each caller keeps its version over many calls, callers spread over both; a caller whose version has no instance left falls back to the next, counted (docs/reliability.md row 50)', async (t) => {
  const v1 = await version(t);
  const v2 = await version(t);
  const events = canaryEvents(t, 'sticky');
  const http = upstream(
    t,
    'sticky',
    [
      { url: v1.url, version: 'v1', weight: 50 },
      { url: v2.url, version: 'v2', weight: 50 },
    ],
    { sticky: { consumer: true, header: 'x-user' }, guard: false },
  );
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  for (let round = 0; round < 15; round++) await Promise.all(users.map((user) => call(http, { 'x-user': user })));
  for (const user of users) {
    const onV1 = v1.callers.get(user) ?? 0;
    const onV2 = v2.callers.get(user) ?? 0;
    assert.ok((onV1 === 15 && onV2 === 0) || (onV1 === 0 && onV2 === 15), `${user}: ${onV1} calls on v1, ${onV2} on v2`);
  }
  const onV2 = users.filter((u) => v2.callers.has(u));
  assert.ok(onV2.length >= 10 && onV2.length <= 30, `callers spread: ${onV2.length} of 40 on v2`);

  // The authenticated consumer wins over the header: one subject, whatever x-user says, one version.
  const identity: Identity = { subject: 'consumer-7', scopes: [], kind: 'jwt' };
  const before = { v1: v1.calls, v2: v2.calls };
  for (let i = 0; i < 10; i++) await call(http, { 'x-user': `anyone-${i}` }, { identity });
  assert.ok(v1.calls - before.v1 === 10 || v2.calls - before.v2 === 10, 'a consumer keeps its version whatever its header');
  assert.equal(events.length, 0, 'no fallback while every version has an instance');

  // v2 goes away: its callers are answered by v1 (the next version of their ranking), and each such call is a fallback event.
  await v2.close();
  const movedBefore = v1.calls;
  const answers = await Promise.all(onV2.map((user) => call(http, { 'x-user': user })));
  assert.ok(answers.every((a) => a.status === 200));
  assert.equal(v1.calls - movedBefore, onV2.length);
  const fallbacks = events.filter((e) => e.action === 'fallback');
  assert.ok(fallbacks.length >= onV2.length, `${fallbacks.length} fallbacks`);
  assert.ok(fallbacks.every((e) => e.version === 'v2' && e.to === 'v1'));
});

/** A GraphQL upstream whose answers are HTTP 500 while `failing()` says so. */
async function graphqlVersion(t: TestContext, failing: () => boolean) {
  let calls = 0;
  const service = await startGraphqlUpstream(t, 'type Query { a: String } type Mutation { m: String }', { Query: { a: () => 'A' }, Mutation: { m: () => 'M' } }, {
    plugins: [
      {
        onRequest({ endResponse }: { endResponse: (response: Response) => void }) {
          calls++;
          if (failing()) endResponse(new Response('{"errors":[{"message":"boom"}]}', { status: 500, headers: { 'content-type': 'application/json' } }));
        },
      },
    ],
  });
  return { url: service.url, calls: () => calls };
}

const TOKEN = 'a-credential-of-at-least-32-characters-canary';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A gateway over one GraphQL subgraph with a canary (`descriptor`'s keys over the defaults below), admin API and metrics on, logs captured. */
async function gatewayWithCanary(t: TestContext, descriptor: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(
    t,
    // Breakers and outlier detection off: the canary (its guard, its weights), not the breaker, decides here.
    [{ kind: 'graphql', retry: { attempts: 1 }, breaker: false, outliers: false, ...descriptor } as never],
    { admin: { port: 0, credential: TOKEN }, telemetry: { metrics: { enabled: true } }, ...extra },
    { logger },
  );
  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${gateway.adminUrl}${path}`, body === undefined ? { headers: AUTH } : { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const metrics = async () => (await fetch(`${gateway.adminUrl}/metrics`, { headers: AUTH })).text();
  return { gateway, lines, admin, metrics };
}

async function canaryGateway(t: TestContext, name: string, stableUrl: string, canaryUrl: string, extra: Record<string, unknown> = {}) {
  return gatewayWithCanary(
    t,
    {
      name,
      source: undefined,
      upstreams: [
        { url: stableUrl, version: 'v1', weight: 50 },
        { url: canaryUrl, version: 'v2', weight: 50 },
      ],
      canary: { guard: { window: '30s', minCalls: 20, errorRateMargin: 0.05, p99Margin: false } },
    },
    extra,
  );
}

test('guard: an erroring canary is taken to weight 0 (warn log with what was measured against stable, metric, status page, GET /admin/canary), then restored through POST /admin/canary/restore (docs/reliability.md row 51)', async (t) => {
  let failing = false;
  const stable = await graphqlVersion(t, () => false);
  const canary = await graphqlVersion(t, () => failing);
  const { gateway, lines, admin, metrics } = await canaryGateway(t, 'guarded', stable.url, canary.url);
  failing = true;
  // 50/50 by weight: both versions see their 20 queries; the canary fails every one of them.
  for (let i = 0; i < 60; i++) await gateway.query('{ a }');
  const warning = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('canary guard:'));
  assert.ok(warning, 'a warning for the person on call');
  assert.equal(warning.level, 40);
  assert.equal(warning.subgraph, 'guarded');
  assert.equal(warning.version, 'v2');
  assert.equal(warning.kind, 'query');
  assert.equal(warning.reason, 'error-rate');
  assert.deepEqual((warning.stable as any).version, 'v1');
  assert.equal((warning.measured as any).errorRate, 1);
  assert.equal((warning.stable as any).errorRate, 0);
  assert.match(String(warning.msg), /version v2 of subgraph guarded gets no traffic \(weight 0\): query error rate 100% against 0% on stable v1.*tessera canary restore guarded v2/);

  // From now on, no call reaches the canary, and every query is answered.
  const canaryCalls = canary.calls();
  for (let i = 0; i < 20; i++) assert.equal((await gateway.query('{ a }')).body.data?.a, 'A');
  assert.equal(canary.calls(), canaryCalls);

  const text = await metrics();
  assert.equal(sample(text, 'tessera_canary_guard_trips_total', { subgraph: 'guarded', version: 'v2', kind: 'query', reason: 'error-rate' }), 1);
  assert.equal(sample(text, 'tessera_canary_guarded', { subgraph: 'guarded', version: 'v2' }), 1);

  const status = await (await fetch(`${gateway.adminUrl}/_tessera/api`, { headers: AUTH })).json();
  const card = status.subgraphs.find((s: any) => s.name === 'guarded');
  assert.deepEqual(
    card.instances.map((i: any) => [i.version, i.canary]),
    [
      ['v1', 'serving'],
      ['v2', 'guarded'],
    ],
  );
  const v2 = card.versions.find((v: any) => v.version === 'v2');
  assert.equal(v2.guarded.reason, 'error-rate');
  assert.equal(v2.guarded.stable.version, 'v1');

  // The admin API needs the admin credential like every admin endpoint.
  assert.equal((await fetch(`${gateway.adminUrl}/admin/canary`)).status, 401);
  const state = await admin('/admin/canary');
  assert.equal(state.status, 200);
  const guarded = state.body.canaries.find((c: any) => c.subgraph === 'guarded');
  assert.equal(guarded.stable, 'v1');
  assert.deepEqual(
    guarded.versions.map((v: any) => [v.version, v.weight, v.configuredWeight, v.guarded?.reason ?? null]),
    [
      ['v1', 50, 50, null],
      ['v2', 0, 50, 'error-rate'],
    ],
  );

  // The command shows it too (the credential from --config's admin.credential).
  const project = tempProject(t, { 'gateway.yaml': `admin:\n  port: 0\n  credential: ${TOKEN}\n` });
  const shown = await runTessera(['canary', 'status', '--config', `${project}/gateway.yaml`, '--gateway', gateway.adminUrl!]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /guarded \(stable v1, sticky: no\)\n {2}v1 {2}weight 50 of 50\n {2}v2 {2}weight 0 of 50 {2}GUARDED since .*: query error-rate, error rate 100% p99 [\d.]+ ms against 0% and [\d.]+ ms on v1/);

  // Restore: bad requests say what is wrong; a good one gives v2 its weight back, logged and shown.
  const unknown = await admin('/admin/canary/restore', { subgraph: 'guarded', version: 'v9' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.errors[0].message, /version: subgraph "guarded" has no version "v9"; its versions: v1, v2/);
  const noCanary = await admin('/admin/canary/restore', { subgraph: 'nothing', version: 'v2' });
  assert.equal(noCanary.status, 400);
  assert.match(noCanary.body.errors[0].message, /subgraph: "nothing" has no `canary:` in its descriptor; subgraphs with one: guarded/);
  failing = false;
  const restored = await admin('/admin/canary/restore', { subgraph: 'guarded', version: 'v2', by: 'on-call' });
  assert.deepEqual(restored, { status: 200, body: { subgraph: 'guarded', version: 'v2', restored: true } });
  assert.deepEqual(await admin('/admin/canary/restore', { subgraph: 'guarded', version: 'v2' }), { status: 200, body: { subgraph: 'guarded', version: 'v2', restored: false } });
  const again = await runTessera(['canary', 'restore', 'guarded', 'v2', '--config', `${project}/gateway.yaml`, '--gateway', gateway.adminUrl!]);
  assert.deepEqual([again.code, again.stdout], [0, 'nothing to restore: version v2 of guarded is not guarded\n']);
  const info = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('canary restored'));
  assert.equal(info?.by, 'on-call');
  for (let i = 0; i < 20; i++) assert.equal((await gateway.query('{ a }')).body.data?.a, 'A');
  assert.ok(canary.calls() > canaryCalls, 'the canary gets calls again');
  assert.equal(sample(await metrics(), 'tessera_canary_guarded', { subgraph: 'guarded', version: 'v2' }), 0);
  const after = await (await fetch(`${gateway.adminUrl}/_tessera/api`, { headers: AUTH })).json();
  assert.deepEqual(
    after.subgraphs.find((s: any) => s.name === 'guarded').instances.map((i: any) => i.canary),
    ['serving', 'serving'],
  );
});

test('guard: a healthy canary is never guarded, however many calls (docs/reliability.md row 51)', async (t) => {
  const stable = await graphqlVersion(t, () => false);
  const canary = await graphqlVersion(t, () => false);
  const { gateway, lines, admin, metrics } = await canaryGateway(t, 'healthy', stable.url, canary.url);
  // One at a time: identical queries in flight together would be shared (plugins/use-dedupe.ts).
  for (let i = 0; i < 200; i++) await gateway.query('{ a }');
  assert.ok(canary.calls() >= 90, `the canary got its half: ${canary.calls()}`);
  assert.equal(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('canary guard')).length, 0);
  assert.equal(sample(await metrics(), 'tessera_canary_guarded', { subgraph: 'healthy', version: 'v2' }), undefined);
  const state = await admin('/admin/canary');
  const healthy = state.body.canaries.find((c: any) => c.subgraph === 'healthy');
  assert.deepEqual(
    healthy.versions.map((v: any) => [v.version, v.weight, v.guarded]),
    [
      ['v1', 50, null],
      ['v2', 50, null],
    ],
  );
  assert.ok(healthy.versions[1].window.query.calls >= 90);
  assert.equal(healthy.versions[1].window.query.errorRate, 0);
});

test('guard: mutations are judged apart from queries; a canary failing only mutations is guarded on mutations, with the stable version failing some queries left alone (docs/reliability.md row 52)', async (t) => {
  // Every mutation (POST) fails on the canary; the stable version fails 1 query in 10, the canary none.
  let stableQueries = 0;
  const v1 = await version(t, (req, res) => res.writeHead(req.method === 'GET' && ++stableQueries % 10 === 0 ? 503 : 200).end('{}'));
  const v2 = await version(t, (req, res) => res.writeHead(req.method === 'POST' ? 500 : 200).end('{}'));
  const events = canaryEvents(t, 'kinds');
  const board = new CanaryBoard();
  const http = upstream(
    t,
    'kinds',
    [
      { url: v1.url, version: 'v1', weight: 50 },
      { url: v2.url, version: 'v2', weight: 50 },
    ],
    { guard: { windowMs: 30_000, minCalls: 10, errorRateMargin: 0.05, p99Margin: false, p99MinGapMs: 0 } },
    board,
  );
  for (let i = 0; i < 60; i++) await call(http);
  assert.equal(events.length, 0, 'queries: the canary does better than stable, nothing to guard');
  for (let i = 0; i < 40; i++) await call(http, {}, { idempotent: false });
  const guarded = events.filter((e) => e.action === 'guarded');
  assert.equal(guarded.length, 1);
  assert.equal(guarded[0]!.kind, 'mutation');
  assert.equal(guarded[0]!.measured!.errorRate, 1);
  assert.equal(guarded[0]!.stable!.errorRate, 0);
  assert.equal(board.of('kinds')!.state().versions[1]!.weight, 0);
  // Restored by a reload that changes the descriptor: a new upstream starts from the configured weights (the board's restore is the admin API's).
  assert.equal(board.restore('kinds', 'v2', 'test'), true);
  assert.equal(board.of('kinds')!.state().versions[1]!.weight, 50);
});

test('canary: configuration mistakes name the file and the key', () => {
  const problems = (canary: unknown, upstreams: unknown[] = [{ url: 'http://127.0.0.1:1', version: 'v1' }, { url: 'http://127.0.0.1:2', version: 'v2' }]): string[] => {
    try {
      parseDescriptor({ name: 'x', kind: 'graphql', upstreams, canary }, '/d/x.yaml', '/d');
      return [];
    } catch (error) {
      assert.ok(isConfigError(error));
      return error.problems;
    }
  };
  assert.deepEqual(problems({ sticky: 'consumer', stable: 'v1' }), []);
  assert.match(problems({ stable: 'v3' }).join('\n'), /canary\.stable: no upstream has version "v3"; versions: v1, v2/);
  assert.match(problems({}, [{ url: 'http://127.0.0.1:1', version: 'v1' }, { url: 'http://127.0.0.1:2' }]).join('\n'), /upstreams\[1\]\.version: `canary:` needs a `version:` on every upstream/);
  assert.match(problems({ sticky: {} }).join('\n'), /canary\.sticky.*expected `consumer: true` or a `header`/);
  assert.match(problems({ guard: { windw: '1m' } }).join('\n'), /windw/);

  // gateway.yaml's canary: the shared decisions' lifetime.
  const gatewayProblems = (canary: unknown): string => {
    try {
      parseGatewayConfig({ canary }, '/g/gateway.yaml', {});
      return '';
    } catch (error) {
      assert.ok(isConfigError(error));
      return error.problems.join('\n');
    }
  };
  assert.equal(gatewayProblems({ decisionTtl: '30m' }), '');
  assert.equal(parseGatewayConfig({}, '/g/gateway.yaml', {}).canary.decisionTtl, 600_000);
  assert.match(gatewayProblems({ decisionTtl: '1s' }), /gateway\.yaml.*canary\.decisionTtl.*expected at least 5s \(every gateway process reads the decisions every 2s\)/);
  assert.match(gatewayProblems({ decisionTTL: '1m' }), /decisionTTL/);
});

test('guard: a canary slower than stable by more than p99Margin and p99MinGap is guarded on its p99 (docs/reliability.md row 51)', async (t) => {
  const v1 = await version(t);
  const v2 = await version(t, (_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 300));
  const events = canaryEvents(t, 'slow');
  const http = upstream(
    t,
    'slow',
    [
      { url: v1.url, version: 'v1', weight: 50 },
      { url: v2.url, version: 'v2', weight: 50 },
    ],
    // A gap of 150 ms: scheduling noise on a loaded machine stays far below it, the canary's 300 ms do not.
    { guard: { windowMs: 60_000, minCalls: 10, errorRateMargin: 0.05, p99Margin: 0.5, p99MinGapMs: 150 } },
  );
  for (let i = 0; i < 40; i += 10) await Promise.all(Array.from({ length: 10 }, () => call(http)));
  const guarded = events.filter((e) => e.action === 'guarded');
  assert.equal(guarded.length, 1, JSON.stringify(events));
  assert.equal(guarded[0]!.reason, 'p99');
  assert.equal(guarded[0]!.kind, 'query');
  assert.ok(guarded[0]!.measured!.p99Ms >= 250, `canary p99 ${guarded[0]!.measured!.p99Ms} ms`);
  assert.equal(guarded[0]!.measured!.errorRate, 0);
  const before = v2.calls;
  for (let i = 0; i < 10; i++) await call(http);
  assert.equal(v2.calls, before, 'no call reaches a guarded version');
});

test('gRPC: the same canary: sticky callers keep their version of a gRPC upstream, and the split follows the weights (docs/reliability.md row 50)', async (t) => {
  const v1 = await startKitchen();
  const v2 = await startKitchen();
  t.after(() => v1.close());
  t.after(() => v2.close());
  const { run } = await loadGrpc(
    t,
    kitchenDescriptor(v1.url, {
      url: undefined,
      upstreams: [
        { url: v1.url, version: 'v1', weight: 70 },
        { url: v2.url, version: 'v2', weight: 30 },
      ],
      canary: { sticky: { header: 'x-user' }, guard: false },
    }),
  );
  const calls = (server: { calls: Record<string, number> }): number => server.calls.GetNextDay ?? 0;
  let onV2 = 0;
  for (let user = 0; user < 100; user++) {
    const before = [calls(v1), calls(v2)];
    for (let i = 0; i < 3; i++) {
      const result = await run('{ getNextDay(input: "2024-01-01T00:00:00Z") }', undefined, createScope({ deadlineMs: 5000, headers: new Headers({ 'x-user': `user-${user}` }) }));
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    }
    const moved = [calls(v1) - before[0]!, calls(v2) - before[1]!];
    assert.ok((moved[0] === 3 && moved[1] === 0) || (moved[0] === 0 && moved[1] === 3), `user-${user}: ${moved.join(' on v1, ')} on v2`);
    if (moved[1] === 3) onV2++;
  }
  assert.ok(onV2 >= 15 && onV2 <= 45, `${onV2} of 100 callers on v2 (weight 30)`);
});

/** Polls `read` until `done` says yes (generous bound for a loaded machine), and returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('guard with a Redis store: one replica guarding a version guards it on the other, and a restore on either restores both (docs/reliability.md row 51)', async (t) => {
  if (!(await needRedis(t))) return;
  let failing = true;
  const stable = await graphqlVersion(t, () => false);
  const canary = await graphqlVersion(t, () => failing);
  const store = { store: { url: REDIS_URL, prefix: uniquePrefix(t) } };
  const a = await canaryGateway(t, 'replicated', stable.url, canary.url, store);
  const b = await canaryGateway(t, 'replicated', stable.url, canary.url, store);
  const v2Of = async (gateway: typeof a) => ((await gateway.admin('/admin/canary')).body.canaries[0].versions as Array<{ version: string; weight: number; guarded: unknown }>)[1]!;
  // Only replica a sees the failing calls.
  for (let i = 0; i < 60; i++) await a.gateway.query('{ a }');
  assert.equal((await v2Of(a)).weight, 0);
  await until(() => v2Of(b), (v) => v.weight === 0, 'replica b guards v2');
  const shared = b.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('canary guard:'));
  assert.equal(shared?.by, 'shared store');
  assert.match(String(shared?.msg), /decided by another gateway process, read from the shared store/);
  // Counted once, where it was decided; guarded on both.
  assert.equal(sample(await a.metrics(), 'tessera_canary_guard_trips_total', { subgraph: 'replicated', version: 'v2', kind: 'query', reason: 'error-rate' }), 1);
  assert.equal(sample(await b.metrics(), 'tessera_canary_guard_trips_total', { subgraph: 'replicated', version: 'v2', kind: 'query', reason: 'error-rate' }), undefined);
  assert.equal(sample(await b.metrics(), 'tessera_canary_guarded', { subgraph: 'replicated', version: 'v2' }), 1);

  // Restored through replica b's admin API: replica a follows.
  failing = false;
  assert.equal((await b.admin('/admin/canary/restore', { subgraph: 'replicated', version: 'v2' })).body.restored, true);
  await until(() => v2Of(a), (v) => v.weight === 50, 'replica a restores v2');
  assert.equal((await v2Of(b)).weight, 50);
});

/** The guard's decision keys of `subgraph`'s version `version` under `prefix`, with what is left of their lifetime (ms; PTTL). */
async function decisionKeys(t: TestContext, url: string, prefix: string, subgraph: string, version: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  t.after(() => redis.disconnect());
  return async (): Promise<Array<{ key: string; ttl: number }>> => {
    const keys = await redis.keys(`${prefix}canary:${subgraph}:${version}:*`);
    return Promise.all(keys.map(async (key) => ({ key, ttl: await redis.pttl(key) })));
  };
}

/** Polls `read` while `going` says so and less than `ms` have passed, and returns the last value: a wait that stops early when things go wrong. */
async function holds<T>(read: () => Promise<T>, going: (value: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (!going(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("guard with a Redis store: a decision's key lives canary.decisionTtl from its last read; the replicas' reads keep it while one runs the configuration, it goes a TTL after the last one stopped, a restore deletes it (docs/reliability.md row 76)", async (t) => {
  if (!(await needRedis(t))) return;
  const stable = await graphqlVersion(t, () => false);
  const canary = await graphqlVersion(t, () => true);
  const prefix = uniquePrefix(t);
  const extra = { store: { url: REDIS_URL, prefix }, canary: { decisionTtl: '5s' } };
  const a = await canaryGateway(t, 'expiring', stable.url, canary.url, extra);
  const b = await canaryGateway(t, 'expiring', stable.url, canary.url, extra);
  const keys = await decisionKeys(t, REDIS_URL, prefix, 'expiring', 'v2');
  const v2Of = async (gateway: typeof a) => ((await gateway.admin('/admin/canary')).body.canaries[0].versions as Array<{ version: string; weight: number }>)[1]!;
  assert.deepEqual((await a.admin('/admin/canary')).body.shared, { pollMs: 2000, decisionTtlMs: 5000 });

  for (let i = 0; i < 60; i++) await a.gateway.query('{ a }');
  assert.equal((await v2Of(a)).weight, 0);
  const [written] = await until(keys, (k) => k.length === 1, 'the decision written');
  assert.ok(written!.ttl > 0 && written!.ttl <= 5000, `the key has a TTL of at most 5 s: ${written!.ttl} ms`);
  await until(() => v2Of(b), (v) => v.weight === 0, 'replica b guards v2');

  // Replica a stops: b alone reads the key every 2 s, and keeps it well past its 5 s TTL.
  await a.gateway.gateway.close();
  const kept = await holds(keys, (k) => k.length === 1 && k[0]!.ttl > 0, 8_000);
  assert.equal(kept.length, 1, 'a live decision is never dropped by its TTL');
  assert.ok(kept[0]!.ttl > 0 && kept[0]!.ttl <= 5000);
  assert.equal((await v2Of(b)).weight, 0, 'replica b still guards v2');

  // A restore deletes it, as before.
  assert.equal((await b.admin('/admin/canary/restore', { subgraph: 'expiring', version: 'v2' })).body.restored, true);
  await until(keys, (k) => k.length === 0, 'the restore deletes the key');
  assert.equal((await v2Of(b)).weight, 50);

  // Guarded again on b, which then stops: nobody runs this configuration any more, and its key goes after the TTL.
  for (let i = 0; i < 60 && (await v2Of(b)).weight !== 0; i++) await b.gateway.query('{ a }');
  assert.equal((await v2Of(b)).weight, 0);
  await until(keys, (k) => k.length === 1, 'the decision written again');
  await b.gateway.gateway.close();
  assert.equal((await keys()).length, 1, 'the key outlives its last reader by the TTL');
  await until(keys, (k) => k.length === 0, 'the key of a configuration nobody runs expires');
});

test('guard with a Redis store: a decision whose key expired while no replica could reach Redis is written again by the replicas that hold it, not read as a restore (docs/reliability.md row 76)', async (t) => {
  const own = await startOwnRedis(t);
  const stable = await graphqlVersion(t, () => false);
  const canary = await graphqlVersion(t, () => true);
  const prefix = 'tessera:';
  const extra = { store: { url: own.url, prefix }, canary: { decisionTtl: '5s' } };
  const a = await canaryGateway(t, 'outage', stable.url, canary.url, extra);
  const b = await canaryGateway(t, 'outage', stable.url, canary.url, extra);
  const keys = await decisionKeys(t, own.url, prefix, 'outage', 'v2');
  const v2Of = async (gateway: typeof a) => ((await gateway.admin('/admin/canary')).body.canaries[0].versions as Array<{ version: string; weight: number }>)[1]!;
  for (let i = 0; i < 60; i++) await a.gateway.query('{ a }');
  await until(() => v2Of(b), (v) => v.weight === 0, 'replica b guards v2');

  // Redis goes away for longer than the TTL and comes back empty: the key is gone, as if it had expired.
  await own.stop();
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  await own.start();
  await until(keys, (k) => k.length === 1, 'the decision written again');
  for (const gateway of [a, b]) assert.equal((await v2Of(gateway)).weight, 0, 'still guarded');
  const restored = [...a.lines, ...b.lines].filter((l) => typeof l.msg === 'string' && l.msg.startsWith('canary restored'));
  assert.deepEqual(restored, []);
});

/**
 * A GraphQL version answering `version` with its name, as a query and as a
 * subscription of one event, served over SSE to the gateway; counts the
 * streams it opened, and answers HTTP 503 to everything while `down()` says so
 * (its health checks fail too) and HTTP 500 to queries while `failing()` does.
 */
async function streamingVersion(t: TestContext, name: string, behaviour: { down?: () => boolean; failing?: () => boolean } = {}) {
  let streams = 0;
  const service = await startGraphqlUpstream(
    t,
    'type Query { version: String! } type Subscription { version: String! }',
    {
      Query: { version: () => name },
      Subscription: {
        version: {
          subscribe: async function* () {
            yield { version: name };
          },
        },
      },
    },
    {
      plugins: [
        {
          onRequest({ request, endResponse }: { request: Request; endResponse: (response: Response) => void }) {
            const stream = (request.headers.get('accept') ?? '').includes('text/event-stream');
            if (behaviour.down?.()) return endResponse(new Response('down', { status: 503 }));
            if (stream) streams++;
            else if (behaviour.failing?.()) endResponse(new Response('{"errors":[{"message":"boom"}]}', { status: 500, headers: { 'content-type': 'application/json' } }));
          },
        },
      ],
    },
  );
  return { url: service.url, streams: () => streams };
}

/** A gateway over two streaming versions (v1 70, v2 30 unless given), with `canary`; breakers off, metrics on, logs captured. */
async function streamingGateway(t: TestContext, name: string, v1: string, v2: string, canary: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const { gateway, lines, metrics } = await gatewayWithCanary(t, {
    name,
    upstreams: [
      { url: v1, version: 'v1', weight: 70 },
      { url: v2, version: 'v2', weight: 30 },
    ],
    canary,
    ...extra,
  });
  /** The version that answered one subscription (its one event), over SSE. */
  const streamed = async (headers: Record<string, string> = {}): Promise<string> => {
    const subscription = await sse(t, gateway.url, 'subscription { version }', headers);
    assert.equal(subscription.status, 200);
    const event = await subscription.next();
    subscription.close();
    assert.equal(event?.errors, undefined, JSON.stringify(event));
    return event?.data?.version as string;
  };
  return { gateway, lines, metrics, streamed };
}

test("sticky streams: each caller's subscriptions (SSE to a GraphQL upstream) land on the version its queries do, callers spread by weight; an anonymous caller is weighted per stream (docs/reliability.md row 75)", async (t) => {
  const v1 = await streamingVersion(t, 'v1');
  const v2 = await streamingVersion(t, 'v2');
  const { gateway, streamed } = await streamingGateway(t, 'streams', v1.url, v2.url, { sticky: { header: 'x-user' }, guard: false });
  let callersOnV2 = 0;
  const callers = 100;
  const caller = async (user: number): Promise<void> => {
    const headers = { 'x-user': `user-${user}` };
    // The same query from ten callers at once: in-flight dedupe (plugins/use-dedupe.ts, on by default) shares an
    // execution only among callers with the same sticky header, so each is answered by its own version.
    const query = await gateway.query('{ version }', undefined, headers);
    const versions = [query.body.data?.version, await streamed(headers), await streamed(headers)];
    assert.ok(versions[0] === 'v1' || versions[0] === 'v2', JSON.stringify(query.body));
    assert.deepEqual(versions, [versions[0], versions[0], versions[0]], `user-${user}: query, then two subscriptions`);
    if (versions[0] === 'v2') callersOnV2++;
  };
  for (let user = 0; user < callers; user += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => caller(user + k)));
  // Rendezvous hashing gives each version its weight's share of the callers (a binomial spread around 30 of 100).
  assert.ok(callersOnV2 >= 15 && callersOnV2 <= 45, `${callersOnV2} of ${callers} callers on v2 (weight 30)`);
  assert.equal(v2.streams(), callersOnV2 * 2);

  // No caller identity: each stream is weighted on its own, v2 its 30%.
  const before = v2.streams();
  const anonymous: string[] = [];
  for (let i = 0; i < 100; i += 10) anonymous.push(...(await Promise.all(Array.from({ length: 10 }, () => streamed()))));
  nearShare(anonymous.filter((v) => v === 'v2').length, 100, 0.3, 'anonymous streams on v2');
  assert.equal(v2.streams() - before, anonymous.filter((v) => v === 'v2').length);
});

test('sticky streams: a caller whose version has no instance up falls back to the next version, counted and logged as calls are (docs/reliability.md rows 50 and 75)', async (t) => {
  let down = false;
  const v1 = await streamingVersion(t, 'v1');
  const v2 = await streamingVersion(t, 'v2', { down: () => down });
  const { lines, metrics, streamed } = await streamingGateway(
    t,
    'streams-fallback',
    v1.url,
    v2.url,
    { sticky: { header: 'x-user' }, guard: false },
    { health: { interval: '100ms', timeout: '500ms', unhealthyAfter: 2, healthyAfter: 1 } },
  );
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  const onV2: string[] = [];
  for (const user of users) if ((await streamed({ 'x-user': user })) === 'v2') onV2.push(user);
  assert.ok(onV2.length > 0, 'some callers on v2');

  down = true;
  await until(metrics, (text) => sample(text, 'tessera_instance_healthy', { subgraph: 'streams-fallback', instance: v2.url }) === 0, 'v2 checked down');
  const opened = v2.streams();
  for (const user of onV2) assert.equal(await streamed({ 'x-user': user }), 'v1', `${user} falls back to v1`);
  assert.equal(v2.streams(), opened);
  assert.equal(sample(await metrics(), 'tessera_canary_fallbacks_total', { subgraph: 'streams-fallback', version: 'v2', to: 'v1' }), onV2.length);
  const warning = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('sticky callers of version v2 moved to v1'));
  assert.equal(warning?.subgraph, 'streams-fallback');
  assert.equal(warning?.level, 40);
  // v1's own callers stay where they are.
  for (const user of users.filter((u) => !onV2.includes(u))) assert.equal(await streamed({ 'x-user': user }), 'v1');
});

test('sticky streams: a version the canary guard took to weight 0 gets no new stream, sticky or not (docs/reliability.md row 75)', async (t) => {
  let failing = true;
  const v1 = await streamingVersion(t, 'v1');
  const v2 = await streamingVersion(t, 'v2', { failing: () => failing });
  const { gateway, streamed, metrics } = await streamingGateway(t, 'streams-guarded', v1.url, v2.url, {
    sticky: { header: 'x-user' },
    guard: { window: '30s', minCalls: 10, errorRateMargin: 0.05, p99Margin: false },
  });
  // Anonymous queries, weighted 70/30: v2 fails its 10 and more, v1 answers its own.
  for (let i = 0; i < 60 && sample(await metrics(), 'tessera_canary_guarded', { subgraph: 'streams-guarded', version: 'v2' }) !== 1; i++) await gateway.query('{ version }');
  assert.equal(sample(await metrics(), 'tessera_canary_guarded', { subgraph: 'streams-guarded', version: 'v2' }), 1, 'v2 guarded');
  failing = false;
  const opened = v2.streams();
  const answered = [];
  for (let user = 0; user < 40; user++) answered.push(await streamed({ 'x-user': `user-${user}` }));
  for (let i = 0; i < 20; i++) answered.push(await streamed());
  assert.deepEqual(new Set(answered), new Set(['v1']));
  assert.equal(v2.streams(), opened, 'no stream reaches a guarded version');
  // Its callers were not moved by a fallback: a guarded version leaves every caller's ranking (as for calls).
  assert.equal(sample(await metrics(), 'tessera_canary_fallbacks_total', { subgraph: 'streams-guarded', version: 'v2', to: 'v1' }), undefined);
});

test("gRPC: sticky streams: each caller's server streams land on the version its unary calls do; anonymous streams are weighted per stream (docs/reliability.md row 75)", async (t) => {
  const v1 = await startKitchen();
  const v2 = await startKitchen();
  t.after(() => v1.close());
  t.after(() => v2.close());
  const { run, subscribe } = await loadGrpc(
    t,
    kitchenDescriptor(v1.url, {
      url: undefined,
      upstreams: [
        { url: v1.url, version: 'v1', weight: 70 },
        { url: v2.url, version: 'v2', weight: 30 },
      ],
      canary: { sticky: { header: 'x-user' }, guard: false },
    }),
  );
  const counted = (server: { calls: Record<string, number> }) => [server.calls.GetNextDay ?? 0, server.calls.Count ?? 0];
  const stream = async (scope: ReturnType<typeof createScope>) => {
    const events = [];
    for await (const event of await subscribe('subscription { count(count: 1, intervalMs: 1) { n } }', undefined, scope)) events.push(event);
    assert.deepEqual(JSON.parse(JSON.stringify(events)), [{ data: { count: { n: '1' } } }]);
  };
  let onV2 = 0;
  for (let user = 0; user < 100; user++) {
    const scope = () => createScope({ deadlineMs: 5000, headers: new Headers({ 'x-user': `user-${user}` }) });
    const before = [...counted(v1), ...counted(v2)];
    const unary = await run('{ getNextDay(input: "2024-01-01T00:00:00Z") }', undefined, scope());
    assert.equal(unary.errors, undefined, JSON.stringify(unary.errors));
    await stream(scope());
    await stream(scope());
    const after = [...counted(v1), ...counted(v2)];
    const moved = after.map((n, i) => n - before[i]!);
    assert.ok(
      JSON.stringify(moved) === '[1,2,0,0]' || JSON.stringify(moved) === '[0,0,1,2]',
      `user-${user}: unary and streams on v1 ${moved.slice(0, 2).join('/')}, on v2 ${moved.slice(2).join('/')}`,
    );
    if (moved[2] === 1) onV2++;
  }
  assert.ok(onV2 >= 15 && onV2 <= 45, `${onV2} of 100 callers on v2 (weight 30)`);

  const before = v2.calls.Count ?? 0;
  for (let i = 0; i < 200; i++) await stream(createScope({ deadlineMs: 5000 }));
  nearShare((v2.calls.Count ?? 0) - before, 200, 0.3, 'anonymous gRPC streams on v2');
});
