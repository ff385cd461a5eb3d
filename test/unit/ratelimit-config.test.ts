/**
 * rateLimit:, cache:, store: and descriptor cache: as a user writes them:
 * defaults, shorthands, and the errors that name what is wrong. Plus the
 * client address behind trusted proxies, and the store's key-value interface.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { parseGatewayConfig } from '../../src/config/load.js';
import { descriptorCache } from '../../src/config/cache.js';
import { clientAddressResolver } from '../../src/plugins/client-address.js';
import { SubscriptionSlots } from '../../src/plugins/subscription-slots.js';
import { createStores } from '../../src/store/index.js';
import { createLogger } from '../../src/logger.js';

const parse = (input: unknown) => parseGatewayConfig(input, 'gateway.yaml', {});

test('defaults: memory store, no rules, cache on with a default TTL of 0 and dedupe on', () => {
  const config = parse({});
  assert.deepEqual(config.store, { url: 'memory', prefix: 'tessera:', timeout: 50, writeAttempts: 3 });
  assert.equal(config.rateLimit.onStoreError, 'open');
  assert.equal(config.rateLimit.failOpenRatio, 0.1);
  assert.deepEqual(config.rateLimit.rules, []);
  assert.deepEqual(config.rateLimit.subscriptions, { maxPerConsumer: 10, channels: {} });
  assert.equal(config.cache.enabled, true);
  assert.equal(config.cache.defaultTtl, 0);
  assert.equal(config.cache.dedupe, true);
  assert.equal(config.cache.maxEntries, 1000);
});

test('a redis:// store in short or long form; rule shorthands are filled in', () => {
  const config = parse({
    store: 'redis://cache.internal:6379/2',
    rateLimit: { rules: [{ name: 'a', limit: 10 }, { name: 'b', by: ['consumer', 'operation', 'consumer'], limit: '5', window: '2m', cost: true }] },
    cache: { store: { url: 'rediss://x:6380', prefix: 'gw1:', timeout: '20ms' } },
  });
  assert.deepEqual(config.store, { url: 'redis://cache.internal:6379/2', prefix: 'tessera:', timeout: 50, writeAttempts: 3 });
  assert.deepEqual(config.cache.store, { url: 'rediss://x:6380', prefix: 'gw1:', timeout: 20, writeAttempts: 3 });
  assert.deepEqual(config.rateLimit.rules[0], { name: 'a', by: ['consumer'], limit: 10, window: 60_000, cost: false });
  assert.deepEqual(config.rateLimit.rules[1]!.by, ['consumer', 'operation']);
  assert.equal(config.rateLimit.rules[1]!.window, 120_000);
});

test('mistakes stop start-up with the path of the value', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ store: 'http://redis:6379' }, /store.*expected "memory" or a redis:\/\//s],
    [{ store: { url: 'memory', timeout: '5s' } }, /store\.timeout/],
    [{ rateLimit: { rules: [{ name: 'a', limit: 1, window: '1500ms' }] } }, /rateLimit\.rules\[0\]\.window.*whole number of seconds/s],
    [{ rateLimit: { rules: [{ name: 'a', limit: 1 }, { name: 'a', limit: 2 }] } }, /rateLimit\.rules\[1\]\.name.*used twice/s],
    [{ rateLimit: { rules: [{ name: 'a', limit: 0 }] } }, /rateLimit\.rules\[0\]\.limit/],
    [{ rateLimit: { rules: [{ name: 'a', limit: 1, by: 'user' }] } }, /rateLimit\.rules\[0\]\.by/],
    [{ rateLimit: { onStoreError: 'maybe' } }, /rateLimit\.onStoreError/],
    [{ rateLimit: { rulez: [] } }, /rulez/],
    [{ rateLimit: { subscriptions: { maxPerConsumer: 0 } } }, /rateLimit\.subscriptions\.maxPerConsumer.*at least 1/s],
    [{ rateLimit: { subscriptions: { channels: { mobile: 'ten' } } } }, /rateLimit\.subscriptions\.channels\.mobile/],
    [{ rateLimit: { subscriptions: { maxConcurrent: 5 } } }, /rateLimit\.subscriptions.*maxConcurrent/s],
    [{ cache: { ttl: '1m' } }, /cache.*ttl/s],
  ];
  for (const [input, message] of cases) assert.throws(() => parse(input), message, JSON.stringify(input));
});

test('rateLimit.subscriptions: a limit for every channel, overridden per channel', () => {
  const config = parse({ rateLimit: { subscriptions: { maxPerConsumer: '25', channels: { partners: 200 } } } });
  assert.deepEqual(config.rateLimit.subscriptions, { maxPerConsumer: 25, channels: { partners: 200 } });
  const slots = new SubscriptionSlots(config.rateLimit.subscriptions);
  assert.deepEqual(slots.limitFor('default'), { max: 25, configKey: 'rateLimit.subscriptions.maxPerConsumer' });
  assert.deepEqual(slots.limitFor('partners'), { max: 200, configKey: 'rateLimit.subscriptions.channels.partners' });
});

test('open-subscription slots: per consumer and channel, refused at the limit, each given back once', () => {
  const slots = new SubscriptionSlots({ maxPerConsumer: 2, channels: { mobile: 1 } });
  const first = slots.take('default', 'jwt:alice');
  const second = slots.take('default', 'jwt:alice');
  assert.ok(first && second);
  assert.equal(slots.take('default', 'jwt:alice'), undefined, 'a third is refused');
  assert.ok(slots.take('default', 'jwt:bob'), 'another consumer counts apart');
  const mobile = slots.take('mobile', 'jwt:alice');
  assert.ok(mobile, 'another channel counts apart');
  assert.equal(slots.take('mobile', 'jwt:alice'), undefined, 'at the channel\'s own limit');
  first();
  first();
  assert.equal(slots.held('default', 'jwt:alice'), 1, 'releasing twice gives back one slot');
  assert.ok(slots.take('default', 'jwt:alice'));
  assert.equal(slots.take('default', 'jwt:alice'), undefined);
  mobile();
  assert.equal(slots.held('mobile', 'jwt:alice'), 0);
});

test('descriptor cache: hints by type or field, a duration or { ttl, private }', () => {
  assert.deepEqual(descriptorCache.parse({ Product: '60s', 'Query.me': { ttl: '10s', private: true }, User: { private: true } }), {
    Product: { ttl: 60_000, private: false },
    'Query.me': { ttl: 10_000, private: true },
    User: { private: true },
  });
  assert.throws(() => descriptorCache.parse({ 'Product.': '1s' }), /Type.field/);
  assert.throws(() => descriptorCache.parse({ Product: { ttl: '1s', privat: true } }));
});

function context(remoteAddress: string, forwarded?: string): unknown {
  return { req: { socket: { remoteAddress }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} } as unknown as IncomingMessage };
}

test('client address: X-Forwarded-For only from a trusted proxy, read right to left past trusted hops', () => {
  const none = clientAddressResolver([]);
  assert.equal(none(context('203.0.113.9', '1.2.3.4')), '203.0.113.9');
  assert.equal(none(context('::ffff:203.0.113.9')), '203.0.113.9');
  assert.equal(none({}), 'unknown');
  const proxied = clientAddressResolver(['10.0.0.0/8', '::1']);
  assert.equal(proxied(context('10.1.2.3', '198.51.100.7')), '198.51.100.7');
  assert.equal(proxied(context('10.1.2.3', '6.6.6.6, 198.51.100.7, 10.9.9.9')), '198.51.100.7', 'a spoofed leftmost entry is ignored');
  assert.equal(proxied(context('::1', '2001:db8::5')), '2001:db8::5');
  assert.equal(proxied(context('192.0.2.1', '198.51.100.7')), '192.0.2.1', 'an untrusted peer is the client');
  assert.equal(proxied(context('10.1.2.3')), '10.1.2.3');
  assert.throws(() => clientAddressResolver(['10.0.0.0/40', 'proxy.local']), /trustedProxies\[0\].*\n?.*trustedProxies\[1\]/s);
});

test('client address: entries with ports, bracketed IPv6 and RFC 7239 Forwarded are read; anything else is the trusted peer', () => {
  const proxied = clientAddressResolver(['10.0.0.0/8', '2001:db8:ffff::/48']);
  const from = (headers: Record<string, string | string[]>) => proxied({ req: { socket: { remoteAddress: '10.1.2.3' }, headers } as unknown as IncomingMessage });
  assert.equal(from({ 'x-forwarded-for': '10.3.3.3:1234' }), '10.1.2.3', 'a trusted hop with a port is still a trusted hop');
  assert.equal(from({ 'x-forwarded-for': '198.51.100.7:1234, 10.3.3.3:80' }), '198.51.100.7');
  assert.equal(from({ 'x-forwarded-for': '[2001:db8::1]:443' }), '2001:db8::1');
  assert.equal(from({ 'x-forwarded-for': '[2001:db8::1]' }), '2001:db8::1');
  assert.equal(from({ 'x-forwarded-for': '[::ffff:198.51.100.7]:80' }), '198.51.100.7');
  assert.equal(from({ forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43' }), '192.0.2.60');
  assert.equal(from({ forwarded: 'for="[2001:db8:cafe::17]:4711"' }), '2001:db8:cafe::17');
  assert.equal(from({ forwarded: 'for=6.6.6.6, For="192.0.2.43:47011" ;proto=https, for="[2001:db8:ffff::9]"' }), '192.0.2.43', 'right to left past trusted hops; names are case-insensitive');
  assert.equal(from({ forwarded: ['for=6.6.6.6', 'for=192.0.2.61'] }), '192.0.2.61', 'several header lines are one list');
  // X-Forwarded-For wins when both are sent: a client cannot add a hop through the header its proxy does not write.
  assert.equal(from({ 'x-forwarded-for': '198.51.100.7', forwarded: 'for=6.6.6.6' }), '198.51.100.7');
  // Garbage ends the walk at the trusted peer, as a missing header does.
  const garbled: Array<Record<string, string>> = [
    { 'x-forwarded-for': '198.51.100.7:99999' },
    { 'x-forwarded-for': 'client.example:80' },
    { 'x-forwarded-for': '[198.51.100.7]:80' },
    { 'x-forwarded-for': '' },
    { forwarded: 'for=unknown' },
    { forwarded: 'for=_hidden' },
    { forwarded: 'for=2001:db8::1:80' },
    { forwarded: 'proto=https' },
    { forwarded: 'for=192.0.2.1;for=192.0.2.2' },
    { forwarded: 'for="192.0.2.1' },
    { forwarded: 'for=' },
    { forwarded: 'for=""' },
  ];
  for (const garbage of garbled) {
    assert.equal(from(garbage), '10.1.2.3', JSON.stringify(garbage));
  }
  // A client's unbalanced quote does not swallow the element its proxy appends.
  assert.equal(from({ forwarded: 'for="6.6.6.6, for=192.0.2.60' }), '192.0.2.60');
});

test('the memory key-value store (for persisted operations and other shared state)', async () => {
  const stores = createStores(createLogger('silent'));
  const kv = stores.kv({ url: 'memory', prefix: 'tessera:', timeout: 50, writeAttempts: 3 }, 'apq', { maxEntries: 2 });
  await kv.set('a', '1');
  await kv.set('b', '2');
  assert.equal(await kv.get('a'), '1');
  await kv.set('c', '3');
  assert.equal(await kv.get('b'), undefined, 'least recently used goes first');
  await kv.delete('a');
  assert.equal(await kv.get('a'), undefined);
  assert.equal(await kv.get('c'), '3');
  await stores.close();
});
