/**
 * Fetches a schema document (SDL, OpenAPI, .proto) named by URL in a
 * descriptor, with a timeout and a size cap: a spec server that hangs or
 * streams forever must not hang start-up.
 */
import { request } from 'undici';

export async function fetchText(url: string, options: { timeoutMs?: number; maxBytes?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
  const response = await request(url, {
    method: 'GET',
    signal: AbortSignal.timeout(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxRedirections: 0,
  } as Parameters<typeof request>[1]);
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.body.destroy();
      throw new Error(`larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
