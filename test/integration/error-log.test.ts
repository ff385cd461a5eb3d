/** The gateway's log for the person on call: one line per failed subgraph call, with its socket-level cause. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';

function capture(): { lines: Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, sink) };
}

test('a dead GraphQL subgraph: one warn line per failed call, with ECONNREFUSED and its address, and the count of fields it nulled', async (t) => {
  const { lines, logger } = capture();
  const items = await startGraphqlUpstream(t, 'type Query { a: String b: String list: [Item] } type Item { x: String y: String }', {
    Query: { a: () => 'a', b: () => 'b', list: () => [{ x: '1', y: '2' }] },
  });
  const other = await startGraphqlUpstream(t, 'type Query { d: String }', { Query: { d: () => 'd' } });
  const gw = await startGateway(t, [{ name: 'items', kind: 'graphql', url: items.url }, { name: 'other', kind: 'graphql', url: other.url }], { mode: 'production' }, { logger });
  await items.close();
  const address = new URL(items.url).host;

  // Two subgraphs: the planned route; one: the direct route. Both copy the failure onto each field.
  for (const [query, route] of [
    ['query Both { a b list { x y } d }', 'planned'],
    ['query Items { a b list { x y } }', 'direct'],
  ] as const) {
    lines.length = 0;
    const res = await gw.query(query);
    assert.equal(res.body.data?.a, null);
    assert.deepEqual(res.body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code]), [
      ['a', 'SOURCE_UNAVAILABLE'],
      ['b', 'SOURCE_UNAVAILABLE'],
      ['list', 'SOURCE_UNAVAILABLE'],
    ]);
    assert.doesNotMatch(res.text, /ECONNREFUSED|127\.0\.0\.1/, 'the socket detail stays out of the answer');
    const logged = lines.filter((l) => l.subgraph === 'items');
    assert.equal(logged.length, 1, `one line for one failed call (${route}); got ${JSON.stringify(lines)}`);
    const [line] = logged as [Record<string, unknown>];
    assert.equal(line.level, 40);
    assert.equal(line.route, route);
    assert.equal(line.code, 'SOURCE_UNAVAILABLE');
    assert.equal(line.nulledFields, 3);
    assert.equal(line.operation, query.split(' ')[1]);
    assert.match(String(line.cause), new RegExp(`ECONNREFUSED \\(http://${address.replace(/\./g, '\\.')}/graphql\\)`));
  }
});
