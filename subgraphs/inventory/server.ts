/**
 * The inventory demo service: gRPC on 127.0.0.1, stock levels for the
 * catalog's products "p1".."p60" (deterministic: the same for every start),
 * a batch method, reservations (64-bit ids beyond 2^53) and a stream of
 * stock changes. It also answers server reflection.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

export const PROTO_FILE = fileURLToPath(new URL('./inventory.proto', import.meta.url));
export const PRODUCT_COUNT = 60;

const BASE_SECONDS = Date.UTC(2024, 0, 1) / 1000;
const WAREHOUSES = [
  { code: 'ams', city: 'Amsterdam' },
  { code: 'nyc', city: 'New York' },
];

interface Seconds {
  seconds: number | string;
  nanos?: number;
}

interface StockLevel {
  product_id: string;
  available: number;
  reserved: number;
  status: string;
  updated_at: Seconds;
  incoming: { value: number } | null;
  restock_in: Seconds | null;
  by_warehouse: Record<string, number>;
}

function productNumber(id: string): number | undefined {
  const match = /^p(\d+)$/.exec(id);
  const n = match ? Number(match[1]) : NaN;
  return n >= 1 && n <= PRODUCT_COUNT ? n : undefined;
}

/** The starting stock of product n: a fixed function of n. */
function initialLevel(n: number): StockLevel {
  const available = (n * 37) % 101;
  const planned = available < 20;
  const ams = Math.floor(available / 2);
  return {
    product_id: `p${n}`,
    available,
    reserved: 0,
    status: statusOf(available),
    updated_at: { seconds: BASE_SECONDS + n * 3600, nanos: 0 },
    incoming: planned ? { value: 50 + n } : null,
    restock_in: planned ? { seconds: (n % 5) * 86_400 + 3600, nanos: 500_000_000 } : null,
    by_warehouse: { ams, nyc: available - ams },
  };
}

function statusOf(available: number): string {
  return available === 0 ? 'OUT_OF_STOCK' : available < 10 ? 'LOW_STOCK' : 'IN_STOCK';
}

export interface InventoryService {
  url: string;
  port: number;
  /** RPCs received (each method call counts once; a stream counts once). */
  stats: { requests: number; byMethod: Record<string, number>; streamsCancelled: number; streamsOpen: number };
  close(): Promise<void>;
}

/**
 * grpc-js reports a failed bind as one message with the socket errors in its
 * text ("... errors: [listen EADDRINUSE: ...]"); the code and address are put
 * back, as node:net gives them, so `npm start` says which port is taken.
 */
function bindError(error: Error, port: number): Error {
  const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(error.message)?.[1];
  return code ? Object.assign(new Error(error.message), { code, address: '127.0.0.1', port }) : error;
}

export async function start(port: number): Promise<InventoryService> {
  const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    tessera: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
  };
  const levels = new Map<string, StockLevel>();
  for (let n = 1; n <= PRODUCT_COUNT; n++) levels.set(`p${n}`, initialLevel(n));
  let nextReservation = 2n ** 53n + 1n;
  const stats: InventoryService['stats'] = { requests: 0, byMethod: {}, streamsCancelled: 0, streamsOpen: 0 };
  const count = (method: string): void => {
    stats.requests++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
  };

  const notFound = (id: string): Partial<grpc.StatusObject> => ({ code: grpc.status.NOT_FOUND, details: `no product "${id}"` });

  const handlers: grpc.UntypedServiceImplementation = {
    GetStockLevel(call: grpc.ServerUnaryCall<{ product_id: string }, StockLevel>, callback: grpc.sendUnaryData<StockLevel>) {
      count('GetStockLevel');
      const level = levels.get(call.request.product_id);
      if (!level) callback(notFound(call.request.product_id));
      else callback(null, level);
    },
    GetStockLevels(call: grpc.ServerUnaryCall<{ product_ids: string[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      count('GetStockLevels');
      // Answered in reverse order on purpose: the gateway must put them back in the order asked.
      const found = call.request.product_ids.map((id) => levels.get(id)).filter((l): l is StockLevel => l !== undefined);
      callback(null, { levels: found.reverse() });
    },
    ListWarehouses(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      count('ListWarehouses');
      callback(null, { warehouses: WAREHOUSES });
    },
    ReserveStock(
      call: grpc.ServerUnaryCall<{ product_id: string; quantity: number; hold_for: Seconds | null }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      count('ReserveStock');
      const { product_id: id, quantity, hold_for: holdFor } = call.request;
      const level = levels.get(id);
      if (!level) return callback(notFound(id));
      if (quantity <= 0) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'quantity must be at least 1' });
      if (quantity > level.available) {
        return callback({ code: grpc.status.FAILED_PRECONDITION, details: `only ${level.available} of "${id}" available` });
      }
      level.available -= quantity;
      level.reserved += quantity;
      level.status = statusOf(level.available);
      const hold = holdFor ? Number(holdFor.seconds) : 900;
      const id64 = nextReservation++;
      callback(null, { id: id64.toString(), product_id: id, quantity, expires_at: { seconds: BASE_SECONDS + hold, nanos: 0 } });
    },
    WatchStock(call: grpc.ServerWritableStream<{ product_ids: string[]; count: number; interval: Seconds | null }, unknown>) {
      count('WatchStock');
      stats.streamsOpen++;
      const ids = call.request.product_ids.length > 0 ? call.request.product_ids : [...levels.keys()];
      const unknown = ids.find((id) => !levels.has(id));
      if (unknown) {
        stats.streamsOpen--;
        call.emit('error', { code: grpc.status.NOT_FOUND, details: `no product "${unknown}"` });
        return;
      }
      const total = Math.min(Math.max(call.request.count || 10, 1), 1000);
      const interval = call.request.interval ? Number(call.request.interval.seconds) * 1000 + (call.request.interval.nanos ?? 0) / 1e6 : 100;
      let sequence = 0;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        stats.streamsOpen--;
        if (timer) clearTimeout(timer);
      };
      call.on('cancelled', () => {
        if (!done) stats.streamsCancelled++;
        finish();
      });
      const send = (): void => {
        if (done) return;
        sequence++;
        const id = ids[(sequence - 1) % ids.length]!;
        const n = productNumber(id) ?? 1;
        const delta = ((sequence * 7 + n) % 5) - 2;
        const level = levels.get(id)!;
        const available = Math.max(0, level.available + delta);
        call.write({ sequence: String(sequence), product_id: id, delta, available, at: { seconds: BASE_SECONDS + sequence, nanos: 0 } });
        if (sequence >= total) {
          finish();
          call.end();
        } else {
          timer = setTimeout(send, interval);
        }
      };
      send();
    },
  };

  const server = new grpc.Server();
  server.addService(proto.tessera.inventory.v1.InventoryService.service, handlers);
  new ReflectionService(definition).addToServer(server);
  const actual = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(bindError(error, port)) : resolve(bound)));
  });
  return {
    url: `grpc://127.0.0.1:${actual}`,
    port: actual,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open streams would hold tryShutdown forever.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.env.INVENTORY_PORT ?? 4104);
  start(port).then((s) => console.log(`inventory (gRPC) listening on ${s.url}`));
}
