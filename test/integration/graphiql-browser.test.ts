/**
 * GraphiQL in a real browser on a network without internet access: Debian's
 * chromium (through playwright-core) opens the demo gateway's /graphql with
 * every request to a host other than the loopback refused, finds the README
 * tour's query in the editor, runs it and reads its result. A page that needs
 * a CDN is blank in the networks gateways live in.
 *
 * Without /usr/bin/chromium the test skips with a reason, except under
 * CI=true, where it fails (.ci/run installs chromium).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { chromium, type Request as BrowserRequest } from 'playwright-core';
import { startDemo } from '../kit/index.js';

const CHROMIUM = '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SCREENSHOT = resolve('test-results/graphiql.png');

/** A host the test lets through: the loopback only (data: and blob: URLs have none and stay in the page). */
function outside(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return false;
  return !LOOPBACK.has(hostname);
}

const chromiumMissing = !existsSync(CHROMIUM) && process.env.CI !== 'true';

test('GraphiQL opens offline with the tour query, runs it and shows its result', { skip: chromiumMissing && `${CHROMIUM} is not installed (apt-get install chromium)` }, async (t) => {
  const demo = await startDemo(t, { TESSERA_MODE: 'development' });
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const attempted: string[] = [];
  const loaded: string[] = [];
  // On the context, so the page's own requests and its workers' are all seen.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (outside(url)) {
      attempted.push(url);
      return route.abort('blockedbyclient');
    }
    loaded.push(url);
    return route.continue();
  });
  const sockets: string[] = [];
  const pageErrors: string[] = [];
  const failed: string[] = [];
  const page = await context.newPage();
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('requestfailed', (request: BrowserRequest) => failed.push(`${request.url()}: ${request.failure()?.errorText ?? '?'}`));

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
