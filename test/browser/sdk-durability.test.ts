/**
 * Durability through the SDK: data and the device keypair persist across a reload and across a browser restart
 * with the same profile and port (OPFS belongs to the origin, port included); a page crashed, or the browser
 * killed with SIGKILL, in the middle of a stream of awaited writes loses no write whose promise resolved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { freePort, openBrowser, withBrowser } from './harness.js';
import { crashPage, run, sdkPage, setupSdk } from './sdk-helpers.js';

/**
 * Starts an endless stream of awaited puts in `page`; resolved ones are reported to `acked` in batches every
 * 10 ms (one binding call per batch: a call per write floods the Node side and delays the crash it then sends).
 */
async function startStream(page: Page, name: string, acked: number[]): Promise<void> {
  await page.exposeFunction('hearthAck', (batch: number[]) => {
    acked.push(...batch);
  });
  await run(
    page,
    `const db = await T.openDatabase(${JSON.stringify(name)});
     const c = db.collection('stream');
     let resolved = [];
     setInterval(() => { if (resolved.length > 0) { const b = resolved; resolved = []; globalThis.hearthAck(b); } }, 10);
     (async () => {
       for (let i = 0; ; i++) {
         await c.put('s' + i, { i, pad: 'x'.repeat(100) });
         resolved.push(i);
       }
     })();`,
  );
}

async function waitFor(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads `stream/s<i>` for every acknowledged i and returns the ones missing. */
async function missingAcked(page: Page, name: string, acked: readonly number[]): Promise<number[]> {
  return run<number[]>(
    page,
    `const db = await T.openDatabase(${JSON.stringify(name)});
     const ids = ${JSON.stringify(acked)};
     const docs = await db.collection('stream').getMany(ids.map((i) => 's' + i));
     const missing = ids.filter((i, k) => docs[k] === undefined || docs[k].i !== i);
     await db.close();
     return missing;`,
  );
}

test('sdk: data and keypair persist across a reload', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const page = await sdkPage(b);
    const first = await run<{ feed: string; created: boolean }>(
      page,
      `const db = await T.openDatabase('reload');
       await db.transaction((tx) => { for (let i = 0; i < 50; i++) tx.put('r', 'k' + i, { i }); });
       await db.collection('r').put('last', { v: 'x' });
       const info = await db.info();
       return { feed: info.feed, created: info.keypairCreated };`,
    );
    assert.equal(first.created, true);
    await page.reload();
    await page.waitForFunction('globalThis.T !== undefined');
    const second = await run<{ feed: string; created: boolean; n: number; last: unknown }>(
      page,
      `const db = await T.openDatabase('reload');
       const list = await db.collection('r').list();
       const info = await db.info();
       return { feed: info.feed, created: info.keypairCreated, n: list.length, last: await db.collection('r').get('last') };`,
    );
    assert.deepEqual(second, { feed: first.feed, created: false, n: 51, last: { v: 'x' } });
  });
});

test('sdk: data and keypair persist across a browser restart (same profile and port)', { timeout: 120_000 }, async () => {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-sdk-profile-'));
  const port = await freePort();
  try {
    const feed = await withBrowser(
      async (b) => {
        await setupSdk(b);
        const page = await sdkPage(b);
        return run<string>(
          page,
          `const db = await T.openDatabase('restart');
           for (let i = 0; i < 20; i++) await db.collection('r').put('k' + i, { i });
           const f = (await db.info()).feed;
           await db.close();
           return f;`,
        );
      },
      { userDataDir: profile, port },
    );
    const after = await withBrowser(
      async (b) => {
        await setupSdk(b);
        const page = await sdkPage(b);
        return run<{ feed: string; ids: string[] }>(
          page,
          `const db = await T.openDatabase('restart');
           const ids = (await db.collection('r').list()).map(([id]) => id);
           return { feed: (await db.info()).feed, ids };`,
        );
      },
      { userDataDir: profile, port },
    );
    assert.equal(after.feed, feed);
    assert.deepEqual(after.ids, Array.from({ length: 20 }, (_, i) => 'k' + i).sort());
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

test('sdk: a page crashed mid-stream of awaited writes loses no acknowledged write', { timeout: 120_000 }, async () => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const page = await sdkPage(b);
    const acked: number[] = [];
    await startStream(page, 'crash', acked);
    await waitFor(() => acked.length >= 150, '150 acknowledged writes');
    await crashPage(page); // the renderer and its worker die
    const n = acked.length;
    await page.close(); // a crashed page left open stalls new pages of the origin
    const reader = await sdkPage(b);
    const missing = await missingAcked(reader, 'crash', acked.slice(0, n));
    assert.deepEqual(missing, [], `acknowledged writes lost after the crash (${n} acknowledged)`);
  });
});

test('sdk: the browser killed (SIGKILL) mid-stream loses no acknowledged write', { timeout: 180_000 }, async () => {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-sdk-kill-'));
  const port = await freePort();
  const acked: number[] = [];
  try {
    const b1 = await openBrowser({ userDataDir: profile, port });
    try {
      await setupSdk(b1);
      const page = await sdkPage(b1);
      await startStream(page, 'kill', acked);
      await waitFor(() => acked.length >= 150, '150 acknowledged writes');
      // The browser's main process is the one started with this profile and no --type= (renderers, GPU,
      // utilities carry --type=). Kill it by its id.
      const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
      const main = ps
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.includes(`--user-data-dir=${profile}`) && !l.includes('--type='));
      assert.equal(main.length, 1, `expected one browser process for the profile, found:\n${main.join('\n')}`);
      const pid = Number(main[0].split(/\s+/)[0]);
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await b1.close();
    }
    const n = acked.length;
    assert.ok(n >= 150);
    const missing = await withBrowser(
      async (b) => {
        await setupSdk(b);
        return missingAcked(await sdkPage(b), 'kill', acked.slice(0, n));
      },
      { userDataDir: profile, port },
    );
    assert.deepEqual(missing, [], `acknowledged writes lost after SIGKILL (${n} acknowledged)`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
