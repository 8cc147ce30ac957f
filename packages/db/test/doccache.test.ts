import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { Database, type DbSnapshot, type Document } from '@hearth/db';
// The cache is internal; the tests reach it (and its counters) on purpose to prove reads are served from it.
import { DocCache, MISS } from '../src/_doccache.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const open = (opts: Partial<Parameters<typeof Database.open>[0]> = {}) => Database.open({ fs: new MemoryFileSystem(), name: 'db', ...opts });
const cacheOf = (db: Database): DocCache => (db as unknown as { docCache: DocCache }).docCache;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('repeated gets are served by the cache and return fresh copies the caller owns', async () => {
  const db = await open();
  const doc: Document = { title: 't', tags: ['a', { b: [1] }], bin: Uint8Array.of(1, 2), vec: Float32Array.of(0.5), nested: { x: { y: 'z' } } };
  Object.defineProperty(doc, '__proto__', { value: { p: 1 }, enumerable: true, writable: true, configurable: true });
  await db.put('c', 'a', doc);
  const first = db.get('c', 'a')!;
  assert.equal(cacheOf(db).size, 1, 'a miss caches the document while the cache has room');
  const hits = cacheOf(db).hits;
  const second = db.get('c', 'a')!;
  assert.equal(cacheOf(db).hits, hits + 1, 'the second get is a cache hit');
  assert.deepStrictEqual(second, first);
  assert.notEqual(second, first);
  // Mutate everything the caller got; the next read must not see it.
  second.title = 'changed';
  ((second.tags as unknown[])[1] as { b: number[] }).b.push(2);
  (second.tags as unknown[]).push('more');
  (second.bin as Uint8Array)[0] = 9;
  (second.vec as Float32Array)[0] = 9;
  ((second.nested as { x: { y: string } }).x).y = 'changed';
  (Object.getOwnPropertyDescriptor(second, '__proto__')!.value as { p: number }).p = 2;
  delete second.title;
  const third = db.get('c', 'a')!;
  assert.deepStrictEqual(third, first);
  assert.equal(Object.getPrototypeOf(third), Object.prototype, 'a "__proto__" field stays a field');
  assert.deepEqual(Object.keys(third), Object.keys(first));
  // A missing document is cached too (and a later put is seen).
  assert.equal(db.get('c', 'missing'), undefined);
  assert.equal(db.get('c', 'missing'), undefined);
  assert.equal(db.get('c', 'missing'), undefined);
  await db.put('c', 'missing', { now: 'here' });
  assert.deepEqual(db.get('c', 'missing'), { now: 'here' });
  await db.close();
});

test('writes, patches, deletes and transactions invalidate; snapshots older than an entry bypass it', async () => {
  const db = await open();
  await db.put('c', 'a', { v: 1 });
  assert.deepEqual(db.get('c', 'a'), { v: 1 });
  const s1 = db.snapshot();
  assert.deepEqual(s1.get('c', 'a'), { v: 1 }, 'a snapshot at the current sequence may use and fill the cache');
  await db.patch('c', 'a', { w: 2 });
  assert.deepEqual(db.get('c', 'a'), { v: 1, w: 2 });
  assert.deepEqual(db.get('c', 'a'), { v: 1, w: 2 });
  assert.deepEqual(s1.get('c', 'a'), { v: 1 }, 'an older snapshot does not see the newer cached document');
  assert.deepEqual(s1.getDoc('c', 'a'), { v: 1 });
  assert.deepEqual(db.get('c', 'a'), { v: 1, w: 2 }, 'the older snapshot did not replace the entry');
  await db.transaction((tx) => {
    assert.deepEqual(tx.get('c', 'a'), { v: 1, w: 2 });
    tx.patch('c', 'a', { v: 3 });
    assert.deepEqual(tx.get('c', 'a'), { v: 3, w: 2 });
  });
  assert.deepEqual(db.get('c', 'a'), { v: 3, w: 2 });
  await db.delete('c', 'a');
  assert.equal(db.get('c', 'a'), undefined);
  assert.deepEqual(s1.get('c', 'a'), { v: 1 });
  s1.release();
  // Index-only batches (an index build) keep entries valid; the index sees the document.
  await db.put('c', 'b', { k: 'x' });
  assert.deepEqual(db.get('c', 'b'), { k: 'x' });
  await db.createIndex('c', ['k']);
  assert.deepEqual(db.get('c', 'b'), { k: 'x' });
  await db.patch('c', 'b', { k: 'y' });
  assert.deepEqual(db.query({ collection: 'c', where: { op: 'eq', path: 'k', value: 'y' } }).rows, [{ id: 'b', doc: { k: 'y' } }]);
  await db.close();
});

test('ingest from another replica invalidates cached documents; rebuild starts from an empty cache', async () => {
  const a = await open();
  const b = await open();
  await b.put('c', 'x', { from: 'b', n: 1 });
  await a.ingest(await b.entriesSince(b.feed, 0));
  assert.deepEqual(a.get('c', 'x'), { from: 'b', n: 1 });
  assert.deepEqual(a.get('c', 'x'), { from: 'b', n: 1 });
  const head = (await b.entriesSince(b.feed, 0)).length;
  await b.patch('c', 'x', { n: 2 });
  await a.ingest(await b.entriesSince(b.feed, head));
  assert.deepEqual(a.get('c', 'x'), { from: 'b', n: 2 }, 'the ingested patch is visible');
  await a.rebuild();
  assert.equal(cacheOf(a).size, 0);
  assert.deepEqual(a.get('c', 'x'), { from: 'b', n: 2 });
  await a.close();
  await b.close();
});

test('a released snapshot, one a rebuild invalidated and one of a closed database still raise HEARTH_CLOSED', async () => {
  const closed = (e: unknown) => (e as { code?: string }).code === 'HEARTH_CLOSED';
  const db = await open();
  await db.put('c', 'a', { v: 1 });
  const s1 = db.snapshot();
  assert.deepEqual(s1.get('c', 'a'), { v: 1 });
  assert.deepEqual(s1.get('c', 'a'), { v: 1 });
  assert.equal(cacheOf(db).size, 1, 'now cached');
  s1.release();
  assert.throws(() => s1.get('c', 'a'), closed);
  assert.throws(() => s1.getDoc('c', 'a'), closed);
  const s2 = db.snapshot();
  await db.rebuild();
  assert.deepEqual(db.get('c', 'a'), { v: 1 });
  assert.deepEqual(db.get('c', 'a'), { v: 1 });
  assert.equal(cacheOf(db).size, 1, 'cached again, from the new LSM');
  assert.throws(() => s2.get('c', 'a'), closed);
  const s3 = db.snapshot();
  assert.deepEqual(s3.get('c', 'a'), { v: 1 });
  await db.close();
  assert.throws(() => s3.get('c', 'a'), closed);
  assert.throws(() => db.get('c', 'a'), closed);
});

test('docCacheBytes: 0 turns the cache off', async () => {
  const db = await open({ docCacheBytes: 0 });
  await db.put('c', 'a', { v: 1 });
  assert.deepEqual(db.get('c', 'a'), { v: 1 });
  assert.deepEqual(db.get('c', 'a'), { v: 1 });
  assert.equal(cacheOf(db).size, 0);
  assert.equal(cacheOf(db).hits, 0);
  await db.close();
  await assert.rejects(open({ docCacheBytes: -1 }), RangeError);
});

test('model test: random writes, reads, snapshots and queries with a tiny cache agree with a plain model (seeded)', async () => {
  for (const budget of [2_000, 1 << 20]) {
    const seed = SEED + budget;
    const rnd = prng(seed);
    const db = await open({ docCacheBytes: budget });
    await db.createIndex('c', ['k']);
    const model = new Map<string, Document>();
    const snaps: { snap: DbSnapshot; model: Map<string, Document> }[] = [];
    const ids = Array.from({ length: 12 }, (_, i) => `id${i}`);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    try {
      for (let step = 0; step < 600; step++) {
        const id = pick(ids);
        const r = rnd();
        const ctx = `seed ${seed}, step ${step}, id ${id}`;
        if (r < 0.15) {
          const doc: Document = { k: pick(['x', 'y', 'z']), n: step, list: [step, { s: String(step) }] };
          await db.put('c', id, doc);
          model.set(id, structuredClone(doc));
        } else if (r < 0.25) {
          const fields = { n: -step, k: pick(['x', 'y', null]) };
          await db.patch('c', id, fields);
          const next: Document = { ...(model.get(id) ?? {}) };
          next.n = -step;
          if (fields.k === null) delete next.k;
          else next.k = fields.k;
          model.set(id, next);
        } else if (r < 0.3) {
          await db.delete('c', id);
          model.delete(id);
        } else if (r < 0.35) {
          await db.transaction((tx) => {
            const cur = tx.get('c', id);
            tx.put('c', id, { ...(cur ?? {}), tx: step });
          });
          model.set(id, { ...(model.get(id) ?? {}), tx: step });
        } else if (r < 0.4) {
          snaps.push({ snap: db.snapshot(), model: new Map([...model].map(([k, v]) => [k, structuredClone(v)])) });
          if (snaps.length > 4) snaps.shift()!.snap.release();
        } else if (r < 0.55 && snaps.length > 0) {
          const s = pick(snaps);
          assert.deepStrictEqual(s.snap.get('c', id), s.model.get(id), `snapshot get, ${ctx}`);
        } else if (r < 0.6) {
          const k = pick(['x', 'y', 'z']);
          const want = [...model].filter(([, d]) => d.k === k).map(([i]) => i).sort();
          const got = db.query({ collection: 'c', where: { op: 'eq', path: 'k', value: k } }).rows;
          assert.deepEqual(got.map((x) => x.id).sort(), want, `query, ${ctx}`);
          for (const row of got) assert.deepStrictEqual(row.doc, model.get(row.id), `query row, ${ctx}`);
        } else {
          const got = db.get('c', id);
          assert.deepStrictEqual(got, model.get(id), `get, ${ctx}`);
          if (got !== undefined) {
            got.n = 'mutated by the caller';
            (got.list as unknown[] | undefined)?.push('x');
          }
        }
      }
      assert.ok(cacheOf(db).hits > 0, `the cache served some reads (seed ${seed})`);
    } finally {
      for (const s of snaps) s.snap.release();
      await db.close();
    }
  }
});

test('admission: every miss enters while there is room; once full, only a second recent miss (doorkeeper)', () => {
  const seq = 7;
  const c = new TextEncoder().encode('c');
  // Room for three entries by count; the byte budget is not the limit here.
  const cache = new DocCache(() => seq, 1 << 20, 3);
  const doc = (n: number): Document => ({ n, tags: ['t'] });
  for (let i = 0; i < 3; i++) {
    const out = cache.store('c', c, `d${i}`, doc(i), undefined, 20);
    assert.deepEqual(out, doc(i));
  }
  assert.equal(cache.size, 3, 'all three entered on their first miss');
  assert.deepEqual(cache.lookup('c', 'd0', undefined), doc(0)); // d0 is now the most recently used
  // Full: the first miss of d3 only marks it; the entries stay.
  cache.store('c', c, 'd3', doc(3), undefined, 20);
  assert.equal(cache.size, 3);
  assert.equal(cache.lookup('c', 'd3', undefined), MISS);
  // Its second miss admits it and evicts the least recently used entry (d1).
  cache.store('c', c, 'd3', doc(3), undefined, 20);
  assert.equal(cache.size, 3);
  assert.deepEqual(cache.lookup('c', 'd3', undefined), doc(3));
  assert.equal(cache.lookup('c', 'd1', undefined), MISS, 'LRU entry evicted');
  assert.deepEqual(cache.lookup('c', 'd0', undefined), doc(0));
  // Byte budget: an entry larger than the whole budget never enters; a full byte budget uses the doorkeeper too.
  const small = new DocCache(() => seq, 1000, 100);
  small.store('c', c, 'big', doc(0), undefined, 600);
  assert.equal(small.size, 0, 'larger than the budget');
  small.store('c', c, 'a', doc(1), undefined, 300);
  assert.equal(small.size, 1);
  small.store('c', c, 'b', doc(2), undefined, 300);
  assert.equal(small.size, 1, 'no room by bytes: first miss only marks');
  small.store('c', c, 'b', doc(2), undefined, 300);
  assert.equal(small.size, 1, 'second miss: admitted, the older entry evicted');
  assert.deepEqual(small.lookup('c', 'b', undefined), doc(2));
  assert.equal(small.lookup('c', 'a', undefined), MISS);
  // Reads at an older sequence never fill it, room or not.
  const other = new DocCache(() => seq, 1 << 20, 10);
  other.store('c', c, 'x', doc(0), seq - 1, 20);
  assert.equal(other.size, 0);
});

test('every cached entry is found after heavy churn (the presence counts never hide an entry)', () => {
  const c = new TextEncoder().encode('c');
  const cache = new DocCache(() => 1, 1 << 30, 3000);
  const r = prng(SEED);
  for (let i = 0; i < 40_000; i++) {
    const id = `k${Math.floor(r() * 20_000)}`;
    if (cache.lookup('c', id, undefined) === MISS) cache.store('c', c, id, { i }, undefined, 10);
    if (i % 1000 === 0) cache.invalidateKey(Uint8Array.of(0x01, ...c, 0x00, ...new TextEncoder().encode(`k${Math.floor(r() * 20_000)}`)));
  }
  assert.ok(cache.size > 2000, `${cache.size} entries`);
  const before = cache.hits;
  for (let k = 0; k < 20_000; k++) cache.lookup('c', `k${k}`, undefined);
  assert.equal(cache.hits - before, cache.size, 'each cached entry answered its lookup');
  cache.clear();
  assert.equal(cache.lookup('c', 'k1', undefined), MISS);
});
