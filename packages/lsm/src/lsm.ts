/**
 * The LSM engine: `openLsm` and the {@link Lsm} it returns (contract in `types.ts`).
 *
 * Write path: a write takes the next sequence number and goes into the memtable (a skiplist). A full memtable
 * becomes the immutable memtable and is flushed in the background to one sorted run of SSTables; the run becomes
 * live by a synced manifest edit, which also records the applied position of the newest write it holds.
 * Compaction (the Unified Compaction Strategy, docs/architecture.md) merges runs in the background.
 *
 * Read path: memtable, then immutable memtable, then runs newest first; the first version visible at the read's
 * sequence wins. Runs hold disjoint sequence ranges, so the first run with a visible version has the newest one.
 *
 * Invariants:
 * 1. Runs in a version are ordered newest first by run id; every sequence number in a run is above every sequence
 *    number in the runs after it (flushes add a run in front; compaction replaces a contiguous group of runs by one
 *    run in the same place, with the group's largest id).
 * 2. Within a run, tables are sorted by key, do not overlap, and a user key's versions never span two tables.
 * 3. A table file is written and synced before the manifest edit that adds it is appended; the edit is synced
 *    before any reader can see the table; a file is removed only when no version references it any more, which
 *    happens only after the edit that dropped it was synced.
 * 4. Iterators pin the version they started on (so its files stay open); snapshots pin nothing but hold back
 *    compaction: a version with sequence s, under a newer version of its key with sequence p, is dropped only if no
 *    live snapshot reads at a sequence in [s, p) (no reader can see it: RocksDB's snapshot stripes); a tombstone is
 *    dropped only if it is at or below every live snapshot (or the latest sequence when there is none) and no older
 *    run holds its key, so every older version under it is dropped too (LevelDB's `DBImpl::DoCompactionWork`).
 * 5. Background work is serialized per kind: at most one flush and one compaction at a time; manifest edits are
 *    serialized by `manifestLock`, and each installs its version immediately after its edit is durable.
 *
 * @packageDocumentation
 */
import { CorruptionError, IoError, IoErrorCode, type FileHandle, type FileSystem } from '@hearth/io';
import { compareBytes, compareRange, prefix32At } from './_bytes.js';
import { bloomHash } from './_bloom.js';
import { BlockCache } from './_cache.js';
import { KIND_DELETE, KIND_PUT, MAX_SEQUENCE, SEQ_SENTINEL, CURRENT_TMP, MANIFEST_PREFIX, TABLE_SUFFIX } from './_format.js';
import { MergeIter, MemIter, type InternalIter } from './_iter.js';
import {
  ManifestWriter,
  applyEdit,
  emptyState,
  fileName,
  readCurrentManifest,
  type Edit,
  type ManifestState,
  type TableMeta,
} from './_manifest.js';
import { Memtable, NIL } from './_memtable.js';
import { RunIter, TableReader, TableWriter, type GetResult, type RunTable, type TableOptions } from './_table.js';
import type { BatchOp, Entry, Lsm, LsmOptions, LsmStats, RangeOptions, Snapshot, WriteOptions } from './types.js';

const RESOLVED: Promise<void> = Promise.resolve();
/** Default block cache capacity (bytes): 128 MiB, reasons in `LsmOptions.blockCacheBytes` (types.ts). */
export const DEFAULT_BLOCK_CACHE_BYTES = 128 * 1024 * 1024;
/**
 * A flush or compaction yields to the event loop after this many entries or {@link YIELD_BYTES} bytes of keys and
 * values, whichever comes first: slices of well under a millisecond, so that the work interleaves with the caller's
 * I/O waits (the Database's fsyncs) instead of holding the thread for a whole table. A yield costs a few
 * microseconds (one `setImmediate`), under 1% of a 64 KiB slice.
 */
const YIELD_EVERY = 512;
/** See {@link YIELD_EVERY}. */
const YIELD_BYTES = 64 * 1024;

let yieldChannel: { port: MessagePort; waiting: (() => void)[] } | null = null;

/**
 * Yields to the event loop (one macrotask): `setImmediate` in Node; elsewhere a `MessageChannel` message, because
 * browsers clamp nested `setTimeout(0)` to 4 ms (measured in a Chromium worker: 4.1 ms per chained yield against
 * ~19 µs per message), which would make a flush of a 16 MiB memtable, yielding every 512 entries, idle for
 * ~0.4 s. The channel is made on first use (no side effect at import).
 */
export function yieldNow(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise<void>((r) => setImmediate(r));
  if (typeof MessageChannel !== 'function') return new Promise<void>((r) => setTimeout(r, 0));
  if (yieldChannel === null) {
    const ch = new MessageChannel();
    const waiting: (() => void)[] = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    (ch.port1 as { unref?: () => void }).unref?.(); // a Node-like runtime without setImmediate: do not hold it open
    yieldChannel = { port: ch.port2, waiting };
  }
  const c = yieldChannel;
  return new Promise<void>((r) => {
    c.waiting.push(r);
    c.port.postMessage(0);
  });
}

class Aborted extends Error {}

/** A live SSTable and the number of versions that reference it. */
class Table implements RunTable {
  refs = 0;
  constructor(
    readonly meta: TableMeta,
    readonly reader: TableReader,
  ) {}
  get smallest(): Uint8Array {
    return this.meta.smallest;
  }
  get largest(): Uint8Array {
    return this.meta.largest;
  }
}

/** A sorted run: tables in key order (invariant 2). */
class Run {
  readonly bytes: number;
  /**
   * Length of the prefix every key of the run shares: that of the first table's smallest key and the last table's
   * largest (every key of the run lies between them). A key that differs there is outside the run.
   */
  private readonly cp: number;
  /** The shared prefix (`cp` bytes). */
  private readonly cpBytes: Uint8Array;
  /**
   * Bytes `[cp, cp + 4)` of each table's largest and smallest key as big-endian u32s (`prefix32At`): the searches
   * compare these integers, and whole keys only when they are equal.
   */
  private readonly largestPre: Uint32Array;
  private readonly smallestPre: Uint32Array;
  constructor(
    readonly id: number,
    readonly tables: Table[],
  ) {
    let b = 0;
    for (const t of tables) b += t.meta.bytes;
    this.bytes = b;
    let cp = 0;
    if (tables.length > 0) {
      const lo = tables[0].meta.smallest;
      const hi = tables[tables.length - 1].meta.largest;
      while (cp < lo.length && cp < hi.length && lo[cp] === hi[cp]) cp++;
      this.cpBytes = lo.slice(0, cp);
    } else this.cpBytes = new Uint8Array(0);
    this.cp = cp;
    this.largestPre = Uint32Array.from(tables, (t) => prefix32At(t.meta.largest, 0, t.meta.largest.length, cp));
    this.smallestPre = Uint32Array.from(tables, (t) => prefix32At(t.meta.smallest, 0, t.meta.smallest.length, cp));
  }

  /** The table whose key range holds `key`, or undefined. */
  find(key: Uint8Array): Table | undefined {
    const ts = this.tables;
    const cp = this.cp;
    const klen = key.length;
    if (klen < cp || ts.length === 0) return undefined; // a proper prefix of every key of the run sorts before them
    const cb = this.cpBytes;
    for (let i = 0; i < cp; i++) if (key[i] !== cb[i]) return undefined;
    const kpre = prefix32At(key, 0, klen, cp);
    const pre = this.largestPre;
    let lo = 0;
    let hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = pre[mid];
      if (p < kpre || (p === kpre && compareBytes(ts[mid].meta.largest, key) < 0)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === ts.length) return undefined;
    const sp = this.smallestPre[lo];
    if (sp > kpre || (sp === kpre && compareBytes(ts[lo].meta.smallest, key) > 0)) return undefined;
    return ts[lo];
  }
}

/** An immutable list of runs, newest first (invariant 1), with a reference count. */
class Version {
  refs = 0;
  constructor(readonly runs: Run[]) {}
}

interface Bound {
  key: Uint8Array;
  inclusive: boolean;
}

function checkKey(key: unknown, label = 'key'): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new TypeError(`"${label}" expected Uint8Array, got ${key === null ? 'null' : typeof key}`);
}

function positiveInt(v: unknown, label: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`"${label}" expected an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * UCS parameters for scaling parameter W (docs/architecture.md): fan factor f and threshold t.
 * W < 0: f = 2 - W, t = 2 (leveled); W = 0: f = t = 2; W > 0: f = t = 2 + W (tiered).
 */
export function ucsParameters(w: number): { fanout: number; threshold: number } {
  if (w < 0) return { fanout: 2 - w, threshold: 2 };
  return { fanout: 2 + w, threshold: 2 + w };
}

/**
 * Opens (or creates) the LSM tree stored in `options.dir` of `options.fs`.
 *
 * Open reads CURRENT and the manifest it names (a torn last record is cut off and reported in
 * `stats().recovery`), opens every live SSTable (footer, filter and index are checked), writes a fresh manifest
 * and swaps CURRENT to it, then removes files no manifest references (left by a crashed flush or compaction).
 *
 * @throws CorruptionError (`HEARTH_CORRUPTION`) if CURRENT, the manifest or a live table's footer, index or filter
 *   fails its checks, or a live table is missing. The layer above can rebuild from the log.
 * @throws IoError on platform failures. @throws TypeError / RangeError on bad options.
 * @example
 * ```ts
 * const lsm = await openLsm({ fs: new MemoryFileSystem(), dir: 'db' });
 * await lsm.put(key, value, { position });
 * await lsm.flush(); // durable; lsm.appliedPosition is `position`
 * ```
 */
export async function openLsm(options: LsmOptions): Promise<Lsm> {
  if (typeof options !== 'object' || options === null) throw new TypeError('"options" expected an object');
  const fs = options.fs;
  if (typeof fs !== 'object' || fs === null || typeof fs.open !== 'function') throw new TypeError('"options.fs" expected a FileSystem');
  if (typeof options.dir !== 'string') throw new TypeError('"options.dir" expected a string');
  const w = options.compactionW ?? 2;
  if (!Number.isInteger(w) || w < -64 || w > 64) throw new RangeError(`"compactionW" expected an integer in [-64, 64], got ${w}`);
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw new TypeError('"onWarning" expected a function');
  const cfg: Config = {
    memtableBytes: positiveInt(options.memtableBytes, 'memtableBytes', 4 * 1024 * 1024, 1024),
    table: {
      blockBytes: positiveInt(options.blockBytes, 'blockBytes', 4096, 64),
      restartInterval: positiveInt(options.restartInterval, 'restartInterval', 16),
      bloomBitsPerKey: positiveInt(options.bloomBitsPerKey, 'bloomBitsPerKey', 10),
    },
    // 128 MiB: the only cache Hearth's reads have (no page cache through mmap); see LsmOptions.blockCacheBytes.
    blockCacheBytes: positiveInt(options.blockCacheBytes, 'blockCacheBytes', DEFAULT_BLOCK_CACHE_BYTES, 0),
    tableBytes: positiveInt(options.tableBytes, 'tableBytes', 4 * 1024 * 1024, 1024),
    manifestBytes: positiveInt(options.manifestBytes, 'manifestBytes', 4 * 1024 * 1024, 256),
    w,
    autoCompact: options.autoCompact ?? true,
    onWarning: options.onWarning,
  };
  const impl = new LsmImpl(fs, options.dir, cfg);
  await impl.open();
  return impl;
}

interface Config {
  memtableBytes: number;
  table: TableOptions;
  blockCacheBytes: number;
  tableBytes: number;
  /** A new manifest is started (and CURRENT swapped) when the current one grows past this many bytes. */
  manifestBytes: number;
  w: number;
  autoCompact: boolean;
  onWarning: ((message: string) => void) | undefined;
}

const iteratorRegistry = new FinalizationRegistry<{ lsm: LsmImpl; version: Version }>((held) => held.lsm.unref(held.version));

class LsmImpl implements Lsm {
  private seq = 0;
  private mem: Memtable;
  private imm: Memtable | null = null;
  private current = new Version([]);
  private state: ManifestState = emptyState();
  private nextFile = 1;
  private manifest: ManifestWriter | null = null;
  private manifestLock: Promise<void> = RESOLVED;
  private flushing: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  private bgError: unknown = null;
  /** The last transient (quota) failure of a flush, reported by the flush that retries it. */
  private transient: unknown = null;
  private closing = false;
  private closed = false;
  private readonly snapshots = new Map<number, number>();
  private readonly openTables = new Set<Table>();
  private readonly deletions = new Set<Promise<void>>();
  private readonly cache: BlockCache;
  private readonly readStats = { bloomChecks: 0, bloomNegatives: 0 };
  private readonly getResult: GetResult = { vbuf: new Uint8Array(0), voff: 0, vlen: 0 };
  private readonly ucs: { fanout: number; threshold: number };
  private counters = { compactions: 0, flushBytes: 0, compactionBytes: 0, writeStalls: 0 };
  private recovery = { tornManifestBytes: 0, orphansRemoved: [] as string[] };

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly cfg: Config,
  ) {
    this.cache = new BlockCache(cfg.blockCacheBytes);
    this.ucs = ucsParameters(cfg.w);
    this.mem = new Memtable(cfg.memtableBytes);
  }

  private path(name: string): string {
    return this.dir === '' ? name : `${this.dir}/${name}`;
  }

  private warn(message: string): void {
    this.cfg.onWarning?.(message);
  }

  // ---- open ----

  async open(): Promise<void> {
    const { fs } = this;
    if (this.dir !== '') await fs.mkdir(this.dir);
    const names = await fs.list(this.dir);
    const cur = await readCurrentManifest(fs, this.dir);
    // The manifest's handle stays open until open decides to continue the manifest (then the writer owns it) or not.
    let manifestHandle: FileHandle | null = cur?.handle ?? null;
    let state: ManifestState;
    if (cur === undefined) {
      const tables = names.filter((n) => n.endsWith(TABLE_SUFFIX));
      if (tables.length > 0) {
        throw new CorruptionError(`CURRENT is missing but ${tables.length} SSTables exist; refusing to start empty`, {
          path: this.path('CURRENT'),
        });
      }
      state = emptyState();
    } else {
      state = cur.read.state;
      if (cur.read.tornBytes > 0) {
        this.recovery.tornManifestBytes = cur.read.tornBytes;
        this.warn(`manifest ${cur.name}: cut off a torn last record (${cur.read.tornBytes} bytes at offset ${cur.read.validBytes})`);
      }
    }
    // File numbers never repeat, even those of orphans.
    let next = state.nextFile;
    for (const n of names) {
      const m = /^(?:MANIFEST-)?([0-9]{6,})(?:\.sst)?$/.exec(n);
      if (m) next = Math.max(next, Number(m[1]) + 1);
    }
    // Open every live table, all at once: on OPFS each open is a round trip to the browser process (~1-3 ms), so
    // one after another they added up to tens of ms of a cold open. Every reader that opened is registered before
    // any failure is reported, so the catch below closes them all.
    const byRun = new Map<number, Table[]>();
    try {
      const metas = [...state.tables.values()].sort((a, b) => a.file - b.file);
      const opened = await Promise.allSettled(metas.map((meta) => TableReader.open(fs, this.path(fileName(meta.file, 'table')), this.cache, this.readStats)));
      const tables: Table[] = [];
      for (let i = 0; i < metas.length; i++) {
        const r = opened[i];
        if (r.status === 'fulfilled') {
          const t = new Table(metas[i], r.value);
          this.openTables.add(t);
          tables.push(t);
        }
      }
      for (let i = 0; i < metas.length; i++) {
        const r = opened[i];
        if (r.status === 'fulfilled') continue;
        const e = r.reason as unknown;
        if (e instanceof IoError && e.code === IoErrorCode.NOT_FOUND) {
          throw new CorruptionError(`live SSTable ${fileName(metas[i].file, 'table')} is missing`, { path: this.path(fileName(metas[i].file, 'table')), cause: e });
        }
        throw e;
      }
      for (const t of tables) {
        const { meta, reader } = t;
        const p = this.path(fileName(meta.file, 'table'));
        if (reader.size !== meta.bytes || reader.footer.entries !== meta.entries) {
          throw new CorruptionError(
            `SSTable does not match the manifest (${reader.size} bytes, ${reader.footer.entries} entries; manifest says ${meta.bytes}, ${meta.entries})`,
            { path: p, offset: 0 },
          );
        }
        let list = byRun.get(meta.run);
        if (!list) byRun.set(meta.run, (list = []));
        list.push(t);
      }
      const runs: Run[] = [];
      for (const [id, tables] of byRun) {
        tables.sort((a, b) => compareBytes(a.meta.smallest, b.meta.smallest));
        for (let i = 0; i < tables.length; i++) {
          const m = tables[i].meta;
          if (compareBytes(m.smallest, m.largest) > 0 || (i > 0 && compareBytes(tables[i - 1].meta.largest, m.smallest) >= 0)) {
            throw new CorruptionError(`manifest: tables of run ${id} overlap or have inverted key ranges`, {
              path: cur ? this.path(cur.name) : undefined,
            });
          }
        }
        runs.push(new Run(id, tables));
      }
      runs.sort((a, b) => b.id - a.id);
      this.install(runs);
      // Continue the manifest when it ended at a record boundary and is small; else a fresh one, then CURRENT
      // swapped to it (invariant 4 of _manifest.ts).
      const reused =
        cur !== undefined && cur.read.tornBytes === 0 && cur.read.validBytes < this.cfg.manifestBytes / 2
          ? await ManifestWriter.reopen(cur.name, cur.handle, cur.read.validBytes, cur.read.edits)
          : null;
      if (reused === null) await cur?.handle.close();
      manifestHandle = null; // owned by the writer now, or closed
      let manifest: ManifestWriter;
      if (reused !== null) {
        manifest = reused;
        if (next > state.nextFile) {
          // Orphans (removed below) used numbers the manifest has not recorded: record the next file number first,
          // so that no number is used twice.
          await reused.append({ snapshot: false, nextFile: next, deleted: [], added: [] });
          state.nextFile = next;
        }
      } else {
        const manifestNumber = next++;
        state.nextFile = next;
        manifest = await ManifestWriter.create(fs, this.dir, manifestNumber, state);
      }
      this.manifest = manifest;
      this.nextFile = next;
      this.state = state;
      this.seq = state.lastSequence;
    } catch (e) {
      for (const t of this.openTables) await t.reader.close().catch(() => {});
      this.openTables.clear();
      if (manifestHandle !== null) await manifestHandle.close().catch(() => {});
      throw e;
    }
    // Remove what no manifest references: superseded manifests, tables of crashed flushes/compactions, temp files.
    const live = new Set([...state.tables.keys()].map((f) => fileName(f, 'table')));
    const inUse = this.manifest!.name;
    const swapped = inUse !== cur?.name;
    for (const n of names) {
      const orphan =
        (n.startsWith(MANIFEST_PREFIX) && n !== inUse) || n === CURRENT_TMP || (n.endsWith(TABLE_SUFFIX) && !live.has(n));
      // After a swap CURRENT.tmp was consumed (renamed to CURRENT); when the manifest was continued, one listed is
      // left by a crash during an earlier swap, and goes. Nothing else of these is in use.
      if (!orphan || (n === CURRENT_TMP && swapped)) continue;
      await fs.remove(this.path(n));
      if (!n.startsWith(MANIFEST_PREFIX) || n !== cur?.name) this.recovery.orphansRemoved.push(n);
    }
    if (this.recovery.orphansRemoved.length > 0) this.warn(`removed orphan files: ${this.recovery.orphansRemoved.join(', ')}`);
  }

  // ---- versions and files ----

  private install(runs: Run[]): void {
    const v = new Version(runs);
    for (const r of runs) for (const t of r.tables) t.refs++;
    v.refs = 1;
    const old = this.current;
    this.current = v;
    this.unref(old);
  }

  ref(v: Version): void {
    v.refs++;
  }

  unref(v: Version): void {
    if (--v.refs > 0) return;
    for (const r of v.runs) {
      for (const t of r.tables) {
        if (--t.refs === 0) this.dropTable(t);
      }
    }
  }

  /** Closes and removes a table no version references (invariant 3). */
  private dropTable(t: Table): void {
    this.openTables.delete(t);
    const p = this.path(fileName(t.meta.file, 'table'));
    // Dropped after close (an abandoned iterator collected late): leave the file to the next open's orphan sweep.
    const remove = !this.closed;
    const job = (async () => {
      await t.reader.close();
      if (remove) await this.fs.remove(p);
    })()
      .catch((e) => this.warn(`could not remove obsolete ${p}: ${String(e)} (it is removed on the next open)`))
      .finally(() => this.deletions.delete(job));
    this.deletions.add(job);
  }

  // ---- checks ----

  private checkOpen(): void {
    if (this.closed || this.closing) throw new IoError(IoErrorCode.CLOSED, 'LSM is closed', { path: this.dir });
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.lending) throw new TypeError('a getWith callback must not write to the LSM it is reading');
    if (this.bgError !== null) throw this.bgError;
  }

  /**
   * Records a background failure. A full disk or quota (`HEARTH_QUOTA_EXCEEDED`) is transient: the state on disk is
   * unchanged, the immutable memtable stays readable and the next flush retries; anything else stops writes.
   */
  private fail(e: unknown): void {
    if (e instanceof Aborted) return;
    if (isQuota(e)) {
      this.transient = e;
      this.warn(`background work stopped by a full disk or quota; it is retried on the next flush: ${String(e)}`);
      return;
    }
    if (this.bgError === null) this.bgError = e;
  }

  // ---- reads ----

  get sequence(): number {
    return this.seq;
  }

  get appliedPosition(): Uint8Array | undefined {
    return this.state.position?.slice();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkOpen();
    checkKey(key);
    return this.getAt(key, this.seq);
  }

  getWith<T>(key: Uint8Array, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined {
    this.checkOpen();
    checkKey(key);
    return this.getWithAt(key, this.seq, read);
  }

  getAt(key: Uint8Array, seq: number): Uint8Array | undefined {
    if (this.find(key, seq) !== KIND_PUT) return undefined;
    const out = this.getResult;
    return out.vbuf.slice(out.voff, out.voff + out.vlen);
  }

  getWithAt<T>(key: Uint8Array, seq: number, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined {
    if (typeof read !== 'function') throw new TypeError('"read" expected a function');
    if (this.find(key, seq) !== KIND_PUT) return undefined;
    const out = this.getResult;
    this.lending = true;
    try {
      return read(out.vbuf, out.voff, out.vlen);
    } finally {
      this.lending = false;
    }
  }

  /** Set while {@link getWithAt} lends a value view to its callback (which must not read from this LSM). */
  private lending = false;

  /**
   * The newest version of `key` visible at `seq`: its kind (the value view in `getResult`), or -1 if none.
   * The view points into the memtable's arena, a cached block or the cache's scratch buffer: valid until the next
   * read or write.
   */
  private find(key: Uint8Array, seq: number): number {
    if (this.lending) throw new TypeError('a getWith callback must not read from the LSM it is reading');
    const out = this.getResult;
    let mem = this.mem;
    let n = mem.count === 0 ? NIL : mem.get(key, seq);
    if (n === NIL && this.imm !== null) {
      mem = this.imm;
      n = mem.get(key, seq);
    }
    if (n !== NIL) {
      out.vbuf = mem.arena;
      out.voff = mem.valOff(n);
      out.vlen = mem.valLen(n);
      return mem.kind(n);
    }
    const runs = this.current.runs;
    if (runs.length === 0) return -1;
    const h = bloomHash(key);
    for (let i = 0; i < runs.length; i++) {
      const t = runs[i].find(key);
      if (t === undefined) continue;
      const kind = t.reader.get(key, seq, h, out);
      if (kind >= 0) return kind;
    }
    return -1;
  }

  iterate(range: RangeOptions = {}): IterableIterator<Entry> {
    this.checkOpen();
    if (typeof range !== 'object' || range === null) throw new TypeError('"range" expected an object');
    let seq = this.seq;
    if (range.snapshot !== undefined) {
      const s = range.snapshot;
      if (!(s instanceof SnapshotImpl) || s.lsm !== this) throw new TypeError('"range.snapshot" is not a snapshot of this LSM');
      s.check();
      seq = s.sequence;
    }
    return this.iterateAt(range, seq);
  }

  iterateAt(range: Omit<RangeOptions, 'snapshot'>, seq: number): IterableIterator<Entry> {
    const reverse = range.reverse === true;
    let lower: Bound | undefined;
    let upper: Bound | undefined;
    const tighter = (cur: Bound | undefined, key: unknown, inclusive: boolean, label: string, isLower: boolean): Bound => {
      checkKey(key, label);
      if (cur === undefined) return { key, inclusive };
      const c = compareBytes(key, cur.key);
      if (c === 0) return { key, inclusive: inclusive && cur.inclusive };
      return (isLower ? c > 0 : c < 0) ? { key, inclusive } : cur;
    };
    if (range.gte !== undefined) lower = tighter(lower, range.gte, true, 'gte', true);
    if (range.gt !== undefined) lower = tighter(lower, range.gt, false, 'gt', true);
    if (range.lte !== undefined) upper = tighter(upper, range.lte, true, 'lte', false);
    if (range.lt !== undefined) upper = tighter(upper, range.lt, false, 'lt', false);
    let limit = Infinity;
    if (range.limit !== undefined) {
      if (typeof range.limit !== 'number' || Number.isNaN(range.limit)) throw new TypeError('"limit" expected a number');
      limit = range.limit < 0 ? Infinity : range.limit;
    }
    const v = this.current;
    this.ref(v);
    const children: InternalIter[] = [new MemIter(this.mem, reverse)];
    if (this.imm !== null) children.push(new MemIter(this.imm, reverse));
    for (const r of v.runs) children.push(new RunIter(r.tables, reverse, true));
    const it = children.length === 1 ? children[0] : new MergeIter(children, reverse);
    return new LsmIterator(this, it, seq, lower, upper, reverse, limit, v);
  }

  snapshot(): Snapshot {
    this.checkOpen();
    const s = this.seq;
    this.snapshots.set(s, (this.snapshots.get(s) ?? 0) + 1);
    return new SnapshotImpl(this, s);
  }

  releaseSnapshot(seq: number): void {
    const n = this.snapshots.get(seq) ?? 0;
    if (n <= 1) this.snapshots.delete(seq);
    else this.snapshots.set(seq, n - 1);
  }

  isClosed(): boolean {
    return this.closed || this.closing;
  }

  /** Sequences of the live snapshots, ascending and distinct (invariant 4). */
  private liveSnapshots(): number[] {
    return [...this.snapshots.keys()].sort((a, b) => a - b);
  }

  // ---- writes ----

  private nextSeq(): number {
    if (this.seq >= MAX_SEQUENCE) throw new RangeError('sequence numbers exhausted');
    return ++this.seq;
  }

  private notePosition(options: WriteOptions | undefined): void {
    if (options === undefined || options.position === undefined) return;
    checkKey(options.position, 'options.position');
    this.mem.lastPosition = options.position.slice();
    this.mem.positionPending = true;
  }

  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    this.checkWritable();
    checkKey(key);
    checkKey(value, 'value');
    if (options?.position !== undefined) checkKey(options.position, 'options.position');
    this.mem.add(key, this.nextSeq(), KIND_PUT, value);
    this.notePosition(options);
    return this.afterWrite();
  }

  delete(key: Uint8Array, options?: WriteOptions): Promise<void> {
    this.checkWritable();
    checkKey(key);
    if (options?.position !== undefined) checkKey(options.position, 'options.position');
    this.mem.add(key, this.nextSeq(), KIND_DELETE, EMPTY);
    this.notePosition(options);
    return this.afterWrite();
  }

  batch(ops: BatchOp[], options?: WriteOptions): Promise<void> {
    this.checkWritable();
    if (!Array.isArray(ops)) throw new TypeError('"ops" expected an array');
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (typeof op !== 'object' || op === null) throw new TypeError(`"ops[${i}]" expected an object`);
      checkKey(op.key, `ops[${i}].key`);
      if (op.type === 'put') checkKey(op.value, `ops[${i}].value`);
      else if (op.type !== 'del') throw new TypeError(`"ops[${i}].type" expected 'put' or 'del'`);
    }
    if (options?.position !== undefined) checkKey(options.position, 'options.position');
    if (ops.length > 0) {
      const seq = this.nextSeq();
      const mem = this.mem;
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        if (op.type === 'put') mem.add(op.key, seq, KIND_PUT, op.value);
        else mem.add(op.key, seq, KIND_DELETE, EMPTY);
      }
    }
    this.notePosition(options);
    return this.afterWrite();
  }

  private afterWrite(): Promise<void> {
    if (this.mem.bytes < this.cfg.memtableBytes) return RESOLVED;
    if (this.imm === null) {
      this.rotate();
      return RESOLVED;
    }
    this.counters.writeStalls++;
    return this.waitForRoom();
  }

  private async waitForRoom(): Promise<void> {
    while (this.imm !== null && this.flushing !== null) await this.flushing;
    if (this.bgError !== null) throw this.bgError;
    if (this.imm !== null && !this.isClosed()) {
      // The previous flush failed transiently (quota): retry it once; if it fails again, say so to the writer.
      await this.retryImm();
      if (this.imm !== null) throw this.transient;
    }
    if (this.imm === null && this.mem.bytes >= this.cfg.memtableBytes && !this.isClosed()) this.rotate();
  }

  /** Makes the memtable immutable and starts flushing it. REQUIRES: no immutable memtable. */
  private rotate(): void {
    const imm = this.mem;
    this.imm = imm;
    this.mem = new Memtable(this.cfg.memtableBytes);
    this.startFlush(imm);
  }

  private startFlush(imm: Memtable): void {
    this.transient = null;
    const job = this.runFlush(imm)
      .catch((e) => this.fail(e))
      .finally(() => {
        if (this.flushing === job) this.flushing = null;
      });
    this.flushing = job;
  }

  /** Flushes an immutable memtable left by a transiently failed flush. */
  private async retryImm(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
    if (this.imm === null || this.bgError !== null) return;
    this.startFlush(this.imm);
    while (this.flushing !== null) await this.flushing;
  }

  async flush(): Promise<void> {
    this.checkWritable();
    await this.retryImm();
    if (this.bgError !== null) throw this.bgError;
    if (this.imm !== null) throw this.transient;
    this.checkOpen();
    if (this.mem.count === 0 && !this.mem.positionPending) return;
    this.rotate();
    while (this.flushing !== null) await this.flushing;
    if (this.bgError !== null) throw this.bgError;
    if (this.imm !== null) throw this.transient;
  }

  private tooManyRuns(): boolean {
    return this.current.runs.length >= 4 * this.ucs.threshold + 8;
  }

  private async runFlush(imm: Memtable): Promise<void> {
    // Bounded backlog: a flush waits for compaction only when runs pile up.
    while (this.cfg.autoCompact && this.tooManyRuns() && this.compacting !== null) await this.compacting;
    let outputs: Table[] = [];
    if (imm.count > 0) {
      const it = new MemIter(imm, false);
      it.first();
      const older = this.current.runs;
      outputs = await this.writeRun(it, this.liveSnapshots(), (k) => !overlapsAny(older, k), 'flush');
    }
    const edit: Edit = {
      snapshot: false,
      position: imm.positionPending ? imm.lastPosition : undefined,
      lastSequence: imm.maxSeq > this.state.lastSequence ? imm.maxSeq : undefined,
      deleted: [],
      added: outputs.map((t) => t.meta),
    };
    await this.logAndApply(edit, (runs) => (outputs.length > 0 ? [new Run(imm.maxSeq, outputs), ...runs] : runs));
    this.imm = null;
    this.maybeCompact();
  }

  /**
   * Streams `it` (forward, internal order) into a new run of tables, applying the drop rules of invariant 4.
   * `isBase(key)`: no older run can hold `key`. Returns the opened tables (not yet live).
   */
  private async writeRun(
    it: InternalIter,
    snaps: number[],
    isBase: (key: Uint8Array) => boolean,
    why: 'flush' | 'compaction',
  ): Promise<Table[]> {
    const out: Table[] = [];
    const floor = snaps.length > 0 ? snaps[0] : this.seq;
    let writer: TableWriter | null = null;
    let handle: Awaited<ReturnType<FileSystem['open']>> | null = null;
    let fileNo = 0;
    let cur = new Uint8Array(64);
    let curLen = -1;
    let lastSeqForKey = SEQ_SENTINEL;
    let n = 0;
    let sliceBytes = 0;
    const finishTable = async (): Promise<void> => {
      const summary = writer!.finish();
      await handle!.sync();
      await handle!.close();
      handle = null;
      writer = null;
      const p = this.path(fileName(fileNo, 'table'));
      const reader = await TableReader.open(this.fs, p, this.cache, this.readStats);
      const meta: TableMeta = { file: fileNo, run: 0, level: 0, bytes: summary.bytes, entries: summary.entries, smallest: summary.smallest, largest: summary.largest };
      const t = new Table(meta, reader);
      this.openTables.add(t);
      out.push(t);
      if (why === 'flush') this.counters.flushBytes += summary.bytes;
      else this.counters.compactionBytes += summary.bytes;
    };
    try {
      while (it.valid) {
        if (++n >= YIELD_EVERY || sliceBytes >= YIELD_BYTES) {
          n = 0;
          sliceBytes = 0;
          await yieldNow();
          if (this.closing && why === 'compaction') throw new Aborted('closing');
        }
        const ulen = it.ulen;
        sliceBytes += ulen + it.vlen;
        if (curLen < 0 || compareRange(it.kbuf, it.koff, ulen, cur, 0, curLen) !== 0) {
          if (cur.length < ulen) cur = new Uint8Array(Math.max(ulen, cur.length * 2));
          for (let i = 0; i < ulen; i++) cur[i] = it.kbuf[it.koff + i];
          curLen = ulen;
          lastSeqForKey = SEQ_SENTINEL;
        }
        let drop = false;
        // Hidden: a newer version exists (sequence lastSeqForKey) and no snapshot reads in [seq, lastSeqForKey).
        if (lastSeqForKey !== SEQ_SENTINEL && !snapshotBetween(snaps, it.seq, lastSeqForKey)) drop = true;
        else if (it.kind === KIND_DELETE && it.seq <= floor && isBase(cur.subarray(0, curLen))) drop = true;
        lastSeqForKey = it.seq;
        if (!drop) {
          if (writer !== null && writer.estimatedBytes >= this.cfg.tableBytes && writer.isNewUserKey(it.kbuf, it.koff, ulen)) {
            await finishTable();
          }
          if (writer === null) {
            fileNo = this.nextFile++;
            handle = await this.fs.open(this.path(fileName(fileNo, 'table')), { exclusive: true });
            writer = new TableWriter(handle, this.cfg.table);
          }
          writer.add(it.kbuf, it.koff, ulen, it.seq, it.kind, it.vbuf, it.voff, it.vlen);
        }
        it.next();
      }
      if (writer !== null) await finishTable();
    } catch (e) {
      // Leave nothing half-made behind: close handles; the files are orphans that open removes if this fails.
      if (handle !== null) await (handle as { close(): Promise<void> }).close().catch(() => {});
      for (const t of out) {
        this.openTables.delete(t);
        await t.reader.close().catch(() => {});
      }
      // Best effort: what is left is an orphan that the next open removes.
      const made = [...out.map((t) => t.meta.file), ...(fileNo > 0 && !out.some((t) => t.meta.file === fileNo) ? [fileNo] : [])];
      for (const f of made) await this.fs.remove(this.path(fileName(f, 'table'))).catch(() => {});
      throw e;
    }
    return out;
  }

  /** Appends `edit` to the manifest (durably), applies it, and installs the version `build` makes (invariant 5). */
  private async logAndApply(edit: Edit, build: (runs: Run[]) => Run[]): Promise<void> {
    const prev = this.manifestLock;
    let release!: () => void;
    this.manifestLock = new Promise<void>((r) => (release = r));
    await prev;
    try {
      if (this.bgError !== null) throw this.bgError;
      const runs = build(this.current.runs);
      // Record levels (informational) and run ids in the metas of added tables.
      const levels = this.levels(runs);
      for (let i = 0; i < runs.length; i++) {
        for (const t of runs[i].tables) {
          if (edit.added.includes(t.meta)) {
            t.meta.run = runs[i].id;
            t.meta.level = levels[i];
          }
        }
      }
      edit.nextFile = this.nextFile;
      const next: ManifestState = {
        tables: new Map(this.state.tables),
        nextFile: this.state.nextFile,
        lastSequence: this.state.lastSequence,
        position: this.state.position,
      };
      applyEdit(next, edit, this.manifest!.name, 0);
      if (this.manifest!.bytes >= this.cfg.manifestBytes) {
        const old = this.manifest!;
        const num = this.nextFile++;
        next.nextFile = this.nextFile;
        this.manifest = await ManifestWriter.create(this.fs, this.dir, num, next);
        await old.close();
        await this.fs.remove(this.path(old.name)).catch(() => {});
      } else {
        await this.manifest!.append(edit);
      }
      this.state = next;
      this.install(runs);
    } finally {
      release();
    }
  }

  // ---- compaction (UCS) ----

  /** UCS level of a run of `bytes`: 0 below f * m, then one level per factor f (m = memtable size). */
  private sizeLevel(bytes: number): number {
    const m = this.cfg.memtableBytes;
    if (bytes < m * this.ucs.fanout) return 0;
    return Math.floor(Math.log(bytes / m) / Math.log(this.ucs.fanout));
  }

  /** Levels of `runs` (newest first), made non-decreasing so that each level is a contiguous group. */
  private levels(runs: Run[]): number[] {
    const out: number[] = [];
    let l = 0;
    for (const r of runs) {
      l = Math.max(l, this.sizeLevel(r.bytes));
      out.push(l);
    }
    return out;
  }

  /** The lowest level holding at least t runs, as a contiguous group; undefined if none. */
  private pickCompaction(): Run[] | undefined {
    const runs = this.current.runs;
    if (runs.length < 2) return undefined;
    const levels = this.levels(runs);
    let i = 0;
    while (i < runs.length) {
      let j = i;
      while (j < runs.length && levels[j] === levels[i]) j++;
      if (j - i >= this.ucs.threshold) return runs.slice(i, j);
      i = j;
    }
    return undefined;
  }

  private maybeCompact(): void {
    if (!this.cfg.autoCompact || this.compacting !== null || this.isClosed() || this.bgError !== null) return;
    if (this.pickCompaction() === undefined) return;
    const job = (async () => {
      for (;;) {
        if (this.isClosed() || this.bgError !== null) return;
        const group = this.pickCompaction();
        if (group === undefined) return;
        await this.runCompaction(group);
      }
    })()
      .catch((e) => this.fail(e))
      .finally(() => {
        if (this.compacting === job) this.compacting = null;
      });
    this.compacting = job;
  }

  async compact(options: { full?: boolean } = {}): Promise<void> {
    this.checkWritable();
    while (this.compacting !== null) await this.compacting;
    if (this.bgError !== null) throw this.bgError;
    this.checkOpen();
    let failure: unknown = null;
    const job = (async () => {
      if (options.full === true) {
        const runs = this.current.runs;
        if (runs.length > 0) await this.runCompaction(runs.slice());
      }
      for (;;) {
        const group = this.pickCompaction();
        if (group === undefined || this.isClosed()) return;
        await this.runCompaction(group);
      }
    })()
      .catch((e) => {
        failure = e;
        this.fail(e);
      })
      .finally(() => {
        if (this.compacting === job) this.compacting = null;
      });
    this.compacting = job;
    await job;
    if (failure !== null && !(failure instanceof Aborted)) throw failure;
  }

  /** Merges a contiguous group of runs of the current version into one run (invariants 1 and 4). */
  private async runCompaction(group: Run[]): Promise<void> {
    const v = this.current;
    this.ref(v);
    try {
      const first = v.runs.indexOf(group[0]);
      const older = v.runs.slice(first + group.length);
      const merge = new MergeIter(
        group.map((r) => new RunIter(r.tables, false, false)),
        false,
      );
      merge.first();
      const outputs = await this.writeRun(merge, this.liveSnapshots(), (k) => !overlapsAny(older, k), 'compaction');
      const ids = new Set(group.map((r) => r.id));
      const runId = group[0].id;
      const edit: Edit = {
        snapshot: false,
        deleted: group.flatMap((r) => r.tables.map((t) => t.meta.file)),
        added: outputs.map((t) => t.meta),
      };
      await this.logAndApply(edit, (runs) => {
        const out: Run[] = [];
        let placed = false;
        for (const r of runs) {
          if (ids.has(r.id)) {
            if (!placed && outputs.length > 0) out.push(new Run(runId, outputs));
            placed = true;
          } else out.push(r);
        }
        return out;
      });
      this.counters.compactions++;
    } finally {
      this.unref(v);
    }
  }

  // ---- stats and close ----

  stats(): LsmStats {
    const runs = this.current.runs;
    const levels = this.levels(runs);
    const tables: LsmStats['tables'] = [];
    runs.forEach((r, i) => {
      for (const t of r.tables) {
        tables.push({
          level: levels[i],
          run: r.id,
          file: fileName(t.meta.file, 'table'),
          bytes: t.meta.bytes,
          entries: t.meta.entries,
          smallest: t.meta.smallest.slice(),
          largest: t.meta.largest.slice(),
        });
      }
    });
    return {
      sequence: this.seq,
      memtableBytes: this.mem.bytes + (this.imm?.bytes ?? 0),
      tables,
      blockCache: {
        bytes: this.cache.bytes,
        capacity: this.cache.capacity,
        hits: this.cache.hits,
        misses: this.cache.misses,
        bypassed: this.cache.bypassed,
      },
      bloom: { checks: this.readStats.bloomChecks, negatives: this.readStats.bloomNegatives },
      compactions: this.counters.compactions,
      bytesWrittenByFlush: this.counters.flushBytes,
      bytesWrittenByCompaction: this.counters.compactionBytes,
      writeStalls: this.counters.writeStalls,
      recovery: { tornManifestBytes: this.recovery.tornManifestBytes, orphansRemoved: this.recovery.orphansRemoved.slice() },
    };
  }

  async close(): Promise<void> {
    if (this.closing || this.closed) return;
    this.closing = true;
    // An in-flight flush completes (its data is already durable-bound); compaction stops at its next yield.
    while (this.flushing !== null) await this.flushing;
    while (this.compacting !== null) await this.compacting;
    await this.manifestLock;
    this.closed = true;
    for (const t of this.openTables) await t.reader.close().catch(() => {});
    this.openTables.clear();
    await Promise.all([...this.deletions]);
    if (this.manifest !== null) await this.manifest.close().catch(() => {});
  }
}

function isQuota(e: unknown): boolean {
  return e instanceof IoError && e.code === IoErrorCode.QUOTA_EXCEEDED;
}

/** Whether some snapshot sequence S in `snaps` (ascending) has lo <= S < hi. */
function snapshotBetween(snaps: number[], lo: number, hi: number): boolean {
  let a = 0;
  let b = snaps.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (snaps[mid] < lo) a = mid + 1;
    else b = mid;
  }
  return a < snaps.length && snaps[a] < hi;
}

/** Whether any run in `runs` has a table whose key range holds `key`. */
function overlapsAny(runs: Run[], key: Uint8Array): boolean {
  for (const r of runs) if (r.find(key) !== undefined) return true;
  return false;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const DONE: IteratorResult<Entry> = { value: undefined, done: true };

/** A user-level iterator: newest visible version per key, tombstones hidden, bounds and limit applied. */
class LsmIterator implements IterableIterator<Entry> {
  private started = false;
  private done = false;
  private count = 0;
  private last = new Uint8Array(64);
  private lastLen = 0;

  constructor(
    private readonly lsm: LsmImpl,
    private readonly it: InternalIter,
    private readonly seq: number,
    private readonly lower: Bound | undefined,
    private readonly upper: Bound | undefined,
    private readonly reverse: boolean,
    private readonly limit: number,
    private version: Version | null,
  ) {
    iteratorRegistry.register(this, { lsm, version: version! }, this);
  }

  [Symbol.iterator](): IterableIterator<Entry> {
    return this;
  }

  private finish(): void {
    this.done = true;
    if (this.version !== null) {
      iteratorRegistry.unregister(this);
      this.lsm.unref(this.version);
      this.version = null;
    }
  }

  return(): IteratorResult<Entry> {
    this.finish();
    return DONE;
  }

  next(): IteratorResult<Entry> {
    if (this.done) return DONE;
    if (this.lsm.isClosed()) {
      this.finish();
      throw new IoError(IoErrorCode.CLOSED, 'LSM is closed');
    }
    if (this.count >= this.limit) {
      this.finish();
      return DONE;
    }
    try {
      if (!this.started) {
        this.started = true;
        this.position();
      }
      const e = this.reverse ? this.stepReverse() : this.stepForward();
      if (e === null) {
        this.finish();
        return DONE;
      }
      this.count++;
      return { value: e, done: false };
    } catch (err) {
      this.finish();
      throw err;
    }
  }

  private position(): void {
    const it = this.it;
    if (this.lower !== undefined && this.upper !== undefined) {
      const c = compareBytes(this.lower.key, this.upper.key);
      if (c > 0 || (c === 0 && !(this.lower.inclusive && this.upper.inclusive))) {
        it.valid = false;
        return;
      }
    }
    if (!this.reverse) {
      if (this.lower !== undefined) it.seekGE(this.lower.key, this.lower.inclusive ? SEQ_SENTINEL : 0);
      else it.first();
    } else {
      if (this.upper !== undefined) it.seekLE(this.upper.key, this.upper.inclusive ? 0 : SEQ_SENTINEL);
      else it.first();
    }
  }

  private remember(): void {
    const it = this.it;
    const n = it.ulen;
    if (this.last.length < n) this.last = new Uint8Array(Math.max(n, this.last.length * 2));
    const last = this.last;
    const kb = it.kbuf;
    const ko = it.koff;
    for (let i = 0; i < n; i++) last[i] = kb[ko + i];
    this.lastLen = n;
  }

  private sameAsLast(): boolean {
    const it = this.it;
    return compareRange(it.kbuf, it.koff, it.ulen, this.last, 0, this.lastLen) === 0;
  }

  private stepForward(): Entry | null {
    const it = this.it;
    const upper = this.upper;
    while (it.valid) {
      if (it.seq > this.seq) {
        it.next();
        continue;
      }
      if (upper !== undefined) {
        const c = compareRange(it.kbuf, it.koff, it.ulen, upper.key, 0, upper.key.length);
        if (c > 0 || (c === 0 && !upper.inclusive)) return null;
      }
      const kind = it.kind;
      let entry: Entry | null = null;
      if (kind === KIND_PUT) {
        entry = { key: it.kbuf.slice(it.koff, it.koff + it.ulen), value: it.vbuf.slice(it.voff, it.voff + it.vlen) };
      }
      this.remember();
      it.next();
      while (it.valid && this.sameAsLast()) it.next();
      if (entry !== null) return entry;
    }
    return null;
  }

  private stepReverse(): Entry | null {
    const it = this.it;
    const lower = this.lower;
    while (it.valid) {
      if (lower !== undefined) {
        const c = compareRange(it.kbuf, it.koff, it.ulen, lower.key, 0, lower.key.length);
        if (c < 0 || (c === 0 && !lower.inclusive)) return null;
      }
      this.remember();
      let kind = -1;
      let vbuf = EMPTY;
      let voff = 0;
      let vlen = 0;
      do {
        if (it.seq <= this.seq) {
          kind = it.kind;
          vbuf = it.vbuf;
          voff = it.voff;
          vlen = it.vlen;
        }
        it.next();
      } while (it.valid && this.sameAsLast());
      if (kind === KIND_PUT) return { key: this.last.slice(0, this.lastLen), value: vbuf.slice(voff, voff + vlen) };
    }
    return null;
  }
}

class SnapshotImpl implements Snapshot {
  private released = false;
  constructor(
    readonly lsm: LsmImpl,
    readonly sequence: number,
  ) {}

  check(): void {
    if (this.released) throw new IoError(IoErrorCode.CLOSED, 'snapshot is released');
    if (this.lsm.isClosed()) throw new IoError(IoErrorCode.CLOSED, 'LSM is closed');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.check();
    checkKey(key);
    return this.lsm.getAt(key, this.sequence);
  }

  getWith<T>(key: Uint8Array, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined {
    this.check();
    checkKey(key);
    return this.lsm.getWithAt(key, this.sequence, read);
  }

  iterate(range: Omit<RangeOptions, 'snapshot'> = {}): IterableIterator<Entry> {
    this.check();
    return this.lsm.iterateAt(range, this.sequence);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.lsm.releaseSnapshot(this.sequence);
  }
}
