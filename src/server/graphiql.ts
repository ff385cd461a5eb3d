/**
 * GraphiQL served by the gateway itself: its scripts, styles, editor workers
 * and icon come from @graphql-yoga/render-graphiql (the GraphiQL build Yoga
 * ships for its `renderGraphiQL` option) and are answered on the channel's
 * own path, so a browser on a network without internet access gets a working
 * page and no request leaves for a CDN. Where GraphiQL is off, a browser gets
 * a short page saying where GraphQL is and which key turns GraphiQL on.
 */
import { createHash } from 'node:crypto';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { errorBody } from '../errors.js';

const gzipAsync = promisify(gzip);

/**
 * Query parameter naming an asset on a GraphQL path (`/graphql?graphiql-asset=graphiql.<hash>.js`).
 * A relative URL (`?graphiql-asset=…`) resolves to the channel's own path, behind
 * a proxy that adds a path prefix too; no path outside the channels is taken.
 */
const ASSET_PARAM = 'graphiql-asset';

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  /** Compressed once, on the first request that accepts gzip (the script is 9 MB, 2 MB gzipped). */
  gzipped?: Promise<Uint8Array<ArrayBuffer>>;
}

/** GraphiQL's files, loaded once per gateway, and only when a channel has GraphiQL on. */
export interface GraphiqlAssets {
  /** Asset names by role, each with a content hash so a browser may keep it for good. */
  names: { script: string; style: string; icon: string; workers: { editorWorkerService: string; json: string; graphql: string } };
  files: ReadonlyMap<string, Asset>;
}

const JS = 'text/javascript; charset=utf-8';

export async function loadGraphiqlAssets(): Promise<GraphiqlAssets> {
  // 9 MB of strings: imported only here, so a gateway without GraphiQL never holds them.
  const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
  const files = new Map<string, Asset>();
  const add = (stem: string, ext: string, type: string, body: Uint8Array<ArrayBuffer>): string => {
    const name = `${stem}.${createHash('sha256').update(body).digest('hex').slice(0, 16)}.${ext}`;
    files.set(name, { body, type });
    return name;
  };
  const icon = /^data:([^;,]+);base64,(.*)$/s.exec(bundle.favicon);
  if (!icon) throw new Error('@graphql-yoga/render-graphiql: its favicon is no longer a base64 data URL; src/server/graphiql.ts needs updating');
  return {
    names: {
      script: add('graphiql', 'js', JS, Buffer.from(bundle.js)),
      style: add('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(bundle.css)),
      icon: add('favicon', 'ico', icon[1]!, Buffer.from(icon[2]!, 'base64')),
      workers: {
        editorWorkerService: add('editor.worker', 'js', JS, Buffer.from(bundle.editorWorkerService)),
        json: add('json.worker', 'js', JS, Buffer.from(bundle.jsonWorker)),
        graphql: add('graphql.worker', 'js', JS, Buffer.from(bundle.graphqlWorker)),
      },
    },
    files,
  };
}

/** JSON inside a <script> element: `<` escaped so a value (a defaultQuery) cannot close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const assetUrl = (name: string): string => `?${ASSET_PARAM}=${encodeURIComponent(name)}`;

/**
 * The GraphiQL page (Yoga's `renderGraphiQL`): a few hundred bytes that load
 * the assets from the same path. Same start-up as render-graphiql's own page
 * (Monaco's workers, then `YogaGraphiQL.renderYogaGraphiQL`), with files
 * instead of 9 MB inlined in every page.
 */
export function graphiqlPage(assets: GraphiqlAssets, options: GraphiQLOptions | undefined): string {
  const { names } = assets;
  const workers = Object.fromEntries(Object.entries(names.workers).map(([label, name]) => [label, assetUrl(name)]));
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options?.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${assetUrl(names.icon)}" />
    <link rel="stylesheet" href="${assetUrl(names.style)}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript. GraphQL itself is served at this URL: POST a JSON body {"query": "..."}.</noscript>
    <div id="root"></div>
    <script>
      self.MonacoEnvironment = {
        globalAPI: false,
        getWorkerUrl: (moduleId, label) => new URL(${scriptJson(workers)}[label], location.href).href,
      };
    </script>
    <script src="${assetUrl(names.script)}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${scriptJson(options ?? {})});
    </script>
  </body>
</html>
`;
}

/** Answers `?graphiql-asset=<name>` on a channel with GraphiQL on; any other request passes. */
export function useGraphiqlAssets(assets: GraphiqlAssets): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const name = url.searchParams.get(ASSET_PARAM);
      if (name === null || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      const asset = assets.files.get(name);
      if (!asset) {
        const body = errorBody('NOT_FOUND', `No GraphiQL asset "${name}" at ${url.pathname}; reload the page (the gateway may have been upgraded since it was loaded).`);
        return endResponse(new fetchAPI.Response(body, { status: 404, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } }));
      }
      const headers: Record<string, string> = {
        'content-type': asset.type,
        // The name carries the content hash: a new GraphiQL is a new name.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        vary: 'accept-encoding',
      };
      if (!/\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) {
        return endResponse(new fetchAPI.Response(request.method === 'HEAD' ? null : asset.body, { status: 200, headers: { ...headers, 'content-length': String(asset.body.length) } }));
      }
      asset.gzipped ??= gzipAsync(asset.body).then((zipped) => new Uint8Array(zipped));
      return asset.gzipped.then((body) => {
        const compressed = { ...headers, 'content-encoding': 'gzip', 'content-length': String(body.length) };
        endResponse(new fetchAPI.Response(request.method === 'HEAD' ? null : body, { status: 200, headers: compressed }));
      });
    },
  };
}

export interface EndpointHelpOptions {
  /** The channel's GraphQL path. */
  path: string;
  /** The gateway.yaml key that turns GraphiQL on for this channel (`graphiql`, `channels.web.graphiql`). */
  configKey: string;
}

const wantsPage = (request: Request, url: URL): boolean => request.method === 'GET' && !url.searchParams.has('query') && Boolean(request.headers.get('accept')?.includes('text/html'));

function offPage({ path, configKey }: EndpointHelpOptions): string {
  const where = escapeHtml(path);
  const key = escapeHtml(configKey);
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>GraphQL endpoint</title></head>
  <body>
    <h1>GraphQL endpoint</h1>
    <p>GraphQL is served at <code>${where}</code>: send a POST request with <code>content-type: application/json</code> and a body such as <code>{"query": "{ __typename }"}</code>.</p>
    <p>GraphiQL, the in-browser editor, is off here. <code>${key}: true</code> in gateway.yaml turns it on (it is on by default with <code>mode: development</code>).</p>
  </body>
</html>
`;
}

/**
 * What a GET gets when it has nothing Yoga can answer with. A browser opening
 * the path where GraphiQL is off (GET, Accept: text/html, no `query`) gets a
 * short page saying where GraphQL is; Yoga would answer 406 with no body
 * (Accept: text/html alone) or a JSON "Must provide query string." (a
 * browser's Accept ends with *\/*). Any other 406 from Yoga (an Accept that
 * allows neither GraphQL response type) gets a JSON body saying which types
 * are served. Both keep the 406: the page is not a GraphQL response.
 */
export function useEndpointHelp(options: EndpointHelpOptions & { graphiql: boolean }): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (options.graphiql || !wantsPage(request, url)) return;
      const body = offPage(options);
      endResponse(new fetchAPI.Response(body, { status: 406, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } }));
    },
    onResponse({ response, setResponse, fetchAPI }) {
      if (response.status !== 406 || response.body !== null) return;
      const served = (response.headers.get('accept') ?? 'application/graphql-response+json, application/json').replace(/;\s*charset=[^,]*/g, '');
      const graphiql = options.graphiql ? 'GraphiQL is on: open this URL in a browser.' : `GraphiQL is off here (${options.configKey}: true in gateway.yaml turns it on).`;
      const message = `This GraphQL endpoint answers ${served}, which the request's Accept header does not allow. GraphQL is served at ${options.path}: POST a JSON body {"query": "..."} with content-type: application/json. ${graphiql}`;
      const headers = new fetchAPI.Headers(response.headers);
      headers.set('content-type', 'application/json; charset=utf-8');
      setResponse(new fetchAPI.Response(errorBody('NOT_ACCEPTABLE', message), { status: 406, headers }));
    },
  };
}
