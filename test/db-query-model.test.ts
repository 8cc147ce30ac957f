/**
 * The query engine's model test through the real Database: seeded random documents and writes (puts, patches,
 * deletes) on replica A, concurrent writes on replica B ingested into A (sync), declared indexes created and
 * dropped between rounds, an adaptive policy with low thresholds that builds indexes mid-way, and random
 * queries (filters, sorts, limits, projections, aggregates, traversals). Every query is run through every plan the
 * planner considers (each index, union, primary, scan) and compared with the reference evaluator over A's
 * documents; every complete index's entries are compared with `indexKeys` of the documents. Then A is closed
 * without a flush and reopened (replay maintains the indexes), and rebuilt from the log: identical index contents.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { Database, type DbSnapshot, type Document } from '@hearth/db';
import { cmpValues, execute, explain, hop, indexKeys, normalizeIndex, toHex, type Doc, type Query, type QueryStore } from '@hearth/query';
import { INDEXABLE, chance, doc, int, pick, query } from '../packages/query/test/_gen.js';
import { refQuery, type Collections } from '../packages/query/test/_reference.js';
import { allEntries, prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const C = 'c';

function dataOf(db: Database): Collections {
  return new Map([[C, new Map([...db.iterate(C)].map(([id, d]) => [id, d as Doc]))]]);
}

/** Index contents at a snapshot, as `index id → hex keys` (checked against indexKeys of the documents). */
function indexContents(snap: DbSnapshot, data: Collections, label: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const info of snap.indexes(C)) {
    const norm = normalizeIndex(info);
    const want: string[] = [];
    for (const [id, d] of data.get(C)!) for (const k of indexKeys(norm, id, d)) want.push(toHex(k));
    want.sort();
    const got = [...snap.scanIndex(info.id, {})].map((e) => toHex(e.key));
    assert.deepEqual(got, want, `${label}: index ${info.id} holds exactly the keys of the documents`);
    out.set(info.id, got);
  }
  return out;
}

function checkQueries(db: Database, r: () => number, n: number, label: string): void {
  const data = dataOf(db);
  const snap = db.snapshot();
  try {
    for (let i = 0; i < n; i++) {
      let q: Query = query(r, C);
      if (q.aggregate === undefined && chance(r, 0.15)) q = { ...q, traverse: [hop(pick(r, ['tags', 'a', 'n.x']), C, { toField: pick(r, ['a', 's', '_id']) })], after: undefined };
      const ref = refQuery(data, q);
      // The Database's own entry point (feeds the adaptive policy) …
      const viaDb = db.query(q, { snapshot: snap });
      assert.deepEqual(viaDb.rows.map((x) => x.id), ref.rows.map((x) => x.id), `${label} seed ${SEED}: db.query ${JSON.stringify(q)}`);
      // … and every plan considered, forced.
      for (const cand of explain(snap as unknown as QueryStore, q).candidates) {
        const force = cand.access.type === 'index' ? cand.access.indexId : cand.access.type;
        const got = execute(snap as unknown as QueryStore, q, { force });
        assert.deepEqual(got.rows.map((x) => x.id), ref.rows.map((x) => x.id), `${label} seed ${SEED}: via ${force}: ${JSON.stringify(q)}`);
        got.rows.forEach((x, j) => assert.equal(cmpValues(x.doc, ref.rows[j].doc), 0, `${label} seed ${SEED}: row ${j} via ${force}`));
        if (q.aggregate === undefined) assert.equal(got.hasMore, ref.hasMore, `${label} seed ${SEED}: hasMore via ${force}`);
      }
    }
    indexContents(snap, data, label);
  } finally {
    snap.release();
  }
}

test('queries through the Database equal the reference evaluator through every plan (ingest, adaptive builds, reopen, rebuild)', async () => {
  const r = prng(SEED);
  const fsA = new MemoryFileSystem();
  const adaptive = { minExecutions: 2, minScanned: 1, minRatio: 1.5 };
  let a = await Database.open({ fs: fsA, name: 'a', lsm: { memtableBytes: 16 * 1024 }, adaptiveIndexes: adaptive });
  const b = await Database.open({ fs: new MemoryFileSystem(), name: 'b' });
  const write = (db: Database): Promise<void> => {
    const id = `d${int(r, 0, 60)}`;
    const k = r();
    if (k < 0.6) return db.put(C, id, doc(r) as Document);
    if (k < 0.85) {
      const d = doc(r) as Document;
      const p: Document = {};
      for (const f of Object.keys(d)) if (chance(r, 0.5)) p[f] = d[f];
      if (chance(r, 0.3)) p.a = null;
      return db.patch(C, id, p);
    }
    return db.delete(C, id);
  };
  let ingested = 0;
  try {
    for (let round = 0; round < 6; round++) {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 60; i++) pending.push(write(a));
      // Declare an index while the writes are in flight: the online build races them.
      const created = a.createIndex(C, pick(r, INDEXABLE), {}).catch((e) => e);
      if (chance(r, 0.5)) pending.push(a.createIndex(C, ['tags'], { multiEntry: true }).then(() => undefined));
      for (let i = 0; i < 30; i++) pending.push(write(b));
      await Promise.all(pending);
      assert.ok(!((await created) instanceof Error), `createIndex failed: ${String(await created)}`);
      // Sync: everything B wrote is ingested into A (live index maintenance on ingest).
      const res = await a.ingest(await allEntries(b));
      assert.ok(res.ok);
      ingested += res.appended;
      if (round === 3) {
        const user = a.indexes(C).filter((x) => x.origin === 'user');
        if (user.length > 1) await a.dropIndex(user[0].id);
      }
      checkQueries(a, r, 40, `round ${round}`);
      await a.indexesSettled(); // adaptive builds proposed by these queries finish before the next round's writes
    }
    assert.ok(ingested >= 6, `ingest contributed entries every round (${ingested})`);
    const statuses = a.indexes(C);
    assert.ok(statuses.some((x) => x.origin === 'adaptive' && x.state === 'ready'), `the adaptive policy built an index: ${JSON.stringify(statuses)}`);
    assert.ok(statuses.some((x) => x.uses > 0), 'some index served queries');
    for (const s of statuses) {
      assert.ok(s.reason.length > 0 && s.createdAt > 0 && s.number > 0);
      assert.equal(s.state, 'ready');
    }
    checkQueries(a, r, 60, 'after adaptive builds');

    // Close without flushing: reopen replays the entries past the flushed position, with their index entries.
    await a.indexesSettled();
    const defs = a.indexes(C);
    const before = indexContentsAt(a);
    await a.close({ flush: false });
    a = await Database.open({ fs: fsA, name: 'a', adaptiveIndexes: false });
    assert.deepEqual(a.indexes(C).map((x) => [x.id, x.state, x.origin]), defs.map((x) => [x.id, x.state, x.origin]), 'definitions survive a reopen');
    assert.deepEqual(indexContentsAt(a), before, 'reopen: identical index contents');
    checkQueries(a, r, 30, 'after reopen');

    // Rebuild from the log: the definitions are kept, the entries recreated by the replay.
    await a.rebuild();
    assert.deepEqual(indexContentsAt(a), before, 'rebuild: identical index contents');
    await a.close();
    a = await Database.open({ fs: fsA, name: 'a', rebuild: true, adaptiveIndexes: false });
    assert.deepEqual(indexContentsAt(a), before, 'open with rebuild: identical index contents');
    checkQueries(a, r, 20, 'after open with rebuild');
  } finally {
    await a.close();
    await b.close();
  }
});

function indexContentsAt(db: Database): Map<string, string[]> {
  const snap = db.snapshot();
  try {
    return indexContents(snap, dataOf(db), 'contents');
  } finally {
    snap.release();
  }
}
