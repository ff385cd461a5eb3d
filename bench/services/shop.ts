/**
 * The shop scenario's services: the demo in subgraphs/ (accounts and reviews
 * over GraphQL, catalog over REST, inventory over gRPC), started in one
 * process with a stats endpoint that sums the requests they received; and
 * the direct call: one hand-written GraphQL server that serves the same data
 * with no gateway, read once at start from the demo services themselves (REST,
 * gRPC and GraphQL calls), then answered from memory.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';

export const SHOP_QUERY = /* GraphQL */ `
query Shop {
  listProducts(limit: 50) {
    items {
      id
      name
      stock { available status }
      reviews {
        rating
        body
        author { name }
      }
    }
  }
}
`;

export interface DemoPorts {
  accounts: number;
  reviews: number;
  catalog: number;
  inventory: number;
}

/** Starts the demo services; `port` serves GET /__stats (requests received by all of them). */
export async function startShopServices(port: number): Promise<{ port: number; info: DemoPorts; close(): Promise<void> }> {
  const { startDemoServices } = await import('../../subgraphs/demo.js');
  const demo = await startDemoServices({ accounts: 0, reviews: 0, catalog: 0, inventory: 0 });
  const ports = Object.fromEntries([...demo.services].map(([name, s]) => [name, s.port])) as unknown as DemoPorts;
  const stats = createServer((_req, res) => {
    const byService = Object.fromEntries([...demo.services].map(([name, s]) => [name, s.stats.requests]));
    const requests = Object.values(byService).reduce((a, b) => a + b, 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests, byService }));
  });
  await new Promise<void>((resolve) => stats.listen(port, '127.0.0.1', () => resolve()));
  return {
    port: (stats.address() as AddressInfo).port,
    info: ports,
    close: async () => {
      await new Promise<void>((resolve) => stats.close(() => resolve()));
      await demo.close();
    },
  };
}

interface ShopData {
  products: Array<{ id: string; name: string }>;
  stock: Map<string, { available: number; status: string }>;
  reviews: Map<string, Array<{ rating: number; body: string; authorId: string }>>;
  users: Map<string, { name: string }>;
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data) throw new Error(`${url}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Reads the scenario's data from the demo services, once. */
async function readShopData(ports: DemoPorts): Promise<ShopData> {
  const page = (await (await fetch(`http://127.0.0.1:${ports.catalog}/products?limit=50`)).json()) as { items: Array<{ id: string; name: string }> };
  const products = page.items.map((p) => ({ id: p.id, name: p.name }));
  const ids = products.map((p) => p.id);

  const { PROTO_FILE } = await import('../../subgraphs/inventory/server.js');
  const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as { tessera: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } } };
  type Level = { product_id: string; available: number; status: string };
  const client = new proto.tessera.inventory.v1.InventoryService(`127.0.0.1:${ports.inventory}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    GetStockLevels(request: { product_ids: string[] }, callback: (error: Error | null, reply: { levels: Level[] }) => void): void;
  };
  const levels = await new Promise<Level[]>((resolve, reject) => client.GetStockLevels({ product_ids: ids }, (error, reply) => (error ? reject(error) : resolve(reply.levels))));
  client.close();
  const stock = new Map(levels.map((l) => [l.product_id, { available: l.available, status: l.status }]));

  const reviewed = await graphql<{ _productsByIds: Array<{ id: string; reviews: Array<{ rating: number; body: string; author: { id: string } }> } | null> }>(
    `http://127.0.0.1:${ports.reviews}/graphql`,
    'query($ids: [ID!]!) { _productsByIds(ids: $ids) { id reviews { rating body author { id } } } }',
    { ids },
  );
  const reviews = new Map(ids.map((id, i) => [id, (reviewed._productsByIds[i]?.reviews ?? []).map((r) => ({ rating: r.rating, body: r.body, authorId: r.author.id }))]));
  const authorIds = [...new Set([...reviews.values()].flat().map((r) => r.authorId))];
  const people = await graphql<{ users: Array<{ id: string; name: string } | null> }>(`http://127.0.0.1:${ports.accounts}/graphql`, 'query($ids: [ID!]!) { users(ids: $ids) { id name } }', {
    ids: authorIds,
  });
  const users = new Map(people.users.filter((u): u is { id: string; name: string } => u !== null).map((u) => [u.id, { name: u.name }]));
  return { products, stock, reviews, users };
}

/** The direct call's schema: the query's part of the unified graph, over data read at start. */
export async function shopMonolith(ports: DemoPorts): Promise<GraphQLSchema> {
  const data = await readShopData(ports);
  return makeExecutableSchema({
    typeDefs: /* GraphQL */ `
      type Query { listProducts(limit: Int): ProductPage }
      type ProductPage { items: [Product!]! }
      type Product { id: ID!, name: String!, stock: StockLevel, reviews(first: Int): [Review!]! }
      enum StockStatus { STOCK_STATUS_UNSPECIFIED IN_STOCK LOW_STOCK OUT_OF_STOCK }
      type StockLevel { available: Int!, status: StockStatus! }
      type Review { rating: Int!, body: String!, author: User! }
      type User { name: String! }
    `,
    resolvers: {
      Query: { listProducts: (_: unknown, { limit }: { limit?: number }) => ({ items: data.products.slice(0, limit ?? 20) }) },
      Product: {
        stock: (p: { id: string }) => data.stock.get(p.id) ?? null,
        reviews: (p: { id: string }, { first }: { first?: number }) => (data.reviews.get(p.id) ?? []).slice(0, first ?? undefined),
      },
      Review: { author: (r: { authorId: string }) => data.users.get(r.authorId) },
    },
  });
}
