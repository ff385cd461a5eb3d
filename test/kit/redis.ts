/**
 * Redis for the rate-limit and cache tests: the shared server (REDIS_URL,
 * default redis://127.0.0.1:6379) with a key prefix of its own per test, and
 * private redis-server processes on a free port for tests that stop Redis
 * mid-test (the shared one is never stopped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from './index.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Answers PING within a second, or not. */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Skips the test (with the reason) when Redis cannot be reached, except under
 * CI=true, where a missing Redis is a failure.
 */
export async function needRedis(t: TestContext, url = REDIS_URL): Promise<boolean> {
  if (await redisReachable(url)) return true;
  if (process.env.CI === 'true') throw new Error(`Redis is not reachable at ${url} (required under CI=true)`);
  t.skip(`Redis is not reachable at ${url}`);
  return false;
}

/** A key prefix no other test run uses; its keys are deleted after the test. */
export function uniquePrefix(t: TestContext, url = REDIS_URL): string {
  const prefix = `tessera-test:${randomUUID()}:`;
  t.after(async () => {
    const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    } catch {
      // Redis gone: nothing to clean.
    } finally {
      client.disconnect();
    }
  });
  return prefix;
}

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL: Redis disappears as in a crash. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
  /** Blocks the server for `seconds` (DEBUG SLEEP), as a Redis that has become slow; resolves once it is blocked. */
  sleep(seconds: number): Promise<void>;
}

/** A private redis-server on a free port, killed after the test. */
export async function startOwnRedis(t: TestContext): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child = server;
    // redis-server says so on stdout once it accepts connections; an exit first (the port taken, say) is a failure.
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        if (!log.includes('Ready to accept connections')) return;
        server.stdout.off('data', onData);
        server.stdout.resume();
        resolve();
      };
      server.stdout.on('data', onData);
      server.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it accepted connections on port ${port}:\n${log}`)));
    });
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  t.after(stop);
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    stop,
    start,
    async sleep(seconds) {
      const client = new Redis(url, { maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      await client.ping();
      void client
        .call('DEBUG', 'SLEEP', String(seconds))
        .catch(() => undefined)
        .finally(() => client.disconnect());
      // Blocked once a PING from elsewhere goes unanswered for a moment.
      const probe = new Redis(url, { maxRetriesPerRequest: 0, commandTimeout: 100 });
      probe.on('error', () => undefined);
      await probe.ping().catch(() => undefined);
      for (let i = 0; i < 50; i++) {
        const answered = await probe.ping().then(() => true, () => false);
        if (!answered) break;
      }
      probe.disconnect();
    },
  };
}

/** Retries `attempt` until it returns true (bounded), for waiting on a reconnect without asserting a time. */
export async function eventually(attempt: () => Promise<boolean>, tries = 200, pauseMs = 25): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await attempt()) return true;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return false;
}
