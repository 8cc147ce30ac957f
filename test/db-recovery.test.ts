/**
 * Recovery: replay after a close without flush (own and ingested entries), replay only past the applied position,
 * rebuild equality, the clock restarting after the own head, lost own-feed entries (writes refused until restored,
 * no sequence number re-used), views built from another history, and a damaged LSM (refused, then rebuilt).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem, countHandles } from '@hearth/io';
import { feedIdToHex, keypairFromSecretKey } from '@hearth/log';
import { Database } from '@hearth/db';
import { allEntries, docsOf, modelOf } from './db-helpers.js';

const KP = keypairFromSecretKey(new Uint8Array(32).fill(21));
const KP2 = keypairFromSecretKey(new Uint8Array(32).fill(22));
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('close without flush, reopen: every entry is replayed (own and ingested); rebuild gives the same state hash', async () => {
  const fs = new MemoryFileSystem();
  const other = await Database.open({ fs: new MemoryFileSystem(), name: 'o', keypair: KP2 });
  await other.put('c', 'x', { from: 'other' });
  await other.patch('c', 'a', { o: 1 });
  const db = await Database.open({ fs, name: 'db', keypair: KP });
  for (let i = 0; i < 20; i++) await db.put('c', `d${i % 7}`, { i });
  await db.transaction((tx) => {
    tx.delete('c', 'd1');
    tx.patch('c', 'a', { mine: true });
  });
  assert.ok((await db.ingest(await allEntries(other))).ok);
  const hash = db.stateHash();
  const docs = docsOf(db, ['c']);
  await db.close({ flush: false });
  await other.close();

  const again = await Database.open({ fs, name: 'db', keypair: KP });
  assert.equal(again.recovery.replayed, 21 + 2, 'own entries and ingested ones replayed');
  assert.deepEqual(again.stateHash(), hash);
  assert.deepEqual(docsOf(again, ['c']), docs);
  assert.deepEqual(again.get('c', 'a'), { mine: true, o: 1 });
  await again.rebuild();
  assert.deepEqual(again.stateHash(), hash);
  assert.deepEqual(docsOf(again, ['c']), modelOf(await allEntries(again)));
  await again.close();
  const third = await Database.open({ fs, name: 'db', keypair: KP });
  assert.equal(third.recovery.replayed, 0, 'rebuild and close flushed everything');
  assert.deepEqual(third.stateHash(), hash);
  await third.close();
});

test('replay starts after the applied position recorded by the last flush', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair: KP });
  for (let i = 0; i < 5; i++) await db.put('c', `k${i}`, { i });
  await db.flush();
  for (let i = 5; i < 8; i++) await db.put('c', `k${i}`, { i });
  const hash = db.stateHash();
  await db.close({ flush: false });
  const again = await Database.open({ fs, name: 'db', keypair: KP });
  assert.equal(again.recovery.replayed, 3);
  assert.deepEqual(again.stateHash(), hash);
  await again.close();
});

test('the clock restarts after the own head: a later write wins even if the wall clock went backwards', async () => {
  const fs = new MemoryFileSystem();
  const t = 1763700000000;
  const db = await Database.open({ fs, name: 'db', keypair: KP, wallClock: () => t + 60_000 });
  await db.put('c', 'x', { v: 'first' });
  await db.close();
  const again = await Database.open({ fs, name: 'db', keypair: KP, wallClock: () => t });
  await again.put('c', 'x', { v: 'second' });
  assert.deepEqual(again.get('c', 'x'), { v: 'second' });
  const [e1, e2] = await again.entriesSince(again.feed, 0);
  assert.ok(e2.hlc > e1.hlc);
  await again.close();
});

test('lost own-feed entries: writes refused with HEARTH_FEED_BEHIND until ingest restores them; no seq is re-used', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair: KP });
  await db.put('c', 'a', { v: 1 });
  await db.put('c', 'b', { v: 2 });
  const path = `db/feeds/${feedIdToHex(KP.publicKey)}.feed`;
  const sizeAt2 = await fileSize(fs, path);
  await db.put('c', 'c', { v: 3 });
  await db.put('c', 'a', { v: 4 });
  const lostEntries = await db.entriesSince(db.feed, 2);
  const hash = db.stateHash();
  await db.close(); // flushed: the views reflect seq 4
  const fh = await fs.open(path);
  fh.truncate(sizeAt2); // the feed file loses entries 3 and 4 (as a bad disk might)
  await fh.sync();
  await fh.close();

  const again = await Database.open({ fs, name: 'db', keypair: KP });
  assert.equal(again.recovery.lost.length, 1);
  assert.deepEqual({ ...again.recovery.lost[0], feed: undefined }, { feed: undefined, appliedSeq: 4, heldSeq: 2 });
  assert.deepEqual(again.get('c', 'a'), { v: 4 }, 'the views still hold what they applied');
  await assert.rejects(again.put('c', 'z', {}), code('HEARTH_FEED_BEHIND'));
  await assert.rejects(again.transaction((tx) => tx.put('c', 'z', {})), code('HEARTH_FEED_BEHIND'));
  assert.deepEqual(again.stateVector().map((e) => e.seq), [2], 'only held entries are offered to peers');
  await again.rebuild();
  await assert.rejects(again.put('c', 'z', {}), code('HEARTH_FEED_BEHIND'), 'rebuild does not lift the guard');
  const r = await again.ingest(lostEntries.map((e) => e.bytes));
  assert.ok(r.ok && r.appended === 2);
  await again.put('c', 'z', { v: 5 });
  const all = await again.entriesSince(again.feed, 0);
  assert.deepEqual(all.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(all[3].hash, lostEntries[1].hash, 'entry 4 is the original, not a re-signed one');
  await again.rebuild();
  assert.deepEqual(again.get('c', 'a'), { v: 4 });
  assert.notDeepEqual(again.stateHash(), hash);
  await again.close();
});

test('views built from another history are refused (HEARTH_CORRUPTION) and rebuilt on request', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair: KP });
  await db.put('c', 'a', { history: 1 });
  await db.put('c', 'b', { history: 1 });
  await db.close();
  // the same key writes another history elsewhere; its feed file replaces this one
  const elsewhere = new MemoryFileSystem();
  const fork = await Database.open({ fs: elsewhere, name: 'db', keypair: KP });
  await fork.put('c', 'a', { history: 2 });
  await fork.put('c', 'q', { history: 2 });
  await fork.close();
  const path = `db/feeds/${feedIdToHex(KP.publicKey)}.feed`;
  const src = await elsewhere.open(path);
  const bytes = src.read(0, src.size());
  await src.close();
  const dst = await fs.open(path, { truncate: true });
  dst.write(0, bytes);
  await dst.sync();
  await dst.close();
  await assert.rejects(Database.open({ fs, name: 'db', keypair: KP }), (e: unknown) => code('HEARTH_CORRUPTION')(e) && /rebuild/.test((e as Error).message));
  const rebuilt = await Database.open({ fs, name: 'db', keypair: KP, rebuild: true });
  assert.equal(rebuilt.recovery.rebuilt, true);
  assert.deepEqual(docsOf(rebuilt, ['c']), new Map([['c/a', { history: 2 }], ['c/q', { history: 2 }]]));
  await rebuilt.close();
});

test('a damaged LSM refuses to open with a hint; { rebuild: true } rebuilds it from the feeds', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair: KP });
  for (let i = 0; i < 10; i++) await db.put('c', `k${i}`, { i });
  const hash = db.stateHash();
  await db.close();
  const cur = await fs.open('db/lsm/CURRENT');
  cur.write(0, new TextEncoder().encode('garbage-garbage'));
  await cur.sync();
  await cur.close();
  // The feed store opens beside the LSM: the failed open closes it again (OPFS handles are exclusive).
  const counting = countHandles(fs);
  await assert.rejects(Database.open({ fs: counting.fs, name: 'db', keypair: KP }), (e: unknown) => code('HEARTH_CORRUPTION')(e) && /rebuild/.test((e as Error).message));
  assert.equal(counting.open, 0, 'a failed open left handles open');
  const again = await Database.open({ fs, name: 'db', keypair: KP, rebuild: true });
  assert.deepEqual(again.stateHash(), hash);
  assert.equal(again.recovery.replayed, 10);
  await again.close();
});

async function fileSize(fs: MemoryFileSystem, path: string): Promise<number> {
  const h = await fs.open(path);
  try {
    return h.size();
  } finally {
    await h.close();
  }
}
