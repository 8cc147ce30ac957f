/**
 * The Database's snapshot is a read view the query engine runs on (`QueryStore` shapes, no import of the engine in
 * `@hearth/db`): seeded random writes (puts, patches, deletes) go to a Database and to a plain JavaScript model;
 * the model's final documents fill `@hearth/query`'s MemoryQueryStore; every query gives the same rows on both.
 * Seed: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { Database, type Document } from '@hearth/db';
import { MemoryQueryStore, and, asc, contains, count, desc, eq, execute, exists, gt, hop, inList, lte, not, or, prefix, sum, type Doc, type Query } from '@hearth/query';
import { prng } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

test('queries over a database snapshot equal the same queries over MemoryQueryStore', async () => {
  const rand = prng(SEED);
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'q', lsm: { memtableBytes: 4096 } });
  const model = new Map<string, Map<string, Document>>([['items', new Map()], ['owners', new Map()]]);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const randomDoc = (): Document => {
    const d: Document = { n: Math.floor(rand() * 50) - 10, name: pick(['ant', 'bee', 'cat', 'cow', 'dog']) + Math.floor(rand() * 5) };
    if (rand() < 0.7) d.tags = Array.from({ length: Math.floor(rand() * 3) }, () => pick(['red', 'green', 'blue']));
    if (rand() < 0.5) d.owner = `o${Math.floor(rand() * 6)}`;
    if (rand() < 0.3) d.meta = { score: rand() < 0.5 ? null : Math.floor(rand() * 10), ok: rand() < 0.5 };
    if (rand() < 0.2) d.blob = Uint8Array.of(Math.floor(rand() * 4));
    return d;
  };
  for (let i = 0; i < 6; i++) {
    const d = { name: `owner ${i}`, level: i % 3 };
    await db.put('owners', `o${i}`, d);
    model.get('owners')!.set(`o${i}`, d);
  }
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 400; i++) {
    const id = `i${Math.floor(rand() * 120)}`;
    const m = model.get('items')!;
    const r = rand();
    if (r < 0.6) {
      const d = randomDoc();
      writes.push(db.put('items', id, d));
      m.set(id, d);
    } else if (r < 0.85) {
      const patch: Document = rand() < 0.5 ? { n: Math.floor(rand() * 50) } : { tags: null, extra: true };
      writes.push(db.patch('items', id, patch));
      const next: Document = { ...(m.get(id) ?? {}) };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      m.set(id, next);
    } else {
      writes.push(db.delete('items', id));
      m.delete(id);
    }
    if (i % 50 === 49) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);

  const mem = new MemoryQueryStore();
  for (const [c, docs] of model) for (const [id, d] of docs) mem.put(c, id, d as Doc);
  const queries: Query[] = [
    { collection: 'items' },
    { collection: 'items', where: eq('name', 'cat1') },
    { collection: 'items', where: and(gt('n', 5), lte('n', 30)), sort: [desc('n')], limit: 7 },
    { collection: 'items', where: or(contains('tags', 'red'), prefix('name', 'do')), sort: [asc('name'), asc('n')] },
    { collection: 'items', where: not(exists('owner')), sort: [asc('n')], limit: 10 },
    { collection: 'items', where: inList('_id', ['i1', 'i2', 'i3', 'i200', '']) },
    { collection: 'items', where: eq('meta.ok', true) },
    { collection: 'items', aggregate: { groupBy: ['owner'], values: { c: count(), s: sum('n') } } },
    { collection: 'items', where: exists('owner'), traverse: [hop('owner', 'owners', { where: eq('level', 1) })], sort: [asc('name')] },
    { collection: 'nothing' },
  ];
  assert.ok(execute(mem, queries[0]).rows.length > 50, 'the data set is not trivial');
  assert.ok(execute(mem, queries[3]).rows.length > 5 && execute(mem, queries[8]).rows.length > 0);
  const snap = db.snapshot();
  try {
    for (const q of queries) {
      const label = `seed ${SEED}: ${JSON.stringify(q)}`;
      assert.deepEqual(execute(snap, q), execute(mem, q), label);
    }
    // pagination through cursors gives the same pages
    let a = execute(snap, { collection: 'items', sort: [asc('n')], limit: 9 });
    let b = execute(mem, { collection: 'items', sort: [asc('n')], limit: 9 });
    let pages = 0;
    while (a.hasMore) {
      assert.deepEqual(a, b);
      a = execute(snap, { collection: 'items', sort: [asc('n')], limit: 9, after: a.cursor });
      b = execute(mem, { collection: 'items', sort: [asc('n')], limit: 9, after: b.cursor });
      pages++;
    }
    assert.deepEqual(a, b);
    assert.ok(pages > 3);
    assert.equal(snap.getDoc('items', ''), undefined, 'an id the database refuses does not exist');
    assert.deepEqual([...snap.scan('bad\u0000name')], []);
    assert.deepEqual(snap.indexes('items'), []);
  } finally {
    snap.release();
  }
  await db.close();
});
