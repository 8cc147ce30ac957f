/**
 * Full-precision rows of a quantised index, kept out of the arena: the index searches int8 codes (resident) and
 * reads the f32 rows only for the candidates it rescores, for `get`, for compaction and for saving.
 *
 * A row lives in one of two places:
 * - the **file**: row r of the `VECS` section of the index file the index was last saved to or opened from
 *   (docs/formats/hnsw.md: `dim` little-endian f32 at `offset + r × dim × 4`), read with the io layer's synchronous
 *   read-at-offset (`FileHandle.readInto`, else `read`) on any `FileSystem` (Node fs, OPFS sync access handles,
 *   IndexedDB, memory);
 * - the **tail**: an in-memory f32 array of the rows written since then (new vectors, updated vectors); a save
 *   moves them to the new file and frees them.
 *
 * Invariants:
 * 1. For each slot s < `slots`: `src[s] >= 0` is row `src[s]` of the attached file (< `fileRows`); `src[s] < 0` is
 *    tail row `-src[s] - 1` (< `tailRows`). Slots ≥ `slots` hold no row.
 * 2. Neither a file row nor a tail row is ever overwritten; a slot that gets another vector gets a new tail row.
 *    Hence a snapshot of `src` taken when a save encodes the file stays meaningful until {@link RowSource.attach}:
 *    every value in it still names the same row contents.
 * 3. `attach(file, snapshot)` maps every current `src` value that appears in the snapshot (at snapshot index j)
 *    to row j of the new file (whose `VECS` holds the snapshot's rows in that order); every other value is copied
 *    into a new, compacted tail. Only then is the old file's handle closed, so no read ever meets a closed handle.
 * 4. Tail rows are `dim` floats, unpadded, in the order written; rows are stored as the index stores them
 *    (unit length for cosine), never normalised again.
 * @internal
 */
import { CorruptionError, type FileHandle, type FileSystem } from '@hearth/io';

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Bytes per coalesced file read when reading a run of rows. */
const RUN_BYTES = 1 << 20;

/** The index file a {@link RowSource} reads rows from. */
export interface RowFile {
  fs: FileSystem;
  path: string;
  handle: FileHandle;
  /** Byte offset of the `VECS` payload in the file. */
  offset: number;
  /** Rows in the `VECS` section. */
  rows: number;
}

export class RowSource {
  readonly dim: number;
  private readonly rowBytes: number;
  /** Slot → row (invariant 1). */
  src: Int32Array = new Int32Array(16);
  slots = 0;
  private tail: Float32Array;
  tailRows = 0;
  file: RowFile | undefined;
  /** One row's bytes, for reads that do not land in a caller's buffer. */
  private readonly one: Uint8Array;
  /** Row reads from the file since construction (for explain and the benchmark). */
  fileReads = 0;
  /**
   * Incremented by every attach and detach: a snapshot is valid for {@link RowSource.attach} only while the epoch
   * it was taken in lasts (an attach renumbers the tail).
   */
  epoch = 0;

  constructor(dim: number) {
    this.dim = dim;
    this.rowBytes = dim * 4;
    this.tail = new Float32Array(dim * 16);
    this.one = new Uint8Array(this.rowBytes);
  }

  /** Bytes held in memory: the tail rows and the slot map. */
  residentBytes(): number {
    return this.tailRows * this.rowBytes + this.slots * 4;
  }

  /** Bytes of rows currently read from the file rather than held. */
  fileBytes(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) if (this.src[s] >= 0) n++;
    return n * this.rowBytes;
  }

  private ensureSlots(n: number): void {
    if (n <= this.src.length) return;
    let c = this.src.length;
    while (c < n) c *= 2;
    const next = new Int32Array(c);
    next.set(this.src.subarray(0, this.slots));
    this.src = next;
  }

  private appendTail(v: ArrayLike<number>, at: number): number {
    const dim = this.dim;
    if ((this.tailRows + 1) * dim > this.tail.length) {
      const next = new Float32Array(Math.max(this.tail.length * 2, dim * 16));
      next.set(this.tail.subarray(0, this.tailRows * dim));
      this.tail = next;
    }
    const o = this.tailRows * dim;
    for (let d = 0; d < dim; d++) this.tail[o + d] = v[at + d];
    return this.tailRows++;
  }

  /** Stores `dim` values of `v` from index `at` as the row of `slot` (a new tail row: invariant 2). */
  setSlot(slot: number, v: ArrayLike<number>, at = 0): void {
    this.ensureSlots(slot + 1);
    this.src[slot] = -this.appendTail(v, at) - 1;
    if (slot >= this.slots) this.slots = slot + 1;
  }

  /** Slot `to` now holds slot `from`'s row (no copy). */
  copySlot(from: number, to: number): void {
    this.ensureSlots(to + 1);
    this.src[to] = this.src[from];
    if (to >= this.slots) this.slots = to + 1;
  }

  /** Drops slots ≥ `n` (their rows stay until the next attach). */
  truncate(n: number): void {
    if (n < this.slots) this.slots = n;
  }

  /**
   * Reads slot `slot`'s row into `dst` (as bytes, little-endian f32) starting at byte `at`.
   * @throws IoError from the file system (the file is read synchronously).
   */
  readInto(slot: number, dst: Uint8Array, at: number): void {
    const v = this.src[slot];
    if (v < 0) {
      const t = -v - 1;
      const bytes = new Uint8Array(this.tail.buffer, t * this.rowBytes, this.rowBytes);
      dst.set(bytes, at);
      return;
    }
    const f = this.file!;
    this.fileReads++;
    this.readFile(f, f.offset + v * this.rowBytes, dst.subarray(at, at + this.rowBytes));
  }

  private readFile(f: RowFile, offset: number, target: Uint8Array): void {
    let got: number;
    if (f.handle.readInto !== undefined) got = f.handle.readInto(offset, target);
    else {
      const b = f.handle.read(offset, target.length);
      target.set(b);
      got = b.length;
    }
    if (got !== target.length) {
      throw new CorruptionError(`vector index file ended at byte ${offset + got}, inside a row (it changed under the index); rebuild the index from its source`, { path: f.path, offset });
    }
    if (!LE) {
      const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
      for (let i = 0; i < target.length; i += 4) dv.setFloat32(i, dv.getFloat32(i, true), false);
    }
  }

  /** A copy of slot `slot`'s row. @throws IoError from the file system. */
  get(slot: number): Float32Array {
    const out = new Float32Array(this.dim);
    this.readInto(slot, new Uint8Array(out.buffer), 0);
    return out;
  }

  /**
   * Reads the rows of slots [from, from + n) into `dst` (n × dim floats from float index `dstAt`), coalescing runs
   * of consecutive file rows into reads of up to 1 MiB.
   */
  readRange(from: number, n: number, dst: Float32Array, dstAt: number): void {
    const dim = this.dim;
    const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
    let s = from;
    const end = from + n;
    while (s < end) {
      const v = this.src[s];
      if (v < 0) {
        dst.set(this.tail.subarray((-v - 1) * dim, (-v) * dim), dstAt + (s - from) * dim);
        s++;
        continue;
      }
      let run = 1;
      const maxRun = Math.max(1, Math.floor(RUN_BYTES / this.rowBytes));
      while (s + run < end && run < maxRun && this.src[s + run] === v + run) run++;
      const f = this.file!;
      const at = (dstAt + (s - from) * dim) * 4;
      this.fileReads += run;
      this.readFile(f, f.offset + v * this.rowBytes, bytes.subarray(at, at + run * this.rowBytes));
      s += run;
    }
  }

  /** The current slot → row map for slots [0, n): what a save's snapshot records (invariant 2). */
  snapshot(n: number): Int32Array {
    return this.src.slice(0, n);
  }

  /**
   * Moves every row held in the file into the tail and closes the file's handle (saving over the very file the
   * rows are read from: OPFS and IndexedDB refuse to replace an open file). Returns, for each old file row, its
   * new tail row, so that a snapshot taken before can be translated with {@link RowSource.translate}.
   */
  async detach(): Promise<Int32Array | undefined> {
    const f = this.file;
    if (f === undefined) return undefined;
    const map = new Int32Array(f.rows).fill(-1);
    for (let s = 0; s < this.slots; s++) {
      const v = this.src[s];
      if (v < 0) continue;
      if (map[v] < 0) {
        this.readFile(f, f.offset + v * this.rowBytes, this.one);
        map[v] = this.appendTail(new Float32Array(this.one.buffer), 0);
      }
      this.src[s] = -map[v] - 1;
    }
    this.file = undefined;
    this.epoch++;
    await f.handle.close();
    return map;
  }

  /** Rewrites file-row values of a snapshot through a {@link RowSource.detach} map (in place). */
  static translate(snapshot: Int32Array, map: Int32Array): void {
    for (let j = 0; j < snapshot.length; j++) {
      const v = snapshot[j];
      if (v >= 0 && v < map.length && map[v] >= 0) snapshot[j] = -map[v] - 1;
    }
  }

  /**
   * Serves rows from `file` from now on (invariant 3): slot values found in `snapshot` (the `src` values of the
   * rows the file's `VECS` holds, in order) point into it; other rows move to a compacted tail. Closes the
   * previous file's handle last.
   */
  async attach(file: RowFile, snapshot: Int32Array): Promise<void> {
    if (snapshot.length !== file.rows) throw new RangeError(`attach: snapshot of ${snapshot.length} rows for a file of ${file.rows}`);
    const old = this.file;
    const fileMap = new Int32Array(old?.rows ?? 0).fill(-1);
    const tailMap = new Int32Array(this.tailRows).fill(-1);
    for (let j = 0; j < snapshot.length; j++) {
      const v = snapshot[j];
      if (v >= 0) {
        if (v < fileMap.length && fileMap[v] < 0) fileMap[v] = j;
      } else if (-v - 1 < tailMap.length && tailMap[-v - 1] < 0) tailMap[-v - 1] = j;
    }
    const dim = this.dim;
    const oldTail = this.tail;
    const next = new Float32Array(dim * 16);
    let nextRows = 0;
    let nextTail = next;
    const moved = new Map<number, number>();
    for (let s = 0; s < this.slots; s++) {
      const v = this.src[s];
      const j = v >= 0 ? (v < fileMap.length ? fileMap[v] : -1) : tailMap[-v - 1];
      if (j >= 0) {
        this.src[s] = j;
        continue;
      }
      // Not in the new file: keep it in the new tail (once per distinct row).
      let t = moved.get(v);
      if (t === undefined) {
        if ((nextRows + 1) * dim > nextTail.length) {
          const g = new Float32Array(nextTail.length * 2);
          g.set(nextTail.subarray(0, nextRows * dim));
          nextTail = g;
        }
        if (v < 0) nextTail.set(oldTail.subarray((-v - 1) * dim, -v * dim), nextRows * dim);
        else {
          this.readFile(old!, old!.offset + v * this.rowBytes, this.one);
          nextTail.set(new Float32Array(this.one.buffer), nextRows * dim);
        }
        t = nextRows++;
        moved.set(v, t);
      }
      this.src[s] = -t - 1;
    }
    this.tail = nextTail;
    this.tailRows = nextRows;
    this.file = file;
    this.epoch++;
    if (old !== undefined && old.handle !== file.handle) await old.handle.close();
  }

  /** Closes the file's handle (the index must not read rows afterwards). Idempotent. */
  async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f !== undefined) await f.handle.close();
  }
}
