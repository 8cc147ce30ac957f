/**
 * The total order over document values, and field paths.
 *
 * Invariants (the index key encoding depends on them; `test/keys.test.ts` checks them as properties):
 * 1. {@link cmpValues} is a total order: reflexive, antisymmetric, transitive, over every value of the model.
 * 2. Types rank `missing < null < boolean < number < string < bytes < array < object < vector`; values of
 *    different types compare by rank alone.
 * 3. `sign(cmpValues(a, b)) === sign(compareBytes(encodeValueV1(a), encodeValueV1(b)))` for all a, b.
 * 4. `cmpValues(a, b) === 0` exactly when the two encodings are equal (so `-0` equals `0`, `NaN` equals `NaN`,
 *    and an object property whose value is `undefined` is the same as an absent one).
 *
 * @packageDocumentation
 */
import { QueryError, QueryErrorCode } from './errors.js';
import type { Path, Value } from './types.js';

/** Type ranks of the total order. */
export const Rank = {
  MISSING: 0,
  NULL: 1,
  BOOLEAN: 2,
  NUMBER: 3,
  STRING: 4,
  BYTES: 5,
  ARRAY: 6,
  OBJECT: 7,
  VECTOR: 8,
} as const;

function unsupported(v: unknown): never {
  const what = typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v;
  throw new QueryError(QueryErrorCode.UNSUPPORTED_VALUE, `value of type ${what} is outside the document model`);
}

/**
 * The rank of a value's type in the total order (see {@link Rank}).
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` for values outside the model.
 */
export function typeRank(v: unknown): number {
  switch (typeof v) {
    case 'undefined':
      return Rank.MISSING;
    case 'boolean':
      return Rank.BOOLEAN;
    case 'number':
      return Rank.NUMBER;
    case 'string':
      return Rank.STRING;
    case 'object': {
      if (v === null) return Rank.NULL;
      if (Array.isArray(v)) return Rank.ARRAY;
      if (v instanceof Uint8Array && v.constructor === Uint8Array) return Rank.BYTES;
      if (v instanceof Float32Array && v.constructor === Float32Array) return Rank.VECTOR;
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) return Rank.OBJECT;
      return unsupported(v);
    }
    default:
      return unsupported(v);
  }
}

/**
 * Compares two strings by Unicode code point (the order of their UTF-8 bytes), not by UTF-16 code unit as `<`
 * does. They differ when one string has a character in U+E000..U+FFFF where the other has a supplementary one.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Both at or above the surrogate range: move surrogates (D800-DFFF) above E000-FFFF (code point order).
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Compares byte arrays as unsigned bytes, a proper prefix first. Returns -1, 0 or 1. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** The keys of a plain object whose values are not `undefined`, in code point order. */
export function objectKeys(o: { [key: string]: unknown }): string[] {
  const keys: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== undefined) keys.push(k);
  return keys.sort(compareStrings);
}

function cmpNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0; // includes -0 === 0
  // At least one NaN: NaN is above every other number and equal to itself.
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  return an && bn ? 0 : an ? 1 : -1;
}

/**
 * The total order over values (`undefined` = missing). Returns -1, 0 or 1.
 *
 * Order: missing < null < false < true < numbers (numeric; -0 = 0; NaN above +Infinity) < strings (code point)
 * < bytes (unsigned lexicographic) < arrays (element-wise, a proper prefix first) < objects (pairs of key and
 * value in key order, compared pair by pair, key first; a proper prefix first) < vectors (`Float32Array`,
 * element-wise in the number order, a proper prefix first).
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` for values outside the model.
 */
export function cmpValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case Rank.MISSING:
    case Rank.NULL:
      return 0;
    case Rank.BOOLEAN:
      return a === b ? 0 : a ? 1 : -1;
    case Rank.NUMBER:
      return cmpNumbers(a as number, b as number);
    case Rank.STRING:
      return compareStrings(a as string, b as string);
    case Rank.BYTES:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case Rank.VECTOR: {
      const x = a as Float32Array;
      const y = b as Float32Array;
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = cmpNumbers(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    case Rank.ARRAY: {
      const x = a as unknown[];
      const y = b as unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = cmpValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    default: {
      const x = a as { [key: string]: unknown };
      const y = b as { [key: string]: unknown };
      const kx = objectKeys(x);
      const ky = objectKeys(y);
      const n = Math.min(kx.length, ky.length);
      for (let i = 0; i < n; i++) {
        const ck = compareStrings(kx[i], ky[i]);
        if (ck !== 0) return ck;
        const cv = cmpValues(x[kx[i]], y[ky[i]]);
        if (cv !== 0) return cv;
      }
      return kx.length < ky.length ? -1 : kx.length > ky.length ? 1 : 0;
    }
  }
}

/** Whether two values are equal under the total order (`cmpValues(a, b) === 0`). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return cmpValues(a, b) === 0;
}

const INDEX_SEGMENT = /^(0|[1-9][0-9]*)$/;

/**
 * Normalizes a path to its segments. `'a.b'` → `['a', 'b']`; an array is copied as is.
 * @throws QueryError `HEARTH_INVALID_QUERY` for an empty path, an empty segment, or a non-string segment.
 */
export function normalizePath(path: Path, where = 'path'): readonly string[] {
  let segs: readonly string[];
  if (typeof path === 'string') segs = path.split('.');
  else if (Array.isArray(path)) segs = path.slice();
  else throw new QueryError(QueryErrorCode.INVALID_QUERY, 'a path is a string or an array of strings', { where });
  if (segs.length === 0) throw new QueryError(QueryErrorCode.INVALID_QUERY, 'empty path', { where });
  for (const s of segs) {
    if (typeof s !== 'string' || s.length === 0) {
      throw new QueryError(QueryErrorCode.INVALID_QUERY, `bad path segment ${JSON.stringify(s)}`, { where });
    }
  }
  return segs;
}

/** Whether normalized path `p` is the virtual id field. */
export function isIdPath(p: readonly string[]): boolean {
  return p.length === 1 && p[0] === '_id';
}

/**
 * The value at a normalized path inside a document, or `undefined` when absent. The path `_id` returns `id`.
 * Segments descend into plain objects by key and into arrays by canonical integer index.
 */
export function getPath(doc: unknown, path: readonly string[], id?: string): Value | undefined {
  if (path.length === 1 && path[0] === '_id' && id !== undefined) return id;
  let cur: unknown = doc;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!INDEX_SEGMENT.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (ArrayBuffer.isView(cur)) {
      return undefined;
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur as Value | undefined;
}

/**
 * Sets an own, enumerable property, also for keys such as `__proto__` that a plain assignment would treat as
 * the prototype.
 */
export function setOwn(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A short, stable name for a path in messages and shapes: segments joined with `.`, JSON if ambiguous. */
export function pathName(p: readonly string[]): string {
  return p.some((s) => s.includes('.')) ? JSON.stringify(p) : p.join('.');
}
