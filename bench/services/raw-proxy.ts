/**
 * The proxy scenario's limit: an HTTP proxy that forwards the request bytes to
 * the upstream and the response bytes back, parsing nothing but HTTP itself
 * (no JSON, no GraphQL). Keep-alive upstream connections (undici Pool).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export async function startRawProxy(port: number, upstream: string): Promise<{ port: number; close(): Promise<void> }> {
  const target = new URL(upstream);
  const pool = new Pool(target.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value;
    }
    pool.request({ method: req.method as 'POST', path: target.pathname, headers, body: req }).then(
      (upstreamRes) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamRes.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
        }
        res.writeHead(upstreamRes.statusCode, out);
        upstreamRes.body.pipe(res);
      },
      () => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
      },
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.close();
    },
  };
}
