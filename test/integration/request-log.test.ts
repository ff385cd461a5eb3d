/**
 * The request log: one info line per request with its id, operation, channel,
 * route, consumer, status, duration and subgraph calls; the request id echoed
 * (the client's when safe, else generated); logging.requests: false silences
 * it; and no credential (bearer token, API key, cookie) in any line at any level.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger, type Logger } from '../../src/logger.js';
import { loadGatewayFile } from '../../src/config/load.js';
import { deferred, gql, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';
import { AUDIENCE, ISSUER, sha256, signingKey, startJwks, token } from '../kit/security.js';

type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The gateway's own logger (createLogger: its redaction included) writing into `lines` and `raw`. */
function capture(level: string): { lines: Line[]; raw: string[]; logger: Logger } {
  const lines: Line[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Line);
      }
      done();
    },
  });
  return { lines, raw, logger: createLogger(level, sink) };
}

const requestLines = (lines: Line[]): Line[] => lines.filter((l) => l.msg === 'request');

async function twoSubgraphs(t: TestContext, level: string, gateway: Record<string, unknown> = {}) {
  const { lines, raw, logger } = capture(level);
  const items = await startGraphqlUpstream(t, 'type Query { a: String }', { Query: { a: () => 'a' } });
  const other = await startGraphqlUpstream(t, 'type Query { d: String }', { Query: { d: () => 'd' } });
  const gw = await startGateway(
    t,
    [
      { name: 'items', kind: 'graphql', url: items.url },
      { name: 'other', kind: 'graphql', url: other.url },
    ],
    gateway,
    { logger },
  );
  return { lines, raw, gw, items, other };
}

test('one info line per request: id, channel, operation, route, status, duration, subgraph calls with durations, error codes', async (t) => {
  const { lines, gw, other } = await twoSubgraphs(t, 'info');
  lines.length = 0;
  const both = await gw.query('query Both { a d }');
  assert.deepEqual(both.body, { data: { a: 'a', d: 'd' } });
  const [line, ...more] = requestLines(lines);
  assert.equal(more.length, 0, JSON.stringify(lines));
  assert.equal(line!.level, 30);
  assert.equal(line!.requestId, both.headers.get('x-request-id'));
  assert.equal(line!.channel, 'default');
  assert.equal(line!.operation, 'Both');
  assert.equal(line!.route, 'planned');
  assert.equal(line!.status, 200);
  assert.equal(typeof line!.durationMs, 'number');
  const calls = line!.subgraphs as Array<{ subgraph: string; durationMs: number; status?: number; code?: string }>;
  assert.deepEqual(calls.map((c) => c.subgraph).sort(), ['items', 'other']);
  for (const call of calls) {
    assert.equal(typeof call.durationMs, 'number');
    assert.equal(call.status, 200);
  }
  assert.equal(line!.errors, undefined);
  assert.equal(line!.consumer, undefined, 'an anonymous caller');

  await other.close();
  lines.length = 0;
  const dead = await gw.query('query Dead { d }');
  assert.equal(dead.body.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  const [failed] = requestLines(lines);
  assert.equal(failed!.route, 'direct');
  assert.equal(failed!.operation, 'Dead');
  assert.deepEqual(failed!.errors, ['SOURCE_UNAVAILABLE']);
  const attempts = failed!.subgraphs as Array<{ subgraph: string; code?: string }>;
  assert.ok(attempts.length >= 1);
  for (const attempt of attempts) assert.deepEqual([attempt.subgraph, attempt.code], ['other', 'SOURCE_UNAVAILABLE']);
  // The warn line of the failed call carries the same request id.
  const warn = lines.find((l) => l.level === 40 && l.subgraph === 'other');
  assert.equal(warn?.requestId, dead.headers.get('x-request-id'));
});

test('the request id: a safe one is kept, an unsafe one replaced, none generated; echoed on refusals too', async (t) => {
  const { lines, gw } = await twoSubgraphs(t, 'info', { server: { bodyLimit: '1kb' } });
  lines.length = 0;
  const given = await gw.query('{ a }', undefined, { 'x-request-id': 'req-42:retry.1_A' });
  assert.equal(given.headers.get('x-request-id'), 'req-42:retry.1_A');
  assert.equal(requestLines(lines).at(-1)?.requestId, 'req-42:retry.1_A');

  for (const unsafe of ['a b', '<script>alert(1)</script>', 'x'.repeat(129), '"}{"level":60']) {
    const res = await gw.query('{ a }', undefined, { 'x-request-id': unsafe });
    const id = res.headers.get('x-request-id') ?? '';
    assert.match(id, UUID, `replaced: ${unsafe}`);
    assert.equal(requestLines(lines).at(-1)?.requestId, id);
  }
  const absent = await gw.query('{ a }');
  assert.match(absent.headers.get('x-request-id') ?? '', UUID);

  // Refused before any GraphQL work (415: not a GraphQL media type): still an id, still a line.
  const refused = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-request-id': 'refused-1' }, body: '{ a }' });
  assert.equal(refused.status, 415);
  assert.equal(refused.headers.get('x-request-id'), 'refused-1');
  const line = requestLines(lines).find((l) => l.requestId === 'refused-1');
  assert.equal(line?.status, 415);
  const tooLarge = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'refused-2' }, body: JSON.stringify({ query: `{ a }${' '.repeat(2000)}` }) });
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.headers.get('x-request-id'), 'refused-2', 'a refusal before Yoga (Content-Length over server.bodyLimit) echoes it too');
});

/** One operation over a new WebSocket, `headers` on the upgrade request; resolves when it ends. */
function overWebSocket(t: TestContext, url: string, query: string, headers: Record<string, string> = {}): Promise<unknown> {
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WithHeaders, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const done = deferred<unknown>();
  let last: unknown;
  client.subscribe({ query }, { next: (value) => (last = value), error: (error) => done.resolve(error), complete: () => done.resolve(last) });
  return done.promise;
}

test('over WebSocket: one line per operation, with its subgraph calls and error codes', async (t) => {
  const { lines, gw } = await twoSubgraphs(t, 'info');
  lines.length = 0;
  assert.deepEqual(await overWebSocket(t, gw.url, 'query Both { a d }', { 'x-request-id': 'ws-1' }), { data: { a: 'a', d: 'd' } });
  const [line, ...more] = requestLines(lines);
  assert.equal(more.length, 0, JSON.stringify(lines));
  assert.equal(line!.requestId, 'ws-1');
  assert.equal(line!.operation, 'Both');
  assert.equal(line!.route, 'planned');
  assert.equal(line!.status, undefined, 'no HTTP status for an operation on a socket');
  assert.deepEqual((line!.subgraphs as Array<{ subgraph: string }>).map((c) => c.subgraph).sort(), ['items', 'other']);

  lines.length = 0;
  await overWebSocket(t, gw.url, 'query Nope { nope }');
  const [refused] = requestLines(lines);
  assert.match(String(refused!.requestId), UUID);
  assert.deepEqual(refused!.errors, ['GRAPHQL_VALIDATION_FAILED']);
  assert.deepEqual(refused!.subgraphs, []);
});

test('logging.requests: false: no request line, the id still echoed', async (t) => {
  const { lines, gw } = await twoSubgraphs(t, 'trace', { logging: { requests: false } });
  lines.length = 0;
  const res = await gw.query('query Both { a d }', undefined, { 'x-request-id': 'quiet-1' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), 'quiet-1');
  await overWebSocket(t, gw.url, 'query Both { a d }');
  assert.deepEqual(requestLines(lines), []);
});

test('a bearer token, an API key and a cookie never appear in any log line at any level', async (t) => {
  const { lines, raw, logger } = capture('trace');
  const key = await signingKey('k1');
  const stranger = await signingKey('k1');
  const jwks = await startJwks(t, [key]);
  const app = await startGraphqlUpstream(t, 'type Query { me: String }', { Query: { me: () => 'me' } });
  const dead = await startGraphqlUpstream(t, 'type Query { gone: String }', { Query: { gone: () => 'gone' } });
  const apiKey = 'sk_live_0123456789abcdef';
  const gw = await startGateway(
    t,
    [
      { name: 'app', kind: 'graphql', url: app.url },
      { name: 'dead', kind: 'graphql', url: dead.url },
    ],
    {
      security: {
        auth: {
          jwt: [{ name: 'test', issuer: ISSUER, audience: AUDIENCE, jwks: { url: jwks.url } }],
          apiKeys: { keys: [{ id: 'partner', sha256: sha256(apiKey) }] },
        },
      },
    },
    { logger },
  );
  await dead.close();
  const jwt = await token(key, { sub: 'alice' });
  const forged = await token(stranger, { sub: 'mallory' });
  const cookie = 'session=c00kie-s3cret-value';
  const sent = (extra: Record<string, string>) => ({ cookie, 'set-cookie': cookie, 'proxy-authorization': `Bearer ${jwt}`, ...extra });

  const ok = await gql(gw.url, 'query Me { me }', undefined, sent({ authorization: `Bearer ${jwt}` }));
  assert.equal(ok.status, 200, ok.text);
  const byKey = await gql(gw.url, 'query Me { me }', undefined, sent({ 'x-api-key': apiKey }));
  assert.equal(byKey.status, 200, byKey.text);
  const wrongKey = await gql(gw.url, '{ me }', undefined, sent({ 'x-api-key': `${apiKey}x` }));
  assert.equal(wrongKey.status, 401);
  const badToken = await gql(gw.url, '{ me }', undefined, sent({ authorization: `Bearer ${forged}` }));
  assert.equal(badToken.status, 401);
  const upstreamDown = await gql(gw.url, 'query Gone { gone }', undefined, sent({ authorization: `Bearer ${jwt}` }));
  assert.equal(upstreamDown.body.errors?.[0]?.extensions?.code, 'SOURCE_UNAVAILABLE');
  assert.deepEqual(await overWebSocket(t, gw.url, 'query Me { me }', sent({ authorization: `Bearer ${jwt}` })), { data: { me: 'me' } });

  // Every path was logged: success (with its consumer), refusals and the upstream failure.
  const requests = requestLines(lines);
  assert.deepEqual(requests.map((l) => l.status), [200, 200, 401, 401, 200, undefined]);
  assert.equal(requests[5]!.consumer, 'alice');
  assert.equal(requests[0]!.consumer, 'alice');
  assert.equal(requests[1]!.consumer, 'partner');
  assert.ok(lines.some((l) => l.level === 40 && l.subgraph === 'dead'));

  const secrets = [jwt, jwt.split('.')[2]!, forged, forged.split('.')[2]!, apiKey, 'c00kie-s3cret-value'];
  for (const line of raw) for (const secret of secrets) assert.ok(!line.includes(secret), `a credential in a log line: ${line}`);

  // The same logger's redaction, for a line that logs a header map (as a request logger would).
  lines.length = 0;
  raw.length = 0;
  logger.debug({ headers: Object.fromEntries(new Headers(sent({ authorization: `Bearer ${jwt}`, 'x-api-key': apiKey }))) }, 'headers');
  assert.deepEqual(lines[0]!.headers, {
    authorization: '[redacted]',
    cookie: '[redacted]',
    'proxy-authorization': '[redacted]',
    'set-cookie': '[redacted]',
    'x-api-key': '[redacted]',
  });
  for (const secret of secrets) assert.ok(!raw[0]!.includes(secret));
});

test('logging.requests is validated: a value other than true or false, or a misspelled key, is refused naming it', async (t) => {
  const dir = tempProject(t, { 'gateway.yaml': 'descriptors: ./subgraphs\nlogging:\n  requests: yes-please\n  request: false\n', 'subgraphs/.keep': '' });
  assert.throws(
    () => loadGatewayFile(join(dir, 'gateway.yaml')),
    (error: Error) => /gateway\.yaml: logging\.requests: expected true or false/.test(error.message) && /gateway\.yaml: logging\.request: unknown key \(did you mean `requests`\?\)/.test(error.message),
  );
});
