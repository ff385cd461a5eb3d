/**
 * The live status page (telemetry.status), served by the gateway itself:
 * `<path>` is the page, `<path>/api` its JSON, `<path>/assets/<name>` its
 * files: our script and style (server/status-client.ts) and uPlot's build,
 * read from the `uplot` package at start-up (no CDN, no build step; the same
 * from tsx and from dist/). Asset names carry a content hash, so a browser
 * keeps them for good and a new version is a new name.
 *
 * One handler answers every path under the prefix, so the page can be
 * mounted wherever node:http requests are routed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, errorBody, type ErrorCode } from '../errors.js';
import { STATUS_SCRIPT, STATUS_STYLE } from './status-client.js';

export interface StatusPageOptions {
  /** The page's path (telemetry.status.path), without a trailing slash. */
  path: string;
  /** The JSON `<path>/api` answers (telemetry/status.ts `StatusBoard.snapshot`; with `--workers N`, every worker's merged: admin-group.ts). */
  snapshot: () => unknown;
}

interface Asset {
  body: Buffer;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Only our own files: scripts from this origin (no inline script), styles
 * from this origin (uPlot sets element styles through the CSSOM, which CSP
 * allows), the JSON from this origin, nothing framed, no form posted.
 */
export const STATUS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** uPlot's browser build and style, from the installed `uplot` package. */
function uplotFiles(): { script: Buffer; style: Buffer } {
  const require = createRequire(import.meta.url);
  const dist = (file: string): Buffer => readFileSync(require.resolve(`uplot/dist/${file}`));
  return { script: dist('uPlot.iife.min.js'), style: dist('uPlot.min.css') };
}

function page(path: string, names: { uplotScript: string; uplotStyle: string; script: string; style: string }): string {
  const asset = (name: string): string => escapeHtml(`${path}/assets/${name}`);
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Tessera status</title>
    <link rel="stylesheet" href="${asset(names.uplotStyle)}" />
    <link rel="stylesheet" href="${asset(names.style)}" />
  </head>
  <body data-api="${escapeHtml(`${path}/api`)}">
    <header>
      <h1>Tessera status</h1>
      <span id="schema">schema: loading</span>
      <span id="admission"></span>
      <span id="workers" class="workers"></span>
      <span id="state" class="state">loading ${escapeHtml(`${path}/api`)}</span>
    </header>
    <noscript>This page draws its charts with JavaScript; the same data is at ${escapeHtml(`${path}/api`)} as JSON.</noscript>
    <main>
      <h2>Subgraphs</h2>
      <div id="subgraphs" class="grid"></div>
      <h2>Gateway requests by channel</h2>
      <div id="channels" class="grid"></div>
    </main>
    <script src="${asset(names.uplotScript)}"></script>
    <script src="${asset(names.script)}"></script>
  </body>
</html>
`;
}

function send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: Buffer | string, head: boolean): void {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

function sendError(res: ServerResponse, code: ErrorCode, message: string, head: boolean): void {
  send(res, ERRORS[code].status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, errorBody(code, message), head);
}

/** The request listener of every path under `options.path`; built once, its files loaded now. */
export function statusPageHandler(options: StatusPageOptions): (req: IncomingMessage, res: ServerResponse) => void | Promise<void> {
  const { path } = options;
  const assets = new Map<string, Asset>();
  const add = (stem: string, ext: string, type: string, body: Buffer): string => {
    const name = `${stem}.${createHash('sha256').update(body).digest('hex').slice(0, 16)}.${ext}`;
    assets.set(name, { body, type });
    return name;
  };
  const uplot = uplotFiles();
  const names = {
    uplotScript: add('uPlot', 'js', JS, uplot.script),
    uplotStyle: add('uPlot', 'css', CSS, uplot.style),
    script: add('status', 'js', JS, Buffer.from(STATUS_SCRIPT)),
    style: add('status', 'css', CSS, Buffer.from(STATUS_STYLE)),
  };
  const html = Buffer.from(page(path, names));
  const assetPrefix = `${path}/assets/`;

  return async (req, res) => {
    const at = (req.url ?? '/').split('?', 1)[0] ?? '/';
    // Read-only, like /metrics: every method gets what GET gets, HEAD without the body.
    const head = req.method === 'HEAD';
    if (at === path || at === `${path}/`) {
      return send(res, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': STATUS_CSP }, html, head);
    }
    if (at === `${path}/api`) {
      return send(res, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, JSON.stringify(await options.snapshot()), head);
    }
    const asset = at.startsWith(assetPrefix) ? assets.get(at.slice(assetPrefix.length)) : undefined;
    if (asset) return send(res, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' }, asset.body, head);
    const what = at.startsWith(assetPrefix) ? `No status page asset at ${at}; reload ${path} (the gateway may have been upgraded since the page was loaded).` : `No endpoint at ${at}; the status page is ${path}, its JSON ${path}/api.`;
    return sendError(res, 'NOT_FOUND', what, head);
  };
}
