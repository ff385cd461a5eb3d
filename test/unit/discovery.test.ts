/**
 * Discovery's pieces without sockets: the descriptor keys and their errors,
 * a balancer whose instance set changes, and the health gate of an instance
 * that appeared while the upstream served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDescriptor } from '../../src/config/load.js';
import { isConfigError } from '../../src/errors.js';
import { createBalancer } from '../../src/transport/balancer.js';
import { InstanceHealth } from '../../src/transport/health.js';

function problems(data: Record<string, unknown>): string[] {
  try {
    parseDescriptor(data, 'subgraphs/items.yaml', '/nonexistent');
    return [];
  } catch (error) {
    if (isConfigError(error)) return error.problems;
    throw error;
  }
}

test('discovery keys: accepted on HTTP upstreams with a DNS name; each misuse named with its path', () => {
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop.svc.cluster.local:4000/graphql', discovery: 'dns' }], discovery: { interval: '5s', servers: ['127.0.0.1:5353'] } }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'openapi', source: 'x.yaml', upstreams: [{ url: 'http://_http._tcp.items.shop/', discovery: 'srv' }] }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://10.0.0.1:4000/graphql', discovery: 'dns' }] }), [
    'subgraphs/items.yaml: upstreams[0].url: 10.0.0.1 is an address; `discovery: dns` needs a DNS name to resolve',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop:4000/graphql', discovery: 'srv' }] }), [
    'subgraphs/items.yaml: upstreams[0].url: with `discovery: srv` the port comes from the SRV records; remove :4000',
  ]);
  assert.match(problems({ name: 'items', kind: 'grpc', source: 'x.proto', upstreams: [{ url: 'grpc://items.shop:50051', discovery: 'dns' }] })[0]!, /upstreams\[0\]\.discovery: not available for gRPC upstreams yet/);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', url: 'http://items.shop/graphql', discovery: { servers: ['dns.local'] } }), [
    'subgraphs/items.yaml: discovery.servers[0]: expected an IP address with an optional port: "127.0.0.1:5353", "[::1]:53"',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop/graphql', discovery: 'consul' }] }), [
    'subgraphs/items.yaml: upstreams[0].discovery: Invalid option: expected one of "dns"|"srv"',
  ]);
});

test('canary: and shadow.version: are refused with discovered instances (their versions are taken at start-up); shadow.url is not', () => {
  const upstreams = [
    { url: 'http://items.shop.svc.cluster.local:4000/graphql', discovery: 'dns', version: 'v1', weight: 9 },
    { url: 'http://items-canary.shop.svc.cluster.local:4000/graphql', discovery: 'dns', version: 'v2', weight: 1 },
  ];
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, canary: { sticky: 'consumer' } }), [
    'subgraphs/items.yaml: canary: not available with discovered instances (upstreams[0].discovery); list each version\'s instances in `upstreams`',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, shadow: { version: 'v2' } }), [
    'subgraphs/items.yaml: shadow.version: not available with discovered instances (upstreams[0].discovery); give the shadow\'s `url` instead',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, shadow: { url: 'http://10.0.0.9:4000/graphql' } }), []);
});

test('a balancer given a new instance set keeps the kept ones\' calls in flight and rotation, forgets the removed ones, and picks nothing when empty', () => {
  const a = { name: 'a', weight: 1 };
  const b = { name: 'b', weight: 1 };
  const c = { name: 'c', weight: 1 };
  const empty = createBalancer<typeof a>('round-robin', []);
  assert.equal(empty.pick(), undefined);
  empty.update([a]);
  assert.equal(empty.pick(), a);

  const least = createBalancer('least-outstanding', [a, b]);
  least.acquire(a);
  least.acquire(b);
  least.acquire(b);
  least.update([b, c]);
  assert.equal(least.outstanding(b), 2, 'b keeps its calls in flight');
  assert.equal(least.outstanding(a), 0);
  least.release(a); // a call to a removed instance ends: nothing to release
  assert.equal(least.pick(), c, 'the new instance has nothing in flight');

  const rr = createBalancer('round-robin', [a, b]);
  const picks = Array.from({ length: 4 }, () => rr.pick()!.name);
  assert.deepEqual(picks.sort(), ['a', 'a', 'b', 'b']);
  rr.update([a, b, c]);
  const after = Array.from({ length: 6 }, () => rr.pick()!.name);
  assert.deepEqual(after.sort(), ['a', 'a', 'b', 'b', 'c', 'c'], 'each gets its share over sum(weights) picks');
});

test('an instance that appeared while serving is down until its first check passes; one at start-up gets traffic before its first check', () => {
  const options = { unhealthyAfter: 2, healthyAfter: 2 };
  const atStart = new InstanceHealth(options);
  assert.equal(atStart.down, false);
  const joined = new InstanceHealth(options, undefined, true);
  assert.equal(joined.down, true);
  joined.record(undefined);
  assert.equal(joined.down, false, 'the first passed check lets it in');
  const failing = new InstanceHealth(options, undefined, true);
  failing.record('ECONNREFUSED');
  assert.equal(failing.down, true);
  assert.equal(failing.state, 'down');
});
