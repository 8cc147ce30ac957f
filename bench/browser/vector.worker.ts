/**
 * The browser half of the `vector` suite (`bench/suites/vector.ts`, part `browser`): a dedicated module worker in
 * headless Chromium that builds Hearth's HnswIndex (`HnswIndex.create`, WASM kernels) and hnswlib-wasm's index on
 * the same base vectors with the same M / ef_construction / seed, then measures queries/s and recall@10 over the
 * same ef_search values as the Node part. Posts one `Row` per measurement (worker-kit protocol).
 *
 * Inputs (written into the served directory by the Node side): `/vector-base.f32` (N x DIM float32, row-major),
 * `/vector-queries.f32` (Q x DIM), `/vector-truth.i32` (Q x K exact neighbour labels from Hearth's flat index,
 * computed once in Node), and `/hnswlib-wasm.js` (hnswlib-wasm's Emscripten module, served unbundled).
 *
 * Time is wall time (`performance.now()`; the page is cross-origin isolated, so it is not coarsened): a browser
 * worker has no CPU clock. Each curve point: one warm-up pass (which also measures recall), then the median of
 * REPS timed passes, the systems taking turns pass by pass (as in Node).
 */
import { HnswIndex, loadKernels } from '@hearth/vector';
import { emit, main } from '../../test/browser/worker-kit.js';

declare const CONFIG: { dim: number; n: number; queries: number; k: number; M: number; efConstruction: number; seed: number; efs: number[]; reps: number; systems: string[] };

interface HnswlibWasm {
  HEAPU8: Uint8Array;
  HierarchicalNSW: new (space: string, dim: number, autoSave: string) => {
    initIndex(max: number, m: number, efC: number, seed: number): void;
    addPoint(v: Float32Array, label: number, replaceDeleted: boolean): void;
    setEfSearch(ef: number): void;
    searchKnn(q: Float32Array, k: number, filter: undefined): { neighbors: number[]; distances: number[] };
  };
}

interface Searcher {
  system: string;
  setEf(ef: number): void;
  search(q: Float32Array): ArrayLike<number>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function fetchBuf(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.arrayBuffer();
}

main(async () => {
  const { dim, n, k, M, efConstruction, seed, efs, reps, systems } = CONFIG;
  const baseAll = new Float32Array(await fetchBuf('/vector-base.f32'));
  const qAll = new Float32Array(await fetchBuf('/vector-queries.f32'));
  const truthAll = new Int32Array(await fetchBuf('/vector-truth.i32'));
  if (baseAll.length !== n * dim) throw new Error(`base: expected ${n * dim} floats, got ${baseAll.length}`);
  const nq = qAll.length / dim;
  const base = Array.from({ length: n }, (_, i) => baseAll.subarray(i * dim, i * dim + dim));
  const queries = Array.from({ length: nq }, (_, i) => qAll.subarray(i * dim, i * dim + dim));
  const truth = Array.from({ length: nq }, (_, i) => new Set(truthAll.subarray(i * k, i * k + k)));
  const MiB = (b: number): number => Number((b / 2 ** 20).toFixed(1));
  const searchers: Searcher[] = [];
  const common = { n, M, efConstruction, env: 'chromium-worker' };

  if (systems.includes('hearth')) {
    const kernels = await loadKernels('wasm');
    const t0 = performance.now();
    const h = await HnswIndex.create({ dim, metric: 'cosine', M, efConstruction, seed, kernels, capacity: n });
    for (let i = 0; i < n; i++) h.add(i, base[i]);
    const ms = performance.now() - t0;
    emit({ workload: 'glove-100d-build-browser', system: 'hearth', value: Math.round(ms), unit: 'ms', ...common, kernels: kernels.kind });
    const mem = h.memory();
    emit({ workload: 'glove-100d-memory-browser', system: 'hearth', value: MiB(mem.total), unit: 'MiB', n, ...mem });
    let ef = 10;
    searchers.push({ system: 'hearth', setEf: (e) => (ef = e), search: (q) => h.search(q, { k, ef }).map((r) => r.id as number) });
  }

  if (systems.includes('hnswlib-wasm')) {
    // Its Emscripten loader only runs "on the web": a window or a worker with importScripts (module workers have it).
    const g = globalThis as { importScripts?: unknown };
    g.importScripts ??= () => {};
    const url = '/hnswlib-wasm.js';
    const factory = ((await import(/* @vite-ignore */ url)) as { default: () => Promise<HnswlibWasm> }).default;
    const lib = await factory();
    const heap0 = lib.HEAPU8.length;
    const t0 = performance.now();
    const x = new lib.HierarchicalNSW('cosine', dim, '');
    x.initIndex(n, M, efConstruction, seed);
    for (let i = 0; i < n; i++) x.addPoint(base[i], i, false);
    const ms = performance.now() - t0;
    emit({ workload: 'glove-100d-build-browser', system: 'hnswlib-wasm', value: Math.round(ms), unit: 'ms', ...common });
    const heap = lib.HEAPU8.length - heap0;
    if (heap > 0) emit({ workload: 'glove-100d-memory-browser', system: 'hnswlib-wasm', value: MiB(heap), unit: 'MiB', n, note: `WebAssembly heap growth over the build (heap ${MiB(heap0)} -> ${MiB(lib.HEAPU8.length)} MiB): a lower bound` });
    searchers.push({ system: 'hnswlib-wasm', setEf: (e) => x.setEfSearch(e), search: (q) => x.searchKnn(q, k, undefined).neighbors });
  }

  for (const ef of efs) {
    const recall = new Map<Searcher, number>();
    const qps = new Map<Searcher, number[]>(searchers.map((s) => [s, []]));
    for (const s of searchers) {
      s.setEf(ef);
      let found = 0;
      for (let i = 0; i < nq; i++) {
        const got = s.search(queries[i]);
        for (let j = 0; j < got.length; j++) if (truth[i].has(got[j])) found++;
      }
      recall.set(s, found / (nq * k));
    }
    for (let r = 0; r < reps; r++) {
      for (const s of searchers) {
        s.setEf(ef);
        const t0 = performance.now();
        for (const q of queries) s.search(q);
        qps.get(s)!.push((nq / (performance.now() - t0)) * 1000);
      }
    }
    for (const s of searchers) {
      emit({ workload: 'glove-100d-knn10-browser', system: s.system, value: Math.round(median(qps.get(s)!)), unit: 'queries/s', n, recall: Number(recall.get(s)!.toFixed(4)), ef, env: 'chromium-worker' });
    }
  }
});
