/**
 * The vector slab: every vector of an index in one contiguous f32 region of the arena, one row per slot (an integer
 * ordinal), rows padded to a fixed stride; optionally an int8 code slab and per-row code sums beside it.
 *
 * Arena layout (byte offsets; all regions 16-byte aligned):
 *   [0, 1024)        reserved (never written: keeps offset 0 out of use)
 *   Q                the query row (f32, one stride)
 *   QC               the query's int8 codes (one code stride)
 *   IDS              scratch ordinals for batch kernels (i32 × BATCH)
 *   OUT              scratch distances from batch kernels (f32 × BATCH)
 *   STATS            two i32 counters written by the search kernel
 *   VEC              capacity × strideBytes      (f32 rows)
 *   CODES            capacity × codeStride       (int8 rows; only when quantised)
 *   SUMS             capacity × 4                (i32 code sum per row; only when quantised)
 *   extra regions    capacity × bytesPerSlot + 16 each, in the order given (the HNSW graph's level-0 adjacency,
 *                    tombstones, visited marks, heaps: so the search kernel can run over them)
 *
 * Invariants:
 * 1. stride is dim rounded up to a multiple of 4 floats and codeStride dim rounded up to 16 bytes; padding is zero
 *    (so dot products and L2 distances over the padded length equal those over dim).
 * 2. Growth doubles capacity; VEC never moves, every later region moves up (highest first) to its new offset,
 *    keeping its first `rows × bytesPerSlot` bytes.
 * 3. When `quant` is set, every row < `rows` has codes and a code sum encoded with `quant`.
 * 4. Cosine rows are stored normalised (unit length), so cosine distance is inner-product distance.
 * @internal
 */
import type { Arena } from './_arena.js';
import { encodeRow, queryConstants, trainRange, type QuantRange } from './_quantize.js';

/** Maximum ordinals per batch-kernel call. */
export const BATCH = 512;
const RESERVED = 1024;

function align16(n: number): number {
  return (n + 15) & ~15;
}

export class VectorStore {
  readonly dim: number;
  /** Row length in floats (multiple of 4). */
  readonly stride: number;
  readonly strideBytes: number;
  /** Code row length in bytes (multiple of 16). */
  readonly codeStride: number;
  readonly normalize: boolean;
  readonly quantize: boolean;
  readonly Q: number;
  readonly QC: number;
  readonly IDS: number;
  readonly OUT: number;
  readonly STATS: number;
  readonly VEC: number;
  capacity = 0;
  /** Rows in use (slots 0..rows-1). */
  rows = 0;
  /** Quantiser range once trained. */
  quant: QuantRange | undefined;
  /** Code sum of the current query (valid after `setQuery` when quantised). */
  qSum = 0;
  /** Bytes per slot of each region after VEC: [CODES, SUMS, ...extra]. */
  private readonly per: number[];
  /** Current byte offsets of those regions. */
  private off: number[];

  constructor(readonly arena: Arena, dim: number, normalize: boolean, quantize: boolean, capacity: number, extra: number[] = []) {
    this.dim = dim;
    this.stride = (dim + 3) & ~3;
    this.strideBytes = this.stride * 4;
    this.codeStride = align16(dim);
    this.normalize = normalize;
    this.quantize = quantize;
    this.Q = RESERVED;
    this.QC = align16(this.Q + this.strideBytes);
    this.IDS = align16(this.QC + this.codeStride);
    this.OUT = this.IDS + BATCH * 4;
    this.STATS = this.OUT + BATCH * 4;
    this.VEC = align16(this.STATS + 16);
    this.per = [quantize ? this.codeStride : 0, quantize ? 4 : 0, ...extra];
    this.off = this.per.map(() => 0);
    this.layout(Math.max(16, capacity));
  }

  get CODES(): number {
    return this.off[0];
  }
  get SUMS(): number {
    return this.off[1];
  }
  /** Byte offset of extra region `i` (in the order given to the constructor). */
  extra(i: number): number {
    return this.off[2 + i];
  }

  private layout(capacity: number): void {
    const next: number[] = [];
    let at = this.VEC + capacity * this.strideBytes;
    for (const per of this.per) {
      at = align16(at);
      next.push(at);
      at += per === 0 ? 0 : capacity * per + 16;
    }
    this.arena.ensure(at);
    if (this.capacity > 0) {
      const u8 = this.arena.u8;
      for (let i = this.per.length - 1; i >= 0; i--) {
        if (this.per[i] === 0 || next[i] === this.off[i]) continue;
        u8.copyWithin(next[i], this.off[i], this.off[i] + this.rows * this.per[i]);
      }
    }
    this.off = next;
    this.capacity = capacity;
  }
  /** Makes room for at least `n` rows (doubling). */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    let c = this.capacity;
    while (c < n) c *= 2;
    this.layout(c);
  }

  /** Byte offset of row `slot`. */
  rowPtr(slot: number): number {
    return this.VEC + slot * this.strideBytes;
  }

  /** Writes `v` (length dim) into float index `at` of the arena, normalising if the metric is cosine. */
  private write(at: number, v: ArrayLike<number>): void {
    const f = this.arena.f32;
    const dim = this.dim;
    let scale = 1;
    if (this.normalize) {
      let n = 0;
      for (let d = 0; d < dim; d++) n += v[d] * v[d];
      scale = n > 0 ? 1 / Math.sqrt(n) : 1;
    }
    for (let d = 0; d < dim; d++) f[at + d] = v[d] * scale;
    for (let d = dim; d < this.stride; d++) f[at + d] = 0;
  }

  /** Stores `v` as row `slot` (< capacity), with its codes when quantised and trained. */
  setRow(slot: number, v: ArrayLike<number>): void {
    this.write(this.rowPtr(slot) >> 2, v);
    if (this.quant) this.encode(slot);
  }

  /** Copies row `from` (and its codes) over row `to`. */
  copyRow(from: number, to: number): void {
    const f = this.arena.f32;
    const a = this.rowPtr(from) >> 2;
    f.copyWithin(this.rowPtr(to) >> 2, a, a + this.stride);
    if (this.quant) {
      const u8 = this.arena.u8;
      u8.copyWithin(this.CODES + to * this.codeStride, this.CODES + from * this.codeStride, this.CODES + (from + 1) * this.codeStride);
      const i32 = this.arena.i32;
      i32[(this.SUMS >> 2) + to] = i32[(this.SUMS >> 2) + from];
    }
  }

  /** A copy of row `slot`'s `dim` values. */
  getRow(slot: number): Float32Array {
    const a = this.rowPtr(slot) >> 2;
    return this.arena.f32.slice(a, a + this.dim);
  }

  /** Stores `v` as the query row (and its codes when trained). */
  setQuery(v: ArrayLike<number>): void {
    this.write(this.Q >> 2, v);
    if (this.quant) {
      this.qSum = encodeRow(this.arena.f32, this.Q >> 2, this.arena.i8, this.QC, this.dim, this.codeStride, this.quant);
    }
  }

  /** Copies row `slot` into the query row (construction searches from a stored row). */
  setQueryFromRow(slot: number): void {
    const f = this.arena.f32;
    const a = this.rowPtr(slot) >> 2;
    f.copyWithin(this.Q >> 2, a, a + this.stride);
    if (this.quant) {
      this.qSum = encodeRow(f, this.Q >> 2, this.arena.i8, this.QC, this.dim, this.codeStride, this.quant);
    }
  }

  private encode(slot: number): void {
    const sum = encodeRow(
      this.arena.f32, this.rowPtr(slot) >> 2, this.arena.i8, this.CODES + slot * this.codeStride, this.dim,
      this.codeStride, this.quant!,
    );
    this.arena.i32[(this.SUMS >> 2) + slot] = sum;
  }

  /** Trains the quantiser on rows [0, rows) (or sets `range`) and encodes every row. */
  train(range?: QuantRange): void {
    if (!this.quantize) throw new Error('train() on a store without quantisation');
    this.quant = range ?? trainRange(this.arena.f32, this.VEC >> 2, this.rows, this.stride, this.dim);
    for (let s = 0; s < this.rows; s++) this.encode(s);
  }

  /** Quantised-distance constants for the current query. */
  constants(): { c0: number; c1: number; s2: number } {
    return queryConstants(this.quant!, this.dim, this.qSum);
  }

  /** Bytes held by f32 rows and by codes (+ sums) for `rows` rows. */
  bytes(): { vectors: number; codes: number } {
    return { vectors: this.rows * this.strideBytes, codes: this.quant ? this.rows * (this.codeStride + 4) : 0 };
  }
}
