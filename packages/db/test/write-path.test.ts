// The local write path's shortcuts (database.ts `draft`/`enqueue`, `_encode.ts` packing, `ops.ts` encoding):
// each one must give the same documents, ops and stamps as the plain path it replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HearthError, MemoryFileSystem } from '@hearth/io';
import { openLsm } from '@hearth/lsm';
import { decodeOpsV1, Database, type Document, type Op } from '@hearth/db';
// Internal: the value encoder's packing API, reached by path on purpose (the Database's drafts use it).
import { encodeValue, packEnd, packOffset, packStart, packValue } from '../src/_encode.js';
import { encodeFieldValueV1, type DocValue } from '../src/values.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

async function ownOps(db: Database, since = 0): Promise<Op[][]> {
  return (await db.entriesSince(db.feed, since)).map((e) => decodeOpsV1(e.ops));
}

test('a transaction takes consecutive stamps; later writes, entries and a reopened database stamp after them', async () => {
  const fs = new MemoryFileSystem();
  let wall = 1_763_700_000_000;
  const wallClock = () => wall;
  let db = await Database.open({ fs, name: 'db', wallClock });
  await db.transaction((tx) => {
    for (let i = 0; i < 100; i++) tx.put('c', `d${i}`, { i });
  });
  await db.put('c', 'single', { i: -1 });
  await db.transaction((tx) => {
    tx.patch('c', 'd1', { j: 1 });
    tx.delete('c', 'd2');
  });
  wall += 5; // the wall clock moves: the next stamps follow it
  await db.transaction((tx) => {
    tx.put('c', 'late', { i: 1 });
    tx.put('c', 'later', { i: 2 });
  });
  await db.close();
  db = await Database.open({ fs, name: 'db', wallClock }); // the clock restarts after the newest entry
  await db.transaction((tx) => {
    tx.put('c', 'after-reopen', { i: 3 });
    tx.put('c', 'after-reopen-2', { i: 4 });
  });
  const entries = await ownOps(db);
  assert.equal(entries.length, 5);
  const all = entries.flat().map((o) => o.hlc);
  for (let i = 1; i < all.length; i++) assert.ok(all[i] > all[i - 1], `stamp ${i} ascends`);
  for (const ops of entries) for (let i = 1; i < ops.length; i++) assert.equal(ops[i].hlc, ops[i - 1].hlc + 1n, 'consecutive within an entry');
  assert.equal(entries[0][0].hlc, BigInt(1_763_700_000_000) << 16n, 'the first stamp is the wall clock, counter 0');
  assert.equal(entries[3][0].hlc, BigInt(wall) << 16n, 'a transaction after the wall clock moved starts at it');
  assert.deepEqual(db.get('c', 'd99'), { i: 99 });
  assert.deepEqual(db.get('c', 'd1'), { i: 1, j: 1 });
  assert.equal(db.get('c', 'd2'), undefined);
  await db.close();
});

test('documents of changing shapes in one transaction: reordered, undefined and null fields, patches (property)', async () => {
  const names = ['a', 'b', 'c', 'é', 'z'];
  const docArb = fc.dictionary(fc.constantFrom(...names), fc.option(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(undefined)), { nil: null }), { maxKeys: 5 });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ kind: fc.constantFrom('put', 'patch'), id: fc.constantFrom('x', 'y', 'z'), doc: docArb }), { minLength: 1, maxLength: 12 }), async (writes) => {
      const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db' });
      const model = new Map<string, Document>();
      await db.transaction((tx) => {
        for (const w of writes) {
          const doc = w.doc as Document;
          const defined = Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined));
          if (w.kind === 'put' || !model.has(w.id)) {
            // (a patch creates a missing document only with some field: out of this test's scope)
            tx.put('c', w.id, doc);
            model.set(w.id, defined);
          } else {
            tx.patch('c', w.id, doc);
            const next = { ...(model.get(w.id) ?? {}) };
            for (const [k, v] of Object.entries(defined)) {
              if (v === null) delete next[k];
              else next[k] = v;
            }
            model.set(w.id, next);
          }
          assert.deepEqual(sorted(tx.get('c', w.id)!), sorted(model.get(w.id)!), 'tx.get sees the write');
        }
      });
      for (const [id, doc] of model) assert.deepEqual(sorted(db.get('c', id)!), sorted(doc));
      // the ops carry each write's own field names, in its own order, without the undefined ones
      const [ops] = await ownOps(db);
      assert.equal(ops.length, writes.length);
      const kinds = new Set<string>();
      const kindOf = writes.map((w) => {
        const k = w.kind === 'put' || !kinds.has(w.id) ? 'put' : 'patch';
        kinds.add(w.id);
        return k;
      });
      ops.forEach((op: Op, i) => {
        assert.equal(op.kind, kindOf[i]);
        const expected = Object.entries(writes[i].doc).filter(([, v]) => v !== undefined);
        assert.deepEqual([...op.fields.keys()], expected.map(([k]) => k));
        for (const [k, v] of expected) {
          const got: Uint8Array | null | undefined = op.fields.get(k);
          if (v === null && op.kind === 'patch') assert.equal(got, null);
          else assert.equal(hex(got!), hex(encodeFieldValueV1(v as DocValue)));
        }
      });
      await db.close();
    }),
    { seed: SEED, numRuns: 60 },
  );
});

function sorted(d: Document): Document {
  return Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

test('field names are still checked when a document follows one with other names', async () => {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db' });
  await db.put('c', 'a', { x: 1, y: 2 });
  await assert.rejects(db.put('c', 'b', { x: 1, _id: 2 }), code('HEARTH_UNSUPPORTED_VALUE'));
  await assert.rejects(db.put('c', 'b', { x: 1, ['\uD800']: 2 }), code('HEARTH_UNSUPPORTED_VALUE'));
  await assert.rejects(
    db.transaction((tx) => {
      tx.put('c', 'p', { x: 1, y: 2 });
      tx.put('c', 'q', { x: 1, y: 2 });
      tx.put('c', 'r', { _id: 1, y: 2 });
    }),
    code('HEARTH_UNSUPPORTED_VALUE'),
  );
  assert.equal(db.get('c', 'p'), undefined, 'nothing of the refused transaction');
  await db.put('c', 'b', { x: 3, y: 4 });
  assert.deepEqual(db.get('c', 'b'), { x: 3, y: 4 });
  await db.close();
});

test('packed documents stay intact when the encoder moves to a new buffer mid-document', () => {
  // 80 values of 1..20,000 units (some non-ASCII), four per document: the 64 KiB buffer fills mid-document
  const lengths = fc.sample(fc.integer({ min: 1, max: 20_000 }), { seed: SEED, numRuns: 80 });
  const rnd = lengths.map((n, i) => (i % 3 === 0 ? 'é' : 'a').repeat(n));
  const packs: { buf: Uint8Array; spans: number[]; values: string[] }[] = [];
  for (let d = 0; d < rnd.length; d += 4) {
    const values = rnd.slice(d, d + 4);
    packStart();
    const spans: number[] = [];
    for (const v of values) {
      const at = packValue(v, 'f');
      spans.push(at, packOffset() - at);
    }
    packs.push({ buf: packEnd(spans, values.length), spans, values });
    encodeValue({ noise: 'n'.repeat(d * 50) }, 'g'); // results between packs take space too
  }
  assert.ok(new Set(packs.map((p) => p.buf.buffer)).size > 2, 'the packs span several buffers');
  for (const p of packs) {
    p.values.forEach((v, i) => {
      const bytes = p.buf.subarray(p.spans[2 * i], p.spans[2 * i] + p.spans[2 * i + 1]);
      assert.equal(hex(bytes), hex(encodeFieldValueV1(v)));
    });
  }
});

test('an abandoned pack (a value refused mid-document) leaves earlier results intact', () => {
  const first = encodeValue('kept', 'f');
  packStart();
  packValue('x'.repeat(100), 'a');
  assert.throws(() => packValue([1, undefined] as unknown as DocValue, 'b'), /value at b\[1\] is undefined/);
  packStart();
  packValue('y'.repeat(100), 'a');
  packEnd([0, 102], 1);
  assert.equal(hex(first), hex(encodeFieldValueV1('kept')));
});

test('a batch into an empty collection skips per-document lookups; a collection with documents never does', async () => {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db' });
  await db.put('full', 'zzz', { a: 1 });
  await db.put('full', 'aaa', { a: 1 });
  // 100 new ids first (past the point where the collection is checked), then writes to the stored documents
  await db.transaction((tx) => {
    for (let i = 0; i < 100; i++) tx.put('full', `m${String(i).padStart(3, '0')}`, { i });
    tx.patch('full', 'zzz', { b: 2 });
    tx.patch('full', 'aaa', { b: 2 });
    for (let i = 0; i < 100; i++) tx.put('empty', `e${i}`, { i });
    tx.patch('empty', 'e5', { j: 5 }); // an id of this batch, seen again
    tx.patch('empty', 'new', { k: 1 });
  });
  assert.deepEqual(db.get('full', 'zzz'), { a: 1, b: 2 }, 'the stored state was read and merged');
  assert.deepEqual(db.get('full', 'aaa'), { a: 1, b: 2 });
  assert.deepEqual(db.get('full', 'm099'), { i: 99 });
  assert.deepEqual(db.get('empty', 'e5'), { i: 5, j: 5 });
  assert.deepEqual(db.get('empty', 'new'), { k: 1 });
  // the collection is no longer empty: a second batch merges with what the first stored
  await db.transaction((tx) => {
    for (let i = 0; i < 100; i++) tx.put('empty', `f${i}`, { i });
    tx.patch('empty', 'e7', { j: 7 });
  });
  assert.deepEqual(db.get('empty', 'e7'), { i: 7, j: 7 });
  // interleaved collections (the 64th op ahead is another's): each is checked after its first 64 misses instead
  await db.put('x', 'x-keep', { a: 1 });
  await db.transaction((tx) => {
    for (let i = 0; i < 100; i++) {
      tx.put('x', `x${i}`, { i });
      tx.put('y', `y${i}`, { i });
      tx.put('w', `w${i}`, { i });
    }
    tx.patch('x', 'x-keep', { b: 2 });
    tx.patch('y', 'y3', { b: 3 });
  });
  assert.deepEqual(db.get('x', 'x-keep'), { a: 1, b: 2 });
  assert.deepEqual(db.get('y', 'y3'), { i: 3, b: 3 });
  // a deleted document is stored (a tombstone state): a later patch still sees its delete
  await db.delete('gone', 'x');
  await db.transaction((tx) => {
    for (let i = 0; i < 100; i++) tx.put('gone', `g${i}`, { i });
    tx.patch('gone', 'x', { back: true });
  });
  assert.deepEqual(db.get('gone', 'x'), { back: true });
  await db.close();
  // replay (reopen) applies the same entries to the same states
  const fs = new MemoryFileSystem();
  const a = await Database.open({ fs, name: 'db' });
  await a.put('c', 'keep', { a: 1 });
  await a.transaction((tx) => {
    for (let i = 0; i < 100; i++) tx.put('c', `n${i}`, { i });
    tx.patch('c', 'keep', { b: 1 });
  });
  await a.rebuild();
  assert.deepEqual(a.get('c', 'keep'), { a: 1, b: 1 });
  assert.deepEqual(a.get('c', 'n42'), { i: 42 });
  await a.close();
});

test('a commit whose new states cannot be computed is refused before anything is written; later commits go on', async () => {
  const fs = new MemoryFileSystem();
  let db = await Database.open({ fs, name: 'db' });
  await db.put('c', 'bad', { a: 1 });
  await db.put('c', 'good', { a: 1 });
  await db.close();
  // Corrupt the stored state of c/bad behind the Database's back (same applied position: nothing is replayed).
  const lsm = await openLsm({ fs, dir: 'db/lsm' });
  const key = Uint8Array.of(0x01, ...new TextEncoder().encode('c'), 0x00, ...new TextEncoder().encode('bad'));
  assert.ok(lsm.get(key) !== undefined);
  await lsm.put(key, Uint8Array.of(0x7f, 0x7f));
  await lsm.flush();
  await lsm.close();
  db = await Database.open({ fs, name: 'db' });
  const head = db.stats().ownHead;
  await assert.rejects(db.put('c', 'bad', { a: 2 }), (e: unknown) => e instanceof HearthError && e.code === 'HEARTH_CORRUPTION');
  await assert.rejects(
    db.transaction((tx) => {
      for (let i = 0; i < 100; i++) tx.put('c', `n${i}`, { i });
      tx.patch('c', 'bad', { b: 1 });
    }),
    (e: unknown) => e instanceof HearthError && e.code === 'HEARTH_CORRUPTION',
  );
  assert.equal(db.stats().ownHead, head, 'no entry was written');
  assert.equal(db.get('c', 'n0'), undefined);
  await db.put('c', 'good', { a: 3 }); // the database still takes writes
  assert.deepEqual(db.get('c', 'good'), { a: 3 });
  assert.equal(db.stats().ownHead, head + 1);
  await db.close();
});
