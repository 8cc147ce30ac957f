/**
 * The SDK's built output (each package's `dist/`, what `npm run build` makes; no `source` condition) is consumable
 * by bundlers with no configuration: the worker is found through `new URL('./worker.js', import.meta.url)`.
 * - esbuild: a tiny page bundled from `@hearth/sdk`'s `dist/`, with `@hearth/sdk/worker` bundled as `worker.js`
 *   next to it (esbuild does not follow `new URL` workers; the file layout is what the SDK relies on).
 * - Vite (`vite build`, default options): Vite finds the worker by itself and bundles it.
 * Each page opens a database, writes and reads back through the worker, and reports `info().backend`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { build as esbuild } from 'esbuild';
import { withBrowser, type BrowserSession } from './harness.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
const sdkDist = join(root, 'packages/sdk/dist');

/** Builds every package's dist/ if the SDK's is missing or older than its sources (`npm test` builds first). */
function ensureDist(): void {
  const built = join(sdkDist, 'index.js');
  const srcDir = join(root, 'packages/sdk/src');
  const newest = Math.max(...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--no-typecheck'], { stdio: 'inherit' });
  }
}

const APP = `
import { openDatabase } from '@hearth/sdk';
(async () => {
  try {
    const db = await openDatabase('bundled');
    const c = db.collection('c');
    await c.put('a', { v: 42, vec: new Float32Array([1, 2]) });
    const got = await c.get('a');
    const info = await db.info();
    let code = null;
    try { await c.put('', {}); } catch (e) { code = e.name + ':' + e.code; }
    await db.close();
    globalThis.__result = { v: got.v, vec: Array.from(got.vec), backend: info.backend, leader: info.isLeader, code };
  } catch (e) {
    globalThis.__result = { error: String(e && e.stack || e) };
  }
})();
`;

async function runApp(b: BrowserSession, path: string): Promise<unknown> {
  const page = await b.newPage(path);
  await page.waitForFunction('globalThis.__result !== undefined', undefined, { timeout: 30_000 });
  const r = await page.evaluate('globalThis.__result');
  await page.close();
  return r;
}

const EXPECTED = { v: 42, vec: [1, 2], backend: 'opfs', leader: true, code: 'DbError:HEARTH_INVALID_KEY' };

test('sdk bundlers: esbuild bundles a page from the built SDK; the worker sits beside it as worker.js', { timeout: 180_000 }, async () => {
  ensureDist();
  assert.match(readFileSync(join(sdkDist, '_client.js'), 'utf8'), /new URL\("\.\/worker\.js", import\.meta\.url\)/);
  assert.ok(existsSync(join(sdkDist, 'worker.js')), 'dist/worker.js beside the module that starts it');
  await withBrowser(async (b) => {
    const appFile = join(b.serveDir, 'app-src.js');
    writeFileSync(appFile, APP);
    const common = { bundle: true, format: 'esm' as const, platform: 'browser' as const, target: 'es2022', logLevel: 'silent' as const, nodePaths: [join(root, 'node_modules')] };
    await esbuild({ ...common, entryPoints: [appFile], outfile: join(b.serveDir, 'app.js') });
    await esbuild({ ...common, entryPoints: [join(sdkDist, 'worker.js')], outfile: join(b.serveDir, 'worker.js') });
    b.addFile('app.html', '<!doctype html><meta charset="utf-8"><script type="module" src="/app.js"></script>\n');
    assert.deepEqual(await runApp(b, '/app.html'), EXPECTED);
  });
});

test('sdk bundlers: vite build with no configuration bundles the SDK and its worker', { timeout: 180_000 }, async () => {
  ensureDist();
  // Under node_modules/.cache so that '@hearth/sdk' resolves from the app as from any project in the repository.
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const app = mkdtempSync(join(cache, 'hearth-vite-app-'));
  try {
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>\n');
    writeFileSync(join(app, 'main.js'), APP);
    const { build } = await import('vite');
    await build({ root: app, logLevel: 'silent', configFile: false, build: { outDir: join(app, 'out') } });
    const out = join(app, 'out');
    const assets = existsSync(join(out, 'assets')) ? execFileSync('ls', [join(out, 'assets')], { encoding: 'utf8' }) : '';
    assert.match(assets, /worker.*\.js/, `vite emitted a worker chunk (assets: ${assets.trim().split('\n').join(', ')})`);
    await withBrowser(async (b) => {
      cpSync(out, b.serveDir, { recursive: true });
      assert.deepEqual(await runApp(b, '/index.html'), EXPECTED);
    });
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});

test('sdk bundlers: the vite dev server serves the SDK and its worker with no configuration', { timeout: 180_000 }, async () => {
  ensureDist();
  const cache = join(root, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const app = mkdtempSync(join(cache, 'hearth-vite-dev-'));
  const { createServer } = await import('vite');
  const server = await createServer({ root: app, logLevel: 'silent', configFile: false, server: { host: '127.0.0.1', port: 0, strictPort: false } });
  try {
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>\n');
    writeFileSync(join(app, 'main.js'), APP);
    await server.listen();
    const url = server.resolvedUrls?.local[0];
    assert.ok(url, 'vite dev server URL');
    await withBrowser(async (b) => {
      const page = await b.context.newPage();
      await page.goto(url);
      await page.waitForFunction('globalThis.__result !== undefined', undefined, { timeout: 60_000 });
      assert.deepEqual(await page.evaluate('globalThis.__result'), EXPECTED);
      await page.close();
    });
  } finally {
    await server.close();
    rmSync(app, { recursive: true, force: true });
  }
});
