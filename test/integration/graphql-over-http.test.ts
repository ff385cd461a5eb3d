/**
 * The GraphQL-over-HTTP specification, audited with graphql-http's
 * `serverAudits` against the gateway (every MUST passes; SHOULD deviations
 * are printed), plus the request-handling rows of docs/reliability.md that the
 * spec covers: 2 (malformed JSON), 4 (mutation over GET), 5 (wrong types in
 * the request), 19 (operation selection, coercion error cap).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { serverAudits } from 'graphql-http';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';

const SDL = `type Query { hello(name: String): String  list(n: [Int!]): [Int!] } type Mutation { bump: Int }`;

async function setup(t: TestContext, gateway = {}) {
  const upstream = await startGraphqlUpstream(t, SDL, {
    Query: { hello: (_: unknown, { name }: { name?: string }) => `hello ${name ?? 'world'}`, list: (_: unknown, { n }: { n?: number[] }) => n ?? [] },
    Mutation: { bump: () => 1 },
  });
  const gw = await startGateway(t, [{ name: 'hello', kind: 'graphql', url: upstream.url }], gateway);
  return { upstream, gw };
}

test('graphql-http server audits: every MUST passes', async (t) => {
  // The audits query __type, so introspection is on here (it is off by default in production).
  const { gw } = await setup(t, { introspection: true });
  const audits = serverAudits({ url: gw.url, fetchFn: fetch });
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const audit of audits) {
    const result = await audit.fn();
    if (result.status === 'ok') continue;
    const line = `${audit.name}: ${result.reason}`;
    if (audit.name.startsWith('MUST')) failures.push(line);
    else warnings.push(line);
  }
  if (warnings.length > 0) t.diagnostic(`SHOULD/MAY deviations (${warnings.length}):\n${warnings.join('\n')}`);
  assert.deepEqual(failures, []);
  assert.ok(audits.length > 20);
});

test('row 2: a malformed JSON body gets 400 and no source is called', async (t) => {
  const { gw, upstream } = await setup(t);
  const before = upstream.stats.requests;
  const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ hello }"' });
  assert.equal(res.status, 400);
  const text = await res.text();
  assert.doesNotMatch(text, /\bat \w+ \(|node_modules/, 'no stack trace');
  assert.match(JSON.parse(text).errors[0].message, /JSON/i);
  assert.equal(upstream.stats.requests, before);
});

test('row 4: a mutation over GET gets 405 with Allow: POST and no source is called', async (t) => {
  const { gw, upstream } = await setup(t);
  const before = upstream.stats.requests;
  const res = await fetch(`${gw.url}?query=${encodeURIComponent('mutation { bump }')}`, { headers: { accept: 'application/graphql-response+json' } });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  assert.equal(upstream.stats.requests, before);
  const query = await fetch(`${gw.url}?query=${encodeURIComponent('{ hello }')}`, { headers: { accept: 'application/json' } });
  assert.deepEqual(await query.json(), { data: { hello: 'hello world' } });
});

test('row 5: query as a number or object, variables as an array or string: 400 with a clear message', async (t) => {
  const { gw, upstream } = await setup(t);
  const before = upstream.stats.requests;
  const bodies = [{ query: 42 }, { query: { a: 1 } }, { query: '{ hello }', variables: [1] }, { query: '{ hello }', variables: '{}x' }];
  for (const body of bodies) {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 400, JSON.stringify(body));
    const payload = (await res.json()) as { errors: Array<{ message: string }> };
    assert.match(payload.errors[0]!.message, /query|variables/i);
  }
  assert.equal(upstream.stats.requests, before);
});

test('row 19: unknown operationName, several anonymous operations, and thousands of coercion errors', async (t) => {
  const { gw, upstream } = await setup(t);
  const before = upstream.stats.requests;
  const post = (body: unknown) =>
    fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify(body) });
  const unknown = await post({ query: 'query A { hello } query B { hello }', operationName: 'C' });
  assert.equal(unknown.status, 400);
  assert.match(((await unknown.json()) as { errors: Array<{ message: string }> }).errors[0]!.message, /operation/i);
  const anonymous = await post({ query: '{ hello } { hello }' });
  assert.equal(anonymous.status, 400);
  const many = await post({ query: 'query ($n: [Int!]) { list(n: $n) }', variables: { n: Array.from({ length: 10_000 }, () => 'x') } });
  assert.equal(many.status, 400);
  const errors = ((await many.json()) as { errors: Array<{ message: string }> }).errors;
  // graphql-js stops at 50 coercion errors and adds one saying so.
  assert.equal(errors.length, 51);
  assert.match(errors[50]!.message, /Too many errors processing variables/);
  assert.equal(upstream.stats.requests, before, 'no source is called');
});
