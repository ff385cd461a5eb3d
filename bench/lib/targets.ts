/**
 * The targets of issues #21 (performance toward the limit) and #18
 * (federation), checked against one run's medians at 50 connections, and
 * telemetry's cost (#16) when its targets ran. Each is judged on Tessera as
 * one process with dedupe off (`tessera-nodedupe`: every request does the
 * whole work, the like-for-like reading) and shown as shipped (dedupe on)
 * beside it; the memory target on the same target with metrics on
 * (`tessera-metrics`), since production runs with metrics off by default.
 */
import type { BenchResult, Summary } from './results.js';

export interface TargetCheck {
  target: string;
  /** Measured with dedupe off / as shipped. */
  measured: string;
  met: boolean | undefined;
}

const JUDGED = 'tessera-nodedupe';
const AS_SHIPPED = 'tessera';
const CONNECTIONS = 50;
/** The upstream calls one request of the shop scenario needs: catalog, inventory, reviews, accounts. */
const SHOP_HOPS = 4;

function find(result: BenchResult, scenario: string, target: string, connections = CONNECTIONS): Summary | undefined {
  return result.scenarios.find((s) => s.name === scenario)?.summary?.find((x) => x.target === target && x.connections === connections);
}

const x = (n: number): string => `${n.toFixed(2)}×`;
const ms = (n: number): string => `${n.toFixed(1)} ms`;

export function checkTargets(result: BenchResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const notMeasured = (target: string): void => void out.push({ target, measured: 'not measured', met: undefined });

  const ratio = (scenario: string, of: string, minimum: number, label: string): void => {
    const off = find(result, scenario, JUDGED);
    const on = find(result, scenario, AS_SHIPPED);
    const peer = find(result, scenario, of);
    if (!off || !peer) return notMeasured(label);
    // A peer that finished no request in the run (a --quick round shorter than its latency) gives no ratio to judge.
    if (!(peer.rps > 0)) return void out.push({ target: label, measured: `${peer.label} finished no request at ${CONNECTIONS} connections`, met: undefined });
    out.push({ target: label, measured: `${x(off.rps / peer.rps)} (as shipped: ${on ? x(on.rps / peer.rps) : '–'})`, met: off.rps / peer.rps >= minimum });
  };
  ratio('proxy', 'hive', 3, 'proxy: ≥ 3× Hive Gateway req/s (#21)');
  ratio('proxy', 'raw-proxy', 0.6, 'proxy: ≥ 0.6× the raw proxy req/s (#21)');
  ratio('openapi', 'hive', 10, 'openapi: ≥ 10× Hive Gateway req/s (#21)');
  ratio('federation', 'hive', 6, 'federation: ≥ 6× Hive Gateway req/s (#21)');
  ratio('federation', 'hive-rust', 2, 'federation: ≥ 2× Hive Gateway (Rust planner) req/s (#21)');
  ratio('federation', 'hive', 4, 'federation: ≥ 4× Hive Gateway req/s (#18)');
  ratio('federation', 'hive-rust', 1.5, 'federation: ≥ 1.5× Hive Gateway (Rust planner) req/s (#18)');
  ratio('shop', 'hive', 5, 'shop: ≥ 5× Hive Gateway req/s (#21)');

  // Counted on every connection count the run loaded at (a request's calls must not depend on concurrency).
  const shop = (result.scenarios.find((s) => s.name === 'shop')?.summary ?? []).filter((s) => s.target === JUDGED);
  const calls = shop.map((s) => s.upstreamPerRequest);
  const hopsLabel = `shop: upstream calls per request = hops (${SHOP_HOPS}) (#21)`;
  if (calls.length === 0) notMeasured(hopsLabel);
  else {
    out.push({
      target: hopsLabel,
      measured: `${calls.map((c) => (c === undefined ? '–' : c.toFixed(2))).join(' / ')} (${shop.map((s) => s.connections).join(' / ')} connections)`,
      met: calls.every((c) => c !== undefined && Math.abs(c - SHOP_HOPS) < 0.005),
    });
  }

  // Tail latency, per scenario: against its own median, and against every gateway compared with it (the peers;
  // the limits, a server or proxy doing less than a gateway, are not gateways to beat).
  for (const s of result.scenarios) {
    const off = find(result, s.name, JUDGED);
    if (!off) continue;
    const on = find(result, s.name, AS_SHIPPED);
    // The same ratio of the upstream called directly, no gateway in between: the tail that the load generator and
    // the upstreams' shared core add to every target's latency, the gateway's own or not.
    const direct = find(result, s.name, 'direct');
    out.push({
      target: `${s.name}: p99 ≤ 2× p50 (#21)`,
      measured: `${ms(off.p99)} / ${ms(off.p50)} = ${x(off.p99 / off.p50)} (as shipped: ${on ? x(on.p99 / on.p50) : '–'}; called directly, no gateway: ${direct ? x(direct.p99 / direct.p50) : '–'})`,
      met: off.p99 <= 2 * off.p50,
    });
    const peers = (s.summary ?? []).filter((p) => p.role === 'peer' && p.connections === CONNECTIONS && Number.isFinite(p.p99));
    if (peers.length === 0) continue;
    const best = peers.reduce((a, b) => (b.p99 < a.p99 ? b : a));
    out.push({
      target: `${s.name}: p99 lowest of all gateways (#21${s.name === 'federation' ? ', #18' : ''})`,
      measured: `${ms(off.p99)} (as shipped: ${on ? ms(on.p99) : '–'}) vs ${best.label} ${ms(best.p99)}, the lowest of the peers`,
      met: off.p99 <= best.p99,
    });
  }

  // --telemetry (and tessera-metrics, in every run): what observing costs, against the same gateway with it off
  // (tessera-nodedupe: production, both off). Judged on the gateway's CPU time per request (req/s on its one core is
  // the inverse of it while the gateway is the bottleneck, and it moves less when other processes share the
  // machine); the req/s ratio is shown beside it.
  for (const [target, most, what] of [
    ['tessera-metrics', 0.05, 'metrics on'],
    ['tessera-tracing', 0.15, 'metrics and tracing on (100% sampled, exported)'],
  ] as const) {
    for (const s of result.scenarios) {
      const off = find(result, s.name, JUDGED);
      const on = find(result, s.name, target);
      if (!off || !on) continue;
      const cost = 1 - off.cpuMsPerRequest / on.cpuMsPerRequest;
      const rpsCost = 1 - on.rps / off.rps;
      out.push({
        target: `${s.name}: ${what} costs ≤ ${most * 100}% of req/s (#16)`,
        measured: `${(cost * 100).toFixed(1)}% by CPU per request (${on.cpuMsPerRequest.toFixed(3)} vs ${off.cpuMsPerRequest.toFixed(3)} ms); ${(rpsCost * 100).toFixed(1)}% by req/s (${on.rps.toFixed(0)} vs ${off.rps.toFixed(0)})`,
        met: cost <= most,
      });
    }
  }

  // Memory: per process, in every scenario, at every connection count, with metrics on.
  const peak = (target: string): { rss: number; scenario: string } | undefined => {
    const all = result.scenarios.flatMap((s) => (s.summary ?? []).filter((r) => r.target === target).map((r) => ({ rss: r.peakRssMB, scenario: s.name })));
    return all.length ? all.reduce((a, b) => (b.rss > a.rss ? b : a)) : undefined;
  };
  const metricsOn = peak('tessera-metrics');
  const off = peak(JUDGED);
  const shipped = peak(AS_SHIPPED);
  const rssLabel = 'peak RSS under load ≤ 150 MB, metrics on, every scenario (#21)';
  if (!metricsOn && !off) notMeasured(rssLabel);
  else {
    const show = (p: { rss: number; scenario: string } | undefined): string => (p ? `${p.rss.toFixed(0)} MB (${p.scenario})` : '–');
    out.push({
      target: rssLabel,
      measured: `metrics on: max ${metricsOn ? show(metricsOn) : 'not run (no tessera-metrics target)'}; dedupe off, metrics off: ${show(off)}; as shipped: ${show(shipped)}`,
      met: metricsOn ? metricsOn.rss <= 150 : undefined,
    });
  }
  return out;
}
