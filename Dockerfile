# syntax=docker/dockerfile:1
# The Tessera image: `tessera serve` from the compiled dist/ with production
# dependencies only, as the non-root user of a distroless Node image (no
# shell, no npm, no package manager). Not built on this project's machines
# (no container engine runs there): test/integration/deploy-kubernetes.test.ts
# checks that the command below is the one `npm run test:fleet` runs.
#
#   docker build -t tessera:0.1.0 .
#   docker run --rm -p 4000:4000 -v "$PWD:/etc/tessera/config:ro" tessera:0.1.0

# 1. Build: the TypeScript compiler and every dev dependency stay in this stage.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (package-lock.json pins them, overrides included).
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

# 3. What runs: node, the compiled gateway, its runtime dependencies. Nothing else.
FROM gcr.io/distroless/nodejs22-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    TESSERA_CONFIG=/etc/tessera/config/gateway.yaml
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The distroless nonroot user (uid 65532), as deploy/kubernetes/base/deployment.yaml's runAsUser.
USER 65532:65532
EXPOSE 4000 9090
# /healthz on the GraphQL port (server.port 4000, as in deploy/kubernetes); no shell, so node asks.
HEALTHCHECK --interval=10s --timeout=2s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:4000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, node as PID 1's only process: SIGTERM reaches Node directly and starts the drain. The three flags are
# V8's, read only at start: without the first two, after an idle spell the next requests cost up to twice the CPU;
# the third sizes the young generation at 64 MB (V8's own on Node 22: 32 MB, where the data of the requests in
# progress is promoted and costs up to a third more CPU per request; src/cli/runtime.ts START_FLAGS; README, Memory).
ENTRYPOINT ["/nodejs/bin/node", "--no-memory-reducer", "--no-flush-bytecode", "--max-semi-space-size=32", "bin/tessera.js", "serve"]
# One worker per CPU of the container's limit (cgroup quota); Kubernetes `args:` replace this.
CMD ["--workers", "auto"]
