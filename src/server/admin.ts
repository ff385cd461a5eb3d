/**
 * Admin endpoints: /metrics, the admin API under /admin/ and whatever else
 * the person on call uses (the status page mounts here the same way). One
 * table, path → handler (`AdminEndpoints`), served by the admin listener
 * when gateway.yaml has `admin:`, otherwise by the main listener (http.ts),
 * never by both.
 *
 * The admin listener is its own node:http server: every request needs the
 * admin credential when one is configured (`authorization: Bearer ...`,
 * compared in constant time), refusals are logged at warn, actions at info,
 * each with the request's id (x-request-id, echoed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import type { AdminConfig } from '../config/admin.js';
import { isConfigError, isTesseraError, TesseraError } from '../errors.js';
import type { Logger } from '../logger.js';
import { acceptRequestId } from '../plugins/use-request-account.js';
import { LOG_LEVELS, type LogLevelControl } from '../telemetry/log-level.js';
import type { BodySampler } from '../telemetry/sampling.js';
import { worstBreaker, type BreakerState } from '../telemetry/status.js';
import type { AdminCanaries, AdminGroup, GroupView, WorkerAdminState } from './admin-group.js';
import { sendError, sendJson } from './answer.js';

export interface AdminContext {
  /** The request's id (x-request-id when safe, else generated), echoed in the answer. */
  requestId: string;
  logger: Logger;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, context: AdminContext) => void | Promise<void>;

/** Path → handler. A path ending in `/` serves every path under it (a page and its files). */
export type AdminEndpoints = ReadonlyMap<string, AdminHandler>;

/** The handler for `path`: its own entry, else the entry of the longest folder (`/x/`) holding it. */
export function adminEndpointAt(endpoints: AdminEndpoints, path: string): AdminHandler | undefined {
  const exact = endpoints.get(path);
  if (exact) return exact;
  let found: { prefix: string; handler: AdminHandler } | undefined;
  for (const [prefix, handler] of endpoints) {
    if (prefix.endsWith('/') && path.startsWith(prefix) && (!found || prefix.length > found.prefix.length)) found = { prefix, handler };
  }
  return found?.handler;
}

/** Runs one admin handler: the request id echoed, a thrown TesseraError answered with its code, anything else INTERNAL. */
export function serveAdmin(handler: AdminHandler, req: IncomingMessage, res: ServerResponse, path: string, logger: Logger): void {
  const given = req.headers['x-request-id'];
  const requestId = acceptRequestId(typeof given === 'string' ? given : null);
  res.setHeader('x-request-id', requestId);
  const failed = (error: unknown): void => {
    if (isTesseraError(error)) {
      logger.warn({ requestId, path, method: req.method, code: error.code, reason: error.message }, 'admin request refused');
      return sendError(res, error.code, error.message);
    }
    logger.error({ err: error, requestId, path }, 'admin endpoint failed');
    sendError(res, 'INTERNAL', `The admin endpoint ${path} failed; see the gateway's log for request ${requestId}`);
  };
  try {
    Promise.resolve(handler(req, res, { requestId, logger })).catch(failed);
  } catch (error) {
    failed(error);
  }
}

/** Prometheus text from `scrape()` (telemetry/metrics.ts). */
export function metricsEndpoint(metrics: { contentType: string; scrape(): Promise<string> }): AdminHandler {
  return async (_req, res) => {
    const text = await metrics.scrape();
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };
}

/** Largest admin API request body. */
const ADMIN_BODY_LIMIT = 16 * 1024;
/** Largest POST /admin/registry/publish body: descriptors with their schema files (a large OpenAPI document). */
const PUBLISH_BODY_LIMIT = 4 * 1024 * 1024;
/** Longest a raised log level or a sampling window lasts. */
export const ADMIN_MAX_SECONDS = 3600;

const seconds = z.number().int('expected a whole number of seconds').min(1).max(ADMIN_MAX_SECONDS);
const logLevelRequest = z.strictObject({ level: z.enum(LOG_LEVELS), durationSeconds: seconds });
const rollbackRequest = z.strictObject({ subgraph: z.string().min(1), to: z.string().min(1).optional(), by: z.string().min(1).default('admin API') });
const canaryRestoreRequest = z.strictObject({ subgraph: z.string().min(1), version: z.string().min(1), by: z.string().min(1).max(200).default('admin API') });
const publishRequest = z.strictObject({
  descriptors: z
    .array(
      z.strictObject({
        /** The descriptor file's name (`subgraph.yaml`). */
        file: z.string().min(1),
        /** Its text, as in the file. */
        text: z.string().min(1),
        /** The local files it names (schema source, protos), by path relative to it. */
        files: z.record(z.string().min(1), z.string()).default({}),
      }),
    )
    .min(1, 'give at least one descriptor'),
  by: z.string().min(1).default('admin API'),
  reason: z.string().min(1).optional(),
  /** Why a breaking change is let through (as --allow-breaking); without it a breaking change is refused (409). */
  allowBreaking: z.string().trim().min(1, 'allowBreaking needs a reason (recorded with the version)').optional(),
  /** As --stage: "10%" or "header:x-canary"; the versions are staged, not made current. */
  stage: z.string().min(1).optional(),
});
const promoteRequest = z.strictObject({ subgraph: z.string().min(1), by: z.string().min(1).default('admin API') });
const sampleRequest = z.strictObject({
  subgraph: z.string().min(1),
  durationSeconds: seconds.default(60),
  maxBodies: z.number().int('expected a whole number').min(1).max(1000).default(50),
});

function badRequest(message: string): TesseraError {
  return new TesseraError('BAD_REQUEST', message);
}

/** The JSON body of an admin request, checked against `schema`; every problem names its field. */
async function readBody<T extends z.ZodType>(req: IncomingMessage, schema: T, limit = ADMIN_BODY_LIMIT): Promise<z.output<T>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new TesseraError('PAYLOAD_TOO_LARGE', `Admin request body is over ${limit} bytes`);
    chunks.push(chunk);
  }
  let data: unknown;
  try {
    data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw badRequest(`The body is not JSON (${(error as Error).message}); send e.g. {"level":"debug","durationSeconds":300}`);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: unknown field`;
    return `${issue.path.join('.') || 'body'}: ${issue.message}`;
  });
  throw badRequest(problems.join('; '));
}

function onlyMethods(req: IncomingMessage, methods: readonly string[], path: string): void {
  if (!methods.includes(req.method ?? 'GET')) throw badRequest(`${path} answers ${methods.join(' and ')}, not ${req.method}`);
}

export interface AdminApiOptions {
  /** What GET /admin/status answers (the gateway's subgraphs, instances, schema, channels), with each instance's breaker state from `breakerOf`. */
  status(breakerOf: (subgraph: string, instance: string) => BreakerState): Record<string, unknown>;
  /** This process's breakers, log level and sampling windows. */
  state(): WorkerAdminState;
  /** The subgraphs that can be sampled. */
  subgraphs(): readonly string[];
  logLevel: LogLevelControl;
  sampler: BodySampler;
  /** The process group of `tessera serve --workers N`: every endpoint then answers for all its workers (admin-group.ts). */
  group?: AdminGroup;
  /** Reloads the descriptors (hot reload); resolves with the attempt's outcome, `result` loaded, unchanged or failed. */
  reload(): Promise<{ result: string }>;
  /** The canaries of the descriptors with `canary:` (GET /admin/canary, POST /admin/canary/restore). */
  canaries: AdminCanaries;
  /** The Redis registry (`registry.url`); absent, /admin/registry answers 404 naming the setting. */
  registry?: {
    /** Revision, every subgraph's versions (without their stored texts), and the replicas that reported. */
    list(): Promise<Record<string, unknown>>;
    /** As `tessera rollback`; a ConfigError when there is no such subgraph or version. */
    rollback(subgraph: string, by: string, to?: string): Promise<Record<string, unknown>>;
    /**
     * As `tessera publish` (its check included); `ok` false when the check refused it. Absent when the gateway was
     * not given a publisher (GatewayOptions.publisher; `tessera serve` gives one): then a 404 says so.
     */
    publish?(request: z.output<typeof publishRequest>): Promise<{ ok: boolean } & Record<string, unknown>>;
    /** As `tessera promote`; a ConfigError when no version of the subgraph is staged. */
    promote(subgraph: string, by: string): Promise<Record<string, unknown>>;
  };
}

/** The paths of the admin API (adminApiEndpoints), which no other admin endpoint may take. */
export const ADMIN_API_PATHS = ['/admin/status', '/admin/log-level', '/admin/sample', '/admin/reload', '/admin/registry', '/admin/registry/rollback', '/admin/canary', '/admin/canary/restore', '/admin/registry/publish', '/admin/registry/promote'] as const;

/** An answer for the group: the receiving worker's own, plus the group's view (admin-group.ts). */
function groupAnswer<T extends object>(own: T, view: GroupView<unknown>): T & GroupView<unknown> {
  const { pid, workers, missing, groupError } = view;
  return { ...own, pid, workers, missing, ...(groupError !== undefined && { groupError }) };
}

/**
 * The admin API's endpoints, for the table: GET /admin/status, GET|POST /admin/log-level, GET|POST /admin/sample,
 * POST /admin/reload, GET /admin/registry, POST /admin/registry/rollback, GET /admin/canary, POST /admin/canary/restore.
 */
export function adminApiEndpoints(options: AdminApiOptions): Array<[string, AdminHandler]> {
  const { logLevel, sampler, group } = options;
  const key = (subgraph: string, instance: string): string => `${subgraph} ${instance}`;
  return [
    [
      ADMIN_API_PATHS[0],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['GET'], '/admin/status');
        logger.info({ requestId }, 'admin: status read');
        if (!group) {
          const { breakers } = options.state();
          return sendJson(res, 200, options.status((subgraph, instance) => breakers[key(subgraph, instance)] ?? 'closed'));
        }
        const view = await group.ask('admin.state', [], options.state);
        const status = options.status((subgraph, instance) => worstBreaker(view.workers.map((w) => w.breakers[key(subgraph, instance)])));
        sendJson(res, 200, groupAnswer(status, { ...view, workers: view.workers.map(({ pid, logLevel: level, sampling }) => ({ pid, logLevel: level, sampling })) }));
      },
    ],
    [
      ADMIN_API_PATHS[1],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['GET', 'POST'], '/admin/log-level');
        if (req.method === 'GET') {
          logger.info({ requestId }, 'admin: log level read');
          if (!group) return sendJson(res, 200, logLevel.state());
          const { own, ...view } = await group.ask('admin.state', [], options.state);
          return sendJson(res, 200, groupAnswer(own.logLevel, { ...view, workers: view.workers.map(({ pid, logLevel: level }) => ({ pid, ...level })) }));
        }
        const { level, durationSeconds } = await readBody(req, logLevelRequest);
        if (!logLevel.isRaise(level)) throw badRequest(`level: "${level}" is not more verbose than the configured level "${logLevel.configuredLevel}"; choose one of ${LOG_LEVELS.filter((l) => logLevel.isRaise(l)).join(', ') || 'none'}`);
        const durationMs = durationSeconds * 1000;
        if (!group) return sendJson(res, 200, logLevel.raise(level, durationMs, requestId));
        const { own, ...view } = await group.ask('admin.raise-log-level', [level, durationMs, requestId], () => logLevel.raise(level, durationMs, requestId));
        sendJson(res, 200, groupAnswer(own, view));
      },
    ],
    [
      ADMIN_API_PATHS[2],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['GET', 'POST'], '/admin/sample');
        if (req.method === 'GET') {
          logger.info({ requestId }, 'admin: body sampling read');
          if (!group) return sendJson(res, 200, { sampling: sampler.current() });
          const { own, ...view } = await group.ask('admin.state', [], options.state);
          return sendJson(res, 200, groupAnswer({ sampling: own.sampling }, { ...view, workers: view.workers.map(({ pid, sampling }) => ({ pid, sampling })) }));
        }
        const { subgraph, durationSeconds, maxBodies } = await readBody(req, sampleRequest);
        const known = options.subgraphs();
        if (!known.includes(subgraph)) throw badRequest(`subgraph: no subgraph "${subgraph}"; known: ${known.join(', ')}`);
        const durationMs = durationSeconds * 1000;
        if (!group) return sendJson(res, 200, sampler.open(subgraph, durationMs, maxBodies, requestId));
        const { own, ...view } = await group.ask('admin.open-sampling', [subgraph, durationMs, maxBodies, requestId], () => sampler.open(subgraph, durationMs, maxBodies, requestId));
        sendJson(res, 200, groupAnswer(own, view));
      },
    ],
    [
      ADMIN_API_PATHS[3],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['POST'], '/admin/reload');
        logger.info({ requestId }, 'admin: reload requested');
        if (!group) {
          // 200: a new version serves, or nothing changed; 409: the reload failed and the running version still serves (`problems` says why).
          const outcome = await options.reload();
          return sendJson(res, outcome.result === 'failed' ? 409 : 200, outcome);
        }
        // Every worker starts its own reload (each loads, composes and swaps by itself); 202, since their outcomes
        // come later: in each worker's log lines and in GET /admin/status's `reload`.
        const started = () => {
          void options.reload();
          return { started: true };
        };
        const { own, ...view } = await group.ask('admin.start-reload', [requestId], started);
        sendJson(res, 202, groupAnswer(own, view));
      },
    ],
    // The registry lives in Redis: any worker answers for all of them.
    [
      ADMIN_API_PATHS[4],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['GET'], '/admin/registry');
        const registry = withRegistry(options);
        logger.info({ requestId }, 'admin: registry read');
        sendJson(res, 200, await registry.list());
      },
    ],
    [
      ADMIN_API_PATHS[5],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['POST'], '/admin/registry/rollback');
        const registry = withRegistry(options);
        const { subgraph, to, by } = await readBody(req, rollbackRequest);
        logger.info({ requestId, subgraph, to, by }, 'admin: registry rollback');
        try {
          sendJson(res, 200, await registry.rollback(subgraph, by, to));
        } catch (error) {
          if (isConfigError(error)) throw badRequest(error.problems.join('; '));
          throw error;
        }
      },
    ],
    // The canary guard's state in this process (every worker's with --workers), and a guarded version's restore.
    [
      ADMIN_API_PATHS[6],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['GET'], '/admin/canary');
        logger.info({ requestId }, 'admin: canary read');
        const own = { canaries: options.canaries.states(), shared: options.canaries.sharing() };
        if (!group) return sendJson(res, 200, own);
        const { own: answered, ...view } = await group.ask('admin.canary', [], () => own);
        sendJson(res, 200, groupAnswer(answered, view));
      },
    ],
    [
      ADMIN_API_PATHS[7],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['POST'], '/admin/canary/restore');
        const { subgraph, version, by } = await readBody(req, canaryRestoreRequest);
        const states = options.canaries.states();
        const canary = states.find((c) => c.subgraph === subgraph);
        if (!canary) {
          const known = states.map((c) => String(c.subgraph));
          throw badRequest(`subgraph: "${subgraph}" has no \`canary:\` in its descriptor; subgraphs with one: ${known.join(', ') || 'none'}`);
        }
        const versions = (canary.versions as Array<{ version: string }>).map((v) => v.version);
        if (!versions.includes(version)) throw badRequest(`version: subgraph "${subgraph}" has no version "${version}"; its versions: ${versions.join(', ')}`);
        logger.info({ requestId, subgraph, version, by }, 'admin: canary restore');
        const restore = () => ({ restored: options.canaries.restore(subgraph, version, by) });
        // 200 either way: `restored` false says the version was not guarded (nothing to do).
        if (!group) return sendJson(res, 200, { subgraph, version, ...restore() });
        const { own, ...view } = await group.ask('admin.canary-restore', [subgraph, version, by], restore);
        sendJson(res, 200, groupAnswer({ subgraph, version, ...own }, view));
      },
    ],
    [
      ADMIN_API_PATHS[8],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['POST'], '/admin/registry/publish');
        const registry = withRegistry(options);
        if (!registry.publish) {
          throw new TesseraError('NOT_FOUND', 'This gateway publishes nothing itself: POST /admin/registry/publish is served by `tessera serve` (or createGateway with `publisher`); use `tessera publish`');
        }
        const request = await readBody(req, publishRequest, PUBLISH_BODY_LIMIT);
        const files = request.descriptors.map((d) => d.file);
        logger.info({ requestId, files, by: request.by, reason: request.reason, allowBreaking: request.allowBreaking, stage: request.stage }, 'admin: registry publish');
        let outcome: { ok: boolean } & Record<string, unknown>;
        try {
          outcome = await registry.publish(request);
        } catch (error) {
          if (isConfigError(error)) throw badRequest(error.problems.join('; '));
          throw error;
        }
        // 409: the check found breaking changes and no allowBreaking reason was given; nothing was published.
        if (!outcome.ok) logger.warn({ requestId, files, by: request.by }, 'admin: registry publish refused: breaking changes (see the answer\'s check), no allowBreaking reason');
        sendJson(res, outcome.ok ? 200 : 409, outcome);
      },
    ],
    [
      ADMIN_API_PATHS[9],
      async (req, res, { requestId, logger }) => {
        onlyMethods(req, ['POST'], '/admin/registry/promote');
        const registry = withRegistry(options);
        const { subgraph, by } = await readBody(req, promoteRequest);
        logger.info({ requestId, subgraph, by }, 'admin: registry promote');
        try {
          sendJson(res, 200, await registry.promote(subgraph, by));
        } catch (error) {
          if (isConfigError(error)) throw badRequest(error.problems.join('; '));
          throw error;
        }
      },
    ],
  ];
}

/** The body of POST /admin/registry/publish, checked. */
export type AdminPublishRequest = z.output<typeof publishRequest>;

/** The Redis registry, or a 404 that names the setting. */
function withRegistry(options: AdminApiOptions): NonNullable<AdminApiOptions['registry']> {
  if (!options.registry) throw new TesseraError('NOT_FOUND', 'No registry to read: /admin/registry needs the Redis registry (registry.url in gateway.yaml); the descriptors folder is the registry here');
  return options.registry;
}

/** The credential check: SHA-256 of both sides, so timingSafeEqual compares equal lengths whatever was sent. */
function credentialCheck(credential: string | undefined): (req: IncomingMessage) => boolean {
  if (credential === undefined) return () => true;
  const expected = createHash('sha256').update(`Bearer ${credential}`).digest();
  return (req) => {
    const given = req.headers.authorization;
    if (typeof given !== 'string') return false;
    return timingSafeEqual(createHash('sha256').update(given).digest(), expected);
  };
}

export interface AdminServerOptions {
  config: AdminConfig;
  endpoints: AdminEndpoints;
  logger: Logger;
}

export interface AdminServer {
  server: Server;
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight admin requests finish within the timeout, then closes every connection. */
  drain(timeoutMs: number): Promise<void>;
}

export function createAdminServer(options: AdminServerOptions): AdminServer {
  const { config, endpoints, logger } = options;
  const authorized = credentialCheck(config.credential);
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    if (!authorized(req)) {
      const given = req.headers['x-request-id'];
      const requestId = acceptRequestId(typeof given === 'string' ? given : null);
      logger.warn({ requestId, path, method: req.method, reason: req.headers.authorization ? 'wrong credential' : 'no credential' }, 'admin request refused: not authenticated');
      return sendError(res, 'UNAUTHENTICATED', 'The admin listener needs `authorization: Bearer <admin.credential>`', {
        'www-authenticate': 'Bearer realm="tessera-admin"',
        'x-request-id': requestId,
      });
    }
    const handler = adminEndpointAt(endpoints, path);
    if (!handler) return sendError(res, 'NOT_FOUND', `No admin endpoint at ${path}; served here: ${[...endpoints.keys()].join(', ')}`);
    serveAdmin(handler, req, res, path, logger);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  return {
    server,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async drain(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
