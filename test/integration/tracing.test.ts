/**
 * Tracing (telemetry.tracing): a client's W3C traceparent continues into
 * every upstream (REST and GraphQL as HTTP headers, gRPC as metadata), for
 * direct calls, planned joins and SSE subscriptions, each upstream seeing its
 * attempt's CLIENT span as parent; spans exported in memory (createGateway's
 * spanExporter) and over OTLP/HTTP to a collector stub; a dead collector
 * fails no request and is one warn line.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createGateway } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { join } from 'node:path';
import { freePort, gql, serveTessera, sse, startGateway, startGraphqlUpstream, tempProject, type DemoService } from '../kit/index.js';
import { FIXTURES as GRPC_FIXTURES, kitchenDescriptor } from '../kit/grpc.js';
import { KITCHEN_INCLUDE, KITCHEN_PROTO, startKitchen } from '../fixtures/grpc/kitchen-server.js';
import * as grpcJs from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { start as startCatalog } from '../../subgraphs/catalog/server.js';
import { demoEnv, startDemoServices } from '../../subgraphs/demo.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const CLIENT = { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, tracestate: 'vendor=opaque' };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

const SUBGRAPHS = fileURLToPath(new URL('../../subgraphs/', import.meta.url));

/** The trace id and parent span id of a traceparent an upstream received. */
function parsed(traceparent: string | undefined): { traceId: string; parent: string; flags: string } {
  const match = TRACEPARENT.exec(traceparent ?? '');
  assert.ok(match, `a valid traceparent reached the upstream, got ${String(traceparent)}`);
  return { traceId: match[1]!, parent: match[2]!, flags: match[3]! };
}

/** The traceparent of every request a node:http upstream receives, in order. */
function watchTraceparents(service: { server: { on(event: 'request', listener: (req: IncomingMessage) => void): unknown } }): Array<string | undefined> {
  const seen: Array<string | undefined> = [];
  service.server.on('request', (req: IncomingMessage) => seen.push(req.headers.traceparent as string | undefined));
  return seen;
}

/** A gateway with tracing on, its spans kept in memory; `spans()` closes it (which flushes) and returns them. */
async function tracedGateway(t: TestContext, descriptors: Array<DescriptorInput & { dir?: string }>, tracing: Record<string, unknown> = {}, gateway: GatewayFileInput = {}) {
  const exporter = new InMemorySpanExporter();
  const gw = await startGateway(t, descriptors, { mode: 'development', ...gateway, telemetry: { tracing: { enabled: true, ...tracing } } }, { spanExporter: exporter });
  return {
    ...gw,
    spans: async (): Promise<ReadableSpan[]> => {
      await gw.gateway.close();
      return exporter.getFinishedSpans();
    },
  };
}

const byId = (spans: ReadableSpan[], id: string): ReadableSpan | undefined => spans.find((s) => s.spanContext().spanId === id);
const serverSpan = (spans: ReadableSpan[]): ReadableSpan => {
  const found = spans.filter((s) => s.kind === SpanKind.SERVER);
  assert.equal(found.length, 1, `one SERVER span: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};

/** REST (the demo catalog), gRPC (the kitchen fixture, whose GetHeaders answers the metadata it received) and a GraphQL upstream. */
async function threeProtocols(t: TestContext) {
  const catalog = await startCatalog(0);
  t.after(() => catalog.close());
  const kitchen = await startKitchen();
  t.after(() => kitchen.close());
  const graphqlSeen: Array<string | null> = [];
  const users = await startGraphqlUpstream(t, 'type Query { hello: String }', {
    Query: {
      hello: (_: unknown, __: unknown, context: { request: Request }) => {
        graphqlSeen.push(context.request.headers.get('traceparent'));
        return 'hi';
      },
    },
  });
  const restSeen = watchTraceparents(catalog);
  const descriptors: Array<DescriptorInput & { dir?: string }> = [
    { name: 'catalog', kind: 'openapi', source: './openapi.yaml', url: catalog.url, dir: `${SUBGRAPHS}catalog` },
    { ...kitchenDescriptor(kitchen.url), kind: 'grpc', dir: GRPC_FIXTURES } as DescriptorInput & { dir: string },
    { name: 'users', kind: 'graphql', url: users.url },
  ];
  return { descriptors, restSeen, graphqlSeen };
}

const THREE = '{ getProduct(id: "p1") { id name } getHeaders { seen { key value } } hello }';

function grpcTraceparent(data: { getHeaders: { seen: Array<{ key: string; value: string }> } }): string | undefined {
  return data.getHeaders.seen.find((e) => e.key === 'traceparent')?.value;
}

test("a client's traceparent reaches the REST, gRPC and GraphQL upstreams in one trace, each upstream's parent the span of its own call", async (t) => {
  const { descriptors, restSeen, graphqlSeen } = await threeProtocols(t);
  const gw = await tracedGateway(t, descriptors);

  const res = await gw.query(THREE, undefined, CLIENT);
  assert.equal(res.status, 200);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(res.body.data.getProduct.id, 'p1');
  const rest = parsed(restSeen[0]);
  const grpc = parsed(grpcTraceparent(res.body.data));
  const graphql = parsed(graphqlSeen[0] ?? undefined);
  for (const seen of [rest, grpc, graphql]) {
    assert.equal(seen.traceId, TRACE_ID, 'the client trace id');
    assert.equal(seen.flags, '01', 'sampled, as the client asked');
  }
  assert.equal(new Set([rest.parent, grpc.parent, graphql.parent]).size, 3, 'one span per upstream call');

  const spans = await gw.spans();
  const server = serverSpan(spans);
  assert.equal(server.spanContext().traceId, TRACE_ID);
  assert.equal(server.parentSpanContext?.spanId, CLIENT_SPAN, "the request span is the child of the client's span");
  assert.equal(server.attributes['tessera.channel'], 'default');
  assert.equal(server.attributes['http.response.status_code'], 200);
  assert.ok(server.attributes['tessera.route'], 'the route taken');
  assert.match(String(server.attributes['tessera.request_id']), /./);
  assert.equal(server.attributes['graphql.operation.type'], 'query');
  assert.equal(server.status.code, SpanStatusCode.UNSET);
  const children = spans.filter((s) => s.parentSpanContext?.spanId === server.spanContext().spanId).map((s) => s.name);
  for (const step of ['graphql.parse', 'graphql.validate', 'tessera.route']) assert.ok(children.includes(step), `${step} is a child of the request span: ${children.join(', ')}`);

  const restSpan = byId(spans, rest.parent);
  assert.ok(restSpan, 'the span the REST upstream saw as parent was exported');
  assert.equal(restSpan.kind, SpanKind.CLIENT);
  assert.equal(restSpan.name, 'GET /products/{id}');
  assert.equal(restSpan.parentSpanContext?.spanId, server.spanContext().spanId);
  assert.deepEqual(
    {
      subgraph: restSpan.attributes['tessera.subgraph'],
      method: restSpan.attributes['http.request.method'],
      template: restSpan.attributes['url.template'],
      status: restSpan.attributes['http.response.status_code'],
      attempt: restSpan.attributes['tessera.attempt'],
      instance: restSpan.attributes['tessera.instance'],
      address: restSpan.attributes['server.address'],
    },
    { subgraph: 'catalog', method: 'GET', template: '/products/{id}', status: 200, attempt: 0, instance: descriptors[0]!.url, address: '127.0.0.1' },
  );
  const grpcSpan = byId(spans, grpc.parent);
  assert.ok(grpcSpan, 'the span the gRPC upstream saw as parent (in its metadata) was exported');
  assert.equal(grpcSpan.kind, SpanKind.CLIENT);
  assert.equal(grpcSpan.attributes['rpc.system'], 'grpc');
  assert.equal(grpcSpan.attributes['rpc.method'], 'GetHeaders');
  assert.equal(grpcSpan.attributes['rpc.grpc.status_code'], 0);
  assert.equal(grpcSpan.attributes['tessera.subgraph'], 'kitchen');
  const graphqlSpan = byId(spans, graphql.parent);
  assert.ok(graphqlSpan, 'the span the GraphQL upstream saw as parent was exported');
  assert.equal(graphqlSpan.name, 'POST /graphql');
  assert.equal(graphqlSpan.attributes['tessera.subgraph'], 'users');
  for (const span of spans) assert.equal(span.spanContext().traceId, TRACE_ID, `${span.name} is in the client's trace`);
});

test('a planned join propagates the trace on both hops (reviews over GraphQL, then catalog over REST)', async (t) => {
  const demo = await startDemoServices(Object.fromEntries(['accounts', 'reviews', 'catalog', 'inventory'].map((n) => [n, 0])));
  t.after(() => demo.close());
  const reviewsSeen = watchTraceparents(demo.services.get('reviews')!);
  const catalogSeen = watchTraceparents(demo.services.get('catalog')!);
  const exporter = new InMemorySpanExporter();
  const gateway = await createGateway({
    gateway: { mode: 'development', logging: { level: 'silent' }, descriptors: SUBGRAPHS, telemetry: { tracing: { enabled: true } } },
    env: demoEnv(demo),
    spanExporter: exporter,
  });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  reviewsSeen.length = 0;

  const res = await gql(url, '{ reviews(first: 2) { body product { id name } } }', undefined, CLIENT);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(res.headers.get('tessera-route'), 'planned');
  assert.equal(reviewsSeen.length, 1);
  assert.equal(catalogSeen.length, 1, 'one batched join call');
  const first = parsed(reviewsSeen[0]);
  const second = parsed(catalogSeen[0]);
  assert.equal(first.traceId, TRACE_ID);
  assert.equal(second.traceId, TRACE_ID);

  await gateway.close();
  const spans = exporter.getFinishedSpans();
  const server = serverSpan(spans);
  assert.equal(server.attributes['tessera.route'], 'planned');
  assert.equal(byId(spans, first.parent)?.attributes['tessera.subgraph'], 'reviews');
  const join = byId(spans, second.parent);
  assert.equal(join?.attributes['tessera.subgraph'], 'catalog');
  assert.equal(join?.parentSpanContext?.spanId, server.spanContext().spanId);
});

test('a subscription over SSE to a GraphQL upstream carries the trace to the upstream stream', async (t) => {
  const seen: Array<string | null> = [];
  const upstream = await startGraphqlUpstream(t, 'type Query { ok: Boolean } type Subscription { ticks: Int! }', {
    Query: { ok: () => true },
    Subscription: {
      ticks: {
        subscribe: async function* (_: unknown, __: unknown, context: { request: Request }) {
          seen.push(context.request.headers.get('traceparent'));
          for (let i = 0; i < 3; i++) yield { ticks: i };
        },
      },
    },
  });
  const gw = await tracedGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }]);
  const subscription = await sse(t, gw.url, 'subscription { ticks }', CLIENT);
  assert.equal(subscription.status, 200);
  assert.deepEqual(await subscription.next(), { data: { ticks: 0 } });
  const upstreamSeen = parsed(seen[0] ?? undefined);
  assert.equal(upstreamSeen.traceId, TRACE_ID);
  while ((await subscription.next()) !== undefined);

  const spans = await gw.spans();
  const stream = byId(spans, upstreamSeen.parent);
  assert.ok(stream, 'the span of the upstream stream, parent of what the upstream saw, was exported');
  assert.equal(stream.kind, SpanKind.CLIENT);
  assert.equal(stream.attributes['tessera.subgraph'], 'events');
  assert.equal(stream.parentSpanContext?.spanId, serverSpan(spans).spanContext().spanId);
});

/** A gRPC server of the kitchen service whose Count stream records the traceparent metadata it was called with. */
async function countingKitchen(t: TestContext): Promise<{ url: string; seen: Array<string | undefined> }> {
  const definition = protoLoader.loadSync(KITCHEN_PROTO, { keepCase: true, longs: String, includeDirs: [KITCHEN_INCLUDE] });
  const pkg = grpcJs.loadPackageDefinition(definition) as unknown as { kitchen: { v1: { Kitchen: grpcJs.ServiceClientConstructor } } };
  const seen: Array<string | undefined> = [];
  const server = new grpcJs.Server();
  server.addService(pkg.kitchen.v1.Kitchen.service, {
    Count(call: grpcJs.ServerWritableStream<{ count: number }, unknown>) {
      seen.push(call.metadata.get('traceparent')[0] as string | undefined);
      for (let n = 0; n < call.request.count; n++) call.write({ n: String(n) });
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpcJs.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.after(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return { url: `grpc://127.0.0.1:${port}`, seen };
}

test('a subscription over a gRPC server stream carries the trace in the stream call metadata', async (t) => {
  const kitchen = await countingKitchen(t);
  const gw = await tracedGateway(t, [{ ...kitchenDescriptor(kitchen.url), kind: 'grpc', dir: GRPC_FIXTURES } as DescriptorInput & { dir: string }]);
  const subscription = await sse(t, gw.url, 'subscription { count(count: 2, intervalMs: 1) { n } }', CLIENT);
  assert.equal(subscription.status, 200);
  assert.deepEqual(await subscription.next(), { data: { count: { n: '0' } } });
  while ((await subscription.next()) !== undefined);
  const upstreamSeen = parsed(kitchen.seen[0]);
  assert.equal(upstreamSeen.traceId, TRACE_ID);

  const spans = await gw.spans();
  const stream = byId(spans, upstreamSeen.parent);
  assert.ok(stream, 'the span of the gRPC stream, parent of what the upstream saw, was exported');
  assert.equal(stream.kind, SpanKind.CLIENT);
  assert.equal(stream.name, 'kitchen.v1.Kitchen/Count');
  assert.equal(stream.attributes['rpc.grpc.status_code'], 0);
  assert.equal(stream.parentSpanContext?.spanId, serverSpan(spans).spanContext().spanId);
});

test('operations over WebSocket (graphql-ws) are traced: the upgrade request\'s traceparent continues, a query and a subscription reach the upstream in the trace', async (t) => {
  const seen: Array<string | null> = [];
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String } type Subscription { ticks: Int! }', {
    Query: {
      hello: (_: unknown, __: unknown, context: { request: Request }) => {
        seen.push(context.request.headers.get('traceparent'));
        return 'hi';
      },
    },
    Subscription: {
      ticks: {
        subscribe: async function* (_: unknown, __: unknown, context: { request: Request }) {
          seen.push(context.request.headers.get('traceparent'));
          for (let i = 0; i < 2; i++) yield { ticks: i };
        },
      },
    },
  });
  const gw = await tracedGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }]);
  // The client's context on the upgrade request, as a browser's instrumentation or a proxy would set it.
  class TracedSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: CLIENT });
    }
  }
  const client = createClient({ url: gw.url.replace('http', 'ws'), webSocketImpl: TracedSocket, retryAttempts: 0 });
  t.after(() => client.dispose());
  const run = (query: string): Promise<unknown[]> =>
    new Promise((resolve, reject) => {
      const results: unknown[] = [];
      client.subscribe({ query }, { next: (value) => results.push(value), error: reject, complete: () => resolve(results) });
    });
  assert.deepEqual(await run('query Hello { hello }'), [{ data: { hello: 'hi' } }]);
  assert.deepEqual(await run('subscription Ticks { ticks }'), [{ data: { ticks: 0 } }, { data: { ticks: 1 } }]);
  await client.dispose();
  assert.equal(seen.length, 2);
  const spans = await gw.spans();
  const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
  assert.deepEqual(servers.map((s) => s.name).sort(), ['query Hello', 'subscription Ticks'], 'one request span per operation, ended');
  for (const server of servers) {
    assert.equal(server.spanContext().traceId, TRACE_ID, 'the upgrade request\'s trace continues');
    assert.equal(server.parentSpanContext?.spanId, CLIENT_SPAN);
  }
  for (const header of seen) {
    const got = parsed(header ?? undefined);
    assert.equal(got.traceId, TRACE_ID);
    const parent = byId(spans, got.parent);
    assert.ok(parent, 'what the upstream saw as its parent is an exported span');
    assert.equal(parent.kind, SpanKind.CLIENT);
  }
});

/** A GraphQL upstream answering `{ hello }`, recording the traceparent of each request it gets. */
async function helloUpstream(t: TestContext): Promise<DemoService & { seen: Array<string | null> }> {
  const seen: Array<string | null> = [];
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', {
    Query: {
      hello: (_: unknown, __: unknown, context: { request: Request }) => {
        seen.push(context.request.headers.get('traceparent'));
        return 'hi';
      },
    },
  });
  return Object.assign(upstream, { seen });
}

test('a malformed traceparent starts a new trace; with acceptClientContext: false the client context is ignored', async (t) => {
  const upstream = await helloUpstream(t);
  const { seen } = upstream;
  const descriptors = [{ name: 'users', kind: 'graphql' as const, url: upstream.url }];
  const accepting = await tracedGateway(t, descriptors);
  for (const malformed of [`00-${TRACE_ID}-0000000000000000-01`, `zz-${TRACE_ID}-${CLIENT_SPAN}-01`, 'not a traceparent', `00-${TRACE_ID.toUpperCase()}-${CLIENT_SPAN}-01`]) {
    seen.length = 0;
    const res = await accepting.query('{ hello }', undefined, { traceparent: malformed });
    assert.equal(res.body.data.hello, 'hi', 'the request is served');
    const got = parsed(seen[0] ?? undefined);
    assert.notEqual(got.traceId, TRACE_ID, `${malformed}: a new trace`);
    assert.equal(got.flags, '01', 'a new trace is sampled (sampling: 1)');
  }
  const spans = await accepting.spans();
  for (const span of spans.filter((s) => s.kind === SpanKind.SERVER)) assert.equal(span.parentSpanContext, undefined, 'a root span');

  const ignoring = await tracedGateway(t, descriptors, { acceptClientContext: false });
  seen.length = 0;
  await ignoring.query('{ hello }', undefined, CLIENT);
  const got = parsed(seen[0] ?? undefined);
  assert.notEqual(got.traceId, TRACE_ID, 'the client trace is not continued');
  assert.equal(serverSpan(await ignoring.spans()).parentSpanContext, undefined);
});

test("the client's sampled flag decides (parent-based); sampling decides new traces; unsampled context still propagates", async (t) => {
  const upstream = await helloUpstream(t);
  const { seen } = upstream;
  const gw = await tracedGateway(t, [{ name: 'users', kind: 'graphql', url: upstream.url }], { sampling: 0 });
  await gw.query('{ hello }', undefined, { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-00` });
  await gw.query('{ hello }');
  await gw.query('{ hello }', undefined, CLIENT);
  const [unsampled, fresh, sampled] = seen.map((s) => parsed(s ?? undefined));
  assert.deepEqual([unsampled!.traceId, unsampled!.flags], [TRACE_ID, '00'], "the client's unsampled trace, passed on unsampled");
  assert.equal(fresh!.flags, '00', 'sampling: 0 records no new trace');
  assert.deepEqual([sampled!.traceId, sampled!.flags], [TRACE_ID, '01'], "the client's sampled trace is recorded whatever the ratio");
  const spans = await gw.spans();
  assert.ok(spans.length > 0);
  for (const span of spans) assert.equal(span.spanContext().traceId, TRACE_ID, 'only the sampled request was exported');
});

test('tracing off (the default): the upstreams receive no traceparent, the client one included', async (t) => {
  const { descriptors, restSeen, graphqlSeen } = await threeProtocols(t);
  const gw = await startGateway(t, descriptors);
  const res = await gw.query(THREE, undefined, CLIENT);
  assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
  assert.equal(restSeen[0], undefined);
  assert.equal(grpcTraceparent(res.body.data), undefined);
  assert.equal(graphqlSeen[0], null);
});

test('enabled without an exporter endpoint (and no spanExporter) stops start-up naming the key', async () => {
  await assert.rejects(
    createGateway({ gateway: { logging: { level: 'silent' }, telemetry: { tracing: { enabled: true } } }, descriptors: [{ name: 'users', kind: 'graphql', url: 'http://127.0.0.1:9/graphql' }] }),
    (error: Error & { problems?: string[] }) => {
      assert.match(error.problems?.join('\n') ?? error.message, /telemetry\.tracing\.exporter\.endpoint: required when telemetry\.tracing\.enabled is true/);
      return true;
    },
  );
});

/** A collector stub: records the OTLP/HTTP bodies POSTed to /v1/traces, and the headers they came with. */
async function collector(t: TestContext) {
  const posts: Array<{ path: string; type: string | undefined; auth: string | undefined; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', type: req.headers['content-type'], auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, posts };
}

function logLines(): { lines: Array<Record<string, unknown>>; sink: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, sink };
}

test('OTLP/HTTP export: the collector receives the spans of the trace, with the configured headers (${ENV} interpolated)', async (t) => {
  const stub = await collector(t);
  const upstream = await helloUpstream(t);
  const gateway = await createGateway({
    gateway: {
      logging: { level: 'silent' },
      telemetry: { tracing: { enabled: true, serviceName: 'edge-gateway', exporter: { endpoint: stub.url, headers: { authorization: '${COLLECTOR_TOKEN}' } } } },
    },
    descriptors: [{ name: 'users', kind: 'graphql', url: upstream.url }],
    env: { COLLECTOR_TOKEN: 'Bearer collector-secret' },
  });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  assert.equal((await gql(url, 'query Hello { hello }', undefined, CLIENT)).body.data.hello, 'hi');
  await gateway.close();

  assert.ok(stub.posts.length >= 1, 'at least one export');
  assert.equal(stub.posts[0]!.path, '/v1/traces');
  assert.equal(stub.posts[0]!.auth, 'Bearer collector-secret');
  const body = stub.posts.map((p) => p.body).join('\n');
  assert.match(stub.posts[0]!.type ?? '', /^application\/(json|x-protobuf)/);
  // The OTLP payload names the service and the spans (JSON, or protobuf whose strings are readable as such).
  for (const text of ['edge-gateway', 'query Hello', 'POST /graphql', 'graphql.parse', 'tessera.subgraph']) assert.ok(body.includes(text), `the export carries "${text}"`);
});

test('a dead collector fails no request and is one warn line, not one per span or request (docs/reliability.md row 42)', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}/v1/traces`;
  const upstream = await helloUpstream(t);
  const { lines, sink } = logLines();
  const gateway = await createGateway({
    gateway: { telemetry: { tracing: { enabled: true, exporter: { endpoint: dead, timeout: '2s' } } } },
    descriptors: [{ name: 'users', kind: 'graphql', url: upstream.url }],
    logger: createLogger('info', sink),
  });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  // Enough spans for several exports (a batch is 512 spans, a request 5): every one of them fails.
  for (let i = 0; i < 250; i++) {
    const res = await gql(url, '{ hello }');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.hello, 'hi');
  }
  await gateway.close();
  const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('trace export failed'));
  assert.equal(warnings.length, 1, JSON.stringify(lines.map((l) => l.msg)));
  assert.equal(warnings[0]!.level, 40);
  assert.equal(warnings[0]!.endpoint, dead);
});

test('tessera serve --workers 2: each worker exports its own spans to the collector', async (t) => {
  const stub = await collector(t);
  const upstream = await helloUpstream(t);
  const dir = tempProject(t, {
    'gateway.yaml': `server: { host: 127.0.0.1, port: 0 }\ndescriptors: ./subgraphs\ntelemetry: { tracing: { enabled: true, exporter: { endpoint: "${stub.url}" } } }\n`,
    'subgraphs/subgraph.yaml': 'name: users\nkind: graphql\nurl: ${USERS_URL}\nsource: ./users.graphql\n',
    'subgraphs/users.graphql': 'type Query { hello: String }',
  });
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { USERS_URL: upstream.url });
  const url = await serve.url;
  // A connection of its own per request: the cluster primary hands each new connection to the next worker in turn.
  for (let i = 0; i < 4; i++) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ query: '{ hello }' }) });
    assert.equal(res.status, 200);
    await res.text();
  }
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0);
  const body = stub.posts.map((p) => p.body).join('\n');
  // JSON or protobuf, the process.pid values are readable: two different workers exported.
  const pids = new Set(stub.posts.flatMap((p) => [...p.body.matchAll(/process\.pid[^0-9]{1,40}?(\d{2,})/g)].map((m) => m[1])));
  assert.ok(body.includes('POST /graphql') || body.includes('query'), 'request spans were exported');
  assert.equal(pids.size, 2, `spans from two worker processes: ${[...pids].join(', ')}`);
});
