/**
 * The status page in a real browser on a network without internet access:
 * Debian's chromium (through playwright-core) opens the demo gateway's
 * /_tessera while traffic flows, with every request to a host other than the
 * loopback refused. Every demo subgraph is shown with its health, and the
 * charts move: the requests a chart plots grow from one poll to the next.
 * The screenshot is a test artifact (test-results/status-page.png) and, with
 * TESSERA_UPDATE_SCREENSHOT=1, the README's docs/status-page.png.
 *
 * The browser and the offline network are test/kit/browser.ts's.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { offlinePage, skipReason } from '../kit/browser.js';
import { startDemo, startGateway, startGraphqlUpstream } from '../kit/index.js';

const SCREENSHOT = resolve('test-results/status-page.png');
const README_SCREENSHOT = resolve('docs/status-page.png');
const DEMO_SUBGRAPHS = ['accounts', 'catalog', 'inventory', 'reviews'];
// The README's tour query and its "one query, three protocols": together they reach every demo subgraph.
const TOUR = '{ reviews(first: 3) { body rating author { name username } product { id averageRating } } }';
const SHOP = '{ topProducts(first: 5) { id averageRating name price { amount currency } stock { available status } reviews(first: 1) { body author { name } } } }';
// An unknown product: a REST 404 from catalog and a gRPC NOT_FOUND from inventory, so the error series have something too.
const UNKNOWN = '{ getProduct(id: "no-such-product") { id } getStockLevel(productId: "no-such-product") { available } }';
const TRAFFIC = [TOUR, SHOP, TOUR, SHOP, UNKNOWN];

/** The requests the traffic chart of a card plots (data-total, written by the page at each poll). */
function plotted(page: Page, subgraph: string): Promise<number> {
  return page.locator(`article[data-subgraph="${subgraph}"] [data-chart="traffic"]`).evaluate((node) => Number((node as HTMLElement).dataset.total ?? 'NaN'));
}

test('the status page shows every demo subgraph with its health, and its charts move while traffic flows', { skip: skipReason }, async (t) => {
  let sending = true;
  let traffic: Promise<void> = Promise.resolve();
  // Registered first: after hooks run in the order they were added, so the traffic stops before the gateway
  // and the demo services close (a request sent to a closing gateway is reset).
  t.after(async () => {
    sending = false;
    await traffic;
  });
  const demo = await startDemo(t, { TESSERA_MODE: 'development' });
  let sent = 0;
  const refused: string[] = [];
  // Traffic until the test ends, a request at a time with a short pause, so the charts have something to show.
  // A failure is kept and asserted by the test, never thrown here: nothing would be waiting for it.
  traffic = (async () => {
    while (sending) {
      const query = TRAFFIC[sent % TRAFFIC.length]!;
      await demo.query(query).then(
        (answer) => answer.status === 200 || refused.push(`${answer.status} ${answer.text}`),
        (error: unknown) => refused.push(String(error)),
      );
      sent++;
      await new Promise((wake) => setTimeout(wake, 40));
    }
  })();

  const { page, loaded, clean } = await offlinePage(t);
  const statusUrl = new URL('/_tessera', demo.url).href;
  try {
    await page.goto(statusUrl);
    for (const name of DEMO_SUBGRAPHS) await page.locator(`article[data-subgraph="${name}"] canvas`).first().waitFor();
    const cards = page.locator('article[data-subgraph]');
    assert.equal(await cards.count(), DEMO_SUBGRAPHS.length);
    for (const name of DEMO_SUBGRAPHS) {
      const card = page.locator(`article[data-subgraph="${name}"]`);
      assert.equal(await card.locator('.name').innerText(), name);
      assert.equal(await card.locator('.health').innerText(), 'answered', `${name}: the demo's services all answer`);
      assert.match((await card.locator('.dot').getAttribute('class')) ?? '', /\bdot (ok|warn)\b/, `${name}: a health dot`);
      assert.equal(await card.locator('td.breaker').first().innerText(), 'closed');
    }
    assert.equal(await page.locator('article[data-channel]').count(), 3, 'the demo channels: default, web, mobile');
    assert.match(await page.locator('#schema').innerText(), /^schema [0-9a-f]{12}, loaded /);

    // The charts move: what one poll plotted is less than what a later poll plots.
    for (const name of ['reviews', 'accounts', 'catalog', 'inventory']) {
      const before = await plotted(page, name);
      assert.ok(before > 0, `${name}: traffic plotted`);
      await page.waitForFunction(
        ({ name: subgraph, before: seen }) => Number((document.querySelector(`article[data-subgraph="${subgraph}"] [data-chart="traffic"]`) as HTMLElement | null)?.dataset.total) > seen,
        { name, before },
      );
    }
  } finally {
    // The artifact shows what the browser showed, also when the test fails.
    mkdirSync(resolve('test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  }
  if (process.env.TESSERA_UPDATE_SCREENSHOT === '1') {
    copyFileSync(SCREENSHOT, README_SCREENSHOT);
    t.diagnostic(`README screenshot updated: ${README_SCREENSHOT}`);
  }
  clean();
  assert.deepEqual(refused, [], 'every request of the traffic answered 200');
  // uPlot came from the gateway itself.
  assert.ok(loaded.some((url) => url.startsWith(new URL('/_tessera/assets/uPlot.', demo.url).href) && url.endsWith('.js')), loaded.join('\n'));
});

test('text from descriptors is shown as text: a version written as HTML is not markup', { skip: skipReason }, async (t) => {
  const sdl = 'type Query { hello: String }';
  const upstream = await startGraphqlUpstream(t, sdl, { Query: { hello: () => 'hi' } });
  const hostile = '<img src=x onerror="window.pwned=1">';
  const gw = await startGateway(t, [{ name: 'greetings', kind: 'graphql', upstreams: [{ url: upstream.url, version: hostile }] }], { mode: 'development' });
  assert.equal((await gw.query('{ hello }')).status, 200);
  const { page, clean } = await offlinePage(t);
  await page.goto(new URL('/_tessera', gw.url).href);
  const card = page.locator('article[data-subgraph="greetings"]');
  await card.locator('canvas').first().waitFor();
  assert.equal(await card.locator('td').nth(1).innerText(), hostile, 'the version, as written');
  assert.equal(await page.locator('img').count(), 0, 'no element made of it');
  assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  assert.match(await card.locator('.uplot .u-legend').first().innerText(), /req\/s/);
  clean();
});

test('a subgraph with adaptiveConcurrency shows its limit, calls in flight and calls shed; one without shows none (docs/reliability.md row 56)', { skip: skipReason }, async (t) => {
  const upstream = await startGraphqlUpstream(t, 'type Query { hello: String }', { Query: { hello: () => 'hi' } });
  const other = await startGraphqlUpstream(t, 'type Query { other: String }', { Query: { other: () => 'there' } });
  const gw = await startGateway(
    t,
    [
      { name: 'limited', kind: 'graphql', url: upstream.url, adaptiveConcurrency: { initialLimit: 5, maxLimit: 5 } },
      { name: 'unlimited', kind: 'graphql', url: other.url },
    ],
    { mode: 'development' },
  );
  assert.equal((await gw.query('{ hello other }')).status, 200);
  const { page, clean } = await offlinePage(t);
  await page.goto(new URL('/_tessera', gw.url).href);
  const limited = page.locator('article[data-subgraph="limited"] p.concurrency');
  await limited.waitFor();
  assert.equal(await limited.innerText(), 'adaptive concurrency: limit 5, in flight 0, shed 0');
  await page.locator('article[data-subgraph="unlimited"] canvas').first().waitFor();
  assert.equal(await page.locator('article[data-subgraph="unlimited"] p.concurrency').isVisible(), false);
  clean();
});
