/**
 * A validator of canonical field values V1 (`docs/formats/ops.md`, "Field values"; the canonical form is listed in
 * the header of `values.ts`) for ingest, where every value of every entry from a peer is checked. Internal.
 *
 * The reference check is `decodeFieldValueV1(bytes, true)`: decode with msgpackr, build the value, encode it again
 * and compare bytes. This one walks the bytes once and checks each item's canonical form in place, building
 * nothing. It accepts exactly the bytes the reference accepts (pinned by a property test over valid encodings,
 * their mutations and random bytes in `test/validate.test.ts`).
 *
 * Canonical items (anything else is refused):
 * - nil `c0`, false `c2`, true `c3`;
 * - integers in the smallest format msgpackr writes for them: positive fixint `00-7f`; `cc` 128..255; `cd`
 *   256..65535; `ce` 65536..2^32-1; negative fixint `e0-ff` (-32..-1); `d0` -128..-33; `d1` -32768..-129; `d2`
 *   -2^31..-32769;
 * - float64 `cb` for every other number: not an integer in [-2^31, 2^32), not -0; NaN only as `7ff8000000000000`;
 * - strings in the smallest header (`a0-bf`, `d9`, `da`, `db`) holding valid UTF-8 (which excludes surrogates);
 * - `bin` in the smallest header (`c4`, `c5`, `c6`);
 * - arrays and maps in the smallest header (`90-9f`/`dc`/`dd`, `80-8f`/`de`/`df`); map keys are strings in
 *   strictly ascending byte order (= code point order, so no duplicates);
 * - `Float32Array`: ext 8/16/32 (`c7`, `c8`, `c9`) of type `0x74` whose data is `0x07` followed by 4k bytes, in the
 *   smallest ext header;
 * - nesting: the top-level value is level 0; an array, map, byte array or Float32Array at level
 *   `MAX_VALUE_DEPTH` or deeper is refused, as the encoder refuses it.
 */
import { MAX_VALUE_DEPTH } from './constants.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);
let b: Uint8Array = EMPTY;
let p = 0;
/** End of the value being checked in `b` (exclusive). */
let end = 0;
/** A DataView of `b`, made on first need (most values have no multi-byte number). */
let view: DataView | null = null;

function dv(): DataView {
  if (view === null) view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return view;
}

class Invalid extends Error {}

function fail(why: string): never {
  throw new Invalid(why);
}

function need(n: number): void {
  if (n > end - p) fail('truncated');
}

function u8(): number {
  need(1);
  return b[p++];
}

function u16(): number {
  need(2);
  const v = (b[p] << 8) | b[p + 1];
  p += 2;
  return v;
}

function u32(): number {
  need(4);
  const v = dv().getUint32(p);
  p += 4;
  return v;
}

/** Checks that `n` bytes at `p` are valid UTF-8 and skips them. */
function utf8Bytes(n: number): void {
  need(n);
  let ascii = true;
  for (let i = p; i < p + n; i++) {
    if (b[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    try {
      utf8.decode(new Uint8Array(b.buffer, b.byteOffset + p, n));
    } catch {
      fail('a string is not valid UTF-8');
    }
  }
  p += n;
}

/** A string item: smallest header, valid UTF-8. Returns [start, length] of its bytes. */
function str(tag: number): number {
  let n: number;
  if ((tag & 0xe0) === 0xa0) n = tag & 0x1f;
  else if (tag === 0xd9) {
    n = u8();
    if (n < 0x20) fail('str 8 for a short string');
  } else if (tag === 0xda) {
    n = u16();
    if (n < 0x100) fail('str 16 for a short string');
  } else if (tag === 0xdb) {
    n = u32();
    if (n < 0x10000) fail('str 32 for a short string');
  } else fail(`expected a string, got 0x${tag.toString(16)}`);
  const start = p;
  utf8Bytes(n);
  return start;
}

function compareRange(a: number, an: number, c: number, cn: number): number {
  const n = Math.min(an, cn);
  for (let i = 0; i < n; i++) if (b[a + i] !== b[c + i]) return b[a + i] - b[c + i];
  return an - cn;
}

/** Tags of items the model holds as objects (arrays, maps, byte arrays, Float32Array): limited in depth. */
function isObjectTag(tag: number): boolean {
  return (tag & 0xe0) === 0x80 || (tag >= 0xc4 && tag <= 0xc9) || (tag >= 0xdc && tag <= 0xdf);
}

function item(depth: number): void {
  const tag = u8();
  if (tag <= 0x7f || tag >= 0xe0) return; // fixints
  if ((tag & 0xe0) === 0xa0) {
    str(tag);
    return;
  }
  // As the encoder (and the reference decoder): an object at level MAX_VALUE_DEPTH or deeper is refused.
  if (depth >= MAX_VALUE_DEPTH && isObjectTag(tag)) fail(`nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if ((tag & 0xf0) === 0x90) return container(tag & 0x0f, false, depth);
  if ((tag & 0xf0) === 0x80) return container(tag & 0x0f, true, depth);
  switch (tag) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return;
    case 0xcc:
      if (u8() < 0x80) fail('uint 8 for a fixint');
      return;
    case 0xcd:
      if (u16() < 0x100) fail('uint 16 for a small integer');
      return;
    case 0xce:
      if (u32() < 0x10000) fail('uint 32 for a small integer');
      return;
    case 0xd0: {
      const v = (u8() << 24) >> 24;
      if (v >= -0x20) fail('int 8 for a fixint');
      return;
    }
    case 0xd1: {
      const v = (u16() << 16) >> 16;
      if (v >= -0x80) fail('int 16 for a small integer');
      return;
    }
    case 0xd2: {
      need(4);
      const v = dv().getInt32(p);
      p += 4;
      if (v >= -0x8000) fail('int 32 for a small integer');
      return;
    }
    case 0xcb: {
      need(8);
      const v = dv().getFloat64(p);
      if (v !== v) {
        if (dv().getUint32(p) !== 0x7ff80000 || dv().getUint32(p + 4) !== 0) fail('a NaN other than the canonical one');
      } else if (Object.is(v, -0) || (Number.isInteger(v) && v >= -0x80000000 && v < 0x100000000)) {
        fail('float 64 for an integer');
      }
      p += 8;
      return;
    }
    case 0xc4:
      return bin(u8());
    case 0xc5: {
      const n = u16();
      if (n < 0x100) fail('bin 16 for a short array');
      return bin(n);
    }
    case 0xc6: {
      const n = u32();
      if (n < 0x10000) fail('bin 32 for a short array');
      return bin(n);
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
      str(tag);
      return;
    case 0xdc: {
      const n = u16();
      if (n < 16) fail('array 16 for a short array');
      return container(n, false, depth);
    }
    case 0xdd: {
      const n = u32();
      if (n < 0x10000) fail('array 32 for a short array');
      return container(n, false, depth);
    }
    case 0xde: {
      const n = u16();
      if (n < 16) fail('map 16 for a small map');
      return container(n, true, depth);
    }
    case 0xdf: {
      const n = u32();
      if (n < 0x10000) fail('map 32 for a small map');
      return container(n, true, depth);
    }
    case 0xc7: {
      const n = u8();
      return float32Array(n);
    }
    case 0xc8: {
      const n = u16();
      if (n < 0x100) fail('ext 16 for short data');
      return float32Array(n);
    }
    case 0xc9: {
      const n = u32();
      if (n < 0x10000) fail('ext 32 for short data');
      return float32Array(n);
    }
    default:
      fail(`0x${tag.toString(16)} is outside the canonical value subset`);
  }
}

function bin(n: number): void {
  need(n);
  p += n;
}

function float32Array(n: number): void {
  if (u8() !== 0x74) fail('an extension other than the Float32Array one');
  if (n < 1 || (n - 1) % 4 !== 0) fail('a Float32Array extension of a bad length');
  need(n);
  if (b[p] !== 0x07) fail('a typed-array extension other than Float32Array');
  p += n;
}

function container(n: number, isMap: boolean, depth: number): void {
  let prevStart = -1;
  let prevLen = 0;
  for (let i = 0; i < n; i++) {
    if (isMap) {
      const start = str(u8());
      const len = p - start;
      if (prevStart >= 0 && compareRange(prevStart, prevLen, start, len) >= 0) fail('map keys not in strictly ascending order');
      prevStart = start;
      prevLen = len;
    }
    item(depth + 1);
  }
}

/**
 * Whether `bytes` is exactly one canonical field value V1 (see the file header); same answer as
 * `decodeFieldValueV1(bytes, true)` not throwing.
 * @returns null if canonical, else why not.
 */
export function canonicalValueProblem(bytes: Uint8Array): string | null {
  return canonicalRangeProblem(bytes, 0, bytes.length);
}

/**
 * {@link canonicalValueProblem} of `bytes[start, stop)`, without making a view (the ingest path checks values in
 * place in the ops payload). REQUIRES: 0 <= start <= stop <= bytes.length.
 */
export function canonicalRangeProblem(bytes: Uint8Array, start: number, stop: number): string | null {
  b = bytes;
  p = start;
  end = stop;
  try {
    item(0);
    if (p !== stop) fail(`${stop - p} trailing bytes`);
    return null;
  } catch (e) {
    if (e instanceof Invalid) return e.message;
    throw e;
  } finally {
    b = EMPTY;
    view = null;
  }
}
