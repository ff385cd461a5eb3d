/**
 * Every configuration mistake stops start-up with a message naming the file,
 * the path inside it and what was expected — all problems at once.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createGateway } from '../../src/index.js';
import { loadGatewayFile } from '../../src/config/load.js';
import { isConfigError, type ConfigError } from '../../src/errors.js';
import { startGraphqlUpstream, tempProject as project } from '../kit/index.js';


async function problemsOf(promise: Promise<unknown> | (() => unknown)): Promise<ConfigError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    assert.ok(isConfigError(error), `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a configuration error');
}

const SDL = 'type Query { hello: String }';
const descriptor = (extra = ''): string => `name: hello\nkind: graphql\nsource: ./schema.graphql\nurl: http://127.0.0.1:1/graphql\n${extra}`;

test('a misspelled key is refused with the file and the path', async (t) => {
  const dir = project(t, { 'gateway.yaml': 'descriptors: ./subgraphs\n', 'subgraphs/hello/subgraph.yaml': descriptor('timout: 2s\n'), 'subgraphs/hello/schema.graphql': SDL });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.equal(error.code, 'CONFIG_INVALID');
  assert.match(error.message, /subgraphs\/hello\/subgraph\.yaml: timout: unknown key \(did you mean `timeout`\?\)/);
});

test('a value of the wrong type says what was expected', async (t) => {
  const dir = project(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\nserver:\n  port: eighty\n  bodyLimit: lots\n',
    'subgraphs/hello/subgraph.yaml': descriptor('timeout: soon\nupstreams: []\n'),
    'subgraphs/hello/schema.graphql': SDL,
  });
  const gatewayError = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.match(gatewayError.message, /gateway\.yaml: server\.port: expected a whole number/);
  assert.match(gatewayError.message, /gateway\.yaml: server\.bodyLimit: expected a size like "512kb"/);
  writeFileSync(join(dir, 'gateway.yaml'), 'descriptors: ./subgraphs\n');
  const descriptorError = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.match(descriptorError.message, /subgraph\.yaml: timeout: expected a duration like "500ms", "2s" or "1m", got "soon"/);
  assert.match(descriptorError.message, /subgraph\.yaml: upstreams: /);
});

test('an unknown kind lists the kinds', async (t) => {
  const dir = project(t, { 'gateway.yaml': '', 'subgraphs/subgraph.yaml': 'name: x\nkind: soap\nurl: http://127.0.0.1:1\n' });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.match(error.message, /subgraph\.yaml: kind: expected `kind` to be one of: graphql, openapi, grpc, federation/);
});

test('a missing gateway file, descriptor folder or schema file is named', async (t) => {
  const dir = project(t, { 'gateway.yaml': 'descriptors: [./nowhere]\n' });
  assert.match((await problemsOf(() => loadGatewayFile(join(dir, 'missing.yaml')))).message, /missing\.yaml: file not found/);
  assert.match((await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')))).message, /gateway\.yaml: descriptors\[0\]: .*nowhere does not exist/);
  const withDescriptor = project(t, { 'gateway.yaml': '', 'subgraphs/hello/subgraph.yaml': descriptor() });
  const error = await problemsOf(createGateway({ configFile: join(withDescriptor, 'gateway.yaml'), env: { LOG_LEVEL: 'silent' }, logger: silent() }));
  assert.equal(error.code, 'SOURCE_LOAD_FAILED');
  assert.match(error.message, /subgraph\.yaml: source: subgraph "hello": schema file .*schema\.graphql not found/);
});

test('broken YAML names the file, the line and the column, and shows them', async (t) => {
  const dir = project(t, { 'gateway.yaml': 'server:\n  port: 1\n   host: x\n' });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.equal(error.code, 'CONFIG_PARSE_ERROR');
  assert.match(error.message, /gateway\.yaml:2:9: cannot parse: Nested mappings are not allowed in compact mappings\n {6}1 \| server:\n {6}2 \| {3}port: 1\n {8}\| {9}\^$/);
});

test('duplicate subgraph names name both files', async (t) => {
  const dir = project(t, {
    'gateway.yaml': '',
    'subgraphs/a/subgraph.yaml': descriptor(),
    'subgraphs/a/schema.graphql': SDL,
    'subgraphs/b/hello.subgraph.yaml': descriptor(),
  });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.equal(error.code, 'DUPLICATE_SUBGRAPH');
  assert.match(error.message, /b\/hello\.subgraph\.yaml: name: "hello" is also used by .*a\/subgraph\.yaml/);
});

test('an unset ${VAR} is reported; ${VAR:-default} falls back', async (t) => {
  const dir = project(t, { 'gateway.yaml': 'server:\n  port: ${GW_PORT}\n  host: ${GW_HOST:-127.0.0.2}\n', 'subgraphs/subgraph.yaml': descriptor(), 'subgraphs/schema.graphql': SDL });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml'), {}));
  assert.equal(error.code, 'CONFIG_ENV_MISSING');
  assert.match(error.message, /gateway\.yaml: server\.port: environment variable GW_PORT is not set/);
  const loaded = loadGatewayFile(join(dir, 'gateway.yaml'), { GW_PORT: '4321' });
  assert.equal(loaded.gateway.server.port, 4321);
  assert.equal(loaded.gateway.server.host, '127.0.0.2');
});

test('every problem in every file is reported at once', async (t) => {
  const dir = project(t, {
    'gateway.yaml': '',
    'subgraphs/a/subgraph.yaml': 'name: a\nkind: graphql\nurl: not a url\n',
    'subgraphs/b/subgraph.yaml': 'name: b\nkind: graphql\nurl: http://127.0.0.1:1\nretry: { attempts: 9 }\n',
  });
  const error = await problemsOf(() => loadGatewayFile(join(dir, 'gateway.yaml')));
  assert.equal(error.problems.length, 2, error.message);
  assert.match(error.problems[0]!, /a\/subgraph\.yaml: url: not a valid URL/);
  assert.match(error.problems[1]!, /b\/subgraph\.yaml: retry\.attempts: /);
});

test('an unreachable upstream for introspection fails after the configured attempts, naming it', async (t) => {
  const dir = project(t, { 'gateway.yaml': '', 'subgraphs/subgraph.yaml': 'name: gone\nkind: graphql\nurl: http://127.0.0.1:9/graphql\nintrospection: { attempts: 2, backoff: 1ms }\n' });
  const error = await problemsOf(createGateway({ configFile: join(dir, 'gateway.yaml'), logger: silent() }));
  assert.equal(error.code, 'SOURCE_LOAD_FAILED');
  assert.match(error.message, /subgraph "gone": introspection of http:\/\/127\.0\.0\.1:9\/graphql failed after 2 attempts/);
});

test('an optional subgraph that cannot load is left out; the gateway still serves', async (t) => {
  const up = await startGraphqlUpstream(t, SDL, { Query: { hello: () => 'hi' } });
  const gateway = await createGateway({
    gateway: { logging: { level: 'silent' } },
    descriptors: [
      { name: 'hello', kind: 'graphql', url: up.url },
      { name: 'gone', kind: 'graphql', url: 'http://127.0.0.1:9/graphql', required: false, introspection: { attempts: 1 } },
    ],
  });
  t.after(() => gateway.close());
  assert.deepEqual(gateway.missing, ['gone']);
  assert.ok(gateway.schema.getQueryType()!.getFields().hello);
});

test('two subgraphs defining the same field differently are reported with both descriptors', async (t) => {
  const dir = project(t, {
    'gateway.yaml': '',
    'subgraphs/a/subgraph.yaml': 'name: a\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1\nentities: { User: { key: id, field: user, argument: id } }\n',
    'subgraphs/a/s.graphql': 'type User { id: ID! age: Int } type Query { user(id: ID!): User }',
    'subgraphs/b/subgraph.yaml': 'name: b\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1\n',
    'subgraphs/b/s.graphql': 'type User { id: ID! age: String name: String } enum Color { RED } type Query { user(id: ID!): User  other: Color }',
    'subgraphs/c/subgraph.yaml': 'name: c\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1\n',
    'subgraphs/c/s.graphql': 'type Color { id: ID } type Query { c: Color }',
  });
  const error = await problemsOf(createGateway({ configFile: join(dir, 'gateway.yaml'), logger: silent() }));
  assert.equal(error.code, 'COMPOSE_CONFLICT');
  const text = error.problems.join('\n');
  assert.match(text, /User\.age is age: Int in "a" \(.*a\/subgraph\.yaml\) but age: String in "b" \(.*b\/subgraph\.yaml\)/);
  assert.match(text, /Query\.user is defined by both "a" .* and "b"/);
  assert.match(text, /type Color is a enum in "b" .* but a object type in "c"/);
  assert.match(text, /declare it under `entities:` .* in "b"/);
});

test('entity declarations are checked against the subgraph schema', async (t) => {
  const dir = project(t, {
    'gateway.yaml': '',
    'subgraphs/subgraph.yaml': [
      'name: a',
      'kind: graphql',
      'source: ./s.graphql',
      'url: http://127.0.0.1:1',
      'entities:',
      '  User: { key: uid, batch: { field: users, argument: ids } }',
      '  Ghost: { key: id, field: ghost, argument: id }',
      '  Post: { key: id, batch: { field: post, argument: id } }',
      '',
    ].join('\n'),
    'subgraphs/s.graphql': 'type User { id: ID! } type Post { id: ID! } type Query { users(keys: [ID!]!): [User]! post(id: ID!): Post }',
  });
  const error = await problemsOf(createGateway({ configFile: join(dir, 'gateway.yaml'), logger: silent() }));
  const text = error.problems.join('\n');
  assert.match(text, /entities\.User\.key: User has no field "uid"/);
  assert.match(text, /entities\.User\.batch\.argument: Query\.users has no argument "ids"/);
  assert.match(text, /entities\.Ghost: subgraph "a" has no object type Ghost/);
  assert.match(text, /entities\.Post\.batch\.field: Query\.post must return a list of Post/);
});

function silent() {
  return createLoggerSilent();
}

import { createLogger } from '../../src/logger.js';
function createLoggerSilent() {
  return createLogger('silent');
}
