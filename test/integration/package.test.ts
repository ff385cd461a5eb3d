/**
 * The npm package as a user gets it: `npm pack` builds dist/ and the tarball,
 * `npm install -g` puts `tessera` on the PATH, and the installed command runs
 * on a configuration folder outside the checkout, with nothing of the build
 * (TypeScript, tsx) installed.
 *
 * The pack runs on a copy of the files the package is built from, so the
 * checkout's own dist/ is never rewritten under another test. The install
 * prefers the npm cache (`--prefer-offline`); npm resolves a tarball's
 * dependency ranges from the registry's full metadata, which an ordinary
 * `npm ci` does not cache, so the first run on a machine fetches that
 * metadata, and later runs read it from the cache.
 *
 * The slowest test of the suite (a TypeScript build and an install of the
 * runtime dependencies): about 45 s on a busy two-core machine, most of it
 * the build.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { runProcess, startGraphqlUpstream, tempProject } from '../kit/index.js';

const root = new URL('../..', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string } };


/** Whether this Node is one package.json's `engines.node` claims (`^22.15.0 || >=24`). */
function supportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 22 && minor >= 15);
}

test('npm pack builds a package that npm install -g puts on the PATH as `tessera`, and it checks a config folder and has the status page files', { timeout: 300_000 }, async (t) => {
  assert.equal(manifest.engines.node, '^22.15.0 || >=24', 'supportedNode() below mirrors engines.node: change both together');
  // What the package is built from, copied; node_modules is the checkout's (tsc and the types for the build).
  const stage = tempProject(t, {});
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'bin', 'src']) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(stage, 'node_modules'));
  const out = tempProject(t, {});

  const packed = await runProcess('npm', ['pack', '--json', '--pack-destination', out], { cwd: stage });
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
  const [tarball] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = tarball!.files.map((f) => f.path);
  assert.ok(files.includes('bin/tessera.js') && files.includes('dist/cli/bin.js') && files.includes('dist/index.d.ts'), files.join(' '));
  assert.ok(files.includes('README.md') && files.includes('LICENSE'));
  assert.deepEqual(
    files.filter((f) => !/^(bin\/|dist\/.*\.(js|d\.ts)$|package\.json$|README\.md$|LICENSE$)/.test(f)),
    [],
    'only the compiled code, the executable, the README and the licence are packed (no sources, tests or source maps)',
  );

  const prefix = tempProject(t, {});
  const installed = await runProcess('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(out, tarball!.filename)], { cwd: prefix });
  assert.equal(installed.code, 0, `npm install -g failed:\n${installed.stderr}`);
  if (supportedNode(process.versions.node)) {
    assert.doesNotMatch(installed.stderr, /EBADENGINE/, `a supported Node (${process.version}) installs without an engine warning`);
  }
  const home = join(prefix, 'lib', 'node_modules', manifest.name);
  for (const buildOnly of ['typescript', 'tsx']) {
    assert.ok(!existsSync(join(home, 'node_modules', buildOnly)), `${buildOnly} is not installed with the package`);
  }

  // `tessera` found on the PATH, run by the Node running this test, from a folder outside the checkout.
  const env = { ...process.env, PATH: [join(prefix, 'bin'), dirname(process.execPath), process.env.PATH].join(delimiter), LOG_LEVEL: 'silent' };
  const version = await runProcess('tessera', ['--version'], { cwd: prefix, env });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), manifest.version);

  const upstream = await startGraphqlUpstream(t, 'type Query { product(id: ID!): Product } type Product { id: ID! name: String }', {
    Query: { product: (_: unknown, { id }: { id: string }) => ({ id, name: 'Lamp' }) },
  });
  const config = tempProject(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/products/subgraph.yaml': 'name: products\nkind: graphql\nsource: ./schema.graphql\nurl: ${PRODUCTS_URL}\n',
    'subgraphs/products/schema.graphql': 'type Query { product(id: ID!): Product }\ntype Product { id: ID! name: String }\n',
  });
  const checked = await runProcess('tessera', ['check', '-c', join(config, 'gateway.yaml')], { cwd: config, env: { ...env, PRODUCTS_URL: upstream.url } });
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stdout, /^tessera: ok: 1 subgraphs \(products\)/m);

  const broken = tempProject(t, {
    'gateway.yaml': 'descriptors: ./subgraphs\n',
    'subgraphs/products/subgraph.yaml': 'name: products\nkind: graphql\nsource: ./schema.graphql\nurl: http://127.0.0.1:1/graphql\ntimout: 2s\n',
    'subgraphs/products/schema.graphql': 'type Query { product(id: ID!): String }\n',
  });
  const problems = await runProcess('tessera', ['check', '-c', join(broken, 'gateway.yaml')], { cwd: broken, env });
  assert.equal(problems.code, 1, problems.stdout);
  assert.match(problems.stderr, /subgraphs\/products\/subgraph\.yaml: .*timout/);

  // The status page's files come from the installed package: its own script and uPlot from the `uplot` dependency.
  const probe = [
    `import { statusPageHandler } from ${JSON.stringify(join(home, 'dist/server/status-page.js'))};`,
    "const handle = statusPageHandler({ path: '/_tessera', snapshot: () => ({}) });",
    'const get = (url) => new Promise((resolve) => handle({ url, method: "GET", headers: {} }, { writeHead(status, headers) { this.status = status; this.type = headers["content-type"]; }, end(body) { resolve(`${this.status} ${this.type} ${String(body).length}`); } }));',
    "const html = await new Promise((resolve) => handle({ url: '/_tessera', method: 'GET', headers: {} }, { writeHead() {}, end: (body) => resolve(String(body)) }));",
    'for (const [, url] of html.matchAll(/(?:src|href)="([^"]+)"/g)) console.log(url, await get(url));',
  ].join('\n');
  const served = await runProcess(process.execPath, ['--input-type=module', '-e', probe], { cwd: prefix, env });
  assert.equal(served.code, 0, served.stderr);
  const lines = served.stdout.trim().split('\n');
  assert.equal(lines.length, 4, served.stdout);
  for (const line of lines) assert.match(line, /^\/_tessera\/assets\/(uPlot|status)\.[0-9a-f]{16}\.(js|css) 200 text\/(javascript|css); charset=utf-8 [1-9]\d*$/, line);
});
