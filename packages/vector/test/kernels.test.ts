// The WASM SIMD kernels (wasm/kernels.ts, compiled by `node wasm/build.mjs`) and the TypeScript twin
// (src/_kernels_ts.ts) must agree within float rounding, and an index must give the same results on either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { loadKernels, FlatIndex, HnswIndex, TS_KERNELS } from '@hearth/vector';
import { createArena } from '../src/kernels.js';
import { clustered, rng } from './_data.js';

const generated = new URL('../src/_kernels.wasm.ts', import.meta.url);

test('the generated WASM module exists (build it with `node wasm/build.mjs`)', () => {
  assert.ok(
    existsSync(generated),
    'packages/vector/src/_kernels.wasm.ts is missing: run `node wasm/build.mjs` (npm test runs it through scripts/build.mjs)',
  );
});

test('loadKernels: wasm and ts are distinct, working implementations', async () => {
  const w = await loadKernels('wasm');
  assert.equal(w.kind, 'wasm');
  assert.ok(w.module instanceof WebAssembly.Module);
  assert.equal((await loadKernels('ts')).kind, 'ts');
  assert.equal((await loadKernels('auto')).kind, 'wasm', 'Node has WebAssembly SIMD, so auto picks wasm');
  assert.equal(createArena(w, 1 << 16).kind, 'wasm');
  assert.equal(createArena(TS_KERNELS, 1 << 16).kind, 'ts');
  await assert.rejects(loadKernels('gpu' as never), TypeError);
});

function close(a: number, b: number, label: string): void {
  const tol = 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
  assert.ok(Math.abs(a - b) <= tol, `${label}: wasm ${a} vs ts ${b}`);
}

test('every kernel agrees between WASM and TS on random rows (seeded)', async () => {
  const seed = 20261121;
  const r = rng(seed);
  const wa = createArena(await loadKernels('wasm'), 1 << 20);
  const ta = createArena(TS_KERNELS, 1 << 20);
  for (const dim of [4, 16, 32, 100, 128]) {
    const n = dim; // padded lengths are multiples of 4 (f32) and 16 (i8) below
    const nI8 = (dim + 15) & ~15;
    const A = 4096;
    const B = A + 4 * 1024;
    const I = B + 4 * 1024;
    const J = I + 1024;
    const IDS = J + 1024;
    const OUT = IDS + 4096;
    const BASE = OUT + 4096;
    const SUMS = BASE + 64 * nI8 + 64;
    for (const a of [wa, ta]) {
      const rr = rng(seed + dim);
      for (let i = 0; i < n; i++) {
        a.f32[(A >> 2) + i] = rr() * 4 - 2;
        a.f32[(B >> 2) + i] = rr() * 4 - 2;
      }
      for (let i = 0; i < nI8; i++) {
        a.i8[I + i] = i < dim ? Math.floor(rr() * 255) - 127 : 0;
        a.i8[J + i] = i < dim ? Math.floor(rr() * 255) - 127 : 0;
      }
      for (let row = 0; row < 64; row++) {
        for (let i = 0; i < nI8; i++) a.i8[BASE + row * nI8 + i] = i < dim ? Math.floor(rr() * 255) - 127 : 0;
        a.i32[(SUMS >> 2) + row] = Math.floor(rr() * 1000) - 500;
      }
      for (let i = 0; i < 16; i++) a.i32[(IDS >> 2) + i] = Math.floor(rr() * 64);
    }
    const w = wa.k;
    const t = ta.k;
    close(w.dot_f32(A, B, n), t.dot_f32(A, B, n), `dot_f32 dim=${dim} seed=${seed}`);
    close(w.l2_f32(A, B, n), t.l2_f32(A, B, n), `l2_f32 dim=${dim}`);
    close(w.cosine_f32(A, B, n), t.cosine_f32(A, B, n), `cosine_f32 dim=${dim}`);
    assert.equal(w.dot_i8(I, J, nI8), t.dot_i8(I, J, nI8), `dot_i8 dim=${dim} (exact in i32)`);
    assert.equal(w.l2_i8(I, J, nI8), t.l2_i8(I, J, nI8), `l2_i8 dim=${dim} (exact in i32)`);
    for (const metric of [0, 1]) close(w.dist_f32(metric, A, B, n), t.dist_f32(metric, A, B, n), `dist_f32 m=${metric}`);
    // batch_i8 over 16 gathered rows
    for (const metric of [0, 1]) {
      w.batch_i8(metric, I, BASE, nI8, SUMS, IDS, 16, OUT, 0.5, 0.001, 0.0001);
      t.batch_i8(metric, I, BASE, nI8, SUMS, IDS, 16, OUT, 0.5, 0.001, 0.0001);
      for (let i = 0; i < 16; i++) close(wa.f32[(OUT >> 2) + i], ta.f32[(OUT >> 2) + i], `batch_i8 m=${metric} i=${i}`);
    }
  }
  // Known values, so the two cannot agree on a wrong answer.
  for (const a of [wa, ta]) {
    a.f32.set([1, 2, 3, 4], 4096 >> 2);
    a.f32.set([5, 6, 7, 8], 8192 >> 2);
    assert.equal(a.k.dot_f32(4096, 8192, 4), 70, `${a.kind} dot`);
    assert.equal(a.k.l2_f32(4096, 8192, 4), 64, `${a.kind} l2`);
    close(a.k.cosine_f32(4096, 8192, 4), 1 - 70 / Math.sqrt(30 * 174), `${a.kind} cosine`);
    a.i8.set([1, -2, 3, -128, ...new Array(12).fill(0)], 16384);
    a.i8.set([4, 5, -6, 127, ...new Array(12).fill(0)], 16400);
    assert.equal(a.k.dot_i8(16384, 16400, 16), 4 - 10 - 18 - 128 * 127, `${a.kind} dot_i8`);
    assert.equal(a.k.l2_i8(16384, 16400, 16), 9 + 49 + 81 + 255 * 255, `${a.kind} l2_i8`);
  }
});

test('batch (gather) and scan kernels equal per-pair calls, on both implementations', async () => {
  for (const kernels of [await loadKernels('wasm'), TS_KERNELS]) {
    const a = createArena(kernels, 1 << 20);
    const dim = 20;
    const base = 65536;
    const q = 4096;
    const ids = 8192;
    const out = 12288;
    const r = rng(7);
    for (let i = 0; i < 100 * dim; i++) a.f32[(base >> 2) + i] = r() - 0.5;
    for (let i = 0; i < dim; i++) a.f32[(q >> 2) + i] = r() - 0.5;
    for (let i = 0; i < 50; i++) a.i32[(ids >> 2) + i] = (i * 37) % 100;
    for (const metric of [0, 1]) {
      a.k.batch_f32(metric, q, base, dim * 4, ids, 50, out);
      for (let i = 0; i < 50; i++) {
        const want = a.k.dist_f32(metric, q, base + ((i * 37) % 100) * dim * 4, dim);
        assert.equal(a.f32[(out >> 2) + i], Math.fround(want), `${kernels.kind} batch_f32 m=${metric} i=${i}`);
      }
      a.k.scan_f32(metric, q, base, dim * 4, 10, 40, out);
      for (let i = 0; i < 40; i++) {
        assert.equal(a.f32[(out >> 2) + i], Math.fround(a.k.dist_f32(metric, q, base + (10 + i) * dim * 4, dim)), `scan i=${i}`);
      }
    }
  }
});

test('an index gives the same neighbours on WASM and TS kernels', async () => {
  const data = clustered(11, 1500, 24);
  const queries = clustered(12, 20, 24);
  const wasm = await loadKernels('wasm');
  for (const metric of ['cosine', 'l2', 'ip'] as const) {
    const hw = new HnswIndex({ dim: 24, metric, kernels: wasm, seed: 3 });
    const ht = new HnswIndex({ dim: 24, metric, kernels: TS_KERNELS, seed: 3 });
    const fw = new FlatIndex({ dim: 24, metric, kernels: wasm });
    const ft = new FlatIndex({ dim: 24, metric, kernels: TS_KERNELS });
    data.forEach((v, i) => [hw, ht, fw, ft].forEach((x) => x.add(i, v)));
    assert.equal(hw.kernelKind, 'wasm');
    assert.equal(ht.kernelKind, 'ts');
    for (const q of queries) {
      const a = fw.search(q, { k: 10 });
      const b = ft.search(q, { k: 10 });
      assert.deepEqual(a.map((h) => h.id), b.map((h) => h.id), `flat ${metric}`);
      a.forEach((h, i) => close(h.distance, b[i].distance, `flat distance ${metric}`));
      // HNSW graphs may differ only where float rounding flips a comparison; the results must overlap almost fully.
      const x = new Set(hw.search(q, { k: 10, ef: 64 }).map((h) => h.id));
      const y = ht.search(q, { k: 10, ef: 64 }).map((h) => h.id);
      assert.ok(y.filter((id) => x.has(id)).length >= 9, `hnsw ${metric}: wasm and ts results diverge`);
    }
  }
});

test('the level-0 search loop inside the kernel (loop) equals the TypeScript loop (batch, single), on both kernels', async () => {
  const data = clustered(21, 2000, 20);
  const queries = clustered(22, 25, 20);
  for (const kernels of [await loadKernels('wasm'), TS_KERNELS]) {
    for (const quant of [false, true]) {
      const h = new HnswIndex({ dim: 20, metric: 'cosine', kernels, seed: 5, quantization: quant ? { type: 'int8', trainSize: 200 } : undefined });
      data.forEach((v, i) => h.add(i, v));
      for (let i = 0; i < 2000; i += 9) h.remove(i); // tombstones are routed through, never returned
      for (const q of queries) {
        const got = (['loop', 'batch', 'single'] as const).map((mode) => {
          h.kernelMode = mode;
          const r = h.explain(q, { k: 10, ef: 40 });
          return { hits: r.hits, distances: r.plan.distances, expanded: r.plan.expanded };
        });
        assert.deepEqual(got[1], got[0], `${kernels.kind} quant=${quant}: batch differs from loop`);
        assert.deepEqual(got[2], got[0], `${kernels.kind} quant=${quant}: single differs from loop`);
      }
      h.kernelMode = 'loop';
    }
  }
});
