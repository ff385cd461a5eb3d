/**
 * openapi: one REST service described by OpenAPI (bench/services/orders.ts),
 * a query returning a list of 20 orders with nested objects (customer and
 * address, line items with prices, shipping). The limit: the REST service
 * called directly (GET /orders?limit=20); its JSON is the `data` every
 * gateway must return. Apollo Gateway takes only GraphQL subgraphs, so it is
 * not in this scenario.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ORDERS_QUERY, ORDERS_SPEC } from '../../services/orders.js';
import { BENCH_DIR, spawnRole, type Child } from '../proc.js';
import { hiveTargets, keeper, stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

export async function sourceProblem(kind: 'openapi' | 'grpc'): Promise<string | undefined> {
  const file = join(BENCH_DIR, '..', 'src', 'sources', kind, 'load.ts');
  if (!existsSync(file)) return `Tessera's ${kind} source is not built yet (no src/sources/${kind}/load.ts)`;
  try {
    await import(file);
    return undefined;
  } catch (error) {
    return `src/sources/${kind}/load.ts does not load yet: ${(error as Error).message.split('\n')[0]}`;
  }
}

export const openapiScenario: Scenario = {
  name: 'openapi',
  title: 'openapi: one REST service (OpenAPI), 20 orders with nested objects',
  description: 'listOrders(limit: 20) with customer, address, line items, prices and shipping, from one REST service',
  query: ORDERS_QUERY,
  operationName: 'Orders',
  unavailable: () => sourceProblem('openapi'),
  async setup() {
    const service = await spawnRole('orders REST service', 'orders-service', { port: 0 });
    const base = `http://127.0.0.1:${service.port}`;
    const started: Child[] = [service];
    const keep = keeper(started);
    const descriptor = { name: 'orders', kind: 'openapi' as const, source: ORDERS_SPEC, url: base };
    const targets: Target[] = [
      ...tesseraTargets(
        {
          start: (gateway, nodeFlags, entry) => keep(spawnRole('tessera', 'tessera', { port: 0, gateway, entry, descriptors: [descriptor] }, { nodeFlags })),
          cli: { gateway: {}, descriptors: [descriptor] },
        },
        keep,
      ),
      ...hiveTargets({ subgraphs: [{ name: 'orders', kind: 'openapi', source: ORDERS_SPEC, url: base }] }, keep),
      {
        name: 'direct',
        label: 'direct (REST)',
        role: 'limit',
        path: '/orders?limit=20',
        process: service,
        url: `${base}/orders?limit=20`,
        plain: { method: 'GET', asGraphql: (text) => `{"data":{"listOrders":${text}}}` },
      },
    ];
    return { targets, upstreams: [service], services: [service], close: () => stopAll(started) };
  },
};
