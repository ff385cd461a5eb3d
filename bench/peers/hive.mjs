// Hive Gateway as a benchmark target: the subgraphs composed into a supergraph
// by @graphql-mesh/compose-cli (GraphQL subgraphs read through `_service`,
// REST services through @omnigraph/openapi), served by the Hive Gateway
// runtime on node:http, one process, logging off.
//   node bench/peers/hive.mjs '{"port":0,"subgraphs":[{"name":"a","url":"http://..."}]}'
//   subgraph kinds: graphql (default, Federation), openapi ({ source: spec file, url: base URL })
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { getComposedSchemaFromConfig, loadGraphQLHTTPSubgraph } from '@graphql-mesh/compose-cli';
import { closeServer, listen, memoryInfo, runPeer } from './common.mjs';

const quietLogger = {
  child: () => quietLogger,
  log() {},
  debug() {},
  info() {},
  warn() {},
  error: (...args) => console.error(...args),
};

async function sourceHandler(subgraph) {
  if (subgraph.kind === 'openapi') {
    const { loadOpenAPISubgraph } = await import('@omnigraph/openapi');
    return loadOpenAPISubgraph(subgraph.name, { source: subgraph.source, endpoint: subgraph.url });
  }
  if (subgraph.kind === 'grpc') {
    const { loadGrpcSubgraph } = await import('@omnigraph/grpc');
    return loadGrpcSubgraph(subgraph.name, { endpoint: subgraph.url, source: subgraph.source });
  }
  return loadGraphQLHTTPSubgraph(subgraph.name, { endpoint: subgraph.url, federation: subgraph.federation ?? true });
}

await runPeer(async ({ port, subgraphs, additionalTypeDefs, printSupergraph }) => {
  const composeStart = performance.now();
  const supergraph = await getComposedSchemaFromConfig(
    { subgraphs: await Promise.all(subgraphs.map(async (s) => ({ sourceHandler: await sourceHandler(s) }))), additionalTypeDefs },
    quietLogger,
  );
  if (printSupergraph) console.error(supergraph);
  const composeMs = performance.now() - composeStart;
  const buildStart = performance.now();
  const gateway = createGatewayRuntime({ supergraph, logging: false });
  const server = createServer(gateway);
  const actual = await listen(server, port);
  const buildMs = performance.now() - buildStart;
  return {
    port: actual,
    info: { composeMs, buildMs, ...memoryInfo() },
    close: async () => {
      await closeServer(server);
      await gateway.dispose();
    },
  };
});
