/**
 * int8 vector indexes reading their f32 rows from the index file on the browser's file systems (OPFS sync access
 * handles, IndexedDB), in a Chromium dedicated worker with the WASM kernels. The in-browser half is
 * `vector-int8.worker.ts`.
 */
import { test } from 'node:test';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';
import { VECTOR_INT8_CASES } from './vector-int8.shared.js';

test('vector int8: rows on storage on OPFS and IndexedDB (Chromium worker)', async (t) => {
  const results = await withBrowser(async (b) => b.runWorker<CaseResult>(await b.bundle('test/browser/vector-int8.worker.ts'), { timeoutMs: 240_000 }));
  await reportCases(t, results, VECTOR_INT8_CASES);
});
