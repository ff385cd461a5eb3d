/**
 * Load from autocannon (installed with the peers in bench/peers). Latencies
 * are recorded from each response's own timing (float milliseconds), because
 * autocannon's histogram keeps whole milliseconds and most answers here take
 * less than one. Every response's body is compared with the expected one
 * (`expectBody`): a mismatch counts as an error, not as throughput.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PEERS_DIR } from './proc.js';

interface AutocannonResult {
  requests: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  non2xx: number;
}

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
  on(event: 'reqMismatch', listener: (body: string) => void): void;
  stop(): void;
}

type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

let loaded: Autocannon | undefined;

function autocannon(): Autocannon {
  loaded ??= createRequire(join(PEERS_DIR, 'package.json'))('autocannon') as Autocannon;
  return loaded;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  connections: number;
  durationSec: number;
  /** The body every response must have, byte for byte. */
  expectBody?: string;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  /** Socket errors, timeouts, non-2xx answers and body mismatches. */
  errors: number;
  /** The same, one by one: what went wrong. */
  errorKinds: { socket: number; timeouts: number; non2xx: number; mismatches: number };
  /** The start of the first body unlike the expected one, if any (to see what went wrong). */
  firstMismatch?: string;
  mismatches: number;
  durationSec: number;
  /** The same answers cut into the whole seconds of the load they ended in (`bySecond`); undefined for a load too short or too slow to have two such seconds. */
  seconds?: SecondSpread;
}

/**
 * A load's latency second by second: the spread inside a second (p99 ÷ p50
 * among the answers that ended in it: pauses and unfair turns, which every
 * request of that second shares the chance of) apart from the drift between
 * seconds (one second's p50 against another's: the host's speed, the
 * upstreams, a warm-up). A run's p99 ÷ p50 is both at once.
 */
export interface SecondSpread {
  /** Seconds with at least MIN_PER_SECOND answers, the only ones counted. */
  seconds: number;
  /** Median over those seconds of p99 ÷ p50 within the second. */
  withinP99OverP50: number;
  /** The slowest second's p50 ÷ the fastest second's. */
  p50SlowestOverFastest: number;
}

/** Fewer answers than this in a second make its p99 a guess: the second is left out. */
const MIN_PER_SECOND = 100;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median of the finite values; NaN when there are none. */
export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `latencies[i]` ended at `endedAt[i]` (ms, any clock); the load's whole seconds from the first answer. */
export function bySecond(latencies: ArrayLike<number>, endedAt: ArrayLike<number>): SecondSpread | undefined {
  if (latencies.length === 0) return undefined;
  const start = endedAt[0]!;
  const buckets: number[][] = [];
  for (let i = 0; i < latencies.length; i++) (buckets[Math.floor((endedAt[i]! - start) / 1000)] ??= []).push(latencies[i]!);
  // The last second is cut short by the load's end.
  buckets.pop();
  const full = buckets.filter((b) => b && b.length >= MIN_PER_SECOND).map((b) => Float64Array.from(b).sort());
  if (full.length < 2) return undefined;
  const p50s = full.map((b) => percentile(b, 50));
  return {
    seconds: full.length,
    withinP99OverP50: median(full.map((b) => percentile(b, 99) / percentile(b, 50))),
    p50SlowestOverFastest: Math.max(...p50s) / Math.min(...p50s),
  };
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const endedAt: number[] = [];
  let firstMismatch: string | undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon()(
      {
        url: options.url,
        method: options.method ?? 'POST',
        headers: options.body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
        body: options.body,
        connections: options.connections,
        pipelining: 1,
        duration: options.durationSec,
        timeout: 10,
        expectBody: options.expectBody,
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = Float64Array.from(latencies).sort();
        const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
        resolve({
          requests: result.requests.total,
          rps: result.requests.total / result.duration,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          mean,
          errors: result.errors + result.non2xx + result.mismatches,
          errorKinds: { socket: result.errors - result.timeouts, timeouts: result.timeouts, non2xx: result.non2xx, mismatches: result.mismatches },
          mismatches: result.mismatches,
          firstMismatch,
          durationSec: result.duration,
          seconds: bySecond(latencies, endedAt),
        });
      },
    );
    instance.on('reqMismatch', (body) => {
      firstMismatch ??= String(body).slice(0, 600);
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        latencies.push(responseTime);
        endedAt.push(performance.now());
      }
    });
  });
}
