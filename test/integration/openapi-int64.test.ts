/**
 * `format: int64` beyond 2^53, exactly, both ways: an upstream's
 * 9007199254740993 reaches the client as "9007199254740993" (JSON.parse alone
 * would give ...992), and a client's "9007199254740993" reaches the upstream
 * as that number, in a path, a query and a JSON body. The REST server writes
 * and reads raw JSON text, so nothing on its side rounds either.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { quoteUnsafeIntegers, stringifyJson } from '../../src/sources/openapi/int64.js';
import { ok, loadOpenapi, plain, run, startRest, type RestServer } from '../kit/openapi.js';
import type { LoadedSource } from '../../src/sources/index.js';

const BIG = '9007199254740993';
const MIN = '-9223372036854775808';

test('quoteUnsafeIntegers quotes only integer literals beyond 2^53, never inside strings', () => {
  assert.equal(quoteUnsafeIntegers(`{"a":${BIG},"b":[1,${MIN}],"c":9007199254740991}`), `{"a":"${BIG}","b":[1,"${MIN}"],"c":9007199254740991}`);
  // In strings (escaped quotes and backslashes included), and numbers with a fraction or exponent, are left alone.
  const untouched = `{"s":"x\\" ${BIG} \\\\","t":"${BIG}","f":${BIG}.5,"e":1e400,"k":12345678901234567890e2}`;
  assert.equal(quoteUnsafeIntegers(untouched), untouched);
  assert.deepEqual(JSON.parse(quoteUnsafeIntegers(`[${BIG}, "${BIG}", -${BIG}]`)), [BIG, BIG, `-${BIG}`]);
});

test('stringifyJson writes BigInts as bare numbers and leaves look-alike strings as strings', () => {
  assert.equal(stringifyJson({ id: BigInt(BIG), s: BIG, n: 1 }), `{"id":${BIG},"s":"${BIG}","n":1}`);
  assert.equal(stringifyJson({ plain: true }), '{"plain":true}');
});

const account = {
  type: 'object',
  required: ['id', 'balance'],
  properties: {
    id: { type: 'integer', format: 'int64' },
    balance: { type: 'integer', format: 'int64' },
    count: { type: 'integer', format: 'int32' },
    note: { type: 'string' },
    history: { type: 'array', items: { type: 'integer', format: 'int64' } },
  },
};
const spec = {
  openapi: '3.1.0',
  info: { title: 'int64', version: '1' },
  paths: {
    '/accounts/{id}': {
      get: {
        operationId: 'getAccount',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'integer', format: 'int64' } },
          { name: 'since', in: 'query', schema: { type: 'integer', format: 'int64' } },
        ],
        responses: ok({ $ref: '#/components/schemas/Account' }),
      },
    },
    '/accounts': {
      get: { operationId: 'listAccounts', responses: ok({ type: 'object', properties: { page: { type: 'array', items: { $ref: '#/components/schemas/Account' } } } }) },
      post: { operationId: 'createAccount', requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Account' } } } }, responses: ok({ $ref: '#/components/schemas/Account' }, { status: 201 }) },
    },
  },
  components: { schemas: { Account: account } },
};

describe('int64 through the OpenAPI source', () => {
  let server: RestServer;
  let source: LoadedSource;
  before(async () => {
    server = await startRest((req, res) => {
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      };
      if (req.method === 'GET' && req.url.startsWith('/accounts/')) {
        // The id as the client sent it, digit for digit, written back as a bare JSON number.
        const id = req.url.slice('/accounts/'.length).split('?')[0]!;
        return send(200, `{"id": ${id}, "balance": ${MIN}, "count": 7, "note": "ref ${BIG}", "history": [1, ${BIG}, 9007199254740991]}`);
      }
      if (req.method === 'GET' && req.url === '/accounts') return send(200, `{"page": [{"id": ${BIG}, "balance": 0}, {"id": 18446744073709551615, "balance": 1}]}`);
      if (req.method === 'POST' && req.url === '/accounts') return send(201, req.body.toString('utf8'));
      send(404, '{}');
    });
    source = await loadOpenapi(spec, server.url);
  });
  afterEach(() => server.watch.assertDeclared());
  after(async () => {
    await source.close();
    await server.close();
  });

  test(`${BIG} from the upstream reaches the client exactly, as a decimal string; safe values stay numbers`, async () => {
    const result = plain(await run(source, `query($id: BigInt!) { getAccount(id: $id) { id balance count note history } }`, { variables: { id: BIG } }));
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    assert.deepEqual(result.data.getAccount, { id: BIG, balance: MIN, count: 7, note: `ref ${BIG}`, history: [1, BIG, 9007199254740991] });
    assert.equal(server.calls.at(-1)!.url, `/accounts/${BIG}`, 'the path carries every digit');
  });

  test('in lists inside objects too, up to the unsigned 64-bit maximum', async () => {
    const result = plain(await run(source, '{ listAccounts { page { id balance } } }'));
    assert.deepEqual(result.data.listAccounts.page, [
      { id: BIG, balance: 0 },
      { id: '18446744073709551615', balance: 1 },
    ]);
  });

  test('a client value beyond 2^53 goes upstream exactly: a query parameter, and a bare number in a JSON body', async () => {
    await run(source, `{ getAccount(id: 1, since: "${BIG}") { id } }`);
    assert.equal(server.calls.at(-1)!.url, `/accounts/1?since=${BIG}`);
    const result = plain(await run(source, `mutation { createAccount(input: { id: "${BIG}", balance: "${MIN}", count: 1 }) { id balance } }`));
    assert.equal(server.calls.at(-1)!.body.toString('utf8'), `{"id":${BIG},"balance":${MIN},"count":1}`);
    assert.deepEqual(result.data.createAccount, { id: BIG, balance: MIN }, 'and comes back the same');
  });

  test('a number beyond 2^53 from the client is refused, never rounded: it has already lost its digits, so a string is asked for', async () => {
    const before = server.calls.length;
    // A JSON number in variables, and an integer literal (which stitching reads as a JavaScript number).
    for (const [query, variables] of [
      ['query($id: BigInt!) { getAccount(id: $id) { id } }', { id: 2 ** 53 + 2 }],
      [`mutation { createAccount(input: { id: 1, balance: ${MIN} }) { id } }`, undefined],
    ] as const) {
      const result = plain(await run(source, query, { variables }));
      assert.match(result.errors?.[0]?.message ?? '', /send integers beyond 2\^53 as decimal strings/);
    }
    assert.equal(server.calls.length, before, 'no upstream call');
  });
});
