/**
 * `graphiql:` in gateway.yaml and per channel: `true`/`false` or
 * `{ enabled, defaultQuery }`, a channel overriding key by key, the key that
 * turns it on named for the page shown where it is off; wrong values refused
 * with their path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGatewayConfig } from '../../src/config/load.js';
import { resolveChannels } from '../../src/gateway.js';

const channels = (data: Record<string, unknown>) =>
  Object.fromEntries(resolveChannels(parseGatewayConfig(data, 'gateway.yaml', {})).map((c) => [c.name, c.graphiql]));

test('GraphiQL: on in development only by default; a boolean or an object; channels override key by key', () => {
  assert.deepEqual(channels({}), { default: { enabled: false, defaultQuery: undefined, configKey: 'graphiql' } });
  assert.deepEqual(channels({ mode: 'development' }), { default: { enabled: true, defaultQuery: undefined, configKey: 'graphiql' } });
  // From ${VAR}: the text "true".
  assert.deepEqual(channels({ graphiql: 'true' }).default, { enabled: true, defaultQuery: undefined, configKey: 'graphiql' });
  assert.deepEqual(
    channels({
      mode: 'development',
      graphiql: { defaultQuery: '{ a }\n' },
      channels: { web: {}, partners: { graphiql: false }, mobile: { graphiql: { defaultQuery: '{ b }' } } },
    }),
    {
      default: { enabled: true, defaultQuery: '{ a }', configKey: 'graphiql' },
      web: { enabled: true, defaultQuery: '{ a }', configKey: 'graphiql' },
      partners: { enabled: false, defaultQuery: '{ a }', configKey: 'channels.partners.graphiql' },
      mobile: { enabled: true, defaultQuery: '{ b }', configKey: 'graphiql' },
    },
  );
});

test('GraphiQL: unknown keys and wrong values are refused with their path', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ graphiql: { defaultQuerry: '{ a }' } }, /gateway\.yaml: graphiql\.defaultQuerry: unknown key/],
    [{ channels: { web: { graphiql: { enable: true } } } }, /channels\.web\.graphiql\.enable: unknown key/],
    [{ graphiql: 'yes' }, /graphiql: expected true, false or \{ enabled, defaultQuery \}/],
    [{ graphiql: 1 }, /graphiql: expected true, false or \{ enabled, defaultQuery \}/],
    [{ graphiql: { defaultQuery: '  ' } }, /graphiql\.defaultQuery: expected a GraphQL document, not an empty string/],
    [{ graphiql: { enabled: 'maybe' } }, /graphiql\.enabled/],
  ];
  for (const [data, message] of cases) assert.throws(() => parseGatewayConfig(data, 'gateway.yaml', {}), message, JSON.stringify(data));
});
