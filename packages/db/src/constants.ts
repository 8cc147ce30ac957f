/**
 * On-disk constants of `@hearth/db`. Do not change released values.
 * Specs: `docs/formats/ops.md` (the ops payload inside a log entry, field values), `docs/formats/db-layout.md`
 * (the database directory, the keypair file, the LSM keyspace).
 * @packageDocumentation
 */

// --- ops payload V1 (docs/formats/ops.md) ---------------------------------------------------------------------

/** First byte of an ops payload, version 1. */
export const OPS_V1 = 0x01;
/** Op kind: replace the document (a CRDT reset plus a write of each field). */
export const OP_PUT = 0x01;
/** Op kind: write some fields; a removed field is a field tombstone. */
export const OP_PATCH = 0x02;
/** Op kind: delete the document (a CRDT reset that writes nothing). */
export const OP_DELETE = 0x03;
/** Patch field kind: the field is removed (no value follows). */
export const PATCH_FIELD_REMOVE = 0x00;
/** Patch field kind: a value follows. */
export const PATCH_FIELD_VALUE = 0x01;

// --- field values (docs/formats/ops.md, "Field values") -------------------------------------------------------

/** msgpack extension type msgpackr uses for typed arrays; the first data byte names the array type. */
export const MSGPACK_EXT_TYPED_ARRAY = 0x74;
/** First data byte of a Float32Array inside {@link MSGPACK_EXT_TYPED_ARRAY} (msgpackr's typed-array index). */
export const TYPED_ARRAY_FLOAT32 = 0x07;
/** Deepest nesting of arrays and objects inside one field value (cycles are refused by this bound). */
export const MAX_VALUE_DEPTH = 64;

// --- limits -----------------------------------------------------------------------------------------------------

/** Longest collection name, in UTF-8 bytes. */
export const MAX_COLLECTION_BYTES = 128;
/** Longest document id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 1024;
/** Default largest document (the encoded fields of one put or patch), in bytes: 1 MiB. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 1024 * 1024;
/**
 * Default largest ops payload a group commit packs into one entry, in bytes (1 MiB). A transaction or a single
 * write larger than this still gets an entry of its own, up to the log's 16 MiB entry limit.
 */
export const DEFAULT_MAX_COMMIT_BYTES = 1024 * 1024;

/** The database's default LSM memtable size, in bytes (16 MiB; see `DatabaseOptions.lsm`). */
export const DEFAULT_MEMTABLE_BYTES = 16 * 1024 * 1024;

// --- directory layout and keyspace (docs/formats/db-layout.md) ------------------------------------------------

/** Sub-directory of the feed store. */
export const FEEDS_DIR = 'feeds';
/** Sub-directory of the LSM tree. */
export const LSM_DIR = 'lsm';
/** The device keypair file (when the database keeps its own keypair). */
export const KEYPAIR_FILE = 'keypair';
/** Temporary name the keypair file is written under before its atomic rename. */
export const KEYPAIR_TMP_FILE = 'keypair.tmp';
/** Magic at offset 0 of the keypair file: ASCII "HRTHKEY1". */
export const KEYPAIR_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x4b, 0x45, 0x59, 0x31]);
/** Version byte of the keypair file. */
export const KEYPAIR_V1 = 0x01;
/** Size of the keypair file V1: magic 8, version 1, secret key 32, public key 32, CRC-32C 4. */
export const KEYPAIR_FILE_BYTES = 77;

/** LSM key prefix: database metadata (`0x00 | name`). */
export const PREFIX_META = 0x00;
/** LSM key prefix: documents (`0x01 | collection | 0x00 | id` → document state V1). */
export const PREFIX_DOC = 0x01;
/** LSM key prefix, reserved: secondary index entries (`0x02 | index number u32be | index key V1`). */
export const PREFIX_INDEX = 0x02;
/** LSM key prefix, reserved: vector index data (`0x03 | vector index number u32be | ...`). */
export const PREFIX_VECTOR = 0x03;
/** Separator between collection and id in a document key. Collection names never contain it. */
export const KEY_SEPARATOR = 0x00;
/** Metadata key of the keyspace format version (value: one byte, {@link KEYSPACE_V1}). */
export const META_FORMAT = 'format';
/** Keyspace format version. */
export const KEYSPACE_V1 = 0x01;

// --- secondary indexes (docs/formats/db-layout.md, "Secondary indexes") ------------------------------------------

/** The index catalog file (definitions of the declared and adaptive indexes; survives `rebuild`). */
export const INDEX_CATALOG_FILE = 'indexes';
/** Temporary name the index catalog is written under before its atomic rename. */
export const INDEX_CATALOG_TMP_FILE = 'indexes.tmp';
/** Magic at offset 0 of the index catalog file: ASCII "HRTHIDX1". */
export const INDEX_CATALOG_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x49, 0x44, 0x58, 0x31]);
/** Version byte of the index catalog file. */
export const INDEX_CATALOG_V1 = 0x01;
/**
 * Metadata name prefix of an index's completion record: `0x00 | "index/" | index number u32be` → one byte, the
 * query engine's `INDEX_KEY_VERSION` the entries were built with. Present = the index is complete in this LSM state.
 */
export const META_INDEX_STATE = 'index/';

/** Sub-directory of the vector index files and their catalog (`docs/formats/db-layout.md`, "Vector catalog file V1"). */
export const VECTORS_DIR = 'vectors';
/** The vector catalog file (definitions and saved state of every vector index), inside {@link VECTORS_DIR}. */
export const VECTOR_CATALOG_FILE = 'catalog';
/** The excluded-ranges file inside a database's directory (`docs/formats/db-layout.md`, `exclusions.ts`). */
export const EXCLUDED_FILE = 'excluded';
