/**
 * Reading documents out of the LSM (shared by the Database's latest view and its snapshots). Internal.
 */
import { docFields, type DocState } from '@hearth/crdt';
import type { Entry, RangeOptions } from '@hearth/lsm';
import { checkCollection, checkId, collectionEnd, collectionStart, docKey } from './_keys.js';
import { decodeVisibleDoc, decodeVisibleDocAt, trustedUtf8 } from './_decode.js';
import { MISS, type DocCache } from './_doccache.js';
import { compareCodePoints, decodeFieldValueV1, type Document } from './values.js';

/** Options of iteration over a collection. Bounds are document ids; order is by the UTF-8 bytes of ids. */
export interface IterateOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  /** Iterate from the highest id down. Default false. */
  reverse?: boolean;
  /** Stop after this many documents (deleted documents are not counted). Default unlimited. */
  limit?: number;
}

/** The read primitives of one view (latest or snapshot). */
export interface KvView {
  get(key: Uint8Array): Uint8Array | undefined;
  /** A lookup that lends the value to `read` instead of copying it (`Lsm.getWith`). */
  getWith<T>(key: Uint8Array, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined;
  iterate(range: Omit<RangeOptions, 'snapshot'>): IterableIterator<Entry>;
}

/** Byte length of the state the last {@link decodeLent} decoded (0 before it runs: the key had no value). */
let lentLength = 0;
/** Fields for the next {@link decodeLent} (undefined: all). Set just before each lookup. */
let lentFields: ReadonlySet<string> | undefined;

/** The `getWith` callback of the point reads: decodes the lent state in place (no copy of the stored bytes). */
function decodeLent(buf: Uint8Array, off: number, len: number): Document | undefined {
  lentLength = len;
  return decodeVisibleDocAt(buf, off, len, lentFields);
}

const collectionCache = new Map<string, Uint8Array>();
/** The name and bytes `collectionBytes` returned last: consecutive calls are mostly for one collection. */
let lastCollection = '';
let lastCollectionBytes: Uint8Array | null = null;

/** The checked UTF-8 bytes of a collection name (cached). @throws DbError `HEARTH_INVALID_KEY`. */
export function collectionBytes(name: string): Uint8Array {
  if (name === lastCollection && lastCollectionBytes !== null) return lastCollectionBytes;
  let b = collectionCache.get(name);
  if (b === undefined) {
    b = checkCollection(name);
    if (collectionCache.size > 4096) collectionCache.clear();
    collectionCache.set(name, b);
  }
  lastCollection = name;
  lastCollectionBytes = b;
  return b;
}

/** The visible document of a state, decoded; undefined if it does not exist. */
export function visibleDocument(state: DocState): Document | undefined {
  const fields = docFields(state);
  return fields === null ? undefined : decodeFields(fields);
}

/** Decodes visible fields (name → encoded value) into a document, keys in code point order. */
export function decodeFields(fields: ReadonlyMap<string, Uint8Array>): Document {
  const names = [...fields.keys()].sort(compareCodePoints);
  const doc: Document = {};
  for (const n of names) {
    const v = decodeFieldValueV1(fields.get(n)!, false);
    if (n === '__proto__') Object.defineProperty(doc, n, { value: v, enumerable: true, writable: true, configurable: true });
    else doc[n] = v;
  }
  return doc;
}

/**
 * Reads one document: a fresh copy the caller owns, or undefined. With `cache`, a read served from it when it may
 * answer for sequence `at` (undefined: the latest view), and stored in it when `at` is the current sequence
 * (`_doccache.ts` invariants 1-3).
 * @throws DbError `HEARTH_INVALID_KEY` for a bad collection or id.
 */
export function readDoc(view: KvView, collection: string, id: string, cache?: DocCache, at?: number): Document | undefined {
  const c = collectionBytes(collection);
  checkId(id, collection);
  if (cache !== undefined) {
    const hit = cache.lookup(collection, id, at);
    if (hit !== MISS) return hit;
  }
  lentLength = 0;
  lentFields = undefined;
  const doc = view.getWith(docKey(c, id), decodeLent);
  return cache === undefined ? doc : cache.store(collection, c, id, doc, at, lentLength);
}

/**
 * Reads only the top-level `fields` of one document (the query engine's `getDocFields`): a document holding those
 * of its fields that exist (a cache hit may hold more), or undefined. Never stores into the cache.
 * @throws DbError `HEARTH_INVALID_KEY` for a bad collection or id.
 */
export function readDocFields(view: KvView, collection: string, id: string, fields: ReadonlySet<string>, cache?: DocCache, at?: number): Document | undefined {
  const c = collectionBytes(collection);
  checkId(id, collection);
  if (cache !== undefined) {
    const hit = cache.lookup(collection, id, at);
    if (hit !== MISS) return hit;
  }
  lentFields = fields;
  return view.getWith(docKey(c, id), decodeLent);
}

/**
 * Iterates `[id, document]` pairs of a collection, skipping deleted documents. With `fields`, documents hold only
 * those top-level fields (the query engine's `scanFields`).
 */
export function* iterateDocs(view: KvView, collection: string, options: IterateOptions = {}, fields?: ReadonlySet<string>): IterableIterator<[string, Document]> {
  const c = collectionBytes(collection);
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  const range: Omit<RangeOptions, 'snapshot'> = { reverse: options.reverse === true };
  const bound = (id: string | undefined, label: string): Uint8Array | undefined => {
    if (id === undefined) return undefined;
    checkId(id, collection);
    void label;
    return docKey(c, id);
  };
  range.gte = bound(options.gte, 'gte') ?? collectionStart(c);
  const gt = bound(options.gt, 'gt');
  if (gt !== undefined) range.gt = gt;
  range.lt = bound(options.lt, 'lt') ?? collectionEnd(c);
  const lte = bound(options.lte, 'lte');
  if (lte !== undefined) range.lte = lte;
  let limit = options.limit ?? Infinity;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) throw new RangeError(`"limit" expected a number >= 0, got ${limit}`);
  if (limit === 0) return;
  for (const e of view.iterate(range)) {
    const doc = decodeVisibleDoc(e.value, fields);
    if (doc === undefined) continue;
    yield [trustedUtf8(e.key, c.length + 2, e.key.length), doc];
    if (--limit <= 0) return;
  }
}
