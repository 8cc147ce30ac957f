/**
 * Index maintenance as pure functions: which index keys a document has, and which keys a write deletes and adds.
 *
 * The Database calls {@link indexDelta} for every index of the collection on every document write (in the same
 * LSM batch as the document), and {@link indexKeys} over a scan to build an index in the background.
 *
 * Invariants:
 * 1. A regular index holds exactly one key per document: `encodeKeyV1([v1, ..., vk, id])` with `vi` the value at
 *    field i (`undefined` when missing). So a full scan of a regular index visits every document once, in the
 *    order (fields..., id).
 * 2. A multi-entry index (one field) holds one key `encodeKeyV1([e, id])` per distinct element `e` of an array
 *    value (distinct under `cmpValues`), and none when the value is not an array.
 * 3. `indexDelta(def, id, a, b)` = (keys(a) \ keys(b), keys(b) \ keys(a)), each sorted ascending; applying it to
 *    an index holding keys(a) for `id` leaves keys(b).
 *
 * @packageDocumentation
 */
import { QueryError, QueryErrorCode } from './errors.js';
import { encodeKeyV1 } from './keys.js';
import type { Doc, IndexDefinition, IndexInfo, Value } from './types.js';
import { compareBytes, getPath, normalizePath } from './value.js';

/** The normalized form of an index definition: what maintenance and the planner need. */
export interface NormalizedIndex {
  readonly collection: string;
  readonly fields: readonly (readonly string[])[];
  readonly multiEntry: boolean;
}

/**
 * Checks and normalizes an index definition.
 * @throws QueryError `HEARTH_INVALID_QUERY` for no fields, a bad path, or a multi-entry index of several fields.
 */
export function normalizeIndex(def: IndexDefinition | IndexInfo): NormalizedIndex {
  if (typeof def !== 'object' || def === null) throw new TypeError('"index" expected an object');
  if (typeof def.collection !== 'string' || def.collection.length === 0) {
    throw new QueryError(QueryErrorCode.INVALID_QUERY, 'index needs a collection name');
  }
  if (!Array.isArray(def.fields) || def.fields.length === 0) {
    throw new QueryError(QueryErrorCode.INVALID_QUERY, 'index needs at least one field');
  }
  const fields = def.fields.map((f, i) => normalizePath(f, `index.fields[${i}]`));
  const multiEntry = def.multiEntry === true;
  if (multiEntry && fields.length !== 1) {
    throw new QueryError(QueryErrorCode.INVALID_QUERY, 'a multi-entry index has exactly one field');
  }
  return { collection: def.collection, fields, multiEntry };
}

/** A stable id for a normalized index: `collection|<json of fields>`, plus `|multi` for multi-entry. */
export function indexIdOf(index: NormalizedIndex): string {
  return `${index.collection}|${JSON.stringify(index.fields)}${index.multiEntry ? '|multi' : ''}`;
}

function sortUnique(keys: Uint8Array[]): Uint8Array[] {
  keys.sort(compareBytes);
  const out: Uint8Array[] = [];
  for (const k of keys) if (out.length === 0 || compareBytes(out[out.length - 1], k) !== 0) out.push(k);
  return out;
}

/**
 * The index keys of document `id` with body `doc` (none when `doc` is undefined), sorted ascending, unique.
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` when an indexed value is outside the document model.
 */
export function indexKeys(index: NormalizedIndex, id: string, doc: Doc | undefined): Uint8Array[] {
  if (doc === undefined) return [];
  if (index.multiEntry) {
    const v = getPath(doc, index.fields[0], id);
    if (!Array.isArray(v)) return [];
    return sortUnique(v.map((e: Value) => encodeKeyV1([e, id])));
  }
  const values: (Value | undefined)[] = index.fields.map((f) => getPath(doc, f, id));
  values.push(id);
  return [encodeKeyV1(values)];
}

/**
 * The keys a write deletes from and adds to one index. `before`/`after` undefined mean insert/delete.
 * @returns `{ del, add }`, each sorted ascending; keys present in both states appear in neither.
 * @throws QueryError `HEARTH_UNSUPPORTED_VALUE` as {@link indexKeys}.
 */
export function indexDelta(
  index: NormalizedIndex,
  id: string,
  before: Doc | undefined,
  after: Doc | undefined,
): { del: Uint8Array[]; add: Uint8Array[] } {
  const a = indexKeys(index, id, before);
  const b = indexKeys(index, id, after);
  const del: Uint8Array[] = [];
  const add: Uint8Array[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : compareBytes(a[i], b[j]);
    if (c < 0) del.push(a[i++]);
    else if (c > 0) add.push(b[j++]);
    else {
      i++;
      j++;
    }
  }
  return { del, add };
}

/**
 * The state of an index being built online: from a snapshot at sequence S, while writes continue.
 *
 * Procedure (the Database drives it; see `docs/query.md`):
 * 1. At S, create the build; from then on pass every committed write of the collection to {@link IndexBuild.write}
 *    and apply what it returns to the new index (deleting an absent key and putting a present one are no-ops).
 * 2. Scan the snapshot at S and pass each document to {@link IndexBuild.scanned}; put the keys it returns.
 * 3. When the scan is done, register the index (list it in `QueryStore.indexes`).
 *
 * Invariant: after steps 1–3 in any interleaving, the index holds exactly `indexKeys` of the current documents.
 * A document written after S is skipped by the scan, because its write's delta already added its current keys and
 * its S-version keys would be stale.
 */
export class IndexBuild {
  private readonly written = new Set<string>();

  constructor(readonly index: NormalizedIndex) {}

  /**
   * A write committed after S: the keys to delete from and add to the index being built. Unlike
   * {@link indexDelta}, `add` is **every** key of `after`: the index may not hold the keys of `before` yet (the
   * scan has not reached the document, and now never will), so a key common to both states must still be put.
   * Putting a key that is present and deleting one that is absent are both no-ops.
   */
  write(id: string, before: Doc | undefined, after: Doc | undefined): { del: Uint8Array[]; add: Uint8Array[] } {
    this.written.add(id);
    return { del: indexDelta(this.index, id, before, after).del, add: indexKeys(this.index, id, after) };
  }

  /** A document of the snapshot at S, from the build's scan: the keys to put (none if written since S). */
  scanned(id: string, doc: Doc): Uint8Array[] {
    return this.written.has(id) ? [] : indexKeys(this.index, id, doc);
  }

  /** Number of distinct documents written since S (the memory the build holds). */
  get writtenSince(): number {
    return this.written.size;
  }
}
