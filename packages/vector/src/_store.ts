/**
 * The vector slab: every vector of an index in one contiguous f32 region of the arena, one row per slot (an integer
 * ordinal), rows padded to a fixed stride; optionally an int8 code slab and per-row code sums beside it.
 *
 * Two modes:
 * - **resident** (no quantisation, or int8 not yet trained): the f32 rows are in the arena (VEC, one per slot);
 * - **codes** (int8 trained): only the int8 codes and code sums are in the arena; the f32 rows are in a
 *   {@link RowSource} (the saved index file, read at offset, plus an in-memory tail of the rows written since the
 *   last save), and VEC shrinks to a scratch of {@link SCRATCH} rows into which rows are read for rescoring.
 *   Training switches a store from resident to codes mode (once; there is no way back).
 *
 * Arena layout (byte offsets; all regions 16-byte aligned):
 *   [0, 1024)        reserved (never written: keeps offset 0 out of use)
 *   Q                the query row (f32, one stride)
 *   QC               the query's int8 codes (one code stride)
 *   QC2              a second query's int8 codes (a stored row's, while re-selecting neighbours)
 *   IDS              scratch ordinals for batch kernels (i32 × BATCH)
 *   OUT              scratch distances from batch kernels (f32 × BATCH)
 *   STATS            two i32 counters written by the search kernel
 *   VEC              min(capacity, residentMax) × strideBytes (resident), or SCRATCH × strideBytes (codes mode);
 *                    a quantised store trains at `trainSize` rows, so it never holds more f32 rows than that and
 *                    its arena (a WASM memory never shrinks) is not sized for `capacity` f32 rows
 *   CODES            capacity × codeStride       (int8 rows; only when quantised)
 *   SUMS             capacity × 4                (i32 code sum per row; only when quantised)
 *   extra regions    capacity × bytesPerSlot + 16 each, in the order given (the HNSW graph's level-0 adjacency,
 *                    tombstones, visited marks, heaps: so the search kernel can run over them)
 *
 * Invariants:
 * 1. stride is dim rounded up to a multiple of 4 floats and codeStride dim rounded up to 16 bytes; padding is zero
 *    (so dot products and L2 distances over the padded length equal those over dim).
 * 2. VEC never moves. Growth doubles capacity and moves every later region up (highest first); the switch to codes
 *    mode shrinks VEC and moves every later region down (lowest first); each keeps its first `rows × bytesPerSlot`
 *    bytes.
 * 3. When `quant` is set, every row < `rows` has codes and a code sum encoded with `quant`, and the store is in
 *    codes mode (`resident` false): `rowsSrc` holds every row < `rows`.
 * 4. Cosine rows are stored normalised (unit length), so cosine distance is inner-product distance.
 * @internal
 */
import type { Arena } from './_arena.js';
import { encodeRow, queryConstants, trainRange, type QuantRange } from './_quantize.js';
import { RowSource } from './_rows.js';

/** Maximum ordinals per batch-kernel call. */
export const BATCH = 512;
/** Rows of the VEC scratch in codes mode (rows read for rescoring, a batch at a time). */
export const SCRATCH = 256;
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
  readonly QC2: number;
  readonly IDS: number;
  readonly OUT: number;
  readonly STATS: number;
  readonly VEC: number;
  capacity = 0;
  /** Rows in use (slots 0..rows-1). */
  rows = 0;
  /** Quantiser range once trained. */
  quant: QuantRange | undefined;
  /** Whether the f32 rows are in the arena (invariant 3). */
  resident = true;
  /** The f32 rows in codes mode (invariant 3). */
  readonly rowsSrc: RowSource;
  /** Code sum of the current query (valid after `setQuery` when quantised). */
  qSum = 0;
  /** Bytes per slot of each region after VEC: [CODES, SUMS, ...extra]. */
  private readonly per: number[];
  /** Current byte offsets of those regions. */
  private off: number[];
  private readonly tmp: Float32Array;

  /** Rows VEC holds in resident mode (grows when a resident store needs more). */
  private residentMax: number;

  constructor(
    readonly arena: Arena, dim: number, normalize: boolean, quantize: boolean, capacity: number, extra: number[] = [],
    trained?: QuantRange, residentMax = Infinity,
  ) {
    this.dim = dim;
    this.stride = (dim + 3) & ~3;
    this.strideBytes = this.stride * 4;
    this.codeStride = align16(dim);
    this.normalize = normalize;
    this.quantize = quantize;
    this.Q = RESERVED;
    this.QC = align16(this.Q + this.strideBytes);
    this.QC2 = align16(this.QC + this.codeStride);
    this.IDS = align16(this.QC2 + this.codeStride);
    this.OUT = this.IDS + BATCH * 4;
    this.STATS = this.OUT + BATCH * 4;
    this.VEC = align16(this.STATS + 16);
    this.per = [quantize ? this.codeStride : 0, quantize ? 4 : 0, ...extra];
    this.off = this.per.map(() => 0);
    this.rowsSrc = new RowSource(dim);
    this.residentMax = Math.max(16, residentMax);
    this.tmp = new Float32Array(dim);
    if (trained !== undefined) {
      if (!quantize) throw new Error('a trained range for a store without quantisation');
      this.quant = trained;
      this.resident = false;
    }
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
    let at = this.VEC + (this.resident ? Math.min(capacity, this.residentMax) : SCRATCH) * this.strideBytes;
    for (const per of this.per) {
      at = align16(at);
      next.push(at);
      at += per === 0 ? 0 : capacity * per + 16;
    }
    this.arena.ensure(at);
    if (this.capacity > 0) {
      const u8 = this.arena.u8;
      const move = (i: number): void => {
        if (this.per[i] === 0 || next[i] === this.off[i]) return;
        u8.copyWithin(next[i], this.off[i], this.off[i] + this.rows * this.per[i]);
      };
      // Invariant 2: moving up, highest first; moving down, lowest first.
      const up = next.some((o, i) => o > this.off[i]);
      if (up) for (let i = this.per.length - 1; i >= 0; i--) move(i);
      else for (let i = 0; i < this.per.length; i++) move(i);
    }
    this.off = next;
    this.capacity = capacity;
  }
  /** Makes room for at least `n` rows (doubling). */
  ensure(n: number): void {
    if (this.resident && n > this.residentMax) {
      // More f32 rows than planned (a caller that writes rows before training): VEC grows, later regions move up.
      let m = this.residentMax;
      while (m < n) m *= 2;
      this.residentMax = m;
      if (n <= this.capacity) {
        this.layout(this.capacity);
        return;
      }
    }
    if (n <= this.capacity) return;
    let c = this.capacity;
    while (c < n) c *= 2;
    this.layout(c);
  }

  /** Byte offset of row `slot` (resident mode), or of scratch row `slot` (codes mode). */
  rowPtr(slot: number): number {
    return this.VEC + slot * this.strideBytes;
  }

  /** Writes `v` (length dim) into `dst` from index `at`, normalising if the metric is cosine; zero-pads to `pad`. */
  private write(dst: Float32Array, at: number, v: ArrayLike<number>, pad: number): void {
    const dim = this.dim;
    let scale = 1;
    if (this.normalize) {
      let n = 0;
      for (let d = 0; d < dim; d++) n += v[d] * v[d];
      scale = n > 0 ? 1 / Math.sqrt(n) : 1;
    }
    for (let d = 0; d < dim; d++) dst[at + d] = v[d] * scale;
    for (let d = dim; d < pad; d++) dst[at + d] = 0;
  }

  /** Stores `v` as row `slot` (< capacity), with its codes when quantised and trained. */
  setRow(slot: number, v: ArrayLike<number>): void {
    if (this.resident) {
      this.write(this.arena.f32, this.rowPtr(slot) >> 2, v, this.stride);
      return;
    }
    const t = this.tmp;
    this.write(t, 0, v, this.dim);
    this.rowsSrc.setSlot(slot, t);
    this.arena.i32[(this.SUMS >> 2) + slot] = encodeRow(t, 0, this.arena.i8, this.CODES + slot * this.codeStride, this.dim, this.codeStride, this.quant!);
  }

  /** Copies row `from` (and its codes) over row `to`. */
  copyRow(from: number, to: number): void {
    if (this.resident) {
      const f = this.arena.f32;
      const a = this.rowPtr(from) >> 2;
      f.copyWithin(this.rowPtr(to) >> 2, a, a + this.stride);
      return;
    }
    this.rowsSrc.copySlot(from, to);
    const u8 = this.arena.u8;
    u8.copyWithin(this.CODES + to * this.codeStride, this.CODES + from * this.codeStride, this.CODES + (from + 1) * this.codeStride);
    const i32 = this.arena.i32;
    i32[(this.SUMS >> 2) + to] = i32[(this.SUMS >> 2) + from];
  }

  /** Sets the number of rows in use (drops rows past it). */
  setRows(n: number): void {
    this.rows = n;
    if (!this.resident) this.rowsSrc.truncate(n);
  }

  /** A copy of row `slot`'s `dim` values. @throws IoError in codes mode when the file read fails. */
  getRow(slot: number): Float32Array {
    if (!this.resident) return this.rowsSrc.get(slot);
    const a = this.rowPtr(slot) >> 2;
    return this.arena.f32.slice(a, a + this.dim);
  }

  /**
   * Reads the f32 rows of `slots[0..m)` (m ≤ SCRATCH) into scratch rows 0..m-1 of VEC (codes mode), so that a
   * batch kernel over VEC with ordinals 0..m-1 computes their exact distances.
   */
  loadScratch(slots: ArrayLike<number>, from: number, m: number): void {
    const u8 = this.arena.u8;
    for (let j = 0; j < m; j++) {
      const at = this.rowPtr(j);
      this.rowsSrc.readInto(slots[from + j], u8, at);
      for (let b = at + this.dim * 4; b < at + this.strideBytes; b++) u8[b] = 0;
    }
  }

  /** Stores `v` as the query row (and its codes when trained). */
  setQuery(v: ArrayLike<number>): void {
    this.write(this.arena.f32, this.Q >> 2, v, this.stride);
    if (this.quant) {
      this.qSum = encodeRow(this.arena.f32, this.Q >> 2, this.arena.i8, this.QC, this.dim, this.codeStride, this.quant);
    }
  }

  /** Copies row `slot` into the query row (construction searches from a stored row). @throws IoError (codes mode). */
  setQueryFromRow(slot: number): void {
    const f = this.arena.f32;
    if (this.resident) {
      const a = this.rowPtr(slot) >> 2;
      f.copyWithin(this.Q >> 2, a, a + this.stride);
    } else {
      this.rowsSrc.readInto(slot, this.arena.u8, this.Q);
      f.fill(0, (this.Q >> 2) + this.dim, (this.Q >> 2) + this.stride);
    }
    if (this.quant) {
      this.qSum = encodeRow(f, this.Q >> 2, this.arena.i8, this.QC, this.dim, this.codeStride, this.quant);
    }
  }

  /** Copies row `slot`'s codes into QC2 and returns the kernel constants for it as a query. */
  setQuery2FromCodes(slot: number): { c0: number; c1: number; s2: number } {
    const u8 = this.arena.u8;
    u8.copyWithin(this.QC2, this.CODES + slot * this.codeStride, this.CODES + (slot + 1) * this.codeStride);
    return queryConstants(this.quant!, this.dim, this.arena.i32[(this.SUMS >> 2) + slot]);
  }

  /**
   * Encodes `n` rows of `dim` floats from `src` (float index `at`, stride dim) as the codes of slots
   * [slot0, slot0 + n) (codes mode; the rows themselves are already in `rowsSrc`).
   */
  encodeFrom(src: Float32Array, at: number, slot0: number, n: number): void {
    const i32 = this.arena.i32;
    const i8 = this.arena.i8;
    for (let r = 0; r < n; r++) {
      const slot = slot0 + r;
      i32[(this.SUMS >> 2) + slot] = encodeRow(src, at + r * this.dim, i8, this.CODES + slot * this.codeStride, this.dim, this.codeStride, this.quant!);
    }
  }

  /**
   * Trains the quantiser on rows [0, rows) (or sets `range`), encodes every row, and switches to codes mode: the
   * f32 rows move from the arena to `rowsSrc` (its in-memory tail until the index is saved) and VEC shrinks to the
   * scratch (invariants 2, 3).
   */
  train(range?: QuantRange): void {
    if (!this.quantize) throw new Error('train() on a store without quantisation');
    if (!this.resident) throw new Error('train() on a trained store');
    this.quant = range ?? trainRange(this.arena.f32, this.VEC >> 2, this.rows, this.stride, this.dim);
    const f = this.arena.f32;
    for (let s = 0; s < this.rows; s++) {
      const a = this.rowPtr(s) >> 2;
      this.rowsSrc.setSlot(s, f, a);
      this.arena.i32[(this.SUMS >> 2) + s] = encodeRow(f, a, this.arena.i8, this.CODES + s * this.codeStride, this.dim, this.codeStride, this.quant);
    }
    this.resident = false;
    this.layout(this.capacity);
  }

  /** Quantised-distance constants for the current query. */
  constants(): { c0: number; c1: number; s2: number } {
    return queryConstants(this.quant!, this.dim, this.qSum);
  }

  /**
   * Bytes held, for `rows` rows: `vectors` the f32 rows in memory (the arena's rows in resident mode; the
   * in-memory tail, the slot map and the scratch in codes mode), `codes` the codes and sums, `onStorage` the f32
   * rows read from the index file on demand (not in memory).
   */
  bytes(): { vectors: number; codes: number; onStorage: number } {
    if (this.resident) return { vectors: this.rows * this.strideBytes, codes: 0, onStorage: 0 };
    return {
      vectors: this.rowsSrc.residentBytes() + SCRATCH * this.strideBytes,
      codes: this.rows * (this.codeStride + 4),
      onStorage: this.rowsSrc.fileBytes(),
    };
  }
}
