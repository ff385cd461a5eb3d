/** What a scenario is: its services, the targets compared on it, and the fixed query they all answer. */
import { spawnTesseraCli } from '../cli-target.js';
import { spawnPeer, type Child } from '../proc.js';

export type TargetRole = 'tessera' | 'peer' | 'limit';

export interface Target {
  /** Short id: tessera, hive, apollo, direct, raw-proxy. */
  name: string;
  label: string;
  role: TargetRole;
  /** Starts the target's own process; absent for the direct call (the upstream itself, already running). */
  start?: (flags: { nodeFlags?: string[] }) => Promise<Child>;
  /** The process that does the target's work (for CPU and memory), set once started. */
  process?: Child;
  /** The GraphQL endpoint, once started. */
  url?: string;
  /** Path of the endpoint on the target's port. */
  path: string;
  /**
   * A target that is not called with the GraphQL request (the REST service
   * called directly): its own request, and how its answer reads as the
   * GraphQL response the gateways must give.
   */
  plain?: { method: 'GET'; asGraphql(text: string): string };
  /**
   * A native module (a file name fragment) the target's process must have
   * mapped once it has answered: proof that it runs the code it is named for
   * (the Rust planner's addon), checked from /proc/<pid>/maps.
   */
  mapsModule?: string;
}

export interface ScenarioSetup {
  targets: Target[];
  /** Upstream services whose request counters give upstream requests per client request. */
  upstreams: Child[];
  /** Every service process (watched for noise accounting). */
  services: Child[];
  close(): Promise<void>;
}

export interface Scenario {
  name: string;
  title: string;
  /** One line: what the query does. */
  description: string;
  query: string;
  operationName?: string;
  /** A reason when the scenario cannot run yet (its source kind is not built), else undefined. */
  unavailable(): Promise<string | undefined>;
  setup(): Promise<ScenarioSetup>;
}

/** Counts of requests served so far by an upstream (its GET /__stats). */
export async function requestsServed(service: Child): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${service.port}/__stats`);
  return ((await res.json()) as { requests: number }).requests;
}

export async function stopAll(children: Array<Child | undefined>): Promise<void> {
  await Promise.all(children.map((c) => c?.stop()));
}

/** Waits for a child and records it in `started`, so a scenario's close (or a failed setup) stops it. */
export function keeper(started: Child[]): (child: Promise<Child>) => Promise<Child> {
  return async (child) => {
    const c = await child;
    started.push(c);
    return c;
  };
}

/** How a scenario starts Tessera: in the benchmark's own child (`start`), and what it needs for `tessera serve`. */
export interface TesseraSpec {
  start: (gateway: Record<string, unknown>, nodeFlags: string[] | undefined, entry?: string) => Promise<Child>;
  /** The same gateway for `tessera serve --workers N`: gateway keys, inline descriptors, env. */
  cli?: { gateway: Record<string, unknown>; descriptors?: Array<Record<string, unknown>>; env?: Record<string, string> };
}

/**
 * Tessera as shipped (identical concurrent queries from the same caller share
 * one execution, `cache.dedupe`, on by default), and with that off, which
 * shows the work of each request when no two are alike (the judged figure,
 * lib/targets.ts), and that with metrics on; all in the table, the ratio
 * column uses the first. With `--workers N`: `tessera serve --workers N`
 * too (dedupe off, so it compares with the one-process dedupe-off target).
 * With `--tessera-b DIR` (A/B of two checkouts): DIR's Tessera, dedupe off.
 */
export function tesseraTargets(spec: TesseraSpec['start'] | TesseraSpec, keep?: (child: Promise<Child>) => Promise<Child>): Target[] {
  const { start, cli } = typeof spec === 'function' ? { start: spec, cli: undefined } : spec;
  const targets: Target[] = [
    { name: 'tessera', label: 'Tessera', role: 'tessera', path: '/graphql', start: ({ nodeFlags }) => start({}, nodeFlags) },
    {
      name: 'tessera-nodedupe',
      label: 'Tessera, dedupe off',
      role: 'tessera',
      path: '/graphql',
      start: ({ nodeFlags }) => start({ cache: { dedupe: false } }, nodeFlags),
    },
  ];
  const workers = Number(process.env.TESSERA_BENCH_WORKERS ?? 0);
  if (workers > 0 && cli && keep) {
    targets.push({
      name: `tessera-workers`,
      label: `Tessera, ${workers} workers, dedupe off`,
      role: 'tessera',
      path: '/graphql',
      start: () => keep(spawnTesseraCli('tessera serve --workers', { workers, path: '/graphql', gateway: { ...cli.gateway, cache: { dedupe: false } }, descriptors: cli.descriptors, env: cli.env })),
    });
  }
  // Metrics are off in production unless enabled, so the judged target runs without them; this one has them on:
  // its peak RSS is the memory target's figure (issue #21: with metrics on), and its CPU what metrics cost.
  const metrics = { metrics: { enabled: true } };
  targets.push({ name: 'tessera-metrics', label: 'Tessera, dedupe off, metrics on', role: 'tessera', path: '/graphql', start: ({ nodeFlags }) => start({ cache: { dedupe: false }, telemetry: metrics }, nodeFlags) });
  const otlp = process.env.TESSERA_BENCH_OTLP;
  if (otlp) {
    // --telemetry (bench/run.ts): what tracing costs, beside tessera-nodedupe which has it off.
    const tracing = { ...metrics, tracing: { enabled: true, sampling: 1, exporter: { endpoint: otlp } } };
    targets.push({ name: 'tessera-tracing', label: 'Tessera, dedupe off, metrics and tracing on', role: 'tessera', path: '/graphql', start: ({ nodeFlags }) => start({ cache: { dedupe: false }, telemetry: tracing }, nodeFlags) });
  }
  const b = process.env.TESSERA_BENCH_ENTRY_B;
  if (b) {
    targets.push({ name: 'tessera-b', label: 'Tessera B, dedupe off', role: 'tessera', path: '/graphql', start: ({ nodeFlags }) => start({ cache: { dedupe: false } }, nodeFlags, b) });
  }
  return targets;
}

/**
 * Hive Gateway on the scenario's subgraphs (`peers/hive.mjs` with `options`),
 * and with `rust`, the same gateway planning with Hive's Rust query planner
 * (`@graphql-hive/router-runtime`), for scenarios of Federation subgraphs only:
 * that planner plans from the supergraph's `@join__*` directives and has no
 * Mesh transforms (`@resolveTo` and the like). Started with `--peer-node-flags` when given (bench/run.ts).
 */
export function hiveTargets(options: Record<string, unknown>, keep: (child: Promise<Child>) => Promise<Child>, { rust = false } = {}): Target[] {
  const targets: Target[] = [{ name: 'hive', label: 'Hive Gateway', role: 'peer', path: '/graphql', start: ({ nodeFlags }) => keep(spawnPeer('hive', 'hive.mjs', { port: 0, ...options }, { nodeFlags })) }];
  if (rust) {
    targets.push({
      name: 'hive-rust',
      label: 'Hive Gateway (Rust planner)',
      role: 'peer',
      path: '/graphql',
      start: ({ nodeFlags }) => keep(spawnPeer('hive-rust', 'hive.mjs', { port: 0, ...options, planner: 'rust' }, { nodeFlags })),
      mapsModule: 'hive_router_query_planner',
    });
  }
  return targets;
}
