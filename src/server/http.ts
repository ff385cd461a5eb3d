/**
 * node:http wiring: limits that must hold before any GraphQL work (header
 * size and count, body size by Content-Length, slow clients), the health
 * endpoints, and draining on shutdown. GraphQL requests go to the Yoga
 * instance of the channel their path names.
 */
import { channel } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/gateway.js';
import { acceptRequestId } from '../plugins/use-request-account.js';
import { adminEndpointAt, serveAdmin, type AdminEndpoints } from './admin.js';
import { sendError, sendJson } from './answer.js';
import { listenerTls } from './tls.js';
import type { Cors } from './cors.js';
import type { GatewayYoga } from './yoga.js';
import { jsonPostServer, mayStream, takesJsonPost } from './json-post.js';
import { EVENTS, type HttpRefusalEvent } from '../events.js';
import { Admission } from './admission.js';

export interface HttpServerOptions {
  config: ServerConfig;
  logger: Logger;
  /**
   * The Yoga instance serving a path (one per channel). `res` is the
   * response it is for: the caller may hold what serves it (its schema
   * version) until `res` emits 'close', which it always does, whatever the
   * answer.
   */
  route: (path: string, res: ServerResponse) => GatewayYoga | undefined;
  /** Every GraphQL path served (for the 404 message). */
  paths: () => string[];
  /**
   * The CORS policy of the channel at a path (undefined: CORS off there, or no
   * channel), so the answers node:http gives itself (413, 431, 503) carry the
   * same CORS headers as Yoga's and a page on an allowed origin can read why.
   */
  cors?: (path: string) => Cors | undefined;
  /** Folder relative TLS file paths are resolved against (gateway.yaml's). */
  baseDir?: string;
  /** Why nothing is served yet (a gateway started on an empty Redis registry): /readyz is 503 `empty` and every GraphQL path NO_SCHEMA_YET. */
  notServing?: () => string | undefined;
  /** Required subgraphs that have never answered (server.readiness: answered); /readyz is not ready while there are any. */
  waitingFor?: () => readonly string[];
  /** Required health-checked subgraphs with no instance up, with each instance's reason (server.readiness: healthy); /readyz is not ready while there are any. */
  unhealthy?: () => Record<string, Record<string, string>>;
  /**
   * Admin endpoints (/metrics, /admin/...) served here when no admin listener
   * is configured (server/admin.ts); absent: their paths are 404s like any other.
   */
  admin?: AdminEndpoints;
  /**
   * Tests only: false sends every request through Yoga's own pipeline, so a
   * test can compare it with the JSON POST path (server/json-post.ts). Default true.
   */
  jsonPost?: boolean;
}

export interface GatewayHttpServer {
  server: Server;
  /** The request listener, for hosts that run their own node:http server. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish within the timeout, then cuts what is left. */
  drain(timeoutMs: number): Promise<{ completed: number; cut: number }>;
  readonly draining: boolean;
  readonly inFlight: number;
  /** Listening with TLS (server.tls). */
  readonly secure: boolean;
}

export const httpRefusalChannel = channel(EVENTS.httpRefusal);

/** At most one log line per this many ms for the auto admission limit starting or stopping (server/admission.ts). */
const ADMISSION_LOG_INTERVAL_MS = 10_000;

/** At most one log line per this many ms for node:http's own refusals; the line counts those not logged. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

function refusalOf(error: NodeJS.ErrnoException): HttpRefusalEvent {
  if (error.code === 'HPE_HEADER_OVERFLOW') return { reason: 'headers_too_large', status: 431 };
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { reason: 'request_timeout', status: 408 };
  return { reason: 'bad_request', status: 400 };
}

const STATUS_LINE = { 400: '400 Bad Request', 408: '408 Request Timeout', 431: '431 Request Header Fields Too Large' } as const;

export function createHttpServer(options: HttpServerOptions): GatewayHttpServer {
  const { config, logger } = options;
  let draining = false;
  let inFlight = 0;
  const idleWaiters: Array<() => void> = [];
  const sockets = new Set<Socket>();
  // Event streams (SSE subscriptions) never finish by themselves; draining ends them first.
  const streams = new Set<ServerResponse>();

  // Only refusals look this up; an answer from Yoga gets its headers from the CORS plugin.
  const corsOf = (req: IncomingMessage, path: string): Readonly<Record<string, string>> => options.cors?.(path)?.answerHeaders(req.headers.origin ?? null, req.method ?? 'GET') ?? {};
  // A refusal given here, before Yoga, echoes the request id as Yoga's answers do (plugins/use-request-account.ts).
  const refusalHeaders = (req: IncomingMessage, path: string): Record<string, string> => {
    const given = req.headers['x-request-id'];
    return { ...corsOf(req, path), 'x-request-id': acceptRequestId(typeof given === 'string' ? given : null) };
  };

  // The auto limit's changes: one line when it starts or stops limiting, at most one per ADMISSION_LOG_INTERVAL_MS
  // (the line counts the changes not logged); a change of the limit's size alone is the metric's.
  let limitChanges = 0;
  let limitLoggedAt = -Infinity;
  const admission =
    config.admission === 'off'
      ? undefined
      : new Admission(config.admission, {
          onLimit: (limit, previous, state) => {
            if (Number.isFinite(limit) === Number.isFinite(previous)) return;
            limitChanges++;
            const now = performance.now();
            if (now - limitLoggedAt < ADMISSION_LOG_INTERVAL_MS) return;
            const fields = { limit: Number.isFinite(limit) ? limit : null, active: state.active, queued: state.queued, changes: limitChanges };
            if (Number.isFinite(limit)) {
              logger.info(fields, `admission: the event loop is saturated; at most ${limit} GraphQL requests are worked on at once, the others wait in arrival order (server.admission: auto; ${limitChanges} change(s) since the last such line)`);
            } else {
              logger.info(fields, `admission: the event loop has time to spare again; every GraphQL request starts as it arrives (server.admission: auto; ${limitChanges} change(s) since the last such line)`);
            }
            limitChanges = 0;
            limitLoggedAt = now;
          },
        });

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      // The server is created once every required subgraph is loaded and composed; then a subgraph that never
      // answered (a load balancer would send traffic that can only fail) or draining makes it unready.
      if (draining) return sendJson(res, 503, { status: 'draining' });
      const nothing = options.notServing?.();
      if (nothing !== undefined) return sendJson(res, 503, { status: 'empty', reason: nothing });
      const waiting = options.waitingFor?.() ?? [];
      if (waiting.length > 0) return sendJson(res, 503, { status: 'waiting', subgraphs: waiting });
      const unhealthy = options.unhealthy?.() ?? {};
      if (Object.keys(unhealthy).length > 0) return sendJson(res, 503, { status: 'unhealthy', subgraphs: unhealthy });
      return sendJson(res, 200, { status: 'ready' });
    }
    const adminEndpoint = options.admin && adminEndpointAt(options.admin, path);
    if (adminEndpoint) return serveAdmin(adminEndpoint, req, res, path, logger);
    // The header count is checked here, not by node:http (maxHeadersCount below), so the 431 is the catalog's, with CORS headers.
    if (req.rawHeaders.length > config.maxHeaders * 2) {
      return sendError(res, 'HEADERS_TOO_LARGE', `More than ${config.maxHeaders} request headers.`, { ...refusalHeaders(req, path), connection: 'close' });
    }
    if (draining) {
      return sendError(res, 'SHUTTING_DOWN', 'The gateway is shutting down; retry on another instance.', { ...refusalHeaders(req, path), connection: 'close', 'retry-after': '1' });
    }
    const yoga = options.route(path, res);
    const nothing = yoga ? undefined : options.notServing?.();
    if (nothing !== undefined && options.paths().includes(path)) return sendError(res, 'NO_SCHEMA_YET', `No schema to serve yet: ${nothing}`, { ...refusalHeaders(req, path), 'retry-after': '1' });
    // No channel here, so no CORS policy: the 404 says nothing to other origins.
    if (!yoga) return sendError(res, 'NOT_FOUND', `No endpoint at ${path}; GraphQL is served at ${options.paths().join(', ')}`);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > config.bodyLimit) {
      // Refused before a byte of the body is read; the connection is closed so the rest is not read either.
      return sendError(res, 'PAYLOAD_TOO_LARGE', `Request body is ${declared} bytes; the limit is ${config.bodyLimit}.`, { ...refusalHeaders(req, path), connection: 'close' });
    }
    inFlight++;
    // A response emits 'close' once, after 'finish' or when its connection is lost first.
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idleWaiters.splice(0).forEach((wake) => wake());
    });
    if (req.headers.accept?.includes('text/event-stream')) {
      streams.add(res);
      res.once('close', () => streams.delete(res));
    }
    // A POST of application/json with a Content-Length (nearly every request) skips Yoga's generic pipeline
    // around the same hooks (server/json-post.ts); everything else is served by Yoga itself.
    const lean = options.jsonPost !== false && takesJsonPost(req) ? jsonPostServer(yoga) : undefined;
    const start = (): void => {
      Promise.resolve(lean ? lean.serve(req, res) : yoga.requestListener(req, res)).catch((error: unknown) => {
        logger.error({ err: error }, 'unhandled error while serving a request');
        sendError(res, 'INTERNAL', 'Internal error', corsOf(req, path));
      });
    };
    // Started now, or once the requests worked on leave room (server.admission); a streamed answer starts now.
    if (admission && !mayStream(req)) admission.admit(req, res, start);
    else start();
  };

  const httpOptions: ServerOptions = {
    maxHeaderSize: config.maxHeaderSize,
    headersTimeout: config.headersTimeout,
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    // How often Node looks for requests past headersTimeout/requestTimeout (slowloris); its default is 30 s.
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(Math.min(config.headersTimeout, config.requestTimeout) / 4))),
  };
  const tls = config.tls ? listenerTls(config.tls, options.baseDir ?? process.cwd()) : undefined;
  const server: Server = tls ? createHttpsServer({ ...httpOptions, ...tls.options }, handler) : createServer(httpOptions, handler);
  // Certificate files are watched while listening only (from listen() to drain()).
  let stopTlsReload = (): void => undefined;
  // No count limit in node:http itself: past maxHeadersCount, Node 20 drops the extra headers and Node 24 refuses the
  // request in its parser (a bare 431 from 'clientError', no error body, no CORS headers). The handler counts instead;
  // the header block's bytes stay bounded by maxHeaderSize.
  server.maxHeadersCount = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // node:http's own refusals: one warning per REFUSAL_LOG_INTERVAL_MS at most, with how many there were since the last.
  let refusalsUnlogged = 0;
  let refusalLoggedAt = -Infinity;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const refusal = refusalOf(error);
    socket.end(`HTTP/1.1 ${STATUS_LINE[refusal.status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    if (httpRefusalChannel.hasSubscribers) httpRefusalChannel.publish(refusal);
    refusalsUnlogged++;
    const now = performance.now();
    if (now - refusalLoggedAt < REFUSAL_LOG_INTERVAL_MS) return;
    logger.warn(
      { status: refusal.status, reason: refusal.reason, error: error.code, refused: refusalsUnlogged, remoteAddress: socket.remoteAddress },
      `node:http refused ${refusalsUnlogged} request(s) before the gateway saw them (latest: ${refusal.status}, ${refusal.reason}); at most one such line per ${REFUSAL_LOG_INTERVAL_MS / 1000} s. Oversized headers: server.maxHeaderSize; timeouts: server.headersTimeout / server.requestTimeout; bad_request: a client that does not speak HTTP/1.1`,
    );
    refusalsUnlogged = 0;
    refusalLoggedAt = now;
  });

  return {
    server,
    handler,
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    secure: Boolean(tls),
    listen(port, host) {
      if (tls) stopTlsReload = tls.watch(server as unknown as { setSecureContext(o: object): void }, logger);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async drain(timeoutMs) {
      draining = true;
      stopTlsReload();
      admission?.stop();
      const before = inFlight;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const stream of streams) stream.end();
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([idle.then(() => 'idle' as const), timedOut]);
      clearTimeout(timer);
      const cut = outcome === 'timeout' ? inFlight : 0;
      if (cut > 0) logger.warn({ cut, timeoutMs }, 'shutdown timeout reached; closing connections with requests still in flight');
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      return { completed: before - cut, cut };
    },
  };
}
