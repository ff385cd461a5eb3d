/**
 * `tessera serve --workers 2` drains as one process does: from the moment
 * SIGTERM is handled, a new connection (a load balancer's readiness probe, a
 * new client) is refused at once, never accepted and left unanswered, while
 * the request already in flight runs to completion, with the shared stores
 * the cluster primary holds (it writes the response cache as it ends).
 *
 * The probes come many at a time, each on a connection of its own, from
 * before the signal until after the port has closed: a connection the cluster
 * primary accepts while its workers stop listening is where an unanswered
 * probe would show (cli/main.ts, servePrimary).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { serveTessera, startGraphqlUpstream, tempProject } from '../kit/index.js';

/** Far longer than an answer or a refusal takes on loopback, however loaded the machine: only a hang lasts this long. */
const HANG_MS = 1_000;

/** Probes kept in flight at once. */
const CONCURRENT_PROBES = 32;

/** An HTTP answer (status and body), a connection refused or closed without an answer, or nothing within HANG_MS. */
type Outcome = { status: number; body: string } | { refused: string } | 'no answer';

/** GET on a connection of its own, as a load balancer's probe is sent. */
function probe(port: number, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const settle = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle('no answer'), HANG_MS);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => settle({ refused: error.code ?? error.message }));
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1];
      settle(status ? { status: Number(status), body: text.slice(text.indexOf('\r\n\r\n') + 4) } : { refused: 'closed without an answer' });
    });
  });
}

const isRefusal = (outcome: Outcome): outcome is { refused: string } => typeof outcome === 'object' && 'refused' in outcome;

function tally(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const key = outcome === 'no answer' ? outcome : 'status' in outcome ? `${outcome.status} ${outcome.body}` : `refused (${outcome.refused})`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} × ${key}`).join(', ');
}

test('tessera serve --workers 2: from SIGTERM on, new connections (readiness probes included) are refused at once, never left hanging, and the request in flight finishes', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  const SDL = 'type Thing { id: ID! name: String } type Query { slow: Thing }';
  const up = await startGraphqlUpstream(t, SDL, {
    Query: {
      slow: async () => {
        arrived();
        await released;
        return { id: '1', name: 'done' };
      },
    },
  });
  // Deadlines far beyond the test's own waits: the request in flight must outlive the probing.
  const dir = tempProject(t, {
    'gateway.yaml': 'server: { host: 127.0.0.1, port: 0, requestDeadline: 60s, shutdownTimeout: 60s }\n',
    'subgraphs/subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: ${S_URL}\ntimeout: 60s\ncache: { Thing: 60s }\n',
    'subgraphs/s.graphql': SDL,
  });
  // Warnings shown: a worker that lost the primary's stores under its request in flight logs a store outage.
  const serve = serveTessera(t, ['-c', join(dir, 'gateway.yaml'), '--workers', '2'], { S_URL: up.url, LOG_LEVEL: 'warn' });
  const url = await serve.url;
  assert.match(serve.output(), /starting 2 workers[\s\S]*\(2 workers\)/);
  const port = Number(new URL(url).port);
  assert.deepEqual(await probe(port, '/readyz'), { status: 200, body: '{"status":"ready"}' });

  const inFlight = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ slow { id name } }' }) });
  await arrival;

  const outcomes: Outcome[] = [];
  let refusals = 0;
  let probing = true;
  let answered!: () => void;
  const answeredBefore = new Promise<void>((r) => (answered = r));
  let refusedPlenty!: () => void;
  const plentyRefused = new Promise<void>((r) => (refusedPlenty = r));
  const probes = Array.from({ length: CONCURRENT_PROBES }, async () => {
    while (probing) {
      const outcome = await probe(port, '/readyz');
      outcomes.push(outcome);
      if (isRefusal(outcome)) {
        if (++refusals === 20 * CONCURRENT_PROBES) refusedPlenty();
      } else if (outcome !== 'no answer' && outcome.status === 200) answered();
    }
  });
  // The signal comes while probes are being answered, and the probing goes on until the port has refused plenty.
  await answeredBefore;
  serve.child.kill('SIGTERM');
  // Until the port has refused plenty, or the process has exited (whatever the probes saw is judged below).
  await Promise.race([plentyRefused, serve.exited]);
  probing = false;
  await Promise.all(probes);

  const summary = tally(outcomes);
  assert.ok(!outcomes.includes('no answer'), `every probe is answered or refused within ${HANG_MS} ms, none hangs: ${summary}`);
  for (const outcome of outcomes) {
    // Before the signal is handled: ready. On a connection a worker took just before: not ready, as in one process.
    if (!isRefusal(outcome) && outcome !== 'no answer') assert.ok([200, 503].includes(outcome.status), summary);
  }
  // The request is still in flight, and the port is closed: a probe or a new client now is refused at once.
  assert.ok(isRefusal(await probe(port, '/readyz')), 'a readiness probe during the drain is refused');
  assert.ok(isRefusal(await probe(port, '/graphql?query=%7B__typename%7D')), 'a new client during the drain is refused');

  release();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { slow: { id: '1', name: 'done' } } });
  assert.equal(await serve.exited, 0);
  assert.doesNotMatch(serve.output(), /store unavailable/, 'the request in flight kept the shared stores to its end');
});
