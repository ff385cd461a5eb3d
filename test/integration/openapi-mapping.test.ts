/**
 * The OpenAPI source's mapping rules, asserted through what a client sees:
 * the schema (SDL of the types) and the response to a query answered by a
 * real REST server on loopback.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { isConfigError } from '../../src/errors.js';
import { json, loadOpenapi, plain, run, startRest, type RestServer } from '../kit/openapi.js';
import { printType, type GraphQLNamedType } from 'graphql';
import type { LoadedSource } from '../../src/sources/index.js';

const sdl = (source: LoadedSource, name: string): string => printType(source.schema.getType(name) as GraphQLNamedType);

describe('OpenAPI 3.0 mapping (zoo.yaml)', () => {
  let server: RestServer;
  let source: LoadedSource;
  before(async () => {
    server = await startRest((req, res) => {
      if (req.url === '/categories/root') {
        return json(res, 200, {
          id: 'root',
          name: 'All',
          parent: null,
          children: [{ id: 'a', name: 'A', parent: { id: 'root', name: 'All' }, children: [{ id: 'a1', name: 'A1', children: [] }] }],
        });
      }
      if (req.url === '/animals') {
        return json(res, 200, [
          { kind: 'cat', name: 'Tom', livesLeft: 7 },
          { kind: 'dog', name: 'Rex', goodBoy: true },
        ]);
      }
      if (req.url === '/shapes') return json(res, 200, [{ radius: 2 }, { side: 3 }]);
      if (req.url?.startsWith('/things/9007199254740993/odd-names')) {
        return json(res, 200, { 'thing-id': 42, thingId: 'valid', '@type': 'Thing', size: '2xl', note: null, extra: { any: ['thing'] }, either: 5 });
      }
      if (req.method === 'POST' && req.url === '/things') {
        res.writeHead(204);
        return res.end();
      }
      json(res, 404, { message: 'no route' });
    });
    source = await loadOpenapi('zoo.yaml', server.url);
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await server.close();
  });

  test('a recursive schema becomes a recursive type and resolves to any depth', async () => {
    assert.match(sdl(source, 'Category'), /parent: Category\n/);
    assert.match(sdl(source, 'Category'), /children: \[Category!\]\n/);
    const result = plain(await run(source, '{ getCategory(id: "root") { name parent { id } children { name parent { name } children { id children { id } } } } }'));
    assert.deepEqual(result, {
      data: { getCategory: { name: 'All', parent: null, children: [{ name: 'A', parent: { name: 'All' }, children: [{ id: 'a1', children: [] }] }] } },
    });
  });

  test('oneOf with a discriminator becomes a union resolved by the discriminator; allOf members are merged', async () => {
    assert.equal(sdl(source, 'Animal'), 'union Animal = Cat | Dog');
    assert.match(sdl(source, 'Dog'), /kind: String!\n {2}name: String!\n {2}goodBoy: Boolean!/);
    const result = plain(await run(source, '{ listAnimals { __typename ... on Cat { name livesLeft } ... on Dog { name goodBoy } } }'));
    assert.deepEqual(result.data.listAnimals, [
      { __typename: 'Cat', name: 'Tom', livesLeft: 7 },
      { __typename: 'Dog', name: 'Rex', goodBoy: true },
    ]);
  });

  test('oneOf without a discriminator is resolved by which required properties are present', async () => {
    const result = plain(await run(source, '{ getShapes { __typename ... on Circle { radius } ... on Square { side } } }'));
    assert.deepEqual(result.data.getShapes, [
      { __typename: 'Circle', radius: 2 },
      { __typename: 'Square', side: 3 },
    ]);
  });

  test('invalid names are sanitised and mapped back; enums keep their wire values; int64 and free-form map to scalars', async () => {
    const odd = sdl(source, 'Odd');
    assert.match(odd, /thingId2: BigInt!/, 'renamed property does not take the valid name "thingId"');
    assert.match(odd, /thingId: String\n/);
    assert.match(odd, /type: String\n/);
    assert.match(odd, /extra: JSON\n/);
    assert.match(odd, /either: JSON\n/);
    assert.equal(sdl(source, 'OddSize'), 'enum OddSize {\n  x_small\n  _2xl\n  TRUE\n  medium_size\n}');
    const field = source.schema.getQueryType()!.getFields().getThingsByThingIdOddNames!;
    assert.equal(field.deprecationReason, 'Deprecated in the OpenAPI document.');
    assert.deepEqual(field.args.map((a) => `${a.name}: ${String(a.type)}`), ['thingId: BigInt!', 'xTraceId: String']);
    const result = plain(
      await run(source, '{ getThingsByThingIdOddNames(thingId: "9007199254740993", xTraceId: "t-1") { thingId2 thingId type size note extra either } }'),
    );
    assert.deepEqual(result.data.getThingsByThingIdOddNames, { thingId2: 42, thingId: 'valid', type: 'Thing', size: '_2xl', note: null, extra: { any: ['thing'] }, either: 5 });
    assert.equal(server.calls.at(-1)!.headers['x-trace-id'], 't-1');
  });

  test('input types map GraphQL names back to the document names, enum values to their wire values', async () => {
    const result = plain(await run(source, 'mutation { createThing(input: { thingId2: 7, type: "T", size: medium_size }) }'));
    assert.deepEqual(result, { data: { createThing: true } });
    const sent = JSON.parse(server.calls.at(-1)!.body.toString('utf8'));
    assert.deepEqual(sent, { 'thing-id': 7, '@type': 'T', size: 'medium size' });
  });
});

describe('Swagger 2.0 (swagger.yaml)', () => {
  let server: RestServer;
  let source: LoadedSource;
  before(async () => {
    server = await startRest((req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/pets')) return json(res, 200, [{ id: '1', name: 'Rex', tag: null, votes: 3 }]);
      if (req.method === 'POST' && req.url === '/pets') return json(res, 200, { id: '2', ...JSON.parse(req.body.toString('utf8')) });
      if (req.method === 'POST' && req.url === '/pets/1/vote') return json(res, 200, { id: '1', name: 'Rex', votes: 4 });
      json(res, 404, {});
    });
    source = await loadOpenapi('swagger.yaml', server.url);
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await server.close();
  });

  test('queries with collectionFormat, body and formData parameters reach the upstream in Swagger 2.0 form', async () => {
    assert.match(sdl(source, 'Pet'), /name: String!\n {2}tag: String\n {2}id: ID!\n {2}votes: Int/);
    const result = plain(
      await run(source, 'query { findPets(tags: ["a", "b"], limit: 2) { id name tag } } '),
    );
    assert.deepEqual(result.data.findPets, [{ id: '1', name: 'Rex', tag: null }]);
    assert.equal(server.calls.at(-1)!.url, '/pets?tags=a%7Cb&limit=2');

    const added = plain(await run(source, 'mutation { addPet(input: { name: "Kit" }) { id name } }'));
    assert.deepEqual(added.data.addPet, { id: '2', name: 'Kit' });
    assert.equal(server.calls.at(-1)!.headers['content-type'], 'application/json');

    const voted = plain(await run(source, 'mutation { votePet(id: "1", input: { stars: 5, comment: "good & loyal" }) { votes } }'));
    assert.deepEqual(voted.data.votePet, { votes: 4 });
    const call = server.calls.at(-1)!;
    assert.equal(call.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(call.body.toString('utf8'), 'stars=5&comment=good+%26+loyal');
  });
});

describe('where documents come from', () => {
  test('external $refs in another file are bundled, and 3.1 type arrays are nullable', async () => {
    const server = await startRest((_req, res) => json(res, 200, { id: 'o1', lines: [{ sku: 'a', qty: 2 }], note: null }));
    const source = await loadOpenapi('external/main.yaml', server.url);
    try {
      // Bundling inlines the first use of an external schema, so the type is named after the operation.
      assert.match(sdl(source, 'GetOrderResponse'), /id: ID!\n {2}lines: \[GetOrderResponseLines!\]!\n {2}note: String/);
      const result = plain(await run(source, '{ getOrder(id: "o1") { id lines { sku qty } note } }'));
      assert.deepEqual(result.data.getOrder, { id: 'o1', lines: [{ sku: 'a', qty: 2 }], note: null });
    } finally {
      await source.close();
      await server.close();
    }
  });

  test('an external $ref outside the document folder is refused with a located error', async () => {
    await assert.rejects(loadOpenapi('external/escape.yaml', 'http://127.0.0.1:9'), (error: unknown) => {
      assert.ok(isConfigError(error));
      assert.equal(error.code, 'SOURCE_LOAD_FAILED');
      assert.match(error.message, /subgraph "rest".*escape\.yaml.*external \$ref/);
      return true;
    });
  });

  test('a document fetched by URL (JSON), while the calls go to the descriptor URL, not the document servers', async () => {
    const spec = {
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      servers: [{ url: 'http://169.254.169.254/latest' }],
      paths: { '/ping': { get: { operationId: 'ping', responses: { 200: { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } } } } } },
    };
    const server = await startRest((req, res) => {
      if (req.url === '/openapi.json') return json(res, 200, spec);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('pong');
    });
    server.watch.exempt('GET', '/openapi.json', 'the server also serves the document itself, fetched at load (not an upstream call)');
    const source = await loadOpenapi(`${server.url}/openapi.json`, server.url);
    await server.watch.declare(source.descriptor, spec);
    try {
      assert.deepEqual(plain(await run(source, '{ ping }')).data, { ping: 'pong' });
      assert.deepEqual(server.calls.map((c) => c.url), ['/openapi.json', '/ping']);
    } finally {
      await source.close();
      await server.close();
    }
  });

  test('a broken document gives a located error, not a crash', async () => {
    await assert.rejects(loadOpenapi({ info: {} }, 'http://127.0.0.1:9'), /source: subgraph "rest": .*no "openapi" or "swagger" version field/);
    await assert.rejects(loadOpenapi('missing.yaml', 'http://127.0.0.1:9'), /missing\.yaml: file not found/);
  });

  test('unknown descriptor keys are refused', async () => {
    await assert.rejects(loadOpenapi({ openapi: '3.0.0', info: {}, paths: {} }, 'http://127.0.0.1:9', { nullabilty: 'lenient' }), /nullabilty: unknown key/);
  });
});

describe('nullability policy', () => {
  const spec = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/items': {
        get: {
          operationId: 'items',
          responses: {
            200: {
              description: 'ok',
              content: {
                'application/json': {
                  schema: {
                    type: 'array',
                    items: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' }, label: { type: ['string', 'null'] } } },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
  const body = [{ id: 'a', name: 'A', label: null }, { id: 'b' }];

  test('strict (default): required and not nullable is non-null; a missing value bubbles to the nearest nullable parent', async () => {
    const server = await startRest((_req, res) => json(res, 200, body));
    const source = await loadOpenapi(spec, server.url);
    try {
      assert.match(sdl(source, 'ItemsResponse'), /name: String!\n {2}label: String/);
      const result = plain(await run(source, '{ items { id name label } }'));
      assert.equal(result.data.items, null);
      assert.deepEqual(result.errors![0].path, ['items', 1, 'name']);
    } finally {
      await source.close();
      await server.close();
    }
  });

  test('lenient: the missing value alone is null, with a located SOURCE_RESPONSE_INVALID error', async () => {
    const server = await startRest((_req, res) => json(res, 200, body));
    const source = await loadOpenapi(spec, server.url, { nullability: 'lenient' });
    try {
      assert.match(sdl(source, 'ItemsResponse'), /name: String\n/);
      const result = plain(await run(source, '{ items { id name label } }'));
      assert.deepEqual(result.data.items, [{ id: 'a', name: 'A', label: null }, { id: 'b', name: null, label: null }]);
      assert.equal(result.errors!.length, 1);
      assert.deepEqual(result.errors![0].path, ['items', 1, 'name']);
      assert.equal(result.errors![0].extensions.code, 'SOURCE_RESPONSE_INVALID');
      assert.match(result.errors![0].message, /ItemsResponse\.name is required but missing/);
    } finally {
      await source.close();
      await server.close();
    }
  });
});
