// Hive Gateway as a benchmark target: the subgraphs composed into a supergraph
// by @graphql-mesh/compose-cli (GraphQL subgraphs read through `_service` or
// by introspection, REST services through @omnigraph/openapi, gRPC services
// through @omnigraph/grpc), served by the Hive Gateway runtime on node:http,
// one process, logging off. `"planner": "rust"` plans with Hive's Rust query
// planner (@graphql-hive/router-runtime's unifiedGraphHandler, a native addon)
// instead of the JavaScript one; everything else is the same.
//   node bench/peers/hive.mjs '{"port":0,"subgraphs":[{"name":"a","url":"http://..."}]}'
//   subgraph kinds: graphql (default; Federation unless `federation: false`),
//   openapi ({ source: spec file, url: base URL }), grpc ({ source: .proto file, url: host:port })
//   per subgraph, Mesh's own transforms, as JSON:
//     typeReplace: { "Type.field": "ID!" }        createTypeReplaceTransform (built-in scalars)
//     federationTransform: { Type: { key: ... } }  createFederationTransform (entity keys and
//                                                  their batch root fields, `resolveReference`)
//   additionalTypeDefs: SDL with @resolveTo joins; ignoreSemanticConventions: no @merge guessed from field names
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import {
  createFederationTransform,
  createTypeReplaceTransform,
  getComposedSchemaFromConfig,
  loadGraphQLHTTPSubgraph,
} from '@graphql-mesh/compose-cli';
import { GraphQLList, GraphQLNonNull, Kind, parseType, specifiedScalarTypes } from 'graphql';
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

/** A type written in SDL ("ID!", "[String]") as an instance: the transform finds only types its subgraph already has. */
function builtinType(sdl) {
  const build = (node) => {
    if (node.kind === Kind.NON_NULL_TYPE) return new GraphQLNonNull(build(node.type));
    if (node.kind === Kind.LIST_TYPE) return new GraphQLList(build(node.type));
    const scalar = specifiedScalarTypes.find((t) => t.name === node.name.value);
    if (!scalar) throw new Error(`typeReplace: ${sdl} is not a built-in scalar type`);
    return scalar;
  };
  return build(parseType(sdl));
}

function transforms(subgraph) {
  const list = [];
  if (subgraph.typeReplace) {
    const replace = new Map(Object.entries(subgraph.typeReplace).map(([coordinate, sdl]) => [coordinate, builtinType(sdl)]));
    list.push(createTypeReplaceTransform((typeName, fieldName) => replace.get(`${typeName}.${fieldName}`)));
  }
  if (subgraph.federationTransform) list.push(createFederationTransform(subgraph.federationTransform));
  return list;
}

/** The runtime's options for the planner asked for: the JavaScript one by default. */
async function plannerOptions(planner) {
  if (planner === undefined || planner === 'js') return {};
  if (planner !== 'rust') throw new Error(`planner: expected "js" or "rust", got ${JSON.stringify(planner)}`);
  const { unifiedGraphHandler } = await import('@graphql-hive/router-runtime');
  return { unifiedGraphHandler };
}

await runPeer(async ({ port, subgraphs, additionalTypeDefs, ignoreSemanticConventions, printSupergraph, planner }) => {
  const composeStart = performance.now();
  const supergraph = await getComposedSchemaFromConfig(
    {
      subgraphs: await Promise.all(subgraphs.map(async (s) => ({ sourceHandler: await sourceHandler(s), transforms: transforms(s) }))),
      additionalTypeDefs,
      ignoreSemanticConventions,
    },
    quietLogger,
  );
  if (printSupergraph) console.error(supergraph);
  const composeMs = performance.now() - composeStart;
  const buildStart = performance.now();
  const gateway = createGatewayRuntime({ supergraph, logging: false, ...(await plannerOptions(planner)) });
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
