/**
 * `OpfsFileSystem`: the {@link FileSystem} over the Origin Private File System, with `FileSystemSyncAccessHandle`
 * for byte I/O. Works only in a **dedicated worker** (where sync access handles exist); elsewhere
 * {@link OpfsFileSystem.open} throws `HEARTH_UNSUPPORTED`. Needs a secure context (HTTPS or localhost).
 *
 * Mapping onto the interface:
 * - `open` → `getFileHandle` + `createSyncAccessHandle()`. Sync access handles are **exclusive**: a second open
 *   of the same file (from this or any other worker or tab) throws `HEARTH_LOCKED` until the first is closed.
 * - `read`/`write` → the handle's `read`/`write` with `{ at }`; `sync` → `flush()`; `size` → `getSize()` once,
 *   then a size this class keeps itself (invariant 4).
 *
 * Cost model (Chromium 156 on Linux ext4, measured with `bench/browser/profile-writes.ts`): each
 * `write()` is four system calls in the renderer (fstat and fcntl for the quota check, pwrite, and a
 * notification message to the browser process), about 25 µs, and about 100 µs for the first write after a
 * `flush()`; `flush()` is one `fdatasync`, 150 µs to several ms depending on the disk; `getSize()` is one fstat.
 * So this class makes exactly one platform call per `write`, `read` and `sync`, and none for `size`/`append`'s
 * size, and never copies the caller's bytes (the platform copies them into the page cache).
 * - Directory operations → `FileSystemDirectoryHandle` calls, walking the path one segment at a time.
 *
 * Renames (see also docs/architecture.md, "io backends"):
 * - **`'move'` strategy** (chosen when `FileSystemFileHandle.prototype.move` exists, as in Chromium ≥ 110 and
 *   current Firefox and Safari): `move(targetDir, name)`. The File System standard gives `move()` POSIX semantics
 *   (it replaces an existing target; whatwg/fs#10), and Chromium implements it on OPFS as one metadata update in
 *   its storage backend, so it is atomic: a reader sees the old or the new target. Its durability across a
 *   browser crash is the browser's: there is no directory fsync to call.
 * - **`'journal'` strategy** (the fallback where `move()` is missing; selectable for tests): a roll-forward
 *   journal. (1) Write `{from, to}` to the journal file `.hearth-rename` at the root and flush it; (2) copy `from`
 *   over `to` and flush; (3) remove `from`; (4) remove the journal. {@link OpfsFileSystem.open} finishes an
 *   interrupted rename before returning: a journal that does not parse was torn in step 1 (nothing else
 *   happened) and is removed; otherwise, if `from` still exists, steps 2 to 4 are redone (`from` is intact until
 *   step 3), else only step 4. So, as seen through this class, a rename is atomic across crashes: after reopen
 *   `to` holds the old content (crash before step 1 completed) or the new one. It costs a copy of the file.
 *   Renames are serialised per instance; two instances must not share a root (one worker owns a database).
 *
 * Invariants:
 * 1. Every path this class is given passed `checkPath`; the journal name is refused as a user path and hidden
 *    from `list("")`.
 * 2. At most one journaled rename is in flight per instance (`renameChain`).
 * 3. A handle calls its sync access handle only while `closed` is false.
 * 4. `OpfsHandle.end` is the file's size in bytes, or -1 when unknown (before the first `size()`, and after a
 *    write or truncate that threw, since it may have changed the file partly). Sync access handles are exclusive
 *    (no other handle, writable stream or tab can change the file while one is open), so only this handle's own
 *    `write` and `truncate` change the size, and they keep `end` up to date.
 *
 * @packageDocumentation
 */
import type { FileHandle, FileSystem, FileSystemSupports, OpenOptions } from './types.js';
import { IoError, IoErrorCode } from './errors.js';
import { baseName, checkBytes, checkOffset, checkPath, closedError, isDirError, notFound, parentOf } from './_path.js';

// Minimal shapes of the OPFS API, typed here because TypeScript's `dom` lib lacks the worker-only parts.
interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
interface OpfsFileHandle {
  readonly kind: 'file';
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
  move?(destination: OpfsDirHandle, name: string): Promise<void>;
}
interface OpfsDirHandle {
  readonly kind: 'directory';
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterableIterator<string>;
}

/** Name of the rename journal at the root (journal strategy). Do not change: existing databases use it. */
export const OPFS_RENAME_JOURNAL = '.hearth-rename';

/** Copy chunk for the journal strategy, in bytes. */
const COPY_CHUNK = 1 << 20;

/** How {@link OpfsFileSystem} renames; see the module documentation. */
export type OpfsRenameStrategy = 'auto' | 'move' | 'journal';

/** Options for {@link OpfsFileSystem.open}. */
export interface OpfsOptions {
  /** `'auto'` (default): `'move'` where `FileSystemFileHandle.move` exists, else `'journal'`. */
  renameStrategy?: OpfsRenameStrategy;
}

function errName(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string'
    ? (e as { name: string }).name
    : '';
}

/**
 * Maps a `DOMException` from OPFS to an {@link IoError}. `lockedOn` lists the exception names that mean "held
 * elsewhere" for this call (`createSyncAccessHandle` also uses `InvalidStateError` for that in some browsers).
 */
function mapError(e: unknown, path: string, op: string, lockedOn: readonly string[] = ['NoModificationAllowedError']): Error {
  if (e instanceof IoError || e instanceof RangeError) return e;
  const name = errName(e);
  const detail = `${op} failed${name ? ` (${name})` : ''}`;
  if (lockedOn.includes(name)) {
    return new IoError(IoErrorCode.LOCKED, `file is open elsewhere (sync access handles are exclusive): ${detail}`, {
      path,
      cause: e,
    });
  }
  switch (name) {
    case 'NotFoundError':
      return new IoError(IoErrorCode.NOT_FOUND, `no such file or directory: ${detail}`, { path, cause: e });
    case 'QuotaExceededError':
      return new IoError(IoErrorCode.QUOTA_EXCEEDED, `storage quota exceeded: ${detail}`, { path, cause: e });
    case 'InvalidModificationError':
      return new IoError(IoErrorCode.IO, `directory is not empty or cannot be modified: ${detail}`, { path, cause: e });
    case 'SecurityError':
      return new IoError(IoErrorCode.UNSUPPORTED, `storage access denied (secure context needed): ${detail}`, {
        path,
        cause: e,
      });
    default:
      return new IoError(IoErrorCode.IO, detail, { path, cause: e });
  }
}

class OpfsHandle implements FileHandle {
  private closed = false;
  /** The file's size in bytes, or -1 when unknown (invariant 4). */
  private end = -1;
  constructor(
    readonly path: string,
    private readonly h: SyncAccessHandle,
  ) {}

  private check(): void {
    if (this.closed) throw closedError(this.path);
  }

  /** The file's size (invariant 4: asks the platform only when unknown). REQUIRES: not closed. */
  private known(): number {
    if (this.end < 0) {
      try {
        this.end = this.h.getSize();
      } catch (e) {
        throw mapError(e, this.path, 'getSize', []);
      }
    }
    return this.end;
  }

  read(offset: number, length: number): Uint8Array {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    this.check();
    // Clamped to the size this handle knows, so a read past the end costs no platform call and a short read no
    // second copy, and read(0, 2 ** 40) does not try to allocate a terabyte.
    const n = Math.max(0, Math.min(length, this.known() - offset));
    if (n === 0) return new Uint8Array(0);
    const buf = new Uint8Array(n);
    try {
      let got = this.h.read(buf, { at: offset });
      while (got < n) {
        const r = this.h.read(buf.subarray(got), { at: offset + got });
        if (r === 0) break;
        got += r;
      }
      return got === n ? buf : buf.slice(0, got);
    } catch (e) {
      throw mapError(e, this.path, 'read', []);
    }
  }

  readInto(offset: number, target: Uint8Array): number {
    checkOffset(offset, 'offset');
    checkBytes(target, 'target');
    this.check();
    const n = Math.max(0, Math.min(target.length, this.known() - offset));
    if (n === 0) return 0;
    try {
      let got = this.h.read(n === target.length ? target : target.subarray(0, n), { at: offset });
      while (got < n) {
        const r = this.h.read(target.subarray(got, n), { at: offset + got });
        if (r === 0) break;
        got += r;
      }
      return got;
    } catch (e) {
      throw mapError(e, this.path, 'read', []);
    }
  }

  write(offset: number, data: Uint8Array): void {
    checkOffset(offset, 'offset');
    checkBytes(data);
    this.check();
    this.writeAt(offset, data);
  }

  /** Writes all of `data` at `offset` (usually one platform call) and keeps `end` (invariant 4). */
  private writeAt(offset: number, data: Uint8Array): void {
    const len = data.length;
    if (len === 0) return;
    try {
      let done = this.h.write(data, { at: offset });
      while (done < len) {
        if (done <= 0) throw new IoError(IoErrorCode.IO, 'write made no progress', { path: this.path });
        const n = this.h.write(data.subarray(done), { at: offset + done });
        if (n <= 0) throw new IoError(IoErrorCode.IO, 'write made no progress', { path: this.path });
        done += n;
      }
    } catch (e) {
      this.end = -1; // part of `data` may have been written
      throw mapError(e, this.path, 'write', []);
    }
    if (this.end >= 0 && offset + len > this.end) this.end = offset + len;
  }

  append(data: Uint8Array): number {
    checkBytes(data);
    this.check();
    const at = this.known();
    this.writeAt(at, data);
    return at;
  }

  size(): number {
    this.check();
    return this.known();
  }

  truncate(size: number): void {
    checkOffset(size, 'size');
    this.check();
    try {
      this.h.truncate(size);
    } catch (e) {
      this.end = -1;
      throw mapError(e, this.path, 'truncate', []);
    }
    this.end = size;
  }

  async sync(): Promise<void> {
    this.check();
    try {
      // flush() is synchronous in current browsers; early Chromium versions returned a promise.
      const r = this.h.flush() as unknown;
      if (r instanceof Promise) await r;
    } catch (e) {
      throw mapError(e, this.path, 'flush', []);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const r = this.h.close() as unknown;
      if (r instanceof Promise) await r;
    } catch (e) {
      throw mapError(e, this.path, 'close', []);
    }
  }
}

/** Whether this global scope can use OPFS sync access handles (a dedicated worker with OPFS). */
function opfsAvailable(): boolean {
  const g = globalThis as { navigator?: { storage?: { getDirectory?: unknown } }; FileSystemSyncAccessHandle?: unknown };
  return typeof g.navigator?.storage?.getDirectory === 'function' && typeof g.FileSystemSyncAccessHandle === 'function';
}

/**
 * OPFS-backed file system rooted at a subdirectory of the origin's OPFS root. Create with
 * {@link OpfsFileSystem.open}.
 *
 * @example
 * ```ts
 * // inside a dedicated worker
 * const fs = await OpfsFileSystem.open('hearth/my-db');
 * const h = await fs.open('LOG', { create: true });
 * ```
 */
export class OpfsFileSystem implements FileSystem {
  readonly name = 'opfs';
  readonly supports: FileSystemSupports = { persistent: true, atomicRename: true, preallocate: true };
  private renameChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly root: OpfsDirHandle,
    /** The root's path under the origin's OPFS root. */
    readonly rootName: string,
    /** The rename strategy in use (`'move'` or `'journal'`). */
    readonly renameStrategy: 'move' | 'journal',
  ) {}

  /** Whether OPFS sync access handles are available here (a dedicated worker in a secure context). */
  static isAvailable(): boolean {
    return opfsAvailable();
  }

  /**
   * Opens (creating if missing) the directory `rootName` (a `/`-separated path) under the origin's OPFS root,
   * and finishes a rename a crash interrupted (journal strategy).
   * @throws IoError `HEARTH_UNSUPPORTED` outside a dedicated worker or without OPFS; `HEARTH_EXISTS` if a file
   *   is in the way of `rootName`; `HEARTH_IO`.
   * @throws RangeError for a malformed `rootName`.
   */
  static async open(rootName: string, options: OpfsOptions = {}): Promise<OpfsFileSystem> {
    checkPath(rootName, 'rootName');
    const strategy = options.renameStrategy ?? 'auto';
    if (strategy !== 'auto' && strategy !== 'move' && strategy !== 'journal') {
      throw new RangeError(`"renameStrategy" expected 'auto' | 'move' | 'journal', got ${String(strategy)}`);
    }
    if (!opfsAvailable()) {
      throw new IoError(
        IoErrorCode.UNSUPPORTED,
        'OPFS sync access handles are only available in a dedicated worker in a secure context (HTTPS or localhost)',
        { path: rootName },
      );
    }
    const top = await OpfsFileSystem.opfsRoot();
    const root = await walkDirs(top, rootName.split('/'), true, rootName);
    const hasMove = typeof (globalThis as { FileSystemFileHandle?: { prototype?: { move?: unknown } } })
      .FileSystemFileHandle?.prototype?.move === 'function';
    if (strategy === 'move' && !hasMove) {
      throw new IoError(IoErrorCode.UNSUPPORTED, 'FileSystemFileHandle.move() is not available here', { path: rootName });
    }
    const fs = new OpfsFileSystem(root, rootName, strategy === 'auto' ? (hasMove ? 'move' : 'journal') : strategy);
    await fs.recoverRename();
    return fs;
  }

  /**
   * Removes the directory `rootName` and everything in it (no error if missing). Every handle in it must be
   * closed (`HEARTH_LOCKED` otherwise).
   * @throws IoError `HEARTH_UNSUPPORTED` where OPFS is unavailable.
   */
  static async destroy(rootName: string): Promise<void> {
    checkPath(rootName, 'rootName');
    if (!opfsAvailable()) throw new IoError(IoErrorCode.UNSUPPORTED, 'OPFS is not available here', { path: rootName });
    const top = await OpfsFileSystem.opfsRoot();
    let parent: OpfsDirHandle;
    try {
      parent = await walkDirs(top, parentOf(rootName) === '' ? [] : parentOf(rootName).split('/'), false, rootName);
      await parent.removeEntry(baseName(rootName), { recursive: true });
    } catch (e) {
      const m = mapError(e, rootName, 'destroy');
      if (m instanceof IoError && m.code === IoErrorCode.NOT_FOUND) return;
      throw m;
    }
  }

  private static async opfsRoot(): Promise<OpfsDirHandle> {
    try {
      return (await navigator.storage.getDirectory()) as unknown as OpfsDirHandle;
    } catch (e) {
      throw mapError(e, '', 'navigator.storage.getDirectory');
    }
  }

  private checkUserPath(path: string, label: string): void {
    checkPath(path, label);
    if (path === OPFS_RENAME_JOURNAL) throw new RangeError(`"${label}" ${OPFS_RENAME_JOURNAL} is reserved`);
  }

  /** The directory containing `path`. @throws IoError `HEARTH_NOT_FOUND`. */
  private async dirOf(path: string): Promise<OpfsDirHandle> {
    const parent = parentOf(path);
    return parent === '' ? this.root : walkDirs(this.root, parent.split('/'), false, path);
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    this.checkUserPath(path, 'path');
    const dir = await this.dirOf(path);
    const name = baseName(path);
    let fh: OpfsFileHandle;
    try {
      if (options.exclusive) {
        let exists = true;
        try {
          await dir.getFileHandle(name);
        } catch (e) {
          if (errName(e) !== 'NotFoundError') throw e;
          exists = false;
        }
        if (exists) throw new IoError(IoErrorCode.EXISTS, 'file exists', { path });
        fh = await dir.getFileHandle(name, { create: true });
      } else {
        fh = await dir.getFileHandle(name, { create: options.create === true });
      }
    } catch (e) {
      if (errName(e) === 'TypeMismatchError') throw isDirError(path);
      throw mapError(e, path, 'open');
    }
    let sah: SyncAccessHandle;
    try {
      sah = await fh.createSyncAccessHandle();
    } catch (e) {
      throw mapError(e, path, 'createSyncAccessHandle', ['NoModificationAllowedError', 'InvalidStateError']);
    }
    if (options.truncate) {
      try {
        sah.truncate(0);
      } catch (e) {
        sah.close();
        throw mapError(e, path, 'truncate');
      }
    }
    return new OpfsHandle(path, sah);
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path, 'path', true);
    if (path === '') return true;
    if (path === OPFS_RENAME_JOURNAL) return false;
    let dir: OpfsDirHandle;
    try {
      dir = await this.dirOf(path);
    } catch (e) {
      if (e instanceof IoError && e.code === IoErrorCode.NOT_FOUND) return false;
      throw e;
    }
    try {
      await dir.getFileHandle(baseName(path));
      return true;
    } catch (e) {
      const n = errName(e);
      if (n === 'TypeMismatchError') return true; // a directory
      if (n === 'NotFoundError') return false;
      throw mapError(e, path, 'exists');
    }
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, 'dir', true);
    const d = dir === '' ? this.root : await walkDirs(this.root, dir.split('/'), false, dir);
    const out: string[] = [];
    try {
      for await (const name of d.keys()) if (!(dir === '' && name === OPFS_RENAME_JOURNAL)) out.push(name);
    } catch (e) {
      throw mapError(e, dir, 'list');
    }
    return out.sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.checkUserPath(dir, 'dir');
    await walkDirs(this.root, dir.split('/'), true, dir);
  }

  async rename(from: string, to: string): Promise<void> {
    this.checkUserPath(from, 'from');
    this.checkUserPath(to, 'to');
    const run = this.renameChain.then(() => this.renameNow(from, to));
    this.renameChain = run.catch(() => {});
    return run;
  }

  private async renameNow(from: string, to: string): Promise<void> {
    const fromDir = await this.dirOf(from);
    let fh: OpfsFileHandle;
    try {
      fh = await fromDir.getFileHandle(baseName(from));
    } catch (e) {
      if (errName(e) === 'TypeMismatchError') throw isDirError(from);
      throw mapError(e, from, 'rename');
    }
    const toDir = await this.dirOf(to);
    if (await isDirectory(toDir, baseName(to))) throw isDirError(to);
    if (from === to) return;
    if (this.renameStrategy === 'move') {
      try {
        await fh.move!(toDir, baseName(to));
      } catch (e) {
        throw mapError(e, from, `move to ${to}`);
      }
      return;
    }
    await this.writeJournal(from, to);
    await this.finishRename(from, to);
  }

  private async writeJournal(from: string, to: string): Promise<void> {
    const h = await this.openRaw(OPFS_RENAME_JOURNAL, true);
    try {
      const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, from, to }));
      h.truncate(0);
      h.write(0, bytes);
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /** Steps 2 to 4 of a journaled rename: copy `from` over `to`, remove `from`, remove the journal. Idempotent. */
  private async finishRename(from: string, to: string): Promise<void> {
    const src = await this.openRaw(from, false);
    try {
      const dst = await this.openRaw(to, true);
      try {
        dst.truncate(0);
        const size = src.size();
        for (let off = 0; off < size; off += COPY_CHUNK) dst.write(off, src.read(off, COPY_CHUNK));
        await dst.sync();
      } finally {
        await dst.close();
      }
    } finally {
      await src.close();
    }
    await this.removeRaw(from);
    await this.removeRaw(OPFS_RENAME_JOURNAL);
  }

  /** Finishes a journaled rename that a crash interrupted (see the module documentation). */
  private async recoverRename(): Promise<void> {
    let journal: Uint8Array;
    try {
      const h = await this.openRaw(OPFS_RENAME_JOURNAL, false);
      try {
        journal = h.read(0, h.size());
      } finally {
        await h.close();
      }
    } catch (e) {
      if (e instanceof IoError && e.code === IoErrorCode.NOT_FOUND) return;
      throw e;
    }
    let parsed: { from?: unknown; to?: unknown; v?: unknown } | undefined;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(journal)) as typeof parsed;
    } catch {
      parsed = undefined; // torn in step 1: nothing else happened
    }
    const from = parsed?.from;
    const to = parsed?.to;
    if (parsed?.v !== 1 || typeof from !== 'string' || typeof to !== 'string') {
      await this.removeRaw(OPFS_RENAME_JOURNAL);
      return;
    }
    checkPath(from, 'journal.from');
    checkPath(to, 'journal.to');
    if (await this.exists(from)) await this.finishRename(from, to);
    else await this.removeRaw(OPFS_RENAME_JOURNAL);
  }

  private async openRaw(path: string, create: boolean): Promise<OpfsHandle> {
    const dir = await this.dirOf(path);
    try {
      const fh = await dir.getFileHandle(baseName(path), { create });
      return new OpfsHandle(path, await fh.createSyncAccessHandle());
    } catch (e) {
      throw mapError(e, path, 'open', ['NoModificationAllowedError', 'InvalidStateError']);
    }
  }

  private async removeRaw(path: string): Promise<void> {
    const dir = await this.dirOf(path);
    try {
      await dir.removeEntry(baseName(path));
    } catch (e) {
      if (errName(e) !== 'NotFoundError') throw mapError(e, path, 'remove');
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    this.checkUserPath(path, 'path');
    const dir = await this.dirOf(path);
    const name = baseName(path);
    const isDir = await isDirectory(dir, name);
    if (!isDir) {
      try {
        await dir.getFileHandle(name);
      } catch (e) {
        throw mapError(e, path, 'remove');
      }
    }
    try {
      await dir.removeEntry(name, { recursive: isDir && options.recursive === true });
    } catch (e) {
      if (errName(e) === 'InvalidModificationError') {
        throw new IoError(IoErrorCode.IO, 'directory is not empty', { path, cause: e });
      }
      throw mapError(e, path, 'remove');
    }
  }
}

/** Whether `name` in `dir` is a directory (false if missing or a file). */
async function isDirectory(dir: OpfsDirHandle, name: string): Promise<boolean> {
  try {
    await dir.getDirectoryHandle(name);
    return true;
  } catch (e) {
    const n = errName(e);
    if (n === 'NotFoundError' || n === 'TypeMismatchError') return false;
    throw mapError(e, name, 'stat');
  }
}

/**
 * Walks `segments` down from `start`, creating missing directories when `create`.
 * @throws IoError `HEARTH_NOT_FOUND` for a missing directory (or a file in the way, without `create`);
 *   `HEARTH_EXISTS` for a file in the way with `create`.
 */
async function walkDirs(start: OpfsDirHandle, segments: readonly string[], create: boolean, path: string): Promise<OpfsDirHandle> {
  let d = start;
  for (const s of segments) {
    try {
      d = await d.getDirectoryHandle(s, { create });
    } catch (e) {
      if (errName(e) === 'TypeMismatchError') {
        if (create) throw new IoError(IoErrorCode.EXISTS, 'a file exists at this path or a parent', { path, cause: e });
        throw notFound(path);
      }
      throw mapError(e, path, 'open directory');
    }
  }
  return d;
}
