/**
 * The import boundaries (.dependency-cruiser.cjs, README "Architecture"):
 * src/ keeps every rule, and each rule really fires on a tree that breaks it
 * (test/fixtures/boundaries, one wrong import per rule), so a rule whose
 * pattern stops matching cannot pass unnoticed.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as {
  forbidden: NonNullable<ICruiseOptions['ruleSet']>['forbidden'];
  options: ICruiseOptions;
};

async function violations(baseDir: string): Promise<string[]> {
  const options: ICruiseOptions = { ...config.options, baseDir, ruleSet: { forbidden: config.forbidden }, validate: true };
  const { output } = await cruise(['src'], options, undefined, { tsConfig: { fileName: `${root}tsconfig.json` } });
  if (typeof output === 'string') throw new Error(`dependency-cruiser answered text: ${output}`);
  return output.summary.violations.map((v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

test('src/ keeps every import boundary', async () => {
  assert.deepEqual(await violations(root), []);
});

test('each boundary rule fires on a tree that breaks it', async () => {
  const found = await violations(fileURLToPath(new URL('../fixtures/boundaries', import.meta.url)));
  assert.deepEqual(found, [
    'checks-read-what-runs-and-serve-nothing: src/checks/current.ts → src/transport/http.ts',
    'compose-does-no-io: src/compose/index.ts → fs',
    'compose-is-pure: src/compose/index.ts → src/transport/http.ts',
    'config-is-data: src/config/load.ts → src/compose/index.ts',
    'neutral-modules-stay-neutral: src/request-scope.ts → src/store/index.ts',
    'nobody-imports-the-cli: src/server/http.ts → src/cli/main.ts',
    'only-the-cli-runs-checks: src/plugins/use-check.ts → src/checks/current.ts',
    'plugins-reach-upstreams-through-executors: src/plugins/use-policy.ts → src/transport/http.ts',
    'registry-only-finds-descriptors: src/registry/folder.ts → src/server/http.ts',
    'server-calls-no-upstream: src/server/http.ts → src/cli/main.ts',
    'server-calls-no-upstream: src/server/http.ts → src/transport/http.ts',
    'sources-know-nothing-of-serving-or-policy: src/sources/load.ts → src/plugins/use-policy.ts',
    'src-stands-alone: src/cli/main.ts → test/kit.ts',
    'store-is-shared-state-only: src/store/index.ts → src/server/http.ts',
    'transport-knows-no-graphql-policy: src/transport/http.ts → src/sources/load.ts',
  ]);
});
