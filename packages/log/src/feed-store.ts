/**
 * The feed store: every feed this replica holds (its own and its peers'), one append-only file per feed on a
 * `@hearth/io` {@link FileSystem}. Format: `docs/formats/feed-file.md`.
 *
 * Files in `dir`: `<feed hex>.feed` (the feed's entries, framed with length + CRC32C) and, for a forked feed,
 * `<feed hex>.fork` (the conflicting entries kept as evidence; its presence freezes the feed).
 *
 * Invariants:
 * 1. A feed file holds the entries of one feed with seq 1, 2, ..., n in order, each a {@link VerifiedEntry} when
 *    appended (the store refuses anything else), each entry's `prev` equal to the `hash` of the one before.
 * 2. In memory, per feed: `offsets[seq - 1]` is the file offset of the record holding `seq`; `end` is the offset
 *    just past the last good record; `headHash` is the `hash` of entry n. All three are rebuilt on open by a scan.
 * 3. Bytes between `end` and the file's size (`allocated`) are zero: preallocated space (see Preallocation below),
 *    or transiently the bytes of a failed write (which is cut back to `end`).
 * 4. A feed with a fork file is frozen: `append` refuses its entries with `HEARTH_FEED_FROZEN`; reads still work.
 * 5. Appends are serialized (one at a time, in call order); `sync()` makes every append before it durable.
 *
 * Durability: `append` writes without flushing; `sync` flushes every feed file written since the last sync. The
 * db group-commits by appending a commit's entry (or several) and calling `sync` once, acknowledging after it.
 *
 * Preallocation (on a backend with `supports.preallocate`, or `preallocate: true`): when an append would pass the
 * file's size, the file is first grown with `truncate` by a step (1/8 of the data, 64 KiB to 1 MiB), so most
 * appends write inside space the file already has. Syncing such a write has no size change to make durable: on
 * OPFS the write needs no quota reservation from the browser process and the flush is cheaper (measured in
 * Chromium on this project's machine: write 95 -> 35 µs, flush 230 -> 200 µs p50, `bench/browser/profile-writes.ts`),
 * and on Linux `fdatasync` skips the inode update. `close` shrinks the file back to `end`.
 *
 * Feed index (`docs/formats/feed-index.md`, `_feed-index.ts`): `<feed hex>.idx` lists the entry lengths of a synced
 * prefix of the feed file's records. It is written after a sync once enough records are outside it (in the
 * background, `indexEveryBytes`) and on close; open takes the records it covers without reading them (after
 * checking the index and its last record against the file) and scans only the rest. So open reads little of a
 * long feed; a checksum failure inside the indexed records is reported when they are read. `fullScan` (and
 * `repair`) ignore indexes. An index is a cache: one that does not check out is ignored.
 *
 * Recovery on open: each file is scanned record by record (checksums, structure, seq continuity). Where the
 * records end, a rest of the file that is all zero bytes is preallocated space: the end, not damage. A damaged
 * record with no valid record after it is a **torn tail**: the file is cut at that record (synced) and the cut
 * is reported in {@link FeedStore.recovered}. A damaged record **followed by** a valid one is corruption in the
 * middle: open fails with `HEARTH_CORRUPTION` (or, with `repair: true`, cuts there too and reports it).
 *
 * @packageDocumentation
 */
import { CorruptionError, IoError, IoErrorCode, readFileIfExists, writeFileAtomic, type FileHandle, type FileSystem } from '@hearth/io';
import { isMarkedVerified } from './_brand.js';
import { sha256, sha256Fast } from './_crypto.js';
import { decodeFeedIndexV1, encodeFeedIndexV1, type FeedIndex } from './_feed-index.js';
import { checkFileHeader, encodeFileHeader, encodeFrameHeader, frameChecksumOk, frameLength, writeRecord } from './_frame.js';
import {
  DEFAULT_INDEX_EVERY_BYTES,
  ENTRY_MIN_BYTES,
  ENTRY_OFFSET,
  ENTRY_V1,
  FEED_FILE_HEADER_BYTES,
  FEED_FILE_MAGIC,
  FEED_FILE_SUFFIX,
  FEED_ID_BYTES,
  FEED_INDEX_SUFFIX,
  FORK_FILE_MAGIC,
  FORK_FILE_SUFFIX,
  FRAME_HEADER_BYTES,
  MAX_ENTRY_BYTES,
  SIGNATURE_BYTES,
} from './constants.js';
import { _withHashes, decodeEntryV1, linkHash, type UnverifiedEntry, type VerifiedEntry } from './entry.js';
import { FeedFrozenError, ForkError, LogError, LogErrorCode } from './errors.js';
import { feedIdFromHex, feedIdToHex } from './keys.js';

/** Head of a feed: its last sequence number and that entry's `hash`. */
export interface FeedHead {
  readonly seq: number;
  readonly hash: Uint8Array;
}

/** A feed's entry in a state vector. */
export interface StateVectorEntry extends FeedHead {
  readonly feed: Uint8Array;
}

/** What recovery cut from a file on open. */
export interface RecoveryReport {
  /** Feed id, hex. */
  readonly feed: string;
  /** Path of the file that was cut. */
  readonly path: string;
  /** Byte offset the file was cut at (the damaged record's start). */
  readonly offset: number;
  /** Bytes removed. */
  readonly droppedBytes: number;
  /** `torn-tail` (nothing valid after the damage) or `repair` (a corrupt middle cut on request). */
  readonly kind: 'torn-tail' | 'repair';
  /** What was wrong with the first dropped record. */
  readonly reason: string;
}

/** Options of {@link FeedStore.open}. */
export interface FeedStoreOptions {
  /** The file system. */
  fs: FileSystem;
  /** Directory of the feed files (created if missing). */
  dir: string;
  /**
   * Cut a feed file at a corrupt record even when valid records follow it (they are dropped and reported), instead
   * of failing with `HEARTH_CORRUPTION`. Dropped entries can be fetched again from peers. Default false.
   */
  repair?: boolean;
  /**
   * Grow feed files ahead of appends (see the file header). Default: the file system's `supports.preallocate`
   * (OPFS and node: true; memory and IndexedDB: false).
   */
  preallocate?: boolean;
  /**
   * Scan and checksum every record of every feed file on open, ignoring the feed index files (see "Feed index" in
   * the file header). Default false. `repair: true` implies it.
   */
  fullScan?: boolean;
  /**
   * After a sync, a feed's index is rewritten once the records it does not cover reach this many bytes (or an
   * eighth of those it covers, whichever is more); it is also written on close. Default 4 MiB. 0 writes none.
   */
  indexEveryBytes?: number;
}

/** How {@link FeedStore.open} found one feed's records (for diagnostics and tests). */
export interface FeedOpenReport {
  /** Feed id, hex. */
  readonly feed: string;
  /** Records held after open. */
  readonly records: number;
  /** Of those, records taken from the feed's index file without reading them (0: the file was scanned whole). */
  readonly fromIndex: number;
}

/** Result of {@link FeedStore.append}. */
export interface AppendResult {
  /** Entries written. */
  readonly appended: number;
  /** Entries the store already held (same `hash` at the same `(feed, seq)`), skipped. */
  readonly duplicates: number;
}

interface FeedFile {
  readonly feed: Uint8Array;
  readonly hex: string;
  readonly path: string;
  readonly fh: FileHandle;
  readonly offsets: number[];
  end: number;
  /** The file's size as this store made it: `end` plus preallocated zero bytes (invariant 3). */
  allocated: number;
  headHash: Uint8Array | null;
  /** The HLC of entry n (null when there is none). */
  headHlc: bigint | null;
  dirty: boolean;
  frozen: boolean;
  /** End of the records the feed's index file covers (0: none known). */
  indexedEnd: number;
  /** The index write in progress, if any (at most one per feed). */
  indexing: Promise<void> | null;
}

const READ_CHUNK = 1 << 20;
/** A run of one entry at least this large (bytes) is written as frame header then entry, without a copy. */
const SEPARATE_WRITE_BYTES = 64 << 10;
/** Preallocation step bounds (bytes); the step is 1/8 of the file's data between them. */
const PREALLOC_MIN = 64 << 10;
const PREALLOC_MAX = 1 << 20;
const HEX64 = /^[0-9a-f]{64}$/;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Buffered sequential reader over a file handle, for scans. Returned views are valid until the next call. */
class ScanReader {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}
  view(pos: number, n: number): Uint8Array | null {
    if (pos + n > this.size) return null;
    if (pos >= this.start && pos + n <= this.start + this.buf.length) {
      return this.buf.subarray(pos - this.start, pos - this.start + n);
    }
    this.buf = this.fh.read(pos, Math.max(n, READ_CHUNK));
    this.start = pos;
    return this.buf.subarray(0, n);
  }
}

type RecordCheck = { ok: true; length: number } | { ok: false; reason: string };

/** Checks the record at `pos`: frame header present, plausible length, body present, checksum. */
function checkRecord(r: ScanReader, pos: number): RecordCheck {
  const head = r.view(pos, FRAME_HEADER_BYTES);
  if (head === null) return { ok: false, reason: 'partial frame header' };
  const length = frameLength(head, 0);
  if (length < ENTRY_MIN_BYTES || length > MAX_ENTRY_BYTES) return { ok: false, reason: `implausible record length ${length}` };
  const rec = r.view(pos, FRAME_HEADER_BYTES + length);
  if (rec === null) return { ok: false, reason: `record of ${length} bytes extends past the end of the file` };
  if (!frameChecksumOk(rec, 0, length)) return { ok: false, reason: 'record checksum mismatch' };
  return { ok: true, length };
}

/**
 * Whether a valid record of `feed` starts anywhere after `pos`: searches for the entry signature bytes (version
 * then feed id, which every record of this file carries at a fixed place) and checks each candidate's checksum.
 */
function validRecordAfter(fh: FileHandle, size: number, pos: number, feed: Uint8Array): number | null {
  const reader = new ScanReader(fh, size);
  const patternAt = FRAME_HEADER_BYTES + ENTRY_OFFSET.VERSION; // record start + 8 = entry version byte
  const span = 1 + FEED_ID_BYTES;
  for (let chunkStart = pos + 1; chunkStart + patternAt + span <= size; chunkStart += READ_CHUNK) {
    const chunk = fh.read(chunkStart + patternAt, READ_CHUNK + span);
    for (let i = 0; i + span <= chunk.length; i++) {
      if (chunk[i] !== ENTRY_V1 || chunk[i + 1] !== feed[0]) continue;
      let match = true;
      for (let k = 1; k < FEED_ID_BYTES; k++) {
        if (chunk[i + 1 + k] !== feed[k]) {
          match = false;
          break;
        }
      }
      if (!match) continue;
      const candidate = chunkStart + i;
      if (checkRecord(reader, candidate).ok) return candidate;
    }
  }
  return null;
}

/**
 * The feed store (see the file header for the layout, invariants and recovery).
 *
 * @example
 * ```ts
 * const store = await FeedStore.open({ fs, dir: 'feeds' });
 * const e = await signEntry({ seq: 1, hlc, ops }, keypair);
 * await store.append([e]);
 * await store.sync();            // now durable: acknowledge the writes
 * store.head(keypair.publicKey); // { seq: 1, hash }
 * ```
 */
export class FeedStore {
  private readonly files = new Map<string, FeedFile>();
  private readonly recoveredList: RecoveryReport[] = [];
  private readonly openReportList: FeedOpenReport[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly repair: boolean,
    private readonly preallocate: boolean,
    private readonly fullScan: boolean,
    private readonly indexEveryBytes: number,
  ) {}

  /**
   * Opens (creating `dir` if needed) and recovers every feed file in `dir`: rebuilds each offset index and head,
   * cuts torn tails (see {@link FeedStore.recovered}), loads fork evidence (freezing those feeds).
   * @throws CorruptionError `HEARTH_CORRUPTION` for a bad file header, a corrupt record followed by valid ones
   *   (unless `repair`), or a checksummed record whose content is wrong (another feed, a seq out of order).
   * @throws IoError from the file system.
   */
  static async open(options: FeedStoreOptions): Promise<FeedStore> {
    const { fs, dir } = options;
    if (typeof fs !== 'object' || fs === null) throw new TypeError('"fs" expected a FileSystem');
    if (typeof dir !== 'string' || dir === '') throw new TypeError('"dir" expected a non-empty path');
    const indexEvery = options.indexEveryBytes ?? DEFAULT_INDEX_EVERY_BYTES;
    if (!Number.isSafeInteger(indexEvery) || indexEvery < 0) throw new RangeError(`"indexEveryBytes" expected a safe integer >= 0, got ${indexEvery}`);
    await fs.mkdir(dir);
    const repair = options.repair ?? false;
    const store = new FeedStore(fs, dir, repair, options.preallocate ?? fs.supports.preallocate === true, repair || options.fullScan === true, indexEvery);
    try {
      await store.load();
    } catch (e) {
      // release every handle opened so far (OPFS handles are exclusive) before reporting
      await Promise.all([...store.files.values()].map((f) => f.fh.close().catch(() => undefined)));
      throw e;
    }
    return store;
  }

  /** Opens and recovers every feed file, then applies fork evidence. */
  private async load(): Promise<void> {
    const { fs, dir } = this;
    const store = this;
    const names = await fs.list(dir);
    for (const name of names) {
      if (!name.endsWith(FEED_FILE_SUFFIX)) continue;
      const hex = name.slice(0, -FEED_FILE_SUFFIX.length);
      if (!HEX64.test(hex)) throw new CorruptionError(`feed file name is not 64 lowercase hex digits`, { path: `${dir}/${name}` });
      await store.openFeedFile(feedIdFromHex(hex), false);
    }
    for (const name of names) {
      if (!name.endsWith(FORK_FILE_SUFFIX)) continue;
      const hex = name.slice(0, -FORK_FILE_SUFFIX.length);
      const path = `${dir}/${name}`;
      if (!HEX64.test(hex)) throw new CorruptionError(`fork file name is not 64 lowercase hex digits`, { path });
      const evidence = await store.loadForkEvidence(feedIdFromHex(hex)); // validates the file
      if (evidence === null) {
        // A crash while the first fork report was being written: ForkError is thrown only after both records
        // are synced, so this fork was never reported; it is detected again when the conflicting entry returns.
        await fs.remove(path);
        store.recoveredList.push({ feed: hex, path, offset: 0, droppedBytes: 0, kind: 'torn-tail', reason: 'incomplete fork evidence removed' });
        continue;
      }
      const f = store.files.get(hex) ?? (await store.openFeedFile(feedIdFromHex(hex), true));
      f.frozen = true;
    }
  }

  /** What recovery cut on open (torn tails, repairs), in the order found. Empty after a clean shutdown. */
  get recovered(): readonly RecoveryReport[] {
    return this.recoveredList;
  }

  /** Per feed file opened by {@link FeedStore.open}: how many records it holds and how many came from its index. */
  get openReport(): readonly FeedOpenReport[] {
    return this.openReportList;
  }

  /** Ids of every feed held, ascending by hex. */
  feeds(): Uint8Array[] {
    return [...this.files.values()].sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0)).map((f) => f.feed);
  }

  /** The head of `feed` (last seq and its hash), or null if the store holds no entry of it. */
  head(feed: Uint8Array): FeedHead | null {
    const f = this.files.get(feedIdToHex(checkFeed(feed)));
    if (f === undefined || f.headHash === null) return null;
    return { seq: f.offsets.length, hash: f.headHash.slice() };
  }

  /**
   * The HLC of `feed`'s last entry (64-bit, `docs/formats/hlc.md`), or null if the store holds no entry of it. Kept
   * in memory: no read of the entry (which may be megabytes).
   */
  headHlc(feed: Uint8Array): bigint | null {
    return this.files.get(feedIdToHex(checkFeed(feed)))?.headHlc ?? null;
  }

  /** The state vector: for every feed with at least one entry, its id, last seq and head hash; ascending by feed. */
  stateVector(): StateVectorEntry[] {
    const out: StateVectorEntry[] = [];
    for (const feed of this.feeds()) {
      const h = this.head(feed);
      if (h !== null) out.push({ feed, seq: h.seq, hash: h.hash });
    }
    return out;
  }

  /** Whether `feed` is frozen after a fork. */
  isFrozen(feed: Uint8Array): boolean {
    return this.files.get(feedIdToHex(checkFeed(feed)))?.frozen ?? false;
  }

  /**
   * Appends verified entries, in order (entries of several feeds may be mixed; each feed's must continue its head).
   * Writes without flushing: call {@link FeedStore.sync} before acknowledging. Entries the store already holds are
   * skipped (idempotent). Not atomic across entries: if one is refused, those before it stay appended.
   *
   * @throws TypeError if an entry is not a {@link VerifiedEntry} produced by verification or `signEntry`.
   * @throws FeedFrozenError `HEARTH_FEED_FROZEN` if the entry's feed is frozen.
   * @throws LogError `HEARTH_SEQUENCE_GAP` if an entry's seq is past head + 1.
   * @throws ForkError `HEARTH_FORK` if an entry conflicts with a held one: a different entry at a held seq, or an
   *   entry at head + 1 whose `prev` is not the head's hash. Both entries are persisted (synced) as evidence and
   *   the feed is frozen before this is thrown.
   * @throws IoError from the file system (a partially written record is cut back).
   */
  append(entries: readonly VerifiedEntry[]): Promise<AppendResult> {
    if (!Array.isArray(entries)) throw new TypeError('"entries" expected an array of VerifiedEntry');
    for (const e of entries) {
      if (!isMarkedVerified(e)) throw new TypeError('append accepts only VerifiedEntry (from verifyEntry, verifyRange or signEntry)');
    }
    return this.serialize(async () => {
      let appended = 0;
      let duplicates = 0;
      let i = 0;
      while (i < entries.length) {
        // Fast path: the longest run of entries that continue one feed's head, written as one buffer.
        const run = this.continuingRun(entries, i);
        if (run !== null) {
          this.appendRun(run.file, entries, i, run.end);
          appended += run.end - i;
          i = run.end;
          continue;
        }
        if (await this.appendOne(entries[i])) appended++;
        else duplicates++;
        i++;
      }
      return { appended, duplicates };
    });
  }

  /** Flushes every feed file written since the last sync. Resolves when all are durable. */
  sync(): Promise<void> {
    return this.serialize(async () => {
      const dirty = [...this.files.values()].filter((f) => f.dirty);
      await Promise.all(
        dirty.map(async (f) => {
          await f.fh.sync();
          f.dirty = false;
          // Every record up to `end` is durable now (appends wait behind this): an index may cover them.
          if (this.indexEveryBytes > 0 && f.indexing === null && f.end - f.indexedEnd >= Math.max(this.indexEveryBytes, f.indexedEnd >>> 3)) {
            this.startIndexWrite(f);
          }
        }),
      );
    });
  }

  /**
   * Reads entries `fromSeq..toSeq` (inclusive) of `feed`. Every record's checksum is checked and the hash chain
   * inside the range recomputed; the entries are returned as verified (they were verified when appended,
   * invariant 1). Reads see appended entries before `sync`.
   * @throws RangeError if the range is empty or outside `1..head`.
   * @throws CorruptionError `HEARTH_CORRUPTION` if a record fails its checksum or the chain breaks on disk.
   */
  async read(feed: Uint8Array, fromSeq: number, toSeq: number): Promise<VerifiedEntry[]> {
    this.checkOpen();
    const f = this.files.get(feedIdToHex(checkFeed(feed)));
    const n = f?.offsets.length ?? 0;
    if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(toSeq) || fromSeq < 1 || toSeq < fromSeq || toSeq > n) {
      throw new RangeError(`read range [${fromSeq}, ${toSeq}] outside the feed's 1..${n}`);
    }
    const file = f!;
    const start = file.offsets[fromSeq - 1];
    const stop = toSeq < n ? file.offsets[toSeq] : file.end;
    const buf = file.fh.read(start, stop - start);
    if (buf.length !== stop - start) throw new CorruptionError('feed file is shorter than its index', { path: file.path, offset: start });
    const out: VerifiedEntry[] = [];
    let pos = 0;
    let prevHash: Uint8Array | null = null;
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      const at = start + pos;
      const length = frameLength(buf, pos);
      if (pos + FRAME_HEADER_BYTES + length > buf.length || !frameChecksumOk(buf, pos, length)) {
        throw new CorruptionError(`record of seq ${seq} fails its checksum`, { path: file.path, offset: at });
      }
      const entry = this.decodeStored(buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length), file, at);
      if (entry.seq !== seq || (prevHash !== null && !equalBytes(entry.prev, prevHash))) {
        throw new CorruptionError(`stored entry at seq ${seq} does not continue the chain`, { path: file.path, offset: at });
      }
      const h = sha256Fast(entry.bytes.subarray(0, entry.bytes.length - SIGNATURE_BYTES));
      const signingHash = h instanceof Uint8Array ? h : await h;
      const hash = linkHash(signingHash, entry.signature);
      out.push(_withHashes(entry, signingHash, hash));
      prevHash = hash;
      pos += FRAME_HEADER_BYTES + length;
    }
    return out;
  }

  /**
   * Encoded entries of `feed` from `fromSeq` on, for serving a peer: consecutive, at most `limit`, and as many as
   * fit in `maxBytes` of entry bytes (at least one). Read with one file read; each record's checksum, length,
   * version, feed and seq are checked, but the hash chain is not recomputed (it was verified when the entries were
   * appended, invariant 1, and every receiver verifies it again before it stores). `[]` if `fromSeq` is past the
   * head. The arrays are views into one fresh buffer per call. Reads see appended entries before `sync`.
   * @throws RangeError if `fromSeq` is not a safe integer >= 1, `limit` not a positive integer or `maxBytes` not
   *   positive.
   * @throws CorruptionError `HEARTH_CORRUPTION` if a record fails its checks.
   */
  readEncoded(feed: Uint8Array, fromSeq: number, limit: number, maxBytes: number): Uint8Array[] {
    this.checkOpen();
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) throw new RangeError(`"fromSeq" expected a safe integer >= 1, got ${fromSeq}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`"limit" expected a positive integer, got ${limit}`);
    if (!(maxBytes > 0)) throw new RangeError(`"maxBytes" expected a positive number, got ${maxBytes}`);
    const f = this.files.get(feedIdToHex(checkFeed(feed)));
    const n = f?.offsets.length ?? 0;
    if (fromSeq > n) return [];
    const file = f!;
    const { offsets } = file;
    const start = offsets[fromSeq - 1];
    // How many records fit: sizes come from the offset index (record = 8-byte frame header + entry).
    let toSeq = fromSeq;
    let bytes = (fromSeq < n ? offsets[fromSeq] : file.end) - start - FRAME_HEADER_BYTES;
    const last = Math.min(n, fromSeq + limit - 1);
    while (toSeq < last) {
      const next = (toSeq + 1 < n ? offsets[toSeq + 1] : file.end) - offsets[toSeq] - FRAME_HEADER_BYTES;
      if (bytes + next > maxBytes) break;
      bytes += next;
      toSeq++;
    }
    const stop = toSeq < n ? offsets[toSeq] : file.end;
    const buf = file.fh.read(start, stop - start);
    if (buf.length !== stop - start) throw new CorruptionError('feed file is shorter than its index', { path: file.path, offset: start });
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: Uint8Array[] = new Array(toSeq - fromSeq + 1);
    let pos = 0;
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      const at = start + pos;
      const length = frameLength(buf, pos);
      const body = pos + FRAME_HEADER_BYTES;
      if (length < ENTRY_MIN_BYTES || body + length > buf.length || !frameChecksumOk(buf, pos, length)) {
        throw new CorruptionError(`record of seq ${seq} fails its checksum`, { path: file.path, offset: at });
      }
      const stored = Number(view.getBigUint64(body + ENTRY_OFFSET.SEQ));
      if (buf[body + ENTRY_OFFSET.VERSION] !== ENTRY_V1 || stored !== seq || !equalBytesAt(buf, body + ENTRY_OFFSET.FEED, file.feed)) {
        throw new CorruptionError(`stored record at seq ${seq} is not that entry of this feed`, { path: file.path, offset: at });
      }
      out[seq - fromSeq] = buf.subarray(body, body + length);
      pos = body + length;
    }
    return out;
  }

  /**
   * The fork evidence kept for `feed` (the conflicting entries, decoded but not re-verified), or `[]`.
   * @throws CorruptionError if the evidence file is damaged beyond a torn tail.
   */
  async forkEvidence(feed: Uint8Array): Promise<UnverifiedEntry[]> {
    this.checkOpen();
    return (await this.loadForkEvidence(checkFeed(feed))) ?? [];
  }

  /** Closes every file. Waits for an append or sync in progress. Idempotent. */
  async close(): Promise<void> {
    await this.serialize(async () => {
      if (this.closed) return;
      this.closed = true;
      await Promise.all(
        [...this.files.values()].map(async (f) => {
          await f.indexing;
          try {
            // The index covers synced records only (`_feed-index.ts` invariant 1).
            if (f.dirty) {
              await f.fh.sync();
              f.dirty = false;
            }
            // Give back the preallocated space (invariant 3; not synced: either size recovers the same).
            if (f.allocated > f.end) {
              try {
                f.fh.truncate(f.end);
              } catch {
                /* best effort: recovery reads a zero tail as the end */
              }
            }
            if (this.indexEveryBytes > 0 && f.offsets.length > 0 && f.end > f.indexedEnd) await this.writeIndex(f);
          } finally {
            await f.fh.close();
          }
        }),
      );
    }, false);
  }

  // --- internals ------------------------------------------------------------------------------------------------

  private serialize<T>(fn: () => Promise<T>, requireOpen = true): Promise<T> {
    const run = this.queue.then(() => {
      if (requireOpen) this.checkOpen();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.closed) throw new IoError(IoErrorCode.CLOSED, 'feed store is closed', { path: this.dir });
  }

  private indexPath(f: { hex: string }): string {
    return `${this.dir}/${f.hex}${FEED_INDEX_SUFFIX}`;
  }

  /** Writes `f`'s index in the background (after a sync); {@link FeedStore.close} waits for it. */
  private startIndexWrite(f: FeedFile): void {
    f.indexing = this.writeIndex(f).finally(() => {
      f.indexing = null;
    });
  }

  /**
   * Replaces `f`'s index file with one covering its records now (all synced: `_feed-index.ts` invariant 1). Never
   * rejects: the index is a cache (invariant 3), so a failed write (a full disk) leaves the previous index or none,
   * and the next open scans more of the feed file; nothing else depends on it.
   */
  private async writeIndex(f: FeedFile): Promise<void> {
    const count = f.offsets.length;
    const end = f.end;
    const lengths = new Uint32Array(count);
    for (let i = 0; i < count; i++) lengths[i] = (i + 1 < count ? f.offsets[i + 1] : end) - f.offsets[i] - FRAME_HEADER_BYTES;
    try {
      await writeFileAtomic(this.fs, this.indexPath(f), encodeFeedIndexV1(f.feed, lengths, count));
      if (end > f.indexedEnd) f.indexedEnd = end;
    } catch {
      /* see above */
    }
  }

  /**
   * The index of `file` if one exists and checks out against the file (`_feed-index.ts` invariant 3), else null.
   * @throws IoError from the file system.
   */
  private async loadIndex(file: FeedFile, reader: ScanReader, size: number): Promise<FeedIndex | null> {
    const bytes = await readFileIfExists(this.fs, this.indexPath(file));
    if (bytes === undefined) return null;
    const idx = decodeFeedIndexV1(bytes, file.feed);
    if (idx === null || idx.end > size) return null;
    const n = idx.offsets.length;
    const at = idx.offsets[n - 1];
    const c = checkRecord(reader, at);
    if (!c.ok || c.length !== idx.lengths[n - 1]) return null;
    try {
      if (this.decodeStored(reader.view(at + FRAME_HEADER_BYTES, c.length)!, file, at).seq !== n) return null;
    } catch {
      return null;
    }
    return idx;
  }

  private decodeStored(bytes: Uint8Array, file: FeedFile, at: number): UnverifiedEntry {
    let entry: UnverifiedEntry;
    try {
      entry = decodeEntryV1(bytes);
    } catch (e) {
      throw new CorruptionError(`checksummed record does not decode as an entry: ${(e as Error).message}`, { path: file.path, offset: at, cause: e });
    }
    if (!equalBytes(entry.feed, file.feed)) throw new CorruptionError('record holds an entry of another feed', { path: file.path, offset: at });
    return entry;
  }

  private async openFeedFile(feed: Uint8Array, create: boolean): Promise<FeedFile> {
    const hex = feedIdToHex(feed);
    const path = `${this.dir}/${hex}${FEED_FILE_SUFFIX}`;
    const fh = await this.fs.open(path, { create });
    const file: FeedFile = {
      feed,
      hex,
      path,
      fh,
      offsets: [],
      end: FEED_FILE_HEADER_BYTES,
      allocated: FEED_FILE_HEADER_BYTES,
      headHash: null,
      headHlc: null,
      dirty: false,
      frozen: false,
      indexedEnd: 0,
      indexing: null,
    };
    try {
      await this.recoverFile(file);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.files.set(hex, file);
    return file;
  }

  /** Scans a feed file: checks the header, indexes records, cuts a torn tail, computes the head hash. */
  private async recoverFile(file: FeedFile): Promise<void> {
    const { fh, path, feed } = file;
    let size = fh.size();
    if (size < FEED_FILE_HEADER_BYTES) {
      // A crash while creating the file: the header is written first and alone, so a short file holds no entry.
      const expected = encodeFileHeader(FEED_FILE_MAGIC, feed);
      const have = fh.read(0, size);
      if (!equalBytes(have, expected.subarray(0, size))) throw new CorruptionError('feed file header is damaged', { path, offset: 0 });
      fh.truncate(0);
      fh.write(0, expected);
      await fh.sync();
      if (size > 0) this.recoveredList.push({ feed: file.hex, path, offset: 0, droppedBytes: size, kind: 'torn-tail', reason: 'partial file header rewritten' });
      return;
    }
    const why = checkFileHeader(fh.read(0, FEED_FILE_HEADER_BYTES), FEED_FILE_MAGIC, feed);
    if (why !== null) throw new CorruptionError(`feed file header refused: ${why}`, { path, offset: 0 });
    const reader = new ScanReader(fh, size);
    let pos = FEED_FILE_HEADER_BYTES;
    let last: { at: number; length: number } | null = null;
    // The records the feed's index covers are taken as they are (their checksums are checked when they are read);
    // the scan starts after them (`_feed-index.ts` invariant 3).
    const idx = this.fullScan ? null : await this.loadIndex(file, reader, size);
    if (idx !== null) {
      for (let i = 0; i < idx.offsets.length; i++) file.offsets.push(idx.offsets[i]);
      const n = idx.offsets.length;
      last = { at: idx.offsets[n - 1], length: idx.lengths[n - 1] };
      pos = idx.end;
      file.indexedEnd = idx.end;
    }
    const fromIndex = file.offsets.length;
    while (pos < size) {
      const c = checkRecord(reader, pos);
      if (!c.ok) {
        if (zeroFrom(reader, pos)) break; // preallocated space: the records end here (invariant 3)
        const after = validRecordAfter(fh, size, pos, feed);
        if (after !== null && !this.repair) {
          throw new CorruptionError(
            `corrupt record (${c.reason}) followed by a valid record at offset ${after}; entries after it would be lost. ` +
              'Open with { repair: true } to cut the feed here (dropped entries can be fetched again from peers)',
            { path, offset: pos },
          );
        }
        fh.truncate(pos);
        await fh.sync();
        // An index of this file may describe records the cut removed (when it was not used: `repair`, `fullScan`):
        // it goes (`_feed-index.ts` invariant 2); the next one is written from the file as it is now.
        if (idx === null) await this.fs.remove(this.indexPath(file)).catch(() => undefined);
        const dropped = size - pos;
        size = pos;
        this.recoveredList.push({
          feed: file.hex,
          path,
          offset: pos,
          droppedBytes: dropped,
          kind: after === null ? 'torn-tail' : 'repair',
          reason: c.reason,
        });
        break;
      }
      const rec = reader.view(pos + FRAME_HEADER_BYTES, c.length)!;
      const entry = this.decodeStored(rec, file, pos);
      if (entry.seq !== file.offsets.length + 1) {
        throw new CorruptionError(`checksummed record holds seq ${entry.seq}, expected ${file.offsets.length + 1}`, { path, offset: pos });
      }
      file.offsets.push(pos);
      last = { at: pos, length: c.length };
      pos += FRAME_HEADER_BYTES + c.length;
    }
    file.end = pos;
    file.allocated = size;
    this.openReportList.push({ feed: file.hex, records: file.offsets.length, fromIndex });
    if (last !== null) {
      const bytes = fh.read(last.at + FRAME_HEADER_BYTES, last.length);
      const signingHash = await sha256(bytes.subarray(0, bytes.length - SIGNATURE_BYTES));
      file.headHash = linkHash(signingHash, bytes.subarray(bytes.length - SIGNATURE_BYTES));
      file.headHlc = this.decodeStored(bytes, file, last.at).hlc;
    }
  }

  private async fileFor(feed: Uint8Array): Promise<FeedFile> {
    const hex = feedIdToHex(feed);
    return this.files.get(hex) ?? (await this.openFeedFile(feed.slice(), true));
  }

  /**
   * The run `entries[from, end)` (end > from) of entries of one open, unfrozen feed that continue its head one by
   * one (seq = head + 1, prev = the head's hash): what {@link FeedStore.appendOne} would append without a question.
   * Null if `entries[from]` is not such an entry (a duplicate, fork, gap, frozen or new feed: the slow path).
   */
  private continuingRun(entries: readonly VerifiedEntry[], from: number): { file: FeedFile; end: number } | null {
    const first = entries[from];
    const f = this.files.get(feedIdToHex(first.feed));
    if (f === undefined || f.frozen) return null;
    let seq = f.offsets.length;
    let head = f.headHash;
    let end = from;
    while (end < entries.length) {
      const e = entries[end];
      if (e.seq !== seq + 1 || (e.feed !== first.feed && !equalBytes(e.feed, f.feed))) break;
      if (seq > 0 && !equalBytes(e.prev, head!)) break;
      seq++;
      head = e.hash;
      end++;
    }
    return end > from ? { file: f, end } : null;
  }

  /** Writes a run found by {@link FeedStore.continuingRun} with one write (cut back on failure, as appendOne). */
  private appendRun(f: FeedFile, entries: readonly VerifiedEntry[], from: number, end: number): void {
    let size = 0;
    for (let i = from; i < end; i++) size += FRAME_HEADER_BYTES + entries[i].bytes.length;
    const offsets: number[] = new Array(end - from);
    try {
      this.reserve(f, size);
      if (end - from === 1 && size >= SEPARATE_WRITE_BYTES) {
        // One large entry (a big transaction): its frame header and its bytes as two writes, instead of copying
        // megabytes into a record buffer first.
        const e = entries[from].bytes;
        offsets[0] = f.end;
        f.fh.write(f.end, encodeFrameHeader(e));
        f.fh.write(f.end + FRAME_HEADER_BYTES, e);
      } else {
        // Many entries (a sync batch): one buffer, one write.
        const buf = new Uint8Array(size);
        let at = 0;
        for (let i = from; i < end; i++) {
          offsets[i - from] = f.end + at;
          at = writeRecord(buf, at, entries[i].bytes);
        }
        f.fh.write(f.end, buf);
      }
    } catch (err) {
      this.cutBack(f);
      throw err;
    }
    for (const o of offsets) f.offsets.push(o);
    f.end += size;
    f.headHash = entries[end - 1].hash;
    f.headHlc = entries[end - 1].hlc;
    f.dirty = true;
  }

  /**
   * Makes room for `n` more bytes at `f.end`: with preallocation, grows the file (zero-filled) by `n` plus a step
   * when they would pass its size. Without, only tracks the size the write will give the file.
   */
  private reserve(f: FeedFile, n: number): void {
    const need = f.end + n;
    if (need <= f.allocated) return;
    if (!this.preallocate) {
      f.allocated = need;
      return;
    }
    const step = Math.min(PREALLOC_MAX, Math.max(PREALLOC_MIN, f.end >>> 3));
    f.fh.truncate(need + step);
    f.allocated = need + step;
  }

  /** After a failed write: cuts the file back to `end` (dropping a partial record and any preallocation). */
  private cutBack(f: FeedFile): void {
    try {
      f.fh.truncate(f.end);
      f.allocated = f.end;
    } catch {
      /* the original error is the one to report; open() cuts the partial record if this also failed */
    }
  }

  /** Appends one entry; false if it was a duplicate. */
  private async appendOne(e: VerifiedEntry): Promise<boolean> {
    const f = await this.fileFor(e.feed);
    if (f.frozen) throw new FeedFrozenError(f.hex);
    const n = f.offsets.length;
    if (e.seq <= n) {
      const [held] = await this.read(f.feed, e.seq, e.seq);
      if (equalBytes(held.hash, e.hash)) return false;
      await this.recordFork(f, held, e);
      throw new ForkError(f.hex, e.seq, feedIdToHex(held.hash), feedIdToHex(e.hash));
    }
    if (e.seq > n + 1) {
      throw new LogError(LogErrorCode.SEQUENCE_GAP, `entry seq ${e.seq} does not follow head ${n}`, { feed: f.hex, seq: e.seq });
    }
    if (n > 0 && !equalBytes(e.prev, f.headHash!)) {
      const [held] = await this.read(f.feed, n, n);
      await this.recordFork(f, held, e);
      throw new ForkError(f.hex, n, feedIdToHex(held.hash), feedIdToHex(e.prev));
    }
    const frame = encodeFrameHeader(e.bytes);
    try {
      this.reserve(f, FRAME_HEADER_BYTES + e.bytes.length);
      f.fh.write(f.end, frame);
      f.fh.write(f.end + FRAME_HEADER_BYTES, e.bytes);
    } catch (err) {
      this.cutBack(f);
      throw err;
    }
    f.offsets.push(f.end);
    f.end += FRAME_HEADER_BYTES + e.bytes.length;
    f.headHash = e.hash;
    f.headHlc = e.hlc;
    f.dirty = true;
    return true;
  }

  /** Persists both conflicting entries in the feed's fork file (synced) and freezes the feed. */
  private async recordFork(f: FeedFile, held: UnverifiedEntry, received: UnverifiedEntry): Promise<void> {
    const path = `${this.dir}/${f.hex}${FORK_FILE_SUFFIX}`;
    const fh = await this.fs.open(path, { create: true });
    try {
      if (fh.size() < FEED_FILE_HEADER_BYTES) {
        fh.truncate(0);
        fh.write(0, encodeFileHeader(FORK_FILE_MAGIC, f.feed));
      }
      for (const e of [held, received]) {
        fh.append(encodeFrameHeader(e.bytes));
        fh.append(e.bytes);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    f.frozen = true;
  }

  /**
   * Reads a fork file: its entries, `[]` if there is none, or null if it is incomplete (a header that is a prefix
   * of the expected one, or fewer than the two records of a fork report).
   */
  private async loadForkEvidence(feed: Uint8Array): Promise<UnverifiedEntry[] | null> {
    const hex = feedIdToHex(feed);
    const path = `${this.dir}/${hex}${FORK_FILE_SUFFIX}`;
    if (!(await this.fs.exists(path))) return [];
    const fh = await this.fs.open(path);
    try {
      const size = fh.size();
      if (size < FEED_FILE_HEADER_BYTES) {
        const expected = encodeFileHeader(FORK_FILE_MAGIC, feed);
        if (equalBytes(fh.read(0, size), expected.subarray(0, size))) return null;
      }
      const why = checkFileHeader(fh.read(0, FEED_FILE_HEADER_BYTES), FORK_FILE_MAGIC, feed);
      if (why !== null) throw new CorruptionError(`fork file header refused: ${why}`, { path, offset: 0 });
      const reader = new ScanReader(fh, size);
      const out: UnverifiedEntry[] = [];
      let pos = FEED_FILE_HEADER_BYTES;
      while (pos < size) {
        const c = checkRecord(reader, pos);
        if (!c.ok) {
          // Evidence is appended whole and synced before ForkError is thrown; a damaged record is a torn write of
          // a second fork report, or corruption. Either way the earlier evidence stands.
          if (validRecordAfter(fh, size, pos, feed) !== null) {
            throw new CorruptionError(`corrupt fork evidence record (${c.reason})`, { path, offset: pos });
          }
          break;
        }
        const bytes = reader.view(pos + FRAME_HEADER_BYTES, c.length)!.slice();
        try {
          out.push(decodeEntryV1(bytes));
        } catch (e) {
          throw new CorruptionError(`checksummed fork evidence does not decode: ${(e as Error).message}`, { path, offset: pos, cause: e });
        }
        pos += FRAME_HEADER_BYTES + c.length;
      }
      return out.length < 2 ? null : out;
    } finally {
      await fh.close();
    }
  }
}

/** Whether every byte of the file from `pos` to its end is zero (preallocated space, invariant 3). */
function zeroFrom(r: ScanReader, pos: number): boolean {
  for (let at = pos; at < r.size; at += READ_CHUNK) {
    const v = r.view(at, Math.min(READ_CHUNK, r.size - at))!;
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  }
  return true;
}

/** Whether `buf[at, at + b.length)` equals `b`. REQUIRES: in bounds. */
function equalBytesAt(buf: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (buf[at + i] !== b[i]) return false;
  return true;
}

function checkFeed(feed: Uint8Array): Uint8Array {
  if (!(feed instanceof Uint8Array) || feed.length !== FEED_ID_BYTES) throw new TypeError('"feed" expected Uint8Array of length 32');
  return feed;
}
