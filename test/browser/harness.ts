/**
 * The browser-test harness: every test under `test/browser/` uses it to run code in headless Chromium.
 *
 * What it does, per session ({@link withBrowser} / {@link openBrowser}):
 * 1. Makes a temp directory to serve, with an `index.html`, and bundles TypeScript entries into it with esbuild
 *    (`bundle`, ESM, `platform: 'browser'`, `conditions: ['hearth-source']`, so `@hearth/*` resolve to their sources).
 * 2. Serves that directory over HTTP on 127.0.0.1 at a random port with `node:http` (localhost is a secure context,
 *    so OPFS, WebCrypto and Web Locks work), with COOP/COEP headers so pages are cross-origin isolated
 *    (SharedArrayBuffer is available).
 * 3. Launches Debian's Chromium (`/usr/bin/chromium`; never a downloaded one) through playwright-core with a fresh
 *    user-data-dir, or a given one to test persistence across browser restarts.
 * 4. Runs a bundled script as a dedicated module worker ({@link BrowserSession.runWorker}) or as a page module
 *    ({@link BrowserSession.runPage}) and collects the structured messages it posts back (see `worker-kit.ts`).
 * 5. Shuts everything down on close, whether the test passed or failed: the browser, the server (open
 *    connections included) and the temp directories (not a user-data-dir the caller passed in).
 *
 * A missing `/usr/bin/chromium` is a test failure with a clear message, never a skip.
 *
 * Message protocol (what `worker-kit.ts` posts): `{ kind: 'result', value }` any number of times, then exactly one
 * `{ kind: 'done' }`, or `{ kind: 'fatal', message, stack }` if the script failed outside a case.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

/** Where the browser must be (Debian's `chromium` package). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline, headless Chromium in a container. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const repoRoot = resolve(new URL('../..', import.meta.url).pathname);

/** Options for {@link openBrowser}. */
export interface BrowserOptions {
  /**
   * A Chromium profile directory to use and keep (for tests of persistence across browser restarts: pass the
   * same directory to two sessions). Default: a fresh temp directory, removed on close.
   */
  userDataDir?: string;
  /** Serve COOP/COEP headers (cross-origin isolation). Default true. */
  crossOriginIsolated?: boolean;
  /**
   * Port to serve on (default: a random free one). Storage (OPFS, IndexedDB) belongs to the origin, port
   * included: a persistence test passes the same port and `userDataDir` to both sessions (see {@link freePort}).
   */
  port?: number;
  /** The browser binary (default {@link CHROMIUM_PATH}); tests of the harness itself change it. */
  executablePath?: string;
}

/** Options for {@link BrowserSession.bundle}. */
export interface BundleOptions {
  /** Output file name in the served directory (default: the entry's base name plus a counter, `.js`). */
  name?: string;
  /** Build-time constants (esbuild `define`), e.g. `{ MODE: '"read"' }`. */
  define?: Record<string, string>;
  /** Further esbuild options (e.g. `loader: { '.wasm': 'binary' }`); the harness's own settings win. */
  esbuild?: Omit<BuildOptions, 'entryPoints' | 'outfile' | 'outdir' | 'bundle' | 'format' | 'write'>;
}

/** Options for {@link BrowserSession.runWorker} and {@link BrowserSession.runPage}. */
export interface RunOptions {
  /** Give up after this many milliseconds (default 60 000). */
  timeoutMs?: number;
}

/** A running browser with a served directory. Obtain with {@link openBrowser} or {@link withBrowser}. */
export interface BrowserSession {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string;
  /** The directory being served. */
  readonly serveDir: string;
  /** The Chromium profile directory in use. */
  readonly userDataDir: string;
  readonly context: BrowserContext;
  /** A page already at `origin + '/index.html'`. */
  readonly page: Page;
  /** Console lines and page errors seen so far, for failure messages. */
  readonly log: string[];
  /**
   * Bundles the TypeScript/JavaScript entry at `entry` (absolute, or relative to the repository root) into the
   * served directory and returns its URL path (e.g. `/io-opfs.worker.js`).
   */
  bundle(entry: string, options?: BundleOptions): Promise<string>;
  /** Writes a static file into the served directory and returns its URL path. */
  addFile(name: string, content: string | Uint8Array): string;
  /**
   * Starts `url` (a path from {@link BrowserSession.bundle}) as a dedicated module worker from `page` and
   * resolves with every `result` value it posts, in order, once it posts `done`.
   * @throws Error on a `fatal` message, a worker error event (e.g. a failed import) or the timeout.
   */
  runWorker<T = unknown>(url: string, options?: RunOptions & { page?: Page }): Promise<T[]>;
  /** Same as {@link BrowserSession.runWorker} but runs `url` as a module script in a fresh page. */
  runPage<T = unknown>(url: string, options?: RunOptions): Promise<T[]>;
  /** Opens another page at `origin + path` (default `/index.html`). */
  newPage(path?: string): Promise<Page>;
  /** Closes the browser and the server, removes temp directories. Idempotent; never throws. */
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.txt': 'text/plain; charset=utf-8',
};

function serve(dir: string, isolated: boolean, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = resolve(dir, '.' + rel);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

/**
 * Runs in the page: starts the worker (or module script), collects `result` messages until `done`, `fatal`, an
 * error event or the timeout. Plain JavaScript source (see the call site).
 */
const IN_PAGE_COLLECT = `({ url, mode, timeoutMs }) => new Promise((done) => {
  const messages = [];
  let finished = false;
  let timer;
  const finish = (r) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done({ ...r, messages });
  };
  timer = setTimeout(() => finish({ ok: false, error: 'timed out after ' + timeoutMs + ' ms (' + messages.length + ' results so far)' }), timeoutMs);
  const onMessage = (m) => {
    if (m && m.kind === 'result') messages.push(m.value);
    else if (m && m.kind === 'done') finish({ ok: true });
    else if (m && m.kind === 'fatal') finish({ ok: false, error: m.message + '\\n' + (m.stack || '') });
  };
  if (mode === 'worker') {
    const w = new Worker(url, { type: 'module' });
    w.onmessage = (e) => { onMessage(e.data); if (finished) w.terminate(); };
    w.onerror = (e) => {
      finish({ ok: false, error: 'worker error: ' + (e.message || 'failed to load or threw') + ' (' + e.filename + ':' + e.lineno + ')' });
      w.terminate();
    };
  } else {
    globalThis.__hearthPost = onMessage;
    const s = document.createElement('script');
    s.type = 'module';
    s.src = url;
    s.onerror = () => finish({ ok: false, error: 'failed to load ' + url });
    document.head.append(s);
  }
})`;

/** The message shape worker-kit posts. */
type KitMessage = { kind: 'result'; value: unknown } | { kind: 'done' } | { kind: 'fatal'; message: string; stack?: string };

/**
 * Starts a browser session. The caller must `close()` it (prefer {@link withBrowser}, which does).
 * @throws Error if Chromium is missing at {@link CHROMIUM_PATH} or fails to start.
 */
export async function openBrowser(options: BrowserOptions = {}): Promise<BrowserSession> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium is required for browser tests but ${executablePath} is missing: install Debian's package ` +
        '(apt-get install chromium). Browser tests never download a browser and never skip.',
    );
  }
  const temps: string[] = [];
  let server: Server | undefined;
  let context: BrowserContext | undefined;
  let closed = false;
  const log: string[] = [];

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await context?.close().catch(() => {});
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server!.close(() => r()));
    }
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  };

  try {
    const serveDir = mkdtempSync(join(tmpdir(), 'hearth-browser-serve-'));
    temps.push(serveDir);
    writeFileSync(join(serveDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>hearth test</title>\n');
    writeFileSync(join(serveDir, 'favicon.ico'), '');
    server = await serve(serveDir, options.crossOriginIsolated ?? true, options.port ?? 0);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    let userDataDir = options.userDataDir;
    if (userDataDir === undefined) {
      userDataDir = mkdtempSync(join(tmpdir(), 'hearth-browser-profile-'));
      temps.push(userDataDir);
    }
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    const ctx = context;
    const watch = (p: Page): Page => {
      p.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
      p.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
      return p;
    };
    const newPage = async (path = '/index.html'): Promise<Page> => {
      const p = watch(await ctx.newPage());
      await p.goto(origin + path);
      return p;
    };
    // A persistent context opens with one blank page: use it.
    const first = ctx.pages()[0] ? watch(ctx.pages()[0]) : watch(await ctx.newPage());
    await first.goto(origin + '/index.html');

    const collect = async <T>(page: Page, url: string, mode: 'worker' | 'page', timeoutMs: number): Promise<T[]> => {
      // Passed as source text, not a function: tsx/esbuild would inject helpers (`__name`) the page lacks.
      const messages = (await page.evaluate(`(${IN_PAGE_COLLECT})(${JSON.stringify({ url, mode, timeoutMs })})`)) as {
        ok: boolean;
        messages: unknown[];
        error?: string;
      };
      if (!messages.ok) {
        const tail = log.slice(-30).join('\n');
        throw new Error(`${mode} ${url}: ${messages.error}${tail ? `\nbrowser log:\n${tail}` : ''}`);
      }
      return messages.messages as T[];
    };

    let bundles = 0;
    const session: BrowserSession = {
      origin,
      serveDir,
      userDataDir,
      context: ctx,
      page: first,
      log,
      async bundle(entry, opts = {}) {
        const abs = resolve(repoRoot, entry);
        const name = opts.name ?? `${basename(abs).replace(/\.[cm]?[jt]s$/, '')}-${bundles++}.js`;
        await build({
          ...opts.esbuild,
          entryPoints: [abs],
          outfile: join(serveDir, name),
          bundle: true,
          format: 'esm',
          platform: 'browser',
          target: 'es2022',
          conditions: ['hearth-source'],
          sourcemap: 'inline',
          logLevel: 'silent',
          ...(opts.define ? { define: opts.define } : {}),
        });
        return '/' + name;
      },
      addFile(name, content) {
        if (name.includes('/') || name.includes('..')) throw new RangeError(`"name" must be a plain file name: ${name}`);
        writeFileSync(join(serveDir, name), content);
        return '/' + name;
      },
      runWorker(url, opts = {}) {
        return collect(opts.page ?? first, url, 'worker', opts.timeoutMs ?? 60_000);
      },
      async runPage(url, opts = {}) {
        const p = await newPage();
        try {
          return await collect(p, url, 'page', opts.timeoutMs ?? 60_000);
        } finally {
          await p.close().catch(() => {});
        }
      },
      newPage,
      close,
    };
    return session;
  } catch (e) {
    await close();
    throw e;
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for sessions that must share an origin). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => ok());
  });
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Runs `fn` with a fresh browser session and closes it afterwards, whatever happens.
 *
 * @example
 * ```ts
 * test('opfs', () => withBrowser(async (b) => {
 *   const results = await b.runWorker(await b.bundle('test/browser/io-opfs.worker.ts'));
 * }));
 * ```
 */
export async function withBrowser<T>(fn: (session: BrowserSession) => Promise<T>, options?: BrowserOptions): Promise<T> {
  const session = await openBrowser(options);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

export type { KitMessage };

/** The shape `worker-kit.ts`'s `runCase` posts. */
export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

/**
 * Reports browser case results as node:test subtests of `t`, one per case, each failing with the browser's error.
 * When `expected` is given, a missing or unexpected case name fails too (so a case that silently did not run
 * cannot pass).
 */
export async function reportCases(
  t: { test: (name: string, fn: () => void) => Promise<unknown> },
  results: readonly CaseResult[],
  expected?: readonly string[],
): Promise<void> {
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) throw new Error(`in the browser: ${r.error ?? 'failed'}`);
    });
  }
  if (expected) {
    const got = new Set(results.map((r) => r.name));
    const missing = expected.filter((n) => !got.has(n));
    const extra = results.map((r) => r.name).filter((n) => !expected.includes(n));
    await t.test('every expected case ran', () => {
      if (missing.length || extra.length) {
        throw new Error(`missing cases: ${JSON.stringify(missing)}; unexpected: ${JSON.stringify(extra)}`);
      }
    });
  }
}
