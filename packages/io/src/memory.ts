/**
 * An in-memory {@link FileSystem}: for tests, simulations and databases that need no persistence.
 * Writes are "durable" immediately (there is nothing to lose); `supports.persistent` is false.
 *
 * Invariants:
 * 1. `dirs` holds every directory path, `""` (the root) included; a path is never in both `dirs` and `files`.
 * 2. The parent of every entry in `files` and `dirs` (other than `""`) is in `dirs`.
 * 3. For a `MemFile`, `bytes.subarray(0, length)` is the content; bytes past `length` are garbage and are zeroed
 *    before the file grows over them.
 */
import type { FileHandle, FileSystem, OpenOptions } from './types.js';
import { IoError, IoErrorCode } from './errors.js';
import { baseName, checkBytes, checkOffset, checkPath, closedError, isDirError, notFound, parentOf } from './_path.js';

/** A growable byte buffer: `bytes.subarray(0, length)` is the file's content. */
class MemFile {
  bytes = new Uint8Array(0);
  length = 0;

  ensure(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(capacity, this.bytes.length * 2, 64));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

class MemoryFileHandle implements FileHandle {
  private closed = false;
  constructor(
    readonly path: string,
    private readonly file: MemFile,
  ) {}

  private check(): void {
    if (this.closed) throw closedError(this.path);
  }

  read(offset: number, length: number): Uint8Array {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    this.check();
    const end = Math.min(this.file.length, offset + length);
    if (offset >= end) return new Uint8Array(0);
    return this.file.bytes.slice(offset, end);
  }

  readInto(offset: number, target: Uint8Array): number {
    checkOffset(offset, 'offset');
    checkBytes(target, 'target');
    this.check();
    const end = Math.min(this.file.length, offset + target.length);
    if (offset >= end) return 0;
    target.set(this.file.bytes.subarray(offset, end));
    return end - offset;
  }

  write(offset: number, data: Uint8Array): void {
    checkOffset(offset, 'offset');
    checkBytes(data);
    this.check();
    if (data.length === 0) return;
    const end = offset + data.length;
    this.file.ensure(end);
    if (offset > this.file.length) this.file.bytes.fill(0, this.file.length, offset);
    this.file.bytes.set(data, offset);
    if (end > this.file.length) this.file.length = end;
  }

  append(data: Uint8Array): number {
    checkBytes(data);
    this.check();
    const at = this.file.length;
    this.write(at, data);
    return at;
  }

  size(): number {
    this.check();
    return this.file.length;
  }

  truncate(size: number): void {
    checkOffset(size, 'size');
    this.check();
    if (size > this.file.length) {
      this.file.ensure(size);
      this.file.bytes.fill(0, this.file.length, size);
    }
    this.file.length = size;
  }

  async sync(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * In-memory file system. Directories are a set of paths; files map path → content.
 *
 * Handles keep a reference to their file's content, so a handle stays usable after its file is renamed or
 * removed (as on POSIX); the interface forbids relying on that.
 *
 * @example
 * ```ts
 * const fs = new MemoryFileSystem();
 * const h = await fs.open('a', { create: true });
 * h.append(new Uint8Array([1, 2, 3]));
 * ```
 */
export class MemoryFileSystem implements FileSystem {
  readonly name = 'memory';
  readonly supports = { persistent: false, atomicRename: true } as const;
  private readonly files = new Map<string, MemFile>();
  private readonly dirs = new Set<string>(['']);

  private requireDir(dir: string, path: string): void {
    if (!this.dirs.has(dir)) throw notFound(path);
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkPath(path);
    this.requireDir(parentOf(path), path);
    if (this.dirs.has(path)) throw isDirError(path);
    let file = this.files.get(path);
    if (file && options.exclusive) throw new IoError(IoErrorCode.EXISTS, 'file exists', { path });
    if (!file) {
      if (!options.create && !options.exclusive) throw notFound(path);
      file = new MemFile();
      this.files.set(path, file);
    } else if (options.truncate) {
      file.length = 0;
    }
    return new MemoryFileHandle(path, file);
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path, 'path', true);
    return this.files.has(path) || this.dirs.has(path);
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, 'dir', true);
    if (!this.dirs.has(dir)) throw notFound(dir);
    const out: string[] = [];
    for (const key of [...this.files.keys(), ...this.dirs]) {
      if (key !== '' && parentOf(key) === dir) out.push(baseName(key));
    }
    return out.sort();
  }

  async mkdir(dir: string): Promise<void> {
    checkPath(dir, 'dir');
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (this.files.has(d)) throw new IoError(IoErrorCode.EXISTS, 'a file exists at this path', { path: d });
      this.dirs.add(d);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    checkPath(from, 'from');
    checkPath(to, 'to');
    const file = this.files.get(from);
    if (!file) throw this.dirs.has(from) ? isDirError(from) : notFound(from);
    this.requireDir(parentOf(to), to);
    if (this.dirs.has(to)) throw isDirError(to);
    if (from === to) return;
    this.files.delete(from);
    this.files.set(to, file);
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    if (this.files.delete(path)) return;
    if (!this.dirs.has(path)) throw notFound(path);
    const prefix = path + '/';
    const children = [...this.files.keys(), ...this.dirs].filter((k) => k.startsWith(prefix));
    if (children.length > 0 && !options.recursive) {
      throw new IoError(IoErrorCode.IO, 'directory is not empty', { path });
    }
    for (const k of children) {
      this.files.delete(k);
      this.dirs.delete(k);
    }
    this.dirs.delete(path);
  }
}
