/**
 * The document model and the encoding of one field value, version 1 (spec: `docs/formats/ops.md`, "Field
 * values"): MessagePack as written by `msgpackr`, constrained to one canonical form.
 *
 * The model: `null`, booleans, numbers (IEEE-754 binary64, including NaN and the infinities; `-0` is stored as
 * `0`, as in JSON), strings (well-formed UTF-16: no lone surrogates), `Uint8Array` (bytes), `Float32Array`
 * (vectors), arrays and plain objects of these, nested up to 64 levels. Object properties whose value is
 * `undefined` are absent. Everything else is refused with `HEARTH_UNSUPPORTED_VALUE`: functions, symbols,
 * bigints, `Date` (store `getTime()` or an ISO string), `Map`, `Set`, class instances, other typed arrays,
 * `undefined` inside an array, cycles.
 *
 * Canonical form (what makes the encoding deterministic, so equal values give equal bytes on every platform):
 * 1. Object keys are written in ascending Unicode code point order (= UTF-8 byte order), as msgpack maps.
 * 2. Numbers as msgpackr writes them: integers in [-2^31, 2^32) in the smallest msgpack int format, every other
 *    number as float64 (NaN as `cb 7ff8000000000000`).
 * 3. Strings in the smallest str format; `Uint8Array` as `bin` (never msgpackr's typed-array extension, which
 *    msgpackr would otherwise pick for a non-`Buffer` array in Node but not in a browser).
 * 4. `Float32Array` as extension type `0x74` whose data is `0x07` followed by the array's bytes, little-endian
 *    (msgpackr's typed-array extension).
 * The decoder ({@link decodeFieldValueV1}) accepts exactly the canonical encodings: it decodes, re-encodes and
 * compares, so a peer cannot make two replicas hold different bytes for one value.
 *
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { Packr, Unpackr } from 'msgpackr';
import { MAX_VALUE_DEPTH } from './constants.js';
import { DbError, DbErrorCode } from './errors.js';

/** A value inside a document (see the file header for the model). */
export type DocValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Float32Array
  | DocValue[]
  | { [key: string]: DocValue | undefined };

/** A document: a plain object of top-level fields (the CRDT's last-writer-wins registers). */
export type Document = { [field: string]: DocValue | undefined };

const packr = new Packr({ useRecords: false, moreTypes: true, bundleStrings: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

// msgpackr writes `bin` for its platform byte-array class (Buffer in Node, Uint8Array elsewhere) and its typed-array
// extension for any other Uint8Array. Handing it a Buffer view in Node makes both platforms write `bin`. This is
// feature detection of a global, not a Node import: the package runs unchanged in a browser worker.
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, off: number, len: number): Uint8Array } }).Buffer;
function asBin(u: Uint8Array): Uint8Array {
  if (NodeBuffer !== undefined) return NodeBuffer.from(u.buffer, u.byteOffset, u.byteLength);
  return u.constructor === Uint8Array ? u : new Uint8Array(u.buffer, u.byteOffset, u.byteLength);
}

const LONE_SURROGATE = /\p{Cs}/u;

/** Whether `s` is well-formed UTF-16 (no lone surrogate), i.e. has a UTF-8 encoding. */
export function isWellFormed(s: string): boolean {
  return wellFormed(s);
}

/** Compares two strings by Unicode code point (= UTF-8 byte order). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF: lift surrogates.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
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

/** Validates `v` and turns it into what msgpackr packs canonically (objects become key-sorted Maps). */
function prepare(v: unknown, depth: number, path: string): unknown {
  switch (typeof v) {
    case 'number':
    case 'boolean':
      return v;
    case 'string':
      if (LONE_SURROGATE.test(v)) throw unsupported(path, 'a string with a lone surrogate');
      return v;
    case 'object':
      break;
    default:
      throw unsupported(path, describe(v));
  }
  if (v === null) return null;
  if (depth >= MAX_VALUE_DEPTH) throw unsupported(path, `nested deeper than ${MAX_VALUE_DEPTH} levels (or cyclic)`);
  if (v instanceof Uint8Array) return asBin(v);
  if (v instanceof Float32Array) {
    if (v.constructor !== Float32Array) throw unsupported(path, describe(v));
    return v;
  }
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) throw unsupported(path, describe(v));
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e === undefined) throw unsupported(`${path}[${i}]`, 'undefined (inside an array)');
      out[i] = prepare(e, depth + 1, `${path}[${i}]`);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw unsupported(path, describe(v));
  if (Object.getOwnPropertySymbols(v).length > 0) throw unsupported(path, 'an object with symbol keys');
  const keys = Object.keys(v).sort(compareCodePoints);
  const m = new Map<string, unknown>();
  for (const k of keys) {
    const e = (v as Record<string, unknown>)[k];
    if (e === undefined) continue;
    if (LONE_SURROGATE.test(k)) throw unsupported(`${path}.${k}`, 'a key with a lone surrogate');
    m.set(k, prepare(e, depth + 1, `${path}.${k}`));
  }
  return m;
}

/**
 * Encodes one field value canonically (see the file header). The result may share its memory with other results
 * (msgpackr packs into a shared buffer); it is never overwritten. Treat it as immutable.
 * @param path where the value sits, for error messages (e.g. `"title"`).
 * @throws DbError `HEARTH_UNSUPPORTED_VALUE` if the value is outside the document model.
 */
export function encodeFieldValueV1(value: DocValue, path = 'value'): Uint8Array {
  switch (typeof value) {
    case 'string': {
      const out = packString(value);
      if (out === null) throw unsupported(path, 'a string with a lone surrogate');
      return out;
    }
    case 'number':
      return packNumber(value);
    case 'boolean':
      return Uint8Array.of(value ? 0xc3 : 0xc2);
    default:
      if (value === null) return Uint8Array.of(0xc0);
  }
  const prepared = prepare(value, 0, path);
  return packr.pack(prepared) as Uint8Array;
}

// Fast paths for top-level scalars, the common field values. They write exactly what msgpackr writes with the
// options above (pinned by a property test against msgpackr): minimal str header for the UTF-8 length; integers
// in [-2^31, 2^32) in the smallest int format (fixint up to 127, as msgpackr does with useRecords: false); other
// numbers as float64.

/** msgpack of a string, or null if it has a lone surrogate. */
function packString(s: string): Uint8Array | null {
  if (s.length < 64) {
    // Short strings: a loop beats the encodeInto binding call. ASCII-only here; anything else takes the general path.
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const n = s.length;
      const h = n < 0x20 ? 1 : 2;
      const out = new Uint8Array(h + n);
      if (h === 1) out[0] = 0xa0 | n;
      else {
        out[0] = 0xd9;
        out[1] = n;
      }
      for (let i = 0; i < n; i++) out[h + i] = s.charCodeAt(i);
      return out;
    }
  }
  if (!wellFormed(s)) return null;
  if (scratch.length < s.length * 3 + 5) scratch = new Uint8Array(Math.max(s.length * 3 + 5, scratch.length * 2));
  // Encode after a 5-byte gap (the largest header), then write the smallest header just before the bytes.
  const n = utf8Encoder.encodeInto(s, scratch.subarray(5)).written!;
  const h = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const at = 5 - h;
  if (h === 1) scratch[at] = 0xa0 | n;
  else if (h === 2) {
    scratch[at] = 0xd9;
    scratch[at + 1] = n;
  } else if (h === 3) {
    scratch[at] = 0xda;
    scratch[at + 1] = n >> 8;
    scratch[at + 2] = n & 0xff;
  } else {
    scratch[at] = 0xdb;
    new DataView(scratch.buffer).setUint32(at + 1, n);
  }
  return scratch.slice(at, 5 + n);
}

let scratch = new Uint8Array(1024);
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;
/** Whether `s` has no lone surrogate (native `isWellFormed` where the platform has it). */
function wellFormed(s: string): boolean {
  return nativeWellFormed !== undefined ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

const utf8Encoder = new TextEncoder();

function packNumber(v: number): Uint8Array {
  if (v >>> 0 === v) {
    if (v < 0x80) return Uint8Array.of(v);
    if (v < 0x100) return Uint8Array.of(0xcc, v);
    if (v < 0x10000) return Uint8Array.of(0xcd, v >> 8, v & 0xff);
    return Uint8Array.of(0xce, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  if (v >> 0 === v) {
    if (v >= -0x20) return Uint8Array.of(0x100 + v);
    if (v >= -0x80) return Uint8Array.of(0xd0, v + 0x100);
    if (v >= -0x8000) return Uint8Array.of(0xd1, (v >> 8) & 0xff, v & 0xff);
    return Uint8Array.of(0xd2, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  const out = new Uint8Array(9);
  out[0] = 0xcb;
  new DataView(out.buffer).setFloat64(1, v);
  return out;
}

/** msgpackr's own encoding of `value` (no fast path), for the property test that pins the fast paths. */
export function _packWithMsgpackr(value: DocValue): Uint8Array {
  return packr.pack(prepare(value, 0, 'value')) as Uint8Array;
}

/** Turns what msgpackr decoded into a model value: Maps to plain objects, byte arrays to fresh `Uint8Array`s. */
function restore(v: unknown, depth: number): DocValue {
  switch (typeof v) {
    case 'number':
    case 'boolean':
    case 'string':
      return v;
    case 'object':
      break;
    default:
      throw new Error(`${describe(v)} is outside the document model`);
  }
  if (v === null) return null;
  if (depth >= MAX_VALUE_DEPTH) throw new Error(`nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if (v instanceof Float32Array) return v; // msgpackr copies typed-array extensions into a fresh buffer
  if (v instanceof Uint8Array) {
    if (v.constructor !== Uint8Array && (NodeBuffer === undefined || !(v instanceof (NodeBuffer as unknown as typeof Uint8Array)))) {
      throw new Error(`${describe(v)} is outside the document model`);
    }
    return new Uint8Array(v); // a copy the caller owns (msgpackr may return a view of the input)
  }
  if (Array.isArray(v)) {
    const out: DocValue[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = restore(v[i], depth + 1);
    return out;
  }
  if (v instanceof Map) {
    const out: { [key: string]: DocValue } = {};
    for (const [k, e] of v) {
      if (typeof k !== 'string') throw new Error('a map key that is not a string');
      if (k === '__proto__') Object.defineProperty(out, k, { value: restore(e, depth + 1), enumerable: true, writable: true, configurable: true });
      else out[k] = restore(e, depth + 1);
    }
    return out;
  }
  throw new Error(`${describe(v)} is outside the document model`);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Decodes one field value. With `checkCanonical` (default true) the value is re-encoded and must equal `bytes`:
 * this refuses trailing bytes, non-canonical forms and values outside the model. The stored values of this
 * database were checked when they were written or ingested, so reads pass `false`.
 * @throws CorruptionError `HEARTH_CORRUPTION` if `bytes` is not the canonical encoding of a model value.
 */
export function decodeFieldValueV1(bytes: Uint8Array, checkCanonical = true): DocValue {
  let value: DocValue;
  try {
    value = restore(unpackr.unpack(bytes), 0);
  } catch (e) {
    throw new CorruptionError(`field value does not decode: ${(e as Error).message}`, { cause: e });
  }
  if (checkCanonical) {
    let again: Uint8Array;
    try {
      again = encodeFieldValueV1(value);
    } catch (e) {
      throw new CorruptionError(`field value is outside the document model: ${(e as Error).message}`, { cause: e });
    }
    if (!equalBytes(again, bytes)) throw new CorruptionError('field value is not in canonical form');
  }
  return value;
}
