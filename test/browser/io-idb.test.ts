/**
 * `IdbFileSystem` (IndexedDB backend) in Chromium: the compliance suite in a dedicated worker (two chunk sizes)
 * and on the main thread, the IndexedDB-specific cases, persistence across a browser restart, crash behaviour
 * (worker terminated, browser killed) and quota mapping. The in-browser half is `io-idb.worker.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, reportCases, withBrowser } from './harness.js';
import type { BrowserSession, CaseResult } from './harness.js';
import { expectedIdbPageCases, expectedIdbWorkerCases } from './io-idb.shared.js';

const ENTRY = 'test/browser/io-idb.worker.ts';
const bundle = (b: BrowserSession, mode: string): Promise<string> => b.bundle(ENTRY, { define: { MODE: JSON.stringify(mode) } });

/** What `crash-read` must find: the content of the last sync, nothing written after it. */
const SYNCED_LOG = 'synced-part-one|synced-part-two';

test('io idb: compliance suite (64 KiB and 16-byte chunks) and IndexedDB cases in a Chromium dedicated worker', async (t) => {
  const results = await withBrowser(async (b) => b.runWorker<CaseResult>(await bundle(b, 'suite'), { timeoutMs: 240_000 }));
  await reportCases(t, results, expectedIdbWorkerCases());
});

test('io idb: compliance suite on the main thread', async (t) => {
  const results = await withBrowser(async (b) => b.runPage<CaseResult>(await bundle(b, 'page'), { timeoutMs: 120_000 }));
  await reportCases(t, results, expectedIdbPageCases());
});

test('io idb: a terminated worker (no close) leaves exactly the synced content', async () => {
  await withBrowser(async (b) => {
    const written = await b.runWorker<{ log: string; grown: number }>(await bundle(b, 'crash-write'));
    // The writer saw its unsynced changes; the harness terminates the worker right after `done`.
    assert.deepEqual(written, [{ log: 'OVERWRITTEN-one|synced-part-two|unsynced-tail', grown: 10 }]);
    const read = await b.runWorker(await bundle(b, 'crash-read'));
    assert.deepEqual(read, [{ names: ['grown', 'log'], log: SYNCED_LOG, grownMatches: true }]);
  });
});

/** PIDs of Chromium processes started with `userDataDir` (ours: the test made the directory). */
function chromiumPids(userDataDir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(`--user-data-dir=${userDataDir}`) && readlinkSync(`/proc/${d}/exe`).includes('chromium')) out.push(Number(d));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

test('io idb: a killed browser (SIGKILL after sync) keeps exactly the synced content; a clean restart keeps everything', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-idb-profile-'));
  try {
    const port = await freePort();
    await withBrowser(
      async (b) => {
        const written = await b.runWorker(await bundle(b, 'crash-write'));
        assert.equal(written.length, 1);
        const pids = chromiumPids(profile);
        assert.ok(pids.length > 0, 'found the browser processes of this profile');
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone (a child of one killed before)
          }
        }
      },
      { userDataDir: profile, port },
    );
    const read = await withBrowser(async (b) => b.runWorker(await bundle(b, 'crash-read')), { userDataDir: profile, port });
    assert.deepEqual(read, [{ names: ['grown', 'log'], log: SYNCED_LOG, grownMatches: true }]);

    const first = await withBrowser(async (b) => b.runWorker(await bundle(b, 'persist-write')), { userDataDir: profile, port });
    assert.deepEqual(first, ['written']);
    const second = await withBrowser(async (b) => b.runWorker(await bundle(b, 'persist-read')), { userDataDir: profile, port });
    assert.deepEqual(second, [{ names: ['data'], same: true }]);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

test('io idb: QuotaExceededError on sync is HEARTH_QUOTA_EXCEEDED; synced data is intact and a retry after freeing space works', async () => {
  await withBrowser(async (b) => {
    const cdp = await b.context.newCDPSession(b.page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: b.origin, quotaSize: 4 << 20 });
    const out = await b.runWorker(await bundle(b, 'quota'), { timeoutMs: 120_000 });
    assert.deepEqual(out, [
      {
        code: 'HEARTH_QUOTA_EXCEEDED',
        sizeAfterFailure: 16 << 20,
        storedAfterFailure: 0,
        chunksAfterFailure: 0, // the failed transaction stored nothing, not even a prefix of its chunks
        smallIntact: true,
        bigAfterRetry: true,
      },
    ]);
  });
});
