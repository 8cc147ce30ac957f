/**
 * A storage quota error through the SDK: the write that meets it rejects with `IoError` `HEARTH_QUOTA_EXCEEDED`
 * (class and code kept across the worker boundary), a transaction that meets it writes none of its documents,
 * every write acknowledged before is readable at once and after a reload, and the database keeps working once
 * there is room again. The storage is OPFS behind a custom worker entry with a byte budget
 * (`sdk-quota.worker.ts`). Growing a file (a write past its end, or `truncate` to a larger size) spends the
 * budget, so the feed store's preallocation is charged when it is made (`docs/formats/feed-file.md`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBrowser } from './harness.js';
import { run, sdkPage, setupSdk } from './sdk-helpers.js';

test('sdk: HEARTH_QUOTA_EXCEEDED surfaces typed and loses nothing acknowledged', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    await b.bundle('test/browser/sdk-quota.worker.ts', { name: 'quota-worker.js' });
    const page = await sdkPage(b);
    const r = await run<Record<string, unknown>>(
      page,
      `const quota = new BroadcastChannel('hearth-test-quota');
       const setBudget = async (budget) => { quota.postMessage({ budget }); await new Promise((r) => setTimeout(r, 50)); };
       const db = await T.openDatabase('quota', { worker: () => new Worker('/quota-worker.js', { type: 'module' }) });
       const c = db.collection('q');
       for (let i = 0; i < 20; i++) await c.put('ok' + i, { i, pad: 'x'.repeat(200) });
       await setBudget(0);
       const grab = async (f) => { try { await f(); return 'resolved'; } catch (e) { return { name: e.name, code: e.code, io: e instanceof T.IoError, hearth: e instanceof T.HearthError }; } };
       // Large enough that the feed file must grow: smaller writes land in the space the feed store preallocated
       // (and the quota charged) before the budget ran out, and succeed, as on a real full disk.
       const single = await grab(() => c.put('over', { pad: 'y'.repeat(300_000) }));
       const tx = await grab(() => db.transaction((t) => { t.put('q', 'txa', { v: 1, pad: 'a'.repeat(150_000) }); t.put('q', 'txb', { v: 2, pad: 'b'.repeat(150_000) }); }));
       const readable = (await c.getMany(Array.from({ length: 20 }, (_, i) => 'ok' + i))).every((d, i) => d && d.i === i);
       const absent = [await c.get('over'), await c.get('txa'), await c.get('txb')].every((d) => d === undefined);
       await setBudget(null);
       await c.put('after', { v: 1 });
       const after = await c.get('after');
       await db.close();
       return { single, tx, readable, absent, after };`,
    );
    const quota = { name: 'IoError', code: 'HEARTH_QUOTA_EXCEEDED', io: true, hearth: true };
    assert.deepEqual(r, { single: quota, tx: quota, readable: true, absent: true, after: { v: 1 } });
    await page.reload();
    await page.waitForFunction('globalThis.T !== undefined');
    const ids = await run<string[]>(page, `const db = await T.openDatabase('quota'); const ids = (await db.collection('q').list()).map(([id]) => id); await db.close(); return ids;`);
    assert.deepEqual(ids, ['after', ...Array.from({ length: 20 }, (_, i) => 'ok' + i)].sort());
  });
});
