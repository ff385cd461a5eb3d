/**
 * shop: the demo's cross-source query: 50 products from REST (catalog), stock
 * from gRPC (inventory), reviews from GraphQL (reviews), one author per review
 * (accounts). Tessera serves the demo's own descriptors (subgraphs/*); the
 * limit is one hand-written server with the same data (read from the demo
 * services once, at its start). The peers need a composition of REST, gRPC
 * and GraphQL sources with cross-source joins that is not written yet, so
 * they are not in this scenario.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHOP_QUERY, type DemoPorts } from '../../services/shop.js';
import { BENCH_DIR, spawnRole, type Child } from '../proc.js';
import { sourceProblem } from './openapi.js';
import { stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

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
      const keep = async (child: Promise<Child>): Promise<Child> => {
        const c = await child;
        started.push(c);
        return c;
      };
      const targets: Target[] = [
        ...tesseraTargets(
          {
            start: (gateway, nodeFlags, entry) => keep(spawnRole('tessera', 'tessera', { port: 0, entry, env, gateway: { ...gateway, descriptors } }, { nodeFlags })),
            cli: { gateway: { descriptors }, env },
          },
          keep,
        ),
        { name: 'direct', label: 'direct (one server)', role: 'limit', path: '/graphql', process: direct, url: `http://127.0.0.1:${direct.port}/graphql` },
      ];
      return { targets, upstreams: [services], services: [services, direct], close: () => stopAll(started) };
    } catch (error) {
      await stopAll(started);
      throw error;
    }
  },
};
