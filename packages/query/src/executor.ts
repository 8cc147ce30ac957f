/**
 * The executor: runs a query on a {@link QueryStore} snapshot through the plan the planner chose.
 *
 * Pipeline: access path → full filter on each fetched document → traversal hops → cursor (rows strictly after
 * the position) → sort (skipped when the index order is the query order, which also lets `limit` stop the scan)
 * → limit → projection; or, for aggregate queries, grouping and aggregate functions instead of the last four.
 *
 * Invariants:
 * 1. Results do not depend on the access path (planner invariants 1-3): every fetched document is checked
 *    against the whole filter and the cursor, and unordered paths are sorted by the full query order.
 * 2. The query order is total (sort keys, then `_id`), so pages and sorts are deterministic.
 * 3. A traversal hop reads its targets through the primary key (`toField` = `_id`), a regular index whose first
 *    field is `toField`, or — when neither exists — one scan of the target collection per hop, hashed by value
 *    and reused across the hop's depth levels. It never rescans per value or per level.
 * 4. Partial reads (`QueryStore` contract 5) are used only by `execute`/`explain`, only without hops, and only
 *    when the fetched documents are not bounded by `limit` (a scan, an index that does not serve the sort, an
 *    aggregate); the fields read are the first segments of every path the filter, the sort and the aggregate
 *    read, so filter, order, cursor and aggregates see exactly the values of the full documents. Returned rows
 *    are re-read in full with `getDoc` on the same snapshot before projection.
 * 5. Covering: with partial reads, a regular (not multi-entry) index whose fields include every field read, each as
 *    a whole top-level field, yields documents built from its keys (`decodeKeyPrefixV1` returns the stored values;
 *    the key encoding is canonical for the value model, so they are equal under the engine's order, the only
 *    difference being NaN payload bits inside a `Float32Array`, which the key canonicalizes) without reading the
 *    documents. A regular index has one entry per document, missing fields included: the same set of documents.
 *
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { aggregateRows } from './aggregate.js';
import { decodeCursorV1, encodeCursorV1 } from './cursor.js';
import { concatBytes, decodeKeyPrefixV1, encodeKeyV1, encodeValueV1, prefixEnd, toHex } from './keys.js';
import {
  type DocRow,
  type NHop,
  type NQuery,
  type NSort,
  comparePosition,
  conjuncts,
  filterPaths,
  matches,
  normalizeQuery,
  positionOf,
  project,
  rowComparator,
} from './_query.js';
import {
  type ByteRange,
  type Candidate,
  type PhysicalAccess,
  type PlanOptions,
  describeAccess,
  indexForLookup,
  planAccess,
  toKeyRange,
} from './planner.js';
import type { Doc, Explain, HopExplain, IndexInfo, Query, QueryResult, QueryShape, QueryStore, Value } from './types.js';
import { compareBytes, compareStrings, getPath, isIdPath, pathName, setOwn } from './value.js';

/** Options of {@link execute} and {@link explain}. */
export type ExecuteOptions = PlanOptions;

interface Counters {
  docsScanned: number;
  indexEntriesRead: number;
  docsMatched: number;
}

/** Internal result of a run: full documents, in query order when `ordered`. */
export interface RowsRun {
  /** Matching rows after the cursor, in query order, at most `limit + 1` of them when a limit is given. */
  readonly rows: DocRow[];
  readonly chosen: Candidate;
  readonly candidates: readonly Candidate[];
  readonly counters: Counters;
  readonly sortInMemory: boolean;
  readonly hops: HopExplain[];
  /** Whether `rows` hold partial documents (invariant 4). */
  readonly partial: boolean;
}

function* accessRows(
  store: QueryStore,
  collection: string,
  access: PhysicalAccess,
  afterKey: Uint8Array | undefined,
  counters: Counters,
  fields?: ReadonlySet<string>,
): Generator<DocRow> {
  const getDoc = fields !== undefined ? (c: string, id: string) => store.getDocFields!(c, id, fields) : (c: string, id: string) => store.getDoc(c, id);
  if (access.kind === 'scan') {
    for (const [id, doc] of fields !== undefined ? store.scanFields!(collection, fields) : store.scan(collection)) {
      counters.docsScanned++;
      yield { id, doc };
    }
    return;
  }
  if (access.kind === 'union') {
    // Each branch yields a superset of its disjunct's matches; together, of the `or`'s. Ids are deduplicated.
    const seen = new Set<string>();
    for (const b of access.branches) {
      for (const r of accessRows(store, collection, b, undefined, counters, fields)) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        yield r;
      }
    }
    return;
  }
  if (access.kind === 'primary') {
    const seen = new Set<string>();
    for (const id of access.ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const doc = getDoc(collection, id);
      counters.docsScanned++;
      if (doc !== undefined) yield { id, doc };
    }
    return;
  }
  const dedupe = access.index.multiEntry || access.ranges.length > 1;
  const seen = dedupe ? new Set<string>() : undefined;
  const cover = fields !== undefined ? coveringFields(access.index, fields) : undefined;
  let coverCount = 0;
  if (cover !== undefined) for (const c of cover) coverCount = Math.max(coverCount, c.at + 1);
  for (const r of access.ranges) {
    let range: ByteRange = r;
    if (afterKey !== undefined) {
      // Start after the cursor's index key (only when the index order is the query order).
      if (!access.reverse) {
        const gt = concatBytes(afterKey, Uint8Array.of(0)); // smallest key above afterKey
        if (range.lo === undefined || compareBytes(gt, range.lo) > 0) range = { lo: gt, hi: range.hi };
      } else if (range.hi === undefined || compareBytes(afterKey, range.hi) < 0) {
        range = { lo: range.lo, hi: afterKey };
      }
      if (range.lo !== undefined && range.hi !== undefined && compareBytes(range.lo, range.hi) >= 0) continue;
    }
    for (const e of store.scanIndex(access.index.id, toKeyRange(range, access.reverse))) {
      counters.indexEntriesRead++;
      if (seen !== undefined) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
      }
      counters.docsScanned++;
      if (cover !== undefined) {
        // Covering (invariant 5): the key holds every field the query reads.
        const values = decodeKeyPrefixV1(e.key, coverCount);
        const doc: Doc = {};
        for (let i = 0; i < cover.length; i++) {
          const v = values[cover[i].at];
          if (v === undefined) continue;
          if (cover[i].name === '__proto__') setOwn(doc, cover[i].name, v);
          else doc[cover[i].name] = v;
        }
        yield { id: e.id, doc };
        continue;
      }
      const doc = getDoc(collection, e.id);
      if (doc === undefined) {
        throw new CorruptionError(
          `index ${access.index.id} names document ${JSON.stringify(e.id)} that does not exist in ${collection}; ` +
            'the index is out of step with the documents and must be rebuilt',
        );
      }
      yield { id: e.id, doc };
    }
  }
}

/**
 * When a regular index holds every field in `fields` as a whole top-level field, the positions of those fields in
 * its keys (invariant 5); otherwise undefined.
 */
function coveringFields(index: IndexInfo, fields: ReadonlySet<string>): { name: string; at: number }[] | undefined {
  if (index.multiEntry) return undefined;
  const out: { name: string; at: number }[] = [];
  for (const name of fields) {
    const at = index.fields.findIndex((f) => f.length === 1 && f[0] === name && !isIdPath(f));
    if (at < 0) return undefined;
    out.push({ name, at });
  }
  return out;
}

/** The index key at which the cursor position sits, for an order-serving index plan. */
function cursorIndexKey(access: Extract<PhysicalAccess, { kind: 'index' }>, sort: readonly NSort[], pos: readonly (Value | undefined)[]): Uint8Array {
  const values: (Value | undefined)[] = access.index.fields.map((f, i) => {
    const fx = access.fixed[i];
    if (fx !== undefined) return fx.value;
    const s = sort.findIndex((k) => k.path.length === f.length && k.path.every((x, j) => x === f[j]));
    return pos[s];
  });
  values.push(pos[pos.length - 1]);
  return encodeKeyV1(values);
}

/** Source values of a hop for one row: the value at `from`, an array followed element by element. */
function hopValues(row: DocRow, from: readonly string[], out: Map<string, Value>): void {
  const v = getPath(row.doc, from, row.id);
  const add = (x: Value | undefined) => {
    if (x === undefined) return;
    const k = toHex(encodeValueV1(x));
    if (!out.has(k)) out.set(k, x);
  };
  if (Array.isArray(v)) for (const e of v) add(e);
  else add(v);
}

function runHop(store: QueryStore, hop: NHop, start: DocRow[]): { rows: DocRow[]; explain: HopExplain } {
  const idx = isIdPath(hop.toField) ? undefined : indexForLookup(store, hop.to, hop.toField);
  const accessKind: HopExplain['access'] = isIdPath(hop.toField) ? 'primary' : idx !== undefined ? 'index' : 'scan';
  let docsScanned = 0;
  let lookups = 0;
  let hash: Map<string, DocRow[]> | undefined;
  const lookup = (key: string, v: Value): DocRow[] => {
    lookups++;
    if (accessKind === 'primary') {
      if (typeof v !== 'string') return [];
      const doc = store.getDoc(hop.to, v);
      docsScanned++;
      return doc === undefined ? [] : [{ id: v, doc }];
    }
    if (idx !== undefined) {
      const p = encodeValueV1(v);
      const out: DocRow[] = [];
      for (const e of store.scanIndex(idx.id, { gte: p, lt: prefixEnd(p) })) {
        const doc = store.getDoc(hop.to, e.id);
        docsScanned++;
        if (doc === undefined) {
          throw new CorruptionError(`index ${idx.id} names document ${JSON.stringify(e.id)} missing from ${hop.to}`);
        }
        out.push({ id: e.id, doc });
      }
      return out;
    }
    if (hash === undefined) {
      hash = new Map();
      for (const [id, doc] of store.scan(hop.to)) {
        docsScanned++;
        const tv = getPath(doc, hop.toField, id);
        if (tv === undefined) continue;
        const k = toHex(encodeValueV1(tv));
        let list = hash.get(k);
        if (list === undefined) hash.set(k, (list = []));
        list.push({ id, doc });
      }
    }
    return hash.get(key) ?? [];
  };
  const reached = new Map<string, DocRow>();
  const looked = new Set<string>();
  let frontier = start;
  let levels = 0;
  for (let level = 1; level <= hop.depth && frontier.length > 0; level++) {
    levels = level;
    const values = new Map<string, Value>();
    for (const r of frontier) hopValues(r, hop.from, values);
    const next: DocRow[] = [];
    for (const [k, v] of values) {
      if (looked.has(k)) continue;
      looked.add(k);
      for (const r of lookup(k, v)) {
        if (reached.has(r.id) || !matches(hop.where, r.doc, r.id)) continue;
        reached.set(r.id, r);
        next.push(r);
      }
    }
    frontier = next;
  }
  return {
    rows: [...reached.values()],
    explain: {
      to: hop.to, toField: hop.toField, access: accessKind, ...(idx !== undefined ? { indexId: idx.id } : {}),
      lookups, docsScanned, reached: reached.size, levels,
    },
  };
}

/**
 * The top-level fields a query without hops reads from its documents (filter, sort, aggregate; `_id` is not a
 * field), for partial reads (invariant 4).
 */
function fieldsRead(q: NQuery): Set<string> {
  const out = new Set<string>();
  const add = (p: readonly string[] | undefined) => {
    if (p !== undefined && p.length > 0 && !isIdPath(p)) out.add(p[0]);
  };
  for (const p of filterPaths(q.where)) add(p);
  for (const s of q.sort) add(s.path);
  if (q.aggregate !== undefined) {
    for (const p of q.aggregate.groupBy) add(p);
    for (const v of q.aggregate.values) add(v.path);
  }
  return out;
}

/**
 * Runs the row part of a normalized query (no projection, no aggregation).
 * @param afterPos rows strictly after this position (decoded cursor), if any.
 * @param limit stop after `limit + 1` rows in order (undefined: all).
 * @param allowPartial the rows may hold partial documents (invariant 4; `RowsRun.partial` says whether they do).
 */
export function runRows(
  store: QueryStore,
  q: NQuery,
  afterPos: readonly (Value | undefined)[] | undefined,
  limit: number | undefined,
  options?: PlanOptions,
  allowPartial = false,
): RowsRun {
  const counters: Counters = { docsScanned: 0, indexEntriesRead: 0, docsMatched: 0 };
  const hasHops = q.traverse.length > 0;
  const wantOrder = q.aggregate === undefined;
  const candidates = planAccess(store, q.collection, q.where, hasHops ? [] : q.sort, hasHops ? undefined : limit, wantOrder && !hasHops, options);
  const chosen = candidates[0];
  const access = chosen.access;
  const streamsInOrder = !hasHops && wantOrder && access.kind === 'index' && access.servesSort;
  const afterKey = streamsInOrder && afterPos !== undefined && access.kind === 'index' ? cursorIndexKey(access, q.sort, afterPos) : undefined;
  let rows: DocRow[] = [];
  const cmp = rowComparator(q.sort);
  // Top-k without an order-serving index: keep at most about 2·(limit+1) rows, sorting and cutting as they come
  // (O(n log k) time, O(k) memory) instead of holding and sorting every match.
  const keep = !streamsInOrder && !hasHops && wantOrder && limit !== undefined ? limit + 1 : undefined;
  const cutAt = keep !== undefined ? Math.max(2 * keep, 1024) : Infinity;
  const partial =
    allowPartial && !hasHops && !streamsInOrder && store.getDocFields !== undefined && store.scanFields !== undefined;
  const fields = partial ? fieldsRead(q) : undefined;
  for (const r of accessRows(store, q.collection, access, afterKey, counters, fields)) {
    if (!matches(q.where, r.doc, r.id)) continue;
    if (hasHops) {
      rows.push(r);
      continue;
    }
    counters.docsMatched++;
    if (afterPos !== undefined && comparePosition(q.sort, r, afterPos) <= 0) continue;
    rows.push(r);
    if (streamsInOrder && limit !== undefined && rows.length > limit) break;
    if (rows.length >= cutAt) {
      rows.sort(cmp);
      rows.length = keep as number;
    }
  }
  const hops: HopExplain[] = [];
  if (hasHops) {
    for (const hop of q.traverse) {
      const h = runHop(store, hop, rows);
      hops.push(h.explain);
      rows = h.rows;
    }
    counters.docsMatched = rows.length;
    if (afterPos !== undefined) rows = rows.filter((r) => comparePosition(q.sort, r, afterPos) > 0);
  }
  let sortInMemory = false;
  if (wantOrder && !streamsInOrder) {
    rows.sort(cmp);
    sortInMemory = true;
  } else if (!wantOrder) {
    // Aggregates: a fixed order keeps results independent of the access path.
    rows.sort((a, b) => compareStrings(a.id, b.id));
  }
  if (limit !== undefined && rows.length > limit + 1) rows.length = limit + 1;
  return { rows, chosen, candidates, counters, sortInMemory, hops, partial };
}

/** The whole document of a row read partially (invariant 4): the same snapshot holds it. */
function fullDoc(store: QueryStore, collection: string, id: string): DocRow["doc"] {
  const doc = store.getDoc(collection, id);
  if (doc === undefined) throw new CorruptionError(`document ${JSON.stringify(id)} of ${collection} was read partially but not in full from one snapshot`);
  return doc;
}

/** The shape of a normalized query, for statistics and the adaptive index policy. */
export function shapeOf(q: NQuery): QueryShape {
  const cs = conjuncts(q.where);
  const pick = (ops: string[]) => {
    const m = new Map<string, readonly string[]>();
    for (const c of cs) if (ops.includes(c.op) && 'path' in c) m.set(JSON.stringify(c.path), c.path);
    return [...m.entries()].sort((a, b) => compareStrings(a[0], b[0])).map((e) => e[1]);
  };
  const equality = pick(['eq', 'in']);
  const range = pick(['gt', 'gte', 'lt', 'lte', 'prefix']);
  const contains = pick(['contains']);
  const sort = q.sort.map((s) => ({ path: s.path, dir: s.dir }));
  const names = (ps: readonly (readonly string[])[]) => ps.map(pathName).join(',');
  const key =
    `${q.collection}?eq=${names(equality)}&range=${names(range)}&contains=${names(contains)}` +
    `&sort=${sort.map((s) => `${pathName(s.path)}:${s.dir}`).join(',')}`;
  return { collection: q.collection, equality, range, contains, sort, key };
}

function runQuery(store: QueryStore, query: Query, options: ExecuteOptions | undefined, wantExplain: boolean): { result: QueryResult; explain: Explain | undefined } {
  const t0 = performance.now();
  const q = normalizeQuery(query);
  const afterPos = q.after !== undefined ? decodeCursorV1(q.after, q.target, q.sort) : undefined;
  const run = runRows(store, q, afterPos, q.aggregate === undefined ? q.limit : undefined, options, true);
  let result: QueryResult;
  if (q.aggregate !== undefined) {
    result = { rows: aggregateRows(q.aggregate, run.rows), hasMore: false };
  } else {
    const hasMore = q.limit !== undefined && run.rows.length > q.limit;
    const page = hasMore ? run.rows.slice(0, q.limit) : run.rows;
    const rows = page.map((r) => ({ id: r.id, doc: project(run.partial ? fullDoc(store, q.collection, r.id) : r.doc, r.id, q.select) }));
    const last = page[page.length - 1];
    result = last === undefined
      ? { rows, hasMore }
      : { rows, hasMore, cursor: encodeCursorV1(q.target, q.sort, positionOf(q.sort, last)) };
  }
  if (!wantExplain) return { result, explain: undefined };
  const explain: Explain = {
    collection: q.collection,
    access: describeAccess(run.chosen.access),
    candidates: run.candidates.map((c) => ({ access: describeAccess(c.access), estimatedScanned: c.estimatedScanned, cost: c.cost })),
    estimatedScanned: run.chosen.estimatedScanned,
    docsScanned: run.counters.docsScanned,
    indexEntriesRead: run.counters.indexEntriesRead,
    docsMatched: run.counters.docsMatched,
    returned: result.rows.length,
    sortInMemory: run.sortInMemory,
    hops: run.hops,
    ms: performance.now() - t0,
    shape: shapeOf(q),
  };
  return { result, explain };
}

/**
 * Runs a query on one snapshot.
 *
 * @example
 * ```ts
 * const { rows, cursor } = execute(store, { collection: 'posts', where: eq('authorId', 'u1'), sort: [desc('at')], limit: 20 })
 * ```
 * Rows hold the documents the store returned (or projections that share their nested values): callers must not
 * mutate them. The result does not depend on the plan chosen.
 *
 * @throws QueryError `HEARTH_INVALID_QUERY` for a malformed query, `HEARTH_INVALID_CURSOR` for a bad `after`,
 *   `HEARTH_UNSUPPORTED_VALUE` for a filter value outside the document model.
 * @throws CorruptionError `HEARTH_CORRUPTION` if an index names a document the snapshot lacks.
 */
export function execute(store: QueryStore, query: Query, options?: ExecuteOptions): QueryResult {
  return runQuery(store, query, options, false).result;
}

/**
 * Runs a query and reports its plan and counts: the access path chosen and the alternatives with their costs,
 * estimated and actual documents scanned, index entries read, documents matched and rows returned, whether rows
 * were sorted in memory, per-hop statistics, and the wall time in ms.
 * @throws as {@link execute}.
 */
export function explain(store: QueryStore, query: Query, options?: ExecuteOptions): Explain {
  return runQuery(store, query, options, true).explain as Explain;
}

/** Runs a query and returns both its result and its explain (what the Database feeds the adaptive policy). */
export function executeWithExplain(store: QueryStore, query: Query, options?: ExecuteOptions): { result: QueryResult; explain: Explain } {
  const { result, explain } = runQuery(store, query, options, true);
  return { result, explain: explain as Explain };
}
