/**
 * An OTLP/HTTP collector stub for `npm run bench -- --telemetry`: it reads every
 * POST to /v1/traces whole, answers 200 with an empty body, and counts batches
 * and bytes, so the tracing target pays for exporting as against a real
 * collector on loopback, without one installed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CollectorStub {
  /** The OTLP traces endpoint, for telemetry.tracing.exporter.endpoint. */
  url: string;
  readonly batches: number;
  readonly bytes: number;
  close(): Promise<void>;
}

export async function startCollectorStub(): Promise<CollectorStub> {
  let batches = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => void (bytes += chunk.length));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') batches++;
      res.writeHead(req.method === 'POST' ? 200 : 404, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Bench processes exit with the run; unref so an open stub never keeps one alive.
  server.unref();
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    get batches() {
      return batches;
    },
    get bytes() {
      return bytes;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
