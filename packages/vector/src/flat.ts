/**
 * The flat (brute-force) index: exact k-NN by scanning every vector. It is the reference that HNSW recall is
 * measured against, and the index {@link AutoIndex} uses below its size threshold.
 *
 * Invariants:
 * 1. Slots 0..count-1 are all live (removal moves the last row into the hole), and `slotOf` maps each id to its
 *    slot, `slotIds[s]` the id of slot s.
 * 2. Results are exact under the metric: with quantisation trained, the scan ranks by int8 distance and the best
 *    max(k × rescore, 64) candidates are rescored with f32, so results are exact whenever the true top k are among
 *    those candidates (reported distances are always f32).
 * 3. With quantisation trained, only the int8 codes are in memory; the f32 rows are read for the rescored
 *    candidates from the index file (or the in-memory tail of rows written since the last save), as in HNSW
 *    (`_store.ts`, `_rows.ts`).
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';
import type { QuantRange } from './_quantize.js';
import { loadExternal, loadRows, saveAttached, type ExternalRows } from './_save.js';
import { assertId, assertInt, assertMetric, assertSearch, assertVector, metricCode } from './_assert.js';
import type { Arena } from './_arena.js';
import { MaxHeap } from './_heap.js';
import { BATCH, SCRATCH, VectorStore } from './_store.js';
import { encodeIndexV1, encodeIndexWith, type FlatState } from './format.js';
import { createArena, loadKernels, TS_KERNELS, type Kernels } from './kernels.js';
import type {
  IndexOptions, MemoryReport, Metric, SearchHit, SearchOptions, SearchPlan, VectorId, VectorIndex, VectorLike,
} from './types.js';

/** Options for {@link FlatIndex}. */
export interface FlatOptions extends IndexOptions {
  /** Kernels to compute distances with (see {@link loadKernels}); default the TypeScript kernels. */
  kernels?: Kernels;
}

/** Exact k-NN over a contiguous slab of vectors. */
export class FlatIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  readonly kernelKind: 'wasm' | 'ts';
  /** @internal */ readonly kernels: Kernels;
  private readonly mc: number;
  private readonly arena: Arena;
  private readonly store: VectorStore;
  private readonly trainSize: number;
  private readonly rescore: number;
  private count = 0;
  private slotIds: VectorId[] = [];
  private slotOf = new Map<VectorId, number>();
  private readonly heap = new MaxHeap(64);
  private nDist = 0;

  /** @throws RangeError / TypeError on bad options. */
  constructor(options: FlatOptions, trained?: QuantRange) {
    if (options === null || typeof options !== 'object') throw new TypeError('"options" expected an object');
    assertInt(options.dim, 'dim', 1, 65536);
    const metric = options.metric ?? 'cosine';
    assertMetric(metric);
    const q = options.quantization;
    if (q !== undefined && (q === null || q.type !== 'int8')) throw new RangeError(`"quantization.type" expected 'int8'`);
    this.trainSize = q?.trainSize ?? 1000;
    assertInt(this.trainSize, 'quantization.trainSize', 1, 2 ** 31 - 1);
    this.rescore = q?.rescore ?? 4;
    assertInt(this.rescore, 'quantization.rescore', 1, 1024);
    const capacity = options.capacity ?? 1024;
    assertInt(capacity, 'capacity', 1, 2 ** 31 - 1);
    this.kernels = options.kernels ?? TS_KERNELS;
    this.kernelKind = this.kernels.kind;
    this.dim = options.dim;
    this.metric = metric;
    this.mc = metricCode(metric);
    this.arena = createArena(this.kernels, 1 << 16);
    this.store = new VectorStore(this.arena, this.dim, metric === 'cosine', q !== undefined, capacity, [], trained, q !== undefined ? this.trainSize : Infinity);
  }

  /** A new flat index with the best available kernels. */
  static async create(options: FlatOptions): Promise<FlatIndex> {
    return new FlatIndex({ ...options, kernels: options.kernels ?? (await loadKernels('auto')) });
  }

  get size(): number {
    return this.count;
  }

  /** Whether int8 codes are trained and used by searches. */
  get quantized(): boolean {
    return this.store.quant !== undefined;
  }

  /** @inheritDoc */
  add(id: VectorId, vector: VectorLike): void {
    assertId(id);
    assertVector(vector, this.dim);
    if (this.slotOf.has(id)) throw new RangeError(`"id" ${JSON.stringify(id)} is already in the index (use update or set)`);
    const slot = this.count;
    this.store.ensure(slot + 1);
    this.store.setRow(slot, vector);
    this.store.setRows(++this.count);
    this.slotIds[slot] = id;
    this.slotOf.set(id, slot);
    if (this.store.quantize && !this.store.quant && this.count >= this.trainSize) this.store.train();
  }

  /** @inheritDoc */
  update(id: VectorId, vector: VectorLike): void {
    assertId(id);
    assertVector(vector, this.dim);
    const slot = this.slotOf.get(id);
    if (slot === undefined) throw new RangeError(`"id" ${JSON.stringify(id)} is not in the index (use add or set)`);
    this.store.setRow(slot, vector);
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
    this.slotOf.delete(id);
    const last = this.count - 1;
    if (slot !== last) {
      this.store.copyRow(last, slot);
      const moved = this.slotIds[last];
      this.slotIds[slot] = moved;
      this.slotOf.set(moved, slot);
    }
    this.slotIds.length = last;
    this.count = last;
    this.store.setRows(last);
    return true;
  }

  has(id: VectorId): boolean {
    return this.slotOf.has(id);
  }

  get(id: VectorId): Float32Array | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.store.getRow(slot);
  }

  ids(): VectorId[] {
    return this.slotIds.slice(0, this.count);
  }

  search(query: VectorLike, options: SearchOptions): SearchHit[] {
    return this.explain(query, options).hits;
  }

  /** Exact scan (filter evaluated on every item first when given). @throws RangeError / TypeError. */
  explain(query: VectorLike, options: SearchOptions): { hits: SearchHit[]; plan: SearchPlan } {
    assertVector(query, this.dim, 'query');
    assertSearch(options);
    const k = options.k;
    const filter = options.filter;
    const s = this.store;
    const codes = s.quant !== undefined;
    this.nDist = 0;
    s.setQuery(query);
    const keep = codes ? Math.max(k * this.rescore, 64) : k;
    const H = this.heap;
    H.clear();
    const ids = s.IDS >> 2;
    const out = s.OUT >> 2;
    const k8 = codes ? s.constants() : undefined;
    let matched = 0;
    const run = (m: number): void => {
      const kr = this.arena.k;
      if (codes) kr.batch_i8(this.mc, s.QC, s.CODES, s.codeStride, s.SUMS, s.IDS, m, s.OUT, k8!.c0, k8!.c1, k8!.s2);
      else kr.batch_f32(this.mc, s.Q, s.VEC, s.strideBytes, s.IDS, m, s.OUT);
      this.nDist += m;
      const f32 = this.arena.f32;
      const i32 = this.arena.i32;
      for (let j = 0; j < m; j++) {
        const d = f32[out + j];
        if (H.size < keep || d < H.topDist()) {
          H.push(d, i32[ids + j]);
          if (H.size > keep) H.pop();
        }
      }
    };
    if (filter) {
      let m = 0;
      for (let r = 0; r < this.count; r++) {
        if (!filter(this.slotIds[r])) continue;
        matched++;
        this.arena.i32[ids + m++] = r;
        if (m === BATCH) {
          run(m);
          m = 0;
        }
      }
      if (m > 0) run(m);
    } else if (!codes) {
      for (let r = 0; r < this.count; r += BATCH) {
        const m = Math.min(BATCH, this.count - r);
        this.arena.k.scan_f32(this.mc, s.Q, s.VEC, s.strideBytes, r, m, s.OUT);
        this.nDist += m;
        const f32 = this.arena.f32;
        for (let j = 0; j < m; j++) {
          const d = f32[out + j];
          if (H.size < k || d < H.topDist()) {
            H.push(d, r + j);
            if (H.size > k) H.pop();
          }
        }
      }
    } else {
      for (let r = 0; r < this.count; r += BATCH) {
        const m = Math.min(BATCH, this.count - r);
        const i32 = this.arena.i32;
        for (let j = 0; j < m; j++) i32[ids + j] = r + j;
        run(m);
      }
    }
    let top = H.drainSorted();
    if (codes && top.id.length > 0) {
      // Rescore the candidates with their f32 rows, read into the scratch (invariants 2, 3).
      const cand = top.id;
      H.clear();
      for (let off = 0; off < cand.length; off += SCRATCH) {
        const m = Math.min(SCRATCH, cand.length - off);
        s.loadScratch(cand, off, m);
        const i32 = this.arena.i32;
        for (let j = 0; j < m; j++) i32[ids + j] = j;
        this.arena.k.batch_f32(this.mc, s.Q, s.VEC, s.strideBytes, s.IDS, m, s.OUT);
        this.nDist += m;
        const f32 = this.arena.f32;
        for (let j = 0; j < m; j++) {
          H.push(f32[out + j], cand[off + j]);
          if (H.size > k) H.pop();
        }
      }
      top = H.drainSorted();
    }
    const n = Math.min(k, top.id.length);
    const hits: SearchHit[] = new Array(n);
    for (let j = 0; j < n; j++) hits[j] = { id: this.slotIds[top.id[j]], distance: top.d[j] };
    const plan: SearchPlan = {
      index: 'flat',
      strategy: filter ? 'filter-then-flat' : 'flat',
      size: this.count,
      quantized: codes,
      distances: this.nDist,
      reason: filter ? `exact scan of the ${matched} of ${this.count} items passing the filter` : `exact scan of ${this.count} items`,
    };
    if (filter) plan.selectivity = this.count ? matched / this.count : 0;
    return { hits, plan };
  }

  memory(): MemoryReport {
    const b = this.store.bytes();
    let ids = 0;
    for (let s = 0; s < this.count; s++) {
      const id = this.slotIds[s];
      ids += (typeof id === 'string' ? 16 + 2 * id.length : 8) + 40;
    }
    return { vectors: b.vectors, codes: b.codes, graph: 0, ids, total: b.vectors + b.codes + ids, onStorage: b.onStorage };
  }

  /** @inheritDoc With int8 trained, the index then reads its f32 rows from the saved file (see HnswIndex.save). */
  async save(fs: FileSystem, path: string): Promise<void> {
    const s = this.store;
    const snapshot = s.resident ? undefined : s.rowsSrc.snapshot(this.count);
    const count = this.count;
    // Codes mode: the rows are read from the row source straight into the file's bytes (held once, not twice).
    const bytes = s.resident
      ? encodeIndexV1({ kind: 'flat', flat: this.exportState() })
      : encodeIndexWith({ kind: 'flat', flat: this.exportState(false) }, { length: count * this.dim * 4, fill: (dst) => s.rowsSrc.readRange(0, count, dst, 0) });
    await saveAttached(fs, path, bytes, s.resident ? undefined : s.rowsSrc, snapshot, this.count);
  }

  /** Releases the index file rows are read from (int8); the index must not be used afterwards. Idempotent. */
  async close(): Promise<void> {
    await this.store.rowsSrc.close();
  }

  /** @internal `withVectors` false: `vectors` is empty (see HnswIndex.exportState). */
  exportState(withVectors = true): FlatState {
    const s = this.store;
    const vectors = new Float32Array(withVectors ? this.count * this.dim : 0);
    if (withVectors && s.resident) {
      for (let r = 0; r < this.count; r++) {
        const a = s.rowPtr(r) >> 2;
        vectors.set(this.arena.f32.subarray(a, a + this.dim), r * this.dim);
      }
    } else if (withVectors) s.rowsSrc.readRange(0, this.count, vectors, 0);
    return {
      dim: this.dim, metric: this.metric, count: this.count, trainSize: this.trainSize, rescore: this.rescore,
      quantized: s.quantize, quantRange: s.quant ? { ...s.quant } : undefined, slotIds: this.slotIds.slice(0, this.count),
      vectors,
    };
  }

  /** @internal From a decoded, checked state; `rows`: a trained int8 index whose rows stay in its file (HnswIndex.fromState). */
  static fromState(st: FlatState, kernels: Kernels, rows?: ExternalRows): FlatIndex {
    const idx = new FlatIndex({
      dim: st.dim, metric: st.metric, kernels, capacity: Math.max(16, st.count),
      quantization: st.quantized ? { type: 'int8', trainSize: st.trainSize, rescore: st.rescore } : undefined,
    }, st.quantRange);
    const s = idx.store;
    s.ensure(st.count);
    idx.count = st.count;
    if (rows !== undefined) loadExternal(s, st.count, rows);
    else if (st.quantRange !== undefined) loadRows(s, st.count, st.vectors);
    else {
      for (let r = 0; r < st.count; r++) {
        const at = s.rowPtr(r) >> 2;
        idx.arena.f32.set(st.vectors.subarray(r * st.dim, (r + 1) * st.dim), at);
        idx.arena.f32.fill(0, at + st.dim, at + s.stride);
      }
      s.setRows(st.count);
    }
    idx.slotIds = st.slotIds.slice();
    idx.slotOf = new Map(idx.slotIds.map((id, i) => [id, i]));
    return idx;
  }
}
