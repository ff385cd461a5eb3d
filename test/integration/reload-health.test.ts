/**
 * The health watch and the readiness probes follow the schema version served
 * (gateway.ts `attempt`, transport/probe.ts `update`): after a hot reload a
 * new subgraph's health checks are logged and count for /readyz, and a
 * removed subgraph is neither checked nor probed again. Real GraphQL
 * upstreams on 127.0.0.1; the reload is gateway.reload() with the inline
 * descriptors changed.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import { createSchema, createYoga } from 'graphql-yoga';
import { serve } from '../../subgraphs/lib/serve.js';
import { captureLogs, freePort, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('after a reload, an added subgraph is health-checked (logged, counted by /readyz) and a removed one is no longer checked or probed (docs/reliability.md row 61)', async (t) => {
  const dir = tempProject(t, { 'b.graphql': 'type Query { b: String }\n' });
  const p = await startGraphqlUpstream(t, 'type Query { p: String }', { Query: { p: () => 'p' } });
  // c's health path answers 503: its instance is checked down.
  const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { c: String }', resolvers: { Query: { c: () => 'c' } } }), logging: false });
  const c = await serve(0, (req, res) => (req.url === '/graphql/health' ? res.writeHead(503).end() : void yoga(req, res)), '/graphql');
  t.after(() => c.close());
  const cChecks = (): number => cCount;
  let cCount = 0;
  c.server.on('request', (req: { url?: string }) => void (req.url === '/graphql/health' && cCount++));
  // b: a required subgraph whose schema is a file and whose upstream is not there: /readyz waits for it.
  const bPort = await freePort();
  const P: DescriptorInput = { kind: 'graphql', name: 'p', url: p.url, health: { interval: '100ms', unhealthyAfter: 1, healthyAfter: 1 } };
  const B: DescriptorInput & { dir: string } = { kind: 'graphql', name: 'b', source: 'b.graphql', url: `http://127.0.0.1:${bPort}/graphql`, dir };
  const C: DescriptorInput = { kind: 'graphql', name: 'c', url: c.url, health: { path: '/health', interval: '100ms', unhealthyAfter: 1, healthyAfter: 1 } };
  const descriptors: Array<DescriptorInput & { dir?: string }> = [P, B];
  const { lines, logger } = captureLogs();
  const gateway = await startGateway(t, descriptors, { server: { readiness: 'healthy' } }, { logger });
  const readyz = async (): Promise<{ status: number; body: any }> => {
    const res = await fetch(new URL('/readyz', gateway.url));
    return { status: res.status, body: await res.json() };
  };
  assert.equal((await readyz()).status, 503, 'b is waited for');

  // Reload: b removed, c added.
  descriptors.splice(0, descriptors.length, P, C);
  assert.deepEqual((await gateway.gateway.reload()).subgraphs, { added: ['c'], changed: [], removed: ['b'] });
  // Nothing may connect to b's port any more: the readiness probe of a removed subgraph stopped.
  let bConnections = 0;
  const bListener = createServer((socket) => {
    bConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => bListener.listen(bPort, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => bListener.close(() => resolve())));
  await until('c checked down, logged', () => lines.some((l) => l.subgraph === 'c' && l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('instance health check failing (HTTP 503')));
  const unready = await readyz();
  assert.equal(unready.status, 503);
  assert.equal(unready.body.status, 'unhealthy');
  assert.deepEqual(Object.keys(unready.body.subgraphs), ['c'], JSON.stringify(unready.body));

  // Reload: c removed. Its checks stop with its source; /readyz is ready again.
  descriptors.splice(0, descriptors.length, P);
  assert.deepEqual((await gateway.gateway.reload()).subgraphs, { added: [], changed: [], removed: ['c'] });
  assert.deepEqual(await readyz(), { status: 200, body: { status: 'ready' } });
  const checksOfC = cChecks();
  // p keeps being checked every 100 ms: 40 more checks of p span two readiness probe rounds (every 2 s).
  const pRequests = p.stats.requests;
  await until('40 more checks of p', () => p.stats.requests >= pRequests + 40);
  assert.equal(cChecks(), checksOfC, 'c is not checked after its removal');
  assert.equal(bConnections, 0, 'b is not probed after its removal');
});
