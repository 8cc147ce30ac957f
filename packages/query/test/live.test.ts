// Live queries: after random write sequences, the accumulated diffs applied to the initial result equal the
// re-run query's result (sorted and limited windows, cursors, projections, traversal and aggregate re-runs);
// unaffected batches cost no store read; diffs apply exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryQueryStore,
  applyDiff,
  asc,
  cmpValues,
  createLiveQuery,
  desc,
  diffRows,
  eq,
  execute,
  gte,
  type Change,
  type Doc,
  type Query,
  type QueryStore,
  type Row,
} from '../src/index.js';
import { SEED, rng } from './_arb.js';
import { INDEXABLE, chance, doc, int, pick, query, type Rand } from './_gen.js';

function sameRows(actual: readonly Row[], expected: readonly Row[], what: string): void {
  assert.deepEqual(actual.map((r) => r.id), expected.map((r) => r.id), `${what}: ids`);
  actual.forEach((r, i) => assert.equal(cmpValues(r.doc, expected[i].doc), 0, `${what}: doc of ${r.id}`));
}

/** A store wrapper that counts reads. */
function counting(inner: QueryStore): QueryStore & { reads: number } {
  const s = {
    reads: 0,
    getDoc: (c: string, id: string) => (s.reads++, inner.getDoc(c, id)),
    scan: (c: string) => (s.reads++, inner.scan(c)),
    indexes: (c: string) => inner.indexes(c),
    scanIndex: (i: string, r: Parameters<QueryStore['scanIndex']>[1]) => (s.reads++, inner.scanIndex(i, r)),
    countDocs: (c: string) => inner.countDocs!(c),
    estimateRange: (i: string, r: Parameters<QueryStore['scanIndex']>[1]) => inner.estimateRange!(i, r),
  };
  return s;
}

function randomBatch(r: Rand, store: MemoryQueryStore, colls: string[]): Change[] {
  const out: Change[] = [];
  for (let i = int(r, 1, 6); i > 0; i--) {
    const c = pick(r, colls);
    const id = `d${int(r, 0, 25)}`;
    if (chance(r, 0.25)) {
      const ch = store.delete(c, id);
      if (ch) out.push(ch);
    } else {
      const d: Doc = doc(r);
      if (c === 'u') d.ref = `d${int(r, 0, 25)}`;
      if (c === 'c' && chance(r, 0.7)) d.owner = `d${int(r, 0, 25)}`;
      out.push(store.put(c, id, d));
    }
  }
  return out;
}

test('live: accumulated diffs equal the re-run result after random write sequences', () => {
  let incremental = 0;
  let refetches = 0;
  let reruns = 0;
  for (let s = 0; s < 40; s++) {
    const seed = SEED + 2000 + s;
    const r = rng(seed);
    const store = new MemoryQueryStore();
    for (const fields of INDEXABLE) if (chance(r, 0.3)) store.createIndex({ collection: 'c', fields });
    for (let i = 0; i < 30; i++) randomBatch(r, store, ['c', 'u']);
    let q: Query = query(r, 'c');
    if (s % 5 === 1) q = { collection: 'c', where: q.where, traverse: [{ from: 'owner', to: 'u', where: q.where }], sort: q.sort, limit: q.limit };
    if (s % 5 === 2 && q.aggregate === undefined && q.limit) {
      // A window that starts after a cursor.
      const first = execute(store, q);
      if (first.cursor) q = { ...q, after: first.cursor };
    }
    const live = createLiveQuery(store, q);
    let rows = live.result.rows;
    sameRows(rows, execute(store, q).rows, `seed ${seed} initial`);
    try {
      for (let b = 0; b < 30; b++) {
        const changes = randomBatch(r, store, ['c', 'u', 'other']);
        const diff = live.apply(changes, store);
        if (diff) rows = applyDiff(rows, diff);
        const expected = execute(store, q);
        sameRows(rows, expected.rows, `seed ${seed} batch ${b} accumulated diffs`);
        sameRows(live.result.rows, expected.rows, `seed ${seed} batch ${b} live.result`);
        assert.equal(live.result.hasMore, expected.hasMore, `seed ${seed} batch ${b} hasMore`);
        if (diff === null) assert.equal(diffRows(rows, expected.rows), null);
      }
    } catch (e) {
      (e as Error).message = `[SEED=${SEED} seed ${seed} query ${JSON.stringify(q)}] ${(e as Error).message}`;
      throw e;
    }
    incremental += live.stats.incremental;
    refetches += live.stats.refetches;
    reruns += live.stats.reruns;
  }
  // The scenarios exercise every path.
  assert.ok(incremental > 0 && refetches > 0 && reruns > 0, `incremental ${incremental}, refetches ${refetches}, reruns ${reruns}`);
});

test('live: unaffected changes cost no store read and give null', () => {
  const store = new MemoryQueryStore();
  for (let i = 0; i < 20; i++) store.put('todos', `t${String(i).padStart(2, '0')}`, { done: i % 2 === 0, at: i });
  const view = counting(store);
  const live = createLiveQuery(view, { collection: 'todos', where: eq('done', false), sort: [asc('at')], limit: 3 });
  assert.deepEqual(live.result.rows.map((r) => r.id), ['t01', 't03', 't05']);
  view.reads = 0;
  // Another collection; a document that matches neither before nor after; a row past the window.
  assert.equal(live.apply([store.put('other', 'x', { done: false })], view), null);
  assert.equal(live.apply([store.put('todos', 't02', { done: true, at: 2.5 })], view), null);
  assert.equal(live.apply([store.put('todos', 't09', { done: false, at: 9.5 })], view), null);
  assert.equal(view.reads, 0);
  assert.equal(live.stats.skipped, 3);
  // A row entering the window at position 1 pushes the last one out: no store read either.
  const d = live.apply([store.put('todos', 't50', { done: false, at: 2 })], view);
  assert.deepEqual(d, { removed: [{ id: 't05', index: 2 }], added: [{ id: 't50', doc: { done: false, at: 2 }, index: 1 }], changed: [] });
  assert.equal(view.reads, 0);
  // Removing a window row leaves it short: the tail is refetched from the store.
  const d2 = live.apply([store.put('todos', 't01', { done: true, at: 1 })], view);
  assert.ok(view.reads > 0);
  assert.deepEqual(d2?.removed, [{ id: 't01', index: 0 }]);
  assert.deepEqual(d2?.added.map((a) => [a.id, a.index]), [['t05', 2]]);
  assert.equal(live.stats.refetches, 1);
});

test('live: a row moving inside a sorted window is reported as changed with from/to', () => {
  const store = new MemoryQueryStore();
  store.put('p', 'a', { score: 3 });
  store.put('p', 'b', { score: 2 });
  store.put('p', 'c', { score: 1 });
  const live = createLiveQuery(store, { collection: 'p', where: gte('score', 0), sort: [desc('score')] });
  assert.deepEqual(live.result.rows.map((r) => r.id), ['a', 'b', 'c']);
  const d = live.apply([store.put('p', 'c', { score: 10 })], store);
  assert.deepEqual(d, { removed: [], added: [], changed: [{ id: 'c', doc: { score: 10 }, from: 2, to: 0 }] });
  assert.deepEqual(live.result.rows.map((r) => r.id), ['c', 'a', 'b']);
});

test('applyDiff refuses a diff that does not fit', () => {
  const rows: Row[] = [{ id: 'a', doc: {} }];
  assert.throws(() => applyDiff(rows, { removed: [{ id: 'b', index: 0 }], added: [], changed: [] }), RangeError);
  assert.throws(() => applyDiff(rows, { removed: [], added: [{ id: 'x', doc: {}, index: 5 }], changed: [] }), RangeError);
});

test('live: traversal and aggregate queries re-run only for documents a step can see', () => {
  const store = new MemoryQueryStore();
  store.put('users', 'u1', { name: 'Ann', active: true });
  store.put('posts', 'p1', { authorId: 'u1', published: true });
  const live = createLiveQuery(store, {
    collection: 'posts',
    where: eq('published', true),
    traverse: [{ from: 'authorId', to: 'users', where: eq('active', true) }],
  });
  assert.equal(live.incremental, false);
  assert.deepEqual(live.result.rows.map((r) => r.id), ['u1']);
  assert.equal(live.apply([store.put('posts', 'p2', { authorId: 'u1', published: false })], store), null); // draft
  assert.equal(live.apply([store.put('users', 'u2', { name: 'Bob', active: false })], store), null); // inactive
  assert.equal(live.stats.reruns, 0);
  assert.equal(live.stats.skipped, 2);
  const d = live.apply([store.put('posts', 'p3', { authorId: 'u3', published: true }), store.put('users', 'u3', { name: 'Cy', active: true })], store);
  assert.deepEqual(d?.added.map((a) => a.id), ['u3']);
  // A document leaving the filter is seen through its `before`.
  const d2 = live.apply([store.put('users', 'u1', { name: 'Ann', active: false })], store);
  assert.deepEqual(d2?.removed, [{ id: 'u1', index: 0 }]);

  const agg = createLiveQuery(store, { collection: 'posts', where: eq('published', true), aggregate: { values: { n: { op: 'count' } } } });
  assert.equal(agg.apply([store.put('posts', 'p4', { published: false })], store), null);
  const d3 = agg.apply([store.put('posts', 'p4', { published: true })], store);
  assert.deepEqual(d3?.changed.map((c) => c.doc), [{ n: 3 }]);
});
