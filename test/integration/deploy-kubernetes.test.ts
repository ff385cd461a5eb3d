/**
 * deploy/kubernetes and the Dockerfile against what they describe:
 * - every manifest, the overlay's patch applied, is valid against the
 *   Kubernetes API schemas (kubernetes-models: parse, construct, validate());
 * - every file a kustomization names exists, and no manifest is left out;
 * - the probe paths, ports, annotations, environment and flags are the
 *   gateway's real ones: each gateway.yaml is parsed by the gateway's own
 *   loader with only the variables the Deployment sets, the probe and metrics
 *   paths are asked of a running gateway, the flags are read from
 *   `tessera serve --help`;
 * - shutdown timing: terminationGracePeriodSeconds covers the preStop sleep and
 *   server.shutdownTimeout;
 * - the Dockerfile starts the command the fleet test runs (test/e2e/fleet/command.ts).
 * No container engine or cluster runs here: these are static checks plus one
 * gateway on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseGatewayConfig } from '../../src/config/load.js';
import { runTessera, startGateway, startGraphqlUpstream } from '../kit/index.js';
import { IMAGE_ENTRY, NODE_FLAGS, REPLICA_FLAGS, REPOSITORY, SERVE, SOURCE_ENTRY } from '../e2e/fleet/command.js';

const KUBE = join(REPOSITORY, 'deploy/kubernetes');
const BASE = join(KUBE, 'base');
const OVERLAY = join(KUBE, 'overlays/redis');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec?: any };
type Kustomization = {
  resources?: string[];
  patches?: Array<{ path: string }>;
  configMapGenerator?: Array<{ name: string; files: string[]; behavior?: string }>;
};

const readYaml = (file: string): unknown => parse(readFileSync(file, 'utf8'));
const kustomization = (dir: string): Kustomization => readYaml(join(dir, 'kustomization.yaml')) as Kustomization;

/** A strategic-merge patch as kustomize applies it to these manifests: objects merged, lists of named items merged by name. */
function merge(target: any, patch: any): any {
  if (Array.isArray(patch) && Array.isArray(target) && patch.every((p) => p && typeof p === 'object' && 'name' in p)) {
    const out = target.map((item) => ({ ...item }));
    for (const item of patch) {
      const i = out.findIndex((o: { name?: string }) => o.name === item.name);
      if (i === -1) out.push(item);
      else out[i] = merge(out[i], item);
    }
    return out;
  }
  if (patch && typeof patch === 'object' && !Array.isArray(patch) && target && typeof target === 'object' && !Array.isArray(target)) {
    const out = { ...target };
    for (const [key, value] of Object.entries(patch)) out[key] = key in target ? merge(target[key], value) : value;
    return out;
  }
  return patch;
}

/** What `kustomize build dir` puts out, for the kinds here: the resources (folders recursively), patches applied, and the generated ConfigMaps' files. */
function build(dir: string): { manifests: Manifest[]; configFiles: Map<string, string> } {
  const k = kustomization(dir);
  const manifests: Manifest[] = [];
  let configFiles = new Map<string, string>();
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) {
      const built = build(path);
      manifests.push(...built.manifests);
      configFiles = new Map([...configFiles, ...built.configFiles]);
    } else {
      manifests.push(...parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Manifest));
    }
  }
  for (const { path } of k.patches ?? []) {
    const patch = readYaml(join(dir, path)) as Manifest;
    const i = manifests.findIndex((m) => m.kind === patch.kind && m.metadata.name === patch.metadata.name);
    assert.ok(i >= 0, `${relative(REPOSITORY, join(dir, path))} patches ${patch.kind}/${patch.metadata.name}, which is not among the resources`);
    manifests[i] = merge(manifests[i], patch);
  }
  for (const generator of k.configMapGenerator ?? []) {
    for (const file of generator.files) configFiles.set(`${generator.name}/${file.split('/').pop()}`, join(dir, file));
  }
  return { manifests, configFiles };
}

/** The kubernetes-models class of a manifest, by its apiVersion and kind. */
async function modelOf(manifest: Manifest): Promise<new (data: unknown) => { validate(): void }> {
  const module = (await import(`kubernetes-models/${manifest.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = module[manifest.kind];
  assert.ok(model, `kubernetes-models has no ${manifest.kind} in ${manifest.apiVersion}`);
  return model;
}

const deploymentOf = (manifests: Manifest[]): any => manifests.find((m) => m.kind === 'Deployment')!.spec;
const containerOf = (manifests: Manifest[]): any => deploymentOf(manifests).template.spec.containers[0];

test('every file a kustomization names exists, and every manifest beside it is named', () => {
  for (const dir of [BASE, OVERLAY]) {
    const k = kustomization(dir);
    const named = new Set<string>();
    for (const path of [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path), ...(k.configMapGenerator ?? []).flatMap((g) => g.files)]) {
      const full = join(dir, path);
      assert.ok(existsSync(full), `${relative(REPOSITORY, join(dir, 'kustomization.yaml'))} names ${path}, which does not exist`);
      if (statSync(full).isDirectory()) assert.ok(existsSync(join(full, 'kustomization.yaml')), `${path} is a folder without a kustomization.yaml`);
      named.add(full);
    }
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => /\.(ya?ml|graphql)$/.test(f) && !f.endsWith('kustomization.yaml'));
    for (const file of files) assert.ok(named.has(file), `${relative(REPOSITORY, file)} is not named by its kustomization`);
  }
  // The overlay replaces the base's gateway.yaml (same ConfigMap name and key).
  const replaced = kustomization(OVERLAY).configMapGenerator!.find((g) => g.name === 'tessera-config');
  assert.equal(replaced?.behavior, 'replace');
});

test('every manifest of the base and of the redis overlay (its patch applied) is valid against the Kubernetes API schemas', async () => {
  const kinds = new Set<string>();
  for (const dir of [BASE, OVERLAY]) {
    for (const manifest of build(dir).manifests) {
      const Model = await modelOf(manifest);
      assert.doesNotThrow(() => new Model(manifest).validate(), `${relative(REPOSITORY, dir)}: ${manifest.kind}/${manifest.metadata.name}`);
      kinds.add(manifest.kind);
    }
  }
  assert.deepEqual([...kinds].sort(), ['Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
  // The validation does catch a mistake: a port given as text.
  const broken = build(BASE).manifests.find((m) => m.kind === 'Deployment')!;
  const bad = merge(broken, { spec: { template: { spec: { containers: [{ name: 'tessera', ports: [{ name: 'http', containerPort: '4000' }] }] } } } });
  const Model = await modelOf(bad);
  assert.throws(() => new Model(bad).validate(), /containerPort must be integer/);
});

test('ports, environment, shutdown timing and security settings agree with each gateway.yaml, parsed by the gateway itself', () => {
  for (const dir of [BASE, OVERLAY]) {
    const where = relative(REPOSITORY, dir);
    const { manifests, configFiles } = build(dir);
    const deployment = deploymentOf(manifests);
    const pod = deployment.template.spec;
    const container = containerOf(manifests);
    // The values the Deployment gives, and for those from the Secret a stand-in as long as the gateway asks of a secret.
    const env = Object.fromEntries((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value ?? `value-of-${e.name}-`.padEnd(40, 'x')]));
    // The file TESSERA_CONFIG names is the generated ConfigMap's key, at the mount the Deployment gives it.
    const mount = (container.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => env.TESSERA_CONFIG!.startsWith(`${m.mountPath}/`))!;
    const volume = (pod.volumes as Array<{ name: string; configMap?: { name: string } }>).find((v) => v.name === mount.name)!;
    const file = configFiles.get(`${volume.configMap!.name}/${env.TESSERA_CONFIG!.split('/').pop()}`);
    assert.ok(file, `${where}: TESSERA_CONFIG names a file of a ConfigMap the Deployment mounts`);
    // Only the variables the Deployment sets: a ${VAR} it does not set would stop start-up here as it would in the pod.
    const config = parseGatewayConfig(readYaml(file), file, { ...env, ...(env.TESSERA_REDIS_URL && { TESSERA_REDIS_URL: 'redis://redis:6379' }) });
    const ports = new Map((container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
    assert.equal(ports.get('http'), config.server.port, `${where}: the http port is server.port`);
    assert.equal(ports.get('admin'), config.admin?.port, `${where}: the admin port is admin.port`);
    assert.equal(config.server.host, '0.0.0.0', `${where}: the gateway listens on the pod's address`);
    const annotations = deployment.template.metadata.annotations as Record<string, string>;
    assert.equal(annotations['prometheus.io/port'], String(config.admin?.port), `${where}: the scrape port is the admin listener's`);
    assert.equal(annotations['prometheus.io/path'], config.telemetry.metrics.path);
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(config.telemetry.metrics.enabled, true);
    assert.ok(config.security.cursors.secret, `${where}: one cursor secret for every replica`);
    assert.ok(config.admin?.credential, `${where}: the admin listener asks for a credential`);
    const secretKeys = (container.env as Array<{ valueFrom?: { secretKeyRef?: { name: string; key: string } } }>).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    assert.ok(secretKeys.every((k) => k.name === 'tessera'), 'every secret comes from the Secret `tessera`');
    if (dir === OVERLAY) {
      assert.equal(config.store.url, 'redis://redis:6379', 'the shared store is the Secret\'s Redis URL');
      assert.equal(config.registry.url, 'redis://redis:6379', 'and so is the registry');
      assert.ok(secretKeys.some((k) => k.key === 'redis-url'));
      assert.ok(deployment.replicas >= 3);
    } else {
      assert.equal(config.store.url, 'memory');
      assert.equal(config.descriptors, (container.volumeMounts as Array<{ name: string; mountPath: string }>).find((m) => m.name === 'descriptors')!.mountPath, 'descriptors: is the descriptors ConfigMap\'s mount');
    }
    // Every service and network-policy port names a container port.
    for (const manifest of manifests.filter((m) => m.kind === 'Service' && m.metadata.name === 'tessera')) {
      for (const port of manifest.spec.ports) assert.ok(ports.has(port.targetPort), `Service port ${port.name} targets a named container port`);
    }
    const policy = manifests.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === 'tessera')!;
    for (const rule of policy.spec.ingress) for (const port of rule.ports) assert.ok(ports.has(port.port), `NetworkPolicy port ${port.port} is a named container port`);
    // Shutdown: the endpoints are removed during preStop, then SIGTERM, then the drain takes at most shutdownTimeout.
    const preStop = container.lifecycle.preStop.sleep.seconds as number;
    assert.ok(preStop >= 5, 'the load balancers hear of the removal during the preStop sleep');
    assert.ok(pod.terminationGracePeriodSeconds > preStop + config.server.shutdownTimeout / 1000, `${where}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${preStop} s + shutdownTimeout ${config.server.shutdownTimeout / 1000} s`);
    // Non-root, read-only root, nothing to escalate; the one writable path is /tmp (the Redis registry's version folders).
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.cpu && container.resources.limits.memory);
    assert.equal(container.command, undefined, 'the image\'s entrypoint runs (tessera serve)');
  }
});

test('the probe paths and the metrics path answer on a running gateway configured as in the manifests', async (t) => {
  const container = containerOf(build(BASE).manifests);
  const annotations = deploymentOf(build(BASE).manifests).template.metadata.annotations as Record<string, string>;
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hi' } });
  const token = 'a-credential-for-this-test-only-0123456789';
  const gw = await startGateway(t, [{ name: 'hello', kind: 'graphql', url: upstream.url }], {
    mode: 'production',
    admin: { host: '127.0.0.1', port: 0, credential: token },
    telemetry: { metrics: { enabled: true } },
  });
  for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const res = await fetch(new URL(container[probe].httpGet.path, gw.url));
    assert.equal(res.status, 200, `${probe} ${container[probe].httpGet.path}`);
  }
  assert.equal(container.startupProbe.httpGet.path, '/healthz');
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  const scrape = await fetch(new URL(annotations['prometheus.io/path']!, gw.adminUrl), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(scrape.status, 200);
  assert.match(await scrape.text(), /tessera_requests_total/);
});

/** One Dockerfile instruction per line, continuations joined; `FROM` opens a stage. */
function dockerfile(): Array<{ from: string; name?: string; lines: Array<[string, string]> }> {
  const text = readFileSync(join(REPOSITORY, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const stages: Array<{ from: string; name?: string; lines: Array<[string, string]> }> = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (instruction === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ from, name, lines: [] });
    } else stages.at(-1)!.lines.push([instruction, rest]);
  }
  return stages;
}

test('the Dockerfile: multi-stage, production dependencies only, non-root, no dev tools or shell in the final stage, exec-form tessera serve with a health check', async () => {
  const stages = dockerfile();
  assert.ok(stages.length >= 2, 'multi-stage');
  const final = stages.at(-1)!;
  const get = (name: string) => final.lines.filter(([i]) => i === name).map(([, rest]) => rest);
  assert.match(final.from, /^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/, 'a distroless Node image: no shell, no npm');
  assert.deepEqual(get('RUN'), [], 'nothing is installed or built in the final stage');
  const user = get('USER').at(-1);
  assert.ok(user && !/^(0|root)(:|$)/.test(user), `USER ${user} is not root`);
  const deploymentUser = deploymentOf(build(BASE).manifests).template.spec.securityContext.runAsUser;
  assert.equal(user, `${deploymentUser}:${deploymentUser}`, 'the user the Deployment runs as');
  for (const copy of get('COPY')) {
    const from = /--from=(\S+)/.exec(copy)?.[1];
    if (from) assert.ok(stages.some((s) => s.name === from), `COPY --from=${from} is a stage of this file`);
  }
  const depsStage = stages.find((s) => final.lines.some(([i, r]) => i === 'COPY' && r.includes(`--from=${s.name}`) && r.includes('node_modules')))!;
  assert.ok(depsStage.lines.some(([i, r]) => i === 'RUN' && /npm ci\b.*--omit=dev/.test(r)), 'node_modules of the final stage: production dependencies only');

  const entrypoint = JSON.parse(get('ENTRYPOINT').at(-1)!) as string[];
  const cmd = JSON.parse(get('CMD').at(-1)!) as string[];
  assert.equal(entrypoint[0], '/nodejs/bin/node', 'exec form: SIGTERM goes to Node itself, not to a shell or npm');
  assert.ok(!entrypoint.concat(cmd).some((a) => /^(npm|npx|sh|bash|tsx)$/.test(a)));
  // The fleet test's command: the same entry (bin/tessera.js runs dist/cli/bin.js, compiled from src/cli/bin.ts) and the same command word.
  assert.deepEqual(entrypoint.slice(1), [...NODE_FLAGS, IMAGE_ENTRY, ...SERVE]);
  assert.match(readFileSync(join(REPOSITORY, IMAGE_ENTRY), 'utf8'), /\.\.\/dist\/cli\/bin\.js/);
  const build_ = JSON.parse(readFileSync(join(REPOSITORY, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
  assert.equal(SOURCE_ENTRY.replace(build_.compilerOptions.rootDir, build_.compilerOptions.outDir).replace(/\.ts$/, '.js'), 'dist/cli/bin.js');
  const env = get('ENV').join(' ');
  assert.match(env, /TESSERA_CONFIG=\/etc\/tessera\/config\/gateway\.yaml/, 'the configuration where the Deployment mounts it');
  assert.equal(containerOf(build(BASE).manifests).env.find((e: { name: string }) => e.name === 'TESSERA_CONFIG').value, '/etc/tessera/config/gateway.yaml');

  // Every flag the image, the Deployment and the fleet pass is one `tessera serve --help` lists, and so is TESSERA_CONFIG.
  const help = await runTessera(['serve', '--help']);
  assert.equal(help.code, 0, help.stderr);
  const flags = new Set([...help.stdout.matchAll(/(?:^|\s)(--[a-z-]+)/g)].map((m) => m[1]));
  const args = [...cmd, ...REPLICA_FLAGS, ...(containerOf(build(OVERLAY).manifests).args ?? [])].filter((a) => a.startsWith('--'));
  for (const flag of args) assert.ok(flags.has(flag), `${flag} is a flag of tessera serve (${[...flags].join(' ')})`);
  assert.match(help.stdout, /TESSERA_CONFIG/);

  const healthcheck = get('HEALTHCHECK').at(-1)!;
  const probe = JSON.parse(/CMD (\[.*\])$/.exec(healthcheck)![1]!) as string[];
  assert.equal(probe[0], '/nodejs/bin/node');
  const port = (readYaml(join(BASE, 'gateway.yaml')) as { server: { port: number } }).server.port;
  assert.ok(probe.join(' ').includes(`http://127.0.0.1:${port}/healthz`), 'the health check asks /healthz on server.port');

  const ignore = readFileSync(join(REPOSITORY, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '**', 'the build context is an allowlist: node_modules, dist, .git never enter it');
  assert.ok(!ignore.some((l) => /node_modules|dist|\.git/.test(l) && l.startsWith('!')));
  // What the build stages COPY is in the context.
  for (const stage of stages) {
    for (const [i, rest] of stage.lines) {
      if (i !== 'COPY' || rest.includes('--from=')) continue;
      for (const source of rest.split(/\s+/).slice(0, -1)) {
        assert.ok(ignore.includes(`!${source}`) || ignore.includes(`!${source.replace(/\/$/, '')}/**`), `COPY ${source}: allowed by .dockerignore`);
      }
    }
  }
});
