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
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
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
        });
      },
    );
    instance.on('reqMismatch', (body) => {
      firstMismatch ??= String(body).slice(0, 600);
    });
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}
