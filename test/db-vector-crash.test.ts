/**
 * Crash test for vector indexes: a seeded workload (vector puts, updates, patches of other fields, deletes, bad
 * vectors, flushes that save the index, a periodic save, close) runs on a `FaultFileSystem` and crashes at every
 * file-system operation in turn (feed, LSM, index file, catalog). After each crash the database reopens on what
 * the crash left and:
 * 1. open never fails;
 * 2. if `createVectorIndex` resolved, the index exists (loaded and caught up, or rebuilt);
 * 3. the index holds exactly the documents with a valid vector, each under its current vector (nearest of a
 *    document's own vector is that document at distance 0), so no deleted or stale vector is returned;
 * 4. another reopen after a clean close loads the index (no rebuild) with the same answers (every 3rd point).
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, MemoryFileSystem, type FileSystem } from '@hearth/io';
import { keypairFromSecretKey } from '@hearth/log';
import { Database } from '@hearth/db';
import { prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 8080);
const KEYPAIR = keypairFromSecretKey(new Uint8Array(32).fill(31));
const LSM = { memtableBytes: 4096, blockBytes: 512, tableBytes: 8192 };
const DIM = 4;
const DEF = { dimension: DIM, metric: 'l2', threshold: 12, M: 4, efConstruction: 16 } as const;

interface Outcome {
  created: boolean;
}

async function workload(fs: FileSystem, seed: number): Promise<Outcome> {
  const r = prng(seed);
  const out: Outcome = { created: false };
  const vec = () => Float32Array.from({ length: DIM }, () => r());
  let db: Database;
  try {
    db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM });
  } catch (e) {
    if (fs instanceof FaultFileSystem && fs.crashed) return out;
    throw e;
  }
  try {
    await db.transaction((tx) => {
      for (let i = 0; i < 10; i++) tx.put('c', `d${i}`, { e: vec() });
    });
    await db.createVectorIndex('c', 'e', DEF);
    out.created = true;
    for (let step = 0; step < 10; step++) {
      const id = () => `d${Math.floor(r() * 24)}`;
      const x = r();
      if (x < 0.45) await db.put('c', id(), { e: vec(), n: step });
      else if (x < 0.6) await db.patch('c', id(), { n: step });
      else if (x < 0.75) await db.delete('c', id());
      else if (x < 0.85) await db.put('c', id(), { e: new Float32Array(DIM + 1) });
      else
        await db.transaction((tx) => {
          for (let i = 0; i < 3; i++) tx.put('c', id(), { e: vec() });
        });
      if (step === 3 || step === 7) await db.flush(); // saves the vector index
    }
    await db.close({ flush: r() < 0.5 });
  } catch (e) {
    if (fs instanceof FaultFileSystem && fs.crashed) return out;
    throw e;
  }
  return out;
}

function checkIndex(db: Database, label: string): string {
  const valid = [...db.iterate('c')].filter(([, d]) => d.e instanceof Float32Array && (d.e as Float32Array).length === DIM);
  const info = db.vectorIndexes()[0];
  assert.equal(info.size, valid.length, `${label}: index size`);
  const all = db.nearest('c', 'e', new Float32Array(DIM), { k: 1000, ef: 1000 });
  assert.deepEqual(all.map((h) => h.id).sort(), valid.map(([id]) => id).sort(), `${label}: index ids = documents with a valid vector`);
  for (const [id, d] of valid) {
    const [top] = db.nearest('c', 'e', d.e as Float32Array, { k: 1 });
    assert.ok(top.distance === 0, `${label}: ${id}'s own vector is at distance ${top.distance} (nearest ${top.id})`);
  }
  return JSON.stringify(all.map((h) => [h.id, h.distance]));
}

async function check(fs: FileSystem, outcome: Outcome, label: string, reopen: boolean): Promise<'loaded' | 'rebuilt' | 'none'> {
  let db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM }); // (1)
  let action: 'loaded' | 'rebuilt' | 'none' = 'none';
  let answers: string;
  try {
    const rep = db.recovery.vectors.indexes;
    if (outcome.created) assert.equal(rep.length, 1, `${label}: a created index survives`); // (2)
    if (rep.length === 0) {
      await db.createVectorIndex('c', 'e', DEF);
    } else action = rep[0].action;
    answers = checkIndex(db, label); // (3)
  } finally {
    await db.close();
  }
  if (!reopen) return action;
  db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM });
  try {
    assert.equal(db.recovery.vectors.indexes[0].action, 'loaded', `${label}: loaded after a clean close`); // (4)
    assert.equal(checkIndex(db, label), answers, `${label}: same answers after reopen`);
  } finally {
    await db.close();
  }
  return action;
}

test('crash at every file-system operation: vector indexes reopen consistent with the documents', async () => {
  const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
  const full = await workload(probe, SEED);
  assert.ok(full.created);
  const total = probe.opCount();
  await check(await probe.afterCrash({ unsynced: 'lose' }), full, 'no crash', true);
  const modes = ['random', 'lose', 'keep'] as const;
  const actions = { loaded: 0, rebuilt: 0, none: 0 };
  for (let n = 1; n <= total; n++) {
    const label = `seed ${SEED}, crash at op ${n}/${total}, ${modes[n % 3]} (rerun with HEARTH_SEED=${SEED})`;
    const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + n });
    fs.crashAt({ at: n, tear: 'random' });
    const outcome = await workload(fs, SEED);
    try {
      actions[await check(await fs.afterCrash({ unsynced: modes[n % 3] }), outcome, label, n % 3 === 0)]++;
    } catch (e) {
      console.error(`FAILED: ${label}`);
      throw e;
    }
  }
  console.log(`vector crash test: ${total} crash points; index loaded ${actions.loaded}, rebuilt ${actions.rebuilt}, not yet created ${actions.none}`);
  assert.ok(actions.loaded > 10 && actions.none > 0, 'the workload crashes both before the index exists and after it was saved');
});
