/**
 * On-disk constants of the LSM's two formats. DO NOT CHANGE released values: files written with them must open.
 *
 * - SSTable: `docs/formats/sstable.md`
 * - Manifest and CURRENT: `docs/formats/manifest.md`
 *
 * Internal module: not exported from the package.
 */

// ---- Internal keys (docs/formats/sstable.md, "Internal keys") ----

/** Entry kind of a tombstone. Stored in the last byte of an internal key's trailer. */
export const KIND_DELETE = 0;
/** Entry kind of a value. */
export const KIND_PUT = 1;
/** Bytes appended to a user key to form an internal key: 7-byte big-endian sequence, 1-byte kind. */
export const TRAILER_BYTES = 8;
/**
 * Largest sequence number a write may take. The format has room for 2^56 - 1; JavaScript numbers are exact to
 * 2^53 - 1, and that value itself is reserved as a search sentinel ("newer than any entry").
 */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER - 1;
/** Search sentinel: sorts before every real version of a user key. */
export const SEQ_SENTINEL = Number.MAX_SAFE_INTEGER;

// ---- SSTable (docs/formats/sstable.md) ----

/** File name suffix of an SSTable: `<6+ digit file number>.sst`. */
export const TABLE_SUFFIX = '.sst';
/** ASCII "HRTHSST\0": last 12..4 bytes of every SSTable footer. */
export const TABLE_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x53, 0x53, 0x54, 0x00]);
/** SSTable format version, in the footer. */
export const TABLE_VERSION = 1;
/** Footer size in bytes (fixed; the footer is the file's last bytes). */
export const FOOTER_BYTES = 48;
/** Every block (data, index, filter) is followed by a CRC-32C of its bytes, little-endian. */
export const BLOCK_TRAILER_BYTES = 4;
/** Restart interval of the index block: every index entry is a restart point (keys stored whole). */
export const INDEX_RESTART_INTERVAL = 1;

// ---- Manifest (docs/formats/manifest.md) ----

/** Name of the pointer file. */
export const CURRENT = 'CURRENT';
/** Temporary name CURRENT is written under before the atomic rename. */
export const CURRENT_TMP = 'CURRENT.tmp';
/** Manifest file name prefix: `MANIFEST-<6+ digit file number>`. */
export const MANIFEST_PREFIX = 'MANIFEST-';
/** ASCII "HRTHMAN\0": first 8 bytes of a manifest file. */
export const MANIFEST_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x4d, 0x41, 0x4e, 0x00]);
/** Manifest file format version (the header). */
export const MANIFEST_VERSION = 1;
/** Manifest header: magic (8), version u32 (4), CRC-32C of the previous 12 bytes (4). */
export const MANIFEST_HEADER_BYTES = 16;
/** Record header: payload length u32, CRC-32C of the length field u32, CRC-32C of the payload u32. */
export const RECORD_HEADER_BYTES = 12;
/** Largest manifest record payload accepted (a snapshot of many tables is the biggest). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Version byte at the start of each edit payload. */
export const EDIT_VERSION = 1;

/** Edit field tags (docs/formats/manifest.md, "Edit fields"). */
export const TAG_SNAPSHOT = 1;
export const TAG_POSITION = 2;
export const TAG_NEXT_FILE = 3;
export const TAG_LAST_SEQUENCE = 4;
export const TAG_DELETE_TABLE = 5;
export const TAG_ADD_TABLE = 6;
