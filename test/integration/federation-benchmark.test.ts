/**
 * Federation subgraphs as a source, on the four-subgraph shape of the public
 * gateways benchmark (bench/services/federation: accounts, inventory,
 * products, reviews, built with @apollo/subgraph): `kind: federation`
 * descriptors read each subgraph's `_service { sdl }`, composition, and the
 * benchmark's TestQuery answered exactly as the one-server monolith of the
 * same data answers it, with one `_entities` call per subgraph per hop and
 * every representation sent once per call.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { FEDERATION_QUERY } from '../../bench/services/federation/data.js';
import { monolith, SUBGRAPHS, subgraphSchema, type SubgraphName } from '../../bench/services/federation/subgraphs.js';
import { composeServices } from '@theguild/federation-composition';
import { createGateway } from '../../src/index.js';
import { gql, serveSupergraph, startGateway, startGraphqlUpstream, tempProject, type DemoService } from '../kit/index.js';

const NAMES: SubgraphName[] = ['accounts', 'inventory', 'products', 'reviews'];

interface Received {
  query: string;
  variables: Record<string, unknown> | undefined;
}

/** The four subgraphs on loopback, each logging the operations it is sent. */
async function startSubgraphs(t: TestContext): Promise<{ services: Record<SubgraphName, DemoService>; received: Record<SubgraphName, Received[]> }> {
  const received = Object.fromEntries(NAMES.map((n) => [n, [] as Received[]])) as Record<SubgraphName, Received[]>;
  const services = {} as Record<SubgraphName, DemoService>;
  for (const name of NAMES) {
    services[name] = await startGraphqlUpstream(t, subgraphSchema(SUBGRAPHS[name]()), {}, {
      plugins: [
        {
          onParams({ params }: { params: { query?: string; variables?: Record<string, unknown> } }) {
            received[name].push({ query: params.query ?? '', variables: params.variables });
          },
        },
      ],
    });
  }
  return { services, received };
}

async function expected(schema: GraphQLSchema, query: string): Promise<unknown> {
  const result = await execute({ schema, document: parse(query), operationName: 'TestQuery' });
  assert.equal(result.errors, undefined);
  return JSON.parse(JSON.stringify(result.data)) as unknown;
}

test('the public benchmark TestQuery over four federation subgraphs: the monolith\'s answer, one _entities call per subgraph per hop, representations deduplicated', async (t) => {
  const { services, received } = await startSubgraphs(t);
  const gateway = await startGateway(
    t,
    NAMES.map((name) => ({ name, kind: 'federation' as const, url: services[name].url })),
    { security: { limits: { cost: { mode: 'measure' } } } },
  );
  for (const name of NAMES) received[name].length = 0;

  const response = await gateway.query(FEDERATION_QUERY);
  assert.equal(response.status, 200);
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, await expected(monolith(), FEDERATION_QUERY));

  // Hop 0: users (accounts) and topProducts with price and weight (products). Hop 1: one reviews call with two
  // _entities fetches (the users' and the top products' reviews, with everything under them: reviews serves
  // Review.product, Product.reviews, Review.author, User.reviews and, by @provides, the authors' username), and
  // inventory for the top products (@requires price and weight, already fetched). Hop 2: products for the
  // reviewed products, accounts for the authors' names. Hop 3: inventory for the reviewed products.
  const calls = Object.fromEntries(NAMES.map((n) => [n, received[n].length]));
  assert.deepEqual(calls, { accounts: 2, inventory: 2, products: 2, reviews: 1 });
  assert.equal(received.reviews[0]!.query.match(/_entities\(/g)?.length, 2);
  // Every representation is sent once per call: also where the same entities are reached through several paths
  // in one hop (the reviewed products under the users' reviews and under the top products' reviews: one
  // _entities field for both, its answer merged into every object with that key).
  for (const name of NAMES) {
    for (const call of received[name]) {
      const texts = Object.values(call.variables ?? {}).flatMap((value) => (Array.isArray(value) ? value.map((v) => JSON.stringify(v)) : []));
      assert.equal(new Set(texts).size, texts.length, `${name}: every representation is sent once: ${texts.join(' ')}`);
    }
  }
  for (const name of ['accounts', 'inventory', 'products'] as const) {
    for (const call of received[name].filter((c) => c.query.includes('_entities'))) {
      assert.equal(call.query.match(/_entities\(/g)?.length, 1, `${name}: one _entities field for the same selection: ${call.query}`);
    }
  }
  // @provides: reviews answers the authors' username, so accounts is asked for their names only.
  assert.doesNotMatch(received.accounts[1]!.query, /username/);
  assert.match(received.accounts[1]!.query, /_entities/);
  // @requires: inventory receives price and weight in each representation, fetched from products first.
  const inventoryRepresentations = received.inventory.flatMap((c) => Object.values(c.variables ?? {}).flat()) as Array<Record<string, unknown>>;
  assert.ok(inventoryRepresentations.length > 0);
  for (const representation of inventoryRepresentations) {
    assert.deepEqual(Object.keys(representation).sort(), ['__typename', 'price', 'upc', 'weight']);
    assert.equal(representation.__typename, 'Product');
  }
});

test('with the planner off (execution.planner: false), stitching joins the federation entities through _entities too: the same answer', async (t) => {
  const { services } = await startSubgraphs(t);
  const gateway = await startGateway(
    t,
    NAMES.map((name) => ({ name, kind: 'federation' as const, url: services[name].url })),
    { security: { limits: { cost: { mode: 'measure' } } }, execution: { planner: false } },
  );
  const response = await gateway.query(FEDERATION_QUERY);
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, await expected(monolith(), FEDERATION_QUERY));
  // The entry point stays stitching's: not in the unified graph.
  const entities = await gateway.query('{ _entities(representations: []) { __typename } }');
  assert.match(entities.body.errors?.[0]?.message ?? '', /Cannot query field "_entities" on type "Query"/);
});

test('a supergraph file (supergraph: in gateway.yaml) is served as its subgraphs: the same answer, the same calls', async (t) => {
  const { services, received } = await startSubgraphs(t);
  // The supergraph another tool would have made, with the subgraphs' URLs in @join__graph.
  const { gateway, url } = await serveSupergraph(
    t,
    NAMES.map((name) => ({ name, url: services[name].url, sdl: SUBGRAPHS[name]().sdl })),
    'security: { limits: { cost: { mode: measure } } }\n',
  );
  assert.deepEqual(gateway.descriptors.map((d) => [d.name, d.kind]), NAMES.map((n) => [n, 'federation']));
  for (const name of NAMES) received[name].length = 0;
  const response = await gql(url, FEDERATION_QUERY);
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, await expected(monolith(), FEDERATION_QUERY));
  assert.deepEqual(Object.fromEntries(NAMES.map((n) => [n, received[n].length])), { accounts: 2, inventory: 2, products: 2, reviews: 1 });
  // The SDL came from the supergraph: no subgraph was asked for `_service`.
  assert.ok(NAMES.every((n) => received[n].every((call) => !call.query.includes('_service'))));
});

test('a reload reads the supergraph file again: its subgraphs stay served, and a subgraph it drops is no longer', async (t) => {
  const { services } = await startSubgraphs(t);
  const compose = (names: ReadonlyArray<(typeof NAMES)[number]>) => composeServices(names.map((name) => ({ name, typeDefs: parse(SUBGRAPHS[name]().sdl), url: services[name].url }))).supergraphSdl!;
  const dir = tempProject(t, {
    'gateway.yaml': 'supergraph: ./supergraph.graphql\nlogging: { level: silent }\nregistry: { watch: false }\nsecurity: { limits: { cost: { mode: measure } } }\n',
    'supergraph.graphql': compose(NAMES),
  });
  const gateway = await createGateway({ configFile: `${dir}/gateway.yaml` });
  t.after(() => gateway.close());
  const unchanged = await gateway.reload();
  assert.equal(unchanged.result, 'unchanged', 'the same supergraph read again is the same set of subgraphs');
  assert.deepEqual(gateway.descriptors.map((d) => d.name), [...NAMES]);
  writeFileSync(`${dir}/supergraph.graphql`, compose(NAMES.filter((n) => n !== 'reviews')));
  const loaded = await gateway.reload();
  assert.equal(loaded.result, 'loaded', JSON.stringify(loaded.problems));
  assert.deepEqual(loaded.subgraphs?.removed, ['reviews']);
  assert.deepEqual(gateway.descriptors.map((d) => d.name), NAMES.filter((n) => n !== 'reviews'));
});

test('a kind: federation descriptor named like a supergraph subgraph gives it its settings; the SDL still comes from the supergraph', async (t) => {
  const { services, received } = await startSubgraphs(t);
  const composed = composeServices(NAMES.map((name) => ({ name, typeDefs: parse(SUBGRAPHS[name]().sdl), url: 'http://127.0.0.1:1/unused' })));
  const dir = tempProject(t, {
    'gateway.yaml': 'supergraph: ./supergraph.graphql\ndescriptors: ./subgraphs\nlogging: { level: silent }\nsecurity: { limits: { cost: { mode: measure } } }\n',
    'supergraph.graphql': composed.supergraphSdl!,
    ...Object.fromEntries(NAMES.map((name) => [`subgraphs/${name}.subgraph.yaml`, `name: ${name}\nkind: federation\nurl: ${services[name].url}\ntimeout: 3s\n`])),
  });
  const gateway = await createGateway({ configFile: `${dir}/gateway.yaml` });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  assert.deepEqual(gateway.descriptors.map((d) => [d.name, d.timeout]), NAMES.map((n) => [n, 3000]));
  const response = await gql(url, FEDERATION_QUERY);
  assert.equal(response.body.errors, undefined, JSON.stringify(response.body.errors));
  assert.deepEqual(response.body.data, await expected(monolith(), FEDERATION_QUERY));
  assert.ok(NAMES.every((n) => received[n].every((call) => !call.query.includes('_service'))));
});

test('a supergraph file that is missing or is not a supergraph stops start-up, naming gateway.yaml and the file', async (t) => {
  const dir = tempProject(t, {
    'gateway.yaml': 'supergraph: ./supergraph.graphql\nlogging: { level: silent }\n',
    'other.yaml': 'supergraph: ./plain.graphql\nlogging: { level: silent }\n',
    'plain.graphql': 'type Query { hello: String }',
  });
  await assert.rejects(createGateway({ configFile: `${dir}/gateway.yaml` }), /gateway\.yaml: supergraph: .*supergraph\.graphql does not exist/);
  await assert.rejects(createGateway({ configFile: `${dir}/other.yaml` }), /other\.yaml: supergraph: .*plain\.graphql: no `enum join__Graph`: this is not a supergraph/);
});
