/**
 * Excluded ranges: entries that are stored in the feeds but left out of every view (documents, indexes, vectors).
 * Spec of the file: `docs/formats/db-layout.md`, "Excluded ranges file V1"; fixture
 * `packages/db/test/fixtures/excluded-v1.bin`.
 *
 * Why: the log is append-only and nothing stored is ever rewritten, yet a space can remove a device, and entries
 * that device wrote after its removal must not count. A replica that stored such entries before it learnt of the
 * removal would otherwise keep them in its views while replicas that learnt first refused them: the one case where
 * honest replicas diverged (`docs/sync.md`). The sync layer derives the ranges from its membership view and hands
 * them to {@link Database.setExcludedRanges}; the Database skips the ops of every entry in a range when it applies
 * entries (commit, ingest, replay, rebuild), and rebuilds its views when a change of ranges changes the status of
 * an entry it holds. The ranges are persisted so that a replay on open already excludes the same entries.
 *
 * Invariants (of a normalized list, which every function here returns and the file holds):
 * 1. Ascending by (feed bytes, `after` with null first); for one feed the ranges do not overlap or touch, and no
 *    range is empty (`after < upTo` when both are set).
 * 2. An entry (feed F, HLC h) is excluded iff some range of F has (`after` null or `after < h`) and (`upTo` null or
 *    `h <= upTo`).
 *
 * @packageDocumentation
 */
import { CorruptionError, readFileIfExists, writeFileAtomic, type FileSystem } from '@hearth/io';
import { crc32c } from '@hearth/lsm';
import { feedIdToHex } from '@hearth/log';

/**
 * Entries of `feed` whose HLC `h` satisfies `after < h <= upTo` are left out of the views. `after` null: no lower
 * bound; `upTo` null: no upper bound. HLCs are 64-bit (`docs/formats/hlc.md`).
 */
export interface ExcludedRange {
  /** Feed id (32 bytes: an ed25519 public key). */
  readonly feed: Uint8Array;
  readonly after: bigint | null;
  readonly upTo: bigint | null;
}

/** File name under the database directory, and its transient twin. */
// EXCLUDED_FILE lives in constants.ts: the Database looks for the file without loading this module.
export { EXCLUDED_FILE } from './constants.js';
import { EXCLUDED_FILE } from './constants.js';
export const EXCLUDED_TMP_FILE = 'excluded.tmp';
/** `HRTHEXC1`. */
export const EXCLUDED_MAGIC = Uint8Array.of(0x48, 0x52, 0x54, 0x48, 0x45, 0x58, 0x43, 0x31);
export const EXCLUDED_V1 = 0x01;
const HEADER = 13;
const RECORD = 49;
const HAS_AFTER = 0x01;
const HAS_UP_TO = 0x02;
const U64_MAX = (1n << 64n) - 1n;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function checkHlc(v: bigint | null, what: string): void {
  if (v === null) return;
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RangeError(`"${what}" expected null or a 64-bit HLC (bigint), got ${String(v)}`);
}

/**
 * Checks and normalizes ranges (invariant 1): sorted, overlapping or touching ranges of a feed merged, empty ones
 * dropped. The input is not modified.
 * @throws TypeError / RangeError on a malformed range (feed not 32 bytes, HLC not a 64-bit bigint).
 */
export function normalizeRanges(ranges: readonly ExcludedRange[]): ExcludedRange[] {
  if (!Array.isArray(ranges)) throw new TypeError('"ranges" expected an array');
  const list: ExcludedRange[] = [];
  for (const r of ranges) {
    if (typeof r !== 'object' || r === null || !(r.feed instanceof Uint8Array) || r.feed.length !== 32) throw new TypeError('"ranges[i].feed" expected a 32-byte Uint8Array');
    checkHlc(r.after, 'after');
    checkHlc(r.upTo, 'upTo');
    if (r.after !== null && r.upTo !== null && r.after >= r.upTo) continue; // empty
    list.push({ feed: r.feed.slice(), after: r.after, upTo: r.upTo });
  }
  list.sort((a, b) => compareBytes(a.feed, b.feed) || (a.after === b.after ? 0 : a.after === null ? -1 : b.after === null ? 1 : a.after < b.after ? -1 : 1));
  const out: ExcludedRange[] = [];
  for (const r of list) {
    const last = out[out.length - 1];
    if (last !== undefined && compareBytes(last.feed, r.feed) === 0 && (last.upTo === null || (r.after !== null && r.after <= last.upTo) || r.after === null)) {
      // overlapping or touching: merge (last.after <= r.after by the sort)
      const upTo = last.upTo === null || r.upTo === null ? null : last.upTo > r.upTo ? last.upTo : r.upTo;
      out[out.length - 1] = { feed: last.feed, after: last.after, upTo };
      continue;
    }
    out.push(r);
  }
  return out;
}

/** Whether two normalized lists are equal. */
export function sameRanges(a: readonly ExcludedRange[], b: readonly ExcludedRange[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (compareBytes(a[i].feed, b[i].feed) !== 0 || a[i].after !== b[i].after || a[i].upTo !== b[i].upTo) return false;
  }
  return true;
}

/** Whether `h` lies in range `r` (invariant 2). */
export function inRange(r: ExcludedRange, h: bigint): boolean {
  return (r.after === null || r.after < h) && (r.upTo === null || h <= r.upTo);
}

/** A lookup of normalized ranges by feed hex. */
export class ExclusionSet {
  private readonly byFeed = new Map<string, ExcludedRange[]>();
  constructor(readonly ranges: readonly ExcludedRange[]) {
    for (const r of ranges) {
      const hex = feedIdToHex(r.feed);
      let l = this.byFeed.get(hex);
      if (l === undefined) this.byFeed.set(hex, (l = []));
      l.push(r);
    }
  }
  get size(): number {
    return this.ranges.length;
  }
  /** Whether the entry of feed `hex` with HLC `h` is excluded. */
  excludes(hex: string, h: bigint): boolean {
    const l = this.byFeed.get(hex);
    if (l === undefined) return false;
    for (const r of l) if (inRange(r, h)) return true;
    return false;
  }
  /** Feed hexes with at least one range. */
  feeds(): IterableIterator<string> {
    return this.byFeed.keys();
  }
}

/** Encodes the excluded ranges file V1 (big-endian; layout in the file header's spec). REQUIRES: normalized. */
export function encodeExcludedFileV1(ranges: readonly ExcludedRange[]): Uint8Array {
  const out = new Uint8Array(HEADER + RECORD * ranges.length + 4);
  const view = new DataView(out.buffer);
  out.set(EXCLUDED_MAGIC, 0);
  out[8] = EXCLUDED_V1;
  view.setUint32(9, ranges.length);
  let o = HEADER;
  for (const r of ranges) {
    out.set(r.feed, o);
    out[o + 32] = (r.after !== null ? HAS_AFTER : 0) | (r.upTo !== null ? HAS_UP_TO : 0);
    view.setBigUint64(o + 33, r.after ?? 0n);
    view.setBigUint64(o + 41, r.upTo ?? 0n);
    o += RECORD;
  }
  view.setUint32(o, crc32c(out.subarray(0, o)));
  return out;
}

/**
 * Decodes the excluded ranges file V1.
 * @throws CorruptionError `HEARTH_CORRUPTION` on a wrong size, magic, version, checksum, flags, an absent bound
 *   with a non-zero value, or ranges that are not normalized.
 */
export function decodeExcludedFileV1(bytes: Uint8Array, path = EXCLUDED_FILE): ExcludedRange[] {
  const bad = (why: string): never => {
    throw new CorruptionError(`excluded ranges file refused: ${why}. Delete it and let the sync layer hand the ranges again (it derives them from the membership records)`, { path });
  };
  if (bytes.length < HEADER + 4) bad(`${bytes.length} bytes, too short`);
  for (let i = 0; i < EXCLUDED_MAGIC.length; i++) if (bytes[i] !== EXCLUDED_MAGIC[i]) bad('bad magic');
  if (bytes[8] !== EXCLUDED_V1) bad(`unknown version ${bytes[8]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(9);
  if (bytes.length !== HEADER + RECORD * n + 4) bad(`${bytes.length} bytes for ${n} ranges`);
  const end = HEADER + RECORD * n;
  if (view.getUint32(end) !== crc32c(bytes.subarray(0, end))) bad('checksum mismatch');
  const out: ExcludedRange[] = [];
  for (let o = HEADER; o < end; o += RECORD) {
    const flags = bytes[o + 32];
    if ((flags & ~(HAS_AFTER | HAS_UP_TO)) !== 0) bad(`reserved flag bits set in range ${(o - HEADER) / RECORD}`);
    const after = view.getBigUint64(o + 33);
    const upTo = view.getBigUint64(o + 41);
    if (!(flags & HAS_AFTER) && after !== 0n) bad('an absent lower bound with a value');
    if (!(flags & HAS_UP_TO) && upTo !== 0n) bad('an absent upper bound with a value');
    out.push({ feed: bytes.slice(o, o + 32), after: flags & HAS_AFTER ? after : null, upTo: flags & HAS_UP_TO ? upTo : null });
  }
  if (!sameRanges(out, normalizeRanges(out))) bad('ranges not sorted, overlapping or empty');
  return out;
}

/** Reads `<dir>/excluded` (no file = no ranges). @throws CorruptionError as {@link decodeExcludedFileV1}; IoError. */
export async function loadExcludedRanges(fs: FileSystem, dir: string): Promise<ExcludedRange[]> {
  const path = `${dir}/${EXCLUDED_FILE}`;
  const bytes = await readFileIfExists(fs, path);
  return bytes === undefined ? [] : decodeExcludedFileV1(bytes, path);
}

/** Writes `<dir>/excluded` atomically (temp file, sync, rename); removes it for an empty list. @throws IoError. */
export async function saveExcludedRanges(fs: FileSystem, dir: string, ranges: readonly ExcludedRange[]): Promise<void> {
  const path = `${dir}/${EXCLUDED_FILE}`;
  if (ranges.length === 0) {
    if (await fs.exists(path)) await fs.remove(path);
    return;
  }
  await writeFileAtomic(fs, path, encodeExcludedFileV1(ranges)); // via EXCLUDED_TMP_FILE (= path + '.tmp')
}
