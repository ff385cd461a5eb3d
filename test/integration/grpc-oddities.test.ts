/**
 * Values a gRPC service may send that GraphQL cannot hold as they are, from a
 * real server on loopback: an enum number the .proto does not name reads as
 * UNRECOGNIZED (a number inside JSON), and NaN or ±Infinity in a double or
 * float is null with an error located at that value (a proto3 JSON string
 * inside JSON). Neither fails more than itself: the rest of the message, and
 * the other items of a list, still resolve.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { printType, type GraphQLNamedType } from 'graphql';
import { FIXTURES, loadGrpc, located, type GrpcHarness } from '../kit/grpc.js';
import { ODD_ENUMS, startOddities, unrepresentable, type OdditiesServer } from '../fixtures/grpc/oddities-server.js';
import { startGateway, startGraphqlUpstream } from '../kit/index.js';

const READING = 'id ratio score samples maybeRatio mood moods moodByName { key value } weights { key value } extra probe { level } maybeMood verdict';
const DESCRIPTOR = { name: 'oddities', source: './oddities.proto', readOnly: ['Get*'] };

let server: OdditiesServer;
let oddities: GrpcHarness;

before(async () => {
  server = await startOddities();
  oddities = await loadGrpc(undefined, { ...DESCRIPTOR, url: server.url });
});

after(async () => {
  await oddities.source.close();
  await server.close();
});

function sdl(name: string): string {
  return printType(oddities.schema.getType(name) as GraphQLNamedType);
}

/** [path, code, message] of each error, in path order. */
describe('schema for values GraphQL cannot always hold', () => {
  test('double and float fields stay non-null (proto3 always gives them a value); wrappers and optional ones are nullable', () => {
    const reading = sdl('Reading');
    for (const line of ['ratio: Float!\n', 'score: Float!\n', 'samples: [Float!]!', 'maybeRatio: Float\n', 'mood: Mood!', 'moods: [Mood!]!']) {
      assert.ok(reading.includes(`  ${line}`), `Reading has "${line.trim()}"\n${reading}`);
    }
    assert.match(sdl('Reading_WeightsEntry'), /value: Float!\n/);
    assert.match(sdl('Probe'), /level: Float!\n/);
  });

  test('every generated enum has UNRECOGNIZED, renamed when the .proto names a value UNRECOGNIZED itself', () => {
    assert.match(sdl('Mood'), /MOOD_UNSPECIFIED\s+HAPPY\s+SAD\s+"""[^"]*"""\s+UNRECOGNIZED\s*}/);
    assert.match(sdl('Verdict'), /VERDICT_UNSPECIFIED\s+UNRECOGNIZED\s+"""[^"]*"""\s+_UNRECOGNIZED\s*}/);
  });
});

describe('answers with unnamed enum numbers, NaN and Infinity', () => {
  test('unnamed enum numbers read UNRECOGNIZED without an error; proto3 JSON keeps NaN as a string', async () => {
    assert.deepEqual(await oddities.run(ODD_ENUMS.query), { data: { getReading: ODD_ENUMS.reading } });
  });

  test('a non-finite double is a located RESPONSE_VALIDATION_FAILED that nulls its nearest nullable parent', async () => {
    const code = 'RESPONSE_VALIDATION_FAILED';
    const ratio = await oddities.run('{ getReading(id: "odd") { id ratio } }');
    assert.deepEqual(ratio.data, { getReading: null }, 'ratio is Float!, so the reading is null');
    assert.deepEqual(located(ratio), [['getReading.ratio', code, unrepresentable('oddities.v1.Reading.ratio', 'NaN')]]);
    const wrapper = await oddities.run('{ getReading(id: "odd") { id maybeRatio } }');
    assert.deepEqual(wrapper.data, { getReading: { id: 'odd', maybeRatio: null } }, 'a wrapper is nullable: only it is null');
    assert.deepEqual(located(wrapper), [['getReading.maybeRatio', code, unrepresentable('oddities.v1.Reading.maybe_ratio', 'NaN')]]);
    const probe = await oddities.run('{ getReading(id: "odd") { id probe { level } } }');
    assert.deepEqual(probe.data, { getReading: { id: 'odd', probe: null } }, 'a message field is nullable: the probe is null');
    assert.deepEqual(located(probe), [['getReading.probe.level', code, unrepresentable('oddities.v1.Probe.level', '-Infinity')]]);
    const samples = await oddities.run('{ getReading(id: "odd") { samples } }');
    assert.equal(samples.data?.getReading, null);
    assert.equal(located(samples)[0]![0], 'getReading.samples.1');
    assert.ok([ratio, wrapper, probe, samples].every((r) => r.errors!.every((e) => e.extensions?.subgraph === 'oddities')));
  });

  test('a DoubleValue answer that is Infinity nulls only its root field', async () => {
    const result = await oddities.run('{ odd: getRatio(id: "odd") plain: getRatio(id: "plain") }');
    assert.deepEqual(result.data, { odd: null, plain: 0.25 });
    assert.deepEqual(located(result).map(([path, code]) => [path, code]), [['odd', 'RESPONSE_VALIDATION_FAILED']]);
  });

  test('finite values and named enum numbers read as before, without errors', async () => {
    const result = await oddities.run(`{ getReading(id: "plain") { ${READING} } }`);
    assert.deepEqual(result, {
      data: {
        getReading: {
          id: 'plain',
          ratio: 0.5,
          score: 2,
          samples: [1.5],
          maybeRatio: 0.25,
          mood: 'HAPPY',
          moods: ['SAD'],
          moodByName: [{ key: 'a', value: 'HAPPY' }],
          weights: [{ key: 'v', value: 0.5 }],
          extra: null,
          probe: { level: 3 },
          maybeMood: null,
          verdict: 'UNRECOGNIZED',
        },
      },
    });
  });

  test('with maps: json, unnamed enum numbers stay numbers and non-finite doubles are proto3 JSON strings', async (t) => {
    const json = await loadGrpc(t, { ...DESCRIPTOR, name: 'oddities_json', url: server.url, maps: 'json' });
    const result = await json.run('{ getReading(id: "odd") { moodByName weights extra } }');
    assert.deepEqual(result, { data: { getReading: { moodByName: { a: 42, b: 'SAD' }, weights: { w: 'Infinity', v: 0.5 }, extra: { n: 'NaN', ok: 1 } } } });
  });
});

describe('sending enums', () => {
  test('UNRECOGNIZED is refused as an argument with GRPC_BAD_INPUT, before any call', async () => {
    const before = server.calls.SetMood ?? 0;
    const result = await oddities.run('mutation { setMood(mood: UNRECOGNIZED) { mood } }');
    assert.deepEqual(result.data, { setMood: null });
    assert.equal(result.errors?.[0]?.extensions?.code, 'GRPC_BAD_INPUT');
    assert.match(result.errors![0]!.message, /oddities\.v1\.Mood: UNRECOGNIZED only appears in answers/);
    assert.equal(server.calls.SetMood ?? 0, before);
  });

  test('named values travel as their numbers', async () => {
    server.moods.length = 0;
    const result = await oddities.run('mutation { setMood(mood: SAD, moods: [HAPPY, SAD]) { mood } }');
    assert.deepEqual(result, { data: { setMood: { mood: 'SAD' } } });
    assert.deepEqual(server.moods, [2, 1, 2]);
  });
});

describe('through the gateway in production mode', () => {
  test('the client sees UNRECOGNIZED and the located errors, and the rest of the answer', async (t) => {
    // With a second subgraph in the query, the answer goes through the stitched schema's own copy of the enum.
    const hello = await startGraphqlUpstream(t, 'type Query { hello: String! }', { Query: { hello: () => 'world' } });
    const gateway = await startGateway(t, [
      { ...DESCRIPTOR, kind: 'grpc', dir: FIXTURES, url: server.url },
      { name: 'hello', kind: 'graphql', url: hello.url },
    ]);
    const response = await gateway.query('{ hello getReading(id: "odd") { id mood moods probe { level } } }');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.data, {
      hello: 'world',
      getReading: { id: 'odd', mood: 'UNRECOGNIZED', moods: ['HAPPY', 'UNRECOGNIZED'], probe: null },
    });
    assert.deepEqual(
      response.body.errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.extensions?.subgraph]).sort(),
      [['getReading.probe.level', 'RESPONSE_VALIDATION_FAILED', 'oddities']],
    );
  });
});
