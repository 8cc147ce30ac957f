/**
 * An in-memory {@link QueryStore}: documents in Maps, each secondary index a sorted array of entries maintained
 * with the pure maintenance functions ({@link indexDelta}). It is the reference implementation of the storage
 * contract for tests and examples; the Database implements the same interface over the LSM.
 *
 * Invariants:
 * 1. Every index's `entries` is sorted ascending by key, without duplicate keys, and equals the union over the
 *    collection's documents of `indexKeys(index, id, doc)`.
 * 2. Stored documents are private copies (`structuredClone` on write); readers get the stored objects and must
 *    not mutate them.
 *
 * @packageDocumentation
 */
import { QueryError, QueryErrorCode } from './errors.js';
import { type NormalizedIndex, indexDelta, indexIdOf, indexKeys, normalizeIndex } from './maintenance.js';
import type { Change, Doc, IndexDefinition, IndexEntry, IndexInfo, KeyRange, QueryStore } from './types.js';
import { compareBytes, setOwn } from './value.js';

interface MemIndex {
  info: IndexInfo;
  norm: NormalizedIndex;
  entries: IndexEntry[];
}

/** First position whose key is >= `key` (or > `key` with `strict`). */
function lowerBound(entries: readonly IndexEntry[], key: Uint8Array, strict: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(entries[mid].key, key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The half-open position range [from, to) of entries inside `range`. */
function bounds(entries: readonly IndexEntry[], range: KeyRange): [number, number] {
  let from = 0;
  let to = entries.length;
  if (range.gte !== undefined) from = Math.max(from, lowerBound(entries, range.gte, false));
  if (range.gt !== undefined) from = Math.max(from, lowerBound(entries, range.gt, true));
  if (range.lt !== undefined) to = Math.min(to, lowerBound(entries, range.lt, false));
  if (range.lte !== undefined) to = Math.min(to, lowerBound(entries, range.lte, true));
  return [from, Math.max(from, to)];
}

function assertName(v: unknown, label: string): asserts v is string {
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`"${label}" expected a non-empty string, got ${typeof v}`);
}

/** An in-memory document store with secondary indexes, implementing {@link QueryStore}. */
export class MemoryQueryStore implements QueryStore {
  private readonly docs = new Map<string, Map<string, Doc>>();
  private readonly byId = new Map<string, MemIndex>();

  private coll(collection: string): Map<string, Doc> {
    let c = this.docs.get(collection);
    if (c === undefined) this.docs.set(collection, (c = new Map()));
    return c;
  }

  private apply(collection: string, id: string, before: Doc | undefined, after: Doc | undefined): void {
    // Compute every delta before changing anything, so a refused value leaves the store as it was.
    const deltas: [MemIndex, { del: Uint8Array[]; add: Uint8Array[] }][] = [];
    for (const ix of this.byId.values()) {
      if (ix.info.collection === collection) deltas.push([ix, indexDelta(ix.norm, id, before, after)]);
    }
    for (const [ix, d] of deltas) {
      for (const k of d.del) {
        const i = lowerBound(ix.entries, k, false);
        if (i < ix.entries.length && compareBytes(ix.entries[i].key, k) === 0) ix.entries.splice(i, 1);
      }
      for (const k of d.add) ix.entries.splice(lowerBound(ix.entries, k, false), 0, { key: k, id });
    }
  }

  /**
   * Inserts or replaces a document.
   * @returns the change (for live queries).
   * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` if an indexed value is outside the model (nothing changes).
   */
  put(collection: string, id: string, doc: Doc): Change {
    assertName(collection, 'collection');
    assertName(id, 'id');
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('"doc" expected a plain object');
    const after = structuredClone(doc);
    const c = this.coll(collection);
    const before = c.get(id);
    this.apply(collection, id, before, after);
    c.set(id, after);
    return before === undefined ? { collection, id, after } : { collection, id, before, after };
  }

  /** Deletes a document. @returns the change, or undefined if there was no such document. */
  delete(collection: string, id: string): Change | undefined {
    const c = this.docs.get(collection);
    const before = c?.get(id);
    if (c === undefined || before === undefined) return undefined;
    this.apply(collection, id, before, undefined);
    c.delete(id);
    return { collection, id, before };
  }

  /**
   * Builds and registers an index (returns the existing one if an equal definition is registered).
   * @throws QueryError `HEARTH_INVALID_QUERY` for a bad definition; `HEARTH_UNSUPPORTED_VALUE` if a document's
   *   indexed value is outside the model.
   */
  createIndex(def: IndexDefinition, origin: 'user' | 'adaptive' = 'user'): IndexInfo {
    const norm = normalizeIndex(def);
    const id = indexIdOf(norm);
    const existing = this.byId.get(id);
    if (existing !== undefined) return existing.info;
    const entries: IndexEntry[] = [];
    for (const [docId, doc] of this.coll(norm.collection)) {
      for (const key of indexKeys(norm, docId, doc)) entries.push({ key, id: docId });
    }
    entries.sort((a, b) => compareBytes(a.key, b.key));
    const info: IndexInfo = { id, collection: norm.collection, fields: norm.fields, multiEntry: norm.multiEntry, origin };
    this.byId.set(id, { info, norm, entries });
    return info;
  }

  /** Drops an index. @throws QueryError `HEARTH_INVALID_QUERY` if there is no such index. */
  dropIndex(indexId: string): void {
    if (!this.byId.delete(indexId)) throw new QueryError(QueryErrorCode.INVALID_QUERY, `no index ${JSON.stringify(indexId)}`);
  }

  /** The entries of an index, in key order (tests check invariant 1 with it). */
  indexEntries(indexId: string): readonly IndexEntry[] {
    const ix = this.byId.get(indexId);
    if (ix === undefined) throw new QueryError(QueryErrorCode.INVALID_QUERY, `no index ${JSON.stringify(indexId)}`);
    return ix.entries;
  }

  getDoc(collection: string, id: string): Doc | undefined {
    return this.docs.get(collection)?.get(id);
  }

  *scan(collection: string): Iterable<readonly [string, Doc]> {
    const c = this.docs.get(collection);
    if (c !== undefined) yield* c;
  }

  /** Contract 5 of `QueryStore`: a new object with only the named top-level fields (so tests see partial reads). */
  getDocFields(collection: string, id: string, fields: ReadonlySet<string>): Doc | undefined {
    const doc = this.docs.get(collection)?.get(id);
    return doc === undefined ? undefined : pick(doc, fields);
  }

  *scanFields(collection: string, fields: ReadonlySet<string>): Iterable<readonly [string, Doc]> {
    const c = this.docs.get(collection);
    if (c !== undefined) for (const [id, doc] of c) yield [id, pick(doc, fields)];
  }

  indexes(collection: string): readonly IndexInfo[] {
    const out: IndexInfo[] = [];
    for (const ix of this.byId.values()) if (ix.info.collection === collection) out.push(ix.info);
    return out;
  }

  *scanIndex(indexId: string, range: KeyRange): Iterable<IndexEntry> {
    const ix = this.byId.get(indexId);
    if (ix === undefined) throw new QueryError(QueryErrorCode.INVALID_QUERY, `no index ${JSON.stringify(indexId)}`);
    const [from, to] = bounds(ix.entries, range);
    // No write may interleave with a read (the store is a snapshot for the duration of a query).
    const e = ix.entries;
    if (range.reverse) for (let i = to - 1; i >= from; i--) yield e[i];
    else for (let i = from; i < to; i++) yield e[i];
  }

  countDocs(collection: string): number {
    return this.docs.get(collection)?.size ?? 0;
  }

  estimateRange(indexId: string, range: KeyRange): number {
    const ix = this.byId.get(indexId);
    if (ix === undefined) return 0;
    const [from, to] = bounds(ix.entries, range);
    return to - from;
  }
}

function pick(doc: Doc, fields: ReadonlySet<string>): Doc {
  const out: Doc = {};
  for (const k of Object.keys(doc)) if (fields.has(k)) setOwn(out, k, doc[k]);
  return out;
}
