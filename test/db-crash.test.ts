/**
 * Crash test: a seeded workload of puts, patches, deletes and transactions (some issued together, so group commits
 * hold several writes) runs on a `FaultFileSystem`, crashing at every operation in turn (each write and sync of the
 * feed, the keypair-less open, and the LSM's flushes and manifest edits, with a small memtable). After each crash
 * the database reopens on what the crash left (`afterCrash`, unsynced writes lost, kept or cut at random) and:
 * 1. open never fails;
 * 2. every write whose promise resolved is in the feed, and the documents equal an independent CRDT model built
 *    from the recovered feed (so no entry is half-applied: transactions are all or nothing);
 * 3. `rebuild()` from the feeds gives the same state hash as recovery did (every 4th crash point);
 * 4. the database accepts new writes.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, MemoryFileSystem, type FileSystem } from '@hearth/io';
import { keypairFromSecretKey, type VerifiedEntry } from '@hearth/log';
import { Database, decodeFieldValueV1, decodeOpsV1 } from '@hearth/db';
import { allEntries, docsOf, hex, modelOf, prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const KEYPAIR = keypairFromSecretKey(new Uint8Array(32).fill(3));
const OTHER = keypairFromSecretKey(new Uint8Array(32).fill(4));
const LSM = { memtableBytes: 2048, blockBytes: 512, tableBytes: 4096 };

interface Outcome {
  /** Markers (`w` field values) of put/patch writes whose promise resolved. */
  resolved: Set<number>;
  /** Transactions that resolved: their markers. */
  txs: number[][];
  /** Highest seq of the foreign feed whose ingest resolved (0 if none). */
  ingested: number;
}

/** Entries of another device, ingested in two parts during the workload. */
let foreign: VerifiedEntry[] = [];
async function makeForeign(): Promise<void> {
  const other = await Database.open({ fs: new MemoryFileSystem(), name: 'o', keypair: OTHER });
  for (let i = 0; i < 6; i++) await other.put('c', `d${i}`, { w: 10_000 + i, from: 'other' });
  foreign = await other.entriesSince(other.feed, 0);
  await other.close();
}

/** Runs the seeded workload; stops quietly at the first error (the injected crash). */
async function workload(fs: FileSystem, seed: number): Promise<Outcome> {
  const rand = prng(seed);
  const out: Outcome = { resolved: new Set(), txs: [], ingested: 0 };
  let db: Database;
  const crashed = (e: unknown): Outcome => {
    if (fs instanceof FaultFileSystem && fs.crashed) return out;
    throw e; // a failure without a crash is a bug, not part of the scenario
  };
  try {
    db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM });
  } catch (e) {
    return crashed(e);
  }
  let w = 0;
  const id = () => `d${Math.floor(rand() * 12)}`;
  const pad = () => 'x'.repeat(Math.floor(rand() * 120));
  try {
    for (let step = 0; step < 14; step++) {
      const r = rand();
      if (step === 4 || step === 9) {
        // entries of another feed arrive (sync), in two parts, with a duplicate
        const part = step === 4 ? foreign.slice(0, 3) : foreign.slice(2);
        const res = await db.ingest(part.map((e) => e.bytes));
        if (!res.ok) throw new Error(`ingest refused: ${res.feeds.map((f) => f.error?.message).join('; ')}`);
        out.ingested = part[part.length - 1].seq;
      } else if (r < 0.5) {
        // a group of writes issued together (one or a few group commits)
        const n = 1 + Math.floor(rand() * 5);
        const ps: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const m = ++w;
          const k = rand();
          const p = k < 0.6 ? db.put('c', id(), { w: m, pad: pad() }) : k < 0.85 ? db.patch('c', id(), { w: m, p: rand() }) : db.delete('c', id());
          ps.push(p.then(() => void (k < 0.85 && out.resolved.add(m))));
        }
        const results = await Promise.allSettled(ps);
        const failed = results.find((x) => x.status === 'rejected');
        if (failed !== undefined) return crashed((failed as PromiseRejectedResult).reason);
      } else {
        const n = 2 + Math.floor(rand() * 3);
        const marks: number[] = [];
        await db.transaction((tx) => {
          for (let i = 0; i < n; i++) {
            const m = ++w;
            marks.push(m);
            if (rand() < 0.5) tx.put('c', id(), { w: m, tx: true, pad: pad() });
            else tx.patch('c', id(), { w: m, tx: true });
          }
        });
        out.txs.push(marks);
        for (const m of marks) out.resolved.add(m);
      }
    }
    await db.close({ flush: rand() < 0.5 });
  } catch (e) {
    return crashed(e);
  }
  return out;
}

async function check(fs: FileSystem, outcome: Outcome, label: string, withRebuild: boolean): Promise<void> {
  const db = await Database.open({ fs, name: 'db', keypair: KEYPAIR, lsm: LSM }); // (1) never fails
  try {
    const entries = await allEntries(db);
    const inFeed = new Map<number, number>(); // marker -> seq
    for (const e of entries) {
      for (const op of decodeOpsV1(e.ops)) {
        const v = op.kind === 'delete' ? undefined : op.fields.get('w');
        if (v) inFeed.set(decodeFieldValueV1(v) as number, e.seq);
      }
    }
    for (const m of outcome.resolved) assert.ok(inFeed.has(m), `${label}: acknowledged write ${m} lost`);
    const held = db.stateVector().find((e) => hex(e.feed) === hex(OTHER.publicKey))?.seq ?? 0;
    assert.ok(held >= outcome.ingested, `${label}: ingested entries up to ${outcome.ingested} lost (holds ${held})`);
    for (const marks of outcome.txs) {
      const seqs = new Set(marks.map((m) => inFeed.get(m)));
      assert.equal(seqs.size, 1, `${label}: transaction ${marks} spread over entries ${[...seqs]}`);
    }
    // (2) no half-applied entry: the LSM's documents equal the model built from the feed alone
    assert.deepEqual(docsOf(db, ['c']), modelOf(entries), `${label}: documents differ from the feed's model`);
    // (3) rebuild gives the same state (every 4th crash point: (2) already compares with the feed's model)
    if (withRebuild) {
      const h = db.stateHash();
      await db.rebuild();
      assert.deepEqual(db.stateHash(), h, `${label}: rebuild changed the state hash`);
    }
    // (4) writable
    await db.put('c', 'after', { ok: true });
    assert.deepEqual(db.get('c', 'after'), { ok: true });
  } finally {
    await db.close();
  }
}

test('crash at every file-system operation of a seeded workload: acknowledged writes survive, entries apply whole', async () => {
  await makeForeign();
  const kinds = new Map<string, number>();
  const probe = new FaultFileSystem(new MemoryFileSystem(), {
    seed: SEED,
    onOp: (op) => {
      const k = `${op.kind}:${op.path.split('/')[1] ?? ''}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    },
  });
  const full = await workload(probe, SEED);
  const total = probe.opCount();
  assert.ok(full.resolved.size > 20 && total > 60, `workload too small: ${full.resolved.size} writes, ${total} ops`);
  for (const k of ['write:feeds', 'sync:feeds', 'write:lsm', 'sync:lsm', 'rename:lsm']) assert.ok(kinds.has(k), `no ${k} operation in the workload`);
  assert.equal(full.ingested, foreign.length, 'the workload ingests every foreign entry');
  console.log(`crash test: ${full.resolved.size} acknowledged writes, ${full.txs.length} transactions, ${foreign.length} ingested entries, ${total} crash points`);
  await check(await probe.afterCrash({ unsynced: 'lose' }), full, 'no crash', true);
  const modes = ['random', 'lose', 'keep'] as const;
  for (let n = 1; n <= total; n++) {
    const label = `seed ${SEED}, crash at op ${n}/${total}, ${modes[n % 3]} (rerun with HEARTH_SEED=${SEED})`;
    const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + n });
    fs.crashAt({ at: n, tear: 'random' });
    const outcome = await workload(fs, SEED);
    try {
      await check(await fs.afterCrash({ unsynced: modes[n % 3] }), outcome, label, n % 4 === 0);
    } catch (e) {
      console.error(`FAILED: ${label}`);
      throw e;
    }
  }
});
