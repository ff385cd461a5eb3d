// Apollo Gateway as a benchmark target: @apollo/gateway composing the
// subgraphs at start (IntrospectAndCompose, reading `_service`), served by
// @apollo/server's standalone node:http server, one process.
//   node bench/peers/apollo.mjs '{"port":0,"subgraphs":[{"name":"a","url":"http://..."}]}'
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { memoryInfo, runPeer } from './common.mjs';

await runPeer(async ({ port, subgraphs }) => {
  const buildStart = performance.now();
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs: subgraphs.map((s) => ({ name: s.name, url: s.url })) }),
    logger: { debug() {}, info() {}, warn() {}, error: (...a) => console.error(...a) },
  });
  const server = new ApolloServer({ gateway, introspection: false, logger: { debug() {}, info() {}, warn() {}, error: (...a) => console.error(...a) } });
  const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
  const buildMs = performance.now() - buildStart;
  return {
    port: Number(new URL(url).port),
    info: { buildMs, ...memoryInfo() },
    close: () => server.stop(),
  };
});
