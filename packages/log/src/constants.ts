/**
 * On-disk and wire constants of `@hearth/log`. Do not change released values.
 * Specs: `docs/formats/log-entry.md` (entry V1), `docs/formats/feed-file.md` (feed file V1).
 * @packageDocumentation
 */

// --- log entry V1 (docs/formats/log-entry.md) -----------------------------------------------------------------

/** First byte of an encoded entry, version 1. */
export const ENTRY_V1 = 0x01;
/** Byte offsets of the entry V1 fields. */
export const ENTRY_OFFSET = {
  VERSION: 0,
  FEED: 1,
  SEQ: 33,
  PREV: 41,
  HLC: 73,
  OPS_LENGTH: 81,
  OPS: 85,
} as const;
/** Bytes before the ops payload. */
export const ENTRY_HEADER_BYTES = 85;
/** Bytes of the ed25519 signature that ends an entry. */
export const SIGNATURE_BYTES = 64;
/** Bytes of an entry with an empty ops payload (header + signature). */
export const ENTRY_MIN_BYTES = ENTRY_HEADER_BYTES + SIGNATURE_BYTES;
/** Bytes of a feed id (an ed25519 public key, RFC 8032 section 5.1.5). */
export const FEED_ID_BYTES = 32;
/** Bytes of an entry hash and of `prev` (SHA-256). */
export const HASH_BYTES = 32;
/** Largest encoded entry accepted: 16 MiB (1,000 ops with 768-dim f32 vectors fit with room to spare). */
export const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/** First sequence number of every feed. Its `prev` is 32 zero bytes. */
export const FIRST_SEQ = 1;

// --- feed file V1 (docs/formats/feed-file.md) -----------------------------------------------------------------

/** Magic at offset 0 of a feed file: ASCII "HRTHFEED". */
export const FEED_FILE_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x46, 0x45, 0x45, 0x44]);
/** Magic at offset 0 of a fork-evidence file: ASCII "HRTHFORK". */
export const FORK_FILE_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x46, 0x4f, 0x52, 0x4b]);
/** Feed file format version, at offset 8. */
export const FEED_FILE_V1 = 0x01;
/** Bytes of the feed file header: magic 8, version 1, reserved 3, feed id 32, CRC32C 4. */
export const FEED_FILE_HEADER_BYTES = 48;
/** Bytes of a record frame header: length 4, CRC32C 4. */
export const FRAME_HEADER_BYTES = 8;
/** File name suffix of a feed file (`<64 hex digits of the feed id>.feed`). */
export const FEED_FILE_SUFFIX = '.feed';
/** File name suffix of a fork-evidence file (`<64 hex digits of the feed id>.fork`). */
export const FORK_FILE_SUFFIX = '.fork';

// --- feed index V1 (docs/formats/feed-index.md) ---------------------------------------------------------------

/** Magic at offset 0 of a feed index file: ASCII "HRTHFIDX". */
export const FEED_INDEX_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x46, 0x49, 0x44, 0x58]);
/** Feed index format version, at offset 8. */
export const FEED_INDEX_V1 = 0x01;
/** Bytes before the first record length: magic 8, version 1, reserved 3, feed id 32, count 8. */
export const FEED_INDEX_HEADER_BYTES = 52;
/** File name suffix of a feed index file (`<64 hex digits of the feed id>.idx`). */
export const FEED_INDEX_SUFFIX = '.idx';
/**
 * Default: a feed's index is rewritten after a sync once the records it does not cover reach this many bytes (or
 * an eighth of the indexed ones, whichever is more), and on close.
 */
export const DEFAULT_INDEX_EVERY_BYTES = 4 * 1024 * 1024;

// --- state vector V1 (docs/formats/state-vector.md) -----------------------------------------------------------

/** First byte of an encoded state vector, version 1. */
export const STATE_VECTOR_V1 = 0x01;
/** Bytes before the first state vector item: version 1, count 4. */
export const STATE_VECTOR_HEADER_BYTES = 5;
/** Bytes of one state vector item: feed 32, seq 8, hash 32. */
export const STATE_VECTOR_ITEM_BYTES = 72;
