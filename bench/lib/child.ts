/**
 * Entry point of every process the benchmark starts from TypeScript (the
 * upstream services, the raw proxy, Tessera): `node --import tsx
 * bench/lib/child.ts <role> <json options>`. The process tells its parent it
 * is ready over the IPC channel (`{ type: 'ready', port, info }`), stops on
 * SIGTERM/SIGINT (exiting normally, so `--cpu-prof` writes its profile), and
 * exits by itself when the parent goes away (IPC disconnect), so nothing is
 * left running.
 */
export type ChildRole =
  | { role: 'graphql-service'; port: number; service: 'proxy' | 'accounts' | 'inventory' | 'products' | 'reviews' | 'monolith' }
  | { role: 'raw-proxy'; port: number; upstream: string }
  | { role: 'orders-service'; port: number }
  | { role: 'shop-services'; port: number }
  | { role: 'shop-direct'; port: number; demo: import('../services/shop.js').DemoPorts }
  | ({ role: 'tessera' } & import('../services/tessera.js').TesseraTargetOptions)
  | { role: 'schema-build'; port: number; which: 'demo' | 'github' };

interface Started {
  port: number;
  info?: unknown;
  close(): Promise<void>;
}

async function start(spec: ChildRole): Promise<Started> {
  switch (spec.role) {
    case 'graphql-service': {
      const { serveRoutes, graphqlHandler } = await import('../services/lib/graphql-server.js');
      if (spec.service === 'proxy') {
        const { proxySchemas } = await import('../services/proxy.js');
        const { plain, federation } = proxySchemas();
        return serveRoutes({ port: spec.port, routes: { '/graphql': graphqlHandler(plain), '/federation': graphqlHandler(federation) } });
      }
      const { SUBGRAPHS, monolith, subgraphSchema } = await import('../services/federation/subgraphs.js');
      if (spec.service === 'monolith') return serveRoutes({ port: spec.port, routes: { '/graphql': graphqlHandler(monolith()) } });
      // One face: the federation subgraph, which Tessera and the peers all compose.
      return serveRoutes({ port: spec.port, routes: { '/federation': graphqlHandler(subgraphSchema(SUBGRAPHS[spec.service]())) } });
    }
    case 'shop-services': {
      const { startShopServices } = await import('../services/shop.js');
      return startShopServices(spec.port);
    }
    case 'shop-direct': {
      const { serveRoutes, graphqlHandler } = await import('../services/lib/graphql-server.js');
      const { shopMonolith } = await import('../services/shop.js');
      return serveRoutes({ port: spec.port, routes: { '/graphql': graphqlHandler(await shopMonolith(spec.demo)) } });
    }
    case 'orders-service': {
      const { startOrders } = await import('../services/orders.js');
      return startOrders(spec.port);
    }
    case 'raw-proxy': {
      const { startRawProxy } = await import('../services/raw-proxy.js');
      return startRawProxy(spec.port, spec.upstream);
    }
    case 'tessera': {
      // As `tessera serve` runs (src/cli/bin.ts): NODE_ENV is set by the parent, the heap's growth here.
      const { tuneHeap } = await import('../../src/cli/runtime.js');
      tuneHeap();
      const { startTessera } = await import('../services/tessera.js');
      return startTessera(spec);
    }
    case 'schema-build': {
      const { measureDemoBuild, measureGithubBuild } = await import('../services/schema-build.js');
      return { port: 0, info: spec.which === 'demo' ? await measureDemoBuild() : await measureGithubBuild(), close: async () => undefined };
    }
  }
}

async function main(): Promise<void> {
  const [role, json] = process.argv.slice(2);
  if (!role || !json || !process.send) throw new Error('usage (from bench/run.ts only): child.ts <role> <json options>');
  const spec = { role, ...JSON.parse(json) } as ChildRole;
  const started = await start(spec);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 5_000);
    force.unref();
    started.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  process.send({ type: 'ready', port: started.port, info: started.info });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
