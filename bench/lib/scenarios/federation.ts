/**
 * federation: the four subgraphs (accounts, inventory, products, reviews) and
 * the nested query of the well-known public gateways benchmark. Tessera and
 * the peers compose the very same Federation 2 subgraphs (@apollo/subgraph),
 * Tessera through `kind: federation` descriptors. The limit: one
 * hand-written server with the whole graph.
 */
import { FEDERATION_QUERY } from '../../services/federation/data.js';
import type { SubgraphName } from '../../services/federation/subgraphs.js';
import { spawnPeer, spawnRole, type Child } from '../proc.js';
import { hiveTargets, keeper, stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

const NAMES: SubgraphName[] = ['accounts', 'inventory', 'products', 'reviews'];
const MEASURE_COST = { security: { limits: { cost: { mode: 'measure' } } } };

/** Tessera's descriptors: one `kind: federation` per subgraph, the SDL read from its `_service { sdl }`. */
export function federationDescriptors(urls: Record<SubgraphName, string>) {
  return NAMES.map((name) => ({ name, kind: 'federation' as const, url: urls[name] }));
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
      const urls = Object.fromEntries(NAMES.map((n, i) => [n, `${base(i)}/federation`])) as Record<SubgraphName, string>;
      const peerSubgraphs = NAMES.map((name) => ({ name, url: urls[name] }));
      const keep = keeper(started);
      const targets: Target[] = [
        // The cost limit measures instead of refusing: the benchmark's query (nested lists without a size
        // argument) is over the default estimate of 5000, and the peers serve it with no limit.
        ...tesseraTargets(
          {
            start: (gateway, nodeFlags, entry) =>
              keep(spawnRole('tessera', 'tessera', { port: 0, gateway: { ...gateway, ...MEASURE_COST }, entry, descriptors: federationDescriptors(urls) }, { nodeFlags })),
            cli: { gateway: MEASURE_COST, descriptors: federationDescriptors(urls) },
          },
          keep,
        ),
        ...hiveTargets({ subgraphs: peerSubgraphs }, keep, { rust: true }),
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
