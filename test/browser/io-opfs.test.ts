import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';
import { expectedOpfsCases } from './io-opfs.shared.js';

test('io: compliance suite in a Chromium dedicated worker (OPFS move, OPFS journal, memory control) and OPFS cases', async (t) => {
  const results = await withBrowser(async (b) => b.runWorker<CaseResult>(await b.bundle('test/browser/io-opfs.worker.ts'), { timeoutMs: 120_000 }));
  await reportCases(t, results, expectedOpfsCases());
});

test('io: OpfsFileSystem outside a dedicated worker is HEARTH_UNSUPPORTED', async () => {
  const out = await withBrowser(async (b) => b.runPage<{ available?: boolean; error?: string | null }>(await b.bundle('test/browser/io-opfs.page.ts')));
  assert.equal(out[0].available, false);
  assert.equal(out[1].error, 'HEARTH_UNSUPPORTED');
});
