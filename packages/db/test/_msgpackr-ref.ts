/**
 * The reference the field value codec is pinned against in tests: msgpackr (the library whose format field values
 * are), given the value prepared canonically (validated, object keys sorted by code point into Maps, byte arrays as
 * `bin`). Test-only: the runtime codec (`_encode.ts`, `_validate.ts`, `_decode.ts`) does not use msgpackr.
 */
import { Packr, Unpackr } from 'msgpackr';
import { compareCodePoints, type DocValue } from '../src/values.js';

const packr = new Packr({ useRecords: false, moreTypes: true, bundleStrings: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, off: number, len: number): Uint8Array } }).Buffer;

function prepare(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return NodeBuffer !== undefined ? NodeBuffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v)) return v.map(prepare);
  const m = new Map<string, unknown>();
  for (const k of Object.keys(v).sort(compareCodePoints)) {
    const e = (v as Record<string, unknown>)[k];
    if (e !== undefined) m.set(k, prepare(e));
  }
  return m;
}

/** msgpackr's encoding of a model value (REQUIRES: a value inside the model). */
export function packWithMsgpackr(value: DocValue): Uint8Array {
  return packr.pack(prepare(value)) as Uint8Array;
}

/** msgpackr's decoding, with Maps as Maps (for comparisons in tests). */
export function unpackWithMsgpackr(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

const MAX_DEPTH = 64;

/** msgpackr's decoding turned into a model value (Maps to objects, byte arrays copied), or throws outside the model. */
export function restoreWithMsgpackr(bytes: Uint8Array): DocValue {
  return restore(unpackr.unpack(bytes), 0);
}

function restore(v: unknown, depth: number): DocValue {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v !== 'object') throw new Error(`${typeof v} is outside the model`);
  if (depth >= MAX_DEPTH) throw new Error('nested too deep');
  if (v instanceof Float32Array) return v;
  if (v instanceof Uint8Array) {
    if (v.constructor !== Uint8Array && (NodeBuffer === undefined || !(v instanceof (NodeBuffer as unknown as typeof Uint8Array)))) throw new Error('a typed array outside the model');
    return new Uint8Array(v);
  }
  if (Array.isArray(v)) return v.map((e) => restore(e, depth + 1));
  if (v instanceof Map) {
    const out: { [key: string]: DocValue } = {};
    for (const [k, e] of v) {
      if (typeof k !== 'string') throw new Error('a map key that is not a string');
      Object.defineProperty(out, k, { value: restore(e, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw new Error('an object outside the model');
}

/** The reference canonical check: msgpackr decodes, the value is restored and packed again, bytes must be equal. */
export function canonicalWithMsgpackr(bytes: Uint8Array): boolean {
  let again: Uint8Array;
  try {
    again = packWithMsgpackr(restoreWithMsgpackr(bytes));
  } catch {
    return false;
  }
  return Buffer.from(again).equals(Buffer.from(bytes));
}
