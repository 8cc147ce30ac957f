// Persistence (docs/formats/hnsw.md): save then open gives the same index and the same answers, without a rebuild;
// every kind of damage is detected as a CorruptionError; the committed V1 fixture still opens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CorruptionError, MemoryFileSystem } from '@hearth/io';
import {
  AutoIndex, FlatIndex, HnswIndex, decodeIndexV1, encodeIndexV1, loadKernels, openIndex, type VectorId,
} from '@hearth/vector';
import { HEADER_BYTES, SECTION_HEADER_BYTES } from '../src/format.js';
import { clustered } from './_data.js';
import { makeFixtureIndex, makeInt8FixtureIndex } from './_fixture.js';

const kernels = await loadKernels('wasm');
const DIM = 24;
const data = clustered(31, 2000, DIM, 20);
const queries = clustered(32, 30, DIM, 20);

function hnsw(quant: boolean): HnswIndex {
  const h = new HnswIndex({ dim: DIM, metric: 'cosine', M: 8, efConstruction: 64, kernels, quantization: quant ? { type: 'int8', trainSize: 500 } : undefined });
  data.forEach((v, i) => h.add(i % 3 === 0 ? `doc-${i}` : i, v));
  for (let i = 0; i < 2000; i += 7) h.remove(i % 3 === 0 ? `doc-${i}` : i);
  return h;
}

for (const quant of [false, true]) {
  test(`hnsw save/open: same state and identical results (int8 ${quant ? 'on' : 'off'})`, async () => {
    const fs = new MemoryFileSystem();
    const h = hnsw(quant);
    await h.save(fs, 'vec/field.hnsw');
    assert.deepEqual(await fs.list('vec'), ['field.hnsw'], 'no temporary file left behind');
    const o = await openIndex(fs, 'vec/field.hnsw', { kernels });
    assert.ok(o instanceof HnswIndex);
    assert.equal(o.size, h.size);
    assert.equal(o.quantized, quant);
    assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: o.exportState() }), encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() }));
    for (const q of queries) assert.deepEqual(o.search(q, { k: 10, ef: 50 }), h.search(q, { k: 10, ef: 50 }));
    // The reloaded index continues exactly as the original would (the level generator's state is saved).
    for (const x of [h, o]) for (let i = 0; i < 50; i++) x.add(`new-${i}`, queries[i % queries.length].map((v) => v + i));
    assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: o.exportState() }), encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() }));
  });
}

test('flat and auto save/open', async () => {
  const fs = new MemoryFileSystem();
  const f = new FlatIndex({ dim: DIM, metric: 'l2', kernels, quantization: { type: 'int8', trainSize: 100 } });
  data.slice(0, 300).forEach((v, i) => f.add(`k${i}`, v));
  await f.save(fs, 'flat.idx');
  const o = await openIndex(fs, 'flat.idx', { kernels });
  assert.ok(o instanceof FlatIndex);
  assert.equal(o.quantized, true);
  for (const q of queries) assert.deepEqual(o.search(q, { k: 5 }), f.search(q, { k: 5 }));
  const a = new AutoIndex({ dim: DIM, kernels, threshold: 100 });
  data.slice(0, 150).forEach((v, i) => a.add(i, v));
  assert.equal(a.kind, 'hnsw');
  await a.save(fs, 'auto.idx');
  const b = await AutoIndex.open(fs, 'auto.idx', { dim: DIM, kernels, threshold: 100 });
  assert.equal(b.kind, 'hnsw');
  for (const q of queries) assert.deepEqual(b.search(q, { k: 5 }), a.search(q, { k: 5 }));
  await assert.rejects(AutoIndex.open(fs, 'auto.idx', { dim: 3, kernels }), RangeError);
  await assert.rejects(openIndex(fs, 'missing.idx', { kernels }), { code: 'HEARTH_NOT_FOUND' });
});

test('corruption: any flipped byte, truncation or extension is a CorruptionError', async () => {
  const h = new HnswIndex({ dim: 4, metric: 'l2', M: 4, kernels, quantization: { type: 'int8', trainSize: 10 } });
  clustered(5, 60, 4, 3).forEach((v, i) => h.add(i, v));
  h.remove(3);
  const good = encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() });
  decodeIndexV1(good);
  // Every single byte of the file is covered by a checksum or a check.
  for (let i = 0; i < good.length; i++) {
    const bad = good.slice();
    bad[i] ^= 0x10;
    assert.throws(() => decodeIndexV1(bad, 'x.hnsw'), (e: unknown) => e instanceof CorruptionError && e.code === 'HEARTH_CORRUPTION' && e.path === 'x.hnsw', `byte ${i} flipped`);
  }
  for (const len of [0, 7, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + SECTION_HEADER_BYTES, good.length - 1]) {
    assert.throws(() => decodeIndexV1(good.subarray(0, len)), CorruptionError, `truncated to ${len}`);
  }
  const longer = new Uint8Array(good.length + 8);
  longer.set(good);
  assert.throws(() => decodeIndexV1(longer), CorruptionError);
  // Through the file system: a damaged file fails open with the path, so the caller can rebuild.
  const fs = new MemoryFileSystem();
  await h.save(fs, 'a.hnsw');
  const fh = await fs.open('a.hnsw');
  fh.write(200, new Uint8Array([0xff, 0xff]));
  await fh.close();
  await assert.rejects(openIndex(fs, 'a.hnsw', { kernels }), (e: unknown) => e instanceof CorruptionError && /rebuild/.test((e as Error).message));
});

test('corruption: structurally invalid graphs with valid checksums are refused', () => {
  const h = new HnswIndex({ dim: 4, metric: 'l2', M: 4, kernels });
  clustered(6, 80, 4, 3).forEach((v, i) => h.add(i, v));
  const cases: [string, (s: ReturnType<HnswIndex['exportState']>) => void][] = [
    ['link out of range', (s) => { s.links0[1] = 80; s.links0[0] = Math.max(1, s.links0[0]); }],
    ['self link', (s) => { s.links0[0] = 1; s.links0[1] = 0; }],
    ['duplicate link', (s) => { s.links0[0] = 2; s.links0[2] = s.links0[1]; }],
    ['count too big', (s) => { s.links0[0] = 9; }],
    ['entry deleted', (s) => { s.deleted[s.entry] = 1; }],
    ['entry out of range', (s) => { s.entry = 500; }],
    ['wrong max level', (s) => { s.maxLevel += 1; }],
    ['duplicate live id', (s) => { s.slotIds[1] = s.slotIds[0]; }],
    ['upper link to a lower node', (s) => { const low = s.levels.indexOf(0); s.upper[0] = 1; s.upper[1] = low; }],
  ];
  for (const [name, damage] of cases) {
    const st = h.exportState();
    damage(st);
    assert.throws(() => decodeIndexV1(encodeIndexV1({ kind: 'hnsw', hnsw: st })), CorruptionError, name);
  }
});

test('committed fixture hnsw-v1.bin opens, answers, and re-encodes to the same bytes', () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/hnsw-v1.bin', import.meta.url)));
  const file = decodeIndexV1(bytes, 'hnsw-v1.bin');
  assert.equal(file.kind, 'hnsw');
  if (file.kind !== 'hnsw') return;
  const st = file.hnsw;
  assert.equal(st.dim, 2);
  assert.equal(st.metric, 'l2');
  assert.equal(st.M, 2);
  assert.equal(st.count, 4);
  assert.deepEqual(st.slotIds, [1, 'b', 3, 4]);
  assert.deepEqual(Array.from(st.deleted), [0, 1, 0, 0]);
  assert.deepEqual(Array.from(st.vectors), [0, 0, 1, 0, 0, 1, 1, 1]);
  const h = HnswIndex.fromState(st, kernels);
  // Squared L2 from (0.8, 0.1): id 1 at (0,0) 0.65, id 4 at (1,1) 0.85, id 3 at (0,1) 1.45; "b" is a tombstone.
  assert.deepEqual(h.search([0.8, 0.1], { k: 3 }), [1, 4, 3].map((id) => ({ id, distance: dist(id, [0.8, 0.1]) })));
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() }), bytes);
  // The fixture is what the documented construction produces.
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: makeFixtureIndex().exportState() }), bytes);
  function dist(id: VectorId, q: number[]): number {
    const v = ({ 1: [0, 0], 3: [0, 1], 4: [1, 1] } as Record<string, number[]>)[String(id)];
    const f = Math.fround;
    const a = f(f(v[0]) - f(q[0]));
    const b = f(f(v[1]) - f(q[1]));
    return f(f(a * a) + f(b * b));
  }
});

test('committed fixture hnsw-v1-int8.bin: opened without loading its f32 rows, answers as the eager decode', async () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/hnsw-v1-int8.bin', import.meta.url)));
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: makeInt8FixtureIndex().exportState() }), bytes, 'the documented construction');
  const file = decodeIndexV1(bytes, 'hnsw-v1-int8.bin');
  assert.ok(file.kind === 'hnsw' && file.hnsw.quantized && file.hnsw.quantRange !== undefined && file.hnsw.count === 12);
  const eager = HnswIndex.fromState((file as { hnsw: ReturnType<HnswIndex['exportState']> }).hnsw, kernels);
  const fs = new MemoryFileSystem();
  const h = await fs.open('f.hnsw', { create: true });
  h.write(0, bytes);
  await h.close();
  const lazy = await openIndex(fs, 'f.hnsw', { kernels });
  assert.ok(lazy instanceof HnswIndex && lazy.quantized);
  const m = lazy.memory();
  assert.equal(m.onStorage, 12 * 3 * 4, 'every row stays in the file');
  assert.equal(m.vectors, 12 * 4 + 256 * 4 * 4, 'only the slot map and the read scratch (stride 4 floats)');
  for (const q of [[1, 0, 1], [0, 2, 1], [3, 1, 1.3], [-1, -1, 0.5]]) {
    const a = lazy.search(q, { k: 4 });
    assert.deepEqual(a, eager.search(q, { k: 4 }));
    assert.equal(a.length, 4);
    assert.ok(!a.some((x) => x.id === 5), 'the removed id is never returned');
  }
  assert.deepEqual(lazy.get(7), eager.get(7));
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: lazy.exportState() }), bytes);
  await lazy.close();
  // The lazy path (VECS streamed, not read with the rest) still checks every byte.
  for (let i = 0; i < bytes.length; i++) {
    const bad = bytes.slice();
    bad[i] ^= 0x10;
    const w = await fs.open('bad.hnsw', { create: true, truncate: true });
    w.write(0, bad);
    await w.close();
    await assert.rejects(openIndex(fs, 'bad.hnsw', { kernels }), (e: unknown) => e instanceof CorruptionError && e.path === 'bad.hnsw', `byte ${i} flipped`);
  }
});

test('property: encodeIndexV1/decodeIndexV1 round-trip for random indexes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom('l2', 'ip', 'cosine' as const),
      fc.array(fc.tuple(fc.oneof(fc.nat(50), fc.string({ maxLength: 6 })), fc.float({ min: -10, max: 10, noNaN: true })), { maxLength: 60 }),
      fc.boolean(),
      fc.nat(),
      (dim, metric, ops, quant, seed) => {
        const h = new HnswIndex({ dim, metric, M: 3, efConstruction: 10, seed, kernels, quantization: quant ? { type: 'int8', trainSize: 5 } : undefined });
        const f = new FlatIndex({ dim, metric, kernels });
        for (const [id, x] of ops) {
          if (x > 7) { h.remove(id); f.remove(id); continue; }
          const v = Array.from({ length: dim }, (_, d) => x + d * 0.5);
          h.set(id, v);
          f.set(id, v);
        }
        for (const [kind, st] of [['hnsw', h.exportState()], ['flat', f.exportState()]] as const) {
          const file = kind === 'hnsw' ? { kind, hnsw: st as ReturnType<HnswIndex['exportState']> } : { kind, flat: st as ReturnType<FlatIndex['exportState']> };
          const bytes = encodeIndexV1(file);
          assert.deepEqual(decodeIndexV1(bytes), file);
          assert.deepEqual(encodeIndexV1(decodeIndexV1(bytes)), bytes);
        }
      },
    ),
    { numRuns: 150, seed: 42 },
  );
});
