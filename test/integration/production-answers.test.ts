/**
 * What a GraphQL path answers to what is not a GraphQL request, in production
 * and where GraphiQL is off: a browser gets a short page saying where GraphQL
 * is and which key turns GraphiQL on, a client whose Accept allows no GraphQL
 * response type gets a JSON explanation instead of an empty 406, and refused
 * introspection gets the status the GraphQL-over-HTTP spec gives a
 * validation error for each Accept header (as the README states).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startDemo, startGateway, startGraphqlUpstream } from '../kit/index.js';

/** What Chromium sends when a user opens a URL. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** A raw request, so "no Accept header at all" really sends none (fetch would add `accept: *\/*`). */
function send(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('production: a browser opening a GraphQL path gets a page saying where GraphQL is and that GraphiQL is off', async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'production' });
  demo.resetCalls();
  for (const accept of [BROWSER_ACCEPT, 'text/html']) {
    const page = await send(demo.url, 'GET', { accept });
    assert.equal(page.status, 406, accept);
    assert.match(page.type, /^text\/html/);
    assert.match(page.text, /GraphQL is served at <code>\/graphql<\/code>: send a POST request with <code>content-type: application\/json<\/code>/);
    assert.match(page.text, /GraphiQL, the in-browser editor, is off here\. <code>graphiql: true<\/code> in gateway\.yaml turns it on/);
  }
  // Each channel names its own path.
  const web = await send(new URL('/web/graphql', demo.url).href, 'GET', { accept: BROWSER_ACCEPT });
  assert.equal(web.status, 406);
  assert.match(web.text, /GraphQL is served at <code>\/web\/graphql<\/code>/);
  // No GraphiQL, and none of its files, in production.
  const asset = await send(`${demo.url}?graphiql-asset=graphiql.js`, 'GET', { accept: '*/*' });
  assert.doesNotMatch(asset.type, /javascript/);
  assert.deepEqual(demo.calls(), { accounts: 0, catalog: 0, inventory: 0, reviews: 0 });
  // A GET with a query is still GraphQL, for a browser too.
  const answered = await send(`${demo.url}?query=${encodeURIComponent('{ __typename }')}`, 'GET', { accept: BROWSER_ACCEPT });
  assert.deepEqual({ status: answered.status, body: JSON.parse(answered.text) as unknown }, { status: 200, body: { data: { __typename: 'Query' } } });
});

test('an Accept header that allows no GraphQL response type gets 406 with a JSON explanation, not an empty body', async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'production' });
  const answer = await send(`${demo.url}?query=${encodeURIComponent('{ __typename }')}`, 'GET', { accept: 'text/plain' });
  assert.equal(answer.status, 406);
  assert.match(answer.type, /^application\/json/);
  const body = JSON.parse(answer.text) as { errors: Array<{ message: string; extensions: { code: string } }> };
  assert.equal(body.errors[0]!.extensions.code, 'NOT_ACCEPTABLE');
  assert.match(body.errors[0]!.message, /answers .*application\/graphql-response\+json.*application\/json, which the request's Accept header does not allow/);
  assert.match(body.errors[0]!.message, /GraphQL is served at \/graphql: POST a JSON body/);
  assert.match(body.errors[0]!.message, /GraphiQL is off here \(graphiql: true in gateway\.yaml turns it on\)/);
});

test('GraphiQL on one channel and off on another: the page names the channel key, and the GraphiQL page loads nothing from outside', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'world' } });
  const gw = await startGateway(t, [{ name: 'hello', kind: 'graphql', url: upstream.url }], {
    mode: 'production',
    graphiql: { enabled: true, defaultQuery: '{ hello }' },
    channels: { partners: { graphiql: false } },
  });
  const off = await send(new URL('/partners/graphql', gw.url).href, 'GET', { accept: BROWSER_ACCEPT });
  assert.equal(off.status, 406);
  assert.match(off.text, /<code>channels\.partners\.graphiql: true<\/code> in gateway\.yaml turns it on/);

  const page = await send(gw.url, 'GET', { accept: BROWSER_ACCEPT });
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  // Every URL in the page is on the gateway's own path: no CDN, no icon host.
  assert.doesNotMatch(page.text, /(https?:)?\/\/[a-z]/i);
  assert.match(page.text, /"defaultQuery":"\{ hello \}"/);
  const script = /<script src="(\?graphiql-asset=graphiql\.[0-9a-f]+\.js)"/.exec(page.text)?.[1];
  assert.ok(script, page.text);
  const js = await fetch(new URL(script, gw.url));
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(await js.text(), /renderYogaGraphiQL/);
});

test('a defaultQuery cannot close the page\'s script element', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'world' } });
  const gw = await startGateway(t, [{ name: 'hello', kind: 'graphql', url: upstream.url }], {
    graphiql: { enabled: true, defaultQuery: '# </script><script>alert(1)</script>\n{ hello }' },
  });
  const page = await send(gw.url, 'GET', { accept: 'text/html' });
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /alert\(1\)<\/script>/);
  assert.match(page.text, /\\u003c\/script>\\u003cscript>alert\(1\)/);
});

test('production: refused introspection gets 400 with application/graphql-response+json and 200 with application/json, */* or no Accept', async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'production' });
  const query = '{ __schema { queryType { name } } }';
  const cases: Array<[string | undefined, number, string]> = [
    ['application/graphql-response+json', 400, 'application/graphql-response+json'],
    ['application/json', 200, 'application/json'],
    ['*/*', 200, 'application/json'],
    [undefined, 200, 'application/json'],
  ];
  for (const [accept, status, type] of cases) {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    for (const answer of [await send(demo.url, 'POST', headers, JSON.stringify({ query })), await send(`${demo.url}?query=${encodeURIComponent(query)}`, 'GET', headers)]) {
      const label = `Accept: ${accept ?? '(none)'}`;
      assert.equal(answer.status, status, label);
      assert.match(answer.type, new RegExp(`^${type.replace(/[+*/]/g, '\\$&')}`), label);
      const body = JSON.parse(answer.text) as { data?: unknown; errors: Array<{ message: string; extensions: { code: string } }> };
      assert.equal(body.data, undefined, label);
      assert.equal(body.errors[0]!.extensions.code, 'GRAPHQL_VALIDATION_FAILED', label);
      assert.equal(body.errors[0]!.message, 'Introspection is off on this endpoint, and the query asks for "__schema"; `introspection: true` in gateway.yaml turns it on (on by default with mode: development).', label);
    }
  }
});

test('@defer and @stream are refused at validation on every Accept, before any subgraph is called (the README says incremental delivery is not supported)', async (t) => {
  let calls = 0;
  const upstream = await startGraphqlUpstream(t, 'type Query { a: String b: [String] }', {
    Query: {
      a: () => (calls++, 'a'),
      b: () => (calls++, ['b']),
    },
  });
  const gw = await startGateway(t, [{ name: 'one', kind: 'graphql', url: upstream.url }]);
  const queries = { '@defer': '{ a ... @defer { b } }', '@stream': '{ a b @stream }' };
  for (const [directive, query] of Object.entries(queries)) {
    for (const accept of ['multipart/mixed', 'text/event-stream', 'application/json', 'application/graphql-response+json']) {
      const answer = await send(gw.url, 'POST', { accept }, JSON.stringify({ query }));
      const label = `${directive}, Accept ${accept}: ${answer.text}`;
      assert.match(answer.text, new RegExp(`Unknown directive \\\\"${directive}\\\\"`), label);
      assert.match(answer.text, /GRAPHQL_VALIDATION_FAILED/, label);
    }
  }
  assert.equal(calls, 0, 'no subgraph was called');
});
