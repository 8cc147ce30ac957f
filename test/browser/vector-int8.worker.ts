/**
 * Runs in a dedicated worker of Chromium (bundled by the harness): an int8 `HnswIndex` (WASM kernels) saved to and
 * opened from OPFS (sync access handles) and IndexedDB (`IdbFileSystem`), where an open file cannot be renamed over
 * or removed. Checks, per backend, that after a save the index holds no f32 row in memory and reads rescored rows
 * from the file, that its answers equal an identical index never saved, and that saving over the file it reads,
 * saving to a new file, removing the old one and reopening all work. Posts one `CaseResult` per backend.
 */
import { IdbFileSystem, OpfsFileSystem, type FileSystem } from '@hearth/io';
import { HnswIndex, loadKernels, openIndex, type VectorId } from '@hearth/vector';
import { main, runCase } from './worker-kit.js';
import { VECTOR_INT8_CASES } from './vector-int8.shared.js';

const DIM = 16;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` vectors around 20 seeded centres. */
function clustered(seed: number, n: number): Float32Array[] {
  const r = rng(seed);
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: DIM }, () => 6 * r() - 3));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * centres.length)];
    return Float32Array.from({ length: DIM }, (_, d) => c[d] + (r() - 0.5));
  });
}

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

async function scenario(fs: FileSystem): Promise<void> {
  const kernels = await loadKernels('auto');
  check(kernels.kind === 'wasm', 'WASM kernels in the worker');
  const data = clustered(5, 2600);
  const queries = clustered(6, 30);
  const make = (): HnswIndex => {
    const h = new HnswIndex({ dim: DIM, metric: 'cosine', M: 12, efConstruction: 80, seed: 3, kernels, quantization: { type: 'int8', trainSize: 300 } });
    for (let i = 0; i < 2000; i++) h.add(i, data[i]);
    for (let i = 0; i < 2000; i += 13) h.remove(i);
    return h;
  };
  const h = make();
  const ref = make();
  const same = (x: HnswIndex, label: string): void => {
    for (const q of queries) {
      const a = JSON.stringify(x.search(q, { k: 10, ef: 50 }));
      check(a === JSON.stringify(ref.search(q, { k: 10, ef: 50 })), `${label}: answers differ`);
      const filter = (id: VectorId): boolean => (id as number) % 5 === 2;
      check(JSON.stringify(x.search(q, { k: 5, filter })) === JSON.stringify(ref.search(q, { k: 5, filter })), `${label}: filtered answers differ`);
    }
  };
  await fs.mkdir('vec');
  await h.save(fs, 'vec/a.hnsw');
  const m = h.memory();
  const slots = h.exportState().count;
  check(m.onStorage === slots * DIM * 4, `rows on storage: ${m.onStorage}`);
  check(m.vectors === slots * 4 + 256 * DIM * 4, `f32 bytes in memory: ${m.vectors}`);
  same(h, 'after save');
  for (const x of [h, ref]) for (let i = 2000; i < 2300; i++) x.add(i, data[i]);
  await h.save(fs, 'vec/a.hnsw'); // over the open file it reads from
  same(h, 'after a save over the file it reads');
  for (const x of [h, ref]) for (let i = 1; i < 300; i += 3) x.set(i, data[2300 + i]);
  await h.save(fs, 'vec/b.hnsw');
  await fs.remove('vec/a.hnsw'); // released by the save to b
  same(h, 'after a save to a new file');
  await h.close();
  const o = await openIndex(fs, 'vec/b.hnsw', { kernels });
  check(o instanceof HnswIndex && o.memory().vectors === o.exportState().count * 4 + 256 * DIM * 4, 'opened without f32 rows');
  same(o as HnswIndex, 'reopened');
  await o.close();
  await fs.remove('vec/b.hnsw'); // closed: removable
}

main(async () => {
  await runCase(VECTOR_INT8_CASES[0], async () => {
    const root = 'hearth-vector-int8-test';
    await OpfsFileSystem.destroy(root).catch(() => undefined);
    const fs = await OpfsFileSystem.open(root);
    try {
      await scenario(fs);
    } finally {
      await OpfsFileSystem.destroy(root).catch(() => undefined);
    }
  });
  await runCase(VECTOR_INT8_CASES[1], async () => {
    const name = 'hearth-vector-int8-test';
    await IdbFileSystem.destroy(name).catch(() => undefined);
    const fs = await IdbFileSystem.open(name);
    try {
      await scenario(fs);
    } finally {
      await IdbFileSystem.destroy(name).catch(() => undefined);
    }
  });
});
