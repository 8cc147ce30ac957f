/**
 * `FaultFileSystem`: a {@link FileSystem} wrapper for tests that models durability and injects faults: crashes at
 * any chosen operation (with torn writes), bit flips in stored files, and a storage quota. In the manner of
 * LevelDB's `FaultInjectionTestEnv`, extended to enumerate every crash point.
 *
 * ## The durability model
 * The wrapper keeps, next to the inner file system that serves reads, a model of what is on stable storage:
 * - the **namespace** (which files and directories exist). Creating a file, `mkdir`, `rename` and `remove` are
 *   durable as soon as they resolve (clauses 2 and 3 of the contract in `types.ts`);
 * - per file (per inode: a renamed file keeps its state), its **durable content** (as of its last `sync()`) and
 *   the ordered list of **pending** writes and truncates made since (including the `truncate` of an
 *   `open(..., { truncate: true })`). The current content is always the durable content with every pending
 *   operation applied in order.
 *
 * `sync()` on any handle of a file makes all of that file's pending operations durable (as `fsync(2)` does for
 * the inode).
 *
 * ## Crashes
 * Every state-changing call is an **operation**, counted globally from 1 in call order: `create` (an `open` that
 * creates), `write` (`write`/`append` of at least one byte), `truncate` (`truncate`, and `open` with `truncate` on
 * an existing file), `sync`, `mkdir` (when it creates something), `rename` (other than onto itself) and `remove`.
 * Reads, `size`, `exists`, `list`, `close` and calls that fail their argument checks are not operations.
 *
 * {@link FaultFileSystem.crashAt} arms a crash at the n-th operation (optionally counting only some kinds). The
 * crashing operation **does not happen**, except that a crashing write may be **torn**: the first `tear` bytes of
 * its data land as a pending write. The call throws {@link InjectedCrashError}, and from then on every call on the
 * file system and its handles throws it too. To enumerate every crash point of a workload, run it once without a
 * crash and read {@link FaultFileSystem.opCount}, then run it again on a fresh wrapper for each `n` in
 * `1..opCount()` with `crashAt(n)`.
 *
 * {@link FaultFileSystem.afterCrash} returns a new `MemoryFileSystem` holding exactly what the crash leaves: the
 * namespace as of the crash and, for each file, its durable content followed by the first `k` of its pending
 * operations, where `k` is chosen per file by the `unsynced` mode:
 * - `'lose'`: `k = 0`, every unsynced byte is lost (the strictest reading of the contract);
 * - `'keep'`: every pending operation survives, a torn crashing write as its prefix (as if the OS had written
 *   back its cache just before the crash);
 * - `'random'` (default): `k` uniform in `0..pending`, and when the last surviving operation is a write of more
 *   than one byte, with probability 1/2 only a uniformly chosen strict prefix of it survives. Choices come from a
 *   PRNG seeded by `seed`, so a run is reproducible from its seed.
 *
 * What the model does not cover: writeback out of order (a later unsynced write surviving while an earlier one is
 * lost), or damage to synced data by the crash. Checksummed formats detect those; bit flips
 * ({@link FaultFileSystem.flipBit}) test that detection directly.
 *
 * Invariants:
 * 1. The model's namespace mirrors the inner file system's until a crash (the model changes only after the inner
 *    call succeeded).
 * 2. For each inode, applying `pending` in order to `durable` yields the inner file's current content, and `size`
 *    is its length.
 * 3. After a crash nothing changes the model: every call throws before touching it.
 *
 * @packageDocumentation
 */
import type { FileHandle, FileSystem, FileSystemSupports, OpenOptions } from './types.js';
import { InjectedCrashError, IoError, IoErrorCode } from './errors.js';
import { checkBytes, checkOffset, checkPath, closedError, notFound, parentOf } from './_path.js';
import { MemoryFileSystem } from './memory.js';

/** The kinds of counted operations (see the package documentation). */
export type FaultOpKind = 'create' | 'write' | 'truncate' | 'sync' | 'mkdir' | 'rename' | 'remove';

/** All operation kinds, in a stable order. */
export const FAULT_OP_KINDS: readonly FaultOpKind[] = ['create', 'write', 'truncate', 'sync', 'mkdir', 'rename', 'remove'];

/** An operation as reported to {@link FaultOptions.onOp}. */
export interface FaultOp {
  /** 1-based index among all operations. */
  readonly index: number;
  readonly kind: FaultOpKind;
  /** The file or directory (for `rename`, the source; `to` holds the target). */
  readonly path: string;
  readonly to?: string;
  /** For `write`: the byte length of the data. For `truncate`: the new size. */
  readonly bytes?: number;
}

/** When and how to crash. */
export interface CrashPlan {
  /** 1-based index of the operation to crash at, counted among `kinds`. */
  at: number;
  /** Operation kinds to count (default: all). */
  kinds?: readonly FaultOpKind[];
  /**
   * For a crashing write: how many leading bytes of its data land (clamped to its length). Default 0 (none).
   * `'random'` picks a length in `0..length-1` from the seeded PRNG.
   */
  tear?: number | 'random';
}

/** What happens to unsynced operations in {@link FaultFileSystem.afterCrash}. */
export type UnsyncedMode = 'lose' | 'keep' | 'random';

/** Options for {@link FaultFileSystem}. */
export interface FaultOptions {
  /** Seed of the PRNG behind every random choice (default 1). Print it when a randomised test fails. */
  seed?: number;
  /** Called for each operation before it happens; may call `crash()` to crash at it. */
  onOp?: (op: FaultOp) => void;
}

type Pending = { kind: 'write'; offset: number; data: Uint8Array } | { kind: 'truncate'; size: number };

/** A growable byte buffer: `bytes.subarray(0, length)` is the content; bytes past `length` are zero. */
class Buf {
  bytes: Uint8Array;
  length: number;
  constructor(init: Uint8Array = new Uint8Array(0)) {
    this.bytes = init.slice();
    this.length = init.length;
  }
  private ensure(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(capacity, this.bytes.length * 2, 64));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  apply(op: Pending): void {
    if (op.kind === 'write') {
      if (op.data.length === 0) return;
      const end = op.offset + op.data.length;
      this.ensure(end);
      this.bytes.set(op.data, op.offset);
      if (end > this.length) this.length = end;
    } else {
      this.ensure(op.size);
      if (op.size < this.length) this.bytes.fill(0, op.size, this.length);
      this.length = op.size;
    }
  }
  content(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** A file's modelled state. Renames move the inode to a new name; handles hold the inode. */
class Inode {
  durable: Buf;
  pending: Pending[] = [];
  /** Current size (durable with pending applied). */
  size: number;
  constructor(content?: Uint8Array) {
    this.durable = new Buf(content);
    this.size = this.durable.length;
  }
  /** Durable content followed by the first `k` pending operations, the last one cut to `tear` bytes if given. */
  replay(k: number, tear?: number): Uint8Array {
    const b = new Buf(this.durable.content());
    for (let i = 0; i < k; i++) {
      const op = this.pending[i];
      if (i === k - 1 && tear !== undefined && op.kind === 'write') b.apply({ ...op, data: op.data.subarray(0, tear) });
      else b.apply(op);
    }
    return b.content();
  }
}

/** mulberry32: a small, fast, seedable PRNG (uniform 32-bit outputs). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FaultFileHandle implements FileHandle {
  closed = false;
  constructor(
    readonly path: string,
    readonly inode: Inode,
    readonly inner: FileHandle,
    private readonly fs: FaultFileSystem,
  ) {}

  private check(): void {
    this.fs._checkAlive();
    if (this.closed) throw closedError(this.path);
  }

  read(offset: number, length: number): Uint8Array {
    checkOffset(offset, 'offset');
    checkOffset(length, 'length');
    this.check();
    return this.inner.read(offset, length);
  }

  readInto(offset: number, target: Uint8Array): number {
    checkOffset(offset, 'offset');
    checkBytes(target, 'target');
    this.check();
    if (this.inner.readInto !== undefined) return this.inner.readInto(offset, target);
    const got = this.inner.read(offset, target.length);
    target.set(got);
    return got.length;
  }

  write(offset: number, data: Uint8Array): void {
    checkOffset(offset, 'offset');
    checkBytes(data);
    this.check();
    this.fs._write(this, offset, data);
  }

  append(data: Uint8Array): number {
    checkBytes(data);
    this.check();
    const at = this.inode.size;
    this.fs._write(this, at, data);
    return at;
  }

  size(): number {
    this.check();
    return this.inner.size();
  }

  truncate(size: number): void {
    checkOffset(size, 'size');
    this.check();
    this.fs._truncate(this, size);
  }

  async sync(): Promise<void> {
    this.check();
    await this.fs._sync(this);
  }

  async close(): Promise<void> {
    this.fs._checkAlive();
    if (this.closed) return;
    this.closed = true;
    this.fs._handles.delete(this);
    await this.inner.close();
  }
}

/**
 * Wraps `inner` (normally a fresh `MemoryFileSystem`) with the durability model and fault injection described in
 * the package documentation. Files already in `inner` are taken as durable (scanned on the first call).
 *
 * @example Enumerate every crash point of a workload
 * ```ts
 * const dry = new FaultFileSystem(new MemoryFileSystem());
 * await workload(dry);
 * for (let n = 1; n <= dry.opCount(); n++) {
 *   const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: n });
 *   fs.crashAt(n);
 *   await workload(fs).catch((e) => { if (!(e instanceof InjectedCrashError)) throw e; });
 *   await checkRecovery(await fs.afterCrash({ unsynced: 'random' }));
 * }
 * ```
 */
export class FaultFileSystem implements FileSystem {
  readonly name: string;
  readonly supports: FileSystemSupports;
  /** @internal open handles, closed on crash. */
  readonly _handles = new Set<FaultFileHandle>();

  private readonly files = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['']);
  private readonly counts = new Map<FaultOpKind, number>();
  private total = 0;
  private plan: { at: number; kinds: ReadonlySet<FaultOpKind>; tear: number | 'random' } | null = null;
  private planCount = 0;
  private crashedAt: string | null = null;
  private quota: number | undefined;
  private readonly rand: () => number;
  private readonly seed: number;
  private readonly onOp: ((op: FaultOp) => void) | undefined;
  private scanned: Promise<void> | null = null;

  /**
   * @param inner the file system to wrap; its existing files are treated as durable.
   * @throws TypeError if `seed` is not an integer.
   */
  constructor(
    private readonly inner: FileSystem,
    options: FaultOptions = {},
  ) {
    this.seed = options.seed ?? 1;
    if (!Number.isInteger(this.seed)) throw new TypeError(`"seed" expected an integer, got ${this.seed}`);
    this.rand = prng(this.seed);
    this.onOp = options.onOp;
    this.name = `fault(${inner.name})`;
    this.supports = inner.supports;
  }

  // ------------------------------------------------------------------------------------------------- controls

  /**
   * Arms a crash at the `plan.at`-th operation from now on counted among `plan.kinds` (a number is `{ at }`,
   * counting every kind). Counting starts at the next operation; replaces any earlier plan.
   * @throws RangeError if `at` is not a positive integer or `tear` is negative.
   */
  crashAt(plan: number | CrashPlan): void {
    const p = typeof plan === 'number' ? { at: plan } : plan;
    if (!Number.isSafeInteger(p.at) || p.at < 1) throw new RangeError(`"at" expected a positive integer, got ${p.at}`);
    const tear = p.tear ?? 0;
    if (tear !== 'random' && (!Number.isSafeInteger(tear) || tear < 0)) {
      throw new RangeError(`"tear" expected a non-negative integer or 'random', got ${tear}`);
    }
    const kinds = new Set(p.kinds ?? FAULT_OP_KINDS);
    for (const k of kinds) if (!FAULT_OP_KINDS.includes(k)) throw new RangeError(`unknown operation kind ${k}`);
    this.plan = { at: p.at, kinds, tear };
    this.planCount = 0;
  }

  /** Crashes now: every later call throws {@link InjectedCrashError}. Idempotent. */
  crash(reason = 'crash() called'): void {
    if (this.crashedAt !== null) return;
    this.crashedAt = reason;
    for (const h of this._handles) {
      h.closed = true;
      void h.inner.close().catch(() => {});
    }
    this._handles.clear();
  }

  /** Whether the file system has crashed. */
  get crashed(): boolean {
    return this.crashedAt !== null;
  }

  /** Operations counted so far (of the given kinds; default all). Crashed operations are counted. */
  opCount(kinds: readonly FaultOpKind[] = FAULT_OP_KINDS): number {
    let n = 0;
    for (const k of kinds) n += this.counts.get(k) ?? 0;
    return n;
  }

  /**
   * Sets a storage quota: a write or truncate that would make the total size of all files exceed `bytes` throws
   * `HEARTH_QUOTA_EXCEEDED`. A write lands the prefix of its data that fits (as `write(2)` does on `ENOSPC`), a
   * truncate changes nothing. `undefined` removes the quota. Files already larger are not affected.
   * @throws RangeError for a negative or non-integer `bytes`.
   */
  setQuota(bytes: number | undefined): void {
    if (bytes !== undefined) checkOffset(bytes, 'bytes');
    this.quota = bytes;
  }

  /**
   * Flips bit `bit` (0 = least significant) of byte `byteOffset` of the **stored** (durable) content of file
   * `path`, as media corruption would. The file's current content changes too, unless a pending write has
   * overwritten that byte since its last sync. Not an operation (not counted).
   * @throws RangeError if `byteOffset` is outside the durable content or `bit` is not in 0..7.
   * @throws IoError `HEARTH_NOT_FOUND` if there is no such file; InjectedCrashError after a crash.
   */
  async flipBit(path: string, byteOffset: number, bit: number): Promise<void> {
    checkPath(path);
    checkOffset(byteOffset, 'byteOffset');
    if (!Number.isInteger(bit) || bit < 0 || bit > 7) throw new RangeError(`"bit" expected 0..7, got ${bit}`);
    await this.alive();
    const inode = this.files.get(path);
    if (!inode) throw notFound(path);
    if (byteOffset >= inode.durable.length) {
      throw new RangeError(`"byteOffset" ${byteOffset} is outside the durable content (${inode.durable.length} bytes)`);
    }
    inode.durable.bytes[byteOffset] ^= 1 << bit;
    // Recompute the current byte (durable, then every pending operation) and store it in the inner file.
    let value = inode.durable.bytes[byteOffset];
    let size = inode.durable.length;
    for (const op of inode.pending) {
      if (op.kind === 'write') {
        if (byteOffset >= op.offset && byteOffset < op.offset + op.data.length) value = op.data[byteOffset - op.offset];
        if (op.data.length > 0) size = Math.max(size, op.offset + op.data.length);
      } else {
        if (op.size <= byteOffset) value = 0;
        size = op.size;
      }
    }
    if (byteOffset >= size) return;
    const open = [...this._handles].find((h) => h.inode === inode);
    if (open) open.inner.write(byteOffset, Uint8Array.of(value));
    else {
      const h = await this.inner.open(path);
      try {
        h.write(byteOffset, Uint8Array.of(value));
      } finally {
        await h.close();
      }
    }
  }

  /** The durable content of file `path` as the model holds it (a copy), or `undefined` if there is no such file. */
  durableContent(path: string): Uint8Array | undefined {
    return this.files.get(checkPath(path))?.durable.content();
  }

  /**
   * Crashes (if not crashed yet) and returns a new `MemoryFileSystem` holding exactly what the crash leaves,
   * per the model in the package documentation. May be called more than once; `'random'` draws new choices each
   * time from the same PRNG stream.
   */
  async afterCrash(options: { unsynced?: UnsyncedMode } = {}): Promise<MemoryFileSystem> {
    const mode = options.unsynced ?? 'random';
    if (mode !== 'lose' && mode !== 'keep' && mode !== 'random') throw new RangeError(`unknown unsynced mode ${mode}`);
    await this.ready(); // a crash before the first call still leaves the files that were there
    this.crash('afterCrash() called');
    const out = new MemoryFileSystem();
    for (const d of [...this.dirs].sort()) if (d !== '') await out.mkdir(d);
    for (const [path, inode] of [...this.files].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const n = inode.pending.length;
      const k = mode === 'lose' ? 0 : mode === 'keep' ? n : Math.floor(this.rand() * (n + 1));
      let tear: number | undefined;
      const last = k > 0 ? inode.pending[k - 1] : undefined;
      if (mode === 'random' && last?.kind === 'write' && last.data.length > 1 && this.rand() < 0.5) {
        tear = Math.floor(this.rand() * last.data.length);
      }
      const content = inode.replay(k, tear);
      const h = await out.open(path, { create: true });
      h.write(0, content);
      await h.close();
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------- internals

  /** @internal throws the crash error once crashed. */
  _checkAlive(): void {
    if (this.crashedAt !== null) throw new InjectedCrashError(`file system crashed earlier (${this.crashedAt})`);
  }

  /** Loads the inner file system's existing files as durable state, once. */
  private ready(): Promise<void> {
    this.scanned ??= this.scan('');
    return this.scanned;
  }

  /** Throws after a crash, else waits for the initial scan. Every public call starts here. */
  private async alive(): Promise<void> {
    this._checkAlive();
    await this.ready();
    this._checkAlive();
  }

  private async scan(dir: string): Promise<void> {
    for (const name of await this.inner.list(dir)) {
      const path = dir === '' ? name : `${dir}/${name}`;
      let h: FileHandle;
      try {
        h = await this.inner.open(path);
      } catch (e) {
        if (e instanceof IoError && e.code === IoErrorCode.IO) {
          // A directory (opening a directory as a file is HEARTH_IO by contract).
          this.dirs.add(path);
          await this.scan(path);
          continue;
        }
        throw e;
      }
      try {
        this.files.set(path, new Inode(h.read(0, h.size())));
      } finally {
        await h.close();
      }
    }
  }

  /** The plan that fired (set just before its crash error is thrown), so a write can tell it is the crashing one. */
  private fired: object | null = null;

  /** Counts an operation, reports it, and throws {@link InjectedCrashError} if the plan crashes at it. */
  private step(kind: FaultOpKind, path: string, extra: { to?: string; bytes?: number } = {}): void {
    this._checkAlive();
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.total++;
    const op: FaultOp = { index: this.total, kind, path, ...extra };
    this.onOp?.(op);
    this._checkAlive(); // onOp may have crashed us
    if (this.plan && this.plan.kinds.has(kind) && ++this.planCount === this.plan.at) {
      this.fired = this.plan;
      this.plan = null;
      throw this.crashNow(op);
    }
  }

  private crashNow(op: FaultOp): InjectedCrashError {
    const reason = `injected crash at operation ${op.index} (${op.kind} ${op.path}${op.to ? ` -> ${op.to}` : ''})`;
    this.crash(reason);
    return new InjectedCrashError(reason);
  }

  private totalSize(): number {
    let n = 0;
    for (const inode of this.files.values()) n += inode.size;
    return n;
  }

  /** @internal */
  _write(h: FaultFileHandle, offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const inode = h.inode;
    let landed = data.length;
    if (this.quota !== undefined) {
      const room = this.quota - this.totalSize();
      const maxEnd = inode.size + Math.max(0, room);
      if (offset + data.length > maxEnd) {
        landed = Math.max(0, Math.min(data.length, maxEnd - offset));
      }
    }
    const plan = this.plan;
    try {
      this.step('write', h.path, { bytes: data.length });
    } catch (e) {
      if (plan !== null && this.fired === plan) {
        // This write is the crashing one: record its torn prefix (the model is all that survives a crash).
        const want = plan.tear === 'random' ? Math.floor(this.rand() * data.length) : plan.tear;
        const tear = Math.min(want, landed);
        if (tear > 0) inode.pending.push({ kind: 'write', offset, data: data.slice(0, tear) });
      }
      throw e;
    }
    const part = landed === data.length ? data : data.subarray(0, landed);
    if (part.length > 0) {
      h.inner.write(offset, part);
      inode.pending.push({ kind: 'write', offset, data: part.slice() });
      inode.size = Math.max(inode.size, offset + part.length);
    }
    if (landed < data.length) {
      throw new IoError(IoErrorCode.QUOTA_EXCEEDED, `injected quota of ${this.quota} bytes exceeded (${landed} of ${data.length} bytes written)`, {
        path: h.path,
      });
    }
  }

  /** @internal */
  _truncate(h: FaultFileHandle, size: number): void {
    const inode = h.inode;
    if (this.quota !== undefined && size > inode.size && this.totalSize() + (size - inode.size) > this.quota) {
      throw new IoError(IoErrorCode.QUOTA_EXCEEDED, `injected quota of ${this.quota} bytes exceeded by truncate`, {
        path: h.path,
      });
    }
    this.step('truncate', h.path, { bytes: size });
    h.inner.truncate(size);
    inode.pending.push({ kind: 'truncate', size });
    inode.size = size;
  }

  /** @internal */
  async _sync(h: FaultFileHandle): Promise<void> {
    this.step('sync', h.path);
    await h.inner.sync();
    this._checkAlive(); // crashed while the inner sync was in flight: it did not happen
    const inode = h.inode;
    for (const op of inode.pending) inode.durable.apply(op);
    inode.pending = [];
  }

  // ------------------------------------------------------------------------------------------------- FileSystem

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    checkPath(path);
    await this.alive();
    const existing = this.files.get(path);
    const parentOk = this.dirs.has(parentOf(path)) && !this.dirs.has(path);
    if (!existing && (options.create || options.exclusive) && parentOk) this.step('create', path);
    else if (existing && options.truncate && !options.exclusive) this.step('truncate', path, { bytes: 0 });
    const inner = await this.inner.open(path, options);
    this._checkAlive();
    let inode = existing;
    if (!inode) {
      inode = new Inode();
      this.files.set(path, inode);
    } else if (options.truncate) {
      inode.pending.push({ kind: 'truncate', size: 0 });
      inode.size = 0;
    }
    const h = new FaultFileHandle(path, inode, inner, this);
    this._handles.add(h);
    return h;
  }

  async exists(path: string): Promise<boolean> {
    checkPath(path, 'path', true);
    await this.alive();
    return this.inner.exists(path);
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, 'dir', true);
    await this.alive();
    return this.inner.list(dir);
  }

  async mkdir(dir: string): Promise<void> {
    checkPath(dir, 'dir');
    await this.alive();
    const parts = dir.split('/');
    const missing: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!this.dirs.has(d) && !this.files.has(d)) missing.push(d);
    }
    const blocked = parts.some((_, i) => this.files.has(parts.slice(0, i + 1).join('/')));
    if (missing.length > 0 && !blocked) this.step('mkdir', dir);
    await this.inner.mkdir(dir);
    this._checkAlive();
    for (const d of missing) this.dirs.add(d);
  }

  async rename(from: string, to: string): Promise<void> {
    checkPath(from, 'from');
    checkPath(to, 'to');
    await this.alive();
    const inode = this.files.get(from);
    if (inode && from !== to && this.dirs.has(parentOf(to)) && !this.dirs.has(to)) this.step('rename', from, { to });
    await this.inner.rename(from, to);
    this._checkAlive();
    if (inode && from !== to) {
      this.files.delete(from);
      this.files.set(to, inode);
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkPath(path);
    await this.alive();
    if (this.files.has(path) || this.dirs.has(path)) this.step('remove', path);
    await this.inner.remove(path, options);
    this._checkAlive();
    if (this.files.delete(path)) return;
    const prefix = path + '/';
    for (const k of [...this.files.keys()]) if (k.startsWith(prefix)) this.files.delete(k);
    for (const k of [...this.dirs]) if (k.startsWith(prefix)) this.dirs.delete(k);
    this.dirs.delete(path);
  }
}
