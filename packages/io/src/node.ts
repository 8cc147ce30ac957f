/**
 * `NodeFileSystem`: the {@link FileSystem} over Node's `fs`, rooted at one directory. Import it from
 * `@hearth/io/node` (a separate entry point, so browser bundles never pull in `node:fs`).
 *
 * How it meets the durability contract of `types.ts`:
 * 1. Byte operations use positional `fs.readSync`/`fs.writeSync` on a file descriptor (no shared file position),
 *    `ftruncateSync` and `fstatSync`; `sync()` is `fdatasync(2)` on the descriptor (data and size, not timestamps).
 * 2. `rename` is `rename(2)` (atomic replacement on POSIX file systems), followed by an `fsync` of the target's
 *    directory (and of the source's, when it differs) so that the new directory entry is itself durable.
 * 3. Creating a file (`open` that creates), `mkdir` and `remove` fsync the directory that gained or lost the entry
 *    before they resolve.
 *
 * Invariants:
 * 1. A handle touches its descriptor only while `closed` is false: a closed descriptor's number may be reused by
 *    the process for another file, so using it would read or write the wrong file.
 * 2. `close()` waits for an in-flight `sync()` before closing the descriptor, for the same reason.
 *
 * Errors: `ENOENT`/`ENOTDIR` → `HEARTH_NOT_FOUND`, `EEXIST` → `HEARTH_EXISTS`, `ENOSPC`/`EDQUOT` →
 * `HEARTH_QUOTA_EXCEEDED`, `EBADF` on a closed handle → `HEARTH_CLOSED`, anything else → `HEARTH_IO` with the
 * platform error as `cause`.
 *
 * @packageDocumentation
 */
import * as nfs from 'node:fs';
import { join, resolve } from 'node:path';
import type { FileHandle, FileSystem, FileSystemSupports, OpenOptions } from './types.js';
import { IoError, IoErrorCode } from './errors.js';
import { checkBytes, checkOffset, checkPath, closedError, isDirError, parentOf } from './_path.js';

const { O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_RDONLY } = nfs.constants;

/** Reads larger than this clamp their buffer to the file's size first (one `fstat`), so `read(0, 2 ** 40)` works. */
const CLAMP_READS_ABOVE = 1 << 16;

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/**
 * Maps a Node `fs` error to an {@link IoError}. Errors that are already `HearthError`s, and programmer errors
 * Node raises as `TypeError`/`RangeError` (bad arguments), pass through unchanged.
 */
function mapError(e: unknown, path: string, op: string): Error {
  if (e instanceof IoError || e instanceof TypeError || e instanceof RangeError) return e;
  const code = errnoOf(e);
  const detail = `${op} failed${code ? ` (${code})` : ''}`;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new IoError(IoErrorCode.NOT_FOUND, `no such file or directory: ${detail}`, { path, cause: e });
    case 'EEXIST':
      return new IoError(IoErrorCode.EXISTS, `file exists: ${detail}`, { path, cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
      return new IoError(IoErrorCode.QUOTA_EXCEEDED, `storage full: ${detail}`, { path, cause: e });
    case 'EBADF':
      return new IoError(IoErrorCode.CLOSED, `file handle is closed: ${detail}`, { path, cause: e });
    case 'EISDIR':
      return new IoError(IoErrorCode.IO, `is a directory: ${detail}`, { path, cause: e });
    default:
      return new IoError(IoErrorCode.IO, detail, { path, cause: e });
  }
}

/**
 * Fsyncs a directory so that entries created, renamed or removed in it are durable. Platforms that cannot open or
 * fsync a directory (Windows: `EISDIR`/`EPERM`; some file systems: `EINVAL`) are tolerated: there the
 * platform gives no way to do better.
 */
async function fsyncDir(abs: string): Promise<void> {
  let fd: nfs.promises.FileHandle | undefined;
  try {
    fd = await nfs.promises.open(abs, O_RDONLY);
    await fd.sync();
  } catch (e) {
    const code = errnoOf(e);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await fd?.close();
  }
}

class NodeFileHandle implements FileHandle {
  private closed = false;
  private inflightSync: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  private check(): void {
    if (this.closed) throw closedError(this.path);
  }

  read(offset: number, length: number): Uint8Array {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    this.check();
    try {
      if (length > CLAMP_READS_ABOVE) length = Math.max(0, Math.min(length, nfs.fstatSync(this.fd).size - offset));
      if (length === 0) return new Uint8Array(0);
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = nfs.readSync(this.fd, buf, got, length - got, offset + got);
        if (n === 0) break; // end of file
        got += n;
      }
      return got === length ? buf : buf.slice(0, got);
    } catch (e) {
      throw mapError(e, this.path, 'read');
    }
  }

  readInto(offset: number, target: Uint8Array): number {
    checkOffset(offset, 'offset');
    checkBytes(target, 'target');
    this.check();
    try {
      const length = target.length;
      let got = 0;
      while (got < length) {
        const n = nfs.readSync(this.fd, target, got, length - got, offset + got);
        if (n === 0) break; // end of file
        got += n;
      }
      return got;
    } catch (e) {
      throw mapError(e, this.path, 'read');
    }
  }

  write(offset: number, data: Uint8Array): void {
    checkOffset(offset, 'offset');
    checkBytes(data);
    this.check();
    this.writeAt(offset, data);
  }

  private writeAt(offset: number, data: Uint8Array): void {
    try {
      let done = 0;
      while (done < data.length) {
        done += nfs.writeSync(this.fd, data, done, data.length - done, offset + done);
      }
    } catch (e) {
      throw mapError(e, this.path, 'write');
    }
  }

  append(data: Uint8Array): number {
    checkBytes(data);
    const at = this.size();
    this.writeAt(at, data);
    return at;
  }

  size(): number {
    this.check();
    try {
      return nfs.fstatSync(this.fd).size;
    } catch (e) {
      throw mapError(e, this.path, 'fstat');
    }
  }

  truncate(size: number): void {
    checkOffset(size, 'size');
    this.check();
    try {
      nfs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw mapError(e, this.path, 'truncate');
    }
  }

  async sync(): Promise<void> {
    this.check();
    // fdatasync(2): the data and the metadata needed to read it back (the size), not timestamps, as LevelDB and
    // RocksDB sync their logs on Linux. A write inside a preallocated file then needs no inode update.
    const p = new Promise<void>((res, rej) => nfs.fdatasync(this.fd, (e) => (e ? rej(mapError(e, this.path, 'fdatasync')) : res())));
    this.inflightSync = p.catch(() => {});
    try {
      await p;
    } finally {
      this.inflightSync = null;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inflightSync) await this.inflightSync;
    await new Promise<void>((res, rej) => nfs.close(this.fd, (e) => (e ? rej(mapError(e, this.path, 'close')) : res())));
  }
}

/** Options for {@link NodeFileSystem}. */
export interface NodeFileSystemOptions {
  /** Create the root directory (and its parents) if missing. Default false: a missing root makes calls fail. */
  create?: boolean;
}

/**
 * A {@link FileSystem} over Node's `fs`, rooted at a directory. Paths are relative to the root and cannot escape
 * it (`..` segments are refused).
 *
 * @example
 * ```ts
 * import { NodeFileSystem } from '@hearth/io/node';
 * const fs = new NodeFileSystem('/var/lib/hearth', { create: true });
 * ```
 */
export class NodeFileSystem implements FileSystem {
  readonly name = 'node';
  readonly supports: FileSystemSupports = { persistent: true, atomicRename: true, preallocate: true };
  /** The absolute path of the root directory. */
  readonly root: string;

  /**
   * @param root the directory to root at (relative paths resolve against the working directory).
   * @throws TypeError if `root` is not a non-empty string; IoError if `create` is set and it cannot be created.
   */
  constructor(root: string, options: NodeFileSystemOptions = {}) {
    if (typeof root !== 'string' || root === '') throw new TypeError('"root" expected a non-empty string');
    this.root = resolve(root);
    if (options.create) {
      try {
        nfs.mkdirSync(this.root, { recursive: true });
      } catch (e) {
        throw mapError(e, this.root, 'mkdir root');
      }
    }
  }

  private abs(path: string): string {
    return path === '' ? this.root : join(this.root, ...path.split('/'));
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkPath(path);
    const abs = this.abs(path);
    const trunc = options.truncate ? O_TRUNC : 0;
    let fd: number;
    let created = false;
    try {
      if (options.exclusive) {
        fd = nfs.openSync(abs, O_RDWR | O_CREAT | O_EXCL | trunc);
        created = true;
      } else {
        try {
          fd = nfs.openSync(abs, O_RDWR | trunc);
        } catch (e) {
          if (errnoOf(e) !== 'ENOENT' || !options.create) throw e;
          // Create it, knowing that we did (so the directory entry can be made durable).
          try {
            fd = nfs.openSync(abs, O_RDWR | O_CREAT | O_EXCL);
            created = true;
          } catch (e2) {
            if (errnoOf(e2) !== 'EEXIST') throw e2;
            fd = nfs.openSync(abs, O_RDWR | trunc); // lost a race with another creator
          }
        }
      }
    } catch (e) {
      throw mapError(e, path, 'open');
    }
    if (created) {
      try {
        await fsyncDir(this.abs(parentOf(path)));
      } catch (e) {
        nfs.closeSync(fd);
        throw mapError(e, path, 'fsync directory');
      }
    }
    return new NodeFileHandle(path, fd);
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path, 'path', true);
    try {
      await nfs.promises.stat(this.abs(path));
      return true;
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw mapError(e, path, 'stat');
    }
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, 'dir', true);
    try {
      // Default sort: UTF-16 code-unit order, the same as every other backend.
      return (await nfs.promises.readdir(this.abs(dir))).sort();
    } catch (e) {
      throw mapError(e, dir, 'list');
    }
  }

  async mkdir(dir: string): Promise<void> {
    checkPath(dir, 'dir');
    let first: string | undefined;
    try {
      first = await nfs.promises.mkdir(this.abs(dir), { recursive: true });
    } catch (e) {
      const code = errnoOf(e);
      // A file in the way: at the path itself (EEXIST) or at a parent (ENOTDIR).
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw new IoError(IoErrorCode.EXISTS, 'a file exists at this path or a parent', { path: dir, cause: e });
      }
      throw mapError(e, dir, 'mkdir');
    }
    if (first === undefined) {
      // Nothing created: the path existed. It must be a directory.
      const st = await nfs.promises.stat(this.abs(dir));
      if (!st.isDirectory()) throw new IoError(IoErrorCode.EXISTS, 'a file exists at this path', { path: dir });
      return;
    }
    // Make every new entry durable: the parent of the first created directory gained an entry, and so did each
    // created directory but the leaf.
    try {
      const rel = first.slice(this.root.length + 1).split(/[\\/]/).join('/');
      await fsyncDir(this.abs(parentOf(rel)));
      const parts = dir.split('/');
      for (let i = rel.split('/').length; i < parts.length; i++) await fsyncDir(this.abs(parts.slice(0, i).join('/')));
    } catch (e) {
      throw mapError(e, dir, 'fsync directory');
    }
  }

  async rename(from: string, to: string): Promise<void> {
    checkPath(from, 'from');
    checkPath(to, 'to');
    const src = this.abs(from);
    const dst = this.abs(to);
    try {
      const st = await nfs.promises.stat(src);
      if (st.isDirectory()) throw isDirError(from);
    } catch (e) {
      throw mapError(e, from, 'rename');
    }
    if (from === to) return;
    try {
      await nfs.promises.rename(src, dst);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw isDirError(to);
      throw mapError(e, to, 'rename');
    }
    try {
      await fsyncDir(this.abs(parentOf(to)));
      if (parentOf(from) !== parentOf(to)) await fsyncDir(this.abs(parentOf(from)));
    } catch (e) {
      throw mapError(e, to, 'fsync directory');
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    const abs = this.abs(path);
    try {
      const st = await nfs.promises.lstat(abs);
      if (!st.isDirectory()) await nfs.promises.unlink(abs);
      else if (options.recursive) await nfs.promises.rm(abs, { recursive: true });
      else await nfs.promises.rmdir(abs);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new IoError(IoErrorCode.IO, 'directory is not empty', { path, cause: e });
      }
      throw mapError(e, path, 'remove');
    }
    try {
      await fsyncDir(this.abs(parentOf(path)));
    } catch (e) {
      throw mapError(e, path, 'fsync directory');
    }
  }
}
