/**
 * Redis for the rate-limit and cache tests: the shared server (REDIS_URL,
 * default redis://127.0.0.1:6379) with a key prefix of its own per test, and
 * private redis-server processes on a free port for tests that stop Redis
 * mid-test (the shared one is never stopped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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

/**
 * A TCP proxy on 127.0.0.1:0 in front of a Redis, which a test can stall to
 * make that Redis look slow to one gateway only (the other replicas talk to
 * Redis directly). Armed with `stallOn(pattern)`, a connection holds back the
 * first chunk from the client that contains `pattern` and everything after it,
 * in order, until `release()`: the commands then reach Redis, late, and the
 * replies stay in step with the client's queue (nothing is dropped, so the
 * client's reply matching is never confused). `seen` counts the held chunks
 * that contain the pattern (a timed-out command's retry is the second).
 */
export interface StallingProxy {
  url: string;
  stallOn(pattern: string): void;
  /** Resolves once `count` held chunks contain the pattern (bounded: rejects after `waitMs`). */
  seen(count: number, waitMs?: number): Promise<void>;
  release(): void;
}

export async function stallingProxy(t: TestContext, target: string): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  let pattern: string | undefined;
  let held: Array<{ chunk: Buffer; to: Socket }> = [];
  let matches = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      const matched = pattern !== undefined && chunk.includes(pattern);
      if (matched) matches++;
      if (held.length > 0 || matched) held.push({ chunk, to: upstream });
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stallOn(text) {
      pattern = text;
      matches = 0;
    },
    async seen(count, waitMs = 30_000) {
      const until = Date.now() + waitMs;
      while (matches < count) {
        if (Date.now() > until) throw new Error(`the proxy saw ${matches} stalled command(s), expected ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    release() {
      pattern = undefined;
      const queue = held;
      held = [];
      for (const { chunk, to } of queue) to.write(chunk);
    },
  };
}
