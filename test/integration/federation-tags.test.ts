/**
 * @tag, @policy and @inaccessible (on enum values and arguments) of
 * federation subgraphs: a channel's `include: [tag:<name>]`
 * serves what the subgraphs tag so (a misspelt tag stops start-up, naming the
 * known ones), and @policy is the gateway's authorization with each policy a
 * scope the caller's credentials grant (as @requiresScopes). Real
 * @apollo/subgraph subgraphs on loopback.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { sha256 } from '../kit/security.js';
import { gql, startGateway, startGraphqlUpstream } from '../kit/index.js';

const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@tag", "@policy"])';
const PRODUCT = { id: 'p1', name: 'Lamp', cost: 12, supplier: 'Acme' };

async function start(t: TestContext, gateway: Record<string, unknown> = {}) {
  const asked: string[] = [];
  const catalog = await startGraphqlUpstream(
    t,
    buildSubgraphSchema({
      typeDefs: parse(`${LINK}
type Query { products: [Product!]! @tag(name: "public") internal: Int }
type Product @key(fields: "id") { id: ID! @tag(name: "public") name: String! @tag(name: "public") cost: Int @policy(policies: [["finance"], ["admin", "audit"]]) supplier: String }`),
      resolvers: { Query: { products: () => [PRODUCT], internal: () => 1 }, Product: { __resolveReference: () => PRODUCT } } as never,
    }),
    {},
    { plugins: [{ onParams: ({ params }: { params: { query?: string } }) => void asked.push(params.query ?? '') }] },
  );
  const gw = await startGateway(t, [{ name: 'catalog', kind: 'federation', url: catalog.url }], gateway);
  return { gw, asked };
}

test('a channel including tag:public serves what the subgraphs tag public, and only that', async (t) => {
  const { gw } = await start(t, { channels: { open: { include: ['tag:public'] } } });
  const open = gw.url.replace('/graphql', '/open/graphql');
  const ok = await gql(open, '{ products { id name } }');
  assert.deepEqual(ok.body, { data: { products: [{ id: 'p1', name: 'Lamp' }] } });
  for (const [query, message] of [
    ['{ products { supplier } }', /Cannot query field "supplier" on type "Product"/],
    ['{ internal }', /Cannot query field "internal" on type "Query"/],
  ] as const) {
    const refused = await gql(open, query);
    assert.match(refused.body.errors?.[0]?.message ?? '', message);
  }
  // The default channel serves the whole graph.
  assert.deepEqual((await gw.query('{ internal products { supplier } }')).body.data, { internal: 1, products: [{ supplier: 'Acme' }] });
});

test('a channel including a tag no subgraph uses stops start-up, naming the known tags (docs/reliability.md row 72)', async (t) => {
  await assert.rejects(start(t, { channels: { open: { include: ['tag:pubic'] } } }), /channels\.open\.include: "tag:pubic": no type or field of the unified graph carries @tag\(name: "pubic"\) \(did you mean "tag:public"\?\)/);
});

test('@policy is the gateway\'s authorization: each policy a scope; a caller without one gets FORBIDDEN and the field is never asked', async (t) => {
  const { gw, asked } = await start(t, {
    security: {
      auth: {
        anonymous: true,
        apiKeys: {
          keys: [
            { id: 'reader', sha256: sha256('reader-key'), scopes: ['admin'] },
            { id: 'finance', sha256: sha256('finance-key'), scopes: ['finance'] },
            { id: 'auditor', sha256: sha256('auditor-key'), scopes: ['admin', 'audit'] },
          ],
        },
      },
    },
  });
  asked.length = 0;
  const reader = await gw.query('{ products { name cost } }', undefined, { 'x-api-key': 'reader-key' });
  assert.deepEqual(reader.body.data, { products: [{ name: 'Lamp', cost: null }] });
  assert.equal(reader.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.ok(asked.every((q) => !/\bcost\b/.test(q)), 'cost was never asked');
  for (const key of ['finance-key', 'auditor-key']) {
    const allowed = await gw.query('{ products { name cost } }', undefined, { 'x-api-key': key });
    assert.deepEqual(allowed.body, { data: { products: [{ name: 'Lamp', cost: 12 }] } }, key);
  }
});

test('@inaccessible on an enum value and on an argument: left out of the unified graph', async (t) => {
  const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@inaccessible"])';
  const catalog = await startGraphqlUpstream(
    t,
    buildSubgraphSchema({
      typeDefs: parse(`${link}
enum Status { ACTIVE RETIRED @inaccessible }
type Query { products(status: Status, debug: Boolean @inaccessible): [Product!]! }
type Product @key(fields: "id") { id: ID! status: Status! }`),
      resolvers: { Query: { products: () => [{ id: 'p1', status: 'ACTIVE' }] } } as never,
    }),
  );
  const gw = await startGateway(t, [{ name: 'catalog', kind: 'federation', url: catalog.url }], { mode: 'development' });
  const values = await gw.query('{ __type(name: "Status") { enumValues { name } } }');
  assert.deepEqual(values.body.data, { __type: { enumValues: [{ name: 'ACTIVE' }] } });
  const hidden = await gw.query('{ products(debug: true) { id } }');
  assert.match(hidden.body.errors?.[0]?.message ?? '', /Unknown argument "debug" on field "Query\.products"/);
  assert.deepEqual((await gw.query('{ products(status: ACTIVE) { id status } }')).body, { data: { products: [{ id: 'p1', status: 'ACTIVE' }] } });
});

test('@composeDirective: the custom directive, its definition and its uses, is carried into the unified graph', async (t) => {
  const sdl = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@composeDirective"])
  @link(url: "https://example.dev/cache/v1.0", import: ["@cacheHint"]) @composeDirective(name: "@cacheHint")
directive @cacheHint(seconds: Int!) on FIELD_DEFINITION | OBJECT
type Query { products: [Product!]! @cacheHint(seconds: 30) }
type Product @key(fields: "id") @cacheHint(seconds: 5) { id: ID! }`;
  const catalog = await startGraphqlUpstream(t, buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: { Query: { products: () => [{ id: '1' }] } } as never }));
  const gw = await startGateway(t, [{ name: 'catalog', kind: 'federation', url: catalog.url }], { mode: 'development' });
  const printed = printSchemaWithDirectives(gw.gateway.schema);
  assert.match(printed, /directive @cacheHint\(seconds: Int!\) on FIELD_DEFINITION \| OBJECT/);
  assert.match(printed, /products: \[Product!\]! @cacheHint\(seconds: 30\)/);
  assert.match(printed, /type Product @cacheHint\(seconds: 5\)/);
  const introspected = await gw.query('{ __schema { directives { name } } products { id } }');
  assert.ok(introspected.body.data.__schema.directives.some((d: { name: string }) => d.name === 'cacheHint'));
  assert.deepEqual(introspected.body.data.products, [{ id: '1' }]);
  const service = await gw.query('{ __type(name: "_Service") { name } }');
  assert.deepEqual(service.body.data, { __type: null });
});
