/**
 * The test kit: start small upstreams and a gateway in a few lines, count the
 * calls each upstream received, and send GraphQL requests. Every server binds
 * 127.0.0.1 on port 0 and is closed by the test's cleanup.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { TestContext } from 'node:test';
import type { GraphQLSchema } from 'graphql';
import { createSchema, createYoga, type YogaServerOptions } from 'graphql-yoga';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/index.js';
import { serve, type DemoService } from '../../subgraphs/lib/serve.js';
import { demoEnv, startDemoServices, type StartedDemo } from '../../subgraphs/demo.js';
import type { DescriptorInput } from '../../src/config/descriptor.js';
import type { GatewayFileInput } from '../../src/config/gateway.js';
import { GrpcUpstream, type GrpcUpstreamOptions } from '../../src/transport/grpc.js';

export type { DemoService };

/**
 * Runs `close` when the test ends: as an after hook, and again (once only) when
 * the test's signal aborts. node:test runs a test's after hooks in the order
 * they were added and skips the rest once one throws; the signal aborts after
 * the hooks, failed or not. A server or a browser left open would keep the test
 * file's process alive until CI's time runs out.
 */
export function atTestEnd(t: TestContext | undefined, close: () => unknown): void {
  if (!t) return;
  let closing: Promise<unknown> | undefined;
  const run = (): Promise<unknown> => (closing ??= Promise.resolve().then(close));
  t.after(run);
  t.signal.addEventListener('abort', () => void run().catch(() => undefined), { once: true });
}

/** A GraphQL upstream from SDL and resolvers (or a built schema, e.g. an @apollo/subgraph one), served by Yoga on 127.0.0.1:0. */
export async function startGraphqlUpstream(
  t: TestContext | undefined,
  typeDefs: string | GraphQLSchema,
  resolvers: Record<string, unknown> = {},
  extra: Partial<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>> = {},
): Promise<DemoService> {
  const yoga = createYoga({
    schema: typeof typeDefs === 'string' ? createSchema({ typeDefs, resolvers: resolvers as never }) : typeDefs,
    logging: false,
    graphiql: false,
    maskedErrors: false,
    ...extra,
  });
  const service = await serve(0, yoga, '/graphql');
  atTestEnd(t, () => service.close());
  return service;
}

export interface GraphqlResponse {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }> };
  text: string;
}

/** POSTs a GraphQL request and parses the answer. */
export async function gql(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphqlResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GraphqlResponse['body'] = {};
  try {
    body = JSON.parse(text) as GraphqlResponse['body'];
  } catch {
    // a non-JSON answer: callers look at `text`
  }
  return { status: res.status, headers: res.headers, body, text };
}

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  port: number;
  /** Base URL of the admin listener, when the gateway config has `admin:`. */
  adminUrl?: string;
  query(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphqlResponse>;
}

/** Starts a gateway on 127.0.0.1:0 with inline descriptors (and optional gateway config); closed after the test. */
export async function startGateway(
  t: TestContext | undefined,
  descriptors: Array<DescriptorInput & { dir?: string }>,
  gateway: GatewayFileInput = {},
  options: Partial<GatewayOptions> = {},
): Promise<RunningGateway> {
  const gw = await createGateway({
    gateway: { logging: { level: 'silent' }, ...gateway },
    descriptors,
    ...options,
  });
  const { url, port, admin } = await gw.listen(0, '127.0.0.1');
  atTestEnd(t, () => gw.close());
  return { gateway: gw, url, port, adminUrl: admin?.url, query: (q, v, h) => gql(url, q, v, h) };
}

export interface RunningDemo extends RunningGateway {
  demo: StartedDemo;
  /** Requests each demo service received since the last reset. */
  calls(): Record<string, number>;
  resetCalls(): void;
}

/** The demo of subgraphs/ (every service, the repository's gateway.yaml), on free ports. */
export async function startDemo(t: TestContext | undefined, gatewayOverrides: Record<string, string> = {}): Promise<RunningDemo> {
  const ports = Object.fromEntries(['accounts', 'reviews', 'catalog', 'inventory'].map((n) => [n, 0]));
  const demo = await startDemoServices(ports);
  atTestEnd(t, () => demo.close());
  const gw = await createGateway({
    configFile: new URL('../../gateway.yaml', import.meta.url).pathname,
    env: { ...demoEnv(demo), LOG_LEVEL: 'silent', ...gatewayOverrides },
  });
  const { url, port } = await gw.listen(0, '127.0.0.1');
  atTestEnd(t, () => gw.close());
  const calls = (): Record<string, number> => Object.fromEntries([...demo.services].map(([name, s]) => [name, s.stats.requests]));
  const resetCalls = (): void => {
    for (const s of demo.services.values()) s.stats.requests = 0;
  };
  return { gateway: gw, url, port, demo, calls, resetCalls, query: (q, v, h) => gql(url, q, v, h) };
}

export interface SseSubscription {
  status: number;
  headers: Headers;
  /** The next `next` payload, or undefined once the server sent `complete` or ended the stream. */
  next(): Promise<GraphqlResponse['body'] | undefined>;
  /** Closes the connection: the client goes away. */
  close(): void;
}

/** Subscribes over SSE (GraphQL over SSE, distinct connections mode); closed after the test if still open. */
export async function sse(t: TestContext, url: string, query: string, headers: Record<string, string> = {}): Promise<SseSubscription> {
  const controller = new AbortController();
  t.after(() => controller.abort());
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let ended = false;
  const next = async (): Promise<GraphqlResponse['body'] | undefined> => {
    while (!ended) {
      const end = buffer.indexOf('\n\n');
      if (end === -1) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) ended = true;
        else buffer += chunk.value;
        continue;
      }
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^event: complete$/m.test(block)) ended = true;
      const data = /^event: next$/m.test(block) ? /^data: (.*)$/m.exec(block)?.[1] : undefined;
      if (data) return JSON.parse(data) as GraphqlResponse['body'];
    }
    return undefined;
  };
  return { status: res.status, headers: res.headers, next, close: () => controller.abort() };
}

/** A promise with its resolve function, for tests that wait on an event instead of sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Writes files (paths relative to a fresh temporary folder, subfolders created); removed after the test. */
export function tempProject(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

const repositoryRoot = new URL('../..', import.meta.url).pathname;

/** Runs the `tessera` command (from the sources) as a process; resolves with its exit code and output. */
/** What a finished process printed, and its exit code. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output (never throws on an exit code). */
export function runProcess(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the `tessera` CLI from the sources to its end. */
export function runTessera(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return runProcess(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'src/cli/bin.ts'), ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
}

/** A port nothing listens on (for now): taken from a server on 127.0.0.1 that is then closed. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A pino logger whose lines are kept, parsed, for a test to read (what the person on call would see). */
export function captureLogs(level: pino.Level = 'info'): { lines: Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level }, sink) };
}

/** An upstream running as a process of its own (a test fixture script), on a fixed port so it can come back on it. */
export interface UpstreamProcess {
  url: string;
  port: number;
  /** Ends it with SIGKILL (no clean close: open connections are reset), and waits for its exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it prints `listening`. */
  start(): Promise<void>;
}

/**
 * Runs `script` (under test/fixtures, through tsx) with the port and `args`; it must print `listening`
 * once it listens. Killed after the test if still running (without a test: by `kill()`).
 */
export async function startUpstreamProcess(t: TestContext | undefined, script: string, args: string[] = [], path = ''): Promise<UpstreamProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'test/fixtures', script), String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let output = '';
      started.stdout!.on('data', (c: Buffer) => {
        output += c.toString();
        if (output.includes('listening')) resolve();
      });
      started.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      started.once('exit', (code) => reject(new Error(`${script} exited ${code} before listening: ${output}`)));
    });
  const kill = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  atTestEnd(t, kill);
  await start();
  return { url: `http://127.0.0.1:${port}${path}`, port, kill, start };
}

export interface ServedTessera {
  child: ChildProcess;
  /** The URL `tessera serve` prints once it serves (every worker listening); rejects if it exits first. */
  url: Promise<string>;
  exited: Promise<number | null>;
  /** What it printed so far, stdout and stderr. */
  output(): string;
}

/** Starts `tessera serve` (from the sources) as a process, node started with `nodeFlags`; killed after the test if still running. */
export function serveTessera(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: readonly string[] = []): ServedTessera {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(repositoryRoot, 'src/cli/bin.ts'), 'serve', ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  atTestEnd(t, () => {
    // Cluster workers exit by themselves when their primary's channel closes.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
      const match = /serving (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
  });
  url.catch(() => undefined); // awaited by the test; an exit after the test is not an error
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, exited, output: () => output };
}

/**
 * One HTTP request on a connection of its own (no agent, `Connection: close`): with `tessera serve
 * --workers N` each such request is handed to the next worker, so a few of them reach every worker.
 * GET without a body, else a JSON POST.
 */
export function requestOnce(url: string, body?: unknown): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', connection: 'close' };
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A `Subscription.ticks` resolver for a test upstream: 0, 1, 2 … every `intervalMs`, until the subscriber stops. */
export function endlessTicks(intervalMs: number): { subscribe: () => AsyncGenerator<{ ticks: number }> } {
  return {
    subscribe: async function* () {
      for (let i = 0; ; i++) {
        yield { ticks: i };
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    },
  };
}

/**
 * A gRPC upstream built in code, for tests of the transport alone: the
 * options such tests leave as they are (no stream timeout, 1 MB messages,
 * keepalive, one attempt), `options` for the rest; closed when the test ends.
 */
export function grpcUpstream(t: TestContext, options: Pick<GrpcUpstreamOptions, 'subgraph' | 'instances'> & Partial<GrpcUpstreamOptions>): GrpcUpstream {
  const upstream = new GrpcUpstream({
    timeout: 2000,
    streamTimeout: 0,
    maxReceiveMessageSize: 1 << 20,
    maxSendMessageSize: 1 << 20,
    keepalive: { time: 60_000, timeout: 5_000 },
    retry: { attempts: 1, backoff: 10 },
    ...options,
  });
  t.after(() => upstream.close());
  return upstream;
}

/** Everything published on a diagnostics channel for one subgraph, in order, kept and added to a shared timeline; unsubscribed when the test ends. */
export function recordEvents<E extends { subgraph: string }>(t: TestContext, ch: { subscribe(f: (m: unknown) => void): void; unsubscribe(f: (m: unknown) => void): void }, subgraph: string, timeline: string[], label: (e: E) => string): E[] {
  const seen: E[] = [];
  const on = (message: unknown): void => {
    const event = message as E;
    if (event.subgraph !== subgraph) return;
    seen.push(event);
    timeline.push(label(event));
  };
  ch.subscribe(on);
  t.after(() => ch.unsubscribe(on));
  return seen;
}

/**
 * A supergraph file as another tool would make it (composed from the subgraphs' SDL, their URLs in @join__graph),
 * served by a gateway whose gateway.yaml says `supergraph: ./supergraph.graphql` plus `settings` (YAML lines);
 * closed when the test ends.
 */
export async function serveSupergraph(
  t: TestContext,
  subgraphs: ReadonlyArray<{ name: string; url: string; sdl: string }>,
  settings = '',
): Promise<{ gateway: Gateway; url: string }> {
  const composed = composeServices(subgraphs.map(({ name, sdl, url }) => ({ name, typeDefs: parse(sdl), url })));
  assert.equal(composed.errors, undefined);
  const dir = tempProject(t, {
    'gateway.yaml': `supergraph: ./supergraph.graphql\nlogging: { level: silent }\n${settings}`,
    'supergraph.graphql': composed.supergraphSdl!,
  });
  const gateway = await createGateway({ configFile: join(dir, 'gateway.yaml') });
  atTestEnd(t, () => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');
  return { gateway, url };
}
