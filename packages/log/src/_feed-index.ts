/**
 * Internal: the feed index file (spec: `docs/formats/feed-index.md`), a checkpoint of a feed file's record
 * boundaries, so that opening a feed store need not read and checksum every record of every feed.
 *
 * ```
 * index := magic:8 ("HRTHFIDX") version:u8(=1) reserved:3(=0) feed:32 count:u64be length:u32be*count crc32c:u32be
 * ```
 * `length[i]` is the entry length of record `i + 1` (the frame's length field); record 1 starts right after the
 * feed file's 48-byte header and record `i + 1` starts `8 + length[i]` bytes after record `i`. The CRC-32C covers
 * every byte before it.
 *
 * Invariants (what makes an index safe to trust):
 * 1. An index is written only for records that were synced to the feed file, by `writeFileAtomic` (temporary file,
 *    sync, rename): a crash leaves the previous index or the new one, never a mix.
 * 2. Feed files are append-only, and the only cuts (recovery of a torn tail, `repair`) remove the index file of
 *    that feed. So an index file on disk describes a prefix of its feed file's records.
 * 3. The reader trusts it only if its checksum, magic, version and feed match, its records end inside the file,
 *    and its last record is at the offset and of the length it names, passes its checksum and holds seq `count`.
 *    Anything else is ignored (the feed is scanned whole, as without an index): an index is a cache of what a
 *    scan finds, never the only copy of anything.
 */
import { crc32c } from '@hearth/lsm';
import {
  ENTRY_MIN_BYTES,
  FEED_FILE_HEADER_BYTES,
  FEED_ID_BYTES,
  FEED_INDEX_HEADER_BYTES,
  FEED_INDEX_MAGIC,
  FEED_INDEX_V1,
  FRAME_HEADER_BYTES,
  MAX_ENTRY_BYTES,
} from './constants.js';

/** A decoded index: the record offsets it implies and where its records end. */
export interface FeedIndex {
  /** `offsets[i]`: file offset of the record holding seq `i + 1`. */
  readonly offsets: number[];
  /** `lengths[i]`: entry length of that record. */
  readonly lengths: Uint32Array;
  /** Offset just past the last indexed record. */
  readonly end: number;
}

/**
 * Encodes the index of `count` records whose entry lengths are `lengths[0, count)`.
 * REQUIRES: `count >= 1`; every length within the entry limits.
 */
export function encodeFeedIndexV1(feed: Uint8Array, lengths: ArrayLike<number>, count: number): Uint8Array {
  const out = new Uint8Array(FEED_INDEX_HEADER_BYTES + 4 * count + 4);
  const view = new DataView(out.buffer);
  out.set(FEED_INDEX_MAGIC, 0);
  out[8] = FEED_INDEX_V1;
  out.set(feed, 12);
  view.setUint32(44, Math.floor(count / 0x100000000));
  view.setUint32(48, count >>> 0);
  for (let i = 0; i < count; i++) view.setUint32(FEED_INDEX_HEADER_BYTES + 4 * i, lengths[i]);
  const at = FEED_INDEX_HEADER_BYTES + 4 * count;
  view.setUint32(at, crc32c(out, 0, at));
  return out;
}

/**
 * Decodes an index of `feed`; null (with nothing thrown) if it is not a well-formed version-1 index of that feed
 * (invariant 3: the caller then scans the feed file instead).
 */
export function decodeFeedIndexV1(bytes: Uint8Array, feed: Uint8Array): FeedIndex | null {
  if (bytes.length < FEED_INDEX_HEADER_BYTES + 4 + 4 || (bytes.length - FEED_INDEX_HEADER_BYTES - 4) % 4 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = bytes.length - 4;
  if (crc32c(bytes, 0, at) !== view.getUint32(at)) return null;
  for (let i = 0; i < 8; i++) if (bytes[i] !== FEED_INDEX_MAGIC[i]) return null;
  if (bytes[8] !== FEED_INDEX_V1 || bytes[9] !== 0 || bytes[10] !== 0 || bytes[11] !== 0) return null;
  for (let i = 0; i < FEED_ID_BYTES; i++) if (bytes[12 + i] !== feed[i]) return null;
  const count = view.getUint32(44) * 0x100000000 + view.getUint32(48);
  if (count < 1 || count !== (at - FEED_INDEX_HEADER_BYTES) / 4) return null;
  const lengths = new Uint32Array(count);
  const offsets: number[] = new Array(count);
  let pos = FEED_FILE_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const len = view.getUint32(FEED_INDEX_HEADER_BYTES + 4 * i);
    if (len < ENTRY_MIN_BYTES || len > MAX_ENTRY_BYTES) return null;
    lengths[i] = len;
    offsets[i] = pos;
    pos += FRAME_HEADER_BYTES + len;
  }
  return { offsets, lengths, end: pos };
}
