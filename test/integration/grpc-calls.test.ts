/**
 * Calls through the gRPC source against real servers on loopback: status
 * codes, deadlines, cancellation, retries, size limits, metadata, masking,
 * reflection, TLS, and load-time errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isConfigError } from '../../src/errors.js';
import { createScope } from '../../src/request-scope.js';
import { kitchenDescriptor, loadGrpc, useKitchen } from '../kit/grpc.js';
import { startKitchen } from '../fixtures/grpc/kitchen-server.js';

const suite = useKitchen({ retry: { attempts: 3, backoff: 1 }, headers: { forward: ['authorization', 'x-tenant'], set: { 'x-gateway': 'tessera' } } });

describe('gRPC status codes', () => {
  const cases: Array<[number, string, string]> = [
    [grpc.status.NOT_FOUND, 'NOT_FOUND', 'GRPC_STATUS'],
    [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'GRPC_STATUS'],
    [grpc.status.PERMISSION_DENIED, 'PERMISSION_DENIED', 'GRPC_STATUS'],
    [grpc.status.FAILED_PRECONDITION, 'FAILED_PRECONDITION', 'GRPC_STATUS'],
    [grpc.status.INTERNAL, 'INTERNAL', 'GRPC_STATUS'],
    [grpc.status.UNAVAILABLE, 'UNAVAILABLE', 'SOURCE_UNAVAILABLE'],
    [grpc.status.DEADLINE_EXCEEDED, 'DEADLINE_EXCEEDED', 'GATEWAY_TIMEOUT'],
  ];
  for (const [status, name, code] of cases) {
    test(`${name} becomes a field error with extensions.code ${code} and extensions.grpc.code ${name}`, async () => {
      const result = await suite.kitchen.run('query($c: Int, $m: String) { getFailure(code: $c, message: $m) ok: getNextDay(input: "2024-01-01T00:00:00Z") }', {
        c: status,
        m: `it failed: ${name}`,
      });
      assert.equal(result.data?.getFailure, null);
      assert.equal(result.data?.ok, '2024-01-02T00:00:00Z', 'the other field still resolves');
      const error = result.errors?.[0];
      assert.deepEqual(error?.path, ['getFailure']);
      assert.equal(error?.extensions?.code, code);
      assert.equal((error?.extensions?.grpc as { code: string }).code, name);
      assert.equal(error?.extensions?.subgraph, 'kitchen');
      // Development mode shows the upstream's own status message; transport failures are described in Tessera's words.
      if (code === 'GRPC_STATUS') assert.match(error!.message, new RegExp(`it failed: ${name}`));
      if (code === 'GATEWAY_TIMEOUT') assert.match(error!.message, /No answer in time from subgraph "kitchen": the upstream answered DEADLINE_EXCEEDED/);
    });
  }

  test('in production the status message is masked unless the descriptor allows it', async (t) => {
    const masked = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'masked' }), 'production');
    const hidden = await masked.run('{ getFailure(code: 5, message: "secret host db-7.internal") }');
    assert.equal(hidden.errors?.[0]?.message, 'gRPC NOT_FOUND from subgraph "masked"');
    assert.deepEqual(hidden.errors?.[0]?.extensions, { code: 'GRPC_STATUS', subgraph: 'masked', grpc: { code: 'NOT_FOUND' } });
    const allowed = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'allowed', errors: { allowCodes: ['NOT_FOUND'] } }), 'production');
    const shown = await allowed.run('{ getFailure(code: 5, message: "no such order") }');
    assert.equal(shown.errors?.[0]?.message, 'gRPC NOT_FOUND from subgraph "allowed": no such order');
    assert.deepEqual(shown.errors?.[0]?.extensions?.grpc, { code: 'NOT_FOUND', message: 'no such order' });
  });
});

describe('gRPC deadlines and cancellation', () => {
  test('a call slower than the descriptor timeout ends with GATEWAY_TIMEOUT and is cancelled upstream', async (t) => {
    const slow = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'slow', timeout: '150ms' }));
    const cancelledBefore = suite.server.cancelled.GetSlow ?? 0;
    const result = await slow.run('{ getSlow(delayMs: 5000) }');
    assert.equal(result.data?.getSlow, null);
    assert.equal(result.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
    assert.deepEqual(result.errors?.[0]?.extensions?.grpc, { code: 'DEADLINE_EXCEEDED' });
    await suite.server.reached('cancelled', 'GetSlow', cancelledBefore);
  });

  test('the request deadline caps the call when it is shorter than the timeout', async () => {
    const result = await suite.kitchen.run('{ getSlow(delayMs: 5000) }', undefined, createScope({ deadlineMs: 150 }));
    assert.equal(result.errors?.[0]?.extensions?.code, 'GATEWAY_TIMEOUT');
  });

  test('a client that goes away cancels the call upstream (REQUEST_ABORTED)', async () => {
    const controller = new AbortController();
    const cancelledBefore = suite.server.cancelled.GetSlow ?? 0;
    const callsBefore = suite.server.calls.GetSlow ?? 0;
    const pending = suite.kitchen.run('{ getSlow(delayMs: 5000) }', undefined, createScope({ deadlineMs: 5000, signal: controller.signal }));
    await suite.server.reached('calls', 'GetSlow', callsBefore);
    controller.abort();
    const result = await pending;
    assert.equal(result.errors?.[0]?.extensions?.code, 'REQUEST_ABORTED');
    await suite.server.reached('cancelled', 'GetSlow', cancelledBefore);
  });
});

describe('gRPC retries, limits and metadata', () => {
  test('read-only methods are retried on UNAVAILABLE; the answer comes from the retry', async () => {
    const before = suite.server.calls.GetFlaky ?? 0;
    const result = await suite.kitchen.run('{ getFlaky(key: "q1", failures: 1) }');
    assert.deepEqual(result, { data: { getFlaky: 'ok after 2' } });
    assert.equal((suite.server.calls.GetFlaky ?? 0) - before, 2);
  });

  test('methods with side effects are never retried', async () => {
    const before = suite.server.calls.BumpFlaky ?? 0;
    const result = await suite.kitchen.run('mutation { bumpFlaky(key: "m1", failures: 1) }');
    assert.equal(result.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
    assert.equal((suite.server.calls.BumpFlaky ?? 0) - before, 1);
  });

  test('a response over the 4 MB default is refused with RESOURCE_EXHAUSTED; a smaller one passes', async () => {
    const big = await suite.kitchen.run('{ getBig(size: 5000000) { data } }');
    assert.equal(big.errors?.[0]?.extensions?.code, 'SOURCE_RESPONSE_TOO_LARGE');
    assert.deepEqual(big.errors?.[0]?.extensions?.grpc, { code: 'RESOURCE_EXHAUSTED' });
    const fits = await suite.kitchen.run('{ getBig(size: 3000000) { data } }');
    assert.equal(fits.errors, undefined);
    assert.equal(Buffer.from((fits.data!.getBig as { data: string }).data, 'base64').length, 3_000_000);
  });

  test('maxResponseSize lowers the limit', async (t) => {
    const small = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'small', maxResponseSize: '1kb' }));
    const result = await small.run('{ getBig(size: 2000) { data } }');
    assert.equal(result.errors?.[0]?.extensions?.code, 'SOURCE_RESPONSE_TOO_LARGE');
  });

  test('allowlisted client headers and static headers travel as metadata; others and reserved names do not', async () => {
    const headers = new Headers({ authorization: 'Bearer t0k', 'x-tenant': 'acme', cookie: 'secret=1', 'grpc-timeout': '1S' });
    const result = await suite.kitchen.run('{ getHeaders { seen { key value } } }', undefined, createScope({ deadlineMs: 5000, headers }));
    const seen = Object.fromEntries((result.data!.getHeaders as { seen: Array<{ key: string; value: string }> }).seen.map((e) => [e.key, e.value]));
    assert.equal(seen.authorization, 'Bearer t0k');
    assert.equal(seen['x-tenant'], 'acme');
    assert.equal(seen['x-gateway'], 'tessera');
    assert.equal(seen.cookie, undefined);
  });

  test('a connection refused fails as SOURCE_UNAVAILABLE within the deadline', async (t) => {
    const dead = await loadGrpc(t, kitchenDescriptor('grpc://127.0.0.1:1', { name: 'dead', timeout: '1s', retry: { attempts: 1 } }));
    const result = await dead.run('{ getNextDay(input: "2024-01-01T00:00:00Z") }');
    assert.equal(result.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  });

  test('one channel per instance is reused: calls spread over weighted instances', async (t) => {
    const other = await startKitchen();
    t.after(() => other.close());
    const weighted = await loadGrpc(t, {
      ...kitchenDescriptor(suite.server.url, { name: 'weighted' }),
      url: undefined,
      upstreams: [
        { url: suite.server.url, weight: 3 },
        { url: other.url, weight: 1 },
      ],
    });
    const before = suite.server.calls.GetNextDay ?? 0;
    for (let i = 0; i < 8; i++) await weighted.run('{ getNextDay(input: "2024-01-01T00:00:00Z") }');
    assert.equal((suite.server.calls.GetNextDay ?? 0) - before, 6);
    assert.equal(other.calls.GetNextDay ?? 0, 2);
  });
});

describe('gRPC definitions from reflection and TLS', () => {
  test('reflection gives the same schema as the .proto files', async (t) => {
    const reflecting = await startKitchen({ reflection: true });
    t.after(() => reflecting.close());
    const viaReflection = await loadGrpc(t, { name: 'reflected', url: reflecting.url, reflection: true, readOnly: ['Get*', 'Inspect'] });
    const fields = Object.keys(viaReflection.schema.getQueryType()!.getFields()).sort();
    assert.deepEqual(fields, Object.keys(suite.kitchen.schema.getQueryType()!.getFields()).sort());
    const result = await viaReflection.run('{ kitchenEcho(big: "9007199254740993", at: "2024-01-01T00:00:00Z", meta: {a: [1]}) { big at meta } }');
    assert.deepEqual(result, { data: { kitchenEcho: { big: '9007199254740993', at: '2024-01-01T00:00:00Z', meta: { a: [1] } } } });
  });

  test('reflection against a server without it says so', async (t) => {
    await assert.rejects(loadGrpc(t, { name: 'noreflect', url: suite.server.url, reflection: true }), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.match(error.message, /reflection: subgraph "noreflect": the upstream does not offer server reflection/);
      return true;
    });
  });

  test('TLS and mutual TLS to the upstream when the descriptor says so', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pki = makePki(dir);
    const secure = await startKitchen({
      credentials: grpc.ServerCredentials.createSsl(readFileSync(pki.ca), [{ cert_chain: readFileSync(pki.serverCert), private_key: readFileSync(pki.serverKey) }], true),
    });
    t.after(() => secure.close());
    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, serverName: 'kitchen.test' };
    const mtls = await loadGrpc(t, { ...kitchenDescriptor(secure.url.replace('grpc:', 'grpcs:'), { name: 'mtls' }), tls });
    assert.deepEqual(await mtls.run('{ getNextDay(input: "2024-01-01T00:00:00Z") }'), { data: { getNextDay: '2024-01-02T00:00:00Z' } });
    // Without the client certificate the server refuses the handshake.
    const noCert = await loadGrpc(t, { ...kitchenDescriptor(secure.url.replace('grpc:', 'grpcs:'), { name: 'nocert', retry: { attempts: 1 } }), tls: { ca: pki.ca, serverName: 'kitchen.test' } });
    const refused = await noCert.run('{ getNextDay(input: "2024-01-01T00:00:00Z") }');
    assert.equal(refused.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  });
});

describe('gRPC load errors', () => {
  test('an import found in no include path names the importing file', async () => {
    await assert.rejects(loadGrpc(undefined, { name: 'noinc', source: './kitchen.proto', url: 'grpc://127.0.0.1:1' }), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.equal(error.code, 'SOURCE_LOAD_FAILED');
      assert.match(error.message, /kitchen\.proto imports "shared\/item\.proto", found in none of/);
      return true;
    });
  });

  test('a syntax error names the file and line', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-proto-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bad.proto'), 'syntax = "proto3";\nmessage A {\n  string x = ;\n}\n');
    await assert.rejects(loadGrpc(undefined, { name: 'bad', source: './bad.proto', url: 'grpc://127.0.0.1:1' }, 'development', dir), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.match(error.message, /bad\.proto, line 3/);
      return true;
    });
  });

  test('a join that names a missing method or field is refused with the path of the key', async () => {
    const descriptor = kitchenDescriptor('grpc://127.0.0.1:1', {
      name: 'badjoin',
      entities: { Thing: { key: 'id', batch: { field: 'thingsById', argument: 'ids' } } },
      joins: { Thing: { method: 'GetNothing', keys: 'ids', results: 'items', field: 'thing' } },
    });
    await assert.rejects(loadGrpc(undefined, descriptor), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.match(error.message, /joins\.Thing\.method: no method "GetNothing"/);
      return true;
    });
  });

  test('an unknown descriptor key is refused', async () => {
    await assert.rejects(loadGrpc(undefined, { ...kitchenDescriptor('grpc://127.0.0.1:1'), includePath: ['x'] }), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.match(error.message, /includePath: unknown key/);
      return true;
    });
  });
});


/** A CA, a server certificate for kitchen.test and a client certificate, made with openssl. */
function makePki(dir: string): Record<'ca' | 'caKey' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const f = (name: string): string => join(dir, name);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=tessera-test-ca');
  writeFileSync(f('san.ext'), 'subjectAltName=DNS:kitchen.test\n');
  for (const who of ['server', 'client']) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who === 'server' ? 'kitchen.test' : 'tessera-gateway'}`);
    run('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.pem`), '-days', '1', '-extfile', f('san.ext'));
  }
  return { ca: f('ca.pem'), caKey: f('ca.key'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}
