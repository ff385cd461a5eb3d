/**
 * shop: the demo's cross-source query: 50 products from REST (catalog), stock
 * from gRPC (inventory), reviews from GraphQL (reviews), one author per review
 * (accounts). Tessera serves the demo's own descriptors (subgraphs/*); Hive
 * Gateway serves the same four services composed by Mesh (`hiveShopSubgraphs`);
 * the limit is one hand-written server with the same data (read from the demo
 * services once, at its start). Apollo Gateway takes only GraphQL subgraphs,
 * so it is not in this scenario.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHOP_QUERY, type DemoPorts } from '../../services/shop.js';
import { BENCH_DIR, spawnRole, type Child } from '../proc.js';
import { sourceProblem } from './openapi.js';
import { hiveTargets, keeper, stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

const entity = (fieldName: string, keyArg: string) => ({ key: { fields: 'id', resolveReference: { fieldName, keyArg } } });

/**
 * The demo as Hive Gateway's supergraph, built with Mesh's own tools
 * (@graphql-mesh/compose-cli, @omnigraph/openapi, @omnigraph/grpc) and the same
 * joins as the demo's descriptors, each batched:
 * - catalog (OpenAPI): `Product.id` is `String!` there and `ID!` in reviews;
 *   createTypeReplaceTransform makes it `ID!` so the two Products merge, and
 *   createFederationTransform makes Product an entity keyed by id (needed by
 *   the composition's satisfiability check) with no entry point: the query
 *   starts at the catalog, whose bulk lookup answers in a page, in its own order;
 * - reviews, accounts (GraphQL, introspected): entities through their batch
 *   root fields (`@merge` with keyArg: one call per hop, answers in the order
 *   asked): Product by reviews' `_productsByIds`, User by reviews'
 *   `_usersByIds` and by accounts' `users`;
 * - inventory (gRPC): `Product.stock` is a batched @resolveTo on
 *   GetStockLevels (keys in `input.product_ids`), matched back to the products
 *   by `product_id` (valueKeyField: the service answers in its own order);
 * - ignoreSemanticConventions: only these joins, none guessed from field names.
 */
export function hiveShopSubgraphs(demo: DemoPorts) {
  const subgraphs = join(BENCH_DIR, '..', 'subgraphs');
  return {
    ignoreSemanticConventions: true,
    subgraphs: [
      {
        name: 'catalog',
        kind: 'openapi',
        source: join(subgraphs, 'catalog', 'openapi.yaml'),
        url: `http://127.0.0.1:${demo.catalog}`,
        typeReplace: { 'Product.id': 'ID!' },
        federationTransform: { Product: { key: { fields: 'id' } } },
      },
      { name: 'inventory', kind: 'grpc', source: join(subgraphs, 'inventory', 'inventory.proto'), url: `127.0.0.1:${demo.inventory}` },
      {
        name: 'reviews',
        kind: 'graphql',
        federation: false,
        url: `http://127.0.0.1:${demo.reviews}/graphql`,
        federationTransform: { Product: entity('_productsByIds', 'ids'), User: entity('_usersByIds', 'ids') },
      },
      { name: 'accounts', kind: 'graphql', federation: false, url: `http://127.0.0.1:${demo.accounts}/graphql`, federationTransform: { User: entity('users', 'ids') } },
    ],
    additionalTypeDefs: /* GraphQL */ `
      extend type Product {
        stock: tessera__inventory__v1__StockLevel
          @resolveTo(
            sourceName: "inventory"
            sourceTypeName: "Query"
            sourceFieldName: "tessera_inventory_v1_InventoryService_GetStockLevels"
            keyField: "id"
            keysArg: "input.product_ids"
            result: "levels"
            valueKeyField: "product_id"
          )
      }
    `,
  };
}

export const shopScenario: Scenario = {
  name: 'shop',
  title: 'shop: REST + gRPC + GraphQL, 50 products with stock, reviews and authors',
  description: "the demo's cross-source query: 4 subgraphs, 3 protocols",
  query: SHOP_QUERY,
  operationName: 'Shop',
  async unavailable() {
    const problem = (await sourceProblem('openapi')) ?? (await sourceProblem('grpc'));
    if (problem) return problem;
    for (const service of ['catalog', 'inventory']) {
      if (!existsSync(join(BENCH_DIR, '..', 'subgraphs', service, 'server.ts'))) return `the demo's ${service} service is not built yet (subgraphs/${service})`;
    }
    return undefined;
  },
  async setup() {
    const started: Child[] = [];
    try {
      const services = await spawnRole('demo services', 'shop-services', { port: 0 });
      started.push(services);
      const demo = services.info as unknown as DemoPorts;
      const direct = await spawnRole('shop direct', 'shop-direct', { port: 0, demo });
      started.push(direct);
      const env = Object.fromEntries(Object.entries(demo).map(([name, port]) => [`${name.toUpperCase()}_PORT`, String(port)]));
      const descriptors = join(BENCH_DIR, '..', 'subgraphs');
      const keep = keeper(started);
      const targets: Target[] = [
        ...tesseraTargets(
          {
            start: (gateway, nodeFlags, entry) => keep(spawnRole('tessera', 'tessera', { port: 0, entry, env, gateway: { ...gateway, descriptors } }, { nodeFlags })),
            cli: { gateway: { descriptors }, env },
          },
          keep,
        ),
        ...hiveTargets(hiveShopSubgraphs(demo), keep),
        { name: 'direct', label: 'direct (one server)', role: 'limit', path: '/graphql', process: direct, url: `http://127.0.0.1:${direct.port}/graphql` },
      ];
      return { targets, upstreams: [services], services: [services, direct], close: () => stopAll(started) };
    } catch (error) {
      await stopAll(started);
      throw error;
    }
  },
};
