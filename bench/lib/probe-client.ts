/**
 * The client side of bench/memory-probe.ts: one request to the probe a
 * gateway process serves on its Unix socket (GET /memory, POST /gc, POST
 * /snapshot), its JSON answer parsed. Used by the soak (bench/soak.ts) and
 * the live-heap report (bench/heap-live.ts).
 */
import { request as httpRequest } from 'node:http';

export function probe<T>(socketPath: string, method: 'GET' | 'POST', path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method, path, timeout: 120_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(`probe ${method} ${path}: HTTP ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`probe ${method} ${path}: no answer in 120 s`)));
    req.on('error', reject);
    req.end();
  });
}
