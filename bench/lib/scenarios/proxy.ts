/**
 * proxy: one GraphQL subgraph behind the gateway and a medium query (about
 * 2 KB of response). The limits: the subgraph called directly, and a raw
 * byte-forwarding HTTP proxy in front of it.
 */
import { PROXY_QUERY } from '../../services/proxy.js';
import { spawnPeer, spawnRole, type Child } from '../proc.js';
import { hiveTargets, keeper, stopAll, tesseraTargets, type Scenario, type Target } from './types.js';

export const proxyScenario: Scenario = {
  name: 'proxy',
  title: 'proxy: one GraphQL subgraph, ~2 KB response',
  description: 'products(first: 8) with a nested seller, from one GraphQL subgraph',
  query: PROXY_QUERY,
  operationName: 'Listing',
  unavailable: async () => undefined,
  async setup() {
    const subgraph = await spawnRole('listing subgraph', 'graphql-service', { port: 0, service: 'proxy' });
    const base = `http://127.0.0.1:${subgraph.port}`;
    const peerSubgraphs = [{ name: 'listing', url: `${base}/federation` }];
    const descriptors = [{ name: 'listing', kind: 'graphql' as const, url: `${base}/graphql` }];
    const started: Child[] = [];
    const keep = keeper(started);
    const targets: Target[] = [
      ...tesseraTargets(
        {
          start: (gateway, nodeFlags, entry) => keep(spawnRole('tessera', 'tessera', { port: 0, gateway, entry, descriptors }, { nodeFlags })),
          cli: { gateway: {}, descriptors },
        },
        keep,
      ),
      ...hiveTargets({ subgraphs: peerSubgraphs }, keep, { rust: true }),
      { name: 'apollo', label: 'Apollo Gateway', role: 'peer', path: '/', start: () => keep(spawnPeer('apollo', 'apollo.mjs', { port: 0, subgraphs: peerSubgraphs })) },
      {
        name: 'raw-proxy',
        label: 'raw HTTP proxy',
        role: 'limit',
        path: '/graphql',
        start: () => keep(spawnRole('raw proxy', 'raw-proxy', { port: 0, upstream: `${base}/graphql` })),
      },
      { name: 'direct', label: 'direct (subgraph)', role: 'limit', path: '/graphql', process: subgraph, url: `${base}/graphql` },
    ];
    return {
      targets,
      upstreams: [subgraph],
      services: [subgraph],
      close: () => stopAll([...started, subgraph]),
    };
  },
};
