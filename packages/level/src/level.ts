/**
 * `HearthLevel`: an [abstract-level](https://github.com/Level/abstract-level) (v3) database over Hearth's LSM tree.
 *
 * It lets code written for the Level ecosystem (`classic-level`, `memory-level`, sublevels, `level-read-stream`)
 * run on `@hearth/lsm`. abstract-level does argument checking, encodings, deferred open, sublevels, events and
 * hooks; this class implements its private API (`_open`, `_get`, `_iterator`, ...) on top of the LSM contract.
 *
 * Storage layout: by default the database lives in the Node directory `location` (created if missing), through
 * `NodeFileSystem` from `@hearth/io/node`; the LSM's files (manifest, `CURRENT`, SSTables) are in `<location>/lsm/`.
 * With the `fs` option it lives in directory `location` of any `@hearth/io` file system instead (memory, OPFS in a
 * dedicated worker, the fault-injecting wrapper).
 *
 * ## Durability (read this)
 * The LSM has no write-ahead log: inside Hearth the signed log is the WAL and replays what a crash lost. Used on
 * its own, this adapter therefore makes writes durable by flushing the memtable to an SSTable, and promises
 * exactly this:
 * 1. A write is visible to reads as soon as its promise resolves.
 * 2. Every write acknowledged before `close()` was called is durable once `close()` resolves (`close()` flushes;
 *    if that flush fails, `close()` rejects and the database stays open, as abstract-level specifies).
 * 3. A write made with `{ sync: true }` (on `put`, `del`, `batch` or a chained batch's `write`) is durable, together
 *    with every write acknowledged before it, when its promise resolves. `db.flush()` does the same on demand.
 * 4. Otherwise, a write is durable once the memtable holding it has been flushed (when it fills:
 *    `lsm.memtableBytes`, default 4 MiB). A crash or a process exit without `close()` loses the writes since the
 *    last flush, and never leaves a partial batch: a batch is applied at one sequence number and flushed whole.
 * This differs from `classic-level`, whose unsynced writes reach the OS through LevelDB's log before they resolve
 * and so survive a process crash (but not an OS crash). `{ sync: true }` costs a memtable flush (one SSTable write
 * and a manifest edit, each synced), so use it for the writes that must not be lost, not for every write.
 *
 * ## Snapshots
 * Reads see a consistent state: `get`/`getMany`/`has` read synchronously, iterators take an LSM snapshot when they
 * are created (implicit snapshots), and `db.snapshot()` wraps an LSM snapshot (explicit snapshots). An open
 * snapshot or iterator holds back compaction of what it can see; close iterators you do not drain.
 *
 * Invariants:
 * 1. `#lsm` is set exactly while abstract-level's status is `open` or `closing`; private methods are only called
 *    then (abstract-level guarantees it), so they read `#lsm` without checks.
 * 2. Writes in flight are tracked in `#inflight`; `_close()` waits for them before flushing, so a write whose
 *    promise resolved before `close()` resolves is in the final flush.
 * 3. `#dirty` is true whenever the memtable may hold writes that no completed flush covers.
 * 4. At most one `HearthLevel` in this process has a given location open (`LEVEL_LOCKED`-style refusal with
 *    `HEARTH_LOCKED`); two processes opening the same directory are not detected.
 *
 * @packageDocumentation
 */
import { AbstractLevel, AbstractSnapshot } from 'abstract-level';
import type { AbstractDatabaseOptions, AbstractOpenOptions } from 'abstract-level';
import { IoError, IoErrorCode, type FileSystem } from '@hearth/io';
import { openLsm, type BatchOp, type Lsm, type LsmOptions, type Snapshot } from '@hearth/lsm';
import { joinPath } from './_bytes.js';
import { Cursor, asBytes, rangeOf, type EncodedRange } from './_cursor.js';
import {
  HearthIterator,
  HearthKeyIterator,
  HearthValueIterator,
  type PrivateIteratorOptions,
  type ViewLease,
} from './_iterators.js';

/** Directory under the database's location that holds the LSM's files. Do not change: existing databases use it. */
export const LSM_DIR = 'lsm';

/** Keys deleted per LSM batch by `clear()`. */
const CLEAR_CHUNK = 1000;

/** Options for `new HearthLevel(location, options)`. */
export interface HearthLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /**
   * The file system to store under. Default: a `NodeFileSystem` rooted at the Node directory `location`. When
   * given, `location` is a directory inside this file system (`/`-separated, relative, see `@hearth/io`).
   */
  fs?: FileSystem;
  /** LSM tuning (memtable size, block size, bloom bits, block cache, compaction). See `@hearth/lsm`'s `LsmOptions`. */
  lsm?: Omit<LsmOptions, 'fs' | 'dir'>;
}

/**
 * Write options this adapter adds to abstract-level's `put`, `del`, `batch` and chained `write`. abstract-level's
 * option types are closed, so TypeScript callers pass them through a variable typed `object`, or call
 * {@link HearthLevel.flush} after the write (same effect).
 */
export interface HearthWriteOptions {
  /**
   * Make this write, and every write acknowledged before it, durable before the promise resolves (flushes the
   * memtable). Default false. See "Durability" in the package documentation.
   */
  sync?: boolean;
}

/** The options abstract-level passes to `_open`. */
interface PrivateOpenOptions extends AbstractOpenOptions {
  createIfMissing: boolean;
  errorIfExists: boolean;
}

interface PrivateReadOptions {
  snapshot?: unknown;
  [other: string]: unknown;
}

interface PrivateBatchOp {
  type: 'put' | 'del';
  key: ArrayBufferView;
  value?: ArrayBufferView;
}

// abstract-level's declarations omit the snapshot constructor (private API); its README documents it.
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

/** An explicit snapshot: wraps one LSM snapshot, released when the snapshot (or its database) closes. */
class HearthSnapshot extends SnapshotBase {
  readonly view: Snapshot;
  constructor(options: object, lsm: Lsm) {
    super(options);
    this.view = lsm.snapshot();
  }
  async _close(): Promise<void> {
    this.view.release();
  }
}

/** Locations open in this process, per file system (`undefined` stands for the Node file system). */
const openLocations = new Map<FileSystem | undefined, Set<string>>();

/**
 * An abstract-level database stored in Hearth's LSM tree. Keys and values are stored as bytes (`view` is the
 * native encoding); every abstract-level encoding (`utf8` by default, `buffer`, `view`, `json`, custom) works on top.
 *
 * Supports (see `db.supports`): permanence, implicit and explicit snapshots, seek, `getSync`, `has`/`hasMany`,
 * `clear` with ranges, `createIfMissing`, `errorIfExists`, deferred open, sublevels, events and hooks.
 *
 * Errors from storage are Hearth errors with stable codes (`HEARTH_CORRUPTION`, `HEARTH_IO`,
 * `HEARTH_QUOTA_EXCEEDED`, ...; `docs/errors.md`); abstract-level wraps open and close failures in
 * `LEVEL_DATABASE_NOT_OPEN` / `LEVEL_DATABASE_NOT_CLOSED` with the Hearth error as `cause`.
 *
 * @example
 * ```ts
 * import { HearthLevel } from '@hearth/level'
 * const db = new HearthLevel('./data', { valueEncoding: 'json' })
 * await db.put('a', { x: 1 })
 * await db.put('b', { x: 2 }, { sync: true }) // durable when this resolves, with 'a'
 * for await (const [key, value] of db.iterator({ gte: 'a' })) console.log(key, value)
 * await db.close() // flushes: everything acknowledged is durable
 * ```
 */
export class HearthLevel<K = string, V = string> extends AbstractLevel<Uint8Array, K, V> {
  /** The location given to the constructor. */
  readonly location: string;
  readonly #fs: FileSystem | undefined;
  readonly #lsmOptions: Omit<LsmOptions, 'fs' | 'dir'>;
  #lsm: Lsm | undefined;
  #lockKey: string | undefined;
  #dirty = false;
  readonly #inflight = new Set<Promise<unknown>>();

  /**
   * @param location Node directory of the database (created if missing unless `createIfMissing: false`), or,
   *   with `options.fs`, a directory inside that file system.
   * @param options abstract-level options (`keyEncoding`, `valueEncoding`, `createIfMissing`, `errorIfExists`,
   *   `passive`) plus {@link HearthLevelOptions.fs} and {@link HearthLevelOptions.lsm}.
   * @throws TypeError if `location` is not a non-empty string or `options.fs` is not a file system.
   */
  constructor(location: string, options?: HearthLevelOptions<K, V>) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError(`"location" expected a non-empty string, got ${location === '' ? 'an empty string' : typeof location}`);
    }
    const { fs, lsm, ...forward } = options ?? {};
    if (fs !== undefined && (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function')) {
      throw new TypeError('"options.fs" expected a @hearth/io FileSystem');
    }
    // `getSync` and `additionalMethods` are manifest fields that abstract-level 3 reads but its bundled
    // level-supports typings predate, hence the cast.
    const manifest = {
      encodings: { view: true },
      permanence: fs === undefined ? true : fs.supports.persistent,
      implicitSnapshots: true,
      explicitSnapshots: true,
      seek: true,
      getSync: true,
      has: true,
      createIfMissing: true,
      errorIfExists: true,
      // Reads are synchronous: there is never an in-flight iterator read to abort.
      signals: { iterators: false },
      additionalMethods: { flush: true },
    };
    super(manifest as ConstructorParameters<typeof AbstractLevel>[0], forward);
    this.location = location;
    this.#fs = fs;
    this.#lsmOptions = lsm ?? {};
  }

  /**
   * Makes every write acknowledged so far durable (flushes the LSM's memtable to an SSTable and records it in the
   * manifest). Waits for a deferred open.
   * @throws Error `LEVEL_DATABASE_NOT_OPEN` if the database is not open; Hearth I/O errors from the flush.
   */
  async flush(): Promise<void> {
    if (this.status === 'opening') return this.deferAsync(() => this.flush());
    if (this.status !== 'open' || this.#lsm === undefined) {
      throw levelError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open: cannot call flush()');
    }
    await this.#flush(this.#lsm);
  }

  async _open(options: PrivateOpenOptions): Promise<void> {
    const { fs, dir, lockKey } = await this.#storage(options.createIfMissing);
    const held = openLocations.get(this.#fs) ?? new Set<string>();
    if (held.has(lockKey)) {
      throw new IoError(IoErrorCode.LOCKED, 'database is already open in this process', { path: this.location });
    }
    held.add(lockKey);
    openLocations.set(this.#fs, held);
    try {
      const exists = (await fs.exists(dir)) && (await fs.list(dir)).length > 0;
      if (!exists && !options.createIfMissing) {
        throw new IoError(IoErrorCode.NOT_FOUND, 'database does not exist (createIfMissing is false)', {
          path: this.location,
        });
      }
      if (exists && options.errorIfExists) {
        throw new IoError(IoErrorCode.EXISTS, 'database exists (errorIfExists is true)', { path: this.location });
      }
      this.#lsm = await openLsm({ ...this.#lsmOptions, fs, dir });
      this.#lockKey = lockKey;
      this.#dirty = false;
    } catch (err) {
      held.delete(lockKey);
      throw err;
    }
  }

  async _close(): Promise<void> {
    const lsm = this.#lsm!;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    if (this.#dirty) await this.#flush(lsm);
    await lsm.close();
    this.#lsm = undefined;
    openLocations.get(this.#fs)?.delete(this.#lockKey!);
    this.#lockKey = undefined;
  }

  async _get(key: Uint8Array, options: PrivateReadOptions): Promise<Uint8Array | undefined> {
    return this.#view(options).get(asBytes(key));
  }

  _getSync(key: Uint8Array, options: PrivateReadOptions): Uint8Array | undefined {
    return this.#view(options).get(asBytes(key));
  }

  async _getMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<(Uint8Array | undefined)[]> {
    const view = this.#view(options);
    return keys.map((k) => view.get(asBytes(k)));
  }

  async _has(key: Uint8Array, options: PrivateReadOptions): Promise<boolean> {
    return this.#view(options).get(asBytes(key)) !== undefined;
  }

  async _hasMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<boolean[]> {
    const view = this.#view(options);
    return keys.map((k) => view.get(asBytes(k)) !== undefined);
  }

  async _put(key: Uint8Array, value: Uint8Array, options: HearthWriteOptions): Promise<void> {
    const lsm = this.#lsm!;
    await this.#write(lsm.put(asBytes(key), asBytes(value)));
    if (options.sync === true) await this.#flush(lsm);
  }

  async _del(key: Uint8Array, options: HearthWriteOptions): Promise<void> {
    const lsm = this.#lsm!;
    await this.#write(lsm.delete(asBytes(key)));
    if (options.sync === true) await this.#flush(lsm);
  }

  async _batch(operations: PrivateBatchOp[], options: HearthWriteOptions): Promise<void> {
    const lsm = this.#lsm!;
    const ops: BatchOp[] = new Array(operations.length);
    for (let i = 0; i < operations.length; i++) {
      const op = operations[i];
      ops[i] =
        op.type === 'put'
          ? { type: 'put', key: asBytes(op.key), value: asBytes(op.value!) }
          : { type: 'del', key: asBytes(op.key) };
    }
    await this.#write(lsm.batch(ops));
    if (options.sync === true) await this.#flush(lsm);
  }

  /**
   * Deletes the keys of a range, in LSM batches of {@link CLEAR_CHUNK} keys read from one snapshot (the explicit
   * one if given, else one taken now): writes made after `clear()` is called are not deleted unless they overwrite
   * a key the snapshot has. Not atomic, as abstract-level allows.
   */
  async _clear(options: EncodedRange & { limit: number; snapshot?: unknown }): Promise<void> {
    const lsm = this.#lsm!;
    const explicit = options.snapshot != null ? snapshotView(options.snapshot) : undefined;
    const view = explicit ?? lsm.snapshot();
    try {
      let range = rangeOf(options);
      let remaining = options.limit < 0 ? Infinity : options.limit;
      while (remaining > 0) {
        const keys: Uint8Array[] = [];
        const want = Math.min(CLEAR_CHUNK, remaining);
        const cursor = new Cursor(view, range);
        try {
          for (let e = cursor.next(); e !== undefined; e = keys.length < want ? cursor.next() : undefined) {
            keys.push(e.key);
          }
        } finally {
          cursor.close();
        }
        if (keys.length === 0) break;
        await this.#write(lsm.batch(keys.map((key): BatchOp => ({ type: 'del', key }))));
        remaining -= keys.length;
        if (keys.length < want) break;
        range = continueAfter(range, keys[keys.length - 1]);
      }
    } finally {
      if (explicit === undefined) view.release();
    }
  }

  _iterator(options: PrivateIteratorOptions): HearthIterator {
    return withLease(this.#lease(options), (lease) => new HearthIterator(this, options, lease));
  }

  _keys(options: PrivateIteratorOptions): HearthKeyIterator {
    return withLease(this.#lease(options), (lease) => new HearthKeyIterator(this, options, lease));
  }

  _values(options: PrivateIteratorOptions): HearthValueIterator {
    return withLease(this.#lease(options), (lease) => new HearthValueIterator(this, options, lease));
  }

  _snapshot(options: object): HearthSnapshot {
    return new HearthSnapshot(options, this.#lsm!);
  }

  /** The read view for a private read call: the explicit snapshot's, or the LSM's latest state. */
  #view(options: PrivateReadOptions): Pick<Snapshot, 'get'> {
    return options.snapshot != null ? snapshotView(options.snapshot) : this.#lsm!;
  }

  /** An iterator's view: the explicit snapshot's (borrowed), or a new LSM snapshot (owned, released on close). */
  #lease(options: PrivateIteratorOptions): ViewLease {
    if (options.snapshot != null) return { view: snapshotView(options.snapshot), owned: false };
    return { view: this.#lsm!.snapshot(), owned: true };
  }

  /** Tracks a write until it settles (invariant 2) and marks the memtable dirty (invariant 3). */
  async #write(p: Promise<void>): Promise<void> {
    this.#dirty = true;
    this.#inflight.add(p);
    try {
      await p;
    } finally {
      this.#inflight.delete(p);
    }
  }

  async #flush(lsm: Lsm): Promise<void> {
    this.#dirty = false;
    try {
      await lsm.flush();
    } catch (err) {
      this.#dirty = true;
      throw err;
    }
  }

  async #storage(createIfMissing: boolean): Promise<{ fs: FileSystem; dir: string; lockKey: string }> {
    if (this.#fs !== undefined) return { fs: this.#fs, dir: joinPath(this.location, LSM_DIR), lockKey: this.location };
    // Loaded on demand so that the package also runs where Node's fs does not exist (with `options.fs`).
    const [{ NodeFileSystem }, nodeFs] = await Promise.all([import('@hearth/io/node'), import('node:fs/promises')]);
    const fs = new NodeFileSystem(this.location, { create: createIfMissing });
    if (!createIfMissing) {
      const st = await nodeFs.stat(fs.root).catch(() => undefined);
      if (st === undefined || !st.isDirectory()) {
        throw new IoError(IoErrorCode.NOT_FOUND, 'database does not exist (createIfMissing is false)', {
          path: this.location,
        });
      }
    }
    return { fs, dir: LSM_DIR, lockKey: fs.root };
  }
}

function snapshotView(snapshot: unknown): Snapshot {
  if (!(snapshot instanceof HearthSnapshot)) {
    throw new TypeError('"options.snapshot" expected a snapshot created by this HearthLevel (db.snapshot())');
  }
  return snapshot.view;
}

function withLease<T>(lease: ViewLease, make: (lease: ViewLease) => T): T {
  try {
    return make(lease);
  } catch (err) {
    if (lease.owned) lease.view.release();
    throw err;
  }
}

/** The rest of `range` after `key` in its direction (for `clear()`'s chunking). */
function continueAfter(range: ReturnType<typeof rangeOf>, key: Uint8Array): ReturnType<typeof rangeOf> {
  const { gt, gte, lt, lte, ...rest } = range;
  return range.reverse
    ? { ...rest, ...(gt !== undefined ? { gt } : gte !== undefined ? { gte } : {}), lt: key }
    : { ...rest, gt: key, ...(lt !== undefined ? { lt } : lte !== undefined ? { lte } : {}) };
}

/** An error shaped like abstract-level's own (`code` is a `LEVEL_*` code). */
function levelError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
