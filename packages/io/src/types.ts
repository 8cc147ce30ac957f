/**
 * The file-system interface that everything below the worker sees (LevelDB's `Env`, narrowed).
 *
 * Backends: memory (`MemoryFileSystem`), Node `fs` (`NodeFileSystem`, from `@hearth/io/node`), OPFS sync access
 * handles (`OpfsFileSystem`, dedicated workers only) and a fault-injecting wrapper for tests (`FaultFileSystem`).
 * Every backend runs the shared compliance suite in `packages/io/test/compliance.ts`.
 *
 * Shape of the interface, and why:
 * - Directory operations (`open`, `list`, `rename`, `remove`, `mkdir`) are async: OPFS only offers them async.
 * - Byte operations on an open file (`read`, `write`, `append`, `size`, `truncate`) are **synchronous**: OPFS sync
 *   access handles, Node's `fs.*Sync` and memory all do them synchronously, and a promise per block read would
 *   cost more than the read itself on the LSM's hot path.
 * - `sync()` (flush to stable storage) and `close()` are async, so that backends whose durability is asynchronous
 *   (IndexedDB) can implement the same interface.
 *
 * Paths are `/`-separated, relative to the file system's root, without a leading `/`, `.` or `..` segments
 * (e.g. `"db/000012.sst"`). A path names a file or a directory, never both.
 *
 * Durability contract (what a crash may and may not lose):
 * 1. Bytes written to a file are durable only after `sync()` on that handle has resolved.
 * 2. `rename(from, to)` atomically replaces `to`; after it resolves, a crash leaves either the old or the new
 *    `to`, never a mix, and the rename itself is durable (backends sync the directory where the platform needs it).
 * 3. Creating or removing a file, and creating a directory, is durable once the call resolves.
 *
 * Semantics every backend shares (pinned by the compliance suite):
 * - `read` returns a copy the caller owns; `write` copies `data` before returning (the caller may reuse it).
 * - A zero-length `write` is a no-op: it never extends the file, whatever its offset.
 * - Opening a directory as a file, renaming a directory, renaming onto a directory, and removing a non-empty
 *   directory without `recursive` throw `HEARTH_IO`. `mkdir` where a file exists throws `HEARTH_EXISTS`.
 *   `list` of a missing directory or of a file throws `HEARTH_NOT_FOUND`; so does any call whose parent directory
 *   is missing or is a file.
 * - `rename(p, p)` of an existing file is a no-op.
 *
 * @packageDocumentation
 */

/** Options for {@link FileSystem.open}. */
export interface OpenOptions {
  /** Create the file if it does not exist (default false: a missing file throws `HEARTH_NOT_FOUND`). */
  create?: boolean;
  /** Truncate the file to 0 bytes on open (default false). */
  truncate?: boolean;
  /** Fail with `HEARTH_EXISTS` if the file exists (default false). Implies `create`. */
  exclusive?: boolean;
}

/** An open file. Obtained from {@link FileSystem.open}; exclusive to its holder on OPFS. */
export interface FileHandle {
  /** The path this handle was opened with. */
  readonly path: string;

  /**
   * Reads up to `length` bytes starting at byte `offset`.
   *
   * Returns a new `Uint8Array` the caller owns; it is shorter than `length` only when the file ends first
   * (empty at or past the end).
   * @throws RangeError if `offset` or `length` is negative or not an integer.
   * @throws IoError `HEARTH_CLOSED` after `close()`; `HEARTH_IO` on a platform failure.
   */
  read(offset: number, length: number): Uint8Array;

  /**
   * Optional: reads up to `target.length` bytes starting at byte `offset` into `target` (from index 0), without
   * allocating. Same semantics as {@link FileHandle.read} otherwise: fewer bytes only when the file ends first.
   * Hot paths (the LSM's block reads) use it when present to reuse one buffer; callers fall back to `read`.
   *
   * @returns the number of bytes written into `target` (0 at or past the end of the file).
   * @throws TypeError if `target` is not a Uint8Array. @throws RangeError if `offset` is negative or not an integer.
   * @throws IoError `HEARTH_CLOSED` after `close()`; `HEARTH_IO` on a platform failure.
   */
  readInto?(offset: number, target: Uint8Array): number;

  /**
   * Writes all of `data` at byte `offset`, extending the file if needed (a gap past the old end reads as zeros).
   * Not durable until {@link FileHandle.sync}.
   * @throws IoError `HEARTH_QUOTA_EXCEEDED` when storage is full (the file may hold part of `data`; bytes
   *   synced before are intact); `HEARTH_CLOSED`; `HEARTH_IO`.
   */
  write(offset: number, data: Uint8Array): void;

  /**
   * Writes `data` at the current end of the file and returns the offset it was written at.
   * Same errors and durability as {@link FileHandle.write}.
   */
  append(data: Uint8Array): number;

  /**
   * The file's size in bytes, including unsynced writes.
   * @throws IoError `HEARTH_CLOSED`; `HEARTH_IO`.
   */
  size(): number;

  /**
   * Sets the file's size to `size` bytes (shrinks, or extends with zeros). Not durable until `sync()`.
   * @throws RangeError if `size` is negative or not an integer.
   * @throws IoError `HEARTH_QUOTA_EXCEEDED` when growing past the quota; `HEARTH_CLOSED`; `HEARTH_IO`.
   */
  truncate(size: number): void;

  /**
   * Makes every write and truncate made through this handle durable.
   * @throws IoError `HEARTH_QUOTA_EXCEEDED`, `HEARTH_CLOSED`, `HEARTH_IO`.
   */
  sync(): Promise<void>;

  /** Releases the handle. Unsynced writes may or may not be durable afterwards. Idempotent. */
  close(): Promise<void>;
}

/** Optional features a backend declares (abstract-level's `supports` manifest). */
export interface FileSystemSupports {
  /** Data written is durable across process restarts (false for memory). */
  readonly persistent: boolean;
  /** `rename` atomically replaces an existing target. All current backends: true. */
  readonly atomicRename: boolean;
  /**
   * Growing a file with `truncate` costs no I/O in proportion to the growth, and a synced write inside a file's
   * existing size is cheaper than one that extends it (no size change to make durable): worth growing append-only
   * files ahead of their writes (the feed store does). OPFS and node: true; memory and IndexedDB (whose `sync`
   * writes the zero-filled chunks) leave it out.
   */
  readonly preallocate?: boolean;
}

/** A file system rooted at one directory. */
export interface FileSystem {
  /** Backend name: `memory`, `node`, `opfs`, `fault(<inner>)`. */
  readonly name: string;
  readonly supports: FileSystemSupports;

  /**
   * Opens the file at `path`.
   * @throws IoError `HEARTH_NOT_FOUND` if it is missing and `create` is not set, or its directory is missing;
   *   `HEARTH_EXISTS` with `exclusive`; `HEARTH_LOCKED` if another holder has it open exclusively (OPFS).
   */
  open(path: string, options?: OpenOptions): Promise<FileHandle>;

  /** Whether a file or directory exists at `path` (`""`, the root, always exists). */
  exists(path: string): Promise<boolean>;

  /**
   * Names (not paths) of the entries directly inside directory `dir` (`""` is the root), sorted ascending.
   * @throws IoError `HEARTH_NOT_FOUND` if `dir` does not exist.
   */
  list(dir: string): Promise<string[]>;

  /**
   * Creates directory `dir` and any missing parents. No error if it exists.
   * @throws IoError `HEARTH_EXISTS` if a file exists at `dir` or at one of its parents.
   */
  mkdir(dir: string): Promise<void>;

  /**
   * Atomically renames file `from` to `to`, replacing `to` if it exists. See the durability contract.
   * Neither file may be open (OPFS refuses to move a locked file: `HEARTH_LOCKED`).
   * @throws IoError `HEARTH_NOT_FOUND` if `from` or the directory of `to` is missing; `HEARTH_IO` if `from` or
   *   `to` is a directory.
   */
  rename(from: string, to: string): Promise<void>;

  /**
   * Removes a file, or a directory with everything in it when `recursive` is set (an empty one otherwise).
   * @throws IoError `HEARTH_NOT_FOUND` if `path` is missing; `HEARTH_IO` for a non-empty directory without
   *   `recursive`; `HEARTH_LOCKED` if a file in it is open (OPFS).
   */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
}
