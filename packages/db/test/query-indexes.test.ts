// Secondary indexes of the Database: the index catalog file V1 (fixture, round trip, damage refused), the index
// API (createIndex/dropIndex/indexes, errors), the planner using an index once complete, adaptive indexes (built
// after repeated scanning queries, dropped when unused, off when disabled), a key-version mismatch forcing a
// rebuild, and rebuild/close while an online build is in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CorruptionError, MemoryFileSystem } from '@hearth/io';
import { openLsm } from '@hearth/lsm';
import { Database, decodeIndexCatalogV1, encodeIndexCatalogV1, type IndexCatalog, type IndexRecord } from '@hearth/db';
import { QueryError, asc, contains, eq, gte, type Query } from '@hearth/query';
import { FIXTURE_CATALOG } from './fixtures/make-index-catalog-fixture.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

test('fixture index-catalog-v1.bin decodes to the documented catalog and re-encodes byte for byte', () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/index-catalog-v1.bin', import.meta.url)));
  assert.deepEqual(decodeIndexCatalogV1(bytes), FIXTURE_CATALOG);
  assert.deepEqual(encodeIndexCatalogV1(FIXTURE_CATALOG), bytes);
  assert.deepEqual([...bytes.subarray(0, 13)], [0x48, 0x52, 0x54, 0x48, 0x49, 0x44, 0x58, 0x31, 0x01, 0x00, 0x00, 0x01, 0x64]);
  // Every single-byte change is refused (checksum, or header checks).
  for (let i = 0; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i] ^= 0x20;
    assert.throws(() => decodeIndexCatalogV1(bad), CorruptionError, `byte ${i}`);
  }
  assert.throws(() => decodeIndexCatalogV1(bytes.subarray(0, bytes.length - 1)), CorruptionError);
});

test('index catalog V1: encode/decode round trip (property)', () => {
  const seg = fc.string({ minLength: 1, maxLength: 6 });
  const rec = fc.record({
    collection: fc.string({ minLength: 1, maxLength: 8 }),
    fields: fc.array(fc.array(seg, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    multi: fc.boolean(),
    name: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    origin: fc.constantFrom('user' as const, 'adaptive' as const),
    reason: fc.string(),
    createdAt: fc.integer({ min: 0, max: 2 ** 45 }),
  });
  fc.assert(
    fc.property(fc.array(rec, { maxLength: 6 }), fc.integer({ min: 0, max: 1000 }), (rs, gap) => {
      const names = new Set<string>();
      const indexes: IndexRecord[] = rs.map((r, i) => {
        const multiEntry = r.multi && r.fields.length === 1;
        const name = r.name !== undefined && !names.has(r.name) ? (names.add(r.name), r.name) : undefined;
        return { number: i + 1, collection: r.collection, fields: r.fields, multiEntry, ...(name !== undefined ? { name } : {}), origin: r.origin, reason: r.reason, createdAt: r.createdAt };
      });
      const cat: IndexCatalog = { next: indexes.length + 1 + gap, indexes };
      assert.deepEqual(decodeIndexCatalogV1(encodeIndexCatalogV1(cat)), cat);
    }),
    { seed: SEED, numRuns: 200 },
  );
});

async function filled(n: number, options: Parameters<typeof Database.open>[0] extends infer O ? Partial<O> : never = {}): Promise<Database> {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'x', ...options } as Parameters<typeof Database.open>[0]);
  await db.transaction((tx) => {
    for (let i = 0; i < n; i++) tx.put('items', `i${String(i).padStart(5, '0')}`, { k: i % 50, n: i, tags: [`t${i % 7}`, `u${i % 3}`], name: `item ${i}` });
  });
  return db;
}

test('createIndex / dropIndex / indexes: the planner uses an index once complete; errors are typed', async () => {
  const db = await filled(3000, { adaptiveIndexes: false });
  try {
    const q: Query = { collection: 'items', where: eq('k', 7), sort: [asc('n')], limit: 5 };
    assert.equal(db.explain(q).access.type, 'scan');
    const info = await db.createIndex('items', ['k', 'n'], { name: 'by-k' });
    assert.equal(info.id, 'items|[["k"],["n"]]');
    const e = db.explain(q);
    assert.equal(e.access.type, 'index');
    assert.ok(e.docsScanned <= 6, `the index serves filter, sort and limit (${e.docsScanned} read)`);
    assert.deepEqual(db.query(q).rows.map((r) => r.doc.n), [7, 57, 107, 157, 207]);
    const multi = await db.createIndex('items', ['tags'], { multiEntry: true });
    assert.equal(db.explain({ collection: 'items', where: contains('tags', 't3') }).access.type, 'index');
    assert.equal(db.query({ collection: 'items', where: contains('tags', 't3') }).rows.length, Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 7 === 3).length);
    // equal definition: the same index
    assert.deepEqual(await db.createIndex('items', ['k', 'n']), info);
    const list = db.indexes('items');
    assert.deepEqual(list.map((x) => [x.id, x.name, x.origin, x.state, x.reason]), [
      [info.id, 'by-k', 'user', 'ready', 'createIndex'],
      [multi.id, undefined, 'user', 'ready', 'createIndex'],
    ]);
    assert.ok(list[0].uses >= 2 && list[0].lastUsedAt !== undefined && list[0].number === 1 && list[1].number === 2);
    await assert.rejects(db.createIndex('items', ['name'], { name: 'by-k' }), (err: unknown) => err instanceof QueryError && err.code === 'HEARTH_INVALID_QUERY');
    await assert.rejects(db.createIndex('items', []), (err: unknown) => err instanceof QueryError && err.code === 'HEARTH_INVALID_QUERY');
    await assert.rejects(db.createIndex('items', ['a', 'b'], { multiEntry: true }), (err: unknown) => err instanceof QueryError);
    await assert.rejects(db.createIndex('bad\u0000name', ['a']), (err: unknown) => (err as { code?: string }).code === 'HEARTH_INVALID_KEY');
    await assert.rejects(db.dropIndex('nope'), (err: unknown) => err instanceof QueryError && err.code === 'HEARTH_INVALID_QUERY');
    await db.dropIndex('by-k');
    assert.equal(db.explain(q).access.type, 'scan');
    assert.deepEqual(db.indexes().map((x) => x.id), [multi.id]);
    // a snapshot taken before the drop keeps its view of the indexes
    const snap = db.snapshot();
    await db.dropIndex(multi.id);
    assert.deepEqual(snap.indexes('items').map((x) => x.id), [multi.id]);
    snap.release();
    assert.deepEqual(db.indexes(), []);
  } finally {
    await db.close();
  }
});

test('adaptive indexes: built after repeated scanning queries, used afterwards, dropped when unused; off when disabled', async () => {
  let now = 1_763_700_000_000;
  const db = await filled(2000, { wallClock: () => now, adaptiveIndexes: { minExecutions: 3, minScanned: 500, minRatio: 10, unusedMs: 60_000 } });
  const off = await filled(2000, { adaptiveIndexes: false });
  try {
    const q: Query = { collection: 'items', where: and2(eq('k', 3), gte('n', 100)) };
    for (let i = 0; i < 3; i++) db.query(q);
    await db.indexesSettled();
    const [ix] = db.indexes('items');
    assert.ok(ix !== undefined, 'an adaptive index was built');
    assert.equal(ix.origin, 'adaptive');
    assert.match(ix.reason, /ran 3 times/);
    assert.equal(ix.createdAt, now);
    const e = db.explain(q);
    assert.equal(e.access.type, 'index');
    assert.ok(e.docsScanned < 100);
    assert.equal(db.indexes('items')[0].uses, 1);
    // Unused for longer than unusedMs: the policy's periodic review drops it.
    now += 120_000;
    for (let i = 0; i < 64; i++) db.query({ collection: 'items', where: eq('_id', 'i00001') });
    await db.indexesSettled();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(db.indexes('items'), [], 'the unused adaptive index was dropped');
    for (let i = 0; i < 10; i++) off.query(q);
    await off.indexesSettled();
    assert.deepEqual(off.indexes(), [], 'no adaptive index when disabled');
  } finally {
    await db.close();
    await off.close();
  }
});

function and2(a: ReturnType<typeof eq>, b: ReturnType<typeof gte>) {
  return { op: 'and' as const, filters: [a, b] };
}

test('a completion record of another key version makes open rebuild the index', async () => {
  const fs = new MemoryFileSystem();
  let db = await Database.open({ fs, name: 'v', adaptiveIndexes: false });
  for (let i = 0; i < 50; i++) await db.put('c', `d${i}`, { k: i % 5 });
  const info = await db.createIndex('c', ['k']);
  const want = db.query({ collection: 'c', where: eq('k', 2) }).rows.map((r) => r.id);
  await db.close();
  // Rewrite the completion record of index 1 with version 99.
  const lsm = await openLsm({ fs, dir: 'v/lsm' });
  const key = new Uint8Array([0x00, ...new TextEncoder().encode('index/'), 0, 0, 0, 1]);
  assert.deepEqual(lsm.get(key), Uint8Array.of(1));
  await lsm.batch([{ type: 'put', key, value: Uint8Array.of(99) }]);
  await lsm.flush();
  await lsm.close();
  db = await Database.open({ fs, name: 'v', adaptiveIndexes: false });
  try {
    assert.equal(db.indexes()[0].state, 'building', 'not used while rebuilt');
    await db.indexesSettled();
    assert.equal(db.indexes()[0].state, 'ready');
    assert.equal(db.explain({ collection: 'c', where: eq('k', 2) }).access.type, 'index');
    assert.deepEqual(db.query({ collection: 'c', where: eq('k', 2) }).rows.map((r) => r.id), want);
    assert.equal(db.indexes()[0].id, info.id);
  } finally {
    await db.close();
  }
});

test('rebuild and close while an online build is in flight', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'r', adaptiveIndexes: false });
  await db.transaction((tx) => {
    for (let i = 0; i < 5000; i++) tx.put('c', `d${i}`, { k: i % 10 });
  });
  const building = db.createIndex('c', ['k']);
  await new Promise((r) => setTimeout(r, 1));
  await db.rebuild();
  const info = await building; // complete through the rebuild's replay
  assert.equal(db.indexes()[0].state, 'ready');
  assert.equal(db.query({ collection: 'c', where: eq('k', 3) }).rows.length, 500);
  assert.equal(db.explain({ collection: 'c', where: eq('k', 3) }).access.type, 'index');
  const second = db.createIndex('c', ['k', '_id']).then(() => 'done', (e: { code?: string }) => String(e.code));
  await new Promise((r) => setTimeout(r, 1));
  await db.close();
  assert.ok(['done', 'HEARTH_CLOSED'].includes(await second));
  const again = await Database.open({ fs, name: 'r', adaptiveIndexes: false });
  try {
    await again.indexesSettled();
    assert.deepEqual(again.indexes().map((x) => [x.id, x.state]), [[info.id, 'ready'], ['c|[["k"],["_id"]]', 'ready']]);
    assert.equal(again.query({ collection: 'c', where: eq('k', 3), sort: [asc('_id')] }).rows.length, 500);
  } finally {
    await again.close();
  }
});
