/**
 * The arithmetic behind tessera_gateway_overhead_seconds (the union of a
 * request's upstream intervals, so parallel calls are not counted twice) and
 * the `kind` label of tessera_upstream_errors_total.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unionLength } from '../../src/telemetry/intervals.js';
import { upstreamErrorKind } from '../../src/telemetry/metrics.js';

test('the union of intervals counts overlapping and nested intervals once', () => {
  assert.equal(unionLength([]), 0);
  assert.equal(unionLength([10, 20]), 10);
  assert.equal(unionLength([10, 20, 30, 40]), 20, 'disjoint: the sum');
  assert.equal(unionLength([10, 30, 20, 40]), 30, 'overlapping: from the first start to the last end');
  assert.equal(unionLength([10, 50, 20, 30]), 40, 'nested: the outer one');
  assert.equal(unionLength([30, 40, 10, 20, 15, 35]), 30, 'out of order, chained');
  assert.equal(unionLength([10, 20, 20, 30]), 20, 'touching');
  assert.equal(unionLength([10, 10, 20, 15]), 0, 'empty and reversed intervals count nothing');
});

test('intervals are clipped to the request: a call that outlives the response counts up to the response only', () => {
  assert.equal(unionLength([0, 50, 40, 120], 10, 100), 90);
  assert.equal(unionLength([0, 5, 200, 300], 10, 100), 0, 'wholly outside');
});

test('the kind of an upstream failure, from the event of its attempt', () => {
  assert.equal(upstreamErrorKind({ status: 200 }), undefined);
  assert.equal(upstreamErrorKind({ status: 404 }), 'http_4xx');
  assert.equal(upstreamErrorKind({ status: 503 }), 'http_5xx');
  assert.equal(upstreamErrorKind({ code: 'GATEWAY_TIMEOUT' }), 'timeout');
  assert.equal(upstreamErrorKind({ code: 'GATEWAY_TIMEOUT', grpcCode: 'DEADLINE_EXCEEDED' }), 'timeout');
  assert.equal(upstreamErrorKind({ code: 'SOURCE_UNAVAILABLE' }), 'connection');
  assert.equal(upstreamErrorKind({ code: 'SOURCE_UNAVAILABLE', grpcCode: 'UNAVAILABLE' }), 'connection');
  assert.equal(upstreamErrorKind({ code: 'GRPC_STATUS', grpcCode: 'NOT_FOUND' }), 'grpc_NOT_FOUND');
  assert.equal(upstreamErrorKind({ code: 'SOURCE_RESPONSE_TOO_LARGE' }), 'other');
  assert.equal(upstreamErrorKind({ code: 'REQUEST_ABORTED' }), undefined, 'the client went away: not the upstream\'s error');
});
