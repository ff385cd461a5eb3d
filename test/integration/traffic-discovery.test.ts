/**
 * DNS discovery (src/transport/discovery.ts) against a DNS server on loopback
 * (test/kit/dns.ts) whose records the test changes while the gateway serves:
 * SRV records naming GraphQL instances on 127.0.0.1, A records naming REST
 * instances on 127.0.0.1 and 127.0.0.2 at one port. No mock: real DNS over
 * UDP, real upstreams, the gateway's own resolver pointed at the test server.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test, type TestContext } from 'node:test';
import type { AddressInfo } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { discoveryChannel, resolveEntry } from '../../src/transport/discovery.js';
import { instanceHealthChannel } from '../../src/transport/health.js';
import { HttpUpstream, type HttpUpstreamOptions } from '../../src/transport/http.js';
import { createScope } from '../../src/request-scope.js';
import type { DiscoveryEvent, InstanceHealthEvent } from '../../src/events.js';
import { captureLogs, recordEvents, startGateway, startGraphqlUpstream, tempProject, type DemoService } from '../kit/index.js';
import { startDns } from '../kit/dns.js';
import { sample } from '../kit/metrics.js';

/** Waits until `condition` holds, polling; fails with `what` after a generous bound (a loaded 2-core machine). */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}


/** A GraphQL instance answering `who` with its name, after `delayMs`; it records into `timeline` each query that is not a health check. */
async function instance(t: TestContext, name: string, timeline: string[], delayMs = 0): Promise<DemoService> {
  const service = await startGraphqlUpstream(t, 'type Query { who: String }', {
    Query: {
      who: async () => {
        timeline.push(`call ${name}`);
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        return name;
      },
    },
  });
  return service;
}

/** An HTTP upstream of discovered instances, built in code with small limits; closed when the test ends. */
function discoveredUpstream(t: TestContext, options: Pick<HttpUpstreamOptions, 'subgraph' | 'instances' | 'discovery'>): HttpUpstream {
  const upstream = new HttpUpstream({ timeout: 2000, connectTimeout: 1000, maxResponseSize: 1 << 20, connections: 4, retry: { attempts: 1, backoff: 10 }, ...options });
  t.after(() => upstream.close());
  return upstream;
}

test('SRV discovery: a new instance gets traffic after its first healthy check; a vanished one is drained with no failed client request; a failed resolution keeps the last set (docs/reliability.md rows 59, 60)', async (t) => {
  const dns = await startDns(t);
  const timeline: string[] = [];
  const a = await instance(t, 'a', timeline);
  const b = await instance(t, 'b', timeline, 50);
  const c = await instance(t, 'c', timeline);
  const srv = (...services: Array<[string, DemoService]>) => ({ srv: services.map(([name, s]) => ({ target: `${name}.pods.tessera.test`, port: s.port })) });
  for (const [name] of [['a'], ['b'], ['c']]) dns.set(`${name}.pods.tessera.test`, { a: ['127.0.0.1'] });
  dns.set('items.tessera.test', srv(['a', a], ['b', b]));
  const discovered = recordEvents<DiscoveryEvent>(t, discoveryChannel, 'items', timeline, (e) => `discovery +${e.added.join(',')} -${e.removed.join(',')}${e.error ? ` error ${e.error}` : ''}`);
  recordEvents<InstanceHealthEvent>(t, instanceHealthChannel, 'items', timeline, (e) => `health ${e.instance} ${e.state}`);
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(
    t,
    [
      {
        kind: 'graphql',
        name: 'items',
        upstreams: [{ url: 'http://items.tessera.test/graphql', discovery: 'srv' }],
        discovery: { interval: '150ms', servers: [dns.server] },
        health: { interval: '100ms', timeout: '1s', unhealthyAfter: 2, healthyAfter: 1 },
        outliers: false,
      },
    ],
    { telemetry: { metrics: { enabled: true }, status: { enabled: true } } },
    { logger },
  );
  const url = (s: DemoService): string => `http://127.0.0.1:${s.port}/graphql`;
  // The schema was read by introspection through the discovered instances.
  const first = await gateway.query('{ who }');
  assert.ok(['a', 'b'].includes(first.body.data?.who), JSON.stringify(first.body));

  // A third instance appears in DNS: it joins, checked first, then gets calls.
  dns.set('items.tessera.test', srv(['a', a], ['b', b], ['c', c]));
  await until('c discovered', () => discovered.some((e) => e.added.includes(url(c))));
  const added = lines.find((l) => l.msg === `discovery: instances added (${url(c)})`);
  assert.ok(added, 'an info line names the instance added');
  assert.equal(added.level, 30);
  assert.deepEqual(added.added, [url(c)]);
  const answered = new Set<string>();
  await until('c answers a client', async () => {
    answered.add((await gateway.query('{ who }')).body.data?.who as string);
    return answered.has('c');
  });
  const upAt = timeline.indexOf(`health ${url(c)} up`);
  const firstCall = timeline.indexOf('call c');
  assert.ok(upAt !== -1 && upAt < firstCall, `c's first call came after its first passed check: ${timeline.join(' | ')}`);

  // b vanishes from DNS under load (its calls take 50 ms, so some are in flight): every client request succeeds.
  let stop = false;
  const failures: string[] = [];
  let requests = 0;
  const load = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const res = await gateway.query('{ who }');
      requests++;
      if (res.status !== 200 || res.body.errors || !res.body.data?.who) failures.push(res.text);
    }
  });
  await until('b gets calls under load', () => timeline.filter((e) => e === 'call b').length >= 3);
  dns.set('items.tessera.test', srv(['a', a], ['c', c]));
  await until('b removed', () => discovered.some((e) => e.removed.includes(url(b))));
  const removedAt = requests;
  // Its pool closes once its calls in flight ended: b sees its connections go.
  await until('b connections closed', () => new Promise<boolean>((resolve) => b.server.getConnections((_e, n) => resolve(n === 0))));
  const callsToB = timeline.filter((e) => e === 'call b').length;
  await until('40 more client requests', () => requests >= removedAt + 40);
  stop = true;
  await Promise.all(load);
  assert.deepEqual(failures, [], 'no client request failed while b was drained');
  assert.equal(timeline.filter((e) => e === 'call b').length, callsToB, 'no call went to b once it was removed and drained');
  const removed = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith(`discovery: instances removed (${url(b)})`));
  assert.ok(removed, 'an info line names the instance removed');

  // The status page lists the instances found now; the metrics count the changes.
  const status = (await (await fetch(new URL('/_tessera/api', gateway.url))).json()) as { subgraphs: Array<{ name: string; instances: Array<{ url: string; check: string }> }> };
  const listed = status.subgraphs.find((s) => s.name === 'items')!.instances;
  assert.deepEqual(listed.map((i) => i.url).sort(), [url(a), url(c)].sort());
  assert.equal(listed.find((i) => i.url === url(c))!.check, 'up', 'the instance added is listed with its check');
  let metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  // Counted from the moment the gateway's metrics exist: the first resolution, at start-up, came before.
  assert.equal(sample(metrics, 'tessera_discovery_changes_total', { subgraph: 'items', change: 'added' }), 1);
  assert.equal(sample(metrics, 'tessera_discovery_changes_total', { subgraph: 'items', change: 'removed' }), 1);
  assert.equal(sample(metrics, 'tessera_discovery_instances', { subgraph: 'items' }), 2);

  // The DNS server fails: a warning per failed resolution, the last known instances keep serving.
  dns.failing = true;
  await until('a failed resolution logged', () => lines.some((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('discovery: resolving items.tessera.test failed (ESERVFAIL)')));
  for (let i = 0; i < 6; i++) assert.ok(['a', 'c'].includes((await gateway.query('{ who }')).body.data?.who as string));
  metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  assert.ok((sample(metrics, 'tessera_discovery_failures_total', { subgraph: 'items' }) ?? 0) >= 1);
  assert.equal(sample(metrics, 'tessera_discovery_instances', { subgraph: 'items' }), 2);
  dns.failing = false;
});

/** A node:http server on `host`:`port` answering 200 `{"at":"<host>"}` on every path. */
async function restOn(t: TestContext, host: string, port: number): Promise<{ server: Server; port: number; calls: () => number }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ at: host }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { server, port: (server.address() as AddressInfo).port, calls: () => calls };
}

test('A records: each address is an instance at the URL port; an address added is called at once without health checks; a name that stops resolving keeps its last instances (docs/reliability.md rows 59, 60)', async (t) => {
  const dns = await startDns(t);
  const one = await restOn(t, '127.0.0.1', 0);
  // The same port on a second loopback address: what a headless Service's pods look like.
  const two = await restOn(t, '127.0.0.2', one.port);
  dns.set('rest.tessera.test', { a: ['127.0.0.1'] });
  const events: DiscoveryEvent[] = [];
  const on = (m: unknown): void => void ((m as DiscoveryEvent).subgraph === 'rest-a' && events.push(m as DiscoveryEvent));
  discoveryChannel.subscribe(on);
  t.after(() => discoveryChannel.unsubscribe(on));
  const upstream = discoveredUpstream(t, {
    subgraph: 'rest-a',
    instances: [{ url: `http://rest.tessera.test:${one.port}/api`, weight: 1, discovery: 'dns' }],
    discovery: { intervalMs: 100, minIntervalMs: 50, timeoutMs: 1000, servers: [dns.server] },
  });
  const get = async (): Promise<string> => {
    const res = await upstream.request({ method: 'GET', path: '/x', idempotent: true, scope: createScope({ deadlineMs: 5000 }) });
    return (JSON.parse(res.body.toString()) as { at: string }).at;
  };
  // The first call waits for the first resolution.
  assert.equal(await get(), '127.0.0.1');
  assert.deepEqual(events[0]?.added, [`http://127.0.0.1:${one.port}/api`]);
  dns.set('rest.tessera.test', { a: ['127.0.0.1', '127.0.0.2'] });
  await until('127.0.0.2 discovered', () => events.some((e) => e.added.includes(`http://127.0.0.2:${one.port}/api`)));
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await get());
  assert.deepEqual([...seen].sort(), ['127.0.0.1', '127.0.0.2'], 'round-robin over both addresses');
  assert.ok(two.calls() >= 2);
  // NXDOMAIN: the name is gone from DNS, but an empty answer never empties the fleet.
  dns.set('rest.tessera.test', undefined);
  await until('the failure published', () => events.some((e) => e.error === 'ENOTFOUND'));
  for (let i = 0; i < 4; i++) seen.add(await get());
  assert.equal(events.at(-1)!.instances.length, 2);
});

test('/readyz probes the instances a discovered subgraph resolved to, not its DNS name (docs/reliability.md row 59)', async (t) => {
  const dns = await startDns(t);
  const dir = tempProject(t, { 'who.graphql': 'type Query { who: String }\n' });
  const a = await instance(t, 'a', []);
  dns.set('who.tessera.test', { a: ['127.0.0.1'] });
  // Its schema is a file: it is not read from the upstream, so /readyz waits for an instance to accept a connection.
  const gateway = await startGateway(t, [
    { kind: 'graphql', name: 'who', source: 'who.graphql', dir, upstreams: [{ url: `http://who.tessera.test:${a.port}/graphql`, discovery: 'dns' }], discovery: { servers: [dns.server] } },
  ]);
  // Polled, no call made meanwhile: only a probe of the discovered address can make it ready.
  await until('/readyz ready', async () => (await fetch(new URL('/readyz', gateway.url))).status === 200);
  assert.equal(a.stats.requests, 0, 'no call reached the upstream before it was ready');
  assert.equal((await gateway.query('{ who }')).body.data?.who, 'a');
});

test('a discovered name resolving to a metadata or link-local address: that address is left out, the others are instances', async (t) => {
  const dns = await startDns(t);
  dns.set('mixed.tessera.test', { a: ['169.254.169.254', '127.0.0.1'], aaaa: ['fe80::1'] });
  dns.set('metadata-only.tessera.test', { a: ['169.254.169.254'] });
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([dns.server]);
  assert.deepEqual(await resolveEntry(resolver, { url: 'http://mixed.tessera.test:8080/api', weight: 2, version: 'v1', discovery: 'dns' }), [
    { url: 'http://127.0.0.1:8080/api', weight: 2, version: 'v1' },
  ]);
  await assert.rejects(resolveEntry(resolver, { url: 'http://metadata-only.tessera.test:8080', weight: 1, discovery: 'dns' }), /metadata-only\.tessera\.test has no usable A or AAAA record/);
});

test('a name that resolves to nothing yet: calls fail at once with SOURCE_UNAVAILABLE, and the name is asked again soon, not at the interval', async (t) => {
  const dns = await startDns(t);
  const one = await restOn(t, '127.0.0.1', 0);
  const upstream = discoveredUpstream(t, {
    subgraph: 'rest-late',
    instances: [{ url: `http://late.tessera.test:${one.port}`, weight: 1, discovery: 'dns' }],
    // An interval far longer than the test: only the quicker retry while nothing is known can find the name.
    discovery: { intervalMs: 600_000, minIntervalMs: 100, timeoutMs: 1000, servers: [dns.server] },
  });
  const get = () => upstream.request({ method: 'GET', path: '/x', idempotent: true, scope: createScope({ deadlineMs: 5000 }) });
  await assert.rejects(get(), (error: Error & { code?: string; cause?: Error }) => {
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.cause?.message, 'no instance: discovery has found none yet');
    return true;
  });
  dns.set('late.tessera.test', { a: ['127.0.0.1'] });
  await until('the name found', async () => (await get().then((r) => r.status).catch(() => 0)) === 200);
  assert.ok(one.calls() >= 1);
});
