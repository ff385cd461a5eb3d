/** Descriptor transforms (prefix, rename, hide) and channel views, through real requests. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { gql, sse, startGateway, startGraphqlUpstream, tempProject } from '../kit/index.js';

const SDL = `
  type Product { id: ID! title: String! price: Int! category: Category secret: Secret }
  type Category { id: ID! label: String! }
  type Secret { token: String }
  type Query { products: [Product!]! debug: String }
`;
const resolvers = {
  Query: {
    products: () => [1, 2].map((n) => ({ id: `p${n}`, title: `Product ${n}`, price: n * 100, category: { id: 'c1', label: 'Tools' }, secret: { token: 'x' } })),
    debug: () => 'internal',
  },
};

async function catalog(t: TestContext, gateway = {}) {
  const upstream = await startGraphqlUpstream(t, SDL, resolvers);
  return startGateway(
    t,
    [
      {
        name: 'catalog',
        kind: 'graphql',
        url: upstream.url,
        transforms: {
          prefix: 'Cat',
          rename: { types: { Product: 'Product' }, fields: { 'Product.title': 'name', 'Query.products': 'allProducts' } },
          hide: ['Query.debug', 'Secret'],
        },
      },
    ],
    gateway,
  );
}

test('prefix, renames and hides shape the unified graph, and requests still reach the right upstream fields', async (t) => {
  const gw = await catalog(t, { mode: 'development' });
  const schema = gw.gateway.schema;
  const query = schema.getQueryType()!.getFields();
  assert.ok(query.allProducts, 'explicit field rename wins over the prefix');
  assert.equal(query.debug, undefined);
  assert.equal(query.catDebug, undefined);
  assert.ok(schema.getType('Product'), 'explicit type rename wins over the prefix');
  assert.ok(schema.getType('CatCategory'));
  assert.equal(schema.getType('Category'), undefined);
  assert.equal(schema.getType('Secret'), undefined);
  assert.equal(schema.getType('CatSecret'), undefined);
  const res = await gw.query('{ allProducts { id name price category { __typename label } } }');
  // A renamed subgraph is planned: sent its own names (products, title, Category), answered in the graph's.
  assert.equal(res.headers.get('tessera-route'), 'planned');
  assert.deepEqual(res.body, {
    data: {
      allProducts: [
        { id: 'p1', name: 'Product 1', price: 100, category: { __typename: 'CatCategory', label: 'Tools' } },
        { id: 'p2', name: 'Product 2', price: 200, category: { __typename: 'CatCategory', label: 'Tools' } },
      ],
    },
  });
});

test('a channel is a view with its own hidden fields; the default channel keeps them', async (t) => {
  const gw = await catalog(t, { channels: { mobile: { hide: ['Product.price', 'CatCategory'] } } });
  const mobileUrl = gw.url.replace('/graphql', '/mobile/graphql');
  const ok = await gql(mobileUrl, '{ allProducts { id name } }');
  assert.deepEqual(ok.body.data.allProducts[0], { id: 'p1', name: 'Product 1' });
  const hidden = await gql(mobileUrl, '{ allProducts { price } }');
  assert.equal(hidden.status, 400);
  assert.match(hidden.body.errors![0]!.message, /Cannot query field "price"/);
  const hiddenType = await gql(mobileUrl, '{ allProducts { category { label } } }');
  assert.equal(hiddenType.status, 400, 'a field whose type is hidden goes with it');
  const full = await gw.query('{ allProducts { price category { label } } }');
  assert.equal(full.body.data.allProducts[1].price, 200);
  const channels = gw.gateway.channels.map((c) => `${c.channel.name}:${c.channel.path}`);
  assert.deepEqual(channels, ['default:/graphql', 'mobile:/mobile/graphql']);
});

test('a channel with an include list serves only what it lists, and what that needs, from the real upstream', async (t) => {
  const gw = await catalog(t, { channels: { mobile: { include: ['Query.allProducts', 'Product.name', 'Product.category'], hide: ['CatCategory.id'] } } });
  const mobileUrl = gw.url.replace('/graphql', '/mobile/graphql');
  const ok = await gql(mobileUrl, '{ allProducts { name category { label } } }');
  assert.deepEqual(ok.body.data.allProducts[0], { name: 'Product 1', category: { label: 'Tools' } });
  const notListed = await gql(mobileUrl, '{ allProducts { price } }');
  assert.equal(notListed.status, 400, 'Product is narrowed to the fields the list names');
  const hiddenAfter = await gql(mobileUrl, '{ allProducts { category { id } } }');
  assert.equal(hiddenAfter.status, 400, 'hide applies after include');
  const full = await gw.query('{ allProducts { price category { id } } }');
  assert.equal(full.body.data.allProducts[1].price, 200, 'the default channel keeps the whole graph');
});

test('a channel renames types and fields and composes a field from others; requests reach the right upstream fields', async (t) => {
  const gw = await catalog(t, {
    channels: {
      mobile: {
        rename: { types: { Product: 'Item' }, fields: { 'Product.name': 'title', 'Query.allProducts': 'items' } },
        fields: { 'Product.card': { from: ['name', 'price', 'category { label }'], template: '{name} ({category.label}): {price}' } },
      },
    },
  });
  const mobileUrl = gw.url.replace('/graphql', '/mobile/graphql');
  const res = await gql(mobileUrl, 'query Cards { items { title card kind: __typename ... on Item { id } } }');
  assert.deepEqual(res.body, {
    data: {
      items: [
        { title: 'Product 1', card: 'Product 1 (Tools): 100', kind: 'Item', id: 'p1' },
        { title: 'Product 2', card: 'Product 2 (Tools): 200', kind: 'Item', id: 'p2' },
      ],
    },
  });
  const mobileSchema = gw.gateway.channels.find((c) => c.channel.name === 'mobile')!.schema;
  assert.ok(mobileSchema.getType('Item'), "the channel's schema (introspection, snapshot) has the channel's names");
  assert.equal(mobileSchema.getType('Product'), undefined);
  const old = await gql(mobileUrl, '{ allProducts { name } }');
  assert.equal(old.status, 400, "the graph's names are not the channel's");
  const full = await gw.query('{ allProducts { name __typename } }');
  assert.deepEqual(full.body.data.allProducts[0], { name: 'Product 1', __typename: 'Product' }, 'the default channel keeps the graph names');
});

test('a composed field reading a field the type does not have stops start-up, naming the key', async (t) => {
  await assert.rejects(
    catalog(t, { channels: { mobile: { fields: { 'Product.card': { from: ['nmae'], template: '{nmae}' } } } } }),
    /channels\.mobile\.fields\."Product\.card"\.from: Cannot query field "nmae" on type "Product"\. Did you mean "name"\?/,
  );
});

test('an include entry naming no type, field or subgraph stops start-up with the closest name', async (t) => {
  await assert.rejects(catalog(t, { channels: { web: { include: ['Product.nmae'] } } }), /channels\.web\.include: "Product\.nmae" is not in the unified graph: no field Product\.nmae \(did you mean "Product\.name"\?\)/);
  await assert.rejects(catalog(t, { channels: { web: { include: ['subgraph:catalgo'] } } }), /channels\.web\.include: "subgraph:catalgo": there is no subgraph named "catalgo" \(did you mean "subgraph:catalog"\?\)/);
});

test('a channel hiding something that is not in the graph stops start-up', async (t) => {
  await assert.rejects(catalog(t, { channels: { web: { hide: ['Product.nope'] } } }), /channels\.web\.hide: "Product\.nope" is not in the unified graph/);
});

test('introspection is off in production and on in development unless configured', async (t) => {
  const prod = await catalog(t);
  const refused = await prod.query('{ __schema { queryType { name } } }');
  assert.equal(refused.status, 400);
  assert.match(refused.body.errors![0]!.message, /introspection/i);
  const dev = await catalog(t, { mode: 'development' });
  assert.equal((await dev.query('{ __schema { queryType { name } } }')).body.data.__schema.queryType.name, 'Query');
});

test('a subscription on a channel with renames and a composed field: each event in the channel names', async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Level { sku: String! count: Int! } type Query { ok: Boolean } type Subscription { stock: Level! }', {
    Query: { ok: () => true },
    Subscription: {
      stock: {
        subscribe: async function* () {
          for (let count = 2; count >= 1; count--) yield { stock: { sku: 'lamp', count } };
        },
      },
    },
  });
  const gw = await startGateway(t, [{ name: 'events', kind: 'graphql', url: upstream.url }], {
    channels: {
      mobile: {
        rename: { types: { Level: 'StockLevel' }, fields: { 'Level.count': 'units' } },
        fields: { 'Level.label': { from: ['sku', 'count'], template: '{sku}: {count} left' } },
      },
    },
  });
  const events = await sse(t, gw.url.replace('/graphql', '/mobile/graphql'), 'subscription { stock { units label __typename } }');
  assert.equal(events.status, 200);
  assert.deepEqual(await events.next(), { data: { stock: { units: 2, label: 'lamp: 2 left', __typename: 'StockLevel' } } });
  assert.deepEqual(await events.next(), { data: { stock: { units: 1, label: 'lamp: 1 left', __typename: 'StockLevel' } } });
  assert.equal(await events.next(), undefined);
});

test('a channel includes what carries its @tag (declared in the subgraph SDL); an unknown tag stops start-up with the tags there are (docs/reliability.md row 70)', async (t) => {
  const tagged = `
    directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
    type Product { id: ID! title: String! @tag(name: "mobile") price: Int! @tag(name: "mobile") category: Category secret: Secret }
    type Category @tag(name: "partner") { id: ID! label: String! }
    type Secret { token: String }
    type Query { products: [Product!]! @tag(name: "mobile") debug: String categories: [Category!]! }
  `;
  const upstream = await startGraphqlUpstream(t, SDL.replace('debug: String', 'debug: String categories: [Category!]!'), {
    Query: { ...resolvers.Query, categories: () => [{ id: 'c1', label: 'Tools' }] },
  });
  const dir = tempProject(t, { 'catalog.graphql': tagged });
  const start = (channels: NonNullable<GatewayFileInput['channels']>) =>
    startGateway(t, [{ name: 'catalog', kind: 'graphql', url: upstream.url, source: './catalog.graphql', dir }], { channels });
  const gw = await start({ mobile: { include: ['tag:mobile'] }, partner: { include: ['tag:partner', 'Query.categories'] } });
  const mobileUrl = gw.url.replace('/graphql', '/mobile/graphql');
  const ok = await gql(mobileUrl, '{ products { title price } }');
  assert.deepEqual(ok.body.data.products[0], { title: 'Product 1', price: 100 });
  const untagged = await gql(mobileUrl, '{ products { category { label } } }');
  assert.equal(untagged.status, 400, 'an untagged field of a tagged-field type is not in the view');
  const mobile = gw.gateway.channels.find((c) => c.channel.name === 'mobile')!.schema;
  assert.deepEqual(Object.keys(mobile.getQueryType()!.getFields()), ['products']);
  assert.deepEqual(Object.keys((mobile.getType('Product') as import('graphql').GraphQLObjectType).getFields()).sort(), ['price', 'title']);
  const partner = await gql(gw.url.replace('/graphql', '/partner/graphql'), '{ categories { id label } }');
  assert.deepEqual(partner.body.data.categories, [{ id: 'c1', label: 'Tools' }], 'a tagged type comes whole');

  await assert.rejects(start({ web: { include: ['tag:mobil'] } }), /channels\.web\.include: "tag:mobil": no type or field of the unified graph carries @tag\(name: "mobil"\) \(did you mean "tag:mobile"\?\)/);
});

test('a channel renames input fields and enum values: literals, variables and answers are translated; the upstream sees the graph names (docs/reliability.md row 70)', async (t) => {
  const sdl = `
    enum Category { TOOLS GARDEN }
    input ProductFilter { maxPrice: Int category: Category }
    type Product { id: ID! price: Int! category: Category! tags: [Category!]! }
    type Query { products(filter: ProductFilter): [Product!]! byCategory(category: Category!): [Product!]! }
  `;
  const all = [
    { id: 'p1', price: 100, category: 'TOOLS', tags: ['TOOLS', 'GARDEN'] },
    { id: 'p2', price: 200, category: 'GARDEN', tags: ['GARDEN'] },
  ];
  const seen: unknown[] = [];
  const upstream = await startGraphqlUpstream(t, sdl, {
    Query: {
      products: (_: unknown, { filter }: { filter?: { maxPrice?: number; category?: string } }) => {
        seen.push(filter);
        return all.filter((p) => (filter?.maxPrice === undefined || p.price <= filter.maxPrice) && (filter?.category === undefined || p.category === filter.category));
      },
      byCategory: (_: unknown, { category }: { category: string }) => all.filter((p) => p.category === category),
    },
  });
  const descriptor = { name: 'shop', kind: 'graphql' as const, url: upstream.url };
  const gw = await startGateway(t, [descriptor], {
    channels: { mobile: { rename: { types: { ProductFilter: 'Filter' }, fields: { 'ProductFilter.maxPrice': 'priceBelow' }, values: { 'Category.TOOLS': 'tools' } } } },
  });
  const mobileUrl = gw.url.replace('/graphql', '/mobile/graphql');
  const literal = await gql(mobileUrl, '{ products(filter: { priceBelow: 150, category: tools }) { id category kinds: tags } }');
  assert.deepEqual(literal.body, { data: { products: [{ id: 'p1', category: 'tools', kinds: ['tools', 'GARDEN'] }] } });
  assert.deepEqual({ ...(seen.at(-1) as object) }, { maxPrice: 150, category: 'TOOLS' }, 'the upstream gets the graph names');
  const variables = await gql(mobileUrl, 'query ($f: Filter, $c: Category!) { products(filter: $f) { id } byCategory(category: $c) { id category } }', { f: { priceBelow: 500, category: 'tools' }, c: 'tools' });
  assert.deepEqual(variables.body, { data: { products: [{ id: 'p1' }], byCategory: [{ id: 'p1', category: 'tools' }] } });
  const old = await gql(mobileUrl, '{ products(filter: { maxPrice: 1, category: TOOLS }) { id } }');
  assert.equal(old.status, 400, "the graph's names are not the channel's");
  const full = await gw.query('{ products(filter: { maxPrice: 150 }) { category } }');
  assert.deepEqual(full.body.data.products, [{ category: 'TOOLS' }], 'the default channel keeps the graph names');

  await assert.rejects(
    startGateway(t, [descriptor], { channels: { web: { rename: { values: { 'Category.TOOL': 'tools' } } } } }),
    /channels\.web\.rename\.values\."Category\.TOOL": Category has no value TOOL \(did you mean "Category\.TOOLS"\?\)/,
  );
});

test("a client directive's enum arguments, over a prefixed subgraph and a channel renaming the enum and its values: literals, lists, input objects and variables reach the subgraph in its own names, planned and stitched (docs/reliability.md row 70)", async (t) => {
  const sdl = `
    directive @shout(tone: Tone, tones: [Tone!], opts: Opts) on FIELD
    enum Tone { LOUD SOFT }
    input Opts { tone: Tone }
    type Thing { name: String! }
    type Query { thing: Thing }
  `;
  const received: string[] = [];
  const upstream = await startGraphqlUpstream(t, sdl, { Query: { thing: () => ({ name: 'bell' }) } }, {
    plugins: [{ onParams: ({ params }: { params: { query?: string; variables?: unknown } }) => void received.push(`${params.query?.replace(/\s+/g, ' ')} ${JSON.stringify(params.variables ?? {})}`) }] as never,
  });
  const rename = { types: { CatTone: 'Loudness' }, values: { 'CatTone.LOUD': 'loud', 'CatTone.SOFT': 'soft' } };
  const cases: Array<[query: string, variables: Record<string, unknown> | undefined, sent: string]> = [
    ['{ catThing { name @shout(tone: loud) } }', undefined, 'name @shout(tone: LOUD)'],
    ['{ catThing { name @shout(tones: [loud, soft], opts: { tone: soft }) } }', undefined, 'name @shout(tones: [LOUD, SOFT], opts: {tone: SOFT})'],
    ['query ($t: Loudness, $l: [Loudness!], $o: CatOpts) { catThing { name @shout(tone: $t, tones: $l, opts: $o) } }', { t: 'soft', l: ['loud'], o: { tone: 'loud' } }, '{"t":"SOFT","l":["LOUD"],"o":{"tone":"LOUD"}}'],
  ];
  for (const planner of [true, false]) {
    const gw = await startGateway(t, [{ name: 'cat', kind: 'graphql', url: upstream.url, transforms: { prefix: 'Cat' } }], { mode: 'development', execution: { planner }, channels: { web: { rename } } });
    for (const [query, variables, sent] of cases) {
      received.length = 0;
      const answer = await gql(gw.url.replace('/graphql', '/web/graphql'), query, variables);
      assert.deepEqual(answer.body, { data: { catThing: { name: 'bell' } } }, query);
      assert.equal(answer.headers.get('tessera-route'), planner ? 'planned' : 'stitched');
      assert.equal(received.length, 1);
      assert.ok(received[0]!.includes(sent), `${query}: the subgraph got ${received[0]}`);
      if (variables) assert.ok(received[0]!.includes('$t: Tone') && received[0]!.includes('$l: [Tone!]') && received[0]!.includes('$o: Opts'), received[0]);
    }
  }
});

test('tags a descriptor declares (in the subgraph names) are included by tag:<name> in the unified names; an unknown coordinate stops start-up naming the file and path (docs/reliability.md row 70)', async (t) => {
  const upstream = await startGraphqlUpstream(t, SDL, resolvers);
  const descriptor = (tags: Record<string, string[]>) => ({
    name: 'catalog',
    kind: 'graphql' as const,
    url: upstream.url,
    transforms: { prefix: 'Cat', rename: { types: { Product: 'Product' }, fields: { 'Product.title': 'name', 'Query.products': 'allProducts' } }, hide: ['Query.debug', 'Secret'] },
    tags,
  });
  // Read by introspection: no @tag can come from the SDL, only from the descriptor.
  const gw = await startGateway(t, [descriptor({ partner: ['Query.products', 'Product.title', 'Product.price'] })], { channels: { partner: { include: ['tag:partner'] } } });
  const partnerUrl = gw.url.replace('/graphql', '/partner/graphql');
  const ok = await gql(partnerUrl, '{ allProducts { name price } }');
  assert.deepEqual(ok.body.data.allProducts[1], { name: 'Product 2', price: 200 });
  assert.equal((await gql(partnerUrl, '{ allProducts { category { label } } }')).status, 400, 'Product narrowed to its tagged fields');
  await assert.rejects(
    startGateway(t, [descriptor({ partner: ['Query.products', 'Product.titel'] })], { channels: { partner: { include: ['tag:partner'] } } }),
    /tags\.partner\[1\]: "Product\.titel": subgraph "catalog" has no field Product\.titel \(did you mean "Product\.title"\?\)/,
  );
});
