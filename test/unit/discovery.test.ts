/**
 * Discovery's pieces without sockets: the descriptor keys and their errors,
 * a balancer whose instance set changes, the health gate of an instance
 * that appeared while the upstream served, and a canary whose versions'
 * instances change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDescriptor } from '../../src/config/load.js';
import { isConfigError } from '../../src/errors.js';
import { createBalancer } from '../../src/transport/balancer.js';
import { InstanceHealth } from '../../src/transport/health.js';
import { Canary } from '../../src/transport/canary.js';
import type { Member } from '../../src/transport/call.js';

function problems(data: Record<string, unknown>): string[] {
  try {
    parseDescriptor(data, 'subgraphs/items.yaml', '/nonexistent');
    return [];
  } catch (error) {
    if (isConfigError(error)) return error.problems;
    throw error;
  }
}

test('discovery keys: accepted on HTTP and gRPC upstreams with a DNS name; each misuse named with its path (docs/reliability.md row 73)', () => {
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop.svc.cluster.local:4000/graphql', discovery: 'dns' }], discovery: { interval: '5s', servers: ['127.0.0.1:5353'] } }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'openapi', source: 'x.yaml', upstreams: [{ url: 'http://_http._tcp.items.shop/', discovery: 'srv' }] }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://10.0.0.1:4000/graphql', discovery: 'dns' }] }), [
    'subgraphs/items.yaml: upstreams[0].url: 10.0.0.1 is an address; `discovery: dns` needs a DNS name to resolve',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop:4000/graphql', discovery: 'srv' }] }), [
    'subgraphs/items.yaml: upstreams[0].url: with `discovery: srv` the port comes from the SRV records; remove :4000',
  ]);
  // gRPC: grpc(s):// (or http(s)://) URLs whose host is the name; a grpc-js `dns:` target is its own resolver's.
  assert.deepEqual(problems({ name: 'items', kind: 'grpc', source: 'x.proto', upstreams: [{ url: 'grpc://items.shop:50051', discovery: 'dns' }] }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'grpc', source: 'x.proto', upstreams: [{ url: 'grpcs://_grpc._tcp.items.shop', discovery: 'srv' }] }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'grpc', source: 'x.proto', upstreams: [{ url: 'dns:///items.shop:50051', discovery: 'dns' }] }), [
    'subgraphs/items.yaml: upstreams[0].discovery: needs a grpc(s):// URL whose host is the name to resolve, got dns: (a grpc-js `dns:` target is resolved by grpc-js itself: give it without `discovery`)',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'grpc://items.shop:4000', discovery: 'dns' }] }), [
    'subgraphs/items.yaml: upstreams[0].discovery: needs an http(s):// URL whose host is the name to resolve, got grpc:',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'grpc', source: 'x.proto', upstreams: [{ url: 'grpc://10.0.0.7:50051', discovery: 'dns' }] }), [
    'subgraphs/items.yaml: upstreams[0].url: 10.0.0.7 is an address; `discovery: dns` needs a DNS name to resolve',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', url: 'http://items.shop/graphql', discovery: { servers: ['dns.local'] } }), [
    'subgraphs/items.yaml: discovery.servers[0]: expected an IP address with an optional port: "127.0.0.1:5353", "[::1]:53"',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [{ url: 'http://items.shop/graphql', discovery: 'consul' }] }), [
    'subgraphs/items.yaml: upstreams[0].discovery: Invalid option: expected one of "dns"|"srv"',
  ]);
});

test('canary: and shadow.version: with discovered versions are accepted; what they need of the entries is still checked at its path (docs/reliability.md row 74)', () => {
  const upstreams = [
    { url: 'http://items.shop.svc.cluster.local:4000/graphql', discovery: 'dns', version: 'v1', weight: 9 },
    { url: 'http://items-canary.shop.svc.cluster.local:4000/graphql', discovery: 'dns', version: 'v2', weight: 1 },
  ];
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, canary: { sticky: 'consumer' } }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, shadow: { version: 'v2' } }), []);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, shadow: { url: 'http://10.0.0.9:4000/graphql' } }), []);
  // A discovered entry with no version cannot be a canary version; a shadow version no entry has is named.
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams: [upstreams[0], { ...upstreams[1], version: undefined }], canary: { sticky: 'consumer' } }), [
    'subgraphs/items.yaml: upstreams[1].version: `canary:` needs a `version:` on every upstream',
    'subgraphs/items.yaml: canary: needs at least two versions among the upstreams (found v1)',
  ]);
  assert.deepEqual(problems({ name: 'items', kind: 'graphql', upstreams, shadow: { version: 'v3' } }), [
    'subgraphs/items.yaml: shadow.version: no instance in `upstreams` has version "v3" (versions: v1, v2); give one of them, or `url` for an instance of its own',
  ]);
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

test('a canary over discovered versions: versions and weights from the entries before any instance is known; a guarded version\'s new instances get no traffic, and a restore gives them their shares (docs/reliability.md row 74)', () => {
  const entries = [
    { url: 'http://items.shop:4000', version: 'v1', weight: 80 },
    { url: 'http://items-canary.shop:4000', version: 'v2', weight: 20 },
  ];
  const guard = { windowMs: 60_000, minCalls: 5, errorRateMargin: 0.05, p99Margin: false as const, p99MinGapMs: 25 };
  const canary = new Canary<Member>('items', entries, [], { guard });
  assert.equal(canary.stable, 'v1', 'the heaviest entry, with no instance found yet');
  const member = (url: string, version: string, weight: number) => ({ url, version, weight });
  const v1 = [member('http://10.0.0.1:4000', 'v1', 80 / 3), member('http://10.0.0.2:4000', 'v1', 80 / 3), member('http://10.0.0.3:4000', 'v1', 80 / 3)];
  const v2 = member('http://10.0.1.1:4000', 'v2', 20);
  canary.update([...v1, v2]);
  for (let i = 0; i < 5; i++) canary.record(v1[i % 3]!, true, 1, false);
  for (let i = 0; i < 5; i++) canary.record(v2, true, 1, true);
  assert.equal(v2.weight, 0, 'guarded: weight 0');
  // Discovery: v2 now has two instances, each given its share (10) by the member set; the guard keeps both at 0.
  const v2b = member('http://10.0.1.2:4000', 'v2', 10);
  v2.weight = 10;
  canary.update([...v1, v2, v2b]);
  assert.deepEqual([v2.weight, v2b.weight], [0, 0]);
  const state = canary.state().versions.find((v) => v.version === 'v2')!;
  assert.deepEqual([state.configuredWeight, state.weight], [20, 0]);
  assert.equal(canary.restore('v2', 'test'), true);
  assert.deepEqual([v2.weight, v2b.weight], [10, 10], 'restored to the shares of the instances it has now');
  assert.equal(canary.state().versions.find((v) => v.version === 'v2')!.weight, 20);
});
