/**
 * `tessera check [DESCRIPTOR...]` against what runs: the candidate (the demo
 * with a descriptor file replacing the configured one of the same subgraph)
 * compared with the schema snapshots in schema/ or with a running gateway,
 * for the unified graph and every channel; each change classified breaking,
 * dangerous or safe; the client operations it would break named with file,
 * operation and error; `--json` for CI; and bad input (an unreachable
 * gateway, introspection refused, a folder that is no snapshot folder, an
 * operation that does not parse) said without a stack. Run as a process, as
 * CI runs it, on the demo's real services.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { demoEnv, startDemoServices, type StartedDemo } from '../../subgraphs/demo.js';
import { createHash } from 'node:crypto';
import { createGateway } from '../../src/index.js';
import { runTessera as tessera, startDemo, tempProject } from '../kit/index.js';
import type { CheckReport } from '../../src/checks/report.js';

const root = new URL('../..', import.meta.url).pathname;
const config = join(root, 'gateway.yaml');
const NO_STACK = /internal error|\n\s+at /;

/** The demo services, for the length of the test. */
async function demoServices(t: TestContext): Promise<StartedDemo> {
  const demo = await startDemoServices(Object.fromEntries(['accounts', 'reviews', 'catalog', 'inventory'].map((n) => [n, 0])));
  t.after(() => demo.close());
  return demo;
}

/**
 * A candidate descriptor for a demo subgraph read from an SDL file: the demo's
 * descriptor with `source` pointing at `sdl` (accounts is introspected in the
 * demo; its candidate is read from a file, as a team's repository holds it).
 */
function candidate(t: TestContext, subgraph: 'reviews' | 'accounts', sdl: string): string {
  const descriptor = readFileSync(join(root, 'subgraphs', subgraph, 'subgraph.yaml'), 'utf8').replace(/^source: .*\n/m, '');
  const dir = tempProject(t, { [`${subgraph}.subgraph.yaml`]: `${descriptor}source: ./candidate.graphql\n`, 'candidate.graphql': sdl });
  return join(dir, `${subgraph}.subgraph.yaml`);
}

const reviewsSdl = readFileSync(join(root, 'subgraphs/reviews/schema.graphql'), 'utf8');
const accountsSdl = readFileSync(join(root, 'subgraphs/accounts/schema.graphql'), 'utf8');
/** reviews with a field added: safe. */
const reviewsAdded = reviewsSdl.replace('type Review {\n', 'type Review {\n  title: String\n');
/** reviews without Product.averageRating, and Review.body made nullable: both breaking. */
const reviewsBreaking = reviewsSdl.replace('  averageRating: Float\n', '').replace('  body: String!\n', '  body: String\n');
/** accounts with User.email nullable: breaking, except on mobile, which hides User.email. */
const accountsEmail = accountsSdl.replace('  email: String!\n', '  email: String\n');

/** The report's lines for people (log lines left out). */
const said = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('tessera: ') || line.startsWith('  - '));

test('a safe change (an added field) against the snapshots: exit 0, the change classified safe in the unified graph and every channel', async (t) => {
  const demo = await demoServices(t);
  const file = candidate(t, 'reviews', reviewsAdded);
  const { code, stdout, stderr } = await tessera(['check', '-c', config, file], demoEnv(demo, {}));
  assert.equal(code, 0, stderr + stdout);
  const lines = said(stdout);
  assert.ok(lines.includes(`tessera: candidate: ${file} replaces subgraph "reviews"`), stdout);
  assert.ok(lines.includes('tessera: compared with schema/ (snapshot folder): the unified graph and every channel'), stdout);
  assert.deepEqual(lines.slice(lines.indexOf('tessera: safe changes (1):')), [
    'tessera: safe changes (1):',
    "  - safe: Review.title: Field 'title' was added to object type 'Review' (in the unified graph and every channel)",
    'tessera: nothing breaks: 0 dangerous changes, 1 safe change (compared with schema/ (snapshot folder))',
  ]);
});

test('a removed field and a nullability change: exit 1, each named by path; a channel that hides the changed field is not broken by it', async (t) => {
  const demo = await demoServices(t);
  const files = [candidate(t, 'reviews', reviewsBreaking), candidate(t, 'accounts', accountsEmail)];
  const { code, stdout, stderr } = await tessera(['check', '-c', config, ...files], demoEnv(demo, {}));
  assert.equal(code, 1, stderr + stdout);
  const lines = said(stdout);
  assert.deepEqual(lines.slice(lines.indexOf('tessera: breaking changes (3):')), [
    'tessera: breaking changes (3):',
    "  - breaking: Product.averageRating: Field 'averageRating' was removed from object type 'Product' (in the unified graph and every channel)",
    "  - breaking: Review.body: Field 'Review.body' changed type from 'String!' to 'String' (in the unified graph and every channel)",
    // mobile hides User.email (gateway.yaml channels.mobile.hide): not a change there.
    "  - breaking: User.email: Field 'User.email' changed type from 'String!' to 'String' (in the unified graph and channels default, web)",
    'tessera: breaking: 3 breaking changes, 0 operations that would break (compared with schema/ (snapshot folder))',
  ]);
});

test('--json: one object in the documented shape, per schema and per operation', async (t) => {
  const demo = await demoServices(t);
  const ops = tempProject(t, {
    'web/Reviews.graphql': 'query Reviews {\n  reviews { body product { id averageRating } }\n}\n',
    'Top.graphql': 'query Top { topProducts { ...Rated } }\n',
    'fragments.graphql': 'fragment Rated on Product { id averageRating }\n',
  });
  const file = candidate(t, 'accounts', accountsEmail);
  const { code, stdout, stderr } = await tessera(['check', '-c', config, file, '--json', '--operations', ops], demoEnv(demo, {}));
  assert.equal(code, 1, stderr);
  const report = JSON.parse(stdout) as CheckReport;
  assert.equal(report.version, 1);
  assert.equal(report.ok, false);
  assert.deepEqual(report.against, { kind: 'snapshot', location: join(root, 'schema') });
  assert.deepEqual(report.subgraphs, [{ name: 'accounts', file, change: 'replaced' }]);
  assert.deepEqual(
    report.schemas.map((s) => [s.name, s.path, s.compared, s.changes.map((c) => `${c.level} ${c.type} ${c.path}`)]),
    [
      ['unified', undefined, true, ['breaking FIELD_TYPE_CHANGED User.email']],
      ['default', '/graphql', true, ['breaking FIELD_TYPE_CHANGED User.email']],
      ['web', '/web/graphql', true, ['breaking FIELD_TYPE_CHANGED User.email']],
      ['mobile', '/mobile/graphql', true, []],
    ],
  );
  assert.equal(report.schemas[0]!.changes[0]!.message, "Field 'User.email' changed type from 'String!' to 'String'");
  assert.deepEqual(report.operations, { checked: 2, broken: [] });
  assert.deepEqual(report.summary, { breaking: 1, dangerous: 0, safe: 0, brokenOperations: 0 });
  assert.deepEqual(report.notes, []);
});

test('--operations: each operation that would break is named with file, operation and error; one already invalid is a warning, not counted', async (t) => {
  const demo = await demoServices(t);
  const ops = tempProject(t, {
    'web/Reviews.graphql': 'query Reviews {\n  reviews { body product { id averageRating } }\n}\n',
    'web/Old.graphql': 'query Old { reviews { stars } }\n',
    'Top.graphql': 'query Top { topProducts { ...Rated } }\n',
    'fragments.graphql': 'fragment Rated on Product { id averageRating }\n',
    'mobile/manifest.json': JSON.stringify({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { id: 'a1', name: 'Me', type: 'query', body: 'query Me { me { name } }' },
        { id: 'b2', name: 'Product', type: 'query', body: 'query Product { topProducts(first: 1) { averageRating } }' },
      ],
    }),
  });
  const file = candidate(t, 'reviews', reviewsBreaking);
  const { code, stdout, stderr } = await tessera(['check', '-c', config, file, '--operations', ops], demoEnv(demo, {}));
  assert.equal(code, 1, stderr + stdout);
  const lines = said(stdout);
  assert.deepEqual(lines.slice(lines.indexOf('tessera: operations: 3 of 5 would break'), -1), [
    'tessera: operations: 3 of 5 would break',
    '  - mobile/manifest.json: Product (id b2): Cannot query field "averageRating" on type "Product".',
    '  - Top.graphql: Top: Cannot query field "averageRating" on type "Product".',
    '  - web/Reviews.graphql: Reviews: Cannot query field "averageRating" on type "Product".',
    'tessera: warning: 1 operation is already invalid on what runs (not counted):',
    '  - web/Old.graphql: Old: Cannot query field "stars" on type "Review".',
  ]);
  assert.equal(lines.at(-1), 'tessera: breaking: 2 breaking changes, 3 operations that would break (compared with schema/ (snapshot folder))');
});

test('--against a running gateway: each channel introspected on its path; refused introspection says what to do, without a stack', async (t) => {
  const running = await startDemo(t);
  const env = demoEnv(running.demo, {});
  const file = candidate(t, 'reviews', reviewsBreaking);
  const origin = new URL(running.url).origin;
  const { code, stdout, stderr } = await tessera(['check', '-c', config, file, '--against', running.url], env);
  assert.equal(code, 1, stderr + stdout);
  const lines = said(stdout);
  assert.ok(lines.includes(`tessera: compared with ${origin} (running gateway): the unified graph and every channel`), stdout);
  assert.ok(lines.includes("  - breaking: Product.averageRating: Field 'averageRating' was removed from object type 'Product' (in the unified graph and every channel)"), stdout);
  assert.equal(lines.at(-1), `tessera: breaking: 2 breaking changes, 0 operations that would break (compared with ${origin} (running gateway))`);

  const production = await startDemo(t, { TESSERA_MODE: 'production' });
  const refused = await tessera(['check', '-c', config, file, '--against', new URL(production.url).origin], env);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /one problem|problems \(CHECK_AGAINST_UNAVAILABLE\):/);
  assert.match(refused.stderr, new RegExp(`channel web at ${new URL('/web/graphql', production.url).href}: introspection refused \\(HTTP 400: Introspection is off on this endpoint, .*\`introspection: true\` in gateway\\.yaml turns it on`));
  assert.match(refused.stderr, /To compare with what runs, either let your CI introspect it .* or compare with the snapshots of the revision that runs: `git worktree add \.\.\/running <deployed revision>` then `--against \.\.\/running\/schema`/);
  assert.doesNotMatch(refused.stderr, NO_STACK);
});

/** A project whose one subgraph's schema is a file: it loads without an upstream. */
function project(t: TestContext, extra: Record<string, string> = {}): { dir: string; config: string } {
  const dir = tempProject(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/s/subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'subgraphs/s/s.graphql': 'type Query { hello: String }\n',
    ...extra,
  });
  return { dir, config: join(dir, 'gateway.yaml') };
}

test('bad input: an unreachable --against URL, a folder without unified.graphql, an operation that does not parse, a path that does not exist', async (t) => {
  const { dir, config: small } = project(t, { 'ops/Broken.graphql': 'query Broken {\n  hello(\n}\n', 'empty/README': 'not a snapshot folder\n' });

  const unreachable = await tessera(['check', '-c', small, '--against', 'http://127.0.0.1:9']);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /one problem \(CHECK_AGAINST_UNAVAILABLE\):\n {2}- --against http:\/\/127\.0\.0\.1:9\/: channel default at http:\/\/127\.0\.0\.1:9\/graphql: ECONNREFUSED .*; check the gateway's URL and that it runs, or compare with a snapshot folder \(--against schema\/\)\n/);
  assert.doesNotMatch(unreachable.stderr, NO_STACK);

  const noSnapshot = await tessera(['check', '-c', small, '--against', join(dir, 'empty')]);
  assert.equal(noSnapshot.code, 1);
  assert.match(noSnapshot.stderr, /one problem \(CHECK_AGAINST_UNAVAILABLE\):\n {2}- \S*empty: no unified\.graphql in this folder, so it is not a schema snapshot folder; give --against the folder `tessera compose` writes/);
  assert.doesNotMatch(noSnapshot.stderr, NO_STACK);

  const malformed = await tessera(['check', '-c', small, '--operations', join(dir, 'ops')]);
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /one problem \(CONFIG_PARSE_ERROR\):\n {2}- Broken\.graphql:3:1: cannot parse: Syntax Error: Expected Name, found "}"\.\n {6}2 \| {3}hello\(\n {6}3 \| }\n {8}\| \^\n/);
  assert.doesNotMatch(malformed.stderr, NO_STACK);

  const missing = await tessera(['check', '-c', small, '--against', join(dir, 'nowhere')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--against \S*nowhere: no such folder/);
  const json = await tessera(['check', '-c', small, '--json', '--against', 'http://127.0.0.1:9']);
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { problems: { code: string } }).problems.code, 'CHECK_AGAINST_UNAVAILABLE');
});

test("the persisted-operation manifests gateway.yaml configures are checked against their channel's candidate: a removed field used by one is named", async (t) => {
  const { dir, config: small } = project(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\nchannels:\n  web:\n    persistedOperations: { manifest: ./web-operations.json }\n',
    'web-operations.json': JSON.stringify({ h1: 'query Hello { hello }', g1: 'query Greeting { greeting }' }),
    'candidate/s.subgraph.yaml': 'name: s\nkind: graphql\nsource: ./s.graphql\nurl: http://127.0.0.1:1/graphql\n',
    'candidate/s.graphql': 'type Query { greeting: String }\n',
  });
  await tessera(['compose', '-c', small]);
  const { code, stdout, stderr } = await tessera(['check', '-c', small, join(dir, 'candidate/s.subgraph.yaml')]);
  assert.equal(code, 1, stderr + stdout);
  const lines = said(stdout);
  assert.deepEqual(lines.slice(lines.indexOf('tessera: operations: 1 of 2 would break')), [
    'tessera: operations: 1 of 2 would break',
    `  - ${join(dir, 'web-operations.json')}: Hello (id h1): Cannot query field "hello" on type "Query".`,
    'tessera: breaking: 1 breaking change, 1 operation that would break (compared with schema/ (snapshot folder))'.replace('schema/', `${join(dir, 'schema')}/`),
  ]);

  // A candidate with nothing to compare with (no snapshot, no --against) is wrong usage: the message says what to pass.
  const { config: bare } = project(t);
  const nothing = await tessera(['check', '-c', bare, join(dir, 'candidate/s.subgraph.yaml')]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /tessera: nothing to compare with: no schema snapshot at \S+schema\/unified\.graphql \(schema\.snapshot\); pass --against URL \(a running gateway\) or --against DIR \(a snapshot folder\), or write one with `tessera compose`/);
});

test('--against a gateway whose channels refuse anonymous callers: 401 says to pass a credential; --header passes it', async (t) => {
  const sha256 = createHash('sha256').update('ci-key').digest('hex');
  const { config: small } = project(t, {
    'gateway.yaml': [
      'mode: development',
      'logging: { level: silent }',
      'descriptors: ./subgraphs',
      'security:',
      '  auth:',
      `    apiKeys: { keys: [{ id: ci, sha256: ${sha256} }] }`,
      '    anonymous: false',
      '',
    ].join('\n'),
  });
  const gateway = await createGateway({ configFile: small });
  t.after(() => gateway.close());
  const { url } = await gateway.listen(0, '127.0.0.1');

  const anonymous = await tessera(['check', '-c', small, '--against', url]);
  assert.equal(anonymous.code, 1, anonymous.stdout);
  assert.match(anonymous.stderr, /CHECK_AGAINST_UNAVAILABLE[\s\S]*channel default at \S+\/graphql: HTTP 401: the channel refuses this caller; pass the credential one of its clients uses, e\.g\. --header 'authorization: Bearer …'/);
  assert.doesNotMatch(anonymous.stderr, NO_STACK);

  const withKey = await tessera(['check', '-c', small, '--against', url, '--header', 'x-api-key: ci-key']);
  assert.equal(withKey.code, 0, withKey.stderr + withKey.stdout);
  assert.deepEqual(said(withKey.stdout).slice(-2), ['tessera: no change from what runs', `tessera: nothing breaks: 0 dangerous changes, 0 safe changes (compared with ${new URL(url).origin} (running gateway))`]);

  const malformed = await tessera(['check', '-c', small, '--against', url, '--header', 'x-api-key']);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /--header "x-api-key": expected 'NAME: VALUE'/);
});
