/**
 * Live queries on the Database: seeded random queries (filters, sorts, limits, projections, aggregates,
 * traversals) stay subscribed while random writes are committed locally and ingested from a second replica;
 * applying every diff received, in order, to the first result gives exactly the result of running the query again
 * (after every write batch). Also: the async-iterator form, unsubscribe, and that ingested changes trigger
 * callbacks like local ones. Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { Database, type Document, type LiveUpdate } from '@hearth/db';
import { applyDiff, asc, eq, gte, hop, type Diff, type Query, type Row } from '@hearth/query';
import { chance, doc, int, pick, query } from '../packages/query/test/_gen.js';
import { allEntries, prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const C = 'c';

test('live queries: accumulated diffs equal re-run results after random local and ingested writes', async () => {
  const r = prng(SEED);
  const a = await Database.open({ fs: new MemoryFileSystem(), name: 'a', lsm: { memtableBytes: 16 * 1024 }, adaptiveIndexes: false });
  const b = await Database.open({ fs: new MemoryFileSystem(), name: 'b' });
  await a.createIndex(C, ['a', 's']);
  await a.createIndex(C, ['tags'], { multiEntry: true });
  const write = (db: Database): Promise<void> => {
    const id = `d${int(r, 0, 40)}`;
    const k = r();
    if (k < 0.6) return db.put(C, id, doc(r) as Document);
    if (k < 0.85) return db.patch(C, id, { a: chance(r, 0.3) ? null : int(r, 0, 5), s: pick(r, ['a', 'b', 'ab']) });
    return db.delete(C, id);
  };
  for (let i = 0; i < 60; i++) await write(a);
  const subs: { q: Query; rows: Row[]; diffs: number; stop: () => void }[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      let q = query(r, C);
      if (q.aggregate === undefined && chance(r, 0.15)) q = { ...q, traverse: [hop('tags', C, { toField: 'a' })] };
      const s = { q, rows: [] as Row[], diffs: 0, stop: () => undefined as void };
      let first = true;
      const h = a.live(q, (result, diff: Diff | null) => {
        if (first) {
          assert.equal(diff, null, 'the first callback has no diff');
          s.rows = result.rows;
          first = false;
          return;
        }
        assert.ok(diff !== null, 'later callbacks carry a diff');
        s.rows = applyDiff(s.rows, diff);
        s.diffs++;
        assert.deepEqual(s.rows.map((x) => x.id), result.rows.map((x) => x.id), 'the diff turns the previous rows into the new result');
      });
      assert.ok(!first, 'the first callback runs at once');
      s.stop = () => h.unsubscribe();
      subs.push(s);
    }
    for (let round = 0; round < 8; round++) {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 25; i++) pending.push(write(a));
      for (let i = 0; i < 15; i++) pending.push(write(b));
      await Promise.all(pending);
      assert.ok((await a.ingest(await allEntries(b))).ok);
      for (const s of subs) {
        const fresh = a.query(s.q);
        assert.deepEqual(s.rows, fresh.rows, `seed ${SEED} round ${round}: accumulated diffs = re-run of ${JSON.stringify(s.q)}`);
      }
    }
    assert.ok(subs.filter((s) => s.diffs > 0).length > subs.length / 2, 'most live queries received diffs');
  } finally {
    for (const s of subs) s.stop();
    await a.close();
    await b.close();
  }
});

test('live queries: ingested changes trigger them; async iterator; unsubscribe', async () => {
  const a = await Database.open({ fs: new MemoryFileSystem(), name: 'a', adaptiveIndexes: false });
  const b = await Database.open({ fs: new MemoryFileSystem(), name: 'b' });
  try {
    await a.createIndex('todos', ['done', 'at']);
    const q: Query = { collection: 'todos', where: eq('done', false), sort: [asc('at')], limit: 3 };
    const seen: { ids: string[]; diff: Diff | null }[] = [];
    const h = a.live(q, (res, diff) => seen.push({ ids: res.rows.map((x) => x.id), diff }));
    const it = a.liveIterator({ collection: 'todos', where: gte('at', 2) });
    const first = await it.next();
    assert.deepEqual(first.value, { result: { rows: [], hasMore: false }, diff: null });

    await b.put('todos', 't1', { done: false, at: 5 });
    await b.put('todos', 't2', { done: false, at: 1 });
    await b.put('todos', 't3', { done: true, at: 0 });
    await a.ingest(await allEntries(b)); // remote writes: three entries, three change events
    assert.deepEqual(seen.map((s) => s.ids), [[], ['t1'], ['t2', 't1']], 'ingested entries trigger the live query; the unaffecting one does not');
    assert.deepEqual(seen[2].diff, { removed: [], added: [{ id: 't2', doc: { at: 1, done: false }, index: 0 }], changed: [] });
    const u = (await it.next()) as IteratorResult<LiveUpdate, undefined>;
    assert.deepEqual(u.value?.result.rows.map((x: { id: string }) => x.id), ['t1']);
    assert.deepEqual(u.value?.diff?.added.map((x: { index: number }) => x.index), [0]);

    await a.patch('todos', 't2', { at: 9 }); // local: moves t2 after t1
    assert.deepEqual(seen.at(-1)!.ids, ['t1', 't2']);
    assert.deepEqual(seen.at(-1)!.diff!.changed.map((c) => [c.id, c.from, c.to]), [['t2', 0, 1]]);
    const v = (await it.next()) as IteratorResult<LiveUpdate, undefined>;
    assert.deepEqual(v.value?.result.rows.map((x: { id: string }) => x.id), ['t1', 't2']);

    h.unsubscribe();
    h.unsubscribe();
    await it.return!();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    const n = seen.length;
    await a.put('todos', 't4', { done: false, at: 0 });
    assert.equal(seen.length, n, 'no callback after unsubscribe');
  } finally {
    await a.close();
    await b.close();
  }
});
