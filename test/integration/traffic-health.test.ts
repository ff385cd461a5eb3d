/**
 * Active health checks with real servers on loopback: a REST instance whose
 * health path fails is marked down and gets no traffic, then up again; the
 * gRPC health protocol; GraphQL's `{ __typename }` and /readyz with
 * `server.readiness: healthy`, with an instance process killed and restarted.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createScope } from '../../src/request-scope.js';
import { HttpUpstream } from '../../src/transport/http.js';
import { instanceHealthChannel } from '../../src/transport/health.js';
import type { InstanceHealthEvent } from '../../src/events.js';
import { captureLogs, grpcUpstream, startGateway, startUpstreamProcess } from '../kit/index.js';
import { sample } from '../kit/metrics.js';
import { serve } from '../../subgraphs/lib/serve.js';

/** Health verdicts of one subgraph as they come, and a wait for the next one matching. */
function verdicts(t: TestContext, subgraph: string) {
  const seen: InstanceHealthEvent[] = [];
  const waiters: Array<{ match: (e: InstanceHealthEvent) => boolean; resolve: (e: InstanceHealthEvent) => void }> = [];
  const onEvent = (message: unknown): void => {
    const event = message as InstanceHealthEvent;
    if (event.subgraph !== subgraph) return;
    seen.push(event);
    for (const w of waiters.splice(0)) {
      if (w.match(event)) w.resolve(event);
      else waiters.push(w);
    }
  };
  instanceHealthChannel.subscribe(onEvent);
  t.after(() => instanceHealthChannel.unsubscribe(onEvent));
  return {
    seen,
    next: (instance: string, state: 'up' | 'down'): Promise<InstanceHealthEvent> =>
      new Promise((resolve) => waiters.push({ match: (e) => e.instance === instance && e.state === state, resolve })),
  };
}

const HEALTH = { service: '', intervalMs: 100, timeoutMs: 500, unhealthyAfter: 2, healthyAfter: 2 };

test('REST: an instance whose health path fails is marked down and gets no traffic, then up again when it passes (docs/reliability.md row 47)', async (t) => {
  let failing = false;
  // Plain node:http servers (the OpenAPI kit's servers refuse requests no document declares, and /health is the operator's path).
  const rest = async (sick: () => boolean) => {
    const calls: Array<{ method: string; url: string; key?: string }> = [];
    const service = await serve(0, (req, res) => {
      calls.push({ method: req.method!, url: req.url!, key: req.headers['x-api-key'] as string | undefined });
      res.writeHead(req.url === '/health' && sick() ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
    });
    t.after(() => service.close());
    return { url: service.url, calls };
  };
  const a = await rest(() => failing);
  const b = await rest(() => false);
  const events = verdicts(t, 'rest-health');
  const upstream = new HttpUpstream({
    subgraph: 'rest-health',
    instances: [
      { url: a.url, weight: 1 },
      { url: b.url, weight: 1 },
    ],
    timeout: 1000,
    connectTimeout: 500,
    maxResponseSize: 1 << 20,
    connections: 4,
    retry: { attempts: 1, backoff: 10 },
    health: { ...HEALTH, path: '/health', headers: { 'x-api-key': 'service-key' } },
  });
  t.after(() => upstream.close());
  const callsTo = (server: { calls: Array<{ url: string }> }): number => server.calls.filter((c) => c.url === '/items').length;
  const send = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await upstream.request({ method: 'GET', path: '/items', idempotent: true, scope: createScope({ deadlineMs: 2000 }) });
  };
  await Promise.all([events.next(a.url, 'up'), events.next(b.url, 'up')]);

  failing = true;
  const down = await events.next(a.url, 'down');
  assert.equal(down.reason, 'HTTP 503 from GET /health');
  const before = callsTo(a);
  await send(20);
  assert.equal(callsTo(a), before, 'no call to the instance marked down');
  assert.equal(callsTo(b) >= 20, true);

  failing = false;
  await events.next(a.url, 'up');
  await send(20);
  assert.equal(callsTo(a), before + 10, 'back in the rotation, its share again');
  // The checks are GETs of the path, with the static headers calls send (a service credential), and only those reach /health.
  assert.ok(a.calls.filter((c) => c.url === '/health').every((c) => c.method === 'GET' && c.key === 'service-key'));
});

const HEALTH_PROTO = fileURLToPath(new URL('../fixtures/grpc/health.proto', import.meta.url));

/** A gRPC server with only the standard health service, answering what `status()` says; records the services asked about. */
async function startHealthServer(t: TestContext, status: () => string): Promise<{ url: string; asked: string[] }> {
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO, { enums: String })) as any;
  const server = new grpc.Server();
  const asked: string[] = [];
  server.addService(definition.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      asked.push(call.request.service);
      callback(null, { status: status() });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))));
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return { url: `grpc://127.0.0.1:${port}`, asked };
}

test('gRPC: grpc.health.v1.Health/Check for the configured service; NOT_SERVING marks the instance down, SERVING up again', async (t) => {
  let status = 'SERVING';
  const server = await startHealthServer(t, () => status);
  const events = verdicts(t, 'grpc-health');
  grpcUpstream(t, {
    subgraph: 'grpc-health',
    instances: [{ url: server.url, weight: 1 }],
    timeout: 1000,
    health: { ...HEALTH, service: 'tessera.inventory.v1.InventoryService' },
  });
  await events.next(server.url, 'up');
  status = 'NOT_SERVING';
  assert.equal((await events.next(server.url, 'down')).reason, 'NOT_SERVING');
  status = 'SERVING';
  await events.next(server.url, 'up');
  assert.ok(server.asked.length >= 5);
  assert.ok(server.asked.every((s) => s === 'tessera.inventory.v1.InventoryService'));
});

test('GraphQL: { __typename } checks; /readyz with server.readiness: healthy is 503 with the reason while no instance is up, 200 once one is; each change logged', async (t) => {
  const instance = await startUpstreamProcess(t, 'graphql/instance.ts', ['only'], '/graphql');
  const events = verdicts(t, 'gql-health');
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(
    t,
    [{ kind: 'graphql', name: 'gql-health', url: instance.url, health: { interval: '100ms', timeout: '500ms', unhealthyAfter: 2, healthyAfter: 1 } }],
    { server: { readiness: 'healthy' }, telemetry: { metrics: { enabled: true } } },
    { logger },
  );
  const readyz = async (): Promise<{ status: number; body: any }> => {
    const res = await fetch(new URL('/readyz', gateway.url));
    return { status: res.status, body: await res.json() };
  };
  if (!events.seen.some((e) => e.state === 'up')) await events.next(instance.url, 'up');
  assert.deepEqual(await readyz(), { status: 200, body: { status: 'ready' } });
  assert.equal((await gateway.query('{ hello }')).body.data?.hello, 'world');

  await instance.kill();
  const down = await events.next(instance.url, 'down');
  assert.match(down.reason!, /ECONNREFUSED/);
  const unready = await readyz();
  assert.equal(unready.status, 503);
  assert.deepEqual(unready.body, { status: 'unhealthy', subgraphs: { 'gql-health': { [instance.url]: down.reason } } });

  await instance.start();
  await events.next(instance.url, 'up');
  assert.deepEqual(await readyz(), { status: 200, body: { status: 'ready' } });
  // For the person on call: a warning with the reason when it went down, info when it came back.
  const changes = lines.filter((l) => l.subgraph === 'gql-health' && typeof l.msg === 'string' && l.msg.startsWith('instance health check'));
  assert.deepEqual(
    changes.map((l) => [l.level, l.state, l.instance]),
    [
      [30, 'up', instance.url],
      [40, 'down', instance.url],
      [30, 'up', instance.url],
    ],
  );
  assert.equal(changes[1]!.reason, down.reason);
  // Counted, and the verdict as a gauge.
  const metrics = await (await fetch(new URL('/metrics', gateway.url))).text();
  const labels = { subgraph: 'gql-health', instance: instance.url };
  assert.equal(sample(metrics, 'tessera_instance_healthy', labels), 1);
  assert.equal(sample(metrics, 'tessera_instance_health_transitions_total', { ...labels, state: 'down' }), 1);
  assert.equal(sample(metrics, 'tessera_instance_health_transitions_total', { ...labels, state: 'up' }), 2);
  assert.match(String(changes[1]!.msg), /failing \(ECONNREFUSED.*\): no traffic to it until it passes again/);
});
