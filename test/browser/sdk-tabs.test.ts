/**
 * Several tabs of one origin on one database: one leader's worker serves all of them; when the leader tab closes,
 * crashes or reloads, another takes over, reopens the files, re-subscribes live values and retries calls in
 * flight. Every write acknowledged to any tab is present, and no write is applied twice (checked in the log:
 * each document of the streams is written by exactly one op). Also: the worker's deduplication of marked writes
 * (the same marked write delivered twice, concurrently, and again after a reopen, commits once).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { withBrowser, type BrowserSession } from './harness.js';
import { auditLog, crashPage, run, sdkPage, setupSdk } from './sdk-helpers.js';

async function waitFor(pred: () => boolean, what: () => string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Stream {
  readonly acked: string[];
  done: boolean;
  error: string | null;
}

const streamsByPrefix = new Map<string, Stream>();
const exposed = new WeakSet<Page>();

/**
 * Opens `name` in `page` (unless `open` is false: the page already has `db`) and starts `n` awaited puts of
 * `<prefix>-<i>`, reporting each acknowledgement. Prefixes are unique per test run.
 */
async function startStream(page: Page, name: string, prefix: string, n: number, open = true): Promise<Stream> {
  const s: Stream = { acked: [], done: false, error: null };
  streamsByPrefix.set(prefix, s);
  if (!exposed.has(page)) {
    exposed.add(page);
    await page.exposeFunction('hearthAck', (prefix: string, id: string) => void streamsByPrefix.get(prefix)!.acked.push(id));
    await page.exposeFunction('hearthDone', (prefix: string, err: string | null) => {
      const st = streamsByPrefix.get(prefix)!;
      st.done = true;
      st.error = err;
    });
  }
  const p = JSON.stringify(prefix);
  await run(
    page,
    `${open ? `globalThis.db = await T.openDatabase(${JSON.stringify(name)});` : ''}
     const c = db.collection('s');
     (async () => {
       try {
         for (let i = 0; i < ${n}; i++) {
           const id = ${p} + '-' + i;
           await c.put(id, { by: ${p}, i });
           globalThis.hearthAck(${p}, id);
         }
         globalThis.hearthDone(${p}, null);
       } catch (e) { globalThis.hearthDone(${p}, e.name + ' ' + e.code + ': ' + e.message); }
     })();`,
  );
  return s;
}

async function isLeader(page: Page): Promise<boolean> {
  return run<boolean>(page, `return (await db.info()).isLeader;`);
}

/** Closes every page's database (drains its calls), then audits the log. */
async function finishAndAudit(b: BrowserSession, pages: Page[], name: string, acked: string[]): Promise<void> {
  for (const p of pages) await run(p, `await db.close();`);
  for (const p of pages) await p.close();
  const audit = await auditLog(b, name);
  const dup = Object.entries(audit.counts).filter(([, n]) => n !== 1);
  assert.deepEqual(dup, [], 'documents written by more than one op (a retried write applied twice)');
  const missing = acked.filter((id) => audit.counts[`s/${id}`] !== 1);
  assert.deepEqual(missing, [], 'acknowledged writes missing from the log');
}

const HOW = { closed: 'the leader tab is closed', crashed: 'the leader tab crashes', 'db-closed': 'the leader calls db.close()' } as const;
for (const how of ['closed', 'crashed', 'db-closed'] as const) {
  test(`sdk tabs: three tabs write at once; ${HOW[how]} mid-stream; every acknowledged write is there exactly once`, { timeout: 180_000 }, async (t) => {
    await withBrowser(async (b) => {
      await setupSdk(b);
      const pages = [await sdkPage(b), await sdkPage(b), await sdkPage(b)];
      const streams: Stream[] = [];
      for (let k = 0; k < 3; k++) streams.push(await startStream(pages[k], `tabs-${how}`, `t${k}`, 120));
      const leaders = [];
      for (const p of pages) leaders.push(await isLeader(p));
      assert.deepEqual(leaders, [true, false, false], 'the first tab to open leads');
      await waitFor(() => streams.every((s) => s.acked.length >= 30), () => `30 acks per tab (${streams.map((s) => s.acked.length)})`);
      const before = streams[1].acked.length + streams[2].acked.length;
      const t0 = Date.now();
      if (how === 'crashed') await crashPage(pages[0]);
      if (how === 'db-closed') await run(pages[0], `await db.close();`);
      else await pages[0].close();
      // Informational (tests never assert on time): how long until the followers' writes flow again.
      const settled = streams[1].acked.length + streams[2].acked.length;
      await waitFor(() => streams[1].acked.length + streams[2].acked.length > settled + 2 || (streams[1].done && streams[2].done), () => 'progress after the hand-over');
      t.diagnostic(`writes flowing again ${Date.now() - t0} ms after: ${HOW[how]} (${settled - before} acknowledged meanwhile)`);
      await waitFor(() => streams[1].done && streams[2].done, () => `the followers to finish (${streams.map((s) => s.acked.length)})`);
      assert.equal(streams[1].error, null);
      assert.equal(streams[2].error, null);
      assert.equal(streams[1].acked.length, 120);
      assert.equal(streams[2].acked.length, 120);
      const rest = pages.slice(1);
      const nowLeading = [await isLeader(rest[0]), await isLeader(rest[1])];
      assert.equal(nowLeading.filter(Boolean).length, 1, 'exactly one of the remaining tabs leads');
      // A live value of a follower keeps delivering after the hand-over.
      const follower = rest[nowLeading[0] ? 1 : 0];
      const live = await run<unknown[]>(
        follower,
        `const seen = [];
         const live = db.collection('s').watch('after');
         live.listen((v) => seen.push(v === undefined ? null : v.v));
         await live.first();
         await db.collection('s').put('after', { v: 1 });
         await new Promise((r) => setTimeout(r, 100));
         live.close();
         return seen;`,
      );
      assert.deepEqual(live, [null, 1]);
      // So does a live query, with writes from the other tab.
      const other = rest[nowLeading[0] ? 0 : 1];
      await run(follower, `globalThis.q = []; globalThis.lq = db.collection('s').live({ where: { op: 'eq', path: 'by', value: 'late' } }, (r) => q.push(r.rows.map((x) => x.id))); await lq.first();`);
      await run(other, `await db.transaction((tx) => { tx.put('s', 'late-1', { by: 'late' }); tx.put('s', 'late-2', { by: 'late' }); });`);
      const lq = await run<string[][]>(follower, `await new Promise((r) => setTimeout(r, 150)); lq.close(); return q;`);
      assert.deepEqual(lq, [[], ['late-1', 'late-2']]);
      await finishAndAudit(b, rest, `tabs-${how}`, [...streams.flatMap((s) => s.acked), 'after', 'late-1', 'late-2']);
    });
  });
}

test('sdk tabs: a follower live value is re-subscribed when the leader goes', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const leader = await sdkPage(b);
    const follower = await sdkPage(b);
    await run(leader, `globalThis.db = await T.openDatabase('resub');`);
    await run(
      follower,
      `globalThis.db = await T.openDatabase('resub');
       globalThis.seen = [];
       globalThis.live = db.collection('c').watch('x');
       live.listen((v) => seen.push(v === undefined ? null : v.n));
       await live.first();
       await db.collection('c').put('x', { n: 1 });`,
    );
    assert.equal(await isLeader(follower), false);
    await leader.close();
    await run(follower, `await db.collection('c').put('x', { n: 2 }); await new Promise((r) => setTimeout(r, 100));`);
    assert.equal(await isLeader(follower), true);
    const seen = await run<unknown[]>(follower, `return seen;`);
    // The value after the hand-over is delivered again (the new subscription's first value) and then the change.
    assert.deepEqual(seen.filter((v, i) => i === 0 || v !== seen[i - 1]), [null, 1, 2]);
    await run(follower, `live.close(); await db.close();`);
  });
});

test('sdk tabs: the leader reloads in a loop while the other tabs write; nothing acknowledged is lost or doubled', { timeout: 240_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const pages = [await sdkPage(b), await sdkPage(b), await sdkPage(b)];
    const all: Stream[] = [];
    const current: Stream[] = [];
    for (let k = 0; k < 3; k++) all.push((current[k] = await startStream(pages[k], 'reloads', `p${k}`, 80)));
    // Five times: reload the tab that leads (its own stream dies with it, its acknowledged writes count), let it
    // rejoin as a follower and start a new stream there, while the other tabs keep writing through the hand-over.
    let reloads = 0;
    for (let round = 0; reloads < 5 && round < 50; round++) {
      await waitFor(() => all.reduce((n, s) => n + s.acked.length, 0) >= 40 * (reloads + 1), () => 'progress between reloads');
      let leader = -1;
      for (let k = 0; k < 3; k++) if (await isLeader(pages[k]).catch(() => false)) leader = k;
      if (leader < 0) continue; // a hand-over is in progress
      current[leader].done = true; // cut by the reload
      await pages[leader].reload();
      await pages[leader].waitForFunction('globalThis.T !== undefined');
      reloads++;
      all.push((current[leader] = await startStream(pages[leader], 'reloads', `p${leader}r${reloads}`, 80)));
    }
    assert.equal(reloads, 5);
    const live = () => all.filter((s) => !s.done);
    await waitFor(() => live().length === 0 || all.some((s) => s.error !== null), () => `the streams to finish (${all.map((s) => s.acked.length)})`);
    assert.deepEqual(all.map((s) => s.error).filter((e) => e !== null), []);
    // Streams cut by their tab's reload are not done; every other one wrote everything.
    await finishAndAudit(b, pages, 'reloads', all.flatMap((s) => s.acked));
  });
});

test('sdk tabs: the worker commits a marked write once however often it is delivered', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const page = await sdkPage(b);
    const r = await run(
      page,
      `const start = async () => {
         const w = new Worker('/worker.js', { type: 'module' });
         const api = T.wrap(w);
         await api.open({ name: 'dedupe', leader: 'test', backend: 'auto' });
         return { w, api };
       };
       const write = (seq, v) => ({ t: 'write', ops: [{ kind: 'put', collection: 's', id: 'm' + seq, doc: { v } }], marker: { client: 'c1', seq } });
       let { w, api } = await start();
       await Promise.all([api.handle(write(1, 'a')), api.handle(write(1, 'a'))]); // concurrent duplicate: joined
       await api.handle(write(1, 'a')); // committed before: answered from the marker
       await api.handle(write(2, 'b'));
       await api.close(); w.terminate();
       ({ w, api } = await start());
       await api.handle(write(2, 'b')); // after a reopen: still recognised
       await api.handle(write(2 + ${64}, 'c')); // the same slot, next round: a new write
       const got = await api.handle({ t: 'call', method: 'getMany', args: ['s', ['m1', 'm2', 'm66']] });
       await api.close(); w.terminate();
       return got;`,
    );
    assert.deepEqual(r, [{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
    const audit = await auditLog(b, 'dedupe');
    assert.deepEqual(audit.counts, { 's/m1': 1, 's/m2': 1, 's/m66': 1 });
    assert.equal(audit.markers, 3);
  });
});
