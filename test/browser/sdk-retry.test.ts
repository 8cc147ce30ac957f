/**
 * A follower's writes committed by a leader that never answered them (`sdk-dropreplies.worker.ts`) are retried
 * with the next leader and answered from their markers, not applied again. The hazard this guards against: a
 * retried put carries a new HLC, so re-applying it would overwrite a newer write that another tab made, and had
 * acknowledged, in between. The log is read back: every document written by exactly one op.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBrowser } from './harness.js';
import { auditLog, run, sdkPage, setupSdk } from './sdk-helpers.js';

test('sdk: writes committed but not acknowledged are retried with the next leader and not applied twice', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    await b.bundle('test/browser/sdk-dropreplies.worker.ts', { name: 'drop-worker.js' });
    const leader = await sdkPage(b);
    const follower = await sdkPage(b);
    await run(leader, `globalThis.db = await T.openDatabase('retry', { worker: () => new Worker('/drop-worker.js', { type: 'module' }) });`);
    await run(
      follower,
      `globalThis.db = await T.openDatabase('retry');
       globalThis.settled = [];
       const c = db.collection('r');
       globalThis.ps = [];
       for (let i = 0; i < 10; i++) ps.push(c.put('x' + i, { v: i }).then(() => settled.push(i)));
       ps.push(db.transaction((tx) => { tx.put('r', 'ta', { v: 'a' }); tx.delete('r', 'x9'); }).then(() => settled.push('tx')));`,
    );
    assert.equal(await run(follower, `return db.isLeader;`), false);
    // The leader commits them all (visible to its own reads) but the follower hears nothing back.
    await run(
      leader,
      `const c = db.collection('r');
       for (let k = 0; k < 200; k++) {
         const docs = await c.getMany(['x0', 'x8', 'ta']);
         if (docs.every((d) => d !== undefined) && (await c.get('x9')) === undefined) break;
         await new Promise((r) => setTimeout(r, 25));
       }
       // A newer write to x0, acknowledged to the leader tab.
       await c.put('x0', { v: 'newer' });`,
    );
    assert.deepEqual(await run(follower, `await new Promise((r) => setTimeout(r, 200)); return settled;`), [], 'no answer reached the follower');
    await leader.close();
    const r = await run<{ settled: unknown[]; x0: unknown; ids: string[]; leads: boolean }>(
      follower,
      `await Promise.all(ps);
       const c = db.collection('r');
       return { settled, x0: await c.get('x0'), ids: (await c.list()).map(([id]) => id), leads: (await db.info()).isLeader };`,
    );
    assert.equal(r.leads, true);
    assert.equal(r.settled.length, 11);
    assert.deepEqual(r.x0, { v: 'newer' }, 'the retried put did not overwrite the newer acknowledged write');
    assert.deepEqual(r.ids, ['ta', 'x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8']);
    await run(follower, `await db.close();`);
    await follower.close();
    const audit = await auditLog(b, 'retry');
    assert.deepEqual(audit.counts, { 'r/x0': 2, 'r/x1': 1, 'r/x2': 1, 'r/x3': 1, 'r/x4': 1, 'r/x5': 1, 'r/x6': 1, 'r/x7': 1, 'r/x8': 1, 'r/x9': 2, 'r/ta': 1 });
    assert.equal(audit.markers, 11);
  });
});
