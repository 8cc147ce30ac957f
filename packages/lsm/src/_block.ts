/**
 * SSTable blocks: a sorted run of internal-key entries with prefix compression and restart points, as in LevelDB's
 * `table/block_builder.cc` (docs/formats/sstable.md, "Block").
 *
 * Entry: varint shared | varint nonShared | varint valueLength | key bytes [shared, shared+nonShared) | value.
 * After the entries: restart offsets (u32 LE each, ascending), then their count (u32 LE). At a restart point
 * `shared` is 0, so a binary search over restart points compares whole keys in place.
 *
 * Internal keys: user key | sequence (7 bytes, big-endian) | kind (1 byte). They sort by user key ascending, then
 * sequence descending (newest first), so a seek to (key, S) finds the newest version visible at sequence S.
 *
 * Invariants:
 * 1. Entries are added in strictly increasing internal-key order (the builder's caller guarantees it).
 * 2. Restart offsets are ascending and each points at an entry whose `shared` is 0.
 * 3. A block handed to {@link Block} has passed its CRC-32C; the decoders still bound-check every length so that
 *    a CRC collision cannot read outside the block (it raises CorruptionError instead).
 *
 * Internal module: not exported from the package.
 */
import { CorruptionError } from '@hearth/io';
import { compareRange, readU32, writeU32 } from './_bytes.js';
import { TRAILER_BYTES } from './_format.js';

/** Reads the 7-byte big-endian sequence at `buf[p]`. */
export function readSeq(buf: Uint8Array, p: number): number {
  return ((buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2]) * 0x100000000 +
    (((buf[p + 3] << 24) | (buf[p + 4] << 16) | (buf[p + 5] << 8) | buf[p + 6]) >>> 0);
}

/** Writes `seq` as 7 bytes big-endian and `kind` as one byte at `buf[p]`. */
export function writeTrailer(buf: Uint8Array, p: number, seq: number, kind: number): void {
  const hi = Math.floor(seq / 0x100000000);
  const lo = seq >>> 0;
  buf[p] = hi >>> 16;
  buf[p + 1] = hi >>> 8;
  buf[p + 2] = hi;
  buf[p + 3] = lo >>> 24;
  buf[p + 4] = lo >>> 16;
  buf[p + 5] = lo >>> 8;
  buf[p + 6] = lo;
  buf[p + 7] = kind;
}

/**
 * Compares the internal key `buf[off, off+len)` (user key + trailer) with the target (user key `t`, sequence
 * `tseq`). Negative when the entry sorts first.
 */
export function compareInternal(buf: Uint8Array, off: number, len: number, t: Uint8Array, tseq: number): number {
  const ul = len - TRAILER_BYTES;
  const c = compareRange(buf, off, ul, t, 0, t.length);
  if (c !== 0) return c;
  const s = readSeq(buf, off + ul);
  return s > tseq ? -1 : s < tseq ? 1 : 0;
}

/**
 * A restart point is also placed once this many bytes of entries follow the last one, whatever `restartInterval`
 * says. With large values (a ~230-byte document state: 16 entries are ~3.7 KiB, a whole block) a restart every 16
 * entries left a point lookup scanning about half a block entry by entry, each entry on its own cache line; with this
 * cap a scan crosses at most ~1 KiB. Cost: a restart stores its key whole and adds 4 bytes to the restart array,
 * about 1.3% more bytes for such blocks (measured: 29.83 -> 30.21 MB for 100,000 documents); blocks of small
 * entries (16 entries under 1 KiB) are unchanged. Readers need nothing: the format allows restarts anywhere.
 */
const RESTART_BYTES = 1024;

/** Builds one block. Reused across blocks through {@link BlockBuilder.reset}. */
export class BlockBuilder {
  private buf: Uint8Array;
  /** Bytes of entries written so far. */
  private len = 0;
  private restarts = new Int32Array(64);
  private nRestarts = 0;
  private counter = 0;
  private last = new Uint8Array(64);
  private lastLen = 0;
  private cur = new Uint8Array(64);
  /** Entries in the block. */
  entries = 0;

  constructor(
    private readonly restartInterval: number,
    capacity = 8192,
  ) {
    this.buf = new Uint8Array(capacity);
    this.reset();
  }

  reset(): void {
    this.len = 0;
    this.nRestarts = 1;
    this.restarts[0] = 0;
    this.counter = 0;
    this.lastLen = 0;
    this.entries = 0;
  }

  /** Bytes {@link finish} would produce (without the CRC trailer). */
  size(): number {
    return this.len + this.nRestarts * 4 + 4;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /**
   * Appends an entry: internal key (`ukey[uoff, uoff+ulen)`, `seq`, `kind`) and value `val[voff, voff+vlen)`.
   * REQUIRES: the internal key sorts after the previous one (invariant 1).
   */
  add(ukey: Uint8Array, uoff: number, ulen: number, seq: number, kind: number, val: Uint8Array, voff: number, vlen: number): void {
    const klen = ulen + TRAILER_BYTES;
    if (this.cur.length < klen) this.cur = new Uint8Array(Math.max(klen, this.cur.length * 2));
    const cur = this.cur;
    for (let i = 0; i < ulen; i++) cur[i] = ukey[uoff + i];
    writeTrailer(cur, ulen, seq, kind);
    let shared = 0;
    if (this.counter < this.restartInterval && this.len - this.restarts[this.nRestarts - 1] < RESTART_BYTES) {
      const last = this.last;
      const n = Math.min(this.lastLen, klen);
      while (shared < n && last[shared] === cur[shared]) shared++;
    } else {
      if (this.nRestarts === this.restarts.length) {
        const r = new Int32Array(this.restarts.length * 2);
        r.set(this.restarts);
        this.restarts = r;
      }
      this.restarts[this.nRestarts++] = this.len;
      this.counter = 0;
    }
    const nonShared = klen - shared;
    this.ensure(15 + nonShared + vlen);
    const buf = this.buf;
    let p = this.len;
    p = putVarint32(buf, p, shared);
    p = putVarint32(buf, p, nonShared);
    p = putVarint32(buf, p, vlen);
    for (let i = 0; i < nonShared; i++) buf[p + i] = cur[shared + i];
    p += nonShared;
    if (vlen > 0) {
      if (vlen < 32) for (let i = 0; i < vlen; i++) buf[p + i] = val[voff + i];
      else buf.set(val.subarray(voff, voff + vlen), p);
      p += vlen;
    }
    this.len = p;
    this.counter++;
    this.entries++;
    // Swap so that `last` holds this key.
    this.cur = this.last;
    this.last = cur;
    this.lastLen = klen;
  }

  /** The last internal key added: `lastKey()[0, lastKeyLength())`. Valid until the next add. */
  lastKey(): Uint8Array {
    return this.last;
  }
  lastKeyLength(): number {
    return this.lastLen;
  }

  /**
   * Appends the restart array, its count and 4 spare bytes for the CRC trailer; returns a view of the block
   * (content + 4 trailer bytes, trailer not yet written). Valid until the next `add`/`reset`.
   */
  finish(): Uint8Array {
    this.ensure(this.nRestarts * 4 + 8);
    let p = this.len;
    for (let i = 0; i < this.nRestarts; i++, p += 4) writeU32(this.buf, p, this.restarts[i]);
    writeU32(this.buf, p, this.nRestarts);
    p += 4;
    return this.buf.subarray(0, p + 4);
  }
}

function putVarint32(buf: Uint8Array, p: number, v: number): number {
  while (v >= 128) {
    buf[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** A decoded (checksum-verified) block: the entries and the restart array. Immutable; shared by iterators. */
export class Block {
  readonly restartsOff: number;
  readonly numRestarts: number;
  /** Bytes charged to the block cache. */
  readonly charge: number;

  /**
   * @param data the block content without its CRC trailer.
   * @param path file, for error messages. @param offset absolute offset of `data[0]` in the file.
   * @throws CorruptionError if the restart array does not fit.
   */
  constructor(
    readonly data: Uint8Array,
    readonly path: string,
    readonly offset: number,
  ) {
    const len = data.length;
    if (len < 4) throw new CorruptionError('block shorter than its restart count', { path, offset });
    const n = readU32(data, len - 4);
    const restartsOff = len - 4 - n * 4;
    if (n < 1 || restartsOff < 0) throw new CorruptionError(`bad restart count ${n}`, { path, offset });
    for (let i = 0; i < n; i++) {
      const r = readU32(data, restartsOff + i * 4);
      if (r >= restartsOff || (i > 0 && r <= readU32(data, restartsOff + (i - 1) * 4))) {
        throw new CorruptionError(`bad restart offset ${r}`, { path, offset: offset + restartsOff + i * 4 });
      }
    }
    if (readU32(data, restartsOff) !== 0) throw new CorruptionError('first restart is not 0', { path, offset });
    this.restartsOff = restartsOff;
    this.numRestarts = n;
    this.charge = len + 64;
  }

  restart(i: number): number {
    return readU32(this.data, this.restartsOff + i * 4);
  }

  fail(what: string, at: number): never {
    throw new CorruptionError(what, { path: this.path, offset: this.offset + at });
  }
}

/**
 * Iterates one block in one direction. Exposes the current entry as fields (no allocation per entry):
 * user key `kbuf[koff, koff+ulen)`, `seq`, `kind`, value `vbuf[voff, voff+vlen)`. The views stay valid until the
 * iterator moves; `vbuf` is the block's data, which never changes.
 */
export class BlockIter {
  valid = false;
  kbuf: Uint8Array;
  koff = 0;
  ulen = 0;
  seq = 0;
  kind = 0;
  vbuf: Uint8Array;
  voff = 0;
  vlen = 0;

  // Forward decoding state.
  private key = new Uint8Array(64);
  private klen = 0;
  private nextPos = 0;
  private limit: number;
  private data: Uint8Array;

  // Reverse state: one restart interval decoded into a stack.
  private rkeys = new Uint8Array(256);
  private rk = new Int32Array(32); // key offset in rkeys
  private rl = new Int32Array(32); // internal key length
  private rv = new Int32Array(32); // value offset
  private rvl = new Int32Array(32); // value length
  private rcount = 0;
  private ridx = -1;
  private rinterval = 0;

  constructor(
    private block: Block,
    readonly reverse: boolean,
  ) {
    this.data = block.data;
    this.vbuf = block.data;
    this.kbuf = this.key;
    this.limit = block.restartsOff;
  }

  /** Points the iterator at another block (same direction); invalid until positioned. */
  reset(block: Block): void {
    this.block = block;
    this.data = block.data;
    this.vbuf = block.data;
    this.limit = block.restartsOff;
    this.klen = 0;
    this.valid = false;
  }

  /** Decodes the entry at `pos` on top of the key in `this.key`. Sets `nextPos`. */
  private parse(pos: number): void {
    const d = this.data;
    let p = pos;
    let shared = d[p++];
    if (shared >= 128) {
      p--;
      shared = this.slowVarint(p);
      p = this.vp;
    }
    let nonShared = d[p++];
    if (nonShared >= 128) {
      p--;
      nonShared = this.slowVarint(p);
      p = this.vp;
    }
    let vlen = d[p++];
    if (vlen >= 128) {
      p--;
      vlen = this.slowVarint(p);
      p = this.vp;
    }
    const klen = shared + nonShared;
    if (shared > this.klen || p + nonShared + vlen > this.limit || klen < TRAILER_BYTES) {
      this.block.fail('bad block entry', pos);
    }
    if (this.key.length < klen) {
      const k = new Uint8Array(Math.max(klen, this.key.length * 2));
      k.set(this.key.subarray(0, shared));
      this.key = k;
    }
    const key = this.key;
    for (let i = 0; i < nonShared; i++) key[shared + i] = d[p + i];
    this.klen = klen;
    this.voff = p + nonShared;
    this.vlen = vlen;
    this.nextPos = this.voff + vlen;
  }

  private vp = 0;
  private slowVarint(p: number): number {
    const d = this.data;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= this.limit) this.block.fail('truncated varint', p);
      const b = d[p++];
      result |= (b & 127) << shift;
      if (b < 128) {
        this.vp = p;
        return result >>> 0;
      }
      shift += 7;
    }
    this.block.fail('varint too long', p);
  }

  private exposeForward(): void {
    const ul = this.klen - TRAILER_BYTES;
    this.kbuf = this.key;
    this.koff = 0;
    this.ulen = ul;
    this.seq = readSeq(this.key, ul);
    this.kind = this.key[ul + 7];
    this.valid = true;
  }

  /** Forward: positions at the first entry. Reverse: at the last. */
  first(): void {
    if (this.reverse) {
      this.loadInterval(this.block.numRestarts - 1);
      this.ridx = this.rcount - 1;
      this.exposeReverse();
    } else {
      this.klen = 0;
      this.parse(0);
      this.exposeForward();
    }
  }

  /** Moves one entry in the iterator's direction. REQUIRES: valid. */
  next(): void {
    if (this.reverse) {
      this.ridx--;
      if (this.ridx < 0) {
        if (this.rinterval === 0) {
          this.valid = false;
          return;
        }
        this.loadInterval(this.rinterval - 1);
        this.ridx = this.rcount - 1;
      }
      this.exposeReverse();
    } else {
      if (this.nextPos >= this.limit) {
        this.valid = false;
        return;
      }
      this.parse(this.nextPos);
      this.exposeForward();
    }
  }

  /**
   * Compares the whole key at restart `i` (stored with shared = 0) with the target, from byte `from` of the user
   * keys (REQUIRES: the first `from` bytes are known equal). Sets {@link lcp} to the bytes the user keys share.
   */
  private compareRestart(i: number, t: Uint8Array, tseq: number, from: number): number {
    const d = this.data;
    const start = this.block.restart(i);
    let p = start;
    const shared = d[p++];
    let nonShared = d[p++];
    if (nonShared >= 128) {
      nonShared = this.slowVarint(p - 1);
      p = this.vp;
    }
    // The value length is not needed here, only skipped (one or two bytes for values under 16 KiB).
    if (d[p++] >= 128) {
      if (d[p++] >= 128) {
        this.slowVarint(p - 2);
        p = this.vp;
      }
    }
    if (shared !== 0 || p + nonShared > this.limit || nonShared < TRAILER_BYTES) this.block.fail('bad restart entry', start);
    const ul = nonShared - TRAILER_BYTES;
    const tlen = t.length;
    const n = ul < tlen ? ul : tlen;
    let j = from;
    while (j < n && d[p + j] === t[j]) j++;
    this.lcp = j;
    if (j < n) return d[p + j] - t[j];
    if (ul !== tlen) return ul - tlen;
    const s = readSeq(d, p + ul);
    return s > tseq ? -1 : s < tseq ? 1 : 0;
  }

  /** Bytes the user key of the last restart compared shares with the target (set by {@link compareRestart}). */
  private lcp = 0;
  /** After {@link searchRestarts}: the bytes the found restart's user key shares with the target. */
  private foundLcp = 0;

  /**
   * Index of the last restart whose key is < target (or <= with `orEqual`); -1 if none.
   *
   * Each comparison starts after the bytes that both current bounds share with the target: every key between two
   * keys that share L bytes with the target shares them too (Manber and Myers' LCP trick for binary search over
   * sorted strings), so keys with a long common prefix (a collection name, an id's leading digits) are not
   * compared from their first byte at every probe.
   */
  private searchRestarts(t: Uint8Array, tseq: number, orEqual: boolean): number {
    let lo = 0;
    let hi = this.block.numRestarts - 1;
    let ans = -1;
    let loLcp = 0; // shared with the target by the key at restart `ans` (the lower bound), 0 while there is none
    let hiLcp = 0; // shared by the key just above the range (the upper bound), 0 while there is none
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareRestart(mid, t, tseq, loLcp < hiLcp ? loLcp : hiLcp);
      if (c < 0 || (orEqual && c === 0)) {
        ans = mid;
        loLcp = this.lcp;
        lo = mid + 1;
      } else {
        hiLcp = this.lcp;
        hi = mid - 1;
      }
    }
    this.foundLcp = loLcp;
    return ans;
  }

  /**
   * Forward only: positions at the first entry >= (t, tseq); invalid if none.
   *
   * The scan after the restart search defers key copies: the current key is `key[0, valid)` followed by the block
   * bytes `d[restAt, ...)`, and an entry is compared where its bytes lie. Only the bytes a later entry shares with
   * it are ever copied (for random keys, a byte or two instead of the whole key), and the whole key only for the
   * entry the seek stops at. Same entries, same checks and same result as decoding every entry with `parse`.
   *
   * It also skips comparisons: while the current key is below the target because of a byte at position `eq` of its
   * user key (it equals the target before `eq`, and is smaller at `eq`), a next entry that shares more than `eq`
   * bytes with it has that same smaller byte, so it is below the target too, uncompared; a next entry that shares
   * `s <= eq` bytes equals the target on its first `s` bytes, so the comparison starts there. The restart found by
   * the search is known to be below the target, so it is not compared again.
   */
  seekGE(t: Uint8Array, tseq: number): void {
    let r = this.searchRestarts(t, tseq, false);
    const d = this.data;
    const limit = this.limit;
    const tlen = t.length;
    let key = this.key;
    let valid = 0;
    let klen = 0;
    let restAt = 0;
    // `eq`: leading user-key bytes the current entry shares with the target; `below`: the current entry is below
    // the target because of its byte at `eq` (so eq < both lengths).
    let eq = 0;
    let below = false;
    let known = r >= 0; // the first entry (restart r) is known to be below the target
    if (r < 0) r = 0;
    else {
      eq = this.foundLcp;
      below = false; // set from the entry's length once it is decoded
    }
    let pos = this.block.restart(r);
    for (;;) {
      let p = pos;
      let shared = d[p++];
      if (shared >= 128) {
        shared = this.slowVarint(p - 1);
        p = this.vp;
      }
      let nonShared = d[p++];
      if (nonShared >= 128) {
        nonShared = this.slowVarint(p - 1);
        p = this.vp;
      }
      let vlen = d[p++];
      if (vlen >= 128) {
        if (p < limit && d[p] < 128) {
          vlen = (vlen & 127) | (d[p] << 7);
          p++;
        } else {
          vlen = this.slowVarint(p - 1);
          p = this.vp;
        }
      }
      const nk = shared + nonShared;
      if (shared > klen || p + nonShared + vlen > limit || nk < TRAILER_BYTES) this.block.fail('bad block entry', pos);
      // The new key is the current key's first `shared` bytes, then d[p, p + nonShared).
      if (shared > valid) {
        if (key.length < shared) key = this.growKey(key, valid, shared);
        for (let i = valid; i < shared; i++) key[i] = d[restAt + i - valid];
      }
      valid = shared;
      klen = nk;
      restAt = p;
      const ul = nk - TRAILER_BYTES;
      if (valid > ul) {
        // Shares part of its trailer with the previous key (another version of one user key): materialize it.
        if (key.length < nk) key = this.growKey(key, valid, nk);
        for (let i = valid; i < nk; i++) key[i] = d[restAt + i - valid];
        valid = nk;
      }
      let c: number;
      if (known) {
        // The restart the search found: below the target; `eq` came from the search.
        known = false;
        c = -1;
        below = eq < ul && eq < tlen;
      } else if (below && shared > eq) {
        c = -1; // same smaller byte at `eq` as the previous entry
      } else {
        // Compare (user key, sequence) with (t, tseq) from the first byte not known equal, reading each byte
        // where it lies.
        let j = shared < eq ? shared : eq;
        const n = ul < tlen ? ul : tlen;
        c = 0;
        for (; j < n; j++) {
          c = (j < valid ? key[j] : d[restAt + j - valid]) - t[j];
          if (c !== 0) break;
        }
        eq = j;
        below = c < 0;
        if (c === 0) c = ul - tlen;
        if (c === 0) {
          const s = valid <= ul ? readSeq(d, restAt + ul - valid) : readSeq(key, ul);
          c = s > tseq ? -1 : s < tseq ? 1 : 0;
        }
      }
      if (c >= 0) {
        if (key.length < nk) key = this.growKey(key, valid, nk);
        for (let i = valid; i < nk; i++) key[i] = d[restAt + i - valid];
        this.key = key;
        this.klen = nk;
        this.voff = p + nonShared;
        this.vlen = vlen;
        this.nextPos = this.voff + vlen;
        this.exposeForward();
        return;
      }
      pos = p + nonShared + vlen;
      if (pos >= limit) {
        this.key = key;
        this.klen = 0;
        this.valid = false;
        return;
      }
    }
  }

  /** A key buffer of at least `need` bytes holding `key[0, keep)`. */
  private growKey(key: Uint8Array, keep: number, need: number): Uint8Array<ArrayBuffer> {
    const k = new Uint8Array(Math.max(need, key.length * 2));
    for (let i = 0; i < keep; i++) k[i] = key[i];
    return k;
  }

  /** Reverse only: positions at the last entry <= (t, tseq); invalid if none. */
  seekLE(t: Uint8Array, tseq: number): void {
    const r = this.searchRestarts(t, tseq, true);
    if (r < 0) {
      this.valid = false;
      return;
    }
    this.loadInterval(r);
    let i = this.rcount - 1;
    while (i >= 0 && compareInternal(this.rkeys, this.rk[i], this.rl[i], t, tseq) > 0) i--;
    // Invariant 2: the restart key itself is <= target, so i >= 0.
    this.ridx = i;
    this.exposeReverse();
  }

  /** Decodes restart interval `r` into the reverse stack. */
  private loadInterval(r: number): void {
    const start = this.block.restart(r);
    const end = r + 1 < this.block.numRestarts ? this.block.restart(r + 1) : this.limit;
    this.klen = 0;
    let n = 0;
    let used = 0;
    let pos = start;
    while (pos < end) {
      this.parse(pos);
      if (n === this.rk.length) this.growStack();
      if (used + this.klen > this.rkeys.length) {
        const k = new Uint8Array(Math.max(used + this.klen, this.rkeys.length * 2));
        k.set(this.rkeys.subarray(0, used));
        this.rkeys = k;
      }
      const rkeys = this.rkeys;
      const key = this.key;
      for (let i = 0; i < this.klen; i++) rkeys[used + i] = key[i];
      this.rk[n] = used;
      this.rl[n] = this.klen;
      this.rv[n] = this.voff;
      this.rvl[n] = this.vlen;
      used += this.klen;
      n++;
      pos = this.nextPos;
    }
    if (pos !== end) this.block.fail('restart interval overruns the next restart', start);
    this.rcount = n;
    this.rinterval = r;
  }

  private growStack(): void {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.rk = grow(this.rk);
    this.rl = grow(this.rl);
    this.rv = grow(this.rv);
    this.rvl = grow(this.rvl);
  }

  private exposeReverse(): void {
    const i = this.ridx;
    const off = this.rk[i];
    const ul = this.rl[i] - TRAILER_BYTES;
    this.kbuf = this.rkeys;
    this.koff = off;
    this.ulen = ul;
    this.seq = readSeq(this.rkeys, off + ul);
    this.kind = this.rkeys[off + ul + 7];
    this.voff = this.rv[i];
    this.vlen = this.rvl[i];
    this.valid = true;
  }
}
