/**
 * Demo REST service "catalog": products, categories and prices, described by
 * ./openapi.yaml. node:http, no framework, deterministic data: products
 * "p1".."p60" (the ids the reviews service uses), six categories.
 *
 * Endpoints (see openapi.yaml): GET /products (offset/limit, or `ids=p1,p2`
 * for the bulk lookup), GET /products/{id}, GET /products/{id}/price,
 * GET /products/search (page/per_page with a Link header), POST /products,
 * POST /products/{id}/image (multipart), GET /products/{id}/image (PNG bytes),
 * GET /prices?productIds= (bulk), GET /categories (optionally `ids=`), GET /categories/{id}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serve, type DemoService } from '../lib/serve.js';

export interface Product {
  id: string;
  name: string;
  description?: string;
  categoryId: string;
  status: 'in-stock' | 'sold-out' | 'pre-order';
  tags: string[];
  'sku-code': string;
  dimensions: { width: number; height: number; depth: number } | null;
  createdAt: string;
}

export interface Category {
  id: string;
  name: string;
  parentId: string | null;
}

const ADJECTIVES = ['Classic', 'Compact', 'Deluxe', 'Eco', 'Modern', 'Rugged', 'Smart', 'Vintage', 'Wireless', 'Travel'];
const NOUNS = ['Lamp', 'Chair', 'Kettle', 'Backpack', 'Speaker', 'Notebook'];
const STATUSES: Product['status'][] = ['in-stock', 'sold-out', 'pre-order'];

export const categories: Category[] = [
  { id: 'c1', name: 'Home', parentId: null },
  { id: 'c2', name: 'Furniture', parentId: 'c1' },
  { id: 'c3', name: 'Kitchen', parentId: 'c1' },
  { id: 'c4', name: 'Outdoor', parentId: null },
  { id: 'c5', name: 'Audio', parentId: null },
  { id: 'c6', name: 'Stationery', parentId: null },
];

export const products: Product[] = Array.from({ length: 60 }, (_, i) => {
  const n = i + 1;
  return {
    id: `p${n}`,
    name: `${ADJECTIVES[i % 10]} ${NOUNS[i % 6]}`,
    ...(n % 4 === 0 ? {} : { description: `The ${ADJECTIVES[i % 10]!.toLowerCase()} ${NOUNS[i % 6]!.toLowerCase()}, model ${n}.` }),
    categoryId: `c${(i % 6) + 1}`,
    status: STATUSES[i % 3]!,
    tags: [NOUNS[i % 6]!.toLowerCase(), ...(n % 2 === 0 ? ['bestseller'] : [])],
    'sku-code': `SKU-${String(n).padStart(4, '0')}`,
    dimensions: n % 5 === 0 ? null : { width: 10 + n, height: 20 + (n % 7), depth: 5 + (n % 3) },
    createdAt: new Date(Date.UTC(2024, 0, n)).toISOString(),
  };
});

const prices = new Map(products.map((p, i) => [p.id, { productId: p.id, amount: Math.round((9.99 + i * 3.5) * 100) / 100, currency: i % 2 ? 'EUR' : 'USD', validFrom: '2025-01-01T00:00:00Z' }]));
const images = new Map<string, { contentType: string; data: Buffer; filename: string }>();
/** A 1x1 transparent PNG. */
const DEFAULT_IMAGE = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const notFound = (res: ServerResponse, what: string): void => send(res, 404, { code: 'NOT_FOUND', message: `${what} not found` });

async function readBody(req: IncomingMessage, limit = 5 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The parts of a multipart/form-data body (enough for the demo: name, filename, content type, bytes). */
function parseMultipart(body: Buffer, contentType: string): Array<{ name: string; filename?: string; type?: string; data: Buffer }> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) return [];
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: Array<{ name: string; filename?: string; type?: string; data: Buffer }> = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString('utf8');
    const name = /name="([^"]*)"/.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    parts.push({ name, filename, type, data: part.subarray(split + 4) });
    start = next;
  }
  return parts;
}

function listParam(url: URL, name: string): string[] | undefined {
  const values = url.searchParams.getAll(name);
  if (values.length === 0) return undefined;
  return values.flatMap((v) => v.split(',')).filter(Boolean);
}

function intParam(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name);
  const n = v === null ? fallback : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://catalog.local');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  let m: RegExpExecArray | null;

  if (method === 'GET' && path === '/products') {
    const ids = listParam(url, 'ids');
    const category = url.searchParams.get('category');
    let list = ids ? ids.map((id) => products.find((p) => p.id === id)).filter((p): p is Product => Boolean(p)) : products;
    if (category) list = list.filter((p) => p.categoryId === category);
    // The bulk lookup answers in its own order (newest first), as real services often do.
    if (ids) list = [...list].reverse();
    const offset = intParam(url, 'offset', 0);
    const limit = Math.min(intParam(url, 'limit', ids ? 1000 : 20), 1000);
    return send(res, 200, { items: list.slice(offset, offset + limit), total: list.length, offset, limit });
  }
  if (method === 'GET' && path === '/products/search') {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const page = Math.max(1, intParam(url, 'page', 1));
    const perPage = Math.max(1, Math.min(intParam(url, 'per_page', 10), 100));
    const hits = products.filter((p) => p.name.toLowerCase().includes(q) || p.tags.includes(q));
    const slice = hits.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < hits.length) {
      const next = new URL(`http://${req.headers.host}${path}`);
      next.searchParams.set('q', q);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('per_page', String(perPage));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return send(res, 200, slice, headers);
  }
  if (method === 'POST' && path === '/products') {
    let input: Partial<Product>;
    try {
      input = JSON.parse((await readBody(req)).toString('utf8')) as Partial<Product>;
    } catch {
      return send(res, 400, { code: 'BAD_JSON', message: 'body is not JSON' });
    }
    if (typeof input.name !== 'string' || typeof input.categoryId !== 'string') return send(res, 422, { code: 'INVALID', message: 'name and categoryId are required' });
    const product: Product = {
      id: `p${products.length + 1}`,
      name: input.name,
      categoryId: input.categoryId,
      status: input.status ?? 'pre-order',
      tags: input.tags ?? [],
      'sku-code': input['sku-code'] ?? `SKU-${String(products.length + 1).padStart(4, '0')}`,
      dimensions: input.dimensions ?? null,
      createdAt: new Date(Date.UTC(2025, 0, 1)).toISOString(),
    };
    // Created products are not kept: the demo data stays deterministic across requests.
    return send(res, 201, product);
  }
  if ((m = /^\/products\/([^/]+)$/.exec(path)) && method === 'GET') {
    const product = products.find((p) => p.id === decodeURIComponent(m![1]!));
    return product ? send(res, 200, product) : notFound(res, 'product');
  }
  if ((m = /^\/products\/([^/]+)\/price$/.exec(path)) && method === 'GET') {
    const price = prices.get(decodeURIComponent(m[1]!));
    return price ? send(res, 200, price) : notFound(res, 'price');
  }
  if ((m = /^\/products\/([^/]+)\/image$/.exec(path))) {
    const id = decodeURIComponent(m[1]!);
    if (!products.some((p) => p.id === id)) return notFound(res, 'product');
    if (method === 'GET') {
      const image = images.get(id) ?? { contentType: 'image/png', data: DEFAULT_IMAGE, filename: 'default.png' };
      res.writeHead(200, { 'content-type': image.contentType, 'content-length': image.data.length });
      return void res.end(image.data);
    }
    if (method === 'POST') {
      const parts = parseMultipart(await readBody(req), String(req.headers['content-type'] ?? ''));
      const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
      if (!file) return send(res, 400, { code: 'NO_FILE', message: 'expected a multipart part "file"' });
      const caption = parts.find((p) => p.name === 'caption')?.data.toString('utf8') ?? null;
      images.set(id, { contentType: file.type ?? 'application/octet-stream', data: file.data, filename: file.filename! });
      return send(res, 201, { productId: id, filename: file.filename, contentType: file.type ?? 'application/octet-stream', size: file.data.length, caption });
    }
  }
  if (method === 'GET' && path === '/prices') {
    const ids = listParam(url, 'productIds') ?? [];
    // Reverse order on purpose: the gateway matches prices to products by productId, not by position.
    return send(res, 200, ids.map((id) => prices.get(id)).filter(Boolean).reverse());
  }
  if (method === 'GET' && path === '/categories') {
    const ids = listParam(url, 'ids');
    return send(res, 200, ids ? categories.filter((c) => ids.includes(c.id)) : categories);
  }
  if ((m = /^\/categories\/([^/]+)$/.exec(path)) && method === 'GET') {
    const category = categories.find((c) => c.id === decodeURIComponent(m![1]!));
    return category ? send(res, 200, category) : notFound(res, 'category');
  }
  send(res, 404, { code: 'NO_ROUTE', message: `${method} ${path}` });
}

export async function start(port: number): Promise<DemoService> {
  return serve(port, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { code: 'INTERNAL', message: (error as Error).message });
      else res.destroy();
    });
  });
}
