/**
 * What one request allocates in the gateway, a figure the machine's load does
 * not move (unlike CPU time on a shared 2-core machine): the gateway runs in
 * THIS process; the upstream (the bench's proxy subgraph or the REST orders
 * service) and the load generator in a child process. After a warm-up, V8's
 * sampling heap profiler records every allocation site, objects already
 * collected included, while the requests run; printed: bytes allocated per
 * request (the profile's estimate), scavenges per 1,000 requests, and the
 * sites that allocate most, by function.
 *
 *   NODE_ENV=production npx tsx bench/alloc-cost.ts [--scenario proxy|openapi|federation] [--requests 5000] [--concurrency 32] [--top 30] [--gc-only] [--dist]
 *
 * `--dist` runs the gateway as compiled by `npm run build`, so the sites carry their own line numbers.
 *
 * A benchmark, not a test: nothing is asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sendLoad, type LoadOrder } from './lib/load-orders.js';


type FromChild = { ready: { proxy: string; orders: string; federation: Record<string, string> } } | { done: { errors: number } };

async function childMain(): Promise<void> {
  const { serveRoutes, graphqlHandler } = await import('./services/lib/graphql-server.js');
  const { proxySchemas } = await import('./services/proxy.js');
  const { startOrders } = await import('./services/orders.js');
  const proxy = await serveRoutes({ port: 0, routes: { '/graphql': graphqlHandler(proxySchemas().plain) } });
  const orders = await startOrders(0);
  const { SUBGRAPHS, subgraphSchema } = await import('./services/federation/subgraphs.js');
  const federation: Record<string, string> = {};
  for (const [name, definition] of Object.entries(SUBGRAPHS)) {
    const served = await serveRoutes({ port: 0, routes: { '/federation': graphqlHandler(subgraphSchema(definition())) } });
    federation[name] = served.url('/federation');
  }
  process.on('message', (order: LoadOrder) => {
    void sendLoad(order).then((errors) => process.send!({ done: { errors } } satisfies FromChild));
  });
  process.send!({ ready: { proxy: proxy.url('/graphql'), orders: `http://127.0.0.1:${orders.port}`, federation } } satisfies FromChild);
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

function where(frame: SamplingNode['callFrame']): string {
  const url = frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/').replace(/^file:\/\//, '');
  return `${frame.functionName || '(anonymous)'} ${url || '(native)'}${url ? `:${frame.lineNumber + 1}` : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'proxy' },
      requests: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '32' },
      top: { type: 'string', default: '30' },
      /** Collections only, without the heap profiler (which slows every collection down). */
      'gc-only': { type: 'boolean', default: false },
      /** The gateway compiled by `npm run build` (dist/): allocation sites with their own line numbers (tsx's are all line 1). */
      dist: { type: 'boolean', default: false },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const next = (): Promise<FromChild> => new Promise((resolve) => child.once('message', (m) => resolve(m as FromChild)));
  try {
    const ready = await next();
    if (!('ready' in ready)) throw new Error('the load child did not start');
    const { createGateway } = (await import(values.dist ? '../dist/index.js' : '../src/index.js')) as typeof import('../src/index.js');
    const { PROXY_QUERY } = await import('./services/proxy.js');
    const { ORDERS_QUERY, ORDERS_SPEC } = await import('./services/orders.js');
    const { FEDERATION_QUERY } = await import('./services/federation/data.js');
    const scenarios = {
      federation: {
        descriptors: Object.entries(ready.ready.federation).map(([name, url]) => ({ name, kind: 'federation' as const, url })),
        body: JSON.stringify({ query: FEDERATION_QUERY, operationName: 'TestQuery' }),
      },
      proxy: { descriptors: [{ name: 'listing', kind: 'graphql' as const, url: ready.ready.proxy }], body: JSON.stringify({ query: PROXY_QUERY, operationName: 'Listing' }) },
      openapi: { descriptors: [{ name: 'orders', kind: 'openapi' as const, source: ORDERS_SPEC, url: ready.ready.orders }], body: JSON.stringify({ query: ORDERS_QUERY, operationName: 'Orders' }) },
    };
    const scenario = scenarios[values.scenario as keyof typeof scenarios];
    if (!scenario) throw new Error(`--scenario: one of ${Object.keys(scenarios).join(', ')}`);
    const gateway = await createGateway({
      // The federation query (nested lists without a size argument) is over the default cost limit; the bench measures it.
      gateway: { mode: 'production', logging: { level: 'silent' }, cache: { dedupe: false }, security: { limits: { cost: { mode: 'measure' } } } },
      descriptors: scenario.descriptors,
    });
    const { url } = await gateway.listen(0, '127.0.0.1');
    const run = async (count: number): Promise<number> => {
      const done = next();
      child.send({ url, body: scenario.body, requests: count, concurrency } satisfies LoadOrder);
      const answer = await done;
      if (!('done' in answer)) throw new Error('unexpected message');
      return answer.done.errors;
    };
    await run(Math.min(3000, requests)); // warm-up: JIT, pools, caches

    let scavenges = 0;
    let scavengeMs = 0;
    let majors = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
          scavenges++;
          scavengeMs += entry.duration;
        } else majors++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const session = new Session();
    session.connect();
    const sampling = !values['gc-only'];
    if (sampling) await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const cpu = process.cpuUsage();
    const faults = process.resourceUsage().minorPageFault;
    const errors = await run(requests);
    const used = process.cpuUsage(cpu);
    const faulted = process.resourceUsage().minorPageFault - faults;
    const { profile } = sampling
      ? ((await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SamplingNode } })
      : { profile: { head: { callFrame: { functionName: '', url: '', lineNumber: 0 }, selfSize: 0, children: [] } } };
    session.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();

    const bySite = new Map<string, number>();
    let total = 0;
    const walk = (node: SamplingNode): void => {
      if (node.selfSize > 0) {
        const key = where(node.callFrame);
        bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      node.children.forEach(walk);
    };
    walk(profile.head);
    if (process.env.ALLOC_STACKS) {
      const pattern = new RegExp(process.env.ALLOC_STACKS);
      const stacks = new Map<string, number>();
      const down = (node: SamplingNode, path: string[]): void => {
        const here = [...path, where(node.callFrame)];
        if (node.selfSize > 0 && pattern.test(here[here.length - 1]!)) {
          const key = here.slice(-6).join(' <- ');
          stacks.set(key, (stacks.get(key) ?? 0) + node.selfSize);
        }
        node.children.forEach((c) => down(c, here));
      };
      down(profile.head, []);
      for (const [k, b] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log((b / requests / 1024).toFixed(2), k.split(' <- ').reverse().join('\n      <- '));
    }
    console.log(`${values.scenario}: ${requests} requests at ${concurrency} concurrent (${errors} failed), node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? ''}`);
    if (sampling) console.log(`allocated: ${(total / requests / 1024).toFixed(1)} KiB per request (sampled estimate)`);
    else console.log(`CPU: ${((used.user + used.system) / 1000 / requests).toFixed(3)} ms per request (this process; moves with the machine's load)`);
    // Pages the process touches for the first time, or again after handing them back (glibc's trim, V8 shrinking its heap): each a trap into the kernel.
    console.log(`minor page faults: ${(faulted / requests).toFixed(1)} per request`);
    console.log(`scavenges: ${((scavenges / requests) * 1000).toFixed(1)} per 1,000 requests, ${((scavengeMs / requests) * 1000).toFixed(3)} µs per request; full collections: ${majors}`);
    console.log(`\n| KiB/request | share | allocated in |\n|---:|---:|---|`);
    for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
      console.log(`| ${(bytes / requests / 1024).toFixed(2)} | ${((bytes / total) * 100).toFixed(1)}% | \`${site}\` |`);
    }
    await gateway.close();
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--child')) await childMain();
else await main();
