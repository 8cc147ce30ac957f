/**
 * `IdbFileSystem`: the {@link FileSystem} over IndexedDB, through the `idb` library. The **fallback** backend for
 * browsers where OPFS sync access handles are missing (older Safari, some private-browsing modes); prefer
 * `OpfsFileSystem` wherever `OpfsFileSystem.isAvailable()` is true. Works wherever IndexedDB exists: dedicated
 * and shared workers and the main thread (tested in a dedicated worker and on the main thread).
 *
 * ## Storage layout (IndexedDB database `dbName`, schema version {@link IDB_SCHEMA_VERSION})
 * | object store | key | value |
 * | --- | --- | --- |
 * | `format` | `"format"` | `{ magic: "hearth-idb-fs", version: 1, chunkSize, nextId }` ({@link IdbFormatRecord}) |
 * | `entries` | path (string, as given to the API) | `{ kind: "dir", parent }` or `{ kind: "file", parent, id, size }` |
 * | `chunks` | `[id, index]` (two numbers) | `Uint8Array`: bytes `index * chunkSize ...` of file `id` |
 *
 * `entries` has an index `parent` on the `parent` field (the path of the containing directory, `""` for the root;
 * the root itself has no record). A file's bytes live under its numeric **file id** (an inode number from
 * `format.nextId`), not under its path, so `rename` rewrites one `entries` record instead of copying every chunk.
 * Chunk `i` holds at most `min(chunkSize, size - i * chunkSize)` bytes; bytes of the file that no chunk covers
 * (a missing chunk, or a chunk shorter than its span) read as zeros, so gaps are stored sparsely. `chunkSize`
 * (default {@link IDB_DEFAULT_CHUNK_SIZE} = 64 KiB) is fixed when the database is created and read back from the
 * `format` record on every open.
 *
 * ## Memory cost
 * Byte operations are synchronous but IndexedDB is asynchronous, so {@link IdbFileSystem.open} loads **the whole
 * file** into memory and the handle serves `read`/`write`/`size`/`truncate` from there: an open file costs
 * `chunkSize` bytes of memory per stored chunk (about its size, rounded up to chunks), until `close()`. Keep the
 * number and size of open files bounded (an LSM's open SSTables count in full). A flush (`sync()`/`close()`) also
 * holds a copy of the chunks it stores until its transaction commits. This is why this backend is a fallback and
 * not the default.
 *
 * ## Durability (what a crash can lose)
 * - Writes and truncates change only the handle's memory and mark chunks dirty. **Nothing reaches IndexedDB until
 *   `sync()` or `close()`**: a crash (tab killed, worker terminated, browser or OS crash) before then loses every
 *   write and truncate made since the handle's last successful `sync()`, all of them, never a part.
 * - `sync()` writes the dirty chunks, deletes chunks past a shrunk end and stores the new size in **one**
 *   readwrite transaction with `durability: 'strict'`, and resolves when it has committed. IndexedDB transactions
 *   are atomic, so after a crash the file holds exactly the content of one successful `sync()` (the last one that
 *   committed), never a mix of two.
 * - `close()` writes the dirty chunks the same way, but with `durability: 'relaxed'` (visible to every later open,
 *   possibly lost by an OS crash or power loss, as the interface allows for unsynced writes).
 * - `open` with `create`/`truncate`, `mkdir`, `rename` and `remove` are each one `'strict'` transaction: atomic, and
 *   durable when the call resolves. `remove` with `recursive` removes the whole tree in one transaction.
 * - `durability` is a hint: browsers without it (older Safari) commit with their default. Chromium's default is
 *   `'relaxed'`, which is why the hint is given explicitly.
 *
 * ## Exclusivity
 * IndexedDB has no file locks. This class models the OPFS rule that a file has one open handle at a time with a
 * registry per JavaScript realm (worker or page) and per database name: a second `open` of an open file, and
 * `rename` or `remove` of an open file, throw `HEARTH_LOCKED`, also across two `IdbFileSystem` instances over the
 * same database in one realm. The registry cannot see other tabs or workers: keeping one writer per database
 * across contexts is the SDK's job (leader election with Web Locks, one worker owns a database). Without it, two
 * contexts syncing the same file would interleave at chunk granularity (each sync is atomic, but it stores only
 * its own dirty chunks). A `sync()` that finds its file removed or replaced by another context fails with
 * `HEARTH_NOT_FOUND` instead of resurrecting it.
 *
 * ## Errors
 * A `QuotaExceededError` from IndexedDB is `HEARTH_QUOTA_EXCEEDED`. With this backend it surfaces where data lands:
 * `sync()`, `close()` and the namespace calls, never `write` (which only touches memory). A failed `sync()` keeps
 * the handle's content and dirty marks, so freeing space and calling `sync()` again succeeds; what was synced
 * before is intact. A stored record that breaks the layout above is `HEARTH_CORRUPTION`; a database from a newer
 * schema version, or IndexedDB being unavailable or denied, is `HEARTH_UNSUPPORTED`; after
 * {@link IdbFileSystem.close} (or when another context deletes or upgrades the database, which closes this
 * connection) calls throw `HEARTH_CLOSED`; anything else is `HEARTH_IO` with the browser's error as `cause`.
 *
 * Invariants:
 * 1. `entries` holds every file and directory except the root; the `parent` of every record is `""` or the path of
 *    a `dir` record; a path is never both a file and a directory (it is one key).
 * 2. File ids are unique within a database and never reused (`format.nextId` only grows); chunks exist only for
 *    ids of `file` records, and only at indexes below `ceil(size / chunkSize)`, each at most as long as the part
 *    of the file it covers.
 * 3. In a handle, for every allocated chunk `chunks[i]` (always `chunkSize` bytes), the bytes at file positions
 *    `>= length` are zero; an unallocated chunk below `ceil(length / chunkSize)` reads as zeros and is not stored
 *    in IndexedDB unless its index is `>= lowCount`.
 * 4. In a handle, every chunk that differs from its stored version is in `dirty` or at an index `>= lowCount`
 *    (`lowCount` = the fewest chunks the file had since the last flush snapshot); the stored chunks all have
 *    indexes `< syncedCount`. Flushes of one handle run one at a time (`chain`).
 * 5. A path is in `openFiles.get(dbName)` exactly while a handle on it (or an `open` of it) exists in this realm.
 *
 * @packageDocumentation
 */
import { deleteDB, openDB } from 'idb';
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { FileHandle, FileSystem, FileSystemSupports, OpenOptions } from './types.js';
import { CorruptionError, HearthError, IoError, IoErrorCode } from './errors.js';
import { checkBytes, checkOffset, checkPath, closedError, isDirError, notFound, parentOf } from './_path.js';

/** IndexedDB schema version of a Hearth file-system database. Do not change: existing databases use it. */
export const IDB_SCHEMA_VERSION = 1;

/** `format.magic`: marks a database as a Hearth file system. Do not change. */
export const IDB_FORMAT_MAGIC = 'hearth-idb-fs';

/** Chunk size, in bytes, of a database created without `chunkSize` (64 KiB). */
export const IDB_DEFAULT_CHUNK_SIZE = 1 << 16;

/** Smallest and largest allowed `chunkSize`, in bytes (powers of two). */
const MIN_CHUNK = 4;
const MAX_CHUNK = 1 << 24;

const FORMAT_KEY = 'format';

/** The single record of the `format` store. */
export interface IdbFormatRecord {
  magic: typeof IDB_FORMAT_MAGIC;
  /** Layout version of the records; 1. */
  version: 1;
  /** Bytes per chunk, a power of two fixed at creation. */
  chunkSize: number;
  /** The id the next created file gets. */
  nextId: number;
}

interface DirRecord {
  kind: 'dir';
  parent: string;
}
interface FileRecord {
  kind: 'file';
  parent: string;
  /** The file id (chunk key prefix). */
  id: number;
  /** Size in bytes as of the last flush. */
  size: number;
}
type EntryRecord = DirRecord | FileRecord;

interface Schema extends DBSchema {
  format: { key: string; value: IdbFormatRecord };
  entries: { key: string; value: EntryRecord; indexes: { parent: string } };
  chunks: { key: [number, number]; value: Uint8Array };
}

type Db = IDBPDatabase<Schema>;
type AllStores = StoreNames<Schema>;
type Tx<Mode extends IDBTransactionMode> = IDBPTransaction<Schema, AllStores[], Mode>;

const ALL_STORES: AllStores[] = ['format', 'entries', 'chunks'];

/** Options for {@link IdbFileSystem.open}. */
export interface IdbOptions {
  /**
   * Bytes per chunk for a **new** database (a power of two from 4 to 16 MiB; default 64 KiB). Ignored for an
   * existing database, which keeps the size it was created with. Small sizes are for tests.
   */
  chunkSize?: number;
}

/** Paths with an open handle (or an open in progress), per database name, in this realm (invariant 5). */
const openFiles = new Map<string, Set<string>>();

function heldIn(dbName: string): Set<string> {
  let s = openFiles.get(dbName);
  if (!s) {
    s = new Set();
    openFiles.set(dbName, s);
  }
  return s;
}

function release(dbName: string, path: string): void {
  const s = openFiles.get(dbName);
  if (!s) return;
  s.delete(path);
  if (s.size === 0) openFiles.delete(dbName);
}

function lockedError(path: string, what: string): IoError {
  return new IoError(
    IoErrorCode.LOCKED,
    `${what}: the file is open (the IndexedDB backend allows one handle per file in a realm; close it first)`,
    { path },
  );
}

function errName(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string'
    ? (e as { name: string }).name
    : '';
}

/** Maps an IndexedDB failure to an {@link IoError}; Hearth errors and programmer errors pass through. */
function mapError(e: unknown, path: string, op: string): Error {
  if (e instanceof HearthError || e instanceof RangeError || e instanceof TypeError) return e;
  const name = errName(e);
  const detail = `IndexedDB ${op} failed${name ? ` (${name})` : ''}`;
  switch (name) {
    case 'QuotaExceededError':
      return new IoError(IoErrorCode.QUOTA_EXCEEDED, `storage quota exceeded: ${detail}`, { path, cause: e });
    case 'VersionError':
      return new IoError(IoErrorCode.UNSUPPORTED, `the database has a newer schema version than this Hearth: ${detail}`, {
        path,
        cause: e,
      });
    case 'SecurityError':
      return new IoError(IoErrorCode.UNSUPPORTED, `IndexedDB access denied: ${detail}`, { path, cause: e });
    default:
      return new IoError(IoErrorCode.IO, detail, { path, cause: e });
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** The key range of every chunk of file `id` from index `from` on. */
function chunkRange(id: number, from = 0): IDBKeyRange {
  return IDBKeyRange.bound([id, from], [id, Infinity]);
}

/** Every key strictly under directory `dir`: strings starting `dir + "/"` (`"0"` follows `"/"`). */
function descendantRange(dir: string): IDBKeyRange {
  return IDBKeyRange.bound(dir + '/', dir + '0', false, true);
}

function checkFileRecord(rec: FileRecord, path: string): void {
  if (!Number.isSafeInteger(rec.id) || rec.id < 0 || !Number.isSafeInteger(rec.size) || rec.size < 0) {
    throw new CorruptionError(`IndexedDB file record has an invalid id or size (${String(rec.id)}, ${String(rec.size)})`, {
      path,
    });
  }
}

/**
 * Checks the shape of an `entries` record read at `path` (`undefined`: no record).
 * @throws CorruptionError for a record that is not a valid `dir` or `file` record.
 */
function checkEntry(rec: unknown, path: string): EntryRecord | undefined {
  if (rec === undefined) return undefined;
  const kind = typeof rec === 'object' && rec !== null ? (rec as { kind?: unknown }).kind : undefined;
  if (kind === 'dir') return rec as DirRecord;
  if (kind === 'file') {
    checkFileRecord(rec as FileRecord, path);
    return rec as FileRecord;
  }
  throw new CorruptionError('IndexedDB entry record is neither a file nor a directory', { path });
}

/** Reads and checks the `entries` record at `path`. Awaits only the IndexedDB request. */
async function getEntry(store: { get(key: string): Promise<EntryRecord | undefined> }, path: string): Promise<EntryRecord | undefined> {
  return checkEntry(await store.get(path), path);
}

/** What a handle needs from its file system. */
interface Owner {
  readonly dbName: string;
  readonly chunkSize: number;
  /** Runs `fn` in one transaction over every store; see {@link IdbFileSystem}'s `txn`. */
  txn<T>(mode: 'readwrite', durability: IDBTransactionDurability, path: string, op: string, fn: (tx: Tx<'readwrite'>) => Promise<T>): Promise<T>;
  forget(handle: IdbHandle): void;
}

class IdbHandle implements FileHandle {
  private closed = false;
  /** Size in bytes, including unsynced writes. */
  private length: number;
  /** Allocated chunks, each `chunkSize` bytes; a hole reads as zeros (invariant 3). */
  private chunks: (Uint8Array | undefined)[];
  private readonly dirty = new Set<number>();
  /** Stored chunks all have indexes below this (invariant 4). */
  private syncedCount: number;
  /** Size as of the last successful flush. */
  private syncedSize: number;
  /** The fewest chunks the file had since the last flush snapshot (invariant 4). */
  private lowCount: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly owner: Owner,
    private readonly id: number,
    size: number,
    chunks: (Uint8Array | undefined)[],
  ) {
    this.length = size;
    this.chunks = chunks;
    this.syncedSize = size;
    this.syncedCount = Math.ceil(size / owner.chunkSize);
    this.lowCount = this.syncedCount;
  }

  private check(): void {
    if (this.closed) throw closedError(this.path);
  }

  read(offset: number, length: number): Uint8Array {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    this.check();
    const end = Math.min(this.length, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const cs = this.owner.chunkSize;
    const out = new Uint8Array(end - offset);
    let pos = offset;
    while (pos < end) {
      const i = Math.floor(pos / cs);
      const o = pos - i * cs;
      const n = Math.min(cs - o, end - pos);
      const c = this.chunks[i];
      if (c !== undefined) out.set(c.subarray(o, o + n), pos - offset);
      pos += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    checkOffset(offset, 'offset');
    checkBytes(data);
    this.check();
    this.writeAt(offset, data);
  }

  private writeAt(offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const end = offset + data.length;
    if (!Number.isSafeInteger(end)) throw new RangeError(`"offset" + data length exceeds 2^53 - 1: ${offset} + ${data.length}`);
    const cs = this.owner.chunkSize;
    let pos = offset;
    while (pos < end) {
      const i = Math.floor(pos / cs);
      const o = pos - i * cs;
      const n = Math.min(cs - o, end - pos);
      let c = this.chunks[i];
      if (c === undefined) {
        c = new Uint8Array(cs);
        this.chunks[i] = c;
      }
      c.set(data.subarray(pos - offset, pos - offset + n), o);
      this.dirty.add(i);
      pos += n;
    }
    if (end > this.length) this.length = end;
  }

  append(data: Uint8Array): number {
    checkBytes(data);
    this.check();
    const at = this.length;
    this.writeAt(at, data);
    return at;
  }

  size(): number {
    this.check();
    return this.length;
  }

  truncate(size: number): void {
    checkOffset(size, 'size');
    this.check();
    if (size < this.length) {
      const cs = this.owner.chunkSize;
      const keep = Math.ceil(size / cs);
      if (this.chunks.length > keep) this.chunks.length = keep;
      const tail = size - (keep - 1) * cs;
      const last = keep > 0 ? this.chunks[keep - 1] : undefined;
      if (last !== undefined && tail < cs) {
        last.fill(0, tail); // invariant 3: stale bytes must not reappear when the file grows again
        this.dirty.add(keep - 1);
      }
      for (const i of this.dirty) if (i >= keep) this.dirty.delete(i);
      if (keep < this.lowCount) this.lowCount = keep;
    }
    this.length = size;
  }

  /**
   * Writes the dirty chunks and the size in one `'strict'` transaction and resolves once it has committed; after
   * that a crash leaves exactly this content (see the module documentation).
   * @throws IoError `HEARTH_QUOTA_EXCEEDED` (nothing of this sync is stored; the handle keeps its content, so a
   *   later `sync()` can retry); `HEARTH_NOT_FOUND` if another context removed or replaced the file;
   *   `HEARTH_CLOSED`; `HEARTH_IO`.
   */
  async sync(): Promise<void> {
    this.check();
    const run = this.chain.then(() => this.flush('strict'));
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * Writes unsynced changes with `'relaxed'` durability, then releases the file. The handle is closed and the file
   * released even when that write fails (the error is thrown; the unsynced changes are lost). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.chain.then(() => this.flush('relaxed'));
    } finally {
      this.chunks = [];
      this.dirty.clear();
      release(this.owner.dbName, this.path);
      this.owner.forget(this);
    }
  }

  /** Drops the handle without writing anything (its file system closed). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.dirty.clear();
    release(this.owner.dbName, this.path);
  }

  /** One flush: snapshot the changes synchronously, store them in one transaction (invariant 4). */
  private async flush(durability: IDBTransactionDurability): Promise<void> {
    const cs = this.owner.chunkSize;
    const size = this.length;
    const count = Math.ceil(size / cs);
    const low = Math.min(this.lowCount, count);
    const deleteFrom = low < this.syncedCount ? low : -1;
    if (this.dirty.size === 0 && size === this.syncedSize && deleteFrom < 0) return;
    const taken = [...this.dirty];
    const puts: [number, Uint8Array | undefined][] = [];
    for (const i of taken) {
      if (i >= count) continue;
      const c = this.chunks[i];
      puts.push([i, c === undefined ? undefined : c.slice(0, Math.min(cs, size - i * cs))]);
    }
    this.dirty.clear();
    this.lowCount = count;
    try {
      await this.owner.txn('readwrite', durability, this.path, 'sync', async (tx) => {
        const entries = tx.objectStore('entries');
        const rec = await getEntry(entries, this.path);
        if (rec === undefined || rec.kind !== 'file' || rec.id !== this.id) {
          throw new IoError(IoErrorCode.NOT_FOUND, 'the file was removed or replaced by another context while open', {
            path: this.path,
          });
        }
        const chunks = tx.objectStore('chunks');
        const pending: Promise<unknown>[] = [];
        if (deleteFrom >= 0) pending.push(chunks.delete(chunkRange(this.id, deleteFrom)));
        for (const [i, c] of puts) pending.push(c === undefined ? chunks.delete([this.id, i]) : chunks.put(c, [this.id, i]));
        pending.push(entries.put({ ...rec, size }, this.path));
        await Promise.all(pending);
      });
    } catch (e) {
      for (const i of taken) this.dirty.add(i);
      if (low < this.lowCount) this.lowCount = low;
      throw e;
    }
    this.syncedCount = count;
    this.syncedSize = size;
  }
}

/** Whether this global scope has IndexedDB. */
function idbAvailable(): boolean {
  return typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object' && (globalThis as { indexedDB?: unknown }).indexedDB !== null;
}

function checkDbName(dbName: string): void {
  if (typeof dbName !== 'string') throw new TypeError(`"dbName" expected string, got ${typeof dbName}`);
  if (dbName.length === 0) throw new RangeError('"dbName" must not be empty');
}

/**
 * IndexedDB-backed file system: one IndexedDB database per file system. Create with {@link IdbFileSystem.open}.
 * A fallback for browsers without OPFS sync access handles; read the module documentation for its memory cost,
 * what a crash can lose and how exclusivity is modelled.
 *
 * @example
 * ```ts
 * const fs = OpfsFileSystem.isAvailable() ? await OpfsFileSystem.open('hearth/my-db') : await IdbFileSystem.open('hearth/my-db');
 * const h = await fs.open('LOG', { create: true });
 * h.append(bytes);
 * await h.sync(); // one IndexedDB transaction, durability 'strict'
 * await h.close();
 * ```
 */
export class IdbFileSystem implements FileSystem {
  readonly name = 'idb';
  readonly supports: FileSystemSupports = { persistent: true, atomicRename: true };
  private closed = false;
  private readonly handles = new Set<IdbHandle>();
  private readonly owner: Owner;

  private constructor(
    private readonly db: Db,
    /** The IndexedDB database name. */
    readonly dbName: string,
    /** Bytes per chunk of this database (fixed at creation). */
    readonly chunkSize: number,
  ) {
    this.owner = {
      dbName,
      chunkSize,
      txn: (mode, durability, path, op, fn) => this.txn(mode, durability, path, op, fn),
      forget: (h) => this.handles.delete(h),
    };
  }

  /** Whether IndexedDB exists in this global scope. */
  static isAvailable(): boolean {
    return idbAvailable();
  }

  /**
   * Opens (creating if missing) the IndexedDB database `dbName` as a file system.
   * @throws IoError `HEARTH_UNSUPPORTED` without IndexedDB, when access is denied, or for a database of a newer
   *   schema version; `HEARTH_CORRUPTION` if the database is not a Hearth file system (wrong stores, magic,
   *   version or chunk size); `HEARTH_IO`.
   * @throws TypeError/RangeError for a non-string or empty `dbName`, or a `chunkSize` that is not a power of two
   *   from 4 to 16 MiB.
   */
  static async open(dbName: string, options: IdbOptions = {}): Promise<IdbFileSystem> {
    checkDbName(dbName);
    const chunkSize = options.chunkSize ?? IDB_DEFAULT_CHUNK_SIZE;
    if (!isPowerOfTwo(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
      throw new RangeError(`"chunkSize" expected a power of two from ${MIN_CHUNK} to ${MAX_CHUNK}, got ${chunkSize}`);
    }
    if (!idbAvailable()) {
      throw new IoError(IoErrorCode.UNSUPPORTED, 'IndexedDB is not available in this context', { path: dbName });
    }
    let fs: IdbFileSystem | undefined;
    let db: Db | undefined;
    try {
      db = await openDB<Schema>(dbName, IDB_SCHEMA_VERSION, {
        upgrade(up, oldVersion, _newVersion, tx) {
          if (oldVersion !== 0) return; // only version 1 exists; a missing store is reported below
          up.createObjectStore('format');
          const entries = up.createObjectStore('entries');
          entries.createIndex('parent', 'parent');
          up.createObjectStore('chunks');
          // A failed put aborts the upgrade and openDB rejects: nothing to handle here.
          tx.objectStore('format').put({ magic: IDB_FORMAT_MAGIC, version: 1, chunkSize, nextId: 1 }, FORMAT_KEY).catch(() => {});
        },
        blocking() {
          // Another context wants to delete or upgrade the database: let it, and stop using this connection.
          if (fs) fs.shutdown();
          else db?.close(); // still checking the format record: that check then fails
        },
        terminated() {
          fs?.shutdown();
        },
      });
    } catch (e) {
      const name = errName(e);
      if (name === 'InvalidStateError' || name === 'SecurityError') {
        // Private modes of some browsers refuse IndexedDB at open (InvalidStateError in older Firefox).
        throw new IoError(IoErrorCode.UNSUPPORTED, `IndexedDB refused to open the database (${name})`, { path: dbName, cause: e });
      }
      throw mapError(e, dbName, 'open');
    }
    try {
      for (const s of ALL_STORES) {
        if (!db.objectStoreNames.contains(s)) {
          throw new CorruptionError(`IndexedDB database is not a Hearth file system (no "${s}" store)`, { path: dbName });
        }
      }
      const format = await db.get('format', FORMAT_KEY);
      if (
        format === undefined ||
        format.magic !== IDB_FORMAT_MAGIC ||
        !isPowerOfTwo(format.chunkSize) ||
        format.chunkSize < MIN_CHUNK ||
        format.chunkSize > MAX_CHUNK ||
        !Number.isSafeInteger(format.nextId) ||
        format.nextId < 1
      ) {
        throw new CorruptionError('IndexedDB database has no valid Hearth format record', { path: dbName });
      }
      if (format.version !== 1) {
        throw new IoError(IoErrorCode.UNSUPPORTED, `IndexedDB file-system layout version ${String(format.version)} is not supported`, {
          path: dbName,
        });
      }
      fs = new IdbFileSystem(db, dbName, format.chunkSize);
      return fs;
    } catch (e) {
      db.close();
      throw mapError(e, dbName, 'open');
    }
  }

  /**
   * Deletes the database `dbName` (no error if missing). Connections of this realm close themselves
   * (their later calls throw `HEARTH_CLOSED`); the call waits for connections elsewhere to close.
   * @throws IoError `HEARTH_UNSUPPORTED` without IndexedDB; `HEARTH_IO`.
   */
  static async destroy(dbName: string): Promise<void> {
    checkDbName(dbName);
    if (!idbAvailable()) throw new IoError(IoErrorCode.UNSUPPORTED, 'IndexedDB is not available in this context', { path: dbName });
    try {
      await deleteDB(dbName);
    } catch (e) {
      throw mapError(e, dbName, 'deleteDatabase');
    }
  }

  /**
   * Closes every handle this instance opened (writing their unsynced changes as `close()` does), then the
   * database connection. Later calls throw `HEARTH_CLOSED`. Idempotent.
   * @throws IoError the first error a handle's close threw (every handle is released anyway).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    let first: unknown;
    for (const h of [...this.handles]) {
      try {
        await h.close();
      } catch (e) {
        first ??= e;
      }
    }
    this.shutdown();
    if (first !== undefined) throw first;
  }

  /** Stops using the connection now: handles are dropped without writing. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.handles) h.abandon();
    this.handles.clear();
    this.db.close();
  }

  private checkOpen(path: string): void {
    if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'the IndexedDB file system is closed', { path });
  }

  /**
   * Runs `fn` in one transaction over every store and resolves with its result once the transaction has
   * committed. If `fn` throws, the transaction is aborted (nothing it did is stored) and the error is rethrown,
   * mapped to an {@link IoError}. `fn` must await only requests of `tx` (any other await commits it early).
   */
  private async txn<M extends IDBTransactionMode, T>(
    mode: M,
    durability: IDBTransactionDurability,
    path: string,
    op: string,
    fn: (tx: Tx<M>) => Promise<T>,
  ): Promise<T> {
    this.checkOpen(path);
    let tx: Tx<M>;
    try {
      tx = this.db.transaction(ALL_STORES, mode, mode === 'readwrite' ? { durability } : {}) as Tx<M>;
    } catch (e) {
      if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'the IndexedDB file system is closed', { path, cause: e });
      throw mapError(e, path, op);
    }
    const done = tx.done;
    done.catch(() => {}); // observed below, or superseded by fn's error
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      try {
        tx.abort();
      } catch {
        // already aborted by the failed request
      }
      // A request that failed because the transaction aborted (e.g. on quota) carries AbortError; the
      // transaction's own error says why.
      const cause = errName(e) === 'AbortError' && tx.error ? tx.error : e;
      throw mapError(cause, path, op);
    }
    try {
      await done;
    } catch (e) {
      if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'the IndexedDB file system was closed during the call', { path, cause: e });
      throw mapError(errName(e) === 'AbortError' && tx.error ? tx.error : e, path, op);
    }
    return result;
  }

  /** Throws `HEARTH_NOT_FOUND` unless the parent directory of `path` exists. */
  private async requireParent(tx: Tx<IDBTransactionMode>, path: string): Promise<string> {
    const parent = parentOf(path);
    if (parent !== '') {
      const p = await getEntry(tx.objectStore('entries'), parent);
      if (p === undefined || p.kind !== 'dir') throw notFound(path);
    }
    return parent;
  }

  /**
   * Opens `path` and loads its whole content into memory (see the module documentation). An `open` that creates
   * or truncates the file commits that change (`'strict'`) before resolving.
   * @throws IoError `HEARTH_LOCKED` if the file is open in this realm; `HEARTH_NOT_FOUND`; `HEARTH_EXISTS`;
   *   `HEARTH_IO` for a directory; `HEARTH_CORRUPTION` for stored chunks that break the layout;
   *   `HEARTH_QUOTA_EXCEEDED`; `HEARTH_CLOSED`.
   */
  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkPath(path);
    this.checkOpen(path);
    const held = heldIn(this.dbName);
    if (held.has(path)) throw lockedError(path, 'open');
    held.add(path);
    try {
      const create = options.create === true || options.exclusive === true;
      const cs = this.chunkSize;
      const run = async (tx: Tx<IDBTransactionMode>) => {
        const parent = await this.requireParent(tx, path);
        const entries = tx.objectStore('entries');
        let rec = await getEntry(entries, path);
        if (rec !== undefined && rec.kind === 'dir') throw isDirError(path);
        if (rec !== undefined && options.exclusive) throw new IoError(IoErrorCode.EXISTS, 'file exists', { path });
        if (rec === undefined) {
          if (!create) throw notFound(path);
          const formatStore = (tx as Tx<'readwrite'>).objectStore('format');
          const format = await formatStore.get(FORMAT_KEY);
          if (format === undefined) throw new CorruptionError('IndexedDB format record is missing', { path });
          const made: FileRecord = { kind: 'file', parent, id: format.nextId, size: 0 };
          await Promise.all([
            formatStore.put({ ...format, nextId: format.nextId + 1 }, FORMAT_KEY),
            (tx as Tx<'readwrite'>).objectStore('entries').put(made, path),
          ]);
          return { rec: made, keys: [] as [number, number][], values: [] as Uint8Array[] };
        }
        if (options.truncate && rec.size !== 0) {
          rec = { ...rec, size: 0 };
          await Promise.all([
            (tx as Tx<'readwrite'>).objectStore('chunks').delete(chunkRange(rec.id)),
            (tx as Tx<'readwrite'>).objectStore('entries').put(rec, path),
          ]);
          return { rec, keys: [] as [number, number][], values: [] as Uint8Array[] };
        }
        const chunks = tx.objectStore('chunks');
        const [keys, values] = await Promise.all([chunks.getAllKeys(chunkRange(rec.id)), chunks.getAll(chunkRange(rec.id))]);
        return { rec, keys, values };
      };
      const writes = create || options.truncate === true;
      const { rec, keys, values } = writes
        ? await this.txn('readwrite', 'strict', path, 'open', run)
        : await this.txn('readonly', 'default', path, 'open', run);
      const count = Math.ceil(rec.size / cs);
      const chunks: (Uint8Array | undefined)[] = [];
      for (let k = 0; k < keys.length; k++) {
        const i = keys[k][1];
        const v = values[k];
        const span = Math.min(cs, rec.size - i * cs);
        if (!Number.isSafeInteger(i) || i < 0 || i >= count || !(v instanceof Uint8Array) || v.length > span) {
          throw new CorruptionError(
            `IndexedDB chunk ${String(i)} of file id ${rec.id} does not fit the file (size ${rec.size}, chunk size ${cs}, ` +
              `stored ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v}); the file cannot be trusted`,
            { path, offset: Number.isSafeInteger(i) && i >= 0 ? i * cs : undefined },
          );
        }
        if (v.length === cs && v.byteOffset === 0 && v.buffer.byteLength === cs) {
          chunks[i] = v;
        } else {
          const c = new Uint8Array(cs);
          c.set(v);
          chunks[i] = c;
        }
      }
      const h = new IdbHandle(path, this.owner, rec.id, rec.size, chunks);
      this.handles.add(h);
      return h;
    } catch (e) {
      release(this.dbName, path);
      throw e;
    }
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path, 'path', true);
    if (path === '') return true;
    return this.txn('readonly', 'default', path, 'exists', async (tx) => (await getEntry(tx.objectStore('entries'), path)) !== undefined);
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, 'dir', true);
    return this.txn('readonly', 'default', dir, 'list', async (tx) => {
      const entries = tx.objectStore('entries');
      if (dir !== '') {
        const d = await getEntry(entries, dir);
        if (d === undefined || d.kind !== 'dir') throw notFound(dir);
      }
      const keys = await entries.index('parent').getAllKeys(dir);
      const cut = dir === '' ? 0 : dir.length + 1;
      return keys.map((k) => k.slice(cut)).sort();
    });
  }

  async mkdir(dir: string): Promise<void> {
    checkPath(dir, 'dir');
    await this.txn('readwrite', 'strict', dir, 'mkdir', async (tx) => {
      const entries = tx.objectStore('entries');
      const parts = dir.split('/');
      let parent = '';
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        const rec = await getEntry(entries, d);
        if (rec !== undefined && rec.kind === 'file') {
          throw new IoError(IoErrorCode.EXISTS, 'a file exists at this path', { path: d });
        }
        if (rec === undefined) await entries.put({ kind: 'dir', parent }, d);
        parent = d;
      }
    });
  }

  /**
   * Renames file `from` to `to` in one `'strict'` transaction: the `entries` record moves, the replaced target's
   * chunks are deleted, no chunk is copied. Atomic and durable when it resolves.
   * @throws IoError `HEARTH_LOCKED` if either file is open in this realm; see {@link FileSystem.rename}.
   */
  async rename(from: string, to: string): Promise<void> {
    checkPath(from, 'from');
    checkPath(to, 'to');
    await this.txn('readwrite', 'strict', from, `rename to ${to}`, async (tx) => {
      const entries = tx.objectStore('entries');
      const src = await getEntry(entries, from);
      if (src === undefined) throw notFound(from);
      if (src.kind === 'dir') throw isDirError(from);
      const parent = await this.requireParent(tx, to);
      const dst = await getEntry(entries, to);
      if (dst !== undefined && dst.kind === 'dir') throw isDirError(to);
      if (from === to) return;
      const held = openFiles.get(this.dbName);
      if (held?.has(from)) throw lockedError(from, 'rename');
      if (held?.has(to)) throw lockedError(to, 'rename onto');
      const pending: Promise<unknown>[] = [];
      if (dst !== undefined) pending.push(tx.objectStore('chunks').delete(chunkRange(dst.id)));
      pending.push(entries.delete(from), entries.put({ ...src, parent }, to));
      await Promise.all(pending);
    });
  }

  /**
   * Removes a file, or a directory tree with `recursive`, in one `'strict'` transaction (atomic: all or nothing).
   * @throws IoError `HEARTH_LOCKED` if a file to be removed is open in this realm; see {@link FileSystem.remove}.
   */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    await this.txn('readwrite', 'strict', path, 'remove', async (tx) => {
      const entries = tx.objectStore('entries');
      const chunks = tx.objectStore('chunks');
      const rec = await getEntry(entries, path);
      if (rec === undefined) throw notFound(path);
      const held = openFiles.get(this.dbName);
      if (rec.kind === 'file') {
        if (held?.has(path)) throw lockedError(path, 'remove');
        await Promise.all([chunks.delete(chunkRange(rec.id)), entries.delete(path)]);
        return;
      }
      const range = descendantRange(path);
      const [keys, values] = await Promise.all([entries.getAllKeys(range), entries.getAll(range)]);
      if (keys.length > 0 && options.recursive !== true) {
        throw new IoError(IoErrorCode.IO, 'directory is not empty', { path });
      }
      for (const k of keys) if (held?.has(k)) throw lockedError(k, `remove ${path}`);
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < values.length; i++) {
        const v = checkEntry(values[i], keys[i]);
        if (v?.kind === 'file') pending.push(chunks.delete(chunkRange(v.id)));
      }
      if (keys.length > 0) pending.push(entries.delete(range));
      pending.push(entries.delete(path));
      await Promise.all(pending);
    });
  }
}
