/**
 * The SDK's public surface on the main thread: {@link openDatabase}, {@link HearthDatabase}, typed
 * {@link CollectionHandle}s and transactions. Every call crosses to the database worker (this tab's, or the
 * leader tab's); see `docs/sdk.md`.
 * @packageDocumentation
 */
import type { Document, IndexStatus } from '@hearth/db';
import type { Query, QueryResult, Explain, IndexInfo } from '@hearth/query';
import { IoError, IoErrorCode } from '@hearth/io';
import { Connection, type ConnectionOptions } from './_client.js';
import { checkName, type LiveSpec, type SyncParams, type WorkerInfo, type WriteOp } from './protocol.js';
import { Live } from './live.js';
import { SyncHandle } from './sync.js';

/** Options of {@link openDatabase}. */
export interface OpenOptions {
  /**
   * Storage: `'auto'` (default) uses OPFS sync access handles in the worker and falls back to IndexedDB where they
   * are missing; `'opfs'` fails with `HEARTH_UNSUPPORTED` instead of falling back; `'idb'` forces IndexedDB.
   * Used by the tab that leads; every tab of an origin should pass the same value.
   */
  backend?: 'auto' | 'opfs' | 'idb';
  /**
   * Starts the database worker (default: `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`,
   * the SDK's own entry). For a custom entry that calls `startWorker` from `@hearth/sdk/host`.
   */
  worker?: () => Worker;
  /** Ask the browser to keep this origin's storage (`navigator.storage.persist()`). Default true. */
  persist?: boolean;
  /** Database limits, in bytes (see `DatabaseOptions` of `@hearth/db`). */
  database?: { maxDocumentBytes?: number; maxCommitBytes?: number };
  /**
   * Sync with a relay (`db.sync`): `relay` URL, and `space` (64 hex; default the stored one, else a new space of
   * this device). Without it, the worker resumes the settings stored by an earlier `db.sync.connect`/`join`.
   */
  sync?: SyncParams;
  /**
   * Host WebRTC peers in the leader tab (direct device-to-device sync, signalled through the relay). Default true
   * when `RTCPeerConnection` exists.
   */
  webrtc?: boolean;
}

/** What {@link HearthDatabase.info} reports. */
export interface DatabaseInfo extends WorkerInfo {
  /** This tab's client id (random per page load). */
  readonly client: string;
  /** Whether this tab's worker serves the database. */
  readonly isLeader: boolean;
  /**
   * The answer of `navigator.storage.persist()` (true: the browser will not evict this origin's storage under
   * pressure); `null` if it was not asked or is not available.
   */
  readonly persisted: boolean | null;
}

/** Fields for {@link CollectionHandle.patch}: a field set to `null` is removed, `undefined` is ignored. */
export type Patch<T> = { [K in keyof T]?: T[K] | null };

/** A query on one collection (its `collection` is the handle's). */
export type CollectionQuery = Omit<Query, 'collection'>;

/** Writes a transaction buffers (see {@link HearthDatabase.transaction}). */
export interface TransactionCollection<T extends Document> {
  put(id: string, doc: T): void;
  patch(id: string, fields: Patch<T>): void;
  delete(id: string): void;
}

/** The handle a transaction function receives. It buffers writes; it has no reads (see `transaction`). */
export interface TransactionHandle {
  put(collection: string, id: string, doc: Document): void;
  patch(collection: string, id: string, fields: Document): void;
  delete(collection: string, id: string): void;
  collection<T extends Document = Document>(name: string): TransactionCollection<T>;
}

/** Errors of argument checks happen here (TypeError); the database's own checks happen in the worker. */
function checkString(v: unknown, label: string): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`"${label}" expected a string, got ${typeof v}`);
}

/** A typed handle on one collection. Obtain with {@link HearthDatabase.collection}. */
export class CollectionHandle<T extends Document = Document> {
  constructor(
    /** The database this collection belongs to. */
    readonly database: HearthDatabase,
    /** The collection's name. */
    readonly name: string,
  ) {}

  private get db(): HearthDatabase {
    return this.database;
  }

  /**
   * Replaces (or creates) document `id`. Resolves once the write is durable in the log and applied (a read
   * afterwards, from any tab, sees it).
   * @throws (rejects with) the `Database.put` errors with their class and code: DbError `HEARTH_INVALID_KEY`,
   *   `HEARTH_UNSUPPORTED_VALUE` (also for values that cannot be sent to the worker, e.g. functions),
   *   `HEARTH_DOCUMENT_TOO_LARGE`; IoError `HEARTH_QUOTA_EXCEEDED` (nothing acknowledged before is lost),
   *   `HEARTH_CLOSED`.
   */
  put(id: string, doc: T): Promise<void> {
    return this.db._write([{ kind: 'put', collection: this.name, id, doc }]);
  }

  /** Writes some fields (JSON Merge Patch at the top level: `null` removes a field). Errors as {@link put}. */
  patch(id: string, fields: Patch<T>): Promise<void> {
    return this.db._write([{ kind: 'patch', collection: this.name, id, doc: fields as Document }]);
  }

  /** Deletes document `id`. Errors as {@link put}. */
  delete(id: string): Promise<void> {
    return this.db._write([{ kind: 'delete', collection: this.name, id }]);
  }

  /** The document, or `undefined` if it does not exist. @throws DbError `HEARTH_INVALID_KEY`. */
  get(id: string): Promise<T | undefined> {
    return this.db._call('get', [this.name, id]) as Promise<T | undefined>;
  }

  /** {@link get} for several ids, in order. */
  getMany(ids: readonly string[]): Promise<(T | undefined)[]> {
    return this.db._call('getMany', [this.name, ids]) as Promise<(T | undefined)[]>;
  }

  /**
   * `[id, document]` pairs in ascending id order (UTF-8 bytes), or descending with `reverse`; bounds by id.
   * Read at one moment in the worker.
   */
  list(options: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number } = {}): Promise<[string, T][]> {
    return this.db._call('list', [this.name, options]) as Promise<[string, T][]>;
  }

  /** Runs a query on this collection (`Database.query`, `@hearth/query`'s AST; see `docs/query.md`). */
  query(query: CollectionQuery = {}): Promise<QueryResult> {
    return this.db.query({ ...query, collection: this.name });
  }

  /** The plan and counts of a query on this collection (`Database.explain`). */
  explain(query: CollectionQuery = {}): Promise<Explain> {
    return this.db.explain({ ...query, collection: this.name });
  }

  /**
   * A live query on this collection: the result now and after every change that alters it. With `cb`, `cb` is
   * subscribed at once (call the returned `Live`'s `close()` to stop).
   */
  live(query: CollectionQuery = {}, cb?: (result: QueryResult) => void): Live<QueryResult> {
    return this.db.live({ ...query, collection: this.name }, cb);
  }

  /** A live document: its current value (`undefined` if absent), then every change. */
  watch(id: string, cb?: (doc: T | undefined) => void): Live<T | undefined> {
    checkString(id, 'id');
    const live = this.db._live<T | undefined>({ kind: 'doc', collection: this.name, id });
    if (cb) live.listen(cb);
    return live;
  }

  /**
   * A transaction on this collection only: `fn` buffers `put`/`patch`/`delete` on `tx`, committed as one log entry
   * (see {@link HearthDatabase.transaction} for the semantics; `tx` has no reads).
   */
  transaction<R>(fn: (tx: TransactionCollection<T>) => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') return Promise.reject(new TypeError('"fn" expected a function'));
    return this.db.transaction((tx) => fn(tx.collection<T>(this.name)));
  }

  /**
   * Vector search on this collection: `Database.nearest(collection, ...args)` (the vector layer's signature,
   * `docs/db.md`). @throws IoError `HEARTH_UNSUPPORTED` while the Database has no vector layer.
   */
  nearest(...args: unknown[]): Promise<unknown> {
    return this.db._call('nearest', [this.name, ...args]);
  }
}

/**
 * A database opened from a page. Every method crosses to the database worker; see `docs/sdk.md`.
 *
 * @example
 * ```ts
 * interface Note { title: string; tags: string[] }
 * const db = await openDatabase('notes');
 * const notes = db.collection<Note>('notes');
 * await notes.put('n1', { title: 'hello', tags: ['a'] });
 * const off = notes.watch('n1').subscribe((n) => console.log(n?.title));
 * await db.transaction((tx) => { tx.put('notes', 'n2', { title: 'b', tags: [] }); tx.delete('notes', 'n1'); });
 * ```
 */
export class HearthDatabase {
  /** @internal */
  constructor(
    private readonly conn: Connection,
    private readonly persisted: boolean | null,
  ) {
    this.sync = new SyncHandle(conn);
  }

  /** Sync with other devices through a relay and WebRTC (see {@link SyncHandle}). */
  readonly sync: SyncHandle;

  /** The database name. */
  get name(): string {
    return this.conn.name;
  }

  /**
   * Whether this tab's worker serves the database now (this tab won the election). The leader tab is where
   * main-thread-only duties belong (e.g. hosting WebRTC peers for sync). Synchronous, no round trip.
   */
  get isLeader(): boolean {
    return this.conn.isLeader;
  }

  /** A typed handle on a collection (no round trip; the name is checked by the worker on use). */
  collection<T extends Document = Document>(name: string): CollectionHandle<T> {
    checkString(name, 'name');
    return new CollectionHandle<T>(this, name);
  }

  /**
   * Runs `fn`, buffering the writes it makes through `tx` on this thread, then sends them as **one** request that
   * the worker commits as one log entry: all or nothing. If `fn` throws, nothing is sent and the error is
   * rethrown. Resolves with `fn`'s result once the entry is durable.
   *
   * Why `tx` has no reads: a read inside would need a round trip to the worker per call, and the commit does not
   * check what was read (writes merge last-writer-wins per field), so a read-modify-write inside a transaction
   * would promise an isolation it does not have. Read before the transaction; the transaction's writes are
   * atomic (one entry) and ordered after every write this tab made before it.
   *
   * Documents are copied (structured clone) when `tx.put`/`tx.patch` is called: later changes to the object do
   * not reach the transaction.
   * @throws the errors of {@link CollectionHandle.put}; LogError `HEARTH_ENTRY_TOO_LARGE` past one entry (16 MiB).
   */
  async transaction<R>(fn: (tx: TransactionHandle) => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw new TypeError('"fn" expected a function');
    const ops: WriteOp[] = [];
    let open = true;
    const check = (): void => {
      if (!open) throw new TypeError('transaction used after its function returned');
    };
    const copy = (doc: Document): Document => {
      try {
        return structuredClone(doc);
      } catch {
        return doc; // the worker call reports HEARTH_UNSUPPORTED_VALUE for it (see Connection)
      }
    };
    const tx: TransactionHandle = {
      put: (collection, id, doc) => {
        check();
        ops.push({ kind: 'put', collection, id, doc: copy(doc) });
      },
      patch: (collection, id, fields) => {
        check();
        ops.push({ kind: 'patch', collection, id, doc: copy(fields) });
      },
      delete: (collection, id) => {
        check();
        ops.push({ kind: 'delete', collection, id });
      },
      collection: <T extends Document>(name: string): TransactionCollection<T> => ({
        put: (id, doc) => tx.put(name, id, doc),
        patch: (id, fields) => tx.patch(name, id, fields as Document),
        delete: (id) => tx.delete(name, id),
      }),
    };
    let result: R;
    try {
      result = await fn(tx);
    } finally {
      open = false;
    }
    if (ops.length > 0) await this._write(ops, true);
    return result;
  }

  /** Runs a query (`Database.query`). @throws QueryError `HEARTH_INVALID_QUERY`...; IoError `HEARTH_UNSUPPORTED` without a query layer. */
  query(query: Query): Promise<QueryResult> {
    return this._call('query', [query]) as Promise<QueryResult>;
  }

  /** The plan and counts of a query (`Database.explain`). */
  explain(query: Query): Promise<Explain> {
    return this._call('explain', [query]) as Promise<Explain>;
  }

  /**
   * Declares a secondary index on `fields` of `collection` in the worker's database (`Database.createIndex`;
   * `docs/db.md`, "Queries and indexes"): built online, used by the planner once the promise resolves. Local to this
   * device (not synced); an equal definition returns the existing index.
   * @param fields paths, e.g. `[['section'], ['size']]` or `['tags']` with `{ multiEntry: true }`.
   * @throws QueryError `HEARTH_INVALID_QUERY` (bad fields, name in use); DbError `HEARTH_INVALID_KEY`.
   */
  createIndex(collection: string, fields: readonly (string | readonly string[])[], options: { multiEntry?: boolean; name?: string } = {}): Promise<IndexInfo> {
    return this._call('createIndex', [collection, fields, options]) as Promise<IndexInfo>;
  }

  /** Drops a secondary index by id or name (`Database.dropIndex`). @throws QueryError `HEARTH_INVALID_QUERY` if none. */
  dropIndex(idOrName: string): Promise<void> {
    return this._call('dropIndex', [idOrName]) as Promise<void>;
  }

  /**
   * The secondary indexes, declared and adaptive (`Database.indexes`): each with its fields, origin (`user` or
   * `adaptive`), why and when it was made, state and use counts.
   */
  indexes(collection?: string): Promise<IndexStatus[]> {
    return this._call('indexes', collection === undefined ? [] : [collection]) as Promise<IndexStatus[]>;
  }

  /** A live query (see {@link CollectionHandle.live}). */
  live(query: Query, cb?: (result: QueryResult) => void): Live<QueryResult> {
    const live = this._live<QueryResult>({ kind: 'query', query });
    if (cb) live.listen(cb);
    return live;
  }

  /** `Database.nearest(...args)` (vector search). */
  nearest(...args: unknown[]): Promise<unknown> {
    return this._call('nearest', args);
  }

  /** `Database.explainNearest(...args)`: vector search and its plan (flat or HNSW, strategy). */
  explainNearest(...args: unknown[]): Promise<unknown> {
    return this._call('explainNearest', args);
  }

  /**
   * `Database.createVectorIndex(collection, field, options)`: declares a vector index in the worker's database
   * (local to this device, idempotent; `docs/vector.md`, "Using vectors in a Database").
   */
  createVectorIndex(...args: unknown[]): Promise<unknown> {
    return this._call('createVectorIndex', args);
  }

  /** `Database.dropVectorIndex(collection, field)`. */
  dropVectorIndex(...args: unknown[]): Promise<unknown> {
    return this._call('dropVectorIndex', args);
  }

  /** `Database.vectorIndexes()`: each vector index with its size and skipped documents. */
  vectorIndexes(): Promise<unknown> {
    return this._call('vectorIndexes', []);
  }

  /** Counters of the database (`Database.stats()`). */
  stats(): Promise<Record<string, number>> {
    return this._call('stats', []) as Promise<Record<string, number>>;
  }

  /** Where the database lives (`backend`: OPFS or IndexedDB), who leads, and this tab's view. */
  async info(): Promise<DatabaseInfo> {
    const w = await this.conn.workerInfo();
    return { ...w, client: this.conn.clientId, isLeader: this.conn.isLeader, persisted: this.persisted };
  }

  /**
   * Waits for this tab's calls in flight, then leaves: live values stop; if this tab leads, its worker closes the
   * database and the next tab in line takes over. Idempotent. Later calls reject with `HEARTH_CLOSED`.
   */
  close(): Promise<void> {
    return this.conn.close();
  }

  /** @internal */
  _write(ops: WriteOp[], tx = false): Promise<void> {
    for (const op of ops) {
      checkString(op.collection, 'collection');
      checkString(op.id, 'id');
    }
    void tx;
    return this.conn.request({ t: 'write', ops }) as Promise<void>;
  }

  /** @internal */
  _call(method: string, args: unknown[]): Promise<unknown> {
    return this.conn.request({ t: 'call', method, args });
  }

  /** @internal */
  _live<T>(spec: LiveSpec): Live<T> {
    return new Live<T>((deliver) => this.conn.subscribe(spec, deliver as (ok: boolean, v: unknown, e?: Error) => void));
  }
}

/**
 * Opens database `name` from a page: asks for persistent storage, joins the tabs' leader election (Web Locks),
 * and resolves once a database worker serves it: this tab's own (started with
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })` when this tab is elected), or the
 * leader tab's, reached over a BroadcastChannel.
 *
 * @param name 1 to 64 of `[A-Za-z0-9._-]` (it names Web Locks, a BroadcastChannel and the storage).
 * @throws TypeError / RangeError for a bad name or options; the errors of `Database.open` when this tab leads
 *   (e.g. CorruptionError `HEARTH_CORRUPTION`), with their class and code; SdkError `HEARTH_WORKER_FAILED` when
 *   the worker script fails to load; IoError `HEARTH_UNSUPPORTED` without Web Locks or BroadcastChannel.
 */
export async function openDatabase(name: string, options: OpenOptions = {}): Promise<HearthDatabase> {
  checkName(name);
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'opfs' && backend !== 'idb') throw new RangeError(`"backend" expected 'auto' | 'opfs' | 'idb', got ${String(backend)}`);
  if (options.worker !== undefined && typeof options.worker !== 'function') throw new TypeError('"worker" expected a function returning a Worker');
  const g = globalThis as { navigator?: Navigator; BroadcastChannel?: unknown };
  if (g.navigator?.locks === undefined || typeof g.BroadcastChannel !== 'function') {
    throw new IoError(IoErrorCode.UNSUPPORTED, 'the Hearth SDK needs Web Locks and BroadcastChannel (a current browser, in a secure context)');
  }
  let persisted: boolean | null = null;
  if (options.persist !== false && typeof g.navigator.storage?.persist === 'function') {
    persisted = await g.navigator.storage.persist().catch(() => null);
  }
  if (options.sync !== undefined && (typeof options.sync !== 'object' || options.sync === null)) throw new TypeError('"sync" expected an object');
  const connOptions: ConnectionOptions = { backend, worker: options.worker, database: options.database, sync: options.sync, webrtc: options.webrtc };
  const conn = new Connection(name, connOptions);
  try {
    await conn.start();
  } catch (e) {
    await conn.close().catch(() => undefined);
    throw e;
  }
  return new HearthDatabase(conn, persisted);
}
