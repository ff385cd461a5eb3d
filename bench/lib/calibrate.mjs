// The host's speed, measured the same way before every load run (lib/host-speed.ts):
// a fixed piece of work a gateway does all the time, JSON.parse and
// JSON.stringify of the same 12 KB document and the objects they allocate,
// timed in batches after a warm-up. Prints the median batch's time per
// iteration in microseconds. On a shared host (a VM whose neighbours take
// memory bandwidth or cache, a CPU that changes its clock) this moves by
// more than half between runs minutes apart with no steal time shown, and
// every target's CPU per request moves with it.
// Plain JavaScript, started with `node` alone (no loader), so it starts fast.
import process from 'node:process';

const doc = {
  orders: Array.from({ length: 20 }, (_, i) => ({
    id: `o${i + 1}`,
    number: 50000 + i,
    status: ['pending', 'paid', 'shipped', 'delivered'][i % 4],
    total: { amount: 100.25 + i * 3.5, currency: 'EUR' },
    customer: { id: `c${(i % 12) + 1}`, name: `Customer ${(i % 12) + 1}`, email: `customer${(i % 12) + 1}@example.com`, address: { street: `${10 + i} Market Street`, city: 'Lyon', postalCode: '69002', country: 'FR' } },
    items: Array.from({ length: 2 + (i % 3) }, (_, k) => ({ sku: `SKU-${1000 + k}`, name: 'Oak table', quantity: 1 + k, unitPrice: { amount: 9.5 + k * 12.25, currency: 'EUR' } })),
    shipping: { method: i % 3 ? 'standard' : 'express', carrier: i % 2 ? 'PostNord' : 'DHL' },
  })),
};
const text = JSON.stringify(doc);
const PER_BATCH = 100;
const BATCHES = 9;
let sink = 0;
const batch = () => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < PER_BATCH; i++) sink += JSON.stringify(JSON.parse(text)).length;
  return Number(process.hrtime.bigint() - start) / 1000 / PER_BATCH;
};
for (let i = 0; i < 3; i++) batch();
const times = Array.from({ length: BATCHES }, batch).sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ usPerIteration: times[Math.floor(BATCHES / 2)], bytes: text.length, sink: sink > 0 })}\n`);
