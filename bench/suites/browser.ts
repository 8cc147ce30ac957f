/**
 * Browser suite: Hearth (OPFS sync access handles) against SQLite WASM (`opfs-sahpool` VFS) and Dexie
 * (IndexedDB), each in a dedicated worker of one headless Chromium page; see `bench/browser/bench.page.ts` for
 * the workloads and `bench/browser/system.worker.ts` for how each system is driven.
 *
 * Workloads: `bulk-insert-10000` (docs/s, one transaction), `insert-single-p50`/`-p99` (ms, 1,000 awaited
 * inserts), `point-read-worker` (ops/s, 10,000 random point reads in the worker), `point-read-main` (ops/s, from
 * the main thread: Hearth through the SDK), `cold-open-<n>` (ms, a fresh worker opening an n-document store to
 * its first point read; n = 100,000, 20,000 with --quick). Documents are generated (~200 bytes).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { openBrowser } from '../../test/browser/harness.js';
import type { Row, SuiteContext } from '../lib.js';

export default async function browserSuite(ctx: SuiteContext): Promise<Row[]> {
  const b = await openBrowser();
  try {
    for (const system of ['hearth', 'sqlite-wasm-sahpool', 'dexie']) {
      await b.bundle('bench/browser/system.worker.ts', { name: `bench-${system}.js`, define: { SYSTEM: JSON.stringify(system) } });
    }
    // SQLite finds its WASM (and its OPFS proxy) beside the bundle through `new URL(..., import.meta.url)`.
    const req = createRequire(import.meta.url);
    const sqliteDist = dirname(req.resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm'));
    b.addFile('sqlite3.wasm', readFileSync(join(sqliteDist, 'sqlite3.wasm')));
    b.addFile('sqlite3-opfs-async-proxy.js', readFileSync(join(sqliteDist, 'sqlite3-opfs-async-proxy.js')));
    await b.bundle('packages/sdk/src/worker.ts', { name: 'worker.js' });
    const url = await b.bundle('bench/browser/bench.page.ts', { name: 'bench-page.js', define: { QUICK: String(ctx.quick) } });
    ctx.log('running in Chromium (one page; systems one after another)');
    const rows = await b.runPage<Row>(url, { timeoutMs: 30 * 60_000 });
    for (const r of rows) ctx.log(`${r.workload} ${r.system}: ${r.value.toFixed(r.unit === 'ms' ? 3 : 0)} ${r.unit}`);
    return rows;
  } finally {
    await b.close();
  }
}
