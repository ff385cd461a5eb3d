/**
 * GraphiQL in a real browser on a network without internet access: Debian's
 * chromium (through playwright-core) opens the demo gateway's /graphql with
 * every request to a host other than the loopback refused, finds the README
 * tour's query in the editor, runs it and reads its result. A page that needs
 * a CDN is blank in the networks gateways live in.
 *
 * The browser and the offline network are test/kit/browser.ts's.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { offlinePage, outside, skipReason } from '../kit/browser.js';
import { startDemo } from '../kit/index.js';

const SCREENSHOT = resolve('test-results/graphiql.png');

test('GraphiQL opens offline with the tour query, runs it and shows its result', { skip: skipReason }, async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'development' });
  const { page, attempted, loaded, pageErrors, failed } = await offlinePage(t);
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  demo.resetCalls();
  try {
    await page.goto(demo.url);
    // Loaded: a page that reached for a CDN has done so by now (Yoga's own page: unpkg.com, then "YogaGraphiQL is not defined").
    assert.deepEqual(attempted, [], 'no request may even be attempted to a host outside the loopback');
    assert.deepEqual(pageErrors, []);
    const editor = page.locator('.graphiql-query-editor');
    await editor.getByText('reviews(first: 3)').waitFor();

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await result.getByText('"reviews"').waitFor();
    await result.getByText('"averageRating"').first().waitFor();
    const shown = await result.innerText();
    // The tour's answer: reviews with their authors, joined from accounts.
    assert.match(shown, /"author"/);
    assert.match(shown, /"username"/);
  } finally {
    // The artifact shows what the browser showed, also when the test fails.
    mkdirSync(resolve('test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  }

  assert.deepEqual(attempted, [], 'no request may even be attempted to a host outside the loopback');
  assert.deepEqual(sockets.filter(outside), []);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(failed, []);
  // GraphiQL's script came from the gateway itself.
  assert.ok(loaded.some((url) => url.startsWith(demo.url) && url.includes('graphiql-asset=graphiql.') && url.endsWith('.js')), loaded.join('\n'));
  const calls = demo.calls();
  assert.ok(calls.reviews! >= 1 && calls.accounts! >= 1, `the query reached reviews and accounts: ${JSON.stringify(calls)}`);
});
