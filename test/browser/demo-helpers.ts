/**
 * Shared by the demo's e2e tests (`demo-app.test.ts`, `demo-sync.test.ts`): building the demo when stale, and a
 * person's actions on the page (open the app, create a note, read the note list).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';

export const root = resolve(new URL('../..', import.meta.url).pathname);
export const demo = join(root, 'apps/demo');
export const dist = join(demo, 'dist');
export const out = join(root, 'test-output/demo');

export function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules') continue;
    m = Math.max(m, newest(join(path, name)));
  }
  return m;
}

/** Builds the packages' dist (if missing or stale) and the demo (if missing or stale). */
export async function ensureDemoBuilt(): Promise<void> {
  const pkgs = ['io', 'lsm', 'log', 'crdt', 'query', 'vector', 'db', 'sdk', 'sync'];
  const srcNewest = Math.max(...pkgs.map((p) => newest(join(root, 'packages', p, 'src'))));
  const distOldest = Math.min(...pkgs.map((p) => (existsSync(join(root, 'packages', p, 'dist/index.js')) ? statSync(join(root, 'packages', p, 'dist/index.js')).mtimeMs : 0)));
  if (distOldest < srcNewest) execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--no-typecheck'], { stdio: 'inherit' });
  const inputs = Math.max(
    newest(join(demo, 'web')),
    newest(join(demo, 'public')),
    newest(join(demo, 'index.html')),
    newest(join(demo, 'vite.config.ts')),
    ...pkgs.map((p) => newest(join(root, 'packages', p, 'dist'))),
  );
  const stamp = join(dist, 'build.json');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= inputs) return;
  const { build } = await import('vite');
  await build({ configFile: join(demo, 'vite.config.ts'), logLevel: 'warn' });
  assert.ok(existsSync(stamp), 'the demo build wrote dist/build.json');
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
}

export async function listTitles(page: Page): Promise<string[]> {
  return page.getByRole('list', { name: 'Note list' }).locator('button.note .title').allInnerTexts();
}

export async function waitForTitles(page: Page, want: (titles: string[]) => boolean, what: string, timeoutMs = 15_000): Promise<string[]> {
  const t0 = Date.now();
  let titles: string[] = [];
  while (Date.now() - t0 < timeoutMs) {
    titles = await listTitles(page);
    if (want(titles)) return titles;
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}: the list shows ${JSON.stringify(titles.slice(0, 20))}`);
}

export async function createNote(page: Page, title: string, body: string, tags: string): Promise<void> {
  await page.getByRole('button', { name: 'New note', exact: true }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Body').fill(body);
  await page.getByLabel('Tags').fill(tags);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await waitForTitles(page, (t) => t.includes(title), `note "${title}" appears`);
}

export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
}
