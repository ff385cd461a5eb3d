/**
 * What tracing costs the gateway's own CPU, steadier than `npm run bench`
 * on a shared machine: the gateway runs in THIS process, measured with
 * process.cpuUsage(); the upstreams (the bench's proxy GraphQL subgraph and
 * the REST orders service), the OTLP collector stub and the load generator
 * run in a child process, so none of their CPU is counted.
 *
 *   npx tsx bench/trace-cost.ts [--requests 3000] [--concurrency 16] [--rounds 5] [--scenarios proxy,openapi] [--modes off,metrics,tracing,unsampled]
 *   node --cpu-prof --cpu-prof-dir bench/results/profiles/trace-cost --import tsx bench/trace-cost.ts --modes tracing --scenarios proxy
 *
 * Three gateways per scenario, built side by side in this process and loaded
 * in turn (the order rotates each round): `off` (telemetry off), `metrics`
 * (telemetry.metrics on) and `tracing` (metrics and tracing on, every request
 * sampled and exported over OTLP/HTTP to the stub). Each round sends the
 * requests at the given concurrency and then 200 one at a time. Printed: the
 * median and the lowest CPU ms per request of each gateway over the rounds,
 * each against the first mode (`off`). A benchmark, not a test: nothing is
 * asserted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sendLoad, type LoadOrder } from './lib/load-orders.js';


type FromChild = { ready: { proxy: string; orders: string; otlp: string } } | { done: { errors: number; batches: number } };

const SEQUENTIAL = 200;

async function childMain(): Promise<void> {
  const { serveRoutes, graphqlHandler } = await import('./services/lib/graphql-server.js');
  const { proxySchemas } = await import('./services/proxy.js');
  const { startOrders } = await import('./services/orders.js');
  const { startCollectorStub } = await import('./lib/collector.js');
  const proxy = await serveRoutes({ port: 0, routes: { '/graphql': graphqlHandler(proxySchemas().plain) } });
  const orders = await startOrders(0);
  const collector = await startCollectorStub();
  process.on('message', (order: LoadOrder) => {
    void sendLoad(order, SEQUENTIAL).then((errors) => process.send!({ done: { errors, batches: collector.batches } } satisfies FromChild));
  });
  process.send!({ ready: { proxy: proxy.url('/graphql'), orders: `http://127.0.0.1:${orders.port}`, otlp: collector.url } } satisfies FromChild);
}

function next(child: ChildProcess): Promise<FromChild> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as FromChild)));
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '3000' },
      concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '5' },
      scenarios: { type: 'string', default: 'proxy,openapi' },
      /** A subset of off,metrics,tracing,unsampled (e.g. `tracing` alone under --cpu-prof). */
      modes: { type: 'string', default: 'off,metrics,tracing' },
    },
  });
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  try {
    const ready = await next(child);
    if (!('ready' in ready)) throw new Error('the load child did not start');
    const { proxy, orders, otlp } = ready.ready;
    const { createGateway } = await import('../src/index.js');
    const { PROXY_QUERY } = await import('./services/proxy.js');
    const { ORDERS_QUERY, ORDERS_SPEC } = await import('./services/orders.js');
    const scenarios = {
      proxy: { descriptor: { name: 'listing', kind: 'graphql' as const, url: proxy }, body: JSON.stringify({ query: PROXY_QUERY, operationName: 'Listing' }) },
      openapi: { descriptor: { name: 'orders', kind: 'openapi' as const, source: ORDERS_SPEC, url: orders }, body: JSON.stringify({ query: ORDERS_QUERY, operationName: 'Orders' }) },
    };
    const modes = {
      off: {},
      metrics: { metrics: { enabled: true } },
      tracing: { metrics: { enabled: true }, tracing: { enabled: true, sampling: 1, exporter: { endpoint: otlp } } },
      // Not in the default set: tracing on with nothing sampled (the hooks and the propagated context, no span recorded).
      unsampled: { metrics: { enabled: true }, tracing: { enabled: true, sampling: 0, exporter: { endpoint: otlp } } },
    };
    console.log(`node ${process.version}, ${requests} requests at ${concurrency} concurrent + ${SEQUENTIAL} sequential per round, ${rounds} rounds; CPU of the gateway process only`);
    for (const name of values.scenarios.split(',') as Array<keyof typeof scenarios>) {
      const scenario = scenarios[name];
      const gateways = [];
      for (const [mode, telemetry] of Object.entries(modes).filter(([mode]) => values.modes.split(',').includes(mode))) {
        const gateway = await createGateway({
          gateway: { mode: 'production', logging: { level: 'silent' }, cache: { dedupe: false }, telemetry },
          descriptors: [scenario.descriptor],
        });
        const { url } = await gateway.listen(0, '127.0.0.1');
        gateways.push({ mode, gateway, url, cpu: [] as number[] });
      }
      const run = async (url: string, count: number): Promise<{ errors: number; batches: number }> => {
        const done = next(child);
        child.send({ url, body: scenario.body, requests: count, concurrency } satisfies LoadOrder);
        const answer = await done;
        if (!('done' in answer)) throw new Error('unexpected message');
        return answer.done;
      };
      // Warm-up: JIT, pools, caches.
      for (const g of gateways) await run(g.url, Math.min(requests, 1000));
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 ? [...gateways].reverse() : gateways;
        const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
        for (const g of rotated) {
          const before = process.cpuUsage();
          const { errors } = await run(g.url, requests);
          const used = process.cpuUsage(before);
          if (errors) console.log(`  ${name} ${g.mode}: ${errors} failed requests`);
          g.cpu.push((used.user + used.system) / 1000 / (requests + SEQUENTIAL));
        }
      }
      // Other processes on the machine only ever add to a round's CPU (cache, frequency, interrupts): the lowest
      // round is the steadiest figure of what a request costs, the median the usual one; both are printed.
      const base = median(gateways[0]!.cpu);
      const baseMin = Math.min(...gateways[0]!.cpu);
      const pct = (value: number, of: number): string => `${value >= of ? '+' : ''}${((value / of - 1) * 100).toFixed(1)}%`;
      console.log(`\n${name}`);
      console.log(`| gateway | CPU ms/request, median | vs ${gateways[0]!.mode} | lowest | vs ${gateways[0]!.mode} | rounds |`);
      console.log('|---|---:|---:|---:|---:|---|');
      for (const g of gateways) {
        const m = median(g.cpu);
        const low = Math.min(...g.cpu);
        const first = g === gateways[0];
        console.log(`| ${g.mode} | ${m.toFixed(3)} | ${first ? '' : pct(m, base)} | ${low.toFixed(3)} | ${first ? '' : pct(low, baseMin)} | ${g.cpu.map((c) => c.toFixed(3)).join(' ')} |`);
      }
      for (const g of gateways) await g.gateway.close();
    }
  } finally {
    child.kill();
  }
}

if (process.argv.includes('--child')) await childMain();
else await main();
