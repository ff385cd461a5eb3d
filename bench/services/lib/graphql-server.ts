/**
 * The upstreams of the benchmark: a small node:http GraphQL server, kept as
 * cheap as a Node GraphQL server can honestly be (graphql-js execution, parsed
 * and validated documents cached by query text), so that the gateway under
 * test, not its upstream, is what the benchmark measures.
 *
 * Every server binds 127.0.0.1, counts the requests it serves (GET /__stats,
 * not counted itself), and can serve several schemas at several paths (a
 * subgraph's plain schema for Tessera and its Federation schema for the peers,
 * over the same data and resolvers).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';

const BODY_LIMIT = 1024 * 1024;
const CACHE_LIMIT = 500;

export interface BenchServer {
  port: number;
  url(path?: string): string;
  readonly requests: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      req.destroy();
      return done(undefined);
    }
    chunks.push(chunk);
  });
  req.on('end', () => done(Buffer.concat(chunks)));
  req.on('error', () => done(undefined));
}

/** A GraphQL-over-HTTP POST handler for one schema, with a bounded document cache. */
export function graphqlHandler(schema: GraphQLSchema): Handler {
  const documents = new Map<string, DocumentNode | readonly GraphQLError[]>();
  const documentFor = (query: string): DocumentNode | readonly GraphQLError[] => {
    let entry = documents.get(query);
    if (entry) return entry;
    try {
      const document = parse(query);
      const errors = validate(schema, document);
      entry = errors.length > 0 ? errors : document;
    } catch (error) {
      entry = [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
    }
    if (documents.size >= CACHE_LIMIT) documents.clear();
    documents.set(query, entry);
    return entry;
  };
  return (_req, res, body) => {
    let payload: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      payload = JSON.parse(body.toString('utf8')) as typeof payload;
    } catch {
      return send(res, 400, JSON.stringify({ errors: [{ message: 'body is not JSON' }] }));
    }
    if (typeof payload.query !== 'string') return send(res, 400, JSON.stringify({ errors: [{ message: 'no query' }] }));
    const document = documentFor(payload.query);
    if (Array.isArray(document)) return send(res, 400, JSON.stringify({ errors: document.map((e) => e.toJSON()) }));
    Promise.resolve(
      execute({
        schema,
        document: document as DocumentNode,
        variableValues: (payload.variables ?? undefined) as Record<string, unknown> | undefined,
        operationName: typeof payload.operationName === 'string' ? payload.operationName : undefined,
      }),
    ).then(
      (result) => send(res, 200, JSON.stringify(result)),
      (error: unknown) => send(res, 500, JSON.stringify({ errors: [{ message: String(error) }] })),
    );
  };
}

export interface ServeOptions {
  port: number;
  /** POST handlers by path. */
  routes: Record<string, Handler>;
}

export async function serveRoutes(options: ServeOptions): Promise<BenchServer> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (req.method === 'GET' && path === '/__stats') return send(res, 200, JSON.stringify({ requests }));
    requests++;
    const route = options.routes[path];
    if (!route) return send(res, 404, JSON.stringify({ errors: [{ message: `no route ${path}` }] }));
    if (req.method !== 'POST') return send(res, 405, JSON.stringify({ errors: [{ message: 'POST only' }] }));
    readBody(req, (body) => {
      if (!body) return send(res, 413, JSON.stringify({ errors: [{ message: 'body too large' }] }));
      route(req, res, body);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '') => `http://127.0.0.1:${port}${path}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
