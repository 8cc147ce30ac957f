/**
 * Crash test for secondary indexes: a seeded workload declares indexes (one before the writes, one while they run,
 * so a crash can hit an online build), writes, patches, deletes and ingests another feed's entries on a
 * `FaultFileSystem` with a small memtable, crashing at every file-system operation in turn. After each crash the
 * database reopens on what the crash left and:
 * 1. open never fails; the index catalog is intact;
 * 2. once builds settle, every declared index is complete and holds exactly `indexKeys` of the documents (entries
 *    are written in the same LSM batch as their document, so replay never leaves them out of step);
 * 3. a query through each index equals the same query by scan;
 * 4. every 4th crash point: `rebuild()` gives identical index contents.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, MemoryFileSystem, type FileSystem } from '@hearth/io';
import { keypairFromSecretKey, type VerifiedEntry } from '@hearth/log';
import { Database } from '@hearth/db';
import { asc, execute, gte, indexKeys, normalizeIndex, toHex, type Doc, type QueryStore } from '@hearth/query';
import { prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const KEYPAIR = keypairFromSecretKey(new Uint8Array(32).fill(5));
const OTHER = keypairFromSecretKey(new Uint8Array(32).fill(6));
const LSM = { memtableBytes: 2048, blockBytes: 512, tableBytes: 4096 };

let foreign: VerifiedEntry[] = [];

async function workload(fs: FileSystem, seed: number): Promise<void> {
  const rand = prng(seed);
  let db: Database;
  try {
    db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM, adaptiveIndexes: false });
  } catch (e) {
    if (fs instanceof FaultFileSystem && fs.crashed) return;
    throw e;
  }
  const id = () => `d${Math.floor(rand() * 16)}`;
  try {
    await db.createIndex('c', ['w']);
    let building: Promise<unknown> | undefined;
    for (let step = 0; step < 10; step++) {
      if (step === 3) building = db.createIndex('c', ['tags'], { multiEntry: true }).then(() => undefined, (e: unknown) => e);
      if (step === 5) {
        const res = await db.ingest(foreign.map((e) => e.bytes));
        if (!res.ok) throw new Error('ingest refused');
      }
      const ps: Promise<void>[] = [];
      for (let i = 0; i < 4; i++) {
        const k = rand();
        const w = Math.floor(rand() * 20);
        ps.push(
          k < 0.55
            ? db.put('c', id(), { w, tags: [`t${w % 3}`, `t${w % 5}`], pad: 'x'.repeat(Math.floor(rand() * 80)) })
            : k < 0.85
              ? db.patch('c', id(), rand() < 0.5 ? { w } : { tags: null })
              : db.delete('c', id()),
        );
      }
      await Promise.all(ps);
    }
    const failed = await building;
    if (failed !== undefined) throw failed;
    await db.close({ flush: rand() < 0.5 });
  } catch (e) {
    if (fs instanceof FaultFileSystem && fs.crashed) return;
    throw e;
  }
}

async function check(fs: FileSystem, label: string, withRebuild: boolean): Promise<void> {
  const db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM, adaptiveIndexes: false }); // (1)
  try {
    await db.indexesSettled();
    const contents = (): Map<string, string[]> => {
      const snap = db.snapshot();
      try {
        const docs = [...snap.iterate('c')];
        const out = new Map<string, string[]>();
        const listed = db.indexes('c');
        assert.deepEqual(snap.indexes('c').map((x) => x.id).sort(), listed.map((x) => x.id).sort(), `${label}: every declared index is complete`);
        for (const info of snap.indexes('c')) {
          const norm = normalizeIndex(info);
          const want = docs.flatMap(([id, d]) => indexKeys(norm, id, d as Doc).map(toHex)).sort();
          const got = [...snap.scanIndex(info.id, {})].map((e) => toHex(e.key));
          assert.deepEqual(got, want, `${label}: index ${info.id} = indexKeys of the documents`); // (2)
          out.set(info.id, got);
          const q = info.multiEntry
            ? { collection: 'c', where: { op: 'contains' as const, path: 'tags', value: 't1' } }
            : { collection: 'c', where: gte('w', 5), sort: [asc('w')] };
          const s = snap as unknown as QueryStore;
          assert.deepEqual(execute(s, q, { force: info.id }).rows.map((x) => x.id), execute(s, q, { force: 'scan' }).rows.map((x) => x.id), `${label}: query via ${info.id} = scan`); // (3)
        }
        return out;
      } finally {
        snap.release();
      }
    };
    const before = contents();
    assert.ok(before.has('c|[["w"]]') || db.indexes('c').length === 0, `${label}: the first index exists once declared`);
    if (withRebuild) {
      await db.rebuild();
      assert.deepEqual(contents(), before, `${label}: rebuild gives identical index contents`); // (4)
    }
    await db.put('c', 'after', { w: 1 });
  } finally {
    await db.close();
  }
}

test('crash at every file-system operation with secondary indexes: indexes stay equal to the documents', async () => {
  const other = await Database.open({ fs: new MemoryFileSystem(), name: 'o', keypair: OTHER });
  for (let i = 0; i < 5; i++) await other.put('c', `d${i}`, { w: 100 + i, tags: ['t1', 'remote'] });
  foreign = await other.entriesSince(other.feed, 0);
  await other.close();

  const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
  await workload(probe, SEED);
  const total = probe.opCount();
  assert.ok(total > 40, `workload too small: ${total} ops`);
  await check(await probe.afterCrash({ unsynced: 'lose' }), 'no crash', true);
  const modes = ['random', 'lose', 'keep'] as const;
  for (let n = 1; n <= total; n++) {
    const label = `seed ${SEED}, crash at op ${n}/${total}, ${modes[n % 3]} (rerun with HEARTH_SEED=${SEED})`;
    const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + n });
    fs.crashAt({ at: n, tear: 'random' });
    await workload(fs, SEED);
    await check(await fs.afterCrash({ unsynced: modes[n % 3] }), label, n % 4 === 0);
  }
  console.log(`index crash test: ${total} crash points`);
});
