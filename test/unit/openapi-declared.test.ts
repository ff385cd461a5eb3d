/**
 * The request validator of the issue-13 invariant (test/fixtures/openapi/declared.ts):
 * each rule catches the request it is about, and what the gateway itself
 * sends for a declared operation passes. Raw requests are built by hand, as
 * an upstream would receive them; no sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDescriptor } from '../../src/config/load.js';
import { declaredRequests, type UpstreamRequest } from '../kit/openapi-declared.js';
import { FIXTURES, ok } from '../kit/openapi.js';

const spec = {
  openapi: '3.1.0',
  info: { title: 'desk', version: '1' },
  paths: {
    '/tickets': {
      get: { operationId: 'listTickets', parameters: [{ name: 'page', in: 'query', schema: { type: 'integer' } }, { name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object' } }], responses: ok({ type: 'array' }) },
      post: { operationId: 'createTicket', requestBody: { content: { 'application/json': { schema: { type: 'object' } } } }, responses: ok({ type: 'object' }) },
    },
    '/tickets/{id}': {
      get: {
        operationId: 'getTicket',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'X-Tenant', in: 'header', schema: { type: 'string' } },
          { name: 'X-User-Id', in: 'header', schema: { type: 'string' } },
          { name: 'Host', in: 'header', schema: { type: 'string' } },
          { name: 'session', in: 'cookie', schema: { type: 'string' } },
        ],
        responses: ok({ type: 'object' }),
      },
    },
  },
};

const descriptor = parseDescriptor(
  {
    name: 'desk',
    kind: 'openapi',
    source: 'desk.json',
    url: 'http://127.0.0.1:8080/api',
    headers: { forward: ['accept-language'], set: { 'x-api-version': '2' }, identity: { 'x-user-id': 'subject' } },
  },
  '<test>',
  FIXTURES,
  {},
);
const declared = await declaredRequests(descriptor, spec);
const INSTANCE = 'http://127.0.0.1:8080/api';
const GATEWAY_HEADERS = ['host', '127.0.0.1:8080', 'connection', 'keep-alive', 'accept', 'application/json', 'x-api-version', '2'];

const rules = (request: Partial<UpstreamRequest>, identity?: Record<string, string>): string[] =>
  declared.check({ method: 'GET', url: '/api/tickets/T-1', rawHeaders: GATEWAY_HEADERS, ...request }, INSTANCE, identity).map((v) => v.rule);

test('what the gateway sends for a declared operation passes', () => {
  assert.deepEqual(rules({}), []);
  assert.deepEqual(rules({ url: '/api/tickets/a%2Fb%2E%2E?' }), [], '%2F stays encoded inside the segment');
  assert.deepEqual(rules({ url: '/api/tickets?page=2&filter%5Bcolor%5D=red' }), []);
  assert.deepEqual(rules({ url: '/api/tickets/T-1', rawHeaders: [...GATEWAY_HEADERS, 'x-tenant', 't1', 'cookie', 'session=s%3D1', 'accept-language', 'fr'] }), []);
  assert.deepEqual(rules({ rawHeaders: [...GATEWAY_HEADERS, 'x-user-id', 'alice'] }, { 'x-user-id': 'alice' }), [], 'the verified caller\'s identity');
  assert.deepEqual(rules({ method: 'POST', url: '/api/tickets', rawHeaders: [...GATEWAY_HEADERS, 'content-type', 'application/json', 'content-length', '2'] }), []);
});

test('each rule catches the request it is about, saying what and where', () => {
  const cases: Array<[Partial<UpstreamRequest>, string[], Record<string, string>?]> = [
    [{ url: '/api/admin' }, ['operation']],
    [{ method: 'DELETE' }, ['operation']],
    [{ url: '/other/tickets/T-1' }, ['operation']],
    [{ url: '/api/tickets/%2E%2E' }, ['dot-segment']],
    [{ url: '/api/tickets/.' }, ['dot-segment']],
    [{ url: '/api/tickets/a b' }, ['segment-encoding']],
    [{ url: '/api/tickets/a/b' }, ['operation']],
    [{ url: '/api/tickets/' }, ['empty-segment']],
    [{ url: '/api/tickets?page=1&admin=1' }, ['query']],
    [{ rawHeaders: [...GATEWAY_HEADERS.slice(2), 'host', 'evil.example'] }, ['host']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'host', '127.0.0.1:8080'] }, ['host']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'x-internal', '1'] }, ['header']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'x-tenant', 'a', 'x-tenant', 'b'] }, ['header']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'cookie', 'sid=1'] }, ['cookie']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'authorization', 'Bearer client'] }, ['authorization']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'x-user-id', 'admin'] }, ['identity']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'x-user-id', 'admin'] }, ['identity'], { 'x-user-id': 'alice' }],
    [{ rawHeaders: [...GATEWAY_HEADERS.slice(0, 6), 'x-api-version', '99'] }, ['set-header']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'transfer-encoding', 'chunked'] }, ['gateway-header']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'content-type', 'application/json'] }, ['gateway-header']],
    [{ rawHeaders: [...GATEWAY_HEADERS, 'if-none-match', '"x"'] }, ['gateway-header']],
  ];
  for (const [request, expected, identity] of cases) assert.deepEqual(rules(request, identity), expected, JSON.stringify(request));
  const [violation] = declared.check({ method: 'GET', url: '/api/tickets/%2E%2E', rawHeaders: GATEWAY_HEADERS }, INSTANCE);
  assert.deepEqual(violation, {
    rule: 'dot-segment',
    method: 'GET',
    url: '/api/tickets/%2E%2E',
    message: 'path segment 2 "%2E%2E" decodes to "..": a dot-segment climbs a directory on upstreams that normalise paths',
  });
});
