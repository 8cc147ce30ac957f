/**
 * HNSW: Hierarchical Navigable Small World graphs (Y. A. Malkov, D. A. Yashunin, "Efficient and robust approximate
 * nearest neighbor search using Hierarchical Navigable Small World graphs", 2016, arXiv:1603.09320). Algorithm
 * numbers below are the paper's. Parameters (see docs/vector.md): M, efConstruction, ef_search.
 *
 * Storage (no object per node):
 * - vectors: one f32 slab in the arena (`_store.ts`), one row per slot, fixed stride;
 * - level 0 adjacency: `links0`, an Int32Array of capacity × (M0 + 1): per slot a count then M0 neighbour slots;
 *   it lives in the arena beside the vectors, with the tombstone bytes, the visited marks and the heaps, so that
 *   the level-0 search can run entirely inside the WASM kernel `search_layer` (docs/vector.md: why);
 * - levels ≥ 1: `upper`, one Int32Array pool of rows of (M + 1) (count then M slots); a node of level L > 0 owns L
 *   consecutive rows starting at row `upperOff[slot]` (row for level l is `upperOff[slot] + l - 1`);
 * - `levels` (Uint8Array), `deleted` (Uint8Array tombstones), slot → id array and id → slot map.
 *
 * Invariants (numbered; the code cites them):
 * 1. Slots 0..count-1 are allocated; each is live or a tombstone. `slotOf` maps exactly the live ids to their slots,
 *    and `slotIds[s]` is the id stored at slot s (kept for tombstones until compaction).
 * 2. A node's level never changes; a node of level L has adjacency lists at levels 0..L. Level 0 lists hold at most
 *    M0 = 2M entries, higher levels at most M.
 * 3. Every entry of every adjacency list is a slot < count, never the node itself, without duplicates.
 * 4. If any live node exists, `entry` is a live node of the highest level among live nodes and `maxLevel` is its
 *    level; if none exists, entry = -1 (maxLevel = -1), and the next insert becomes the entry point.
 * 5. Tombstones stay in the graph as routing nodes: a search may pass through them but never returns them, and new
 *    nodes never choose them as neighbours. On delete, each of the deleted node's out-neighbours that links back
 *    to it re-selects its list (Algorithm 4) from its own neighbours plus the deleted node's, without it (neighbour
 *    repair). Edges from other nodes to a tombstone remain until compaction.
 * 6. Compaction (a rebuild from the live vectors in slot order) runs when tombstones exceed `compactRatio` of the
 *    slots; it renumbers slots, never ids.
 * 7. Determinism: levels come from a seeded generator that advances once per insert, so the same seed and the same
 *    sequence of operations give the same graph, bit for bit (and the same file from `save`).
 * 8. With quantisation trained, the index holds only int8 codes in memory (`_store.ts`, codes mode): inserts build
 *    the graph on int8 distances, searches walk it on int8 distances, and the best k × rescore candidates are
 *    rescored with their f32 rows, read from the index file (or the in-memory tail of rows written since the last
 *    save: `_rows.ts`), before returning. Reported distances are always f32. Before training (the first
 *    `trainSize` vectors) everything runs on f32 rows held in the arena.
 *
 * @packageDocumentation
 */
import type { FileHandle, FileSystem } from '@hearth/io';
import { assertId, assertInt, assertMetric, assertSearch, assertVector, metricCode } from './_assert.js';
import type { Arena } from './_arena.js';
import { MaxHeap, MinHeap } from './_heap.js';
import { Rng } from './_rng.js';
import { BATCH, SCRATCH, VectorStore } from './_store.js';
import { createArena, loadKernels, TS_KERNELS, type Kernels } from './kernels.js';
import { queryConstants, type QuantRange } from './_quantize.js';
import { encodeIndexV1, encodeIndexWith, type HnswState } from './format.js';
import { loadExternal, loadRows, saveAttached, type ExternalRows } from './_save.js';
import type {
  IndexOptions, MemoryReport, Metric, SearchHit, SearchOptions, SearchPlan, VectorId, VectorIndex, VectorLike,
} from './types.js';

/** Options for {@link HnswIndex}. */
export interface HnswOptions extends IndexOptions {
  /** Neighbours per node on levels ≥ 1 (level 0 keeps up to 2M). 2..128, default 16. */
  M?: number;
  /** Candidate list size while inserting (≥ M). Default 200. */
  efConstruction?: number;
  /** Default ef_search of {@link HnswIndex.search}. Default 64. */
  efSearch?: number;
  /** Seed of the level generator (any 32-bit integer). Default 0x5eed. */
  seed?: number;
  /** Tombstone fraction of the slots that triggers compaction (0 < r ≤ 1). Default 0.5. */
  compactRatio?: number;
  /** Kernels to compute distances with (see {@link loadKernels}); default the TypeScript kernels. */
  kernels?: Kernels;
}

/** Indexes of the HNSW's extra arena regions (see the constructor). */
const REGION_LINKS0 = 0;
const REGION_TOMB = 1;
const REGION_VISITED = 2;
const REGION_HEAPC = 3;
const REGION_HEAPW = 4;
const REGION_RESULT = 5;
const NO_CODES = { c0: 0, c1: 0, s2: 0 };

/** Nodes found by a layer search, nearest first. */
interface Found {
  d: Float64Array;
  id: Int32Array;
}

/** Relative cost of one filter call against one distance computation, for the filtered-search planner. */
const FILTER_COST = 0.25;
/** Items sampled to estimate a filter's selectivity. */
const SAMPLE = 256;
const MAX_LEVEL = 31;

/** An HNSW index over f32 vectors (optionally searched on int8 codes). See the file header for its invariants. */
export class HnswIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  readonly M: number;
  readonly M0: number;
  readonly efConstruction: number;
  efSearch: number;
  readonly seed: number;
  readonly compactRatio: number;
  readonly kernelKind: 'wasm' | 'ts';
  /** @internal */ readonly kernels: Kernels;
  private readonly mL: number;
  private readonly mc: number;
  private readonly arena: Arena;
  private readonly store: VectorStore;
  private readonly trainSize: number;
  private readonly rescore: number;
  private rng: Rng;

  private capacity = 0;
  private count = 0;
  private live = 0;
  private entry = -1;
  private maxLevel = -1;
  private levels = new Uint8Array(0);
  private deleted: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private links0: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private upperOff = new Int32Array(0);
  private upper = new Int32Array(0);
  private upperRows = 0;
  private slotIds: VectorId[] = [];
  private slotOf = new Map<VectorId, number>();
  private visited: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private epoch = 0;
  private readonly C = new MinHeap(256);
  private readonly W = new MaxHeap(256);
  private readonly R = new MaxHeap(64);
  /** Per-search counters (for explain). */
  private nDist = 0;
  private nExpanded = 0;
  /**
   * @internal How the level-0 search uses the kernels: `loop` (default: the whole unfiltered level-0 search inside
   * the kernel `search_layer`), `batch` (the loop in TypeScript, one kernel call per expanded node) or `single`
   * (one kernel call per distance). Only the benchmark changes it; results are the same in every mode.
   */
  kernelMode: 'loop' | 'batch' | 'single' = 'loop';

  /**
   * A new, empty index. For the WASM kernels use {@link HnswIndex.create} (or pass `kernels` from
   * {@link loadKernels}).
   * @throws RangeError / TypeError on bad options.
   */
  constructor(options: HnswOptions, trained?: QuantRange) {
    if (options === null || typeof options !== 'object') throw new TypeError('"options" expected an object');
    assertInt(options.dim, 'dim', 1, 65536);
    const metric = options.metric ?? 'cosine';
    assertMetric(metric);
    const M = options.M ?? 16;
    assertInt(M, 'M', 2, 128);
    const efC = options.efConstruction ?? 200;
    assertInt(efC, 'efConstruction', 1, 1 << 16);
    const efS = options.efSearch ?? 64;
    assertInt(efS, 'efSearch', 1, 1 << 16);
    const seed = options.seed ?? 0x5eed;
    assertInt(seed, 'seed', -(2 ** 31), 2 ** 32 - 1);
    const ratio = options.compactRatio ?? 0.5;
    if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) throw new RangeError(`"compactRatio" expected 0 < r <= 1, got ${ratio}`);
    const q = options.quantization;
    if (q !== undefined && (q === null || q.type !== 'int8')) throw new RangeError(`"quantization.type" expected 'int8'`);
    const trainSize = q?.trainSize ?? 1000;
    assertInt(trainSize, 'quantization.trainSize', 1, 2 ** 31 - 1);
    const rescore = q?.rescore ?? 4;
    assertInt(rescore, 'quantization.rescore', 1, 1024);
    const capacity = options.capacity ?? 1024;
    assertInt(capacity, 'capacity', 1, 2 ** 31 - 1);
    this.kernels = options.kernels ?? TS_KERNELS;
    this.kernelKind = this.kernels.kind;
    this.dim = options.dim;
    this.metric = metric;
    this.mc = metricCode(metric);
    this.M = M;
    this.M0 = 2 * M;
    this.mL = 1 / Math.log(M);
    this.efConstruction = Math.max(efC, M);
    this.efSearch = efS;
    this.seed = seed >>> 0;
    this.rng = new Rng(this.seed);
    this.compactRatio = ratio;
    this.trainSize = trainSize;
    this.rescore = rescore;
    this.arena = createArena(this.kernels, 1 << 16);
    // Extra arena regions, per slot: level-0 links, tombstone byte, visited mark, candidate heap, result heap,
    // result list (see REGION_*).
    this.store = new VectorStore(this.arena, this.dim, metric === 'cosine', q !== undefined, capacity, [
      (2 * M + 1) * 4, 1, 4, 8, 8, 8,
    ], trained, q !== undefined ? trainSize : Infinity);
    this.qcPtr = this.store.QC;
    this.grow(this.store.capacity);
  }

  /** A new index with the best available kernels (WASM SIMD when the runtime has it). */
  static async create(options: HnswOptions): Promise<HnswIndex> {
    return new HnswIndex({ ...options, kernels: options.kernels ?? (await loadKernels('auto')) });
  }

  /** Number of live vectors. */
  get size(): number {
    return this.live;
  }

  /** Whether int8 codes are trained and used by searches. */
  get quantized(): boolean {
    return this.store.quant !== undefined;
  }

  // ---------------------------------------------------------------------------------------------- storage

  /** Grows the per-slot JS arrays to `capacity` (the store has grown already) and re-points the arena views. */
  private grow(capacity: number): void {
    const old = this.capacity;
    if (capacity <= old) return;
    const levels = new Uint8Array(capacity);
    levels.set(this.levels);
    const upperOff = new Int32Array(capacity).fill(-1);
    upperOff.set(this.upperOff);
    this.levels = levels;
    this.upperOff = upperOff;
    if (this.upper.length === 0) this.upper = new Int32Array(Math.max(16, capacity >> 3) * (this.M + 1));
    this.capacity = capacity;
    this.views();
  }

  /** Re-points the views of the arena regions (after the store grew or moved its regions). */
  private views(): void {
    const s = this.store;
    const capacity = this.capacity;
    const buf = this.arena.u8.buffer;
    this.links0 = new Int32Array(buf, s.extra(REGION_LINKS0), capacity * (this.M0 + 1));
    this.deleted = new Uint8Array(buf, s.extra(REGION_TOMB), capacity);
    this.visited = new Uint32Array(buf, s.extra(REGION_VISITED), capacity);
    this.visited.fill(0);
    this.epoch = 0;
  }

  private ensureSlots(n: number): void {
    if (n <= this.capacity) return;
    this.store.ensure(n);
    this.grow(this.store.capacity);
  }

  private allocUpper(slot: number, level: number): void {
    if (level === 0) return;
    const need = (this.upperRows + level) * (this.M + 1);
    if (need > this.upper.length) {
      let n = this.upper.length;
      while (n < need) n *= 2;
      const u = new Int32Array(n);
      u.set(this.upper);
      this.upper = u;
    }
    this.upperOff[slot] = this.upperRows;
    this.upper.fill(0, this.upperRows * (this.M + 1), (this.upperRows + level) * (this.M + 1));
    this.upperRows += level;
  }

  /** The adjacency array holding node `n`'s list at level `lc`, and the list's base index (count at base). */
  private listArr(lc: number): Int32Array {
    return lc === 0 ? this.links0 : this.upper;
  }
  private listBase(n: number, lc: number): number {
    return lc === 0 ? n * (this.M0 + 1) : (this.upperOff[n] + lc - 1) * (this.M + 1);
  }

  private nextEpoch(): number {
    if (++this.epoch === 0xffffffff) {
      this.visited.fill(0);
      this.epoch = 1;
    }
    return this.epoch;
  }

  // ---------------------------------------------------------------------------------------------- distances

  /**
   * Distances from the query row (or row `qPtr`) to the `m` slots in the IDS scratch, into OUT.
   * `codes`: use int8 codes (query codes at QC) with constants `qc`.
   */
  private batch(qPtr: number, m: number, codes: boolean): void {
    const s = this.store;
    const k = this.arena.k;
    this.nDist += m;
    if (codes) {
      const c = this.qc;
      if (this.kernelMode === 'batch') {
        k.batch_i8(this.mc, this.qcPtr, s.CODES, s.codeStride, s.SUMS, s.IDS, m, s.OUT, c.c0, c.c1, c.s2);
      } else {
        const i32 = this.arena.i32;
        const f32 = this.arena.f32;
        const ids = s.IDS >> 2;
        const out = s.OUT >> 2;
        for (let i = 0; i < m; i++) {
          const id = i32[ids + i];
          const row = s.CODES + id * s.codeStride;
          f32[out + i] =
            this.mc === 0
              ? c.s2 * k.l2_i8(this.qcPtr, row, s.codeStride)
              : c.c0 - c.c1 * i32[(s.SUMS >> 2) + id] - c.s2 * k.dot_i8(this.qcPtr, row, s.codeStride);
        }
      }
      return;
    }
    if (this.kernelMode === 'batch') {
      k.batch_f32(this.mc, qPtr, s.VEC, s.strideBytes, s.IDS, m, s.OUT);
    } else {
      const i32 = this.arena.i32;
      const f32 = this.arena.f32;
      const ids = s.IDS >> 2;
      const out = s.OUT >> 2;
      for (let i = 0; i < m; i++) f32[out + i] = k.dist_f32(this.mc, qPtr, s.VEC + i32[ids + i] * s.strideBytes, s.stride);
    }
  }
  private qc = { c0: 0, c1: 0, s2: 0 };
  /** Where the int8 query codes are: QC (the query), or QC2 (a stored row's, while re-selecting). */
  private qcPtr = 0;

  /** Distance from the query row to slot `n`. */
  private distQ(n: number, codes: boolean): number {
    this.arena.i32[this.store.IDS >> 2] = n;
    this.batch(this.store.Q, 1, codes);
    return this.arena.f32[this.store.OUT >> 2];
  }

  /** Distance between two stored rows: f32, or int8 once quantised (invariant 8). */
  private distRows(a: number, b: number): number {
    this.nDist++;
    const s = this.store;
    const k = this.arena.k;
    if (s.resident) return k.dist_f32(this.mc, s.rowPtr(a), s.rowPtr(b), s.stride);
    const ca = s.CODES + a * s.codeStride;
    const cb = s.CODES + b * s.codeStride;
    const c = this.rowConsts(a);
    return this.mc === 0
      ? c.s2 * k.l2_i8(ca, cb, s.codeStride)
      : c.c0 - c.c1 * this.arena.i32[(s.SUMS >> 2) + b] - c.s2 * k.dot_i8(ca, cb, s.codeStride);
  }
  /** Kernel constants with stored row `a` as the query. */
  private rowConsts(a: number): { c0: number; c1: number; s2: number } {
    const s = this.store;
    return queryConstants(s.quant!, s.dim, this.arena.i32[(s.SUMS >> 2) + a]);
  }

  // ---------------------------------------------------------------------------------------------- search core

  /** Greedy descent at level `lc` (ef = 1): returns the nearest node found; its distance in `this.gd`. */
  private greedy(ep: number, epDist: number, lc: number, codes: boolean): number {
    const s = this.store;
    let cur = ep;
    let curDist = epDist;
    for (let changed = true; changed; ) {
      changed = false;
      const arr = this.listArr(lc);
      const base = this.listBase(cur, lc);
      const n = arr[base];
      if (n === 0) break;
      const i32 = this.arena.i32;
      const ids = s.IDS >> 2;
      for (let j = 0; j < n; j++) i32[ids + j] = arr[base + 1 + j];
      this.nExpanded++;
      this.batch(s.Q, n, codes);
      const f32 = this.arena.f32;
      const out = s.OUT >> 2;
      for (let j = 0; j < n; j++) {
        const d = f32[out + j];
        if (d < curDist) {
          curDist = d;
          cur = i32[ids + j];
          changed = true;
        }
      }
    }
    this.gd = curDist;
    return cur;
  }
  private gd = 0;

  /**
   * Algorithm 2 (SEARCH-LAYER) with ef, at level `lc`, from `ep`. Leaves the result set in `this.W` (max-heap of
   * at most ef accepted nodes). A node is accepted when it is live (invariant 5) and passes `filter` (called with
   * the caller id). While fewer than ef nodes are accepted the search keeps expanding, so a filter is applied
   * inside the loop rather than by over-fetching.
   */
  private searchLayer(ep: number, epDist: number, ef: number, lc: number, codes: boolean, filter?: (id: VectorId) => boolean): Found {
    const s = this.store;
    if (lc === 0 && filter === undefined && this.kernelMode === 'loop') {
      const c = codes ? this.qc : NO_CODES;
      const n = this.arena.k.search_layer(
        this.mc, s.Q, s.VEC, s.strideBytes, s.extra(REGION_LINKS0), this.M0 + 1, s.extra(REGION_TOMB),
        s.extra(REGION_VISITED), this.nextEpoch(), ep, epDist, ef, s.extra(REGION_HEAPC), s.extra(REGION_HEAPW),
        s.extra(REGION_RESULT), s.STATS, codes ? s.CODES : 0, s.codeStride, s.SUMS, s.QC, c.c0, c.c1, c.s2,
      );
      const f32 = this.arena.f32;
      const i32 = this.arena.i32;
      this.nExpanded += i32[s.STATS >> 2];
      this.nDist += i32[(s.STATS >> 2) + 1];
      const r = s.extra(REGION_RESULT) >> 2;
      const d = new Float64Array(n);
      const id = new Int32Array(n);
      for (let j = 0; j < n; j++) {
        d[j] = f32[r + 2 * j];
        id[j] = i32[r + 2 * j + 1];
      }
      return { d, id };
    }
    const visited = this.visited;
    const mark = this.nextEpoch();
    const deleted = this.deleted;
    const slotIds = this.slotIds;
    const C = this.C;
    const W = this.W;
    C.clear();
    W.clear();
    visited[ep] = mark;
    C.push(epDist, ep);
    if (deleted[ep] === 0 && (filter === undefined || filter(slotIds[ep]))) W.push(epDist, ep);
    let bound = W.size > 0 ? W.topDist() : Infinity;
    const arr = this.listArr(lc);
    const ids = s.IDS >> 2;
    const out = s.OUT >> 2;
    const M1 = lc === 0 ? this.M0 + 1 : this.M + 1;
    const upperOff = this.upperOff;
    while (C.size > 0) {
      const cd = C.topDist();
      if (cd > bound && W.size >= ef) break;
      const c = C.topId();
      C.pop();
      const base = lc === 0 ? c * M1 : (upperOff[c] + lc - 1) * M1;
      const n = arr[base];
      const i32 = this.arena.i32;
      let m = 0;
      for (let j = 1; j <= n; j++) {
        const e = arr[base + j];
        if (visited[e] !== mark) {
          visited[e] = mark;
          i32[ids + m++] = e;
        }
      }
      this.nExpanded++;
      if (m === 0) continue;
      this.batch(s.Q, m, codes);
      const f32 = this.arena.f32;
      for (let j = 0; j < m; j++) {
        const d = f32[out + j];
        if (W.size < ef || d < bound) {
          const e = i32[ids + j];
          C.push(d, e);
          if (deleted[e] === 0 && (filter === undefined || filter(slotIds[e]))) {
            W.push(d, e);
            if (W.size > ef) W.pop();
            bound = W.topDist();
          }
        }
      }
    }
    return W.drainSorted();
  }

  /**
   * Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC), without extending candidates and without keeping pruned
   * connections (hnswlib's choice): walk candidates nearest first and keep one only if it is nearer to the base
   * than to every candidate kept so far. `cd`/`cid` are sorted ascending; returns the count kept (written to the
   * front of `cid`/`cd`).
   */
  private heuristic(cd: Float64Array, cid: Int32Array, n: number, max: number): number {
    if (n <= max) return n;
    let kept = 0;
    for (let i = 0; i < n && kept < max; i++) {
      const e = cid[i];
      const d = cd[i];
      let good = true;
      for (let j = 0; j < kept; j++) {
        if (this.distRows(e, cid[j]) < d) {
          good = false;
          break;
        }
      }
      if (good) {
        cid[kept] = e;
        cd[kept] = d;
        kept++;
      }
    }
    return kept;
  }

  /** Sets node `n`'s list at level `lc` to the first `m` entries of `sel`. */
  private setList(n: number, lc: number, sel: Int32Array, m: number): void {
    const arr = this.listArr(lc);
    const base = this.listBase(n, lc);
    arr[base] = m;
    for (let j = 0; j < m; j++) arr[base + 1 + j] = sel[j];
    arr.fill(0, base + 1 + m, base + 1 + (lc === 0 ? this.M0 : this.M)); // unused slots are zero (saved files too)
  }

  private readonly tmpD = new Float64Array(2 * 256 + 2);
  private readonly tmpI = new Int32Array(2 * 256 + 2);

  /**
   * Re-selects node `n`'s list at level `lc` from `cands` (slots, may include duplicates, `n`, tombstones: those
   * are dropped) with the heuristic, capped at the level's maximum.
   */
  private reselect(n: number, lc: number, cands: Int32Array, m: number): void {
    const s = this.store;
    const max = lc === 0 ? this.M0 : this.M;
    // Deduplicate using the visited marks.
    const mark = this.nextEpoch();
    const visited = this.visited;
    visited[n] = mark;
    const i32 = this.arena.i32;
    const ids = s.IDS >> 2;
    let u = 0;
    for (let j = 0; j < m; j++) {
      const e = cands[j];
      if (visited[e] === mark || this.deleted[e] !== 0) continue;
      visited[e] = mark;
      i32[ids + u++] = e;
    }
    if (s.resident) this.batch(s.rowPtr(n), u, false);
    else {
      // Row n as the query, on its codes (invariant 8); the current query's codes stay in QC.
      const saved = this.qc;
      this.qc = s.setQuery2FromCodes(n);
      this.qcPtr = s.QC2;
      this.batch(0, u, true);
      this.qc = saved;
      this.qcPtr = s.QC;
    }
    const f32 = this.arena.f32;
    const out = s.OUT >> 2;
    // Sort by distance (insertion sort: u ≤ 2·M0 + 1).
    const cd = this.tmpD;
    const cid = this.tmpI;
    for (let j = 0; j < u; j++) {
      const d = f32[out + j];
      const e = i32[ids + j];
      let p = j;
      while (p > 0 && (cd[p - 1] > d || (cd[p - 1] === d && cid[p - 1] > e))) {
        cd[p] = cd[p - 1];
        cid[p] = cid[p - 1];
        p--;
      }
      cd[p] = d;
      cid[p] = e;
    }
    const kept = this.heuristic(cd, cid, u, max);
    this.setList(n, lc, cid, kept);
  }

  /** Algorithm 1 (INSERT) for the row already stored at `slot`. */
  private insertSlot(slot: number): void {
    let level = Math.floor(-Math.log(1 - this.rng.next()) * this.mL);
    if (level > MAX_LEVEL) level = MAX_LEVEL;
    this.levels[slot] = level;
    this.links0.fill(0, slot * (this.M0 + 1), (slot + 1) * (this.M0 + 1));
    this.upperOff[slot] = -1;
    this.allocUpper(slot, level);
    if (this.entry < 0) {
      this.entry = slot;
      this.maxLevel = level;
      return;
    }
    const s = this.store;
    s.setQueryFromRow(slot);
    const codes = !s.resident;
    if (codes) {
      this.qc = s.constants();
      this.qcPtr = s.QC;
    }
    let ep = this.entry;
    let epDist = this.distQ(ep, codes);
    for (let lc = this.maxLevel; lc > level; lc--) {
      ep = this.greedy(ep, epDist, lc, codes);
      epDist = this.gd;
    }
    const cd = this.tmpD;
    const cid = this.tmpI;
    const cand = new Int32Array(this.M0 + 2);
    for (let lc = Math.min(level, this.maxLevel); lc >= 0; lc--) {
      const found = this.searchLayer(ep, epDist, this.efConstruction, lc, codes);
      if (found.id.length === 0) continue; // every node reached is a tombstone: leave this level empty
      ep = found.id[0];
      epDist = found.d[0];
      const n = Math.min(found.id.length, cd.length);
      for (let j = 0; j < n; j++) {
        cd[j] = found.d[j];
        cid[j] = found.id[j];
      }
      const kept = this.heuristic(cd, cid, n, this.M);
      const sel = cid.slice(0, kept);
      this.setList(slot, lc, sel, kept);
      const max = lc === 0 ? this.M0 : this.M;
      for (let j = 0; j < kept; j++) {
        const e = sel[j];
        const arr = this.listArr(lc);
        const base = this.listBase(e, lc);
        const cnt = arr[base];
        if (cnt < max) {
          arr[base + 1 + cnt] = slot;
          arr[base] = cnt + 1;
        } else {
          for (let t = 0; t < cnt; t++) cand[t] = arr[base + 1 + t];
          cand[cnt] = slot;
          this.reselect(e, lc, cand, cnt + 1);
        }
      }
      // The query row is still the new node's: reselect only touched the scratch ids and outputs.
    }
    if (level > this.maxLevel) {
      this.entry = slot;
      this.maxLevel = level;
    }
  }

  // ---------------------------------------------------------------------------------------------- mutations

  /** @inheritDoc */
  add(id: VectorId, vector: VectorLike): void {
    assertId(id);
    assertVector(vector, this.dim);
    if (this.slotOf.has(id)) throw new RangeError(`"id" ${JSON.stringify(id)} is already in the index (use update or set)`);
    const slot = this.count;
    this.ensureSlots(slot + 1);
    this.store.setRow(slot, vector);
    this.store.setRows(++this.count);
    this.deleted[slot] = 0;
    this.slotIds[slot] = id;
    this.slotOf.set(id, slot);
    this.live++;
    if (this.store.quantize && !this.store.quant && this.count >= this.trainSize) {
      this.store.train();
      this.views(); // training moved the regions after VEC (invariant 2 of _store.ts)
    }
    this.insertSlot(slot);
  }

  /**
   * Replaces the vector of `id`: the old node becomes a tombstone (with neighbour repair, invariant 5) and the new
   * vector is inserted as a new node. @inheritDoc
   */
  update(id: VectorId, vector: VectorLike): void {
    assertId(id);
    assertVector(vector, this.dim);
    if (!this.slotOf.has(id)) throw new RangeError(`"id" ${JSON.stringify(id)} is not in the index (use add or set)`);
    this.removeSlot(this.slotOf.get(id)!);
    this.add(id, vector);
    this.maybeCompact();
  }

  /** @inheritDoc */
  set(id: VectorId, vector: VectorLike): void {
    assertId(id);
    if (this.slotOf.has(id)) this.update(id, vector);
    else this.add(id, vector);
  }

  /** @inheritDoc */
  remove(id: VectorId): boolean {
    assertId(id);
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.removeSlot(slot);
    this.maybeCompact();
    return true;
  }

  private removeSlot(d: number): void {
    this.slotOf.delete(this.slotIds[d]);
    this.deleted[d] = 1;
    this.live--;
    // Neighbour repair (invariant 5).
    const cand = new Int32Array(2 * this.M0 + 2);
    for (let lc = 0; lc <= this.levels[d]; lc++) {
      const arr = this.listArr(lc);
      const dBase = this.listBase(d, lc);
      const dn = arr[dBase];
      for (let j = 0; j < dn; j++) {
        const n = arr[dBase + 1 + j];
        if (this.deleted[n] !== 0) continue;
        const nBase = this.listBase(n, lc);
        const nn = arr[nBase];
        let links = false;
        for (let t = 0; t < nn; t++) if (arr[nBase + 1 + t] === d) links = true;
        if (!links) continue;
        let m = 0;
        for (let t = 0; t < nn; t++) cand[m++] = arr[nBase + 1 + t];
        for (let t = 0; t < dn; t++) cand[m++] = arr[dBase + 1 + t];
        this.reselect(n, lc, cand, m);
      }
    }
    if (d === this.entry) this.pickEntry();
  }

  /** Restores invariant 4 after the entry point was deleted. */
  private pickEntry(): void {
    let best = -1;
    let level = -1;
    for (let s = 0; s < this.count; s++) {
      if (this.deleted[s] === 0 && this.levels[s] > level) {
        best = s;
        level = this.levels[s];
      }
    }
    this.entry = best;
    this.maxLevel = level;
  }

  private maybeCompact(): void {
    const tomb = this.count - this.live;
    if (tomb > 0 && tomb >= this.compactRatio * this.count && this.count >= 32) this.compact();
  }

  /**
   * Rebuilds the graph from the live vectors in slot order, dropping tombstones (invariant 6). Ids are kept;
   * slots are renumbered. Costs a full build: O(n log n) distance computations.
   */
  compact(): void {
    const s = this.store;
    let w = 0;
    const ids: VectorId[] = [];
    for (let r = 0; r < this.count; r++) {
      if (this.deleted[r] !== 0) continue;
      if (w !== r) s.copyRow(r, w);
      ids.push(this.slotIds[r]);
      w++;
    }
    this.count = w;
    s.setRows(w);
    this.slotIds = ids;
    this.slotOf = new Map(ids.map((id, i) => [id, i]));
    this.deleted.fill(0);
    this.live = w;
    this.entry = -1;
    this.maxLevel = -1;
    this.upperRows = 0;
    for (let r = 0; r < w; r++) this.insertSlot(r);
  }

  // ---------------------------------------------------------------------------------------------- queries

  /** @inheritDoc */
  has(id: VectorId): boolean {
    return this.slotOf.has(id);
  }

  /** @inheritDoc */
  get(id: VectorId): Float32Array | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.store.getRow(slot);
  }

  /** @inheritDoc */
  ids(): VectorId[] {
    const out: VectorId[] = [];
    for (let s = 0; s < this.count; s++) if (this.deleted[s] === 0) out.push(this.slotIds[s]);
    return out;
  }

  /** @inheritDoc */
  search(query: VectorLike, options: SearchOptions): SearchHit[] {
    return this.explain(query, options).hits;
  }

  /**
   * k-NN search (Algorithm 5: greedy descent through the upper levels, then SEARCH-LAYER at level 0 with
   * ef = max(ef_search, k)), filtered when `options.filter` is given:
   * - the filter's selectivity is estimated on a seeded sample of live items; when the estimated cost of a graph
   *   search that must see ef matching items exceeds that of evaluating the filter on every item (cost model in
   *   docs/vector.md), the search is **filter-then-flat**: exact over the matching items;
   * - otherwise the graph search applies the filter inside its loop and keeps expanding until ef matching items
   *   are in the result set (or the reachable graph is exhausted).
   * @throws RangeError / TypeError on a bad query or options.
   */
  explain(query: VectorLike, options: SearchOptions): { hits: SearchHit[]; plan: SearchPlan } {
    assertVector(query, this.dim, 'query');
    assertSearch(options);
    const k = options.k;
    const filter = options.filter;
    const s = this.store;
    const codes = s.quant !== undefined;
    let ef = Math.max(options.ef ?? this.efSearch, k);
    if (codes) ef = Math.max(ef, k * this.rescore);
    this.qcPtr = s.QC;
    this.nDist = 0;
    this.nExpanded = 0;
    const plan: SearchPlan = {
      index: 'hnsw', strategy: filter ? 'hnsw-filtered' : 'hnsw', size: this.live, ef, quantized: codes, distances: 0,
      expanded: 0, reason: '',
    };
    if (this.live === 0) {
      plan.reason = 'empty index';
      return { hits: [], plan };
    }
    s.setQuery(query);
    if (codes) this.qc = s.constants();
    if (filter) {
      const sel = this.estimateSelectivity(filter);
      plan.selectivity = sel;
      const flatCost = this.live * FILTER_COST + sel * this.live;
      const graphNodes = Math.min(this.live, sel > 0 ? ef / sel : Infinity);
      const graphCost = graphNodes * (this.M0 / 2) * (1 + FILTER_COST / 2);
      const forced = options.filterStrategy ?? 'auto';
      if (forced === 'flat' || (forced === 'auto' && flatCost <= graphCost)) {
        plan.strategy = 'filter-then-flat';
        plan.reason =
          forced === 'flat'
            ? 'filterStrategy flat: exact scan of the matches'
            : `estimated ${(sel * 100).toPrecision(3)}% of ${this.live} items match: exact scan of the matches (cost ${Math.round(flatCost)} <= graph ${Math.round(graphCost)})`;
        const hits = this.flatFiltered(k, filter);
        plan.distances = this.nDist;
        plan.expanded = 0;
        return { hits, plan };
      }
      plan.reason =
        forced === 'graph'
          ? 'filterStrategy graph: graph search filtering inside the loop'
          : `estimated ${(sel * 100).toPrecision(3)}% of ${this.live} items match: graph search filtering inside the loop (cost ${Math.round(graphCost)} < flat ${Math.round(flatCost)})`;
    } else {
      plan.reason = `graph search, ef_search=${ef}`;
    }
    let ep = this.entry;
    let epDist = this.distQ(ep, codes);
    for (let lc = this.maxLevel; lc > 0; lc--) {
      ep = this.greedy(ep, epDist, lc, codes);
      epDist = this.gd;
    }
    const found = this.searchLayer(ep, epDist, ef, 0, codes, filter);
    let hits: SearchHit[];
    if (codes) {
      // Rescore the best k × rescore candidates with their f32 rows (invariant 8).
      const top = this.rescoreTop(found.id, Math.min(found.id.length, k * this.rescore), k);
      plan.rescored = Math.min(found.id.length, k * this.rescore);
      hits = Array.from(top.id, (slot, j) => ({ id: this.slotIds[slot], distance: top.d[j] }));
    } else {
      const n = Math.min(k, found.id.length);
      hits = new Array(n);
      for (let j = 0; j < n; j++) hits[j] = { id: this.slotIds[found.id[j]], distance: found.d[j] };
    }
    plan.distances = this.nDist;
    plan.expanded = this.nExpanded;
    return { hits, plan };
  }

  /**
   * Exact f32 distances from the query row to the first `n` slots of `slots`, read from the row source into the
   * scratch (codes mode) a batch at a time; returns the best `k`, nearest first.
   * @throws IoError when a row cannot be read from the index file.
   */
  private rescoreTop(slots: Int32Array, n: number, k: number): { d: Float64Array; id: Int32Array } {
    const s = this.store;
    const R = this.R;
    R.clear();
    for (let off = 0; off < n; off += SCRATCH) {
      const m = Math.min(SCRATCH, n - off);
      s.loadScratch(slots, off, m);
      for (let j = 0; j < m; j++) this.arena.i32[(s.IDS >> 2) + j] = j;
      this.nDist += m;
      this.arena.k.batch_f32(this.mc, s.Q, s.VEC, s.strideBytes, s.IDS, m, s.OUT);
      const f32 = this.arena.f32;
      for (let j = 0; j < m; j++) {
        const d = f32[(s.OUT >> 2) + j];
        if (R.size < k || d < R.topDist()) {
          R.push(d, slots[off + j]);
          if (R.size > k) R.pop();
        }
      }
    }
    return R.drainSorted();
  }

  /** Fraction of live items passing `filter`, exact when there are at most SAMPLE slots, else sampled (seeded). */
  private estimateSelectivity(filter: (id: VectorId) => boolean): number {
    if (this.count <= SAMPLE) {
      let pass = 0;
      for (let r = 0; r < this.count; r++) if (this.deleted[r] === 0 && filter(this.slotIds[r])) pass++;
      return pass / this.live;
    }
    const rng = new Rng(this.seed ^ this.count);
    let seen = 0;
    let pass = 0;
    for (let t = 0; t < SAMPLE * 4 && seen < SAMPLE; t++) {
      const r = Math.floor(rng.next() * this.count);
      if (this.deleted[r] !== 0) continue;
      seen++;
      if (filter(this.slotIds[r])) pass++;
    }
    return seen === 0 ? 0 : pass / seen;
  }

  /**
   * k-NN among live items passing `filter`: exact with f32 rows; in codes mode, on int8 codes, then the best
   * max(k × rescore, 64) rescored with f32 (exact whenever the true k nearest are among them, and always when at
   * most that many items match).
   */
  private flatFiltered(k: number, filter: (id: VectorId) => boolean): SearchHit[] {
    const s = this.store;
    const codes = !s.resident;
    const keep = codes ? Math.max(k * this.rescore, 64) : k;
    const R = this.R;
    R.clear();
    const ids = s.IDS >> 2;
    let m = 0;
    const flush = (): void => {
      this.batch(s.Q, m, codes);
      const f32 = this.arena.f32;
      const i32 = this.arena.i32;
      for (let j = 0; j < m; j++) {
        const d = f32[(s.OUT >> 2) + j];
        if (R.size < keep || d < R.topDist()) {
          R.push(d, i32[ids + j]);
          if (R.size > keep) R.pop();
        }
      }
      m = 0;
    };
    for (let r = 0; r < this.count; r++) {
      if (this.deleted[r] !== 0 || !filter(this.slotIds[r])) continue;
      this.arena.i32[ids + m++] = r;
      if (m === BATCH) flush();
    }
    if (m > 0) flush();
    let top = R.drainSorted();
    if (codes && top.id.length > 0) top = this.rescoreTop(top.id, top.id.length, k);
    return Array.from(top.id, (slot, j) => ({ id: this.slotIds[slot], distance: top.d[j] }));
  }

  /** @inheritDoc */
  memory(): MemoryReport {
    const b = this.store.bytes();
    const graph =
      this.count * (this.M0 + 1) * 4 + this.upperRows * (this.M + 1) * 4 + this.count * (1 + 1 + 4 + 4);
    let ids = 0;
    for (let s = 0; s < this.count; s++) {
      const id = this.slotIds[s];
      ids += typeof id === 'string' ? 16 + 2 * id.length : 8;
    }
    ids += this.live * 40; // Map entry overhead, estimated
    return { vectors: b.vectors, codes: b.codes, graph, ids, total: b.vectors + b.codes + graph + ids, onStorage: b.onStorage };
  }

  /**
   * @inheritDoc
   * With int8 trained, the index then reads its f32 rows from the saved file (and frees the rows it held in
   * memory): keep the file; {@link HnswIndex.close} releases it.
   */
  async save(fs: FileSystem, path: string): Promise<void> {
    const s = this.store;
    const snapshot = s.resident ? undefined : s.rowsSrc.snapshot(this.count);
    const count = this.count;
    // Codes mode: the rows are read from the row source straight into the file's bytes (held once, not twice).
    const bytes = s.resident
      ? encodeIndexV1({ kind: 'hnsw', hnsw: this.exportState() })
      : encodeIndexWith({ kind: 'hnsw', hnsw: this.exportState(false) }, { length: count * this.dim * 4, fill: (dst) => s.rowsSrc.readRange(0, count, dst, 0) });
    await saveAttached(fs, path, bytes, s.resident ? undefined : s.rowsSrc, snapshot, this.count);
  }

  /** Releases the index file rows are read from (int8); the index must not be used afterwards. Idempotent. */
  async close(): Promise<void> {
    await this.store.rowsSrc.close();
  }

  // ---------------------------------------------------------------------------------------------- persistence

  /**
   * @internal Snapshot of the state for `format.ts`. Arrays are copies trimmed to `count`. `withVectors` false:
   * `vectors` is empty (a save fills the file's rows from the row source itself).
   */
  exportState(withVectors = true): HnswState {
    const s = this.store;
    const vectors = new Float32Array(withVectors ? this.count * this.dim : 0);
    if (withVectors && s.resident) {
      for (let r = 0; r < this.count; r++) vectors.set(this.arena.f32.subarray(s.rowPtr(r) >> 2, (s.rowPtr(r) >> 2) + this.dim), r * this.dim);
    } else if (withVectors) s.rowsSrc.readRange(0, this.count, vectors, 0);
    // Upper rows in slot order then level order (allocation order may differ after nothing; rebuild it).
    const M1 = this.M + 1;
    const upper = new Int32Array(this.upperRowsLive() * M1);
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      const L = this.levels[r];
      if (L === 0) continue;
      const from = this.upperOff[r] * M1;
      upper.set(this.upper.subarray(from, from + L * M1), w);
      w += L * M1;
    }
    return {
      dim: this.dim, metric: this.metric, M: this.M, efConstruction: this.efConstruction, efSearch: this.efSearch,
      seed: this.seed, rngState: this.rng.state, compactRatio: this.compactRatio, count: this.count, entry: this.entry,
      maxLevel: this.maxLevel, trainSize: this.trainSize, rescore: this.rescore, quantized: s.quantize,
      quantRange: s.quant ? { ...s.quant } : undefined, slotIds: this.slotIds.slice(0, this.count), vectors,
      levels: this.levels.slice(0, this.count), deleted: this.deleted.slice(0, this.count),
      links0: this.links0.slice(0, this.count * (this.M0 + 1)), upper,
    };
  }

  private upperRowsLive(): number {
    let n = 0;
    for (let r = 0; r < this.count; r++) n += this.levels[r];
    return n;
  }

  /**
   * @internal Rebuilds an index from a decoded, structurally checked state (`format.ts` checks invariants 1-4
   * before calling this). With `rows` (a trained int8 index opened from its file, `st.vectors` empty), the f32
   * rows stay in the file: `rows.load` streams them once to compute the codes, and later reads go to `rows.file`.
   */
  static fromState(st: HnswState, kernels: Kernels, rows?: ExternalRows): HnswIndex {
    const idx = new HnswIndex({
      dim: st.dim, metric: st.metric, M: st.M, efConstruction: st.efConstruction, efSearch: st.efSearch,
      seed: st.seed | 0, compactRatio: st.compactRatio, kernels, capacity: Math.max(16, st.count),
      quantization: st.quantized ? { type: 'int8', trainSize: st.trainSize, rescore: st.rescore } : undefined,
    }, st.quantRange);
    idx.rng.state = st.rngState >>> 0;
    idx.ensureSlots(st.count);
    const s = idx.store;
    if (rows !== undefined) {
      loadExternal(s, st.count, rows);
    } else if (st.quantRange !== undefined) {
      loadRows(s, st.count, st.vectors); // codes mode, rows in memory until the next save
    } else {
      for (let r = 0; r < st.count; r++) {
        // Rows were saved as stored (normalised for cosine): write them back raw.
        const at = s.rowPtr(r) >> 2;
        idx.arena.f32.set(st.vectors.subarray(r * st.dim, (r + 1) * st.dim), at);
        idx.arena.f32.fill(0, at + st.dim, at + s.stride);
      }
      s.setRows(st.count);
    }
    idx.count = st.count;
    idx.levels.set(st.levels);
    idx.deleted.set(st.deleted);
    idx.links0.set(st.links0);
    let rowsNeeded = 0;
    for (let r = 0; r < st.count; r++) rowsNeeded += st.levels[r];
    const M1 = st.M + 1;
    if (idx.upper.length < rowsNeeded * M1) idx.upper = new Int32Array(Math.max(rowsNeeded * M1, idx.upper.length * 2));
    idx.upper.set(st.upper);
    let row = 0;
    for (let r = 0; r < st.count; r++) {
      if (st.levels[r] > 0) {
        idx.upperOff[r] = row;
        row += st.levels[r];
      }
    }
    idx.upperRows = row;
    idx.slotIds = st.slotIds.slice();
    idx.live = 0;
    for (let r = 0; r < st.count; r++) {
      if (st.deleted[r] === 0) {
        idx.slotOf.set(st.slotIds[r], r);
        idx.live++;
      }
    }
    idx.entry = st.entry;
    idx.maxLevel = st.maxLevel;
    return idx;
  }
}
