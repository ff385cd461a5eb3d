/**
 * federation: the four subgraphs (accounts, inventory, products, reviews) and
 * the nested query of the well-known public gateways benchmark. The peers
 * compose the subgraphs' Federation faces; Tessera joins their plain faces as
 * GraphQL sources with entity declarations (until it takes Federation
 * subgraphs as a source). The limit: one hand-written server with the whole
 * graph.
 */
import { FEDERATION_QUERY } from '../../services/federation/data.js';
import type { SubgraphName } from '../../services/federation/subgraphs.js';
import { spawnPeer, spawnRole, type Child } from '../proc.js';
import { keeper, stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

const NAMES: SubgraphName[] = ['accounts', 'inventory', 'products', 'reviews'];
const MEASURE_COST = { security: { limits: { cost: { mode: 'measure' } } } };

/** Tessera's descriptors for the plain faces: entity keys and batch fields, entry points hidden. */
export function federationDescriptors(urls: Record<SubgraphName, string>) {
  return [
    {
      name: 'accounts',
      kind: 'graphql' as const,
      url: urls.accounts,
      entities: { User: { key: 'id', batch: { field: '_usersByIds', argument: 'ids' } } },
      transforms: { hide: ['Query._usersByIds'] },
    },
    {
      name: 'products',
      kind: 'graphql' as const,
      url: urls.products,
      entities: { Product: { key: 'upc', batch: { field: '_productsByUpcs', argument: 'upcs' } } },
      transforms: { hide: ['Query._productsByUpcs'] },
    },
    {
      // @requires(fields: "price weight") as a key: the gateway fetches price and weight first.
      name: 'inventory',
      kind: 'graphql' as const,
      url: urls.inventory,
      entities: { Product: { key: ['upc', 'price', 'weight'], batch: { field: '_productsByKeys', argument: 'keys' } } },
      transforms: { hide: ['Query._productsByKeys', 'Product.price', 'Product.weight'] },
    },
    {
      name: 'reviews',
      kind: 'graphql' as const,
      url: urls.reviews,
      entities: {
        // Named apart from accounts' and products' entry points: Tessera refuses the same root field in two
        // subgraphs even when both are hidden entity entry points.
        User: { key: 'id', batch: { field: '_reviewUsersByIds', argument: 'ids' } },
        Product: { key: 'upc', batch: { field: '_reviewProductsByUpcs', argument: 'upcs' } },
      },
      transforms: { hide: ['Query._reviewUsersByIds', 'Query._reviewProductsByUpcs'] },
    },
  ];
}

export const federationScenario: Scenario = {
  name: 'federation',
  title: 'federation: 4 subgraphs, the public gateways benchmark query',
  description: 'users and topProducts with reviews, products and authors nested five levels across four subgraphs',
  query: FEDERATION_QUERY,
  operationName: 'TestQuery',
  unavailable: async () => undefined,
  async setup() {
    const started: Child[] = [];
    try {
      const subgraphs = await Promise.all(NAMES.map((service) => spawnRole(service, 'graphql-service', { port: 0, service })));
      started.push(...subgraphs);
      const monolith = await spawnRole('monolith', 'graphql-service', { port: 0, service: 'monolith' });
      started.push(monolith);
      const base = (i: number) => `http://127.0.0.1:${subgraphs[i]!.port}`;
      const plain = Object.fromEntries(NAMES.map((n, i) => [n, `${base(i)}/graphql`])) as Record<SubgraphName, string>;
      const peerSubgraphs = NAMES.map((name, i) => ({ name, url: `${base(i)}/federation` }));
      const keep = keeper(started);
      const targets: Target[] = [
        // The cost limit measures instead of refusing: the benchmark's query (nested lists without a size
        // argument) is over the default estimate of 5000, and the peers serve it with no limit.
        ...tesseraTargets(
          {
            start: (gateway, nodeFlags, entry) =>
              keep(spawnRole('tessera', 'tessera', { port: 0, gateway: { ...gateway, ...MEASURE_COST }, entry, descriptors: federationDescriptors(plain) }, { nodeFlags })),
            cli: { gateway: MEASURE_COST, descriptors: federationDescriptors(plain) },
          },
          keep,
        ),
        { name: 'hive', label: 'Hive Gateway', role: 'peer', path: '/graphql', start: () => keep(spawnPeer('hive', 'hive.mjs', { port: 0, subgraphs: peerSubgraphs })) },
        { name: 'apollo', label: 'Apollo Gateway', role: 'peer', path: '/', start: () => keep(spawnPeer('apollo', 'apollo.mjs', { port: 0, subgraphs: peerSubgraphs })) },
        { name: 'direct', label: 'direct (one server)', role: 'limit', path: '/graphql', process: monolith, url: `http://127.0.0.1:${monolith.port}/graphql` },
      ];
      return { targets, upstreams: subgraphs, services: [...subgraphs, monolith], close: () => stopAll(started) };
    } catch (error) {
      await stopAll(started);
      throw error;
    }
  },
};
