// int8 indexes keep only their codes in memory and read the f32 rows of rescored candidates from the index file
// (docs/vector.md, "int8 quantisation"; src/_rows.ts, src/_save.ts). These tests check that saving or opening moves
// the rows out of memory, that answers do not change when the rows move, that mutations before, during and after
// a save stay correct, that saving over the file being read works on a file system that locks open files (as OPFS
// and IndexedDB do), and that damage to the rows on disk is detected when the index is opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CorruptionError, IoError, IoErrorCode, MemoryFileSystem, type FileHandle, type FileSystem, type OpenOptions,
} from '@hearth/io';
import {
  FlatIndex, HnswIndex, encodeIndexV1, loadKernels, openIndex, type Metric, type VectorId,
} from '@hearth/vector';
import { clustered, recallAt } from './_data.js';

const kernels = await loadKernels('wasm');
const DIM = 24;
const data = clustered(71, 3000, DIM, 25);
const queries = clustered(72, 40, DIM, 25);

/** A file system that refuses to rename, replace or remove an open file (OPFS and IndexedDB do), over memory. */
class LockingFs implements FileSystem {
  readonly name = 'locking(memory)';
  readonly inner = new MemoryFileSystem();
  readonly supports = this.inner.supports;
  readonly open_ = new Map<string, number>();
  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    const h = await this.inner.open(path, options);
    this.open_.set(path, (this.open_.get(path) ?? 0) + 1);
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        const n = this.open_.get(path)! - 1;
        if (n === 0) this.open_.delete(path);
        else this.open_.set(path, n);
      }
      await h.close();
    };
    return Object.assign(Object.create(h) as FileHandle, { close, readInto: h.readInto!.bind(h), read: h.read.bind(h) });
  }
  private check(path: string): void {
    if (this.open_.has(path)) throw new IoError(IoErrorCode.LOCKED, 'file is open', { path });
  }
  exists(p: string): Promise<boolean> {
    return this.inner.exists(p);
  }
  list(d: string): Promise<string[]> {
    return this.inner.list(d);
  }
  mkdir(d: string): Promise<void> {
    return this.inner.mkdir(d);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check(from);
    this.check(to);
    await this.inner.rename(from, to);
  }
  async remove(p: string, o?: { recursive?: boolean }): Promise<void> {
    this.check(p);
    await this.inner.remove(p, o);
  }
}

function build(metric: Metric, n = data.length): HnswIndex {
  const h = new HnswIndex({ dim: DIM, metric, M: 12, efConstruction: 100, seed: 9, kernels, quantization: { type: 'int8', trainSize: 300 } });
  for (let i = 0; i < n; i++) h.add(i % 5 === 0 ? `s${i}` : i, data[i]);
  for (let i = 0; i < n; i += 11) h.remove(i % 5 === 0 ? `s${i}` : i);
  return h;
}

function sameAnswers(a: HnswIndex | FlatIndex, b: HnswIndex | FlatIndex, label: string): void {
  for (const q of queries) {
    assert.deepEqual(a.search(q, { k: 10, ef: 60 }), b.search(q, { k: 10, ef: 60 }), label);
    const filter = (id: VectorId): boolean => typeof id === 'number' && id % 7 === 1;
    assert.deepEqual(a.search(q, { k: 5, filter }), b.search(q, { k: 5, filter }), `${label} (filtered)`);
  }
}

test('after save, an int8 HNSW holds codes, not f32 rows, and answers exactly as before', async () => {
  const fs = new MemoryFileSystem();
  const h = build('cosine');
  const ref = build('cosine');
  const before = h.memory();
  assert.ok(before.vectors >= h.size * DIM * 4, 'rows are in memory until the first save');
  await h.save(fs, 'v/a.hnsw');
  const after = h.memory();
  const slots = ref.exportState().count;
  assert.equal(after.onStorage, slots * DIM * 4, 'every row is read from the file');
  assert.ok(after.vectors <= slots * 4 + 256 * DIM * 4, `only the slot map and scratch stay: ${after.vectors}`);
  assert.ok(after.total < before.total - slots * DIM * 4 * 0.9, `total ${after.total} vs ${before.total}`);
  assert.equal(after.codes, before.codes);
  // The file a codes-mode save writes (rows filled straight into it) is byte for byte the encoder's output.
  const written = await fs.open('v/a.hnsw').then(async (x) => { try { return x.read(0, x.size()); } finally { await x.close(); } });
  assert.deepEqual(written, encodeIndexV1({ kind: 'hnsw', hnsw: ref.exportState() }));
  sameAnswers(h, ref, 'saved vs never saved');
  const { plan } = h.explain(queries[0], { k: 10 });
  assert.equal(plan.quantized, true);
  assert.equal(plan.rescored, 40, 'k × rescore candidates are rescored');
  for (const id of [1, 's5', 2999]) assert.deepEqual(h.get(id), ref.get(id));
  await h.close();
});

test('opening an int8 index does not load its f32 rows; results, get and state match the saved index', async () => {
  const fs = new MemoryFileSystem();
  for (const metric of ['cosine', 'l2', 'ip'] as const) {
    const h = build(metric, 1500);
    await h.save(fs, `v/${metric}.hnsw`);
    const o = await openIndex(fs, `v/${metric}.hnsw`, { kernels });
    assert.ok(o instanceof HnswIndex);
    const m = o.memory();
    assert.equal(m.onStorage, o.exportState().count * DIM * 4);
    // No f32 row in memory: only the slot → row map (4 bytes a slot) and the 256-row read scratch.
    assert.equal(m.vectors, o.exportState().count * 4 + 256 * DIM * 4, `${metric}: f32 bytes in memory`);
    sameAnswers(o, h, metric);
    assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: o.exportState() }), encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() }));
    await o.close();
    await h.close();
  }
});

test('recall@10 >= 0.95 for int8 rescored from the file (reopened), every metric', async () => {
  const fs = new MemoryFileSystem();
  for (const metric of ['cosine', 'l2', 'ip'] as const) {
    const h = new HnswIndex({ dim: DIM, metric, M: 16, efConstruction: 200, kernels, quantization: { type: 'int8' } });
    const exact = new FlatIndex({ dim: DIM, metric, kernels });
    data.forEach((v, i) => {
      h.add(i, v);
      exact.add(i, v);
    });
    await h.save(fs, `r/${metric}.hnsw`);
    await h.close();
    const o = await openIndex(fs, `r/${metric}.hnsw`, { kernels });
    const r = recallAt(o, exact, queries, { k: 10, ef: metric === 'ip' ? 256 : 128 });
    assert.ok(r >= 0.95, `${metric}: recall@10 ${r}`);
    await o.close();
  }
});

test('mutations after open: add, update, remove and compaction read rows from the file and match a fresh index', async () => {
  const fs = new MemoryFileSystem();
  const h = build('l2', 1200);
  const ref = build('l2', 1200);
  await h.save(fs, 'm.hnsw');
  const o = (await openIndex(fs, 'm.hnsw', { kernels })) as HnswIndex;
  for (const x of [o, ref]) {
    for (let i = 0; i < 100; i++) x.add(`n${i}`, data[1200 + i]);
    for (let i = 1; i < 400; i += 3) if (x.has(i)) x.update(i, data[2000 + i]);
    for (let i = 2; i < 1200; i += 2) x.remove(i % 5 === 0 ? `s${i}` : i); // passes the compaction ratio
  }
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: o.exportState() }), encodeIndexV1({ kind: 'hnsw', hnsw: ref.exportState() }));
  sameAnswers(o, ref, 'after mutations');
  // Save again (a new file), reopen, same again.
  await o.save(fs, 'm2.hnsw');
  await o.close();
  const p = (await openIndex(fs, 'm2.hnsw', { kernels })) as HnswIndex;
  sameAnswers(p, ref, 'after a second save and open');
  await p.close();
});

test('mutations while a save is in flight land in memory and are kept; the saved file is the snapshot', async () => {
  const fs = new MemoryFileSystem();
  const h = build('cosine', 1000);
  const ref = build('cosine', 1000);
  await h.save(fs, 'f/a.hnsw');
  const snapshot = encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() });
  const saving = h.save(fs, 'f/b.hnsw');
  for (const x of [h, ref]) {
    for (let i = 0; i < 50; i++) x.set(i * 3 + 1, data[1500 + i]);
    for (let i = 0; i < 300; i++) x.remove(400 + i);
    x.compact();
  }
  await saving;
  sameAnswers(h, ref, 'in-flight mutations');
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: h.exportState() }), encodeIndexV1({ kind: 'hnsw', hnsw: ref.exportState() }));
  const b = (await openIndex(fs, 'f/b.hnsw', { kernels })) as HnswIndex;
  assert.deepEqual(encodeIndexV1({ kind: 'hnsw', hnsw: b.exportState() }), snapshot, 'the file holds the state at the call');
  // Two saves at once: both files are complete, the index stays correct.
  await Promise.all([h.save(fs, 'f/c.hnsw'), h.save(fs, 'f/d.hnsw')]);
  sameAnswers(h, ref, 'two concurrent saves');
  for (const f of ['f/c.hnsw', 'f/d.hnsw']) {
    const x = (await openIndex(fs, f, { kernels })) as HnswIndex;
    sameAnswers(x, ref, f);
    await x.close();
  }
  await Promise.all([h.close(), b.close()]);
});

test('on a file system that locks open files: saving over the file being read, and removing an old one', async () => {
  const fs = new LockingFs();
  const h = build('cosine', 800);
  const ref = build('cosine', 800);
  await h.save(fs, 'x/a.hnsw');
  assert.ok(fs.open_.has('x/a.hnsw'), 'the saved file is kept open for rows');
  h.add('late', data[2500]);
  ref.add('late', data[2500]);
  await h.save(fs, 'x/a.hnsw'); // over the open file: rows move to memory, the handle closes, then reattach
  assert.deepEqual([...fs.open_.keys()], ['x/a.hnsw']);
  sameAnswers(h, ref, 'same-path save');
  await h.save(fs, 'x/b.hnsw');
  assert.deepEqual([...fs.open_.keys()], ['x/b.hnsw'], 'the old file is released');
  await fs.remove('x/a.hnsw'); // the database removes old generations: not locked any more
  sameAnswers(h, ref, 'after the old file is gone');
  await h.close();
  assert.equal(fs.open_.size, 0);
  await h.close(); // idempotent
});

test('damage to the rows on disk is a CorruptionError at open (checksum or non-finite value)', async () => {
  const fs = new MemoryFileSystem();
  const h = build('l2', 600);
  await h.save(fs, 'c.hnsw');
  await h.close();
  const fh = await fs.open('c.hnsw');
  const bytes = fh.read(0, fh.size());
  await fh.close();
  const { sectionOffset, TAG } = await import('../src/format.js');
  const vecs = sectionOffset(bytes, TAG.VECS);
  for (const at of [vecs, vecs + 4 * DIM * 300 + 2, bytes.length - 200]) {
    const g = await fs.open('c.hnsw');
    const orig = g.read(at, 1);
    g.write(at, new Uint8Array([orig[0] ^ 0x40]));
    await g.close();
    await assert.rejects(openIndex(fs, 'c.hnsw', { kernels }), (e: unknown) => e instanceof CorruptionError && /rebuild/.test((e as Error).message), `byte ${at}`);
    const r = await fs.open('c.hnsw');
    r.write(at, orig);
    await r.close();
  }
  const ok = await openIndex(fs, 'c.hnsw', { kernels });
  // A file cut short under an open index: a read that meets the end is a CorruptionError, not garbage.
  const cut = await fs.open('c.hnsw');
  cut.truncate(vecs + DIM * 4 * 10);
  await cut.close();
  assert.throws(() => { for (const q of queries) ok.search(q, { k: 10 }); }, (e: unknown) => e instanceof CorruptionError && /rebuild/.test((e as Error).message));
  await ok.close();
});

test('flat int8: codes only after save and open; remove moves rows without copying them; same answers', async () => {
  const fs = new LockingFs();
  const mk = (): FlatIndex => {
    const f = new FlatIndex({ dim: DIM, metric: 'cosine', kernels, quantization: { type: 'int8', trainSize: 100 } });
    data.slice(0, 700).forEach((v, i) => f.add(`k${i}`, v));
    return f;
  };
  const f = mk();
  const ref = mk();
  await f.save(fs, 'flat.idx');
  assert.equal(f.memory().onStorage, 700 * DIM * 4);
  for (const x of [f, ref]) {
    for (let i = 0; i < 700; i += 4) x.remove(`k${i}`);
    for (let i = 1; i < 100; i += 4) x.update(`k${i}`, data[900 + i]);
  }
  sameAnswers(f, ref, 'flat after mutations');
  await f.save(fs, 'flat.idx'); // over the file it reads (locked): rows move to memory, then to the new file
  sameAnswers(f, ref, 'flat after a same-path save');
  await f.close();
  const p = (await openIndex(fs, 'flat.idx', { kernels })) as FlatIndex;
  assert.equal(p.memory().vectors, p.size * 4 + 256 * DIM * 4, 'no f32 row in memory after open');
  assert.equal(p.memory().onStorage, p.size * DIM * 4);
  sameAnswers(p, ref, 'flat reopened');
  for (const id of ['k1', 'k3', 'k699']) assert.deepEqual(p.get(id), ref.get(id));
  await p.close();
});

test('an int8 index is never sized for capacity × f32 rows (its WASM memory cannot shrink afterwards)', () => {
  const arenaBytes = (x: HnswIndex | FlatIndex): number => (x as unknown as { arena: { byteLength: number } }).arena.byteLength;
  const dim = 256;
  const cap = 20_000;
  const big = clustered(73, 500, dim, 10);
  const f32 = new HnswIndex({ dim, metric: 'l2', kernels, capacity: cap });
  const q8 = new HnswIndex({ dim, metric: 'l2', kernels, capacity: cap, quantization: { type: 'int8', trainSize: 300 } });
  const flat8 = new FlatIndex({ dim, metric: 'l2', kernels, capacity: cap, quantization: { type: 'int8', trainSize: 300 } });
  for (let i = 0; i < big.length; i++) for (const x of [f32, q8, flat8]) x.add(i, big[i]);
  const rows = cap * dim * 4; // 20.5 MB of f32 rows
  assert.ok(arenaBytes(f32) >= rows, 'the f32 index reserves its rows');
  // int8: codes (260 bytes a slot) and the graph for `cap` slots; f32 rows only for the 300 before training.
  assert.ok(arenaBytes(q8) <= arenaBytes(f32) / 2, `int8 hnsw arena ${arenaBytes(q8)} vs f32 ${arenaBytes(f32)}`);
  assert.ok(arenaBytes(flat8) < rows / 2, `int8 flat arena ${arenaBytes(flat8)}`);
  for (let i = 0; i < 5; i++) assert.equal(q8.search(big[i], { k: 5 })[0].id, i);
});
