/**
 * The import boundaries of src/ (README "Architecture"), checked by
 * `npm run lint:boundaries`, which `npm test` runs first. Each rule names
 * what it forbids and why; a wrong import fails with the rule's name and
 * the comment below.
 *
 * Layers, outermost first: cli/ → gateway.ts, index.ts → server/ →
 * plugins/ → execution/ → compose/ → sources/ → transport/ → config/.
 * Beside them: store/ (shared state), and the neutral modules every layer may
 * import: request-scope.ts, errors.ts, logger.ts, events.ts (diagnostics channel names and messages).
 */
const layer = (name) => `^src/${name}/`;

module.exports = {
  forbidden: [
    {
      name: 'config-is-data',
      comment:
        'config/ describes and validates what the user wrote; it runs nothing. Importing a layer that does work would make loading a config file start that work.',
      severity: 'error',
      from: { path: layer('config') },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/errors\\.ts$'] },
    },
    {
      name: 'transport-knows-no-graphql-policy',
      comment:
        'transport/ moves bytes to and from upstreams (pools, channels, retries, breakers). It must not depend on how GraphQL is sourced, composed, planned, served or policed, so a change there cannot change how a socket is used.',
      severity: 'error',
      from: { path: layer('transport') },
      to: { path: ['^src/(sources|compose|execution|plugins|server|cli|store|registry|telemetry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'sources-know-nothing-of-serving-or-policy',
      comment:
        'A source turns a descriptor into a schema and an executor. It must work the same whoever serves it and whatever policy runs, so it may use transport/ and config/, never server/, plugins/, compose/ or execution/. One exception: execution/collect-fields.ts, the GraphQL spec\'s CollectFields (it imports only graphql), which the compiled executors of sources/ share with the result check so that field collection is written once.',
      severity: 'error',
      from: { path: layer('sources') },
      to: {
        path: ['^src/(compose|execution|plugins|server|cli|store|registry|telemetry)/', '^src/(gateway|index)\\.ts$'],
        pathNot: '^src/execution/collect-fields\\.ts$',
      },
    },
    {
      name: 'compose-is-pure',
      comment:
        'compose/ takes schemas and returns a schema: no I/O, so it is snapshot-testable and can build the next graph off the request path. It may read source types and config, never transport/ (sockets), store/, plugins/ or server/.',
      severity: 'error',
      from: { path: layer('compose') },
      to: { path: ['^src/(transport|execution|plugins|server|cli|store|registry|telemetry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'compose-does-no-io',
      comment: 'compose/ does no I/O: no files, sockets, HTTP or gRPC clients, Redis.',
      severity: 'error',
      from: { path: layer('compose') },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        path: ['^(node:)?(fs|fs/promises|net|tls|http|http2|https|dgram|child_process|dns)$', '(^|/)node_modules/(undici|@grpc/grpc-js|ioredis)/'],
      },
    },
    {
      name: 'plugins-reach-upstreams-through-executors',
      comment:
        'A plugin is policy: it reaches upstream calls through executor hooks, never transport/ internals, and it does not know how it is served (server/) or started (cli/).',
      severity: 'error',
      from: { path: layer('plugins') },
      to: { path: ['^src/(transport|server|cli|registry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'execution-is-below-serving',
      comment: 'execution/ runs operations against sources; serving (server/), starting (cli/) and policy (plugins/) sit above it.',
      severity: 'error',
      from: { path: layer('execution') },
      to: { path: ['^src/(plugins|server|cli|registry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'store-is-shared-state-only',
      comment: 'store/ keeps shared state (memory, Redis, the cluster link). It serves every layer above and depends on none of them.',
      severity: 'error',
      from: { path: layer('store') },
      to: { path: ['^src/(transport|sources|compose|execution|plugins|server|cli|registry|telemetry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'registry-only-finds-descriptors',
      comment:
        'registry/ says where descriptors live (a folder, later Redis), when they change, and which schema versions are still served and what they hold. It reads descriptors through config/ and never loads, composes or serves them itself (the gateway does), so a second registry cannot change how a request is served.',
      severity: 'error',
      from: { path: layer('registry') },
      to: { path: ['^src/(transport|sources|compose|execution|plugins|server|cli|store|telemetry|checks)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'server-calls-no-upstream',
      comment: 'server/ wires node:http and Yoga; upstream calls happen below the plugins, never from here.',
      severity: 'error',
      from: { path: layer('server') },
      to: { path: ['^src/(transport|cli)/'] },
    },
    {
      name: 'telemetry-only-observes',
      comment:
        'telemetry/ counts what happens through diagnostics channels (subscribed by name) and plugin hooks; it reads config and never imports transport/, sources/ or other layers\' internals, so metrics cannot change how a call is made.',
      severity: 'error',
      from: { path: layer('telemetry') },
      to: { path: ['^src/(transport|sources|compose|execution|plugins|server|cli|store|registry)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'checks-read-what-runs-and-serve-nothing',
      comment:
        'checks/ reads the schemas that run (snapshot files, a running gateway over GraphQL) and client operations for `tessera check`; the comparison itself is pure, in compose/. It serves nothing and calls no upstream, so it never imports server/, transport/, execution/, store/ or the gateway, and only cli/ imports it.',
      severity: 'error',
      from: { path: layer('checks') },
      to: { path: ['^src/(transport|execution|server|cli|store|telemetry|sources)/', '^src/(gateway|index)\\.ts$'] },
    },
    {
      name: 'only-the-cli-runs-checks',
      comment: 'checks/ is `tessera check`\'s: the gateway that serves requests never compares schemas.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cli/', '^src/checks/'] },
      to: { path: layer('checks') },
    },
    {
      name: 'nobody-imports-the-cli',
      comment: 'cli/ is the outermost layer: it parses arguments and exits processes. Nothing in src/ may depend on it.',
      severity: 'error',
      from: { path: '^src/', pathNot: layer('cli') },
      to: { path: layer('cli') },
    },
    {
      name: 'neutral-modules-stay-neutral',
      comment:
        'request-scope.ts, errors.ts, logger.ts and events.ts are imported by every layer, so they import no layer themselves (else every layer would depend on that one).',
      severity: 'error',
      from: { path: '^src/(request-scope|errors|logger|events)\\.ts$' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'The gateway never depends on its tests, benchmarks, scripts or demo subgraphs.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|subgraphs)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
