/** "Did you mean …?" for unknown configuration keys: the keys of that object, for the descriptor's own kind. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseDescriptor, parseGatewayConfig } from '../../src/config/load.js';
import { closestKey } from '../../src/config/suggest.js';

function problems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return assert.fail('expected a configuration error');
}

test('a misspelled key names the closest key of the same object', () => {
  assert.deepEqual(problems(() => parseGatewayConfig({ server: { prot: 80, bodylimit: '1mb' }, loging: {} }, 'gateway.yaml', {})), [
    'gateway.yaml: server.prot: unknown key (did you mean `port`?)',
    'gateway.yaml: server.bodylimit: unknown key (did you mean `bodyLimit`?)',
    'gateway.yaml: loging: unknown key (did you mean `logging`?)',
  ]);
});

test("a descriptor's suggestion comes from its own kind, in nested objects and list entries too", () => {
  const base = { name: 'a', url: 'http://127.0.0.1:1' };
  assert.deepEqual(problems(() => parseDescriptor({ ...base, kind: 'graphql', timout: '1s', headers: { foward: [] } }, 'a.subgraph.yaml', '/', {})), [
    'a.subgraph.yaml: headers.foward: unknown key (did you mean `forward`?)',
    'a.subgraph.yaml: timout: unknown key (did you mean `timeout`?)',
  ]);
  // `proto` is one edit from grpc's `protos`, a key graphql descriptors do not have; grpc's own gets the suggestion.
  const [graphql] = problems(() => parseDescriptor({ ...base, kind: 'graphql', proto: 'x' }, 'a.subgraph.yaml', '/', {}));
  assert.equal(graphql, 'a.subgraph.yaml: proto: unknown key (check its spelling against the configuration reference)');
  const [grpc] = problems(() => parseDescriptor({ ...base, kind: 'grpc', proto: 'x' }, 'a.subgraph.yaml', '/', {}));
  assert.equal(grpc, 'a.subgraph.yaml: proto: unknown key (did you mean `protos`?)');
  const [upstream] = problems(() => parseDescriptor({ name: 'a', kind: 'graphql', upstreams: [{ url: 'http://127.0.0.1:1', wieght: 1 }] }, 'a.subgraph.yaml', '/', {}));
  assert.equal(upstream, 'a.subgraph.yaml: upstreams[0].wieght: unknown key (did you mean `weight`?)');
});

test('no suggestion for a key nothing is close to, nor a short key turned into another', () => {
  assert.equal(closestKey('colour', ['mode', 'server']), undefined);
  assert.equal(closestKey('ab', ['mode', 'on']), undefined);
  assert.equal(closestKey('tiemout', ['timeout', 'retry']), 'timeout');
  assert.equal(closestKey('Timeout', ['timeout']), 'timeout');
});
