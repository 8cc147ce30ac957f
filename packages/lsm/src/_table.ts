/**
 * SSTable writer and reader (docs/formats/sstable.md). A table is written once, front to back, by
 * {@link TableWriter}, synced, and never modified. {@link TableReader} keeps the decoded index and the bloom filter
 * in memory and reads data blocks by offset through the shared {@link BlockCache}; it never loads a whole file.
 *
 * Layout: data blocks | filter block | index block | footer (48 bytes). Every block is followed by its CRC-32C;
 * the footer carries its own. The reader checks on open that these regions tile the file exactly (no gaps), so
 * every byte of a table is covered by some checksum.
 *
 * Invariants:
 * 1. Entries are added in strictly increasing internal-key order; one user key's versions never span two tables
 *    of a run (the caller splits only between user keys), so a point lookup touches one table per run.
 * 2. The index holds, per data block, the block's last internal key and its (offset, size); index keys ascend.
 * 3. A block reaches any reader only after its CRC-32C matched (invariant 3 of _block.ts).
 * 4. A point lookup that does not admit the block it missed reads it into the cache's scratch buffer; the value
 *    view it returns ({@link GetResult}) is then valid only until the next read through the same cache, so the
 *    caller copies it at once (the LSM does).
 *
 * Internal module: not exported from the package.
 */
import { CorruptionError, type FileHandle, type FileSystem } from '@hearth/io';
import { Block, BlockBuilder, BlockIter, compareInternal, readSeq } from './_block.js';
import { bloomHash, bloomMayContain, buildBloom } from './_bloom.js';
import { ByteSink, compareBytes, compareRange, prefix32At, readU32, readU64, writeU32, writeU64 } from './_bytes.js';
import { BlockSlots, type BlockCache, type CacheOwner } from './_cache.js';
import { crc32cRaw } from './crc32c.js';
import {
  BLOCK_TRAILER_BYTES,
  FOOTER_BYTES,
  INDEX_RESTART_INTERVAL,
  TABLE_MAGIC,
  TABLE_VERSION,
  TRAILER_BYTES,
} from './_format.js';
import type { InternalIter } from './_iter.js';

export interface TableOptions {
  blockBytes: number;
  restartInterval: number;
  bloomBitsPerKey: number;
}

/** What a finished table holds; goes into the manifest. */
export interface TableSummary {
  bytes: number;
  entries: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

const WRITE_BUFFER = 64 * 1024;

/** Streams one SSTable to an open, empty file. Memory: one block, the index and one u32 hash per user key. */
export class TableWriter {
  private readonly data: BlockBuilder;
  private readonly index = new BlockBuilder(INDEX_RESTART_INTERVAL, 4096);
  private readonly out = new ByteSink(WRITE_BUFFER + 8192);
  private hashes = new Uint32Array(1024);
  private nHashes = 0;
  private offset = 0;
  private lastUser = new Uint8Array(64);
  private lastUserLen = -1;
  private smallest: Uint8Array | null = null;
  private readonly handleBuf = new Uint8Array(20);
  entries = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly opts: TableOptions,
  ) {
    this.data = new BlockBuilder(opts.restartInterval, opts.blockBytes + 1024);
  }

  /** Bytes written or buffered so far (for splitting outputs at a target size). */
  get estimatedBytes(): number {
    return this.offset + this.data.size();
  }

  /** Whether `ukey[uoff, uoff+ulen)` differs from the user key of the previous entry (true when empty). */
  isNewUserKey(ukey: Uint8Array, uoff: number, ulen: number): boolean {
    return this.lastUserLen < 0 || compareRange(ukey, uoff, ulen, this.lastUser, 0, this.lastUserLen) !== 0;
  }

  /** Adds an entry. REQUIRES: internal-key order (invariant 1). */
  add(ukey: Uint8Array, uoff: number, ulen: number, seq: number, kind: number, val: Uint8Array, voff: number, vlen: number): void {
    if (this.isNewUserKey(ukey, uoff, ulen)) {
      if (this.nHashes === this.hashes.length) {
        const h = new Uint32Array(this.hashes.length * 2);
        h.set(this.hashes);
        this.hashes = h;
      }
      this.hashes[this.nHashes++] = bloomHash(ukey, uoff, ulen);
      if (this.lastUser.length < ulen) this.lastUser = new Uint8Array(Math.max(ulen, this.lastUser.length * 2));
      for (let i = 0; i < ulen; i++) this.lastUser[i] = ukey[uoff + i];
      this.lastUserLen = ulen;
      if (this.smallest === null) this.smallest = ukey.slice(uoff, uoff + ulen);
    }
    this.data.add(ukey, uoff, ulen, seq, kind, val, voff, vlen);
    this.entries++;
    if (this.data.size() >= this.opts.blockBytes) this.flushDataBlock();
  }

  private emit(bytes: Uint8Array): void {
    this.out.bytes(bytes);
    this.offset += bytes.length;
    if (this.out.len >= WRITE_BUFFER) this.drain();
  }

  private drain(): void {
    if (this.out.len === 0) return;
    // A copy: a backend may keep the array (the fault-injecting one models unsynced bytes with it).
    this.handle.append(this.out.buf.slice(0, this.out.len));
    this.out.len = 0;
  }

  /** Writes `block` (content + 4 spare bytes) with its CRC; returns its offset. */
  private writeBlock(block: Uint8Array): number {
    const n = block.length - BLOCK_TRAILER_BYTES;
    writeU32(block, n, crc32cRaw(block, 0, n, 0));
    const at = this.offset;
    this.emit(block);
    return at;
  }

  private flushDataBlock(): void {
    if (this.data.entries === 0) return;
    const block = this.data.finish();
    const size = block.length - BLOCK_TRAILER_BYTES;
    const at = this.writeBlock(block);
    // Index entry: the block's last internal key -> varint offset, varint size.
    const last = this.data.lastKey();
    const klen = this.data.lastKeyLength();
    const ul = klen - TRAILER_BYTES;
    let p = 0;
    const hb = this.handleBuf;
    for (let v = at; ; ) {
      if (v < 128) {
        hb[p++] = v;
        break;
      }
      hb[p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    for (let v = size; ; ) {
      if (v < 128) {
        hb[p++] = v;
        break;
      }
      hb[p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.index.add(last, 0, ul, readSeq(last, ul), last[ul + 7], hb, 0, p);
    this.data.reset();
  }

  /**
   * Writes the last data block, the filter, the index and the footer (not synced: the caller syncs).
   * REQUIRES: at least one entry.
   */
  finish(): TableSummary {
    if (this.entries === 0) throw new Error('TableWriter.finish: empty table');
    this.flushDataBlock();
    const largest = this.lastUser.slice(0, this.lastUserLen);
    const filter = buildBloom(this.hashes, this.nHashes, this.opts.bloomBitsPerKey);
    const fblock = new Uint8Array(filter.length + BLOCK_TRAILER_BYTES);
    fblock.set(filter);
    const filterOff = this.writeBlock(fblock);
    const iblock = this.index.finish();
    const indexSize = iblock.length - BLOCK_TRAILER_BYTES;
    const indexOff = this.writeBlock(iblock);
    const footer = encodeFooter({
      indexOffset: indexOff,
      indexSize,
      filterOffset: filterOff,
      filterSize: filter.length,
      entries: this.entries,
    });
    this.emit(footer);
    this.drain();
    return { bytes: this.offset, entries: this.entries, smallest: this.smallest!, largest };
  }
}

export interface Footer {
  indexOffset: number;
  indexSize: number;
  filterOffset: number;
  filterSize: number;
  entries: number;
}

/** Encodes the 48-byte footer (docs/formats/sstable.md, "Footer"). */
export function encodeFooterV1(f: Footer): Uint8Array {
  const b = new Uint8Array(FOOTER_BYTES);
  writeU64(b, 0, f.indexOffset);
  writeU32(b, 8, f.indexSize);
  writeU64(b, 12, f.filterOffset);
  writeU32(b, 20, f.filterSize);
  writeU64(b, 24, f.entries);
  writeU32(b, 32, TABLE_VERSION);
  b.set(TABLE_MAGIC, 36);
  writeU32(b, 44, crc32cRaw(b, 0, 44, 0));
  return b;
}
const encodeFooter = encodeFooterV1;

/**
 * Decodes and checks a footer (`b` = the file's last 48 bytes; `fileSize` for bounds).
 * @throws CorruptionError on a bad checksum, magic, version or region layout.
 */
export function decodeFooterV1(b: Uint8Array, path: string, fileSize: number): Footer {
  const at = fileSize - FOOTER_BYTES;
  if (b.length !== FOOTER_BYTES) throw new CorruptionError('table shorter than its footer', { path, offset: 0 });
  if (crc32cRaw(b, 0, 44, 0) !== readU32(b, 44)) throw new CorruptionError('footer checksum mismatch', { path, offset: at });
  for (let i = 0; i < 8; i++) {
    if (b[36 + i] !== TABLE_MAGIC[i]) throw new CorruptionError('bad table magic (not an SSTable)', { path, offset: at + 36 });
  }
  const version = readU32(b, 32);
  if (version !== TABLE_VERSION) throw new CorruptionError(`unsupported table version ${version}`, { path, offset: at + 32 });
  const f: Footer = {
    indexOffset: readU64(b, 0),
    indexSize: readU32(b, 8),
    filterOffset: readU64(b, 12),
    filterSize: readU32(b, 20),
    entries: readU64(b, 24),
  };
  // The regions must tile the file: filter, then index, then footer (every byte under a checksum).
  if (
    f.indexOffset < 0 ||
    f.filterOffset < 0 ||
    f.entries < 1 ||
    f.indexOffset + f.indexSize + BLOCK_TRAILER_BYTES !== at ||
    f.filterOffset + f.filterSize + BLOCK_TRAILER_BYTES !== f.indexOffset
  ) {
    throw new CorruptionError('footer block handles do not tile the file', { path, offset: at });
  }
  return f;
}

/** Shared scratch for point lookups (reads are synchronous and never re-entrant). */
export interface GetResult {
  vbuf: Uint8Array;
  voff: number;
  vlen: number;
}

/** Counters the reader updates; owned by the LSM. */
export interface ReadStats {
  bloomChecks: number;
  bloomNegatives: number;
}

/** An open SSTable. */
let nextCacheId = 1;

export class TableReader implements CacheOwner {
  /** Cached blocks by block number (the cache key of a table's blocks). */
  readonly cached: BlockSlots;
  readonly cacheId = nextCacheId++ | 0;
  /**
   * Per data block: last user key, its sequence, and the block's (offset, size). The keys lie back to back in one
   * buffer (key i is `idxBuf[idxOff[i], idxOff[i + 1])`), so that a search touches a few contiguous arrays instead
   * of one object per key.
   */
  private readonly idxBuf: Uint8Array;
  private readonly idxOff: Int32Array;
  /** Length of the prefix that every index key shares (that of the first and the last, as they are sorted). */
  private readonly idxCp: number;
  /**
   * Bytes `[idxCp, idxCp + 4)` of each index key as a big-endian u32 (missing bytes 0), so that the binary search
   * mostly compares integers in one array. Keys of one table often share a long prefix (a collection name, an id's
   * leading digits); taking the four bytes after it, rather than the first four, keeps the integers distinct.
   */
  private readonly idxPre: Uint32Array;
  private readonly idxSeqs: Float64Array;
  private readonly idxOffs: Float64Array;
  private readonly idxSizes: Int32Array;
  readonly blocks: number;
  private getIter: BlockIter | null = null;

  private constructor(
    readonly path: string,
    private handle: FileHandle | null,
    readonly size: number,
    readonly footer: Footer,
    private readonly filter: Uint8Array,
    index: { keys: Uint8Array[]; seqs: number[]; offs: number[]; sizes: number[] },
    private readonly cache: BlockCache,
    private readonly stats: ReadStats,
  ) {
    const keys = index.keys;
    const n = keys.length;
    let total = 0;
    for (const k of keys) total += k.length;
    this.idxBuf = new Uint8Array(total);
    this.idxOff = new Int32Array(n + 1);
    for (let i = 0, at = 0; i < n; i++) {
      this.idxBuf.set(keys[i], at);
      at += keys[i].length;
      this.idxOff[i + 1] = at;
    }
    const first = keys[0];
    const last = keys[n - 1];
    let cp = 0;
    while (cp < first.length && cp < last.length && first[cp] === last[cp]) cp++;
    this.idxCp = cp;
    this.idxPre = Uint32Array.from(keys, (k) => prefix32At(k, 0, k.length, cp));
    this.idxSeqs = Float64Array.from(index.seqs);
    this.idxOffs = Float64Array.from(index.offs);
    this.idxSizes = Int32Array.from(index.sizes);
    this.blocks = n;
    this.cached = new BlockSlots(this.blocks);
  }

  /**
   * Opens a table: reads and checks the footer, the filter and the index (not the data blocks).
   * @throws CorruptionError on any checksum or layout failure; IoError if the file is missing.
   */
  static async open(fs: FileSystem, path: string, cache: BlockCache, stats: ReadStats): Promise<TableReader> {
    const handle = await fs.open(path);
    try {
      const size = handle.size();
      if (size < FOOTER_BYTES) throw new CorruptionError(`table too short (${size} bytes)`, { path, offset: 0 });
      const footer = decodeFooterV1(handle.read(size - FOOTER_BYTES, FOOTER_BYTES), path, size);
      const filter = readChecked(handle, path, footer.filterOffset, footer.filterSize, 'filter block');
      const iraw = readChecked(handle, path, footer.indexOffset, footer.indexSize, 'index block');
      const iblock = new Block(iraw, path, footer.indexOffset);
      const it = new BlockIter(iblock, false);
      const index = { keys: [] as Uint8Array[], seqs: [] as number[], offs: [] as number[], sizes: [] as number[] };
      let expect = 0;
      for (it.first(); it.valid; it.next()) {
        const key = it.kbuf.slice(it.koff, it.koff + it.ulen);
        let p = it.voff;
        const end = it.voff + it.vlen;
        const vals: number[] = [];
        for (let k = 0; k < 2; k++) {
          let v = 0;
          let mul = 1;
          for (;;) {
            if (p >= end || mul > 2 ** 49) throw new CorruptionError('bad block handle in index', { path, offset: footer.indexOffset + it.voff });
            const b = iraw[p++];
            v += (b & 127) * mul;
            mul *= 128;
            if (b < 128) break;
          }
          vals.push(v);
        }
        if (p !== end || vals[0] !== expect || vals[1] < 4) {
          throw new CorruptionError('index block handles do not tile the data region', { path, offset: footer.indexOffset + it.voff });
        }
        const n = index.keys.length;
        if (n > 0 && compareInternalKeys(index.keys[n - 1], index.seqs[n - 1], key, it.seq) >= 0) {
          throw new CorruptionError('index keys out of order', { path, offset: footer.indexOffset });
        }
        expect = vals[0] + vals[1] + BLOCK_TRAILER_BYTES;
        index.keys.push(key);
        index.seqs.push(it.seq);
        index.offs.push(vals[0]);
        index.sizes.push(vals[1]);
      }
      if (expect !== footer.filterOffset || index.keys.length === 0) {
        throw new CorruptionError('data blocks do not end where the filter starts', { path, offset: footer.filterOffset });
      }
      return new TableReader(path, handle, size, footer, filter, index, cache, stats);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Reads data block `i`, through the cache unless `fillCache` is false (compaction reads). */
  readBlock(i: number, fillCache: boolean): Block {
    const cached = this.cache.get(this, i);
    if (cached !== undefined) return cached;
    const off = this.idxOffs[i];
    if (this.handle === null) throw new Error(`table ${this.path} read after close`);
    const block = new Block(readChecked(this.handle, this.path, off, this.idxSizes[i], 'data block'), this.path, off);
    if (fillCache) this.cache.insert(this, i, block);
    return block;
  }

  /**
   * Reads data block `i` for a point lookup: from the cache, else from the file; inserted only if the cache admits
   * it ({@link BlockCache.admit}), otherwise decoded in the cache's scratch buffer (invariant 4).
   */
  private readBlockForGet(i: number): Block {
    const cache = this.cache;
    const cached = cache.get(this, i);
    if (cached !== undefined) return cached;
    const off = this.idxOffs[i];
    const h = this.handle;
    if (h === null) throw new Error(`table ${this.path} read after close`);
    const size = this.idxSizes[i];
    const total = size + BLOCK_TRAILER_BYTES;
    // Block.charge is the content size + 64.
    const admitted = cache.admit(this, i, size + 64);
    if (admitted || h.readInto === undefined) {
      const block = new Block(readChecked(h, this.path, off, size, 'data block'), this.path, off);
      if (admitted) cache.insert(this, i, block);
      return block;
    }
    const buf = cache.scratch(total);
    const got = h.readInto(off, buf.subarray(0, total));
    return new Block(checkRaw(buf, got, this.path, off, size, 'data block'), this.path, off);
  }

  /** Index of the first data block whose last internal key is >= (t, tseq); `blocks` if none. */
  findBlock(t: Uint8Array, tseq: number): number {
    const buf = this.idxBuf;
    const cp = this.idxCp;
    const tlen = t.length;
    // Every index key starts with buf[0, cp): a target that differs there sorts before or after all of them.
    const n = tlen < cp ? tlen : cp;
    for (let i = 0; i < n; i++) {
      const d = t[i] - buf[i];
      if (d !== 0) return d < 0 ? 0 : this.blocks;
    }
    if (tlen < cp) return 0; // a proper prefix of every index key
    const tpre = prefix32At(t, 0, tlen, cp);
    const offs = this.idxOff;
    const seqs = this.idxSeqs;
    const pre = this.idxPre;
    let lo = 0;
    let hi = this.blocks;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = pre[mid];
      let c: number;
      if (p !== tpre) c = p < tpre ? -1 : 1;
      else {
        const ko = offs[mid];
        c = compareRange(buf, ko + cp, offs[mid + 1] - ko - cp, t, cp, tlen - cp);
        if (c === 0) c = seqs[mid] > tseq ? -1 : seqs[mid] < tseq ? 1 : 0;
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether the filter allows user key hash `h`. */
  mayContain(h: number): boolean {
    this.stats.bloomChecks++;
    if (bloomMayContain(this.filter, 0, this.filter.length, h)) return true;
    this.stats.bloomNegatives++;
    return false;
  }

  /**
   * Point lookup: the newest version of `key` with sequence <= `seq`.
   * @returns the entry's kind (writing the value view into `out`), or -1 if this table has no such version.
   */
  get(key: Uint8Array, seq: number, hash: number, out: GetResult): number {
    if (!this.mayContain(hash)) return -1;
    const b = this.findBlock(key, seq);
    if (b === this.blocks) return -1;
    const block = this.readBlockForGet(b);
    let it = this.getIter;
    if (it === null) it = this.getIter = new BlockIter(block, false);
    else it.reset(block);
    it.seekGE(key, seq);
    if (!it.valid || compareRange(it.kbuf, it.koff, it.ulen, key, 0, key.length) !== 0) return -1;
    out.vbuf = it.vbuf;
    out.voff = it.voff;
    out.vlen = it.vlen;
    return it.kind;
  }

  async close(): Promise<void> {
    this.cache.drop(this);
    const h = this.handle;
    this.handle = null;
    if (h) await h.close();
  }
}

function compareInternalKeys(a: Uint8Array, aseq: number, b: Uint8Array, bseq: number): number {
  const c = compareBytes(a, b);
  if (c !== 0) return c;
  return aseq > bseq ? -1 : aseq < bseq ? 1 : 0;
}

/** Reads `size` bytes + CRC trailer at `off`, checks the CRC; returns the content. */
function readChecked(handle: FileHandle, path: string, off: number, size: number, what: string): Uint8Array {
  const raw = handle.read(off, size + BLOCK_TRAILER_BYTES);
  return checkRaw(raw, raw.length, path, off, size, what);
}

/** Checks that `got` bytes of `raw` hold `size` bytes + CRC trailer with a matching CRC; returns the content view. */
function checkRaw(raw: Uint8Array, got: number, path: string, off: number, size: number, what: string): Uint8Array {
  if (got !== size + BLOCK_TRAILER_BYTES) throw new CorruptionError(`${what} truncated`, { path, offset: off });
  if (crc32cRaw(raw, 0, size, 0) !== readU32(raw, size)) {
    throw new CorruptionError(`${what} checksum mismatch`, { path, offset: off });
  }
  return raw.subarray(0, size);
}

/** A table's place in a run: the reader plus its key range (from the manifest). */
export interface RunTable {
  reader: TableReader;
  smallest: Uint8Array;
  largest: Uint8Array;
}

/**
 * Iterates one sorted run (tables in key order, not overlapping) in one direction, block by block.
 * Memory: one block at a time.
 */
export class RunIter implements InternalIter {
  valid = false;
  kbuf = EMPTY;
  koff = 0;
  ulen = 0;
  seq = 0;
  kind = 0;
  vbuf = EMPTY;
  voff = 0;
  vlen = 0;
  private ti = 0;
  private bi = 0;
  private bit: BlockIter | null = null;

  constructor(
    private readonly tables: RunTable[],
    readonly reverse: boolean,
    private readonly fillCache: boolean,
  ) {}

  private load(ti: number, bi: number): BlockIter {
    this.ti = ti;
    this.bi = bi;
    const block = this.tables[ti].reader.readBlock(bi, this.fillCache);
    if (this.bit === null) this.bit = new BlockIter(block, this.reverse);
    else this.bit.reset(block);
    return this.bit;
  }

  private expose(): void {
    const b = this.bit!;
    if (!b.valid) {
      this.valid = false;
      return;
    }
    this.valid = true;
    this.kbuf = b.kbuf;
    this.koff = b.koff;
    this.ulen = b.ulen;
    this.seq = b.seq;
    this.kind = b.kind;
    this.vbuf = b.vbuf;
    this.voff = b.voff;
    this.vlen = b.vlen;
  }

  /** Moves to the first entry of the next block (forward) or the last of the previous one (reverse). */
  private advanceBlock(): void {
    let ti = this.ti;
    let bi = this.bi;
    if (this.reverse) {
      if (bi > 0) bi--;
      else if (ti > 0) {
        ti--;
        bi = this.tables[ti].reader.blocks - 1;
      } else {
        this.valid = false;
        return;
      }
    } else {
      if (bi + 1 < this.tables[ti].reader.blocks) bi++;
      else if (ti + 1 < this.tables.length) {
        ti++;
        bi = 0;
      } else {
        this.valid = false;
        return;
      }
    }
    this.load(ti, bi).first();
    this.expose();
  }

  first(): void {
    if (this.tables.length === 0) {
      this.valid = false;
      return;
    }
    if (this.reverse) {
      const ti = this.tables.length - 1;
      this.load(ti, this.tables[ti].reader.blocks - 1).first();
    } else this.load(0, 0).first();
    this.expose();
  }

  seekGE(t: Uint8Array, tseq: number): void {
    // First table whose largest user key >= t.
    let lo = 0;
    let hi = this.tables.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.tables[mid].largest, t) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.tables.length) {
      this.valid = false;
      return;
    }
    const r = this.tables[lo].reader;
    const b = r.findBlock(t, tseq);
    if (b === r.blocks) {
      this.ti = lo;
      this.bi = r.blocks - 1;
      this.advanceBlock();
      return;
    }
    const it = this.load(lo, b);
    it.seekGE(t, tseq);
    if (it.valid) this.expose();
    else this.advanceBlock();
  }

  seekLE(t: Uint8Array, tseq: number): void {
    // Last table whose smallest user key <= t.
    let lo = 0;
    let hi = this.tables.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.tables[mid].smallest, t) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const ti = lo - 1;
    if (ti < 0) {
      this.valid = false;
      return;
    }
    const r = this.tables[ti].reader;
    const b = r.findBlock(t, tseq);
    if (b === r.blocks) {
      this.load(ti, r.blocks - 1).first();
      this.expose();
      return;
    }
    const it = this.load(ti, b);
    it.seekLE(t, tseq);
    if (it.valid) this.expose();
    else this.advanceBlock();
  }

  next(): void {
    const b = this.bit!;
    b.next();
    if (b.valid) this.expose();
    else this.advanceBlock();
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);

export { compareInternal };
