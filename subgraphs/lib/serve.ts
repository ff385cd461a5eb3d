/**
 * How the demo services listen: node:http on 127.0.0.1, a request counter
 * (tests assert how many calls the gateway made), and a close that ends
 * keep-alive connections too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoService {
  url: string;
  port: number;
  /** Requests received since start (or since the last reset). */
  stats: { requests: number };
  /** The node:http server, so a test can also listen to its 'request' events (see test/fixtures/openapi/declared.ts). */
  server: Server;
  close(): Promise<void>;
}

export async function serve(port: number, handler: (req: IncomingMessage, res: ServerResponse) => void, path = ''): Promise<DemoService> {
  const stats = { requests: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}${path}`,
    port: actual,
    stats,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
