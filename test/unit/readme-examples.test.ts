/**
 * The configuration examples in the README are valid configuration: every
 * YAML block that is a whole descriptor (it has `name` and `kind`) or a piece
 * of gateway.yaml (only gateway keys at its top level) is parsed and checked
 * with the same schemas the gateway uses. A renamed or removed key that the
 * README still shows fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { gatewaySchema } from '../../src/config/gateway.js';
import { parseDescriptor, parseGatewayConfig } from '../../src/config/load.js';
import { isConfigError } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const gatewayKeys = new Set(Object.keys(gatewaySchema.shape));
// Every ${VAR} in an example resolves to something of the right shape.
const env = new Proxy({} as NodeJS.ProcessEnv, { get: (_t, name) => (String(name).endsWith('PORT') ? '4100' : 'example-value-0123456789abcdef0123456789abcdef') });

test('every configuration example in the README is accepted by the configuration schemas', () => {
  let descriptors = 0;
  let gateways = 0;
  for (const [i, block] of blocks.entries()) {
    const data = parse(block) as Record<string, unknown> | null;
    if (!data || typeof data !== 'object') continue;
    const where = `README yaml block ${i + 1}:\n${block}`;
    try {
      if ('name' in data && 'kind' in data) {
        parseDescriptor(data, `README block ${i + 1}`, '/nonexistent', env);
        descriptors++;
      } else if (/^# in a descriptor/.test(block)) {
        // A fragment of a descriptor: checked inside a minimal one.
        parseDescriptor({ name: 'example', kind: 'graphql', url: 'http://127.0.0.1:1', ...data }, `README block ${i + 1}`, '/nonexistent', env);
        descriptors++;
      } else if (Object.keys(data).every((key) => gatewayKeys.has(key))) {
        parseGatewayConfig(data, `README block ${i + 1}`, env);
        gateways++;
      }
    } catch (error) {
      assert.fail(`${where}\n${isConfigError(error) ? error.problems.join('\n') : String(error)}`);
    }
  }
  assert.ok(descriptors >= 4, `checked ${descriptors} descriptor examples`);
  assert.ok(gateways >= 3, `checked ${gateways} gateway examples`);
});
