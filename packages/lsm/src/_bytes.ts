/**
 * Byte helpers for the LSM's hot paths: unsigned lexicographic comparison, varints, little-endian integers.
 * Internal module: not exported from the package.
 */
import { CorruptionError } from '@hearth/io';

/**
 * Compares `a[ao, ao+al)` with `b[bo, bo+bl)` as unsigned bytes, a shorter prefix first.
 * @returns negative, zero or positive.
 */
export function compareRange(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = a[ao + i] - b[bo + i];
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Compares two whole byte arrays (unsigned, shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const al = a.length;
  const bl = b.length;
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return al - bl;
}

/**
 * The first four bytes of `a` as a big-endian unsigned 32-bit integer, missing bytes read as 0. For two keys,
 * `prefix32(a) < prefix32(b)` implies `compareBytes(a, b) < 0` (and `>` likewise); only equal prefixes need a full
 * comparison. Binary searches compare these integers first, from one contiguous `Uint32Array`, instead of chasing a
 * pointer to each key.
 */
export function prefix32(a: Uint8Array): number {
  const n = a.length;
  if (n >= 4) return ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (i < n ? a[i] : 0);
  return v >>> 0;
}

/**
 * Bytes `[from, from + 4)` of `a[0, len)` as a big-endian unsigned 32-bit integer, missing bytes read as 0: the
 * {@link prefix32} of the suffix from `from`. For two keys that share their first `from` bytes, a smaller value
 * implies a smaller key; equal values need a full comparison.
 */
export function prefix32At(a: Uint8Array, off: number, len: number, from: number): number {
  const p = off + from;
  if (len - from >= 4) return ((a[p] << 24) | (a[p + 1] << 16) | (a[p + 2] << 8) | a[p + 3]) >>> 0;
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (from + i < len ? a[p + i] : 0);
  return v >>> 0;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Number of bytes {@link writeVarint} uses for `v` (a non-negative safe integer). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` (non-negative safe integer) as an unsigned LEB128 varint at `buf[pos]`; returns the new position. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 128) {
    buf[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A cursor over bytes that throws {@link CorruptionError} (with the file and absolute offset) when it runs out. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly path: string,
    /** Absolute file offset of `buf[0]`, for error messages. */
    readonly base: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new CorruptionError(`${what}`, { path: this.path, offset: this.base + this.pos });
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 127) * mul;
      if (b < 128) {
        if (!Number.isSafeInteger(result)) this.fail('varint exceeds 2^53');
        return result;
      }
      mul *= 128;
    }
    this.fail('varint longer than 8 bytes');
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('truncated byte');
    return this.buf[this.pos++];
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail(`length ${n} runs past the end`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthPrefixed(): Uint8Array {
    return this.bytes(this.varint());
  }
}

export function readU32(buf: Uint8Array, pos: number): number {
  return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
}

export function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v;
  buf[pos + 1] = v >>> 8;
  buf[pos + 2] = v >>> 16;
  buf[pos + 3] = v >>> 24;
}

/** Reads a u64 stored little-endian; throws if it exceeds 2^53 (callers treat that as corruption). */
export function readU64(buf: Uint8Array, pos: number): number {
  const lo = readU32(buf, pos);
  const hi = readU32(buf, pos + 4);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + lo;
}

export function writeU64(buf: Uint8Array, pos: number, v: number): void {
  writeU32(buf, pos, v >>> 0);
  writeU32(buf, pos + 4, Math.floor(v / 0x100000000));
}

/** A growable byte buffer. */
export class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }
  ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    writeU32(this.buf, this.len, v);
    this.len += 4;
  }
  varint(v: number): void {
    this.ensure(10);
    this.len = writeVarint(this.buf, this.len, v);
  }
  bytes(b: Uint8Array, off = 0, n = b.length - off): void {
    this.ensure(n);
    this.buf.set(off === 0 && n === b.length ? b : b.subarray(off, off + n), this.len);
    this.len += n;
  }
  lengthPrefixed(b: Uint8Array): void {
    this.varint(b.length);
    this.bytes(b);
  }
  /** A copy of the content. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
