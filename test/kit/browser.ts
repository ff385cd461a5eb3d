/**
 * Page tests in a real browser on a network without internet access:
 * Debian's chromium through playwright-core, in a fresh context where every
 * request to a host other than the loopback is aborted before it leaves (an
 * offline network, as gateways often live in). What the page attempted,
 * loaded, threw, logged as an error or failed to load is recorded, and
 * `clean()` asserts none of it went wrong.
 *
 * Without /usr/bin/chromium a page test skips with `skipReason`, except
 * under CI=true, where it fails (.ci/run installs chromium).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Page, type Request as BrowserRequest } from 'playwright-core';
import { atTestEnd } from './index.js';

export const CHROMIUM = '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** For `test(name, { skip: skipReason }, ...)`: why the page tests cannot run here, or false. */
export const skipReason: string | false = !existsSync(CHROMIUM) && process.env.CI !== 'true' && `${CHROMIUM} is not installed (apt-get install chromium)`;

/** A host a page test lets through: the loopback only (data: and blob: URLs have none and stay in the page). */
export function outside(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return false;
  return !LOOPBACK.has(hostname);
}

export interface OfflinePage {
  page: Page;
  /** Requests to a host outside the loopback, each aborted. */
  attempted: string[];
  /** Requests let through (to the loopback). */
  loaded: string[];
  pageErrors: string[];
  /** Console errors (a Content-Security-Policy violation is one). */
  consoleErrors: string[];
  failed: string[];
  /** Asserts nothing was attempted outside the loopback, thrown, logged as an error or failed to load. */
  clean(): void;
}

/** A page in a fresh browser context (closed when the test ends) where only the loopback is reachable. */
export async function offlinePage(t: TestContext, viewport = { width: 1400, height: 900 }): Promise<OfflinePage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  atTestEnd(t, () => browser.close());
  const context = await browser.newContext({ viewport });
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
  const page = await context.newPage();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const failed: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('requestfailed', (request: BrowserRequest) => failed.push(`${request.url()}: ${request.failure()?.errorText ?? '?'}`));
  const clean = (): void => {
    assert.deepEqual(attempted, [], 'no request may even be attempted to a host outside the loopback');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, [], 'no console error (a CSP violation would be one)');
    assert.deepEqual(failed, []);
  };
  return { page, attempted, loaded, pageErrors, consoleErrors, failed, clean };
}
