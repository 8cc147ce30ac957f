/**
 * The public contract of `@hearth/lsm`: a log-structured merge tree over `@hearth/io`.
 *
 * Keys and values are byte arrays; keys are ordered lexicographically by unsigned bytes (shorter prefix first).
 * The LSM has **no write-ahead log of its own**: the signed log above it is the WAL. A write is in memory (the
 * memtable) until a flush writes it to an SSTable and a manifest edit makes that table live. To let the layer above
 * replay exactly what a crash lost, every write carries an opaque, caller-defined, monotonically advancing
 * **applied position** (Hearth stores its encoded state vector there); the manifest records the position of the
 * last write whose effects are in SSTables, and `Lsm.appliedPosition` returns it after open.
 *
 * Consistency: every write batch gets the next sequence number; reads see a consistent view at a sequence number
 * (the latest, or a {@link Snapshot}'s). This is MVCC by sequence number, as in LevelDB.
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';

/** One operation of a write batch. */
export type BatchOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

/** Options for {@link openLsm}. Sizes are in bytes. */
export interface LsmOptions {
  /** The file system to store under. */
  fs: FileSystem;
  /** Directory (created if missing) holding the manifest, the CURRENT pointer and the SSTables. */
  dir: string;
  /** Memtable size that triggers a flush to an SSTable. Default 4 MiB. */
  memtableBytes?: number;
  /** Target uncompressed data-block size. Default 4096. */
  blockBytes?: number;
  /** Keys between restart points in a data block. Default 16. */
  restartInterval?: number;
  /** Bloom filter bits per key (10 gives about 1% false positives). Default 10. */
  bloomBitsPerKey?: number;
  /**
   * Block cache capacity: the most bytes of decoded (checksum-verified) data blocks kept in memory; memory is used
   * only as blocks are read. Default 128 MiB (134,217,728 bytes).
   *
   * Why this much (LevelDB's default is 8 MiB): LevelDB memory-maps its tables and keeps its 8 MiB cache on top of
   * the operating system's page cache, which holds the rest of the working set for free; a read that misses its
   * cache costs a memory access. Hearth cannot map files (neither Node's `fs` nor OPFS can), so this cache is the
   * only one: a miss costs a system call plus a CRC-32C of the block (about as much as ten hits). The default is
   * therefore sized like the caches of engines that manage their own memory instead of leaning on the page cache:
   * InnoDB's buffer pool and PostgreSQL's `shared_buffers` both default to 128 MiB. At about 130 bytes per entry
   * of 16-byte keys and 100-byte values, it holds about a million entries. Lower it where memory is scarce (a
   * mobile browser tab); raise it for a larger working set. 0 disables caching (every read goes to the file).
   */
  blockCacheBytes?: number;
  /**
   * Compaction scaling parameter W (Unified Compaction Strategy): W < 0 leans leveled (lower read and space
   * amplification, higher write amplification), W > 0 leans tiered (the reverse), W = 0 is in between.
   * Default 2 (tiered, fan factor 4: up to 3 runs a level). Why: compaction runs on the writing thread (JavaScript
   * has no background thread to give it), so its write amplification is paid by the writes themselves; measured
   * on 1M random puts, W = 2 loads ~1.5x faster than W = -4 (236k vs ~160k puts/s) while random gets with a warm
   * cache stay above LevelDB's (1.25x). Read-heavy stores on data larger than the block cache may prefer W < 0.
   */
  compactionW?: number;
  /** Run compactions in the background automatically after flushes. Default true. */
  autoCompact?: boolean;
  /**
   * Target SSTable size: flush and compaction outputs are split into tables of about this many bytes (never inside
   * one key's versions). Default 4 MiB.
   */
  tableBytes?: number;
  /**
   * Manifest size that makes the next edit start a new manifest file (a snapshot of the state; CURRENT swapped to
   * it). Bounds the replay work of open. Default 4 MiB.
   */
  manifestBytes?: number;
  /**
   * Called with a human-readable message when open repairs something it may repair (a torn manifest tail cut off,
   * orphan files removed). Default: none (the same facts are in {@link LsmStats.recovery}).
   */
  onWarning?: (message: string) => void;
}

/** Options for writes. */
export interface WriteOptions {
  /**
   * Opaque applied position to associate with this write (see the package doc). Must not go backwards: the
   * manifest stores the position of the newest write flushed to SSTables.
   */
  position?: Uint8Array;
}

/** Bounds and direction for an iterator. Omitted bounds are open. */
export interface RangeOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  /** Iterate from the highest key down. Default false. */
  reverse?: boolean;
  /** Stop after this many entries. Default unlimited. */
  limit?: number;
  /** Read at this snapshot instead of the latest state. */
  snapshot?: Snapshot;
}

/** A key/value pair yielded by iterators. The arrays are owned by the caller. */
export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/** A consistent read view at one sequence number. Holds back compaction of what it can see until released. */
export interface Snapshot {
  readonly sequence: number;
  get(key: Uint8Array): Uint8Array | undefined;
  /** {@link Lsm.getWith} at the snapshot's sequence. */
  getWith<T>(key: Uint8Array, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined;
  iterate(range?: Omit<RangeOptions, 'snapshot'>): IterableIterator<Entry>;
  /** Releases the snapshot. Idempotent. Reads after release throw `HEARTH_CLOSED`. */
  release(): void;
}

/** Counters and sizes for `stats()`. */
export interface LsmStats {
  sequence: number;
  memtableBytes: number;
  /**
   * Live SSTables, newest run first. `run` identifies the sorted run a table belongs to (tables of one run do not
   * overlap); `level` is the run's UCS level (by size; see docs/architecture.md).
   */
  tables: {
    level: number;
    run: number;
    file: string;
    bytes: number;
    entries: number;
    smallest: Uint8Array;
    largest: Uint8Array;
  }[];
  /**
   * Block cache: bytes held, capacity, lookups that hit and missed, and `bypassed`: point-lookup misses the cache
   * did not admit (read into a reused buffer and not cached; see the admission policy in docs/architecture.md).
   */
  blockCache: { bytes: number; capacity: number; hits: number; misses: number; bypassed: number };
  bloom: { checks: number; negatives: number };
  compactions: number;
  bytesWrittenByFlush: number;
  bytesWrittenByCompaction: number;
  /** Number of times a write had to wait for a flush (the memtable backlog was full). */
  writeStalls: number;
  /** What open found and repaired. */
  recovery: {
    /** Bytes of a torn (incompletely written) manifest tail that open cut off; 0 if none. */
    tornManifestBytes: number;
    /** Files left by a crashed flush or compaction (or superseded manifests) that open removed. */
    orphansRemoved: string[];
  };
}

/**
 * An open LSM tree. Reads are synchronous (memtable, block cache, synchronous file reads); writes are applied to
 * the memtable synchronously and return a promise only because a full memtable may have to wait for a flush.
 */
export interface Lsm {
  /**
   * Latest sequence number assigned. Each write call (put, delete, or a whole batch) takes the next sequence number;
   * within a batch, a later op on the same key replaces an earlier one.
   */
  readonly sequence: number;
  /** The applied position recorded in the manifest at open, or advanced by later flushes; undefined if none. */
  readonly appliedPosition: Uint8Array | undefined;

  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Point lookup without a copy: if `key` has a value, calls `read(buf, off, len)` with a view of it
   * (`buf[off, off + len)`) and returns what `read` returns; undefined if the key has no value (`read` is not
   * called). For a reader that decodes the value at once (the Database decodes a document), this saves the copy
   * `get` makes, which for values over 64 bytes is mostly the cost of allocating an `ArrayBuffer`.
   *
   * The view points into the LSM's own memory (the memtable, a cached block or a reused read buffer): it is valid
   * only while `read` runs, and `read` must neither keep it nor modify it, nor read from or write to this LSM.
   * @throws TypeError if `read` is not a function, or if `read` reads from this LSM (re-entrant lookup); errors of
   *   `get`; whatever `read` throws.
   */
  getWith<T>(key: Uint8Array, read: (buf: Uint8Array, off: number, len: number) => T): T | undefined;
  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void>;
  delete(key: Uint8Array, options?: WriteOptions): Promise<void>;
  /**
   * Applies all ops atomically at one sequence number. An empty `ops` with `options.position` only advances the
   * position that the next flush records (for log entries that changed nothing here).
   */
  batch(ops: BatchOp[], options?: WriteOptions): Promise<void>;
  /** Forward or reverse iteration over a range at the latest state or a snapshot. */
  iterate(range?: RangeOptions): IterableIterator<Entry>;
  snapshot(): Snapshot;
  /**
   * Writes the memtable to an SSTable and records it (and its applied position) in the manifest. When it resolves,
   * every write made before the call is durable (SSTable synced, then manifest edit synced) and `appliedPosition` is
   * the position of the newest of them. An empty memtable whose writes carried only a position (an empty batch)
   * still records that position.
   */
  flush(): Promise<void>;
  /** Runs compaction until no level needs it (or fully, with `{ full: true }`). */
  compact(options?: { full?: boolean }): Promise<void>;
  stats(): LsmStats;
  /**
   * Flushes nothing: unflushed writes are recovered from the log by the caller. Waits for a flush already under way
   * to finish and stops compaction at its next yield (its partial output is removed on the next open). Reads,
   * writes, iterators and snapshots used afterwards throw `HEARTH_CLOSED`. Idempotent.
   */
  close(): Promise<void>;
}
