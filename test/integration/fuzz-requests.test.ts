/**
 * Bad input is the client's mistake, so it gets a 4xx, never a 500: generated
 * requests (test/kit/fuzz.ts: random JSON and non-JSON bodies, every method,
 * odd media types and headers, GET parameters with broken JSON, broken
 * multipart uploads, mutated and schema-valid operations) against the demo
 * gateway, in production and in development mode. No answer may be a 5xx,
 * carry a masked internal error ("Unexpected error.", INTERNAL_SERVER_ERROR),
 * or show a stack trace or a path of the machine it runs on; afterwards the
 * gateway still answers. See docs/reliability.md, row 41.
 *
 * Seeded and bounded: FUZZ_SEED replays a run (the seed is printed), FUZZ_RUNS
 * sets the number of requests per mode (default 1500). Under CI=true the seed
 * is fixed, so CI is reproducible; locally each run takes a new one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import { startDemo } from '../kit/index.js';
import { fuzzClient, fuzzRequest, type FuzzAnswer, type FuzzRequest } from '../kit/fuzz.js';

const CI_SEED = 20261206;
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI === 'true' ? CI_SEED : Math.floor(Math.random() * 2 ** 31);
const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1500;
const replay = `FUZZ_SEED=${seed} npm run test:one -- test/integration/fuzz-requests.test.ts`;
// Printed at once, so a run that hangs or crashes can still be replayed.
console.log(`fuzz-requests: seed ${seed}, ${runs} requests per mode; replay: ${replay}`);

const repository = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const schema = buildSchema(readFileSync(new URL('../../schema/unified.graphql', import.meta.url), 'utf8'));

/** What a client must never see, and why, or undefined when the answer is acceptable. */
function problem(answer: FuzzAnswer): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (/Unexpected error\.|INTERNAL_SERVER_ERROR|"code":"INTERNAL"/.test(answer.text)) return 'a masked internal error';
  // A stack inside JSON has its line breaks escaped (`\n    at`); a frame names a file, line and column.
  if (/"stack"|(\n|\\n)\s+at \S|\bat \S+ \([^)]*:\d+:\d+\)/.test(answer.text)) return 'a stack trace';
  if (answer.text.includes(repository) || /node_modules|file:\/\//.test(answer.text)) return 'a filesystem path';
  return undefined;
}

function describe(req: FuzzRequest, answer: FuzzAnswer | undefined, why: string): string {
  const body = req.body === undefined ? '(none)' : req.body.slice(0, 400);
  return `${why} for a ${req.kind} request: ${req.method} ${req.path.slice(0, 300)}\n headers ${JSON.stringify(req.headers).slice(0, 400)}\n body ${body}\n answer ${answer?.status} ${answer?.text.slice(0, 600)}`;
}

async function fuzz(t: TestContext, mode: 'production' | 'development') {
  const demo = await startDemo(t, { TESSERA_MODE: mode });
  const base = new URL(demo.url);
  const client = fuzzClient(base);
  t.after(() => client.close());
  const seen = new Map<number, number>();
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(fuzzRequest(schema), async (req) => {
      let answer: FuzzAnswer;
      try {
        answer = await client.send(req);
      } catch (error) {
        throw new Error(describe(req, undefined, `no answer (${(error as Error).message})`));
      }
      seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
      const why = problem(answer);
      if (why) throw new Error(describe(req, answer, why));
    }),
    { seed, numRuns: runs },
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const statuses = [...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ');
  t.diagnostic(`${mode}: ${runs} requests in ${seconds} s (seed ${seed}); statuses ${statuses}`);

  // The gateway still answers, on every channel.
  for (const path of ['/graphql', '/web/graphql', '/mobile/graphql']) {
    const after = await fetch(new URL(path, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ reviews(first: 1) { rating } }' }) });
    assert.equal(after.status, 200, path);
    const body = (await after.json()) as { data?: { reviews: unknown[] }; errors?: unknown };
    assert.equal(body.errors, undefined, path);
    assert.equal(body.data?.reviews.length, 1, path);
  }
  // Every kind of request was sent, and most were answered by the GraphQL endpoint (not all refused early).
  assert.ok((seen.get(200) ?? 0) > runs / 10, `too few 200 answers: ${statuses}`);
  assert.ok((seen.get(400) ?? 0) > runs / 10, `too few 400 answers: ${statuses}`);
}

test('malformed JSON in a GET parameter is 400 BAD_REQUEST naming it, with no stack or path, in both modes', async (t) => {
  for (const mode of ['production', 'development'] as const) {
    const demo = await startDemo(t, { TESSERA_MODE: mode });
    demo.resetCalls();
    for (const [name, value] of [
      ['variables', '{'],
      ['extensions', '{'],
      ['variables', '{"id":"p1"'],
    ]) {
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        const res = await fetch(`${demo.url}?query=${encodeURIComponent('{ __typename }')}&${name}=${encodeURIComponent(value!)}`, { headers: { accept } });
        const text = await res.text();
        assert.equal(res.status, 400, `${mode} ${name}=${value} ${accept}: ${text}`);
        const body = JSON.parse(text) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
        assert.equal(body.errors.length, 1);
        assert.match(body.errors[0]!.message, new RegExp(`^GET parameter "${name}" is not valid JSON: `));
        assert.deepEqual(body.errors[0]!.extensions, { code: 'BAD_REQUEST' });
        assert.equal(problem({ status: res.status, headers: {}, text }), undefined);
      }
    }
    // Given twice, a parameter is ambiguous (a proxy could read one, the gateway run the other).
    const twice = await fetch(`${demo.url}?query=${encodeURIComponent('{ __typename }')}&query=${encodeURIComponent('{ me { id } }')}`, { headers: { accept: 'application/json' } });
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { errors: Array<{ message: string }> }).errors[0]!.message, 'GET parameter "query" is given 2 times; send it once.');
    const calls = demo.calls();
    assert.ok(Object.values(calls).every((n) => n === 0), `no subgraph was called: ${JSON.stringify(calls)}`);
  }
});

test('a multipart upload with a malformed operations or map field is 400 BAD_REQUEST naming the field, not 500', async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'development' });
  const upload = JSON.stringify({ query: 'mutation ($f: Upload!) { uploadProductImage(id: "p1", input: { file: $f }) { size } }', variables: { f: null } });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ operations: '{' }, /^Multipart field "operations" is not valid JSON: /],
    [{ operations: '"text"', map: '{"0":["variables.f"]}' }, /^Multipart field "operations" must be a JSON object \(or an array for a batch\), not string\.$/],
    [{ operations: upload, map: '{"0": 5}' }, /^Multipart field "map": "0" must be a list of paths in "operations"/],
    [{ operations: upload, map: '{"0": [5]}' }, /^Multipart field "map": "0" must be a list of paths in "operations"/],
    [{ operations: upload, map: '[' }, /^Multipart field "map" is not valid JSON: /],
    [{ map: '{}' }, /^Multipart field "operations" is missing/],
  ];
  for (const [fields, message] of cases) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    form.set('0', new Blob(['png']), 'f.png');
    const res = await fetch(demo.url, { method: 'POST', body: form, headers: { 'x-tessera-csrf': '1', accept: 'application/json' } });
    const text = await res.text();
    assert.equal(res.status, 400, `${JSON.stringify(fields)}: ${text}`);
    const body = JSON.parse(text) as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    assert.match(body.errors[0]!.message, message);
    assert.equal(body.errors[0]!.extensions.code, 'BAD_REQUEST');
  }
  // Chunked (no Content-Length) and over server.bodyLimit: the body limit's 413, not a 400 for "invalid multipart".
  const head = '--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n--b\r\nContent-Disposition: form-data; name="0"; filename="a"\r\n\r\n';
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(head));
      controller.enqueue(new Uint8Array(2 * 1024 * 1024).fill(97));
      controller.close();
    },
  });
  const large = await fetch(demo.url, { method: 'POST', body: chunked, duplex: 'half', headers: { 'content-type': 'multipart/form-data; boundary=b', 'x-tessera-csrf': '1' } } as RequestInit);
  assert.equal(large.status, 413);
  assert.equal(((await large.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code, 'PAYLOAD_TOO_LARGE');
  // A well-formed upload still reaches the catalog service.
  const form = new FormData();
  form.set('operations', upload);
  form.set('map', '{"0":["variables.f"]}');
  form.set('0', new Blob(['png']), 'f.png');
  const ok = await fetch(demo.url, { method: 'POST', body: form, headers: { 'x-tessera-csrf': '1', accept: 'application/json' } });
  assert.deepEqual(await ok.json(), { data: { uploadProductImage: { size: 3 } } });
});

test(`fuzz: generated requests get no 5xx, no masked error, no stack or path (production)`, async (t) => {
  await fuzz(t, 'production');
});

test(`fuzz: generated requests get no 5xx, no masked error, no stack or path (development)`, async (t) => {
  await fuzz(t, 'development');
});
