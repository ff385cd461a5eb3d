/**
 * DNS discovery of gRPC upstreams, and canaries and shadow.version on
 * discovered versions, against a DNS server on loopback (test/kit/dns.ts)
 * whose records the test changes while the gateway serves, and real gRPC
 * servers on 127.0.0.1 (grpc-js, the who.proto service and grpc.health.v1).
 * Each server is reached through a TCP relay of its own that counts its open
 * connections, so that a drained instance is seen to lose its connection.
 * No mock.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createScope } from '../../src/request-scope.js';
import { discoveryChannel } from '../../src/transport/discovery.js';
import { instanceHealthChannel } from '../../src/transport/health.js';
import type { GrpcUpstreamOptions } from '../../src/transport/grpc.js';
import type { DiscoveryEvent, InstanceHealthEvent } from '../../src/events.js';
import { captureLogs, deferred, grpcUpstream, recordEvents, startGateway } from '../kit/index.js';
import { FIXTURES, loadGrpc } from '../kit/grpc.js';
import { startKitchen } from '../fixtures/grpc/kitchen-server.js';
import { startDns, type TestDns } from '../kit/dns.js';
import { sample } from '../kit/metrics.js';

const WHO = protoLoader.loadSync(join(FIXTURES, 'who.proto'));
const HEALTH = protoLoader.loadSync(join(FIXTURES, 'health.proto'), { enums: String });
const getWho = (WHO['tessera.test.who.v1.WhoService'] as Record<string, protoLoader.MethodDefinition<{ caller: string }, { name: string; version: string }>>).GetWho!;

/** Waits until `condition` holds, polling; fails with `what` after a generous bound (a loaded 2-core machine). */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface WhoInstance {
  name: string;
  /** The relay's port: what DNS names. */
  port: number;
  url: string;
  /** GetWho calls received, by caller. */
  callers: Map<string, number>;
  calls(): number;
  /** Connections open to it now (through its relay). */
  connections(): number;
  /** Stops accepting connections and drops the open ones (the pod is gone). */
  stop(): Promise<void>;
}

/**
 * A gRPC server answering GetWho with `name` (or `reply`) after `delayMs`
 * (and once `gate` resolves, when given),
 * and grpc.health.v1 with SERVING, behind a TCP relay on `host`:`port`
 * (default 127.0.0.1, any port) that counts open connections; each GetWho
 * call is pushed on `timeline`.
 */
async function whoInstance(
  t: TestContext,
  name: string,
  options: { timeline?: string[]; delayMs?: number; gate?: Promise<void>; reply?: string; host?: string; port?: number } = {},
): Promise<WhoInstance> {
  const callers = new Map<string, number>();
  let calls = 0;
  const server = new grpc.Server();
  server.addService((grpc.loadPackageDefinition(WHO) as any).tessera.test.who.v1.WhoService.service, {
    GetWho: (call: grpc.ServerUnaryCall<{ caller: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      calls++;
      callers.set(call.request.caller, (callers.get(call.request.caller) ?? 0) + 1);
      options.timeline?.push(`call ${name}`);
      const answer = (): void => void setTimeout(() => callback(null, { name: options.reply ?? name, version: '' }), options.delayMs ?? 0);
      if (options.gate) void options.gate.then(answer);
      else answer();
    },
  });
  server.addService((grpc.loadPackageDefinition(HEALTH) as any).grpc.health.v1.Health.service, {
    Check: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, { status: 'SERVING' }),
  });
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const open = new Set<Socket>();
  const relay = createServer((socket) => {
    open.add(socket);
    const upstream = connect(grpcPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const end = (): void => {
      open.delete(socket);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(options.port ?? 0, host, resolve);
  });
  const port = (relay.address() as AddressInfo).port;
  const stop = async (): Promise<void> => {
    for (const socket of open) socket.destroy();
    if (relay.listening) await new Promise<void>((resolve) => relay.close(() => resolve()));
  };
  t.after(async () => {
    await stop();
    server.forceShutdown();
  });
  return { name, port, url: `grpc://${host}:${port}`, callers, calls: () => calls, connections: () => open.size, stop };
}

/** SRV records naming each instance's port on `<name>.pods.tessera.test` (an A record for 127.0.0.1 each). */
function srv(dns: TestDns, service: string, ...instances: WhoInstance[]): void {
  for (const instance of instances) dns.set(`${instance.name}.pods.tessera.test`, { a: ['127.0.0.1'] });
  dns.set(service, { srv: instances.map((i) => ({ target: `${i.name}.pods.tessera.test`, port: i.port })) });
}


test('gRPC SRV discovery: a new instance gets calls after its first passed grpc.health.v1 check; a vanished one is drained (calls in flight answered, then its channel closed); a failed resolution keeps the last set with a warn line (docs/reliability.md row 73)', async (t) => {
  const dns = await startDns(t);
  const timeline: string[] = [];
  const a = await whoInstance(t, 'a', { timeline });
  const b = await whoInstance(t, 'b', { timeline, delayMs: 50 });
  const c = await whoInstance(t, 'c', { timeline });
  const service = '_grpc._tcp.who.tessera.test';
  srv(dns, service, a, b);
  const discovered = recordEvents<DiscoveryEvent>(t, discoveryChannel, 'who', timeline, (e) => `discovery +${e.added.join(',')} -${e.removed.join(',')}${e.error ? ` error ${e.error}` : ''}`);
  recordEvents<InstanceHealthEvent>(t, instanceHealthChannel, 'who', timeline, (e) => `health ${e.instance} ${e.state}`);
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(
    t,
    [
      {
        kind: 'grpc',
        name: 'who',
        source: './who.proto',
        dir: FIXTURES,
        upstreams: [{ url: `grpc://${service}`, discovery: 'srv' }],
        discovery: { interval: '150ms', servers: [dns.server] },
        health: { interval: '100ms', timeout: '1s', unhealthyAfter: 2, healthyAfter: 1 },
        outliers: false,
      },
    ],
    { admin: { port: 0 }, telemetry: { metrics: { enabled: true }, status: { enabled: true } } },
    { logger },
  );
  const who = async (): Promise<string | undefined> => (await gateway.query('{ getWho(caller: "client") { name } }')).body.data?.getWho?.name as string | undefined;
  assert.ok(['a', 'b'].includes((await who())!), 'the first call waited for the first resolution');
  // The first resolution may be counted or not (the schema is a file: it can be served before its instances are known).
  const addedAtStart = sample(await (await fetch(`${gateway.adminUrl}/metrics`)).text(), 'tessera_discovery_changes_total', { subgraph: 'who', change: 'added' }) ?? 0;

  // c appears in DNS: it joins, is checked first, then gets calls.
  srv(dns, service, a, b, c);
  await until('c discovered', () => discovered.some((e) => e.added.includes(c.url)));
  const added = lines.find((l) => l.msg === `discovery: instances added (${c.url})`);
  assert.ok(added, 'an info line names the instance added');
  assert.equal(added.level, 30);
  const answered = new Set<string>();
  await until('c answers a client', async () => {
    answered.add((await who())!);
    return answered.has('c');
  });
  const upAt = timeline.indexOf(`health ${c.url} up`);
  assert.ok(upAt !== -1 && upAt < timeline.indexOf('call c'), `c's first call came after its first passed check: ${timeline.join(' | ')}`);

  // b vanishes from DNS under load (its calls take 50 ms, so some are in flight): every client request is answered.
  let stop = false;
  const failures: string[] = [];
  let requests = 0;
  const load = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const res = await gateway.query('{ getWho(caller: "load") { name } }');
      requests++;
      if (res.status !== 200 || res.body.errors || !res.body.data?.getWho) failures.push(res.text);
    }
  });
  await until('b gets calls under load', () => timeline.filter((e) => e === 'call b').length >= 3);
  assert.ok(b.connections() > 0);
  srv(dns, service, a, c);
  await until('b removed', () => discovered.some((e) => e.removed.includes(b.url)));
  const removedAt = requests;
  // Its channel closes once its calls in flight ended: b's relay sees the connection go.
  await until('b connection closed', () => b.connections() === 0);
  const callsToB = b.calls();
  await until('40 more client requests', () => requests >= removedAt + 40);
  stop = true;
  await Promise.all(load);
  assert.deepEqual(failures, [], 'no client request failed while b was drained');
  assert.equal(b.calls(), callsToB, 'no call went to b once it was removed and drained');
  assert.ok(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith(`discovery: instances removed (${b.url}); draining`)), 'an info line names the instance removed');

  // The status page and GET /admin/status (on the admin listener) list the instances found now; the metrics count the changes.
  const status = (await (await fetch(`${gateway.adminUrl}/_tessera/api`)).json()) as { subgraphs: Array<{ name: string; instances: Array<{ url: string; check: string; weight: number }> }> };
  const listed = status.subgraphs.find((s) => s.name === 'who')!.instances;
  assert.deepEqual(listed.map((i) => i.url).sort(), [a.url, c.url].sort());
  assert.equal(listed.find((i) => i.url === c.url)!.check, 'up');
  assert.deepEqual(listed.map((i) => i.weight), [0.5, 0.5], 'the entry\'s weight (1) shared by its two instances');
  const admin = (await (await fetch(`${gateway.adminUrl}/admin/status`)).json()) as { subgraphs: Array<{ name: string; instances: Array<{ url: string }> }> };
  assert.deepEqual(admin.subgraphs.find((s) => s.name === 'who')!.instances.map((i) => i.url).sort(), [a.url, c.url].sort());
  let metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.equal(sample(metrics, 'tessera_discovery_changes_total', { subgraph: 'who', change: 'added' }), addedAtStart + 1);
  assert.equal(sample(metrics, 'tessera_discovery_changes_total', { subgraph: 'who', change: 'removed' }), 1);
  assert.equal(sample(metrics, 'tessera_discovery_instances', { subgraph: 'who' }), 2);

  // The DNS server fails: a warning per failed resolution, the last known instances keep serving.
  dns.failing = true;
  await until('a failed resolution logged', () => lines.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith(`discovery: resolving ${service} failed (ESERVFAIL)`)));
  for (let i = 0; i < 6; i++) assert.ok(['a', 'c'].includes((await who())!));
  metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
  assert.ok((sample(metrics, 'tessera_discovery_failures_total', { subgraph: 'who' }) ?? 0) >= 1);
  assert.equal(sample(metrics, 'tessera_discovery_instances', { subgraph: 'who' }), 2);
  dns.failing = false;
});

/** A gRPC upstream of discovered entries, built in code; closed when the test ends. */
function discoveredGrpc(t: TestContext, dns: TestDns, options: Pick<GrpcUpstreamOptions, 'subgraph' | 'instances'> & Partial<GrpcUpstreamOptions>) {
  const upstream = grpcUpstream(t, { discovery: { intervalMs: 100, minIntervalMs: 50, timeoutMs: 1000, servers: [dns.server] }, breaker: false, outliers: false, ...options });
  const method = { path: getWho.path, serialize: (v: { caller: string }) => getWho.requestSerialize(v), deserialize: (b: Buffer) => getWho.responseDeserialize(b), readOnly: true };
  return {
    upstream,
    /** One GetWho; with `caller`, sent as the x-user header too (the sticky canary's caller). */
    who: (caller?: string) =>
      upstream.unary(method, { request: { caller: caller ?? '' }, scope: createScope({ deadlineMs: 5000, headers: new Headers(caller === undefined ? {} : { 'x-user': caller }) }) }),
  };
}

/** Within ±5% of the expected share (relative). */
function nearShare(got: number, total: number, weight: number, message: string): void {
  const share = got / total;
  assert.ok(Math.abs(share - weight) <= weight * 0.05, `${message}: ${got} of ${total} (${(share * 100).toFixed(2)}%), expected ${(weight * 100).toFixed(1)}% ±5%`);
}

test('canary on discovered versions: each version keeps its weight\'s share of 2,000 calls whatever its number of instances (3 against 1, then 1 against 2), weighted per call and sticky; a sticky caller keeps its version when instances come and go (docs/reliability.md row 74)', async (t) => {
  const dns = await startDns(t);
  const v1 = await Promise.all(['v1-a', 'v1-b', 'v1-c'].map((name) => whoInstance(t, name)));
  // v2 by A records: its instances at one port on two loopback addresses, as a headless Service's pods.
  const v2a = await whoInstance(t, 'v2-a');
  const v2b = await whoInstance(t, 'v2-b', { host: '127.0.0.2', port: v2a.port });
  const v2 = [v2a, v2b];
  srv(dns, '_grpc._tcp.who-v1.tessera.test', ...v1);
  dns.set('who-v2.tessera.test', { a: ['127.0.0.1'] });
  const instances: GrpcUpstreamOptions['instances'] = [
    { url: 'grpc://_grpc._tcp.who-v1.tessera.test', discovery: 'srv', version: 'v1', weight: 80 },
    { url: `grpc://who-v2.tessera.test:${v2a.port}`, discovery: 'dns', version: 'v2', weight: 20 },
  ];
  const plain = discoveredGrpc(t, dns, { subgraph: 'who-canary', instances, canary: { options: { guard: false } } });
  const sticky = discoveredGrpc(t, dns, { subgraph: 'who-sticky', instances, canary: { options: { sticky: { consumer: false, header: 'x-user' }, guard: false } } });
  const calls = (servers: WhoInstance[]): number => servers.reduce((sum, s) => sum + s.calls(), 0);
  /** `n` calls, 20 at a time, each by `caller(i)` (sticky: its x-user header); the calls each version got. */
  const run = async (client: ReturnType<typeof discoveredGrpc>, n: number, caller: (i: number) => string | undefined): Promise<{ v1: number; v2: number }> => {
    const before = { v1: calls(v1), v2: calls(v2) };
    for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => client.who(caller(i + k))));
    return { v1: calls(v1) - before.v1, v2: calls(v2) - before.v2 };
  };
  /** The versions whose instances a caller reached. */
  const versionsOf = (caller: string): string[] => [...new Set([...v1, ...v2].filter((s) => s.callers.has(caller)).map((s) => s.name.slice(0, 2)))];
  const user = (i: number): string => `user-${i}`;

  // Three v1 instances against one v2: each v1 instance weighs 80/3, v2's one 20.
  const firstHalf = await run(plain, 1000, () => undefined);
  assert.equal(firstHalf.v1 + firstHalf.v2, 1000);
  nearShare(firstHalf.v2, 1000, 0.2, 'v2 (1 instance) against v1 (3), weighted per call');
  assert.ok(v1.every((s) => s.calls() > 250), `every v1 instance has its part: ${v1.map((s) => s.calls()).join(', ')}`);
  const stickyFirst = await run(sticky, 1000, user);
  nearShare(stickyFirst.v2, 1000, 0.2, 'v2 (1 instance) against v1 (3), 1,000 sticky callers');

  // The records change: v1 down to one instance, v2 up to two.
  const settled = new Set<string>();
  const on = (message: unknown): void => {
    const e = message as DiscoveryEvent;
    const urls = e.instances.map((i) => i.url).sort();
    if (e.error === undefined && JSON.stringify(urls) === JSON.stringify([v1[0]!.url, v2a.url, v2b.url].sort())) {
      settled.add(e.subgraph);
      if (e.subgraph === 'who-canary') {
        assert.deepEqual(e.instances.map((i) => [i.version, i.weight]).sort(), [['v1', 80], ['v2', 10], ['v2', 10]], "each entry's weight shared by its instances now");
      }
    }
  };
  discoveryChannel.subscribe(on);
  t.after(() => discoveryChannel.unsubscribe(on));
  srv(dns, '_grpc._tcp.who-v1.tessera.test', v1[0]!);
  dns.set('who-v2.tessera.test', { a: ['127.0.0.1', '127.0.0.2'] });
  await until('both upstreams at 1 + 2 instances', () => settled.has('who-canary') && settled.has('who-sticky'));

  const secondHalf = await run(plain, 1000, () => undefined);
  assert.equal(secondHalf.v1 + secondHalf.v2, 1000);
  nearShare(secondHalf.v2, 1000, 0.2, 'v2 (2 instances) against v1 (1), weighted per call');
  nearShare(firstHalf.v2 + secondHalf.v2, 2000, 0.2, 'v2 over the 2,000 calls');
  nearShare(firstHalf.v1 + secondHalf.v1, 2000, 0.8, 'v1 over the 2,000 calls');
  assert.ok(v2b.calls() > 50, `the new v2 instance has its part: ${v2b.calls()}`);

  // The first 200 sticky callers again: each keeps its version; then 1,000 new callers split by weight.
  const before = new Map(Array.from({ length: 200 }, (_, i) => [user(i), versionsOf(user(i))]));
  assert.ok([...before.values()].every((v) => v.length === 1));
  await run(sticky, 200, user);
  const movedCallers = [...before].filter(([caller, versions]) => JSON.stringify(versionsOf(caller)) !== JSON.stringify(versions)).map(([caller]) => caller);
  assert.deepEqual(movedCallers, [], 'every sticky caller kept its version');
  const stickySecond = await run(sticky, 1000, (i) => user(1000 + i));
  nearShare(stickySecond.v2, 1000, 0.2, 'v2 (2 instances) against v1 (1), 1,000 new sticky callers');
  nearShare(stickyFirst.v2 + stickySecond.v2, 2000, 0.2, 'v2 over the 2,000 sticky callers');
});

test('shadow.version on a discovered version: copies go to that version\'s instances as discovery finds them, compared and counted; the client sees the primary only (docs/reliability.md row 74)', async (t) => {
  const dns = await startDns(t);
  const primary = await whoInstance(t, 'v1-a', { reply: 'same' });
  const shadowA = await whoInstance(t, 'v2-a', { reply: 'same' });
  const shadowB = await whoInstance(t, 'v2-b', { reply: 'different' });
  srv(dns, '_grpc._tcp.who-v1.tessera.test', primary);
  srv(dns, '_grpc._tcp.who-v2.tessera.test', shadowA);
  const discovered: DiscoveryEvent[] = [];
  const on = (m: unknown): void => void ((m as DiscoveryEvent).subgraph === 'who-shadow' && discovered.push(m as DiscoveryEvent));
  discoveryChannel.subscribe(on);
  t.after(() => discoveryChannel.unsubscribe(on));
  const gateway = await startGateway(
    t,
    [
      {
        kind: 'grpc',
        name: 'who-shadow',
        source: './who.proto',
        dir: FIXTURES,
        upstreams: [
          { url: 'grpc://_grpc._tcp.who-v1.tessera.test', discovery: 'srv', version: 'v1', weight: 1 },
          // Weight 0: shadow traffic only.
          { url: 'grpc://_grpc._tcp.who-v2.tessera.test', discovery: 'srv', version: 'v2', weight: 0 },
        ],
        discovery: { interval: '100ms', servers: [dns.server] },
        shadow: { version: 'v2', percent: 100 },
      },
    ],
    { telemetry: { metrics: { enabled: true } } },
  );
  const shadowCalls = async (outcome: string): Promise<number> =>
    sample(await (await fetch(new URL('/metrics', gateway.url))).text(), 'tessera_shadow_calls_total', { subgraph: 'who-shadow', version: 'v2', outcome }) ?? 0;
  const query = async (): Promise<void> => {
    const res = await gateway.query('{ getWho(caller: "client") { name } }');
    assert.deepEqual(res.body, { data: { getWho: { name: 'same' } } });
  };
  for (let i = 0; i < 10; i++) await query();
  await until('10 copies compared', async () => (await shadowCalls('match')) === 10);
  assert.equal(primary.calls(), 10);
  assert.equal(shadowA.calls(), 10, 'each call copied to the one v2 instance found');

  // A second v2 instance appears: copies go to both in turn; its different answers are mismatches.
  srv(dns, '_grpc._tcp.who-v2.tessera.test', shadowA, shadowB);
  await until('v2-b discovered', () => discovered.some((e) => e.added.includes(shadowB.url)));
  for (let i = 0; i < 10; i++) await query();
  await until('20 copies compared', async () => (await shadowCalls('match')) + (await shadowCalls('mismatch')) === 20);
  assert.equal(await shadowCalls('mismatch'), 5);
  assert.equal(shadowB.calls(), 5);
  assert.equal(shadowA.calls(), 15);
  assert.equal(primary.calls(), 20, 'every client call answered by v1, none by a shadow instance (weight 0)');
});

test('gRPC drain, step by step: a call in flight on an instance DNS no longer names is answered by it, the channel stays open until then and closes after; new calls go to the others (docs/reliability.md row 73)', async (t) => {
  const dns = await startDns(t);
  const gate = deferred();
  const a = await whoInstance(t, 'a');
  const b = await whoInstance(t, 'b', { gate: gate.promise });
  srv(dns, '_grpc._tcp.drain.tessera.test', b);
  const events: DiscoveryEvent[] = [];
  const on = (m: unknown): void => void ((m as DiscoveryEvent).subgraph === 'who-drain' && events.push(m as DiscoveryEvent));
  discoveryChannel.subscribe(on);
  t.after(() => discoveryChannel.unsubscribe(on));
  const { who } = discoveredGrpc(t, dns, { subgraph: 'who-drain', instances: [{ url: 'grpc://_grpc._tcp.drain.tessera.test', discovery: 'srv', weight: 1 }] });
  const held = who('held');
  await until('the call reached b', () => b.calls() === 1);
  srv(dns, '_grpc._tcp.drain.tessera.test', a);
  await until('b removed', () => events.some((e) => e.removed.includes(b.url)));
  assert.equal(b.connections(), 1, 'b keeps its connection while its call is in flight');
  assert.equal((await who('next')).name, 'a', 'a new call goes to the instance found now');
  gate.resolve();
  assert.equal((await held).name, 'b', 'the call in flight is answered by b');
  await until('b\'s channel closed', () => b.connections() === 0);
  assert.equal(b.calls(), 1);
});

test('gRPC reflection through discovery: the definitions are read from the first instance found (docs/reliability.md row 73)', async (t) => {
  const dns = await startDns(t);
  const kitchen = await startKitchen({ reflection: true });
  t.after(() => kitchen.close());
  const port = new URL(kitchen.url).port;
  dns.set('kitchen.tessera.test', { a: ['127.0.0.1'] });
  const reflected = await loadGrpc(t, {
    name: 'kitchen-discovered',
    upstreams: [{ url: `grpc://kitchen.tessera.test:${port}`, discovery: 'dns' }],
    discovery: { servers: [dns.server] },
    reflection: true,
    readOnly: ['Get*', 'Inspect'],
  });
  const result = await reflected.run('{ kitchenEcho(big: "9007199254740993", at: "2024-01-01T00:00:00Z", meta: {a: [1]}) { big } }');
  assert.deepEqual(result, { data: { kitchenEcho: { big: '9007199254740993' } } });
});

test('gRPC: a call that fails at the connection asks DNS again at once, not at the interval; the instance found then answers (docs/reliability.md row 73)', async (t) => {
  const dns = await startDns(t);
  const a = await whoInstance(t, 'a');
  const b = await whoInstance(t, 'b');
  srv(dns, '_grpc._tcp.moved.tessera.test', a);
  const { who } = discoveredGrpc(t, dns, {
    subgraph: 'who-moved',
    instances: [{ url: 'grpc://_grpc._tcp.moved.tessera.test', discovery: 'srv', weight: 1 }],
    // An interval far longer than the test: only a resolution asked for by a failed call can find b.
    discovery: { intervalMs: 600_000, minIntervalMs: 50, timeoutMs: 1000, servers: [dns.server] },
  });
  assert.equal((await who()).name, 'a');
  const asked = dns.questions.length;
  // a's pod goes away and b takes its place in DNS.
  await a.stop();
  srv(dns, '_grpc._tcp.moved.tessera.test', b);
  await assert.rejects(who(), (error: Error & { code?: string }) => error.code === 'SOURCE_UNAVAILABLE');
  await until('b answers', async () => (await who().then((r) => r.name).catch(() => undefined)) === 'b');
  assert.ok(dns.questions.length > asked, 'the failure made the gateway ask DNS again');
});
