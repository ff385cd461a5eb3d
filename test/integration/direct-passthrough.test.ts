/**
 * The direct route's answer written as the subgraph's own JSON text
 * (execution/passthrough.ts), and every case where the gateway writes
 * JSON.stringify's text instead. The subgraph here writes its answers in a
 * form JSON.stringify never gives (a space after every colon and comma), so
 * the bytes the client gets show which one ran. docs/reliability.md row 89.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { gql, startGateway, startGraphqlUpstream, type GraphqlResponse } from '../kit/index.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';

const SDL = `
  type Item { id: ID! name: String! price: Float tags: [String!]! }
  type Query { items: [Item!]! broken: Item }
`;

const ITEMS = [
  { id: '1', name: 'Desk lamp', price: 12.5, tags: ['home', 'a "quoted" \\ tag'] },
  { id: '2', name: 'Oak table', price: null, tags: [] },
];

const QUERY = '{ items { id name price tags } }';

/** JSON.stringify's text with a space after each colon and comma, on one line: `{ "data": { "items": [ ... ] } }`. */
function spaced(value: unknown): string {
  // A line break in JSON.stringify's indented text is whitespace only (strings escape theirs).
  return JSON.stringify(value, null, 1).replace(/\n */g, ' ');
}

interface Upstream {
  url: string;
  /** Every answer text the subgraph wrote, in order. */
  sent: string[];
  /** Changes the next answers' text (set after the gateway has read the schema). */
  rewrite?: (text: string) => string;
}

async function spacedUpstream(t: TestContext): Promise<Upstream> {
  const upstream: Upstream = { url: '', sent: [] };
  const write = (result: ExecutionResult): string => {
    const text = upstream.rewrite ? upstream.rewrite(spaced(result)) : spaced(result);
    upstream.sent.push(text);
    return text;
  };
  const plugin: Plugin = {
    onExecutionResult({ result, setResult }) {
      if (result && !(Symbol.asyncIterator in result)) setResult({ ...result, stringify: write });
    },
  };
  const service = await startGraphqlUpstream(
    t,
    SDL,
    {
      Query: {
        items: () => ITEMS,
        broken: () => {
          throw new Error('no such item');
        },
      },
    },
    { plugins: [plugin] },
  );
  upstream.url = service.url;
  return upstream;
}

async function setup(t: TestContext, gateway: GatewayFileInput = {}, descriptor: Partial<DescriptorInput> = {}) {
  const upstream = await spacedUpstream(t);
  const gw = await startGateway(t, [{ name: 'shop', kind: 'graphql', url: upstream.url, ...descriptor } as DescriptorInput], { mode: 'development', ...gateway });
  return { upstream, gw };
}

/** The answer as JSON.stringify writes it: what the gateway sends when it does not pass the subgraph's text on. */
function assertRestringified(answer: GraphqlResponse): void {
  assert.equal(answer.text, JSON.stringify(JSON.parse(answer.text)), `not JSON.stringify's text: ${answer.text}`);
}

test('a direct answer the check kept as it was parsed is sent as the subgraph wrote it, byte for byte, with in-flight dedupe on or off', async (t) => {
  for (const dedupe of [true, false]) {
    const { upstream, gw } = await setup(t, { cache: { dedupe } });
    const answer = await gw.query(QUERY);
    assert.equal(answer.headers.get('tessera-route'), 'direct');
    assert.deepEqual(answer.body, { data: { items: ITEMS } });
    assert.match(answer.text, /^\{ "data": \{ "items": \[ \{ "id": "1", /);
    assert.equal(answer.text, upstream.sent.at(-1), `dedupe ${dedupe}`);
    // Each request is its own: the next one sends the next answer's text.
    upstream.rewrite = (text) => text.replace('"Desk lamp"', '"Desk  lamp"');
    const next = await gw.query(QUERY);
    assert.equal(next.text, upstream.sent.at(-1));
    assert.equal(next.body.data.items[0].name, 'Desk  lamp');
  }
});

test('a direct answer sent over an event stream carries the subgraph text as its one data line', async (t) => {
  const { upstream, gw } = await setup(t);
  const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query: QUERY }) });
  const text = await res.text();
  const data = text.split('\n').filter((line) => line.startsWith('data: '));
  assert.deepEqual(data, [`data: ${upstream.sent.at(-1)}`]);
});

test('the subgraph answer has errors or extensions: the gateway writes the answer with JSON.stringify', async (t) => {
  const { upstream, gw } = await setup(t);
  const failed = await gw.query('{ broken { id } items { id } }');
  assert.equal(failed.body.errors?.length, 1);
  assert.deepEqual(failed.body.data, { broken: null, items: [{ id: '1' }, { id: '2' }] });
  assertRestringified(failed);

  // The gateway passes no subgraph extensions on; the subgraph's text has them.
  upstream.rewrite = (text) => `${text.slice(0, -2)}, "extensions": { "cost": 3 } }`;
  const extended = await gw.query(QUERY);
  assert.match(upstream.sent.at(-1)!, /"extensions": \{ "cost": 3 \}/);
  assert.deepEqual(extended.body, { data: { items: ITEMS } });
  assertRestringified(extended);
});

test('a value that fails the check, a key the reviver drops, a key given twice or a text over several lines: the checked data is written with JSON.stringify', async (t) => {
  const { upstream, gw } = await setup(t);
  upstream.rewrite = (text) => text.replace('"price": 12.5', '"price": "cheap"');
  const wrong = await gw.query(QUERY);
  assert.equal(wrong.body.data.items[0].price, null);
  assert.match(wrong.body.errors?.[0]?.message ?? '', /Float cannot represent non numeric value: "cheap"/);
  assertRestringified(wrong);

  // docs/reliability.md row 8: the reviver drops `__proto__`; the text still has it.
  upstream.rewrite = (text) => text.replace('{ "id": "1",', '{ "__proto__": { "polluted": true }, "id": "1",');
  const revived = await gw.query(QUERY);
  assert.match(upstream.sent.at(-1)!, /__proto__/);
  assert.deepEqual(revived.body, { data: { items: ITEMS } });
  assertRestringified(revived);

  // JSON.parse keeps the last of two values for a key (the one checked); another parser may read the first.
  upstream.rewrite = (text) => text.replace('"name": "Desk lamp"', '"name": { "not": "a string" }, "name": "Desk lamp"');
  const twice = await gw.query(QUERY);
  assert.deepEqual(twice.body, { data: { items: ITEMS } });
  assertRestringified(twice);

  // An event stream's data line cannot hold a line break.
  upstream.rewrite = (text) => JSON.stringify(JSON.parse(text), null, 2);
  const lines = await gw.query(QUERY);
  assert.deepEqual(lines.body, { data: { items: ITEMS } });
  assertRestringified(lines);
});

test('a channel with names of its own: the answer put back in its names is written with JSON.stringify, not the subgraph text in the graph names', async (t) => {
  const { upstream, gw } = await setup(t, { channels: { web: { rename: { types: { Item: 'Product' }, fields: { 'Item.name': 'title' } } } } });
  const answer = await gql(new URL('/web/graphql', gw.url).href, '{ items { __typename id title } }');
  assert.equal(answer.headers.get('tessera-route'), 'direct');
  assert.deepEqual(answer.body, { data: { items: ITEMS.map(({ id, name }) => ({ __typename: 'Product', id, title: name })) } });
  assert.match(upstream.sent.at(-1)!, /"tessera__t0": "Item"/);
  assertRestringified(answer);
});

test('the response cache: the answer it stores and the one it serves again are written with JSON.stringify, without its own fields', async (t) => {
  const { upstream, gw } = await setup(t, { cache: { debugHeader: true } }, { cache: { Item: '60s' } });
  const miss = await gw.query(QUERY);
  assert.equal(miss.headers.get('x-tessera-cache'), 'MISS');
  assert.match(upstream.sent.at(-1)!, /__responseCacheTypeName/);
  assert.deepEqual(miss.body, { data: { items: ITEMS } });
  assertRestringified(miss);
  const hit = await gw.query(QUERY);
  assert.equal(hit.headers.get('x-tessera-cache'), 'HIT');
  assert.equal(hit.text, miss.text);
});

test('a field the caller may not read, masked in place inside the answer: written with JSON.stringify, with its error', async (t) => {
  const { upstream, gw } = await setup(t, { security: { auth: { anonymous: true } } }, { auth: { 'Item.price': ['finance'] } });
  const answer = await gw.query(QUERY);
  assert.equal(answer.headers.get('tessera-route'), 'direct');
  assert.deepEqual(answer.body.data, { items: ITEMS.map((item) => ({ ...item, price: null })) });
  assert.equal(answer.body.errors?.length, 2);
  // What the subgraph was asked instead of the masked field, under an alias of the gateway's own.
  assert.doesNotMatch(upstream.sent.at(-1)!, /"price"/);
  assertRestringified(answer);
});
