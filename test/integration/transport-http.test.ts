/** Reading an HTTP upstream's answer over a real socket: whole across chunks, capped by maxResponseSize, cut off when the client goes away. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { HttpUpstream } from '../../src/transport/http.js';
import { createScope } from '../../src/request-scope.js';

test('an HTTP answer is read whole across chunks, refused past maxResponseSize, and cut off when the client goes away', async (t) => {
  let hanging!: () => void;
  const hangArrived = new Promise<void>((resolve) => (hanging = resolve));
  let hangClosed!: () => void;
  const hangCut = new Promise<void>((resolve) => (hangClosed = resolve));
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url === '/chunks') {
      for (let i = 0; i < 50; i++) res.write('x'.repeat(1000));
      res.end('!');
    } else if (req.url === '/large') res.end('y'.repeat(5000));
    else {
      // /hang: the body starts and never ends.
      res.on('close', hangClosed);
      res.write('partial', () => hanging());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const upstream = new HttpUpstream({
    subgraph: 'chunks',
    instances: [{ url, weight: 1 }],
    timeout: 5000,
    connectTimeout: 1000,
    maxResponseSize: 4096 * 16,
    connections: 4,
    retry: { attempts: 1, backoff: 1 },
    breaker: false,
  });
  const small = new HttpUpstream({ ...upstream.options, maxResponseSize: 4096 });
  t.after(async () => {
    await upstream.close();
    await small.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const scope = () => createScope({ deadlineMs: 5000 });

  const whole = await upstream.request({ method: 'GET', path: '/chunks', idempotent: true, scope: scope() });
  assert.equal(whole.status, 200);
  assert.equal(whole.body.toString(), `${'x'.repeat(50_000)}!`);
  assert.equal(whole.headers['content-type'], 'text/plain');

  await assert.rejects(small.request({ method: 'GET', path: '/large', idempotent: true, scope: scope() }), { code: 'SOURCE_RESPONSE_TOO_LARGE' });

  const controller = new AbortController();
  const going = upstream.request({ method: 'GET', path: '/hang', idempotent: true, scope: createScope({ deadlineMs: 5000, signal: controller.signal }) });
  await hangArrived;
  controller.abort();
  await assert.rejects(going, { code: 'REQUEST_ABORTED' });
  await hangCut; // resolves only when the upstream request was closed

  // Calls outside a client request (a scope without a signal, as at start-up) each have their own signal:
  // twenty at once leave no listener pile-up behind (Node would warn past ten on one shared signal).
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () => upstream.request({ method: 'GET', path: '/chunks', idempotent: true, scope: scope() })));
    assert.ok(answers.every((a) => a.status === 200));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings.map((w) => w.name), []);
});
