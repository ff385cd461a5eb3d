/**
 * The gRPC source's mapping rules, checked against a real gRPC server on
 * loopback that decodes and encodes with its own protobuf library.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertValidSchema, printType, type GraphQLNamedType, type GraphQLObjectType } from 'graphql';
import { kitchenDescriptor, loadGrpc, useKitchen } from '../kit/grpc.js';

const EVERYTHING = `
  big ubig sbig fbig u32 ratio flag text blob maybe plain color
  choice name number item { id qty }
  counts { key value } itemsById { key value { id qty } } ids
  nested { id qty } list { id qty }
  at took maybeBig maybeText maybeFlag maybeBlob
  meta anyJson tags extra mask nothing
  sharedItem { sku } inner { note } byFlag { key value } colors
`;

const suite = useKitchen();

function typeSdl(name: string): string {
  const type = suite.kitchen.schema.getType(name) as GraphQLNamedType | undefined;
  assert.ok(type, `type ${name} exists`);
  return printType(type);
}

describe('gRPC schema', () => {
  test('is valid and puts methods on Query, Mutation and Subscription by the read-only rule', () => {
    assertValidSchema(suite.kitchen.schema);
    const query = Object.keys(suite.kitchen.schema.getQueryType()!.getFields()).sort();
    // Echo is read-only by its idempotency_level option; both services have one, so both names carry the service.
    assert.deepEqual(query, ['getBig', 'getFailure', 'getFlaky', 'getHeaders', 'getNextDay', 'getSample', 'getSlow', 'inspect', 'kitchenEcho', 'pantryEcho']);
    assert.deepEqual(Object.keys(suite.kitchen.schema.getMutationType()!.getFields()), ['bumpFlaky']);
    // Client-streaming Upload and bidirectional Chat have no GraphQL shape.
    assert.deepEqual(Object.keys(suite.kitchen.schema.getSubscriptionType()!.getFields()), ['count']);
  });

  test('maps scalars, presence, oneofs, maps and well-known types to the documented types', () => {
    const sdl = typeSdl('Everything');
    for (const line of [
      'big: Int64!',
      'ubig: UInt64!',
      'fbig: UInt64!',
      'u32: UInt32!',
      'blob: Bytes!',
      'maybe: Int\n',
      'plain: Int!',
      'color: Color!',
      'choice: Everything_ChoiceCase',
      'name: String\n',
      'counts: [Everything_CountsEntry!]!',
      'itemsById: [Everything_ItemsByIdEntry!]!',
      'ids: [Int64!]!',
      'at: Timestamp\n',
      'took: Duration\n',
      'maybeBig: Int64\n',
      'maybeFlag: Boolean\n',
      'meta: JSON\n',
      'extra: JSON\n',
      'mask: [String!]\n',
      'nothing: Boolean\n',
      'sharedItem: KitchenSharedItem\n',
      'item: KitchenV1Item\n',
      'inner: Outer_Inner\n',
      'colors: [Color!]!',
    ]) {
      assert.ok(sdl.includes(`  ${line}`), `Everything has "${line.trim()}"\n${sdl}`);
    }
    assert.match(typeSdl('Everything_ChoiceCase'), /name\s+number\s+item/);
    assert.match(typeSdl('Everything_ItemsByIdEntry'), /key: Int64!\s+value: KitchenV1Item!/);
    assert.match(typeSdl('Color'), /COLOR_UNSPECIFIED\s+RED\s+GREEN/);
    const query = suite.kitchen.schema.getQueryType()!.getFields();
    assert.equal(String(query.getNextDay!.type), 'Timestamp');
    assert.deepEqual(query.getNextDay!.args.map((a) => `${a.name}: ${String(a.type)}`), ['input: Timestamp']);
    assert.deepEqual(query.getSample!.args, []);
    assert.equal(String(query.getFailure!.type), 'Boolean');
  });
});

describe('gRPC values', () => {
  const full = {
    big: '9223372036854775807',
    ubig: '18446744073709551615',
    sbig: '-9007199254740993',
    fbig: '9007199254740993',
    u32: 4294967295,
    ratio: 1.5,
    flag: true,
    text: 'héllo ✓',
    blob: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64'),
    maybe: 0,
    plain: 0,
    color: 'GREEN',
    number: '9007199254740993',
    counts: [{ key: 'a', value: '9007199254740993' }],
    itemsById: [{ key: '9007199254740993', value: { id: 'x', qty: 1 } }],
    ids: ['1', '-2'],
    nested: { id: 'n', qty: 2 },
    list: [{ id: 'l1', qty: 0 }],
    at: '2024-05-01T12:00:00.123456789Z',
    took: '-1.5s',
    maybeBig: '0',
    maybeText: '',
    maybeFlag: false,
    maybeBlob: Buffer.from('hi').toString('base64'),
    meta: { a: 1, b: [true, null, 'x'], c: { d: 'e' } },
    anyJson: [1, 'two'],
    tags: ['x', 1],
    extra: { '@type': 'type.googleapis.com/kitchen.v1.Item', id: 'i9', qty: 4 },
    mask: ['a.b', 'c'],
    nothing: true,
    sharedItem: { sku: 's1' },
    inner: { note: 'n' },
    byFlag: [
      { key: true, value: 'yes' },
      { key: false, value: 'no' },
    ],
    colors: ['RED', 'GREEN'],
  };

  test('every kind of field survives a round trip through a real server, int64 beyond 2^53 included', async () => {
    const result = await suite.kitchen.run(withVariables('kitchenEcho', full, EVERYTHING), full);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const echoed = result.data!.kitchenEcho as Record<string, unknown>;
    assert.deepEqual(echoed, {
      ...full,
      // Duration is given back in its canonical form; the oneof says which member is set.
      took: '-1.500s',
      choice: 'number',
      name: null,
      item: null,
    });
  });

  test('an unset field with presence is null while a proto3 scalar reads its zero value', async () => {
    const result = await suite.kitchen.run(`{ kitchenEcho { ${EVERYTHING} } }`);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const echoed = result.data!.kitchenEcho as Record<string, unknown>;
    assert.equal(echoed.maybe, null);
    assert.equal(echoed.plain, 0);
    assert.equal(echoed.big, '0');
    assert.equal(echoed.color, 'COLOR_UNSPECIFIED');
    assert.equal(echoed.choice, null);
    assert.equal(echoed.maybeBig, null);
    assert.equal(echoed.maybeFlag, null);
    assert.equal(echoed.at, null);
    assert.equal(echoed.nothing, null);
    assert.deepEqual(echoed.counts, []);
    assert.deepEqual(echoed.ids, []);
  });

  test('the server decodes what the gateway encoded (checked by an independent protobuf implementation)', async () => {
    const result = await suite.kitchen.run(withVariables('inspect', full, 'seen { key value }'), full);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const seen = Object.fromEntries(
      ((result.data!.inspect as { seen: Array<{ key: string; value: string }> }).seen).map((e) => [e.key, JSON.parse(e.value)]),
    );
    assert.equal(seen.big, '9223372036854775807');
    assert.equal(seen.ubig, '18446744073709551615');
    assert.equal(seen.sbig, '-9007199254740993');
    assert.equal(seen.number, '9007199254740993');
    assert.equal(seen.choice, 'number');
    assert.equal(seen.maybe, 0);
    assert.equal(seen.color, 'GREEN');
    assert.deepEqual(seen.at, { seconds: '1714564800', nanos: 123456789 });
    assert.deepEqual(seen.took, { seconds: '-1', nanos: -500000000 });
    // A wrapper set to zero is present (the server's library leaves the zero value out of the object).
    assert.deepEqual(seen.maybe_big, {});
    assert.deepEqual(seen.counts, { a: '9007199254740993' });
    assert.equal(seen.blob, full.blob);
    assert.deepEqual(seen.mask, { paths: ['a.b', 'c'] });
    assert.deepEqual(seen.extra.type_url, 'type.googleapis.com/kitchen.v1.Item');
    assert.deepEqual(seen.colors, ['RED', 'GREEN']);
  });

  test('values the server builds read back exactly', async () => {
    const result = await suite.kitchen.run(`{ getSample { ${EVERYTHING} } }`);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const s = result.data!.getSample as Record<string, unknown>;
    assert.equal(s.big, '-9223372036854775808');
    assert.equal(s.ubig, '18446744073709551615');
    assert.equal(s.sbig, '-9007199254740993');
    assert.equal(s.fbig, '9007199254740993');
    assert.equal(s.u32, 4294967295);
    assert.equal(s.blob, Buffer.from([0, 1, 2, 255]).toString('base64'));
    assert.equal(s.maybe, 0, 'optional set to zero is 0, not null');
    assert.equal(s.choice, 'item');
    assert.deepEqual(s.item, { id: 'i1', qty: 3 });
    assert.deepEqual(s.counts, [{ key: 'a', value: '9007199254740993' }]);
    assert.deepEqual(s.ids, ['1', '9007199254740993']);
    assert.equal(s.at, '2023-11-14T22:13:20.123Z');
    assert.equal(s.took, '-1.500s');
    assert.equal(s.maybeBig, '0');
    assert.equal(s.maybeFlag, false);
    assert.equal(s.maybeText, null);
    assert.deepEqual(s.meta, { a: 1, b: ['x', null] });
    assert.equal(s.anyJson, true);
    assert.deepEqual(s.extra, { '@type': 'type.googleapis.com/kitchen.v1.Item', id: 'i1', qty: 3 });
    assert.deepEqual(s.mask, ['a.b', 'c']);
    assert.equal(s.nothing, true);
    assert.deepEqual(s.inner, { note: 'deep' });
    assert.deepEqual(s.colors, ['RED', 'GREEN']);
  });

  test('a well-known type as the whole request and response', async () => {
    const result = await suite.kitchen.run('{ getNextDay(input: "2024-02-28T10:00:00.5Z") }');
    assert.deepEqual(result, { data: { getNextDay: '2024-02-29T10:00:00.500Z' } });
  });

  test('two members of one oneof are refused before any call', async () => {
    const before = suite.server.calls.Echo ?? 0;
    const result = await suite.kitchen.run('{ kitchenEcho(name: "a", number: "1") { choice } }');
    assert.equal(result.errors?.[0]?.extensions?.code, 'GRPC_BAD_INPUT');
    assert.match(result.errors![0]!.message, /oneof choice takes one member, got name and number/);
    assert.equal(suite.server.calls.Echo ?? 0, before);
  });

  test('an Int64 that is not an integer is a validation error, not a rounded number', async () => {
    const before = suite.server.calls.Echo ?? 0;
    const result = await suite.kitchen.run('query($v: Int64) { kitchenEcho(big: $v) { big } }', { v: Number.MAX_SAFE_INTEGER + 2 });
    assert.match(result.errors?.[0]?.message ?? '', /Int64 cannot represent/);
    assert.equal(suite.server.calls.Echo ?? 0, before);
  });

  test('types with the same short name in two packages are qualified; the second service works too', async () => {
    const result = await suite.kitchen.run('{ pantryEcho(sku: "s-42") { sku } }');
    assert.deepEqual(result, { data: { pantryEcho: { sku: 's-42' } } });
    assert.ok(suite.kitchen.schema.getType('KitchenSharedItem'));
    assert.ok(suite.kitchen.schema.getType('KitchenV1Item'));
    assert.equal(suite.kitchen.schema.getType('Item'), undefined);
  });
});

describe('gRPC mapping options', () => {
  test('maps: json gives one JSON object per map, both ways', async (t) => {
    const json = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'kitchen_json', maps: 'json' }));
    assert.equal(String((json.schema.getType('Everything') as GraphQLObjectType).getFields().counts!.type), 'JSON!');
    const result = await json.run('query($c: JSON, $i: JSON) { kitchenEcho(counts: $c, itemsById: $i) { counts itemsById } }', {
      c: { a: '9007199254740993', b: '-1' },
      i: { '18446744073709551': { id: 'x', qty: 1 } },
    });
    assert.deepEqual(result, {
      data: { kitchenEcho: { counts: { a: '9007199254740993', b: '-1' }, itemsById: { '18446744073709551': { id: 'x', qty: 1 } } } },
    });
  });

  test('fieldNames: proto keeps the names as written in the .proto', async (t) => {
    const proto = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'kitchen_proto', fieldNames: 'proto' }));
    const result = await proto.run('{ kitchenEcho(maybe_big: "5", items_by_id: [{ key: "1", value: { id: "a" } }]) { maybe_big items_by_id { key value { id } } } }');
    assert.deepEqual(result, { data: { kitchenEcho: { maybe_big: '5', items_by_id: [{ key: '1', value: { id: 'a' } }] } } });
  });

  test('readOnly patterns decide Query and Mutation; services limits what is exposed', async (t) => {
    const only = await loadGrpc(t, kitchenDescriptor(suite.server.url, { name: 'kitchen_ro', readOnly: ['Kitchen.Inspect'], services: ['kitchen.v1.Kitchen'] }));
    const query = Object.keys(only.schema.getQueryType()!.getFields()).sort();
    // Echo stays a query through its idempotency_level; now it is the only Echo, so it has the plain name.
    assert.deepEqual(query, ['echo', 'inspect']);
    assert.ok(only.schema.getMutationType()!.getFields().getSample);
  });
});

/** `query($a: T, ...) { field(a: $a, ...) { selection } }`, the types read from the schema, so every value goes in as a variable. */
function withVariables(field: string, values: Record<string, unknown>, selection: string): string {
  const args = suite.kitchen.schema.getQueryType()!.getFields()[field]!.args;
  const used = args.filter((a) => a.name in values);
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const pass = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `query(${defs}) { ${field}(${pass}) { ${selection} } }`;
}
