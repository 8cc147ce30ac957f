// The QueryStore compliance suite: any implementation of the storage contract (the in-memory store here, the
// Database's LSM-backed read view later) runs it. It writes random documents through the implementation's own
// write path, then checks (1) the scanIndex contract: every key of every index equals indexKeys() of the
// documents, in ascending order, with gte/gt/lte/lt/reverse honoured; (2) getDoc/scan agree with what was
// written; (3) every query gives the reference evaluator's result through every access path.
//
// Usage from another package's test:
//   await checkQueryStore(async () => ({ view, put, delete, createIndex, dropIndex }), { scenarios: 4 })
import assert from 'node:assert/strict';
import {
  cmpValues,
  compareBytes,
  executeWithExplain,
  explain,
  indexKeys,
  normalizeIndex,
  toHex,
  type Doc,
  type IndexDefinition,
  type IndexInfo,
  type KeyRange,
  type QueryStore,
} from '../src/index.js';
import { SEED, rng } from './_arb.js';
import { INDEXABLE, chance, doc, int, pick, query } from './_gen.js';
import { type Collections, refQuery } from './_reference.js';

/** What an implementation offers the suite: its write path and a read view at the latest state. */
export interface WritableQueryStore {
  /** A read view of the latest state (a fresh snapshot each call). */
  view(): QueryStore | Promise<QueryStore>;
  put(collection: string, id: string, doc: Doc): unknown;
  delete(collection: string, id: string): unknown;
  /** Builds and registers an index; resolves when it is complete. */
  createIndex(def: IndexDefinition): IndexInfo | Promise<IndexInfo>;
  dropIndex?(indexId: string): unknown;
}

export interface ComplianceOptions {
  scenarios?: number;
  /** Writes per round. */
  writes?: number;
  queriesPerRound?: number;
}

const C = 'c';

async function checkIndexContract(view: QueryStore, data: Collections): Promise<void> {
  for (const info of view.indexes(C)) {
    const norm = normalizeIndex(info);
    assert.equal(info.multiEntry, norm.multiEntry);
    const expected: { key: string; id: string }[] = [];
    for (const [id, d] of data.get(C) ?? []) for (const k of indexKeys(norm, id, d)) expected.push({ key: toHex(k), id });
    expected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const all = [...view.scanIndex(info.id, {})];
    assert.deepEqual(all.map((e) => ({ key: toHex(e.key), id: e.id })), expected, `index ${info.id}: entries = indexKeys of the documents, ascending`);
    const rev = [...view.scanIndex(info.id, { reverse: true })];
    assert.deepEqual(rev.map((e) => toHex(e.key)), expected.map((e) => e.key).reverse(), `index ${info.id}: reverse order`);
    if (all.length < 2) continue;
    // Bounds: pick two existing keys and check every bound combination against a filter of the full list.
    const r = rng(all.length);
    for (let t = 0; t < 8; t++) {
      const lo = all[int(r, 0, all.length - 1)].key;
      const hi = all[int(r, 0, all.length - 1)].key;
      const range: { -readonly [K in keyof KeyRange]: KeyRange[K] } = {};
      if (chance(r, 0.5)) range.gte = lo; else range.gt = lo;
      if (chance(r, 0.5)) range.lte = hi; else range.lt = hi;
      range.reverse = chance(r, 0.5);
      const want = all
        .filter((e) => {
          const a = compareBytes(e.key, lo);
          const b = compareBytes(e.key, hi);
          return (range.gte ? a >= 0 : a > 0) && (range.lte ? b <= 0 : b < 0);
        })
        .map((e) => toHex(e.key));
      if (range.reverse) want.reverse();
      assert.deepEqual([...view.scanIndex(info.id, range)].map((e) => toHex(e.key)), want, `index ${info.id}: range ${JSON.stringify(Object.keys(range))}`);
      const est = view.estimateRange?.(info.id, range);
      if (est !== undefined) assert.ok(est >= 0 && Number.isFinite(est), 'estimateRange is a finite count');
    }
  }
}

function checkDocs(view: QueryStore, data: Collections): void {
  const want = data.get(C)!;
  const seen = new Map<string, Doc>();
  for (const [id, d] of view.scan(C)) {
    assert.ok(!seen.has(id), `scan yields ${id} once`);
    seen.set(id, d);
  }
  assert.equal(seen.size, want.size, 'scan yields every document');
  for (const [id, d] of want) {
    assert.equal(cmpValues(seen.get(id), d), 0, `scan: document ${id}`);
    assert.equal(cmpValues(view.getDoc(C, id), d), 0, `getDoc: document ${id}`);
  }
  assert.equal(view.getDoc(C, 'no-such-id'), undefined);
  // Contract 5: the partial readers, when present, hold the named fields exactly as the whole document does.
  if (view.getDocFields !== undefined || view.scanFields !== undefined) {
    assert.ok(view.getDocFields !== undefined && view.scanFields !== undefined, 'getDocFields and scanFields come together');
    const names = new Set<string>();
    for (const d of want.values()) for (const k of Object.keys(d)) names.add(k);
    const all = [...names].sort();
    const subsets = [new Set<string>(), new Set(all.slice(0, 1)), new Set(all.filter((_, i) => i % 2 === 0)), new Set([...all, 'no-such-field'])];
    for (const fields of subsets) {
      const check = (id: string, got: Doc | undefined, what: string) => {
        const full = want.get(id)!;
        assert.ok(got !== undefined, `${what}: document ${id} exists`);
        for (const f of fields) assert.equal(cmpValues(got[f], full[f]), 0, `${what}: field ${f} of ${id}`);
      };
      const ids = new Set<string>();
      for (const [id, d] of view.scanFields!(C, fields)) {
        assert.ok(!ids.has(id), `scanFields yields ${id} once`);
        ids.add(id);
        check(id, d, 'scanFields');
      }
      assert.equal(ids.size, want.size, 'scanFields yields every document');
      for (const id of want.keys()) check(id, view.getDocFields!(C, id, fields), 'getDocFields');
      assert.equal(view.getDocFields!(C, 'no-such-id', fields), undefined);
    }
  }
}

/**
 * Runs the compliance scenarios against fresh stores from `make`.
 * @throws AssertionError naming the seed on the first violation.
 */
export async function checkQueryStore(make: () => WritableQueryStore | Promise<WritableQueryStore>, options: ComplianceOptions = {}): Promise<void> {
  const scenarios = options.scenarios ?? 4;
  for (let s = 0; s < scenarios; s++) {
    const seed = SEED + 5000 + s;
    const r = rng(seed);
    try {
      const w = await make();
      const data: Collections = new Map([[C, new Map()]]);
      for (let round = 0; round < 3; round++) {
        for (let i = options.writes ?? 30; i > 0; i--) {
          const id = `d${int(r, 0, 40)}`;
          if (chance(r, 0.2)) {
            await w.delete(C, id);
            data.get(C)!.delete(id);
          } else {
            const d = doc(r);
            await w.put(C, id, d);
            data.get(C)!.set(id, structuredClone(d));
          }
        }
        await w.createIndex({ collection: C, fields: pick(r, INDEXABLE) });
        if (chance(r, 0.5)) await w.createIndex({ collection: C, fields: ['tags'], multiEntry: true });
        const view = await w.view();
        if (w.dropIndex && chance(r, 0.3) && view.indexes(C).length > 1) await w.dropIndex(view.indexes(C)[0].id);
        const v = await w.view();
        checkDocs(v, data);
        await checkIndexContract(v, data);
        for (let qi = 0; qi < (options.queriesPerRound ?? 20); qi++) {
          const q = query(r, C);
          const ref = refQuery(data, q);
          for (const cand of explain(v, q).candidates) {
            const force = cand.access.type === 'index' ? cand.access.indexId : cand.access.type;
            const got = executeWithExplain(v, q, { force }).result;
            assert.deepEqual(got.rows.map((x) => x.id), ref.rows.map((x) => x.id), `query via ${force}: ${JSON.stringify(q)}`);
            got.rows.forEach((x, i) => assert.equal(cmpValues(x.doc, ref.rows[i].doc), 0));
          }
        }
      }
    } catch (e) {
      (e as Error).message = `[QueryStore compliance, SEED=${SEED} scenario ${s} seed ${seed}] ${(e as Error).message}`;
      throw e;
    }
  }
}
