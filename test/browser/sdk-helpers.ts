/**
 * Node-side helpers of the SDK browser tests (`sdk-*.test.ts`): bundle the SDK's page module and worker into a
 * harness session, open pages on it, run code in them.
 *
 * Layout served: `/sdk-page.js` (`sdk.page.ts`: the SDK as `globalThis.T`), `/worker.js` (the SDK's worker entry,
 * where `new URL('./worker.js', import.meta.url)` in the page bundle points) and `/sdk.html`.
 */
import type { Page } from 'playwright-core';
import type { BrowserSession } from './harness.js';

/** Bundles the SDK page module and worker (default entry, or `workerEntry`) into the session. */
export async function setupSdk(b: BrowserSession, workerEntry = 'packages/sdk/src/worker.ts'): Promise<void> {
  await b.bundle('test/browser/sdk.page.ts', { name: 'sdk-page.js' });
  await b.bundle(workerEntry, { name: 'worker.js' });
  b.addFile('sdk.html', '<!doctype html><meta charset="utf-8"><title>sdk</title><script type="module" src="/sdk-page.js"></script>\n');
}

/** Opens a page on `/sdk.html` and waits until the SDK is loaded. */
export async function sdkPage(b: BrowserSession): Promise<Page> {
  const p = await b.newPage('/sdk.html');
  await p.waitForFunction('globalThis.T !== undefined', undefined, { timeout: 20_000 });
  return p;
}

/**
 * Runs `body` (the text of an async function body; `T` is the SDK, `db`... are whatever the page holds in
 * `globalThis`) in `page` and returns its result. Passed as text: tsx would inject helpers the page lacks.
 */
export function run<T = unknown>(page: Page, body: string): Promise<T> {
  return page.evaluate(`(async () => { ${body} })()`) as Promise<T>;
}

/** Reads the log of database `name` and counts writes per document (see `sdk-audit.worker.ts`). */
export async function auditLog(b: BrowserSession, name: string, page?: Page): Promise<{ counts: Record<string, number>; entries: number; markers: number }> {
  const url = await b.bundle('test/browser/sdk-audit.worker.ts', { define: { NAME: JSON.stringify(name) } });
  const [r] = await b.runWorker<{ counts: Record<string, number>; entries: number; markers: number }>(url, page ? { page } : {});
  return r;
}

/**
 * Crashes the renderer of `page` (and so its workers) with the DevTools `Page.crash` command and waits for the
 * page's `crash` event, so a test cannot pass with a graceful close instead.
 * @throws Error if the page did not crash within 20 s.
 */
export async function crashPage(page: Page): Promise<void> {
  const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()));
  const cdp = await page.context().newCDPSession(page);
  cdp.send('Page.crash').catch(() => undefined); // never answers: the renderer dies
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    crashed,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the page did not crash within 20 s')), 20_000))),
  ]).finally(() => clearTimeout(timer));
}
