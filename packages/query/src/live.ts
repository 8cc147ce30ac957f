/**
 * Live queries (the database-independent core): keep a query's result current under change sets and emit diffs.
 *
 * Two modes:
 * - **Incremental** (plain queries: filter, sort, limit, cursor, projection). Each change of the query's
 *   collection is tested against the filter (and cursor) on its `before` and `after`; a change that matches
 *   neither and whose id is not in the window is skipped without work. The sorted window is updated in place.
 *   Only when removals leave a limited window short while rows beyond it may exist does it read the store, and
 *   then only the missing tail (a cursor query from the window's last row).
 * - **Re-run** (traversal and aggregate queries): when a change touches a document that matches, before or after
 *   it, the filter of a step that reads its collection (the starting filter, or a hop's `where` on the hop's target
 *   collection), the query runs again and the diff is computed between the two results; other changes are skipped.
 *
 * Invariants of the incremental window `W` (rows in query order, at most `limit`):
 * 1. `W` is the first `|W|` rows, in query order, of the rows matching the query at the current state.
 * 2. `complete` implies `W` holds every matching row.
 * 3. After `apply`, `|W| = min(limit, number of matching rows)` (the refetch restores it when removals left
 *    `W` short and `complete` is false).
 *
 * @packageDocumentation
 */
import { encodeCursorV1, decodeCursorV1 } from './cursor.js';
import { execute, runRows } from './executor.js';
import {
  type DocRow,
  type NFilter,
  type NQuery,
  comparePosition,
  matches,
  normalizeQuery,
  positionOf,
  project,
  rowComparator,
} from './_query.js';
import type { Change, Diff, Doc, Query, QueryResult, QueryStore, Row, Value } from './types.js';
import { cmpValues } from './value.js';

/** Counters of a live query's work. */
export interface LiveQueryStats {
  /** Batches that changed nothing (no change could affect the query). */
  skipped: number;
  /** Batches handled incrementally without reading the store. */
  incremental: number;
  /** Batches where a shortened window was refilled from the store. */
  refetches: number;
  /** Batches handled by re-running the whole query. */
  reruns: number;
}

/** A live query. See {@link createLiveQuery}. */
export interface LiveQuery {
  /** The current result. */
  readonly result: QueryResult;
  /** Whether the query is maintained incrementally (`false`: re-run on relevant changes). */
  readonly incremental: boolean;
  readonly stats: LiveQueryStats;
  /**
   * Applies a change set that has been committed; `store` reads the state after it.
   * @returns the diff from the previous result, or null when the result did not change.
   */
  apply(changes: readonly Change[], store: QueryStore): Diff | null;
}

/**
 * The longest strictly increasing subsequence of `xs`, as a set of positions into `xs` (patience sorting).
 */
function lisPositions(xs: readonly number[]): Set<number> {
  const tails: number[] = [];
  const prev = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[tails[mid]] < xs[i]) lo = mid + 1;
      else hi = mid;
    }
    prev[i] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = i;
  }
  const out = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.add(i);
  return out;
}

/**
 * The diff between two results keyed by row id: rows only in `before` are removed, rows only in `after` are
 * added, and rows in both are changed when their document differs or when they moved relative to the rows
 * kept in place (those outside a longest increasing subsequence of new positions).
 */
export function diffRows(before: readonly Row[], after: readonly Row[]): Diff | null {
  const newIndex = new Map<string, number>();
  after.forEach((r, i) => newIndex.set(r.id, i));
  const oldIndex = new Map<string, number>();
  before.forEach((r, i) => oldIndex.set(r.id, i));
  const removed: Diff['removed'] = [];
  const changed: Diff['changed'] = [];
  const keptOld: number[] = [];
  const keptNew: number[] = [];
  before.forEach((r, i) => {
    const j = newIndex.get(r.id);
    if (j === undefined) removed.push({ id: r.id, index: i });
    else if (cmpValues(r.doc, after[j].doc) !== 0) changed.push({ id: r.id, doc: after[j].doc, from: i, to: j });
    else {
      keptOld.push(i);
      keptNew.push(j);
    }
  });
  const stay = lisPositions(keptNew);
  keptNew.forEach((j, k) => {
    if (!stay.has(k)) changed.push({ id: after[j].id, doc: after[j].doc, from: keptOld[k], to: j });
  });
  changed.sort((a, b) => a.to - b.to);
  const added: Diff['added'] = [];
  after.forEach((r, j) => {
    if (!oldIndex.has(r.id)) added.push({ id: r.id, doc: r.doc, index: j });
  });
  if (removed.length === 0 && added.length === 0 && changed.length === 0) return null;
  return { removed, added, changed };
}

/**
 * Applies a diff to the rows it was computed from and returns the new rows (the input is not modified).
 * @throws RangeError if the diff does not fit the rows (wrong ids or positions).
 */
export function applyDiff(rows: readonly Row[], diff: Diff): Row[] {
  const drop = new Set<string>();
  for (const r of diff.removed) {
    if (rows[r.index]?.id !== r.id) throw new RangeError(`applyDiff: removed row ${r.id} is not at index ${r.index}`);
    drop.add(r.id);
  }
  for (const c of diff.changed) {
    if (rows[c.from]?.id !== c.id) throw new RangeError(`applyDiff: changed row ${c.id} is not at index ${c.from}`);
    drop.add(c.id);
  }
  const out = rows.filter((r) => !drop.has(r.id));
  const inserts = [
    ...diff.added.map((a) => ({ at: a.index, row: { id: a.id, doc: a.doc } })),
    ...diff.changed.map((c) => ({ at: c.to, row: { id: c.id, doc: c.doc } })),
  ].sort((a, b) => a.at - b.at);
  for (const ins of inserts) {
    if (ins.at > out.length) throw new RangeError(`applyDiff: position ${ins.at} past the end (${out.length})`);
    out.splice(ins.at, 0, ins.row);
  }
  return out;
}

class IncrementalLiveQuery implements LiveQuery {
  readonly incremental = true;
  readonly stats: LiveQueryStats = { skipped: 0, incremental: 0, refetches: 0, reruns: 0 };
  private window: DocRow[];
  private complete: boolean;
  private rows: Row[];
  private members = new Map<string, DocRow>();
  private readonly cmp: (a: DocRow, b: DocRow) => number;
  private readonly afterPos: (Value | undefined)[] | undefined;

  constructor(store: QueryStore, private readonly q: NQuery) {
    this.cmp = rowComparator(q.sort);
    this.afterPos = q.after !== undefined ? decodeCursorV1(q.after, q.target, q.sort) : undefined;
    const run = runRows(store, q, this.afterPos, q.limit);
    this.complete = q.limit === undefined || run.rows.length <= q.limit;
    this.window = q.limit === undefined ? run.rows : run.rows.slice(0, q.limit);
    this.rows = this.project(this.window);
    for (const r of this.window) this.members.set(r.id, r);
  }

  private project(w: readonly DocRow[]): Row[] {
    return w.map((r) => ({ id: r.id, doc: project(r.doc, r.id, this.q.select) }));
  }

  get result(): QueryResult {
    const last = this.window[this.window.length - 1];
    const base = { rows: this.rows, hasMore: !this.complete };
    return last === undefined ? base : { ...base, cursor: encodeCursorV1(this.q.target, this.q.sort, positionOf(this.q.sort, last)) };
  }

  private admits(id: string, doc: Doc | undefined): boolean {
    if (doc === undefined || !matches(this.q.where, doc, id)) return false;
    return this.afterPos === undefined || comparePosition(this.q.sort, { id, doc }, this.afterPos) > 0;
  }

  /** Position of `row` (present in the window) by binary search under the total order. */
  private find(w: readonly DocRow[], row: DocRow): number {
    let lo = 0;
    let hi = w.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(w[mid], row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  apply(changes: readonly Change[], store: QueryStore): Diff | null {
    const limit = this.q.limit;
    let w: DocRow[] | undefined; // window and members are copied on the first change that affects them
    let members = this.members;
    for (const ch of changes) {
      if (ch.collection !== this.q.collection) continue;
      const cur = members.get(ch.id);
      const row: DocRow | undefined = this.admits(ch.id, ch.after) ? { id: ch.id, doc: ch.after as Doc } : undefined;
      // Whether the new row belongs in the window: always when it holds every match, else only before its last
      // row (past it, rows not held may come first). Judged on the window without the row's old version.
      const enters = (win: readonly DocRow[]): boolean => {
        if (row === undefined) return false;
        if (this.complete) return true;
        const last = win[win.length - 1];
        return last !== undefined && last.id !== row.id && this.cmp(row, last) < 0;
      };
      if (cur === undefined && !enters(w ?? this.window)) continue; // cannot affect the window (invariant 1)
      if (w === undefined) {
        w = this.window.slice();
        members = new Map(members);
      }
      if (cur !== undefined) {
        w.splice(this.find(w, cur), 1);
        members.delete(ch.id);
      }
      if (row !== undefined && enters(w)) {
        w.splice(this.find(w, row), 0, row);
        members.set(row.id, row);
        if (limit !== undefined && w.length > limit) {
          members.delete(w[w.length - 1].id);
          w.pop();
          this.complete = false;
        }
      }
    }
    if (w === undefined) {
      this.stats.skipped++;
      return null;
    }
    if (limit !== undefined && !this.complete && w.length < limit) {
      // Refill the tail: rows strictly after the window's last row (or after the query's own cursor).
      const from = w.length ? positionOf(this.q.sort, w[w.length - 1]) : this.afterPos;
      const need = limit - w.length;
      const run = runRows(store, this.q, from, need);
      this.complete = run.rows.length <= need;
      for (const r of run.rows.slice(0, need)) {
        w.push(r);
        members.set(r.id, r);
      }
      this.stats.refetches++;
    } else {
      this.stats.incremental++;
    }
    this.window = w;
    this.members = members;
    const next = this.project(w);
    const diff = diffRows(this.rows, next);
    this.rows = next;
    return diff;
  }
}

class RerunLiveQuery implements LiveQuery {
  readonly incremental = false;
  readonly stats: LiveQueryStats = { skipped: 0, incremental: 0, refetches: 0, reruns: 0 };
  private current: QueryResult;
  /** Per collection read, the filters a document must match to be in some set of the query (undefined: any). */
  private readonly reads = new Map<string, (NFilter | undefined)[]>();

  constructor(store: QueryStore, private readonly query: Query, q: NQuery) {
    const add = (c: string, f: NFilter | undefined) => {
      const list = this.reads.get(c);
      if (list === undefined) this.reads.set(c, [f]);
      else list.push(f);
    };
    add(q.collection, q.where);
    for (const h of q.traverse) add(h.to, h.where);
    this.current = execute(store, query);
  }

  get result(): QueryResult {
    return this.current;
  }

  /**
   * Whether a change can affect the result: a document only counts if it is in the starting set or reached by a
   * hop, which requires matching that step's filter before or after the change.
   */
  private relevant(c: Change): boolean {
    const filters = this.reads.get(c.collection);
    if (filters === undefined) return false;
    return filters.some((f) =>
      (c.before !== undefined && matches(f, c.before, c.id)) || (c.after !== undefined && matches(f, c.after, c.id)));
  }

  apply(changes: readonly Change[], store: QueryStore): Diff | null {
    if (!changes.some((c) => this.relevant(c))) {
      this.stats.skipped++;
      return null;
    }
    this.stats.reruns++;
    const next = execute(store, this.query);
    const diff = diffRows(this.current.rows, next.rows);
    this.current = next;
    return diff;
  }
}

/**
 * Starts a live query on a snapshot: runs it once and returns an object whose `apply` takes each committed
 * change set (with a store reading the state after it) and returns the diff of the result, or null.
 *
 * @example
 * ```ts
 * const live = createLiveQuery(store, { collection: 'todos', where: eq('done', false), sort: [asc('at')], limit: 50 })
 * render(live.result.rows)
 * db.onCommit((changes, snapshot) => { const d = live.apply(changes, snapshot); if (d) patch(d) })
 * ```
 * @throws as `execute`.
 */
export function createLiveQuery(store: QueryStore, query: Query): LiveQuery {
  const q = normalizeQuery(query);
  if (q.traverse.length > 0 || q.aggregate !== undefined) return new RerunLiveQuery(store, query, q);
  return new IncrementalLiveQuery(store, q);
}
