// Model test: random documents (nested fields, mixed types, arrays, missing fields), random writes and random
// queries give the reference evaluator's result through every access path the planner considers (primary key,
// each usable index, scan), with indexes created and dropped between rounds; paging through a limited query
// with its cursors yields the full result; every index always holds exactly the keys of the documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryQueryStore,
  cmpValues,
  compareBytes,
  executeWithExplain,
  explain,
  indexKeys,
  normalizeIndex,
  toHex,
  type Doc,
  type Query,
  type Row,
} from '../src/index.js';
import { SEED, rng } from './_arb.js';
import { INDEXABLE, chance, doc, int, pick, query, type Rand } from './_gen.js';
import { type Collections, refQuery } from './_reference.js';

const C = 'c';

function sameRows(actual: readonly Row[], expected: readonly Row[], what: string): void {
  assert.deepEqual(actual.map((r) => r.id), expected.map((r) => r.id), `${what}: ids`);
  actual.forEach((r, i) => assert.equal(cmpValues(r.doc, expected[i].doc), 0, `${what}: doc of ${r.id}`));
}

function checkIndexes(store: MemoryQueryStore, data: Collections): void {
  for (const info of store.indexes(C)) {
    const norm = normalizeIndex(info);
    const expected: string[] = [];
    for (const [id, d] of data.get(C) ?? []) for (const k of indexKeys(norm, id, d)) expected.push(toHex(k));
    expected.sort();
    const entries = store.indexEntries(info.id);
    for (let i = 1; i < entries.length; i++) assert.equal(compareBytes(entries[i - 1].key, entries[i].key), -1, `${info.id} sorted`);
    assert.deepEqual(entries.map((e) => toHex(e.key)), expected, `index ${info.id} holds exactly the documents' keys`);
  }
}

function forceOf(a: ReturnType<typeof explain>['candidates'][number]['access']): string {
  return a.type === 'index' ? a.indexId : a.type;
}

function checkQuery(store: MemoryQueryStore, data: Collections, q: Query, label: string): void {
  const ref = refQuery(data, q);
  const plan = explain(store, q);
  assert.ok(plan.candidates.length >= 1);
  for (const cand of plan.candidates) {
    const force = forceOf(cand.access);
    const { result, explain: ex } = executeWithExplain(store, q, { force });
    assert.equal(forceOf(ex.access), force, `${label}: forced plan ${force} was used`);
    sameRows(result.rows, ref.rows, `${label} via ${force} ${JSON.stringify(q)}`);
    assert.equal(result.hasMore, ref.hasMore, `${label} via ${force}: hasMore`);
    assert.equal(ex.returned, result.rows.length);
    if (ex.access.type === 'index' && ex.access.servesSort && q.limit !== undefined && q.aggregate === undefined) {
      assert.equal(ex.sortInMemory, false);
    }
  }
  // Paging with cursors: pages concatenated equal the unlimited result, through the chosen plan and a scan.
  if (q.aggregate === undefined && q.limit !== undefined && q.limit > 0) {
    const full = refQuery(data, { ...q, limit: undefined }).rows;
    for (const force of [undefined, 'scan']) {
      const got: Row[] = [];
      let after: string | undefined;
      for (let page = 0; page < 200; page++) {
        const res = executeWithExplain(store, { ...q, ...(after ? { after } : {}) }, force ? { force } : undefined).result;
        got.push(...res.rows);
        assert.ok(res.rows.length <= q.limit);
        if (!res.hasMore) break;
        assert.equal(res.rows.length, q.limit, 'a page with more after it is full');
        after = res.cursor;
      }
      sameRows(got, full, `${label} paged via ${force ?? 'planner'}`);
    }
  }
}

function write(r: Rand, store: MemoryQueryStore, data: Collections): string {
  const coll = data.get(C)!;
  const id = `d${int(r, 0, 30)}`;
  if (chance(r, 0.2)) {
    const had = coll.has(id);
    const ch = store.delete(C, id);
    assert.equal(ch !== undefined, had);
    coll.delete(id);
  } else {
    const d: Doc = doc(r);
    store.put(C, id, d);
    coll.set(id, structuredClone(d));
  }
  return id;
}

test('model: all plans equal the reference under random writes, queries and index changes', () => {
  const scenarios = 12;
  for (let s = 0; s < scenarios; s++) {
    const seed = SEED + s;
    const r = rng(seed);
    try {
      const store = new MemoryQueryStore();
      const data: Collections = new Map([[C, new Map()]]);
      for (const fields of INDEXABLE) if (chance(r, 0.3)) store.createIndex({ collection: C, fields });
      if (chance(r, 0.5)) store.createIndex({ collection: C, fields: ['tags'], multiEntry: true });
      for (let round = 0; round < 5; round++) {
        const writes = int(r, 5, 25);
        for (let i = 0; i < writes; i++) write(r, store, data);
        // Indexes added (built over existing documents) and dropped mid-way.
        if (chance(r, 0.6)) store.createIndex({ collection: C, fields: pick(r, INDEXABLE) });
        if (chance(r, 0.3)) store.createIndex({ collection: C, fields: ['tags'], multiEntry: true });
        if (chance(r, 0.25) && store.indexes(C).length) store.dropIndex(pick(r, store.indexes(C)).id);
        checkIndexes(store, data);
        for (let i = 0; i < 25; i++) checkQuery(store, data, query(r, C), `seed ${seed} round ${round} query ${i}`);
      }
    } catch (e) {
      (e as Error).message = `[reproduce with SEED=${SEED} scenario ${s}, seed ${seed}] ${(e as Error).message}`;
      throw e;
    }
  }
});

test('model: cursor pages stay consistent when writes happen between pages', () => {
  for (let s = 0; s < 20; s++) {
    const seed = SEED + 1000 + s;
    const r = rng(seed);
    const store = new MemoryQueryStore();
    const data: Collections = new Map([[C, new Map()]]);
    for (const fields of INDEXABLE) if (chance(r, 0.4)) store.createIndex({ collection: C, fields });
    for (let i = 0; i < 40; i++) write(r, store, data);
    const q: Query = { ...query(r, C), aggregate: undefined, limit: int(r, 1, 5) };
    const seen: Row[] = [];
    const touched = new Set<string>();
    let after: string | undefined;
    for (let page = 0; page < 100; page++) {
      const res = executeWithExplain(store, { ...q, ...(after ? { after } : {}) }).result;
      // Each page is exactly the reference page after the cursor at the current state.
      sameRows(res.rows, refQuery(data, { ...q, ...(after ? { after } : {}) }).rows, `seed ${seed} page ${page}`);
      seen.push(...res.rows);
      if (!res.hasMore) break;
      after = res.cursor;
      for (let i = int(r, 0, 4); i > 0; i--) touched.add(write(r, store, data));
    }
    // Rows not written while paging keep their positions: each is seen exactly once, none skipped.
    const untouched = refQuery(data, { ...q, limit: undefined }).rows.filter((x) => !touched.has(x.id)).map((x) => x.id);
    const seenUntouched = seen.filter((x) => !touched.has(x.id)).map((x) => x.id);
    assert.deepEqual(seenUntouched, untouched, `seed ${seed}: untouched rows seen once each, in order`);
  }
});
