/**
 * Live queries of the Database: `@hearth/query`'s `createLiveQuery` fed each applied entry's changes (local
 * commits and ingested entries alike). Internal. Guide: `docs/db.md` ("Live queries").
 *
 * Invariants:
 * 1. Each subscription's callback first receives the result at subscription time (diff null), then, for every
 *    applied entry that changes the result, the new result and the diff from the previous one, in entry order.
 *    Applying the diffs in order to the first result gives the current result (`applyDiff`).
 * 2. The engine reads the store only to refill a shortened window or to re-run a traversal/aggregate; the store
 *    is a snapshot taken on first use inside the commit listener, i.e. the state right after the entry's batch.
 * @packageDocumentation
 */
import { createLiveQuery, type Change, type Diff, type LiveQuery, type Query, type QueryResult, type QueryStore } from '@hearth/query';

/** One update of a live query: the new result and the diff from the previous one (null for the first). */
export interface LiveUpdate {
  readonly result: QueryResult;
  readonly diff: Diff | null;
}

/** The handle `Database.live` returns. */
export interface LiveHandle {
  /** The current result. */
  readonly result: QueryResult;
  /** Whether the engine maintains it incrementally (`false`: traversal/aggregate, re-run on relevant changes). */
  readonly incremental: boolean;
  /** Stops the subscription. Idempotent. */
  unsubscribe(): void;
}

/** What the live-query registry needs from the Database. */
export interface LiveHost {
  /** A fresh read view (QueryStore) at the latest state; released with `release`. */
  view(): QueryStore & { release(): void };
  onCommit(listener: (ev: { changes: readonly Change[] }) => void): () => void;
}

interface Sub {
  lq: LiveQuery;
  cb: (result: QueryResult, diff: Diff | null) => void;
  active: boolean;
}

function report(e: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === 'function') g.reportError(e);
  else
    queueMicrotask(() => {
      throw e;
    });
}

/** The registry of live queries of one Database. */
export class LiveQueries {
  private readonly subs = new Set<Sub>();
  private off: (() => void) | null = null;

  constructor(private readonly host: LiveHost) {}

  /** Number of open subscriptions. */
  get size(): number {
    return this.subs.size;
  }

  /** See `Database.live`. */
  add(query: Query, cb: (result: QueryResult, diff: Diff | null) => void): LiveHandle {
    if (typeof cb !== 'function') throw new TypeError('"callback" expected a function');
    const v = this.host.view();
    let lq: LiveQuery;
    try {
      lq = createLiveQuery(v, query);
    } finally {
      v.release();
    }
    const sub: Sub = { lq, cb, active: true };
    this.subs.add(sub);
    this.off ??= this.host.onCommit((ev) => this.onCommit(ev.changes));
    try {
      cb(lq.result, null);
    } catch (e) {
      report(e);
    }
    return {
      get result() {
        return lq.result;
      },
      incremental: lq.incremental,
      unsubscribe: () => {
        if (!sub.active) return;
        sub.active = false;
        this.subs.delete(sub);
        if (this.subs.size === 0 && this.off !== null) {
          this.off();
          this.off = null;
        }
      },
    };
  }

  /** See `Database.liveIterator`. */
  iterator(query: Query): AsyncIterableIterator<LiveUpdate> {
    const queue: LiveUpdate[] = [];
    let wake: ((r: IteratorResult<LiveUpdate>) => void) | null = null;
    let done = false;
    const handle = this.add(query, (result, diff) => {
      const u = { result, diff };
      if (wake !== null) {
        const w = wake;
        wake = null;
        w({ value: u, done: false });
      } else queue.push(u);
    });
    const finish = (): IteratorResult<LiveUpdate> => {
      done = true;
      handle.unsubscribe();
      queue.length = 0;
      if (wake !== null) {
        const w = wake;
        wake = null;
        w({ value: undefined, done: true });
      }
      return { value: undefined, done: true };
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => (wake = r));
      },
      return: () => Promise.resolve(finish()),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Stops every subscription (database close). */
  close(): void {
    for (const s of this.subs) s.active = false;
    this.subs.clear();
    this.off?.();
    this.off = null;
  }

  private onCommit(changes: readonly Change[]): void {
    if (changes.length === 0) return;
    let view: (QueryStore & { release(): void }) | null = null;
    const lazy: QueryStore = {
      getDoc: (c, id) => (view ??= this.host.view()).getDoc(c, id),
      scan: (c) => (view ??= this.host.view()).scan(c),
      indexes: (c) => (view ??= this.host.view()).indexes(c),
      scanIndex: (id, r) => (view ??= this.host.view()).scanIndex(id, r),
      countDocs: (c) => (view ??= this.host.view()).countDocs?.(c) ?? 0,
      estimateRange: (id, r) => (view ??= this.host.view()).estimateRange?.(id, r) ?? 0,
    };
    try {
      for (const s of [...this.subs]) {
        if (!s.active) continue;
        let diff: Diff | null;
        try {
          diff = s.lq.apply(changes, lazy);
        } catch (e) {
          report(e);
          continue;
        }
        if (diff === null) continue;
        try {
          s.cb(s.lq.result, diff);
        } catch (e) {
          report(e);
        }
      }
    } finally {
      (view as (QueryStore & { release(): void }) | null)?.release();
    }
  }
}
