/**
 * Shared writes are never lost without a trace (docs/reliability.md rows 62
 * and 63): an APQ registration whose Redis write times out is tried again
 * within `store.writeAttempts`, so the replica next door finds it; one that
 * never gets through is counted (tessera_store_failures_total) and logged,
 * and the client's query is still answered.
 *
 * The slow Redis is simulated by a TCP proxy (test/kit/redis.ts
 * stallingProxy) between one gateway and the real Redis: it holds the APQ
 * write back until the test lets it through, so "slow" is decided by the
 * test, not by the machine's load. The other replica talks to Redis directly.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { captureLogs, startGateway } from '../kit/index.js';
import { total } from '../kit/metrics.js';
import { eventually, needRedis, REDIS_URL, stallingProxy, uniquePrefix } from '../kit/redis.js';
import { recordingUpstream, sha256 } from '../kit/security.js';

const GREET = 'query Greet($name: String) { greet(name: $name) }';
const persisted = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });

/** Long enough that a retry let through by the test is answered in time on a loaded machine. */
const TIMEOUT = '500ms';

async function replicas(t: TestContext) {
  const prefix = uniquePrefix(t);
  const proxy = await stallingProxy(t, REDIS_URL);
  const upstream = await recordingUpstream(t, 'type Query { greet(name: String): String }', {
    Query: { greet: (_: unknown, { name }: { name?: string }) => `hi ${name}` },
  });
  const config = (url: string): GatewayFileInput => ({
    store: { url, prefix, timeout: TIMEOUT, writeAttempts: 3 },
    channels: { web: { persistedOperations: { apq: true } } },
    telemetry: { metrics: { enabled: true } },
  });
  const descriptors = [{ name: 'app', kind: 'graphql' as const, url: upstream.url }];
  const logs = captureLogs('info');
  const slow = await startGateway(t, descriptors, config(proxy.url), { logger: logs.logger });
  const direct = await startGateway(t, descriptors, config(REDIS_URL));
  const web = (url: string) => url.replace(/\/graphql$/, '/web/graphql');
  const post = async (url: string, body: unknown) => {
    const res = await fetch(web(url), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify(body) });
    return (await res.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  };
  const failures = async (fallback: string) => total(await (await fetch(new URL("/metrics", slow.url))).text(), 'tessera_store_failures_total', { use: 'apq', fallback });
  // Start-up waits at most a second for Redis; on a loaded machine the connection through the proxy may be
  // later. Wait until a lookup through it works (a failed one counts as a miss), so no write meets a
  // connection that is still starting.
  const probe = sha256('{ probe }');
  assert.ok(
    await eventually(async () => {
      const before = await failures('miss');
      await post(slow.url, persisted(probe));
      return (await failures('miss')) === before;
    }),
    'the gateway behind the proxy connects to Redis',
  );
  return { proxy, slow, direct, post, logs: logs.lines, failures };
}

test('row 62: an APQ write that times out is tried again, and the replica next door finds the document', async (t) => {
  if (!(await needRedis(t))) return;
  const { proxy, slow, direct, post, logs, failures } = await replicas(t);
  const hash = sha256(GREET);
  proxy.stallOn(`apq:${hash}`);
  const registering = post(slow.url, { query: GREET, ...persisted(hash), variables: { name: 'Al' } });
  // The first try is held past its timeout; the second one is the retry: let both through now.
  await proxy.seen(2);
  proxy.release();
  assert.deepEqual(await registering, { data: { greet: 'hi Al' } });
  assert.deepEqual(await post(direct.url, { ...persisted(hash), variables: { name: 'Bea' } }), { data: { greet: 'hi Bea' } }, 'the other replica knows the hash');
  assert.equal(await failures('retried'), 1);
  assert.equal(await failures('dropped'), 0);
  assert.ok(logs.some((l) => l['msg'] === 'store available again'), 'the slow moment is logged, and its end');
});

test('row 63: an APQ write that never gets through is counted and logged as dropped; the query is still answered', async (t) => {
  if (!(await needRedis(t))) return;
  const { proxy, slow, direct, post, logs, failures } = await replicas(t);
  const hash = sha256(GREET);
  proxy.stallOn(`apq:${hash}`);
  // Held for good (never released): every try times out.
  assert.deepEqual(await post(slow.url, { query: GREET, ...persisted(hash), variables: { name: 'Al' } }), { data: { greet: 'hi Al' } });
  assert.equal(await failures('retried'), 2);
  assert.equal(await failures('dropped'), 1);
  const line = logs.find((l) => String(l['msg']).startsWith('shared write dropped'));
  assert.ok(line, 'a warn line names the dropped write');
  assert.equal(line['level'], 40);
  assert.equal(line['use'], 'apq');
  assert.equal(line['key'], hash);
  assert.equal(line['attempts'], 3);
  // What a client then sees on another replica: PersistedQueryNotFound, so it registers the document again.
  assert.equal((await post(direct.url, persisted(hash))).errors?.[0]?.message, 'PersistedQueryNotFound');
});
