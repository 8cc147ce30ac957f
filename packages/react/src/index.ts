/**
 * `@hearth/react`: React hooks over `@hearth/sdk`, built on `useSyncExternalStore` (so they are safe with
 * concurrent rendering: every render of one commit sees one snapshot).
 *
 * - {@link useLiveQuery}: a query's result, kept current as the database changes (any tab's writes).
 * - {@link useQuery}: a query's result, run once per distinct query (re-run when the query changes).
 * - {@link useDocument}: one document, kept current.
 * - {@link useLive}: any `Live` value of the SDK.
 *
 * Each returns a {@link QueryState}: `{ data, error, loading }`, a stable object between changes.
 * Queries are compared by value (a stable JSON form), so an inline object literal does not restart anything.
 * The stores behind the hooks ({@link createLiveStore}, {@link createQueryStore}) are exported for other
 * frameworks and for tests.
 * @packageDocumentation
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { CollectionHandle, CollectionQuery, HearthDatabase, Live } from '@hearth/sdk';
import type { Query, QueryResult } from '@hearth/query';
import type { Document } from '@hearth/db';

/** What the hooks return. Stable (the same object) until something changes. */
export interface QueryState<T> {
  /** The latest value; `undefined` until the first one. */
  readonly data: T | undefined;
  /** The last error (the query was refused, the database closed...); `undefined` after a value. */
  readonly error: Error | undefined;
  /** True until the first value or error. */
  readonly loading: boolean;
}

/** A store in the `useSyncExternalStore` shape. */
export interface ExternalStore<S> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): S;
}

const LOADING: QueryState<never> = Object.freeze({ data: undefined, error: undefined, loading: true });

/**
 * A store over an SDK `Live` value: the live subscription runs while someone subscribes to the store.
 */
export function createLiveStore<T>(live: Live<T>): ExternalStore<QueryState<T>> {
  let state: QueryState<T> = LOADING;
  return {
    subscribe(onChange) {
      const off = live.listen(
        (v) => {
          state = { data: v, error: undefined, loading: false };
          onChange();
        },
        (e) => {
          state = { data: state.data, error: e, loading: false };
          onChange();
        },
      );
      return off;
    },
    getSnapshot: () => state,
  };
}

/** A store over a one-shot async read, started on the first subscription (and only once). */
export function createQueryStore<T>(run: () => Promise<T>): ExternalStore<QueryState<T>> {
  let state: QueryState<T> = LOADING;
  let started = false;
  const listeners = new Set<() => void>();
  const set = (s: QueryState<T>): void => {
    state = s;
    for (const l of [...listeners]) l();
  };
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      if (!started) {
        started = true;
        run().then(
          (data) => set({ data, error: undefined, loading: false }),
          (error: unknown) => set({ data: undefined, error: error instanceof Error ? error : new Error(String(error)), loading: false }),
        );
      }
      return () => listeners.delete(onChange);
    },
    getSnapshot: () => state,
  };
}

/** A stable key for a query value (object keys sorted; typed arrays by content). */
export function queryKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v)) return { $typed: v.constructor.name, data: Array.from(v as unknown as ArrayLike<number>) };
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) o[k] = (v as Record<string, unknown>)[k];
      return o;
    }
    return v;
  });
}

/** Identity keys of sources (a database or a collection handle), so a new handle object of the same thing matches. */
const sourceIds = new WeakMap<object, number>();
let nextSourceId = 1;
function sourceKey(source: object | null | undefined): string {
  if (source === null || source === undefined) return 'none';
  // A collection handle is keyed by its database and name: `db.collection('x')` in render makes a new handle
  // each time, which must not restart the subscription.
  const db = (source as { database?: unknown }).database;
  const owner = typeof db === 'object' && db !== null ? db : source;
  let id = sourceIds.get(owner);
  if (id === undefined) sourceIds.set(owner, (id = nextSourceId++));
  return owner === source ? `db${id}` : `db${id}/${JSON.stringify((source as { name: string }).name)}`;
}

type QuerySource = HearthDatabase | CollectionHandle<Document>;

function isCollection(s: QuerySource): s is CollectionHandle<Document> {
  return typeof (s as CollectionHandle<Document>).watch === 'function';
}

const NONE: ExternalStore<QueryState<never>> = { subscribe: () => () => undefined, getSnapshot: () => LOADING };

/** Subscribes a component to any SDK `Live` value (pass a value created once, e.g. with `useMemo`). */
export function useLive<T>(live: Live<T> | null | undefined): QueryState<T> {
  const store = useMemo(() => (live ? createLiveStore(live) : (NONE as ExternalStore<QueryState<T>>)), [live]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/**
 * A live query: the result now, then after every change that alters it (from any tab). On a collection handle the
 * query's `collection` is the handle's. `null` source: nothing runs (`loading` stays true).
 * @example
 * ```tsx
 * const { data } = useLiveQuery(db.collection<Note>('notes'), { where: { op: 'eq', path: 'done', value: false } });
 * return <ul>{data?.rows.map((r) => <li key={r.id}>{String(r.doc.title)}</li>)}</ul>;
 * ```
 */
export function useLiveQuery(source: QuerySource | null | undefined, query: Query | CollectionQuery = {}): QueryState<QueryResult> {
  const key = sourceKey(source) + '|' + queryKey(query);
  const store = useMemo(() => {
    if (!source) return NONE as ExternalStore<QueryState<QueryResult>>;
    const live = isCollection(source) ? source.live(query as CollectionQuery) : source.live(query as Query);
    return createLiveStore(live);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` captures source and query by value
  }, [key]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** A query run once per distinct (source, query); re-run when either changes. Same shapes as {@link useLiveQuery}. */
export function useQuery(source: QuerySource | null | undefined, query: Query | CollectionQuery = {}): QueryState<QueryResult> {
  const key = sourceKey(source) + '|' + queryKey(query);
  const store = useMemo(() => {
    if (!source) return NONE as ExternalStore<QueryState<QueryResult>>;
    return createQueryStore(() => (isCollection(source) ? source.query(query as CollectionQuery) : source.query(query as Query)));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` captures source and query by value
  }, [key]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** One document, kept current (`data` is `undefined` while it does not exist; check `loading`). */
export function useDocument<T extends Document>(collection: CollectionHandle<T> | null | undefined, id: string): QueryState<T | undefined> {
  const key = sourceKey(collection) + '|' + id;
  const store = useMemo(() => {
    if (!collection) return NONE as ExternalStore<QueryState<T | undefined>>;
    return createLiveStore(collection.watch(id));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` captures collection and id
  }, [key]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
