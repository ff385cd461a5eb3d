/**
 * The shadow comparison (transport/shadow-diff.ts) and the `shadow:` key's
 * errors, in process: ignored-path patterns, the first difference reported,
 * equal bytes never decoded, excerpts bounded and redacted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareAnswers, excerpt, EXCERPT_CHARS, ignoredPaths, type ShadowView } from '../../src/transport/shadow-diff.js';
import { parseDescriptor } from '../../src/config/load.js';
import { isConfigError } from '../../src/errors.js';
import { upstreamPolicySchema } from '../../src/config/upstreams.js';
import { guardUpstreams } from '../../src/transport/upstream-guard.js';

const json = (value: unknown, status = '200'): ShadowView => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { status, bytes, document: () => JSON.parse(bytes.toString()) as unknown };
};

test('ignored paths: a key, an index, * for one segment, ** for any number', () => {
  const ignored = ignoredPaths(['data.product.updatedAt', 'items.*.etag', '**.requestId', 'list.0']);
  assert.equal(ignored.matches(['data', 'product', 'updatedAt']), true);
  assert.equal(ignored.matches(['data', 'product', 'price']), false);
  assert.equal(ignored.matches(['items', 3, 'etag']), true);
  assert.equal(ignored.matches(['items', 3, 'inner', 'etag']), false);
  assert.equal(ignored.matches(['requestId']), true);
  assert.equal(ignored.matches(['a', 'b', 'requestId']), true);
  assert.equal(ignored.matches(['list', 0]), true);
  assert.equal(ignored.matches(['list', 1]), false);
});

test('the first difference: status first, then the document path by path; ignored paths and equal bytes are matches', () => {
  const none = ignoredPaths([]);
  assert.deepEqual(compareAnswers(json({ a: 1 }), json({ a: 1 }, '500'), none), { path: '$status', primary: '200', shadow: '500' });
  const decoded: ShadowView = { status: '200', bytes: Buffer.from('{"a":1}'), document: () => assert.fail('equal bytes are never decoded') };
  assert.equal(compareAnswers(decoded, decoded, none), undefined);
  assert.deepEqual(compareAnswers(json({ data: { items: [{ id: 1 }, { id: 2 }] } }), json({ data: { items: [{ id: 1 }, { id: 3 }] } }), none), {
    path: 'data.items.1.id',
    primary: 2,
    shadow: 3,
  });
  assert.deepEqual(compareAnswers(json({ a: [1] }), json({ a: [1, 2] }), none), { path: 'a.1', primary: undefined, shadow: 2 });
  assert.equal(compareAnswers(json({ at: 1, v: 'x' }), json({ at: 2, v: 'x' }), ignoredPaths(['at'])), undefined);
  assert.equal(compareAnswers(json({ v: 'x' }), json({ at: 2, v: 'x' }), ignoredPaths(['at'])), undefined, 'a key only one side has, under an ignored path');
  const text = (body: string): ShadowView => ({ status: '200', bytes: Buffer.from(body), document: () => undefined });
  assert.deepEqual(compareAnswers(text('<html>a'), text('<html>b'), none), { path: '$body', primary: '<html>a', shadow: '<html>b' });
});

test('excerpts: JSON, at most EXCERPT_CHARS characters, secret fields redacted at any depth or as the path itself', () => {
  const long = { path: 'data', primary: { text: 'x'.repeat(1000) }, shadow: null };
  assert.equal(excerpt(long, 'primary').length, EXCERPT_CHARS);
  assert.equal(excerpt(long, 'shadow'), 'null');
  assert.equal(excerpt({ path: 'data.user', primary: { name: 'a', password: 'hunter2', nested: { token: 't' } }, shadow: undefined }, 'primary'), '{"name":"a","password":"[redacted]","nested":{"token":"[redacted]"}}');
  assert.equal(excerpt({ path: 'data.user', primary: 1, shadow: undefined }, 'shadow'), '(absent)');
  assert.equal(excerpt({ path: 'data.user.apiKey', primary: 'k-1', shadow: 'k-2' }, 'shadow'), '[redacted]');
});

test('`shadow:` errors name the file and the key: neither url nor version, a version no upstream has, a bad ignored path', () => {
  const problems = (shadow: unknown, upstreams: unknown = [{ url: 'http://127.0.0.1:1', version: 'v1' }]): string => {
    try {
      parseDescriptor({ name: 'shop', kind: 'graphql', upstreams, shadow }, '/cfg/shop.yaml', '/cfg');
    } catch (error) {
      if (isConfigError(error)) return error.problems.join('\n');
      throw error;
    }
    return '';
  };
  assert.match(problems({ percent: 5 }), /shadow.*give `url` \(an instance of its own\) or `version`/);
  assert.match(problems({ version: 'v3' }), /shop\.yaml: shadow\.version: no instance in `upstreams` has version "v3" \(versions: v1\)/);
  assert.match(problems({ version: 'v1' }), /shadow\.version: every instance has version "v1"/);
  assert.match(problems({ url: 'http://127.0.0.1:2', ignore: ['data..x'] }), /shop\.yaml: shadow\.ignore\[0\]: expected a path like/);
  assert.match(problems({ url: 'http://127.0.0.1:2', percent: 150 }), /shadow\.percent/);
  assert.equal(problems({ url: 'http://127.0.0.1:2', percent: 5, ignore: ['**.updatedAt'] }), '');
});

test('shadow.url passes the same security.upstreams check as every upstream URL', async () => {
  const descriptor = { name: 'shop', file: 'shop.yaml', upstreams: [{ url: 'http://127.0.0.1:1' }], shadow: { url: 'http://169.254.169.254/graphql' } };
  await assert.rejects(guardUpstreams([descriptor], upstreamPolicySchema.parse({})), (error: unknown) => {
    assert.ok(isConfigError(error));
    assert.match(error.problems.join('\n'), /^shop\.yaml: shadow\.url: .*169\.254\.169\.254.*\(subgraph "shop"\)$/m);
    return true;
  });
});
