/**
 * The openapi scenario's REST service: orders, each with a customer and an
 * address, line items with prices, and shipping: GET /orders?limit=N answers
 * N orders (deterministic data). Keys are written in the order of the
 * scenario's query, so the direct call's JSON is byte for byte the `data` a
 * gateway returns. Described by orders.openapi.yaml beside this file.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ORDERS_SPEC = fileURLToPath(new URL('./orders.openapi.yaml', import.meta.url));

export const ORDERS_QUERY = /* GraphQL */ `
query Orders {
  listOrders(limit: 20) {
    id
    number
    status
    total { amount currency }
    customer {
      id
      name
      email
      address { street city postalCode country }
    }
    items {
      sku
      name
      quantity
      unitPrice { amount currency }
    }
    shipping { method carrier }
  }
}
`;

const STATUSES = ['pending', 'paid', 'shipped', 'delivered'];
const CITIES: Array<[string, string, string]> = [
  ['Lyon', '69002', 'FR'],
  ['Porto', '4050-001', 'PT'],
  ['Utrecht', '3511 AB', 'NL'],
  ['Malmö', '211 20', 'SE'],
  ['Bologna', '40121', 'IT'],
];
const PRODUCTS = ['Oak table', 'Desk lamp', 'Wool rug', 'Tea set', 'Rain jacket', 'Steel kettle', 'Road bike'];

function order(i: number) {
  const [city, postalCode, country] = CITIES[i % CITIES.length]!;
  const items = Array.from({ length: 2 + (i % 3) }, (_, k) => {
    const p = (i + k * 3) % PRODUCTS.length;
    return { sku: `SKU-${1000 + p}`, name: PRODUCTS[p]!, quantity: 1 + ((i + k) % 4), unitPrice: { amount: 9.5 + p * 12.25, currency: 'EUR' } };
  });
  const amount = Math.round(items.reduce((sum, it) => sum + it.quantity * it.unitPrice.amount, 0) * 100) / 100;
  return {
    id: `o${i + 1}`,
    number: 50_000 + i,
    status: STATUSES[i % STATUSES.length]!,
    total: { amount, currency: 'EUR' },
    customer: {
      id: `c${(i % 12) + 1}`,
      name: `Customer ${(i % 12) + 1}`,
      email: `customer${(i % 12) + 1}@example.com`,
      address: { street: `${10 + i} Market Street`, city, postalCode, country },
    },
    items,
    shipping: { method: i % 3 === 0 ? 'express' : 'standard', carrier: i % 2 ? 'PostNord' : 'DHL' },
  };
}

const ORDERS = Array.from({ length: 100 }, (_, i) => order(i));

export async function startOrders(port: number): Promise<{ port: number; close(): Promise<void> }> {
  let requests = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/__stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ requests }));
    }
    requests++;
    if (req.method !== 'GET' || url.pathname !== '/orders') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"message":"not found"}');
    }
    const limit = Math.max(0, Math.min(100, Number(url.searchParams.get('limit') ?? 10) || 0));
    const body = JSON.stringify(ORDERS.slice(0, limit));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
