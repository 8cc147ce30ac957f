/**
 * The write path's encoder of field values V1 (`docs/formats/ops.md`, "Field values"; the model and canonical form
 * are in the header of `values.ts`). Internal.
 *
 * `encodeFieldValueV1` in `values.ts` is the reference: it validates a value, turns it into what msgpackr packs
 * canonically (objects become key-sorted Maps) and lets msgpackr pack it. This encoder writes the same bytes
 * directly into one growing scratch buffer and copies the result out once: no intermediate Maps or arrays, no
 * msgpackr call, one allocation per value. It throws the same errors for values outside the model. Byte equality
 * with the reference (and so with msgpackr) is pinned by a property test (`test/values.test.ts`).
 *
 * Invariants:
 * 1. Not re-entrant: one call (or one pack, `packStart` to `packEnd`) at a time writes `buf` from `committed`.
 *    Results are views of `buf`'s bytes `[start, end)` that are never written again (`committed` only moves
 *    forward, and a full `buf` is replaced, not reused), so later calls never change an earlier result. Values are
 *    encoded in place: no copy per value or per document.
 * 2. Strings are written with the smallest `str` header for their UTF-8 length, integers in [-2^31, 2^32) in the
 *    smallest int format (`-0` as `0`), other numbers as float64 (NaN as `7ff8000000000000`), byte arrays as `bin`,
 *    `Float32Array` as extension `0x74` (`0x07` then the little-endian bytes), arrays and maps with the smallest
 *    header; map keys in ascending code point order, entries whose value is `undefined` left out.
 * 3. The path of the value being written (for error messages) is `pathRoot` followed by `pathSegs[0, depth)`
 *    (array indices and object keys), built into a string only when an error is thrown.
 */
import { MAX_VALUE_DEPTH } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';
import { compareCodePoints, type DocValue } from './values.js';

/** Bytes of a fresh output buffer (the shared chunk results are views of; a larger value gets a larger one). */
const CHUNK_BYTES = 64 * 1024;
let buf = new Uint8Array(CHUNK_BYTES);
let view = new DataView(buf.buffer);
let pos = 0;
/** Start of the result being written: bytes before it belong to earlier results (invariant 1). */
let start = 0;
/** The first byte no result holds: the next result starts here. */
let committed = 0;
let pathRoot = '';
const pathSegs: (string | number)[] = [];
const utf8 = new TextEncoder();
const LONE_SURROGATE = /\p{Cs}/u;
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function wellFormed(s: string): boolean {
  return nativeWellFormed !== undefined ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

function unsupported(path: string, what: string): DbError {
  return new DbError(DbErrorCode.UNSUPPORTED_VALUE, `value at ${path} is ${what}, outside the document model`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'bigint') return 'a bigint';
  const name = (v as object).constructor?.name;
  return name ? `a ${name}` : 'an object without a plain prototype';
}

/**
 * Makes room for `n` more bytes at `pos`. When `buf` is full, the result being written moves to the start of a new
 * buffer (earlier results keep the old one, invariant 1); offsets relative to `start` stay valid.
 */
function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const used = pos - start;
  let size = CHUNK_BYTES;
  while (size < used + n) size *= 2;
  const next = new Uint8Array(size);
  if (used <= 64) for (let i = 0; i < used; i++) next[i] = buf[start + i];
  else next.set(buf.subarray(start, pos));
  buf = next;
  view = new DataView(buf.buffer);
  pos = used;
  start = 0;
  committed = 0;
}

/** The path of the value at `depth` (invariant 3), e.g. `tags[1]` or `meta.author`. */
function pathAt(depth: number): string {
  let p = pathRoot;
  for (let d = 0; d < depth; d++) {
    const seg = pathSegs[d];
    p += typeof seg === 'number' ? `[${seg}]` : `.${seg}`;
  }
  return p;
}

/** The result `[start, pos)` as a view; later writes start after it. */
function finish(): Uint8Array {
  committed = pos;
  return new Uint8Array(buf.buffer, start, pos - start);
}

/**
 * Encodes one field value canonically; byte-identical to `encodeFieldValueV1`.
 * @param path where the value sits, for error messages (e.g. `"title"`).
 * @returns the msgpack bytes: a view of a shared buffer whose bytes are never written again (invariant 1).
 * @throws DbError `HEARTH_UNSUPPORTED_VALUE` if the value is outside the document model (same messages as the
 *   reference).
 */
export function encodeValue(value: DocValue, path: string): Uint8Array {
  pos = start = committed;
  pathRoot = path;
  write(value, 0);
  return finish();
}

/**
 * Packing the values of one document back to back (`_packed.ts`): `packStart`, then `packValue` per field (the
 * value's bytes are `[offset, packOffset())` of the pack), then `packEnd`. Same encoding and errors as
 * {@link encodeValue}; a throw abandons the pack (the next `packStart` begins a new one over it).
 */
export function packStart(): void {
  pos = start = committed;
}

/** Appends the canonical encoding of `value`; returns its offset in the pack. */
export function packValue(value: DocValue, path: string): number {
  const at = pos - start;
  pathRoot = path;
  write(value, 0);
  return at;
}

/** The pack's length so far (bytes). */
export function packOffset(): number {
  return pos - start;
}

/**
 * Ends the pack. Its bytes stay in the shared buffer this returns (never written again, invariant 1): no copy and
 * no view per document. `spans` holds `count` (offset in the pack, length) pairs; the offsets of those with a
 * length >= 0 are made offsets in the returned buffer.
 */
export function packEnd(spans: number[], count: number): Uint8Array {
  committed = pos;
  if (start !== 0) for (let i = 0; i < count; i++) if (spans[2 * i + 1] >= 0) spans[2 * i] += start;
  return buf;
}

/** Writes `v`, the value at `depth` (its path: invariant 3). */
function write(v: unknown, depth: number): void {
  switch (typeof v) {
    case 'string':
      return writeString(v, depth);
    case 'number':
      return writeNumber(v);
    case 'boolean':
      ensure(1);
      buf[pos++] = v ? 0xc3 : 0xc2;
      return;
    case 'object':
      break;
    default:
      throw unsupported(pathAt(depth), describe(v));
  }
  if (v === null) {
    ensure(1);
    buf[pos++] = 0xc0;
    return;
  }
  if (depth >= MAX_VALUE_DEPTH) throw unsupported(pathAt(depth), `nested deeper than ${MAX_VALUE_DEPTH} levels (or cyclic)`);
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) throw unsupported(pathAt(depth), describe(v));
    const n = v.length;
    writeHeader(n, 0x90, 0xdc);
    for (let i = 0; i < n; i++) {
      const e = v[i];
      pathSegs[depth] = i;
      if (e === undefined) throw unsupported(pathAt(depth + 1), 'undefined (inside an array)');
      write(e, depth + 1);
    }
    return;
  }
  if (v instanceof Uint8Array) return writeBin(v);
  if (v instanceof Float32Array) {
    if (v.constructor !== Float32Array) throw unsupported(pathAt(depth), describe(v));
    return writeFloat32Array(v);
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw unsupported(pathAt(depth), describe(v));
  if (Object.getOwnPropertySymbols(v).length > 0) throw unsupported(pathAt(depth), 'an object with symbol keys');
  const keys = Object.keys(v).sort(compareCodePoints);
  const o = v as Record<string, unknown>;
  let count = 0;
  for (let i = 0; i < keys.length; i++) if (o[keys[i]] !== undefined) count++;
  writeHeader(count, 0x80, 0xde);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const e = o[k];
    if (e === undefined) continue;
    pathSegs[depth] = k;
    if (!wellFormed(k)) throw unsupported(pathAt(depth + 1), 'a key with a lone surrogate');
    writeString(k, depth);
    write(e, depth + 1);
  }
}

/** fixarray/fixmap (`fix | n`, n < 16), else the 16-bit form (`h16`), else the 32-bit form (`h16 + 1`). */
function writeHeader(n: number, fix: number, h16: number): void {
  ensure(5);
  if (n < 16) buf[pos++] = fix | n;
  else if (n < 0x10000) {
    buf[pos] = h16;
    buf[pos + 1] = n >> 8;
    buf[pos + 2] = n & 0xff;
    pos += 3;
  } else {
    buf[pos] = h16 + 1;
    view.setUint32(pos + 1, n);
    pos += 5;
  }
}

/**
 * ASCII strings shorter than this are written by a loop (one byte per unit, so the header, fixstr or str 8, is
 * known in advance); longer or non-ASCII ones by `encodeInto`. The crossover differs by platform: Node's
 * `encodeInto` is cheap (115 ASCII chars: loop ~300 ns, encodeInto ~120 ns), Chromium's has a fixed cost of about
 * 450 ns a call (the same string: loop ~330 ns, encodeInto ~600 ns; 35 chars: ~90 against ~490 ns). At most 256,
 * so that the str 8 header holds the length.
 */
let ASCII_LOOP_MAX = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string' ? 48 : 256;

/** Internal, for tests: sets the ASCII loop threshold (1..256) and returns the previous one. */
export function _setAsciiLoopMax(n: number): number {
  const prev = ASCII_LOOP_MAX;
  ASCII_LOOP_MAX = Math.max(1, Math.min(256, n));
  return prev;
}

/**
 * Copies `s` into `out` from `at`, one byte per UTF-16 unit, if every unit is ASCII (< 0x80); returns whether it
 * was. On false some leading bytes may have been written (callers then encode the string another way over them).
 * REQUIRES: `s.length` bytes of room at `at`. Shared by the value encoder and the ops string table (`ops.ts`).
 */
export function copyAscii(s: string, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    out[at + i] = c;
  }
  return true;
}

function writeString(s: string, depth: number): void {
  const len = s.length;
  if (len < ASCII_LOOP_MAX) {
    const h = len < 0x20 ? 1 : 2;
    ensure(h + len);
    const at = pos + h;
    if (copyAscii(s, buf, at)) {
      if (h === 1) buf[pos] = 0xa0 | len;
      else {
        buf[pos] = 0xd9;
        buf[pos + 1] = len;
      }
      pos = at + len;
      return;
    }
  }
  if (!wellFormed(s)) throw unsupported(pathAt(depth), 'a string with a lone surrogate');
  // Encode after the header the UTF-16 length suggests (right for ASCII); if the UTF-8 length needs another header
  // size, move the bytes (the buffer has room for the largest header and 3 bytes per unit).
  const max = len * 3;
  ensure(5 + max);
  const reserve = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
  const n = utf8.encodeInto(s, new Uint8Array(buf.buffer, pos + reserve, max)).written!;
  const h = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (h !== reserve) buf.copyWithin(pos + h, pos + reserve, pos + reserve + n);
  if (h === 1) buf[pos] = 0xa0 | n;
  else if (h === 2) {
    buf[pos] = 0xd9;
    buf[pos + 1] = n;
  } else if (h === 3) {
    buf[pos] = 0xda;
    buf[pos + 1] = n >> 8;
    buf[pos + 2] = n & 0xff;
  } else {
    buf[pos] = 0xdb;
    view.setUint32(pos + 1, n);
  }
  pos += h + n;
}

function writeNumber(v: number): void {
  ensure(9);
  if (v >>> 0 === v) {
    // also -0, written as 0
    if (v < 0x80) buf[pos++] = v;
    else if (v < 0x100) {
      buf[pos] = 0xcc;
      buf[pos + 1] = v;
      pos += 2;
    } else if (v < 0x10000) {
      buf[pos] = 0xcd;
      buf[pos + 1] = v >> 8;
      buf[pos + 2] = v & 0xff;
      pos += 3;
    } else {
      buf[pos] = 0xce;
      view.setUint32(pos + 1, v);
      pos += 5;
    }
    return;
  }
  if (v >> 0 === v) {
    if (v >= -0x20) buf[pos++] = 0x100 + v;
    else if (v >= -0x80) {
      buf[pos] = 0xd0;
      buf[pos + 1] = v + 0x100;
      pos += 2;
    } else if (v >= -0x8000) {
      buf[pos] = 0xd1;
      buf[pos + 1] = (v >> 8) & 0xff;
      buf[pos + 2] = v & 0xff;
      pos += 3;
    } else {
      buf[pos] = 0xd2;
      view.setInt32(pos + 1, v);
      pos += 5;
    }
    return;
  }
  buf[pos] = 0xcb;
  if (v !== v) view.setUint32(pos + 1, 0x7ff80000), view.setUint32(pos + 5, 0);
  else view.setFloat64(pos + 1, v);
  pos += 9;
}

function writeBin(b: Uint8Array): void {
  const n = b.length;
  ensure(5 + n);
  if (n < 0x100) {
    buf[pos] = 0xc4;
    buf[pos + 1] = n;
    pos += 2;
  } else if (n < 0x10000) {
    buf[pos] = 0xc5;
    buf[pos + 1] = n >> 8;
    buf[pos + 2] = n & 0xff;
    pos += 3;
  } else {
    buf[pos] = 0xc6;
    view.setUint32(pos + 1, n);
    pos += 5;
  }
  buf.set(b, pos);
  pos += n;
}

/**
 * msgpackr's typed-array extension: type 0x74, data = 0x07 (Float32Array) then the little-endian element bytes;
 * always the ext 8/16/32 header (msgpackr writes no fixext here, not even for the empty array's 1 data byte).
 */
function writeFloat32Array(a: Float32Array): void {
  const data = 1 + a.length * 4;
  ensure(6 + data);
  if (data < 0x100) {
    buf[pos] = 0xc7; // ext 8
    buf[pos + 1] = data;
    pos += 2;
  } else if (data < 0x10000) {
    buf[pos] = 0xc8; // ext 16
    buf[pos + 1] = data >> 8;
    buf[pos + 2] = data & 0xff;
    pos += 3;
  } else {
    buf[pos] = 0xc9; // ext 32
    view.setUint32(pos + 1, data);
    pos += 5;
  }
  buf[pos] = 0x74;
  buf[pos + 1] = 0x07;
  pos += 2;
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) buf.set(bytes, pos);
  else for (let i = 0; i < a.length; i++) view.setFloat32(pos + i * 4, a[i], true);
  pos += a.byteLength;
}
