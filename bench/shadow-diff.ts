/**
 * What comparing one shadow answer costs (transport/shadow-diff.ts), in
 * process, on a GraphQL answer of 60 products (about 5.7 KB): equal bytes
 * (nothing decoded), documents that differ only in an ignored timestamp
 * (both JSON bodies parsed, then walked with `data.**.updatedAt` and with
 * `data.products.*.updatedAt`), and the walk alone on decoded documents.
 * The comparison runs after the copied call has its answer, so this is CPU
 * the gateway spends beside its requests, per copy, not latency a client
 * waits for.
 *
 *   npx tsx bench/shadow-diff.ts [--iterations 5000]
 *
 * Printed: microseconds per comparison, the median and the lowest of 5
 * rounds (other processes only ever add to a round: the lowest is the
 * steadiest figure on a busy machine). A benchmark, not a test: nothing is
 * asserted.
 */
import { parseArgs } from 'node:util';
import { compareAnswers, ignoredPaths, type ShadowView } from '../src/transport/shadow-diff.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '5000' } } });
const iterations = Number(values.iterations);

const answer = (stamp: string): unknown => ({
  data: { products: Array.from({ length: 60 }, (_, i) => ({ id: String(i), name: `product ${i}`, price: i * 3, tags: ['a', 'b'], updatedAt: stamp })) },
});
const fromJson = (value: unknown): ShadowView => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { status: '200', bytes, document: () => JSON.parse(bytes.toString('utf8')) as unknown };
};
/** Documents already decoded (the gRPC case), with bytes that differ so the walk runs. */
const decoded = (value: unknown, tag: string): ShadowView => ({ status: '200', bytes: Buffer.from(tag), document: () => value });

const primary = fromJson(answer('2026-12-06T06:00:00Z'));
const cases: Array<[string, ShadowView, ShadowView, string[]]> = [
  ['equal bytes', primary, fromJson(answer('2026-12-06T06:00:00Z')), ['data.**.updatedAt']],
  ['JSON parsed, timestamps ignored (data.**.updatedAt)', primary, fromJson(answer('2026-12-06T07:00:00Z')), ['data.**.updatedAt']],
  ['JSON parsed, timestamps ignored (data.products.*.updatedAt)', primary, fromJson(answer('2026-12-06T07:00:00Z')), ['data.products.*.updatedAt']],
  ['decoded, equal documents, no ignored path', decoded(answer('t'), 'a'), decoded(answer('t'), 'b'), []],
];

console.log(`answer: ${primary.bytes!.length} bytes; ${iterations} comparisons per round`);
for (const [name, a, b, ignore] of cases) {
  const ignored = ignoredPaths(ignore);
  const rounds: number[] = [];
  for (let round = 0; round < 6; round++) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) if (compareAnswers(a, b, ignored)) throw new Error(`${name}: the answers differ`);
    // The first round warms up.
    if (round > 0) rounds.push(((performance.now() - started) / iterations) * 1000);
  }
  rounds.sort((x, y) => x - y);
  console.log(`${name}: ${rounds[2]!.toFixed(1)} µs per comparison (median of 5 rounds), lowest ${rounds[0]!.toFixed(1)} µs`);
}
