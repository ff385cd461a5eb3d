/**
 * TLS: the gateway listens on HTTPS with a certificate from files and picks
 * up a renewed one without a restart; it can require client certificates;
 * and it calls an upstream over mutual TLS with the CA and client
 * certificate a descriptor names.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createSchema, createYoga } from 'graphql-yoga';
import pino from 'pino';
import { deferred, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { TLS_DIR } from '../kit/security.js';

const tlsFile = (name: string): string => join(TLS_DIR, name);
const CA = readFileSync(tlsFile('ca.pem'));

interface HttpsAnswer {
  status: number;
  body: string;
  /** CN of the certificate the server presented. */
  subject: string;
}

function httpsQuery(url: string, query: string, client?: { cert: Buffer; key: Buffer }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query });
    const req = httpsRequest(url, { method: 'POST', ca: CA, ...client, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      const subject = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, subject }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function upstream(t: TestContext) {
  return startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hello' } });
}

/** A logger whose lines can be awaited. */
function watchedLogger(): { logger: pino.Logger; seen(message: string): Promise<void> } {
  const waiters: Array<{ message: string; resolve: () => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const line = chunk.toString();
      for (const waiter of waiters.splice(0)) {
        if (line.includes(waiter.message)) waiter.resolve();
        else waiters.push(waiter);
      }
      callback();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    seen(message) {
      const done = deferred();
      waiters.push({ message, resolve: done.resolve });
      return done.promise;
    },
  };
}

test('HTTPS listener: certificate and key from files, reloaded when they change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
  copyFileSync(tlsFile('server.pem'), join(dir, 'cert.pem'));
  copyFileSync(tlsFile('server.key'), join(dir, 'key.pem'));
  const service = await upstream(t);
  const { logger, seen } = watchedLogger();
  const gw = await startGateway(
    t,
    [{ name: 'app', kind: 'graphql', url: service.url }],
    { server: { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), reloadInterval: 20 } } },
    { logger },
  );
  assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
  const first = await httpsQuery(gw.url, '{ hello }');
  assert.equal(first.status, 200);
  assert.deepEqual(JSON.parse(first.body), { data: { hello: 'hello' } });
  assert.equal(first.subject, 'localhost (server)');

  const reloaded = seen('TLS certificate reloaded');
  copyFileSync(tlsFile('server2.key'), join(dir, 'key.pem'));
  copyFileSync(tlsFile('server2.pem'), join(dir, 'cert.pem'));
  await reloaded;
  const second = await httpsQuery(gw.url, '{ hello }');
  assert.equal(second.status, 200);
  assert.equal(second.subject, 'localhost (server2)', 'the renewed certificate is served without a restart');
  // Plain HTTP on the TLS port is not served.
  await assert.rejects(fetch(gw.url.replace('https:', 'http:'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{hello}"}' }).then(async (r) => {
    if (r.status === 200) throw new Error('served over plain HTTP');
    throw new Error(`status ${r.status}`);
  }));
});

test('client certificates required: a client without one cannot connect; one signed by the CA gets through', async (t) => {
  const service = await upstream(t);
  const gw = await startGateway(t, [{ name: 'app', kind: 'graphql', url: service.url }], {
    server: { tls: { cert: tlsFile('server.pem'), key: tlsFile('server.key'), ca: tlsFile('ca.pem'), clientCertificates: 'require' } },
  });
  await assert.rejects(httpsQuery(gw.url, '{ hello }'));
  const withCert = await httpsQuery(gw.url, '{ hello }', { cert: readFileSync(tlsFile('client.pem')), key: readFileSync(tlsFile('client.key')) });
  assert.equal(withCert.status, 200);
  assert.equal(service.stats.requests, 2, 'introspection at start-up, then the one query');
});

test('mutual TLS to an upstream: the descriptor names the CA and the client certificate', async (t) => {
  let lastClient = '';
  const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { secure: String }', resolvers: { Query: { secure: () => 'over mTLS' } } }), logging: false });
  const server = createHttpsServer(
    { cert: readFileSync(tlsFile('server.pem')), key: readFileSync(tlsFile('server.key')), ca: CA, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      lastClient = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      void yoga.requestListener(req, res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const gw = await startGateway(t, [{ name: 'vault', kind: 'graphql', url, dir: TLS_DIR, tls: { ca: 'ca.pem', cert: 'client.pem', key: 'client.key' } }]);
  assert.deepEqual((await gw.query('{ secure }')).body, { data: { secure: 'over mTLS' } });
  assert.equal(lastClient, 'tessera-gateway');
  // Without the client certificate the upstream refuses the connection: the subgraph cannot even be introspected.
  await assert.rejects(startGateway(undefined, [{ name: 'vault', kind: 'graphql', url, dir: TLS_DIR, tls: { ca: 'ca.pem' }, introspection: { attempts: 1 } }]), /introspection/);
  // A missing file is named at start-up.
  await assert.rejects(startGateway(undefined, [{ name: 'vault', kind: 'graphql', url, dir: TLS_DIR, tls: { ca: 'nope.pem' } }]), /tls\.ca: cannot read nope\.pem/);
});

test('TLS configuration mistakes stop start-up', async (t) => {
  const service = await upstream(t);
  const attempts: Array<[Record<string, unknown>, RegExp]> = [
    [{ cert: tlsFile('server.pem'), key: tlsFile('server2.key') }, /server\.tls: .*(key values mismatch|KEY_VALUES_MISMATCH)/i],
    [{ cert: tlsFile('server.pem'), key: tlsFile('server.key'), clientCertificates: 'require' }, /clientCertificates` needs `ca`/],
    [{ cert: '/nonexistent/cert.pem', key: tlsFile('server.key') }, /server\.tls: ENOENT/],
  ];
  for (const [tls, message] of attempts) {
    await assert.rejects(startGateway(undefined, [{ name: 'app', kind: 'graphql', url: service.url }], { server: { tls } as never }), message);
  }
});
