/**
 * The vector catalog file V1 (`<name>/vectors/catalog`): the definitions of a database's vector indexes and, for
 * each, the index file saved last with the applied state vector it reflects and the documents it skipped.
 * Spec: `docs/formats/db-layout.md` ("Vector catalog file V1"). Encoder/decoder pair with a round-trip property
 * test (`packages/db/test/vector-catalog.test.ts`) and a fixture (`test/fixtures/vector-catalog-v1.bin`).
 *
 * Invariants:
 * 1. The file at `vectors/catalog` is complete whenever it exists: written whole to `vectors/catalog.tmp`, synced,
 *    then renamed over it.
 * 2. An index's `generation` names the file `vectors/<number>-<generation>.hnsw`, written (atomically, by
 *    `@hearth/vector`) *before* the catalog naming it; `state` is the applied state vector the index reflected when
 *    that file was encoded, and `skipped` the skipped documents at that same moment. So the catalog's triple
 *    (file, state, skipped) is always consistent, and a crash leaves either the old triple or the new one.
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { crc32c } from '@hearth/lsm';

// --- constants of the format (docs/formats/db-layout.md, "Vector catalog file V1"). Do not change released values.
// VECTORS_DIR and VECTOR_CATALOG_FILE live in constants.ts: the Database checks for the catalog on open without
// importing this module, which the lazily loaded vector engine alone needs (a module shared with the initial chunk
// would be bundled there whole).
export { VECTORS_DIR, VECTOR_CATALOG_FILE } from './constants.js';
/** Temporary name the catalog is written under before its atomic rename. */
export const VECTOR_CATALOG_TMP_FILE = 'catalog.tmp';
/** Magic at offset 0 of the vector catalog: ASCII "HRTHVCAT". */
export const VECTOR_CATALOG_MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x56, 0x43, 0x41, 0x54]);
/** Version byte of the vector catalog. */
export const VECTOR_CATALOG_V1 = 0x01;
/** Bytes before the catalog body: magic 8, version 1, reserved 3, body length 4. */
export const VECTOR_CATALOG_HEADER_BYTES = 16;
/** Metric codes in the catalog (the same as the vector index file's, `docs/formats/hnsw.md`). */
export const VECTOR_METRIC_CODE = { l2: 0, ip: 1, cosine: 2 } as const;
/** Quantisation codes in the catalog. */
export const VECTOR_QUANT_CODE = { none: 0, int8: 1 } as const;
/** Reason codes of a skipped document in the catalog: the field is missing (or null); present but not a vector. */
export const VECTOR_SKIP_MISSING = 0x00;
export const VECTOR_SKIP_INVALID = 0x01;


/** One vector index definition with its saved state, as the catalog holds it. */
export interface VectorCatalogIndex {
  /** Number assigned at creation (names its files), unique within the database. */
  readonly number: number;
  readonly collection: string;
  /** Top-level field holding the vector. */
  readonly field: string;
  readonly dimension: number;
  readonly metric: 'l2' | 'ip' | 'cosine';
  readonly quantization: 'none' | 'int8';
  readonly M: number;
  readonly efConstruction: number;
  readonly efSearch: number;
  /** Live vectors up to which the exact flat index answers; HNSW above (`AutoIndex`). */
  readonly threshold: number;
  /** Generation of the saved index file (0: none saved yet). */
  readonly generation: number;
  /** Applied state vector V1 (`state-vector.md`) the saved file reflects (empty when `generation` is 0). */
  readonly state: Uint8Array;
  /** Documents left out of the saved index, with why: the field is missing, or holds no valid vector. */
  readonly skipped: readonly { readonly id: string; readonly reason: 'missing' | 'invalid' }[];
}

/** The catalog. */
export interface VectorCatalogV1 {
  /** Number the next created index gets. */
  readonly nextNumber: number;
  readonly indexes: readonly VectorCatalogIndex[];
}

const METRICS = ['l2', 'ip', 'cosine'] as const;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes the catalog V1 (big-endian): header (magic, version, 3 reserved bytes, body length), body, CRC-32C of
 * everything before it.
 * @throws RangeError for a value outside its field (a name over 65535 UTF-8 bytes, a number over u32).
 */
export function encodeVectorCatalogV1(cat: VectorCatalogV1): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const push = (b: Uint8Array): void => {
    parts.push(b);
    n += b.length;
  };
  const u8 = (v: number): void => push(Uint8Array.of(v));
  const u16 = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`"${what}" expected 0..65535, got ${v}`);
    push(Uint8Array.of(v >>> 8, v & 0xff));
  };
  const u32 = (v: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`"${what}" expected 0..2^32-1, got ${v}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    push(b);
  };
  const str = (s: string, what: string): void => {
    const b = enc.encode(s);
    u16(b.length, `${what} length`);
    push(b);
  };
  u32(cat.nextNumber, 'nextNumber');
  u32(cat.indexes.length, 'count');
  for (const ix of cat.indexes) {
    u32(ix.number, 'number');
    str(ix.collection, 'collection');
    str(ix.field, 'field');
    u32(ix.dimension, 'dimension');
    u8(VECTOR_METRIC_CODE[ix.metric]);
    u8(VECTOR_QUANT_CODE[ix.quantization]);
    u16(ix.M, 'M');
    u32(ix.efConstruction, 'efConstruction');
    u32(ix.efSearch, 'efSearch');
    u32(ix.threshold, 'threshold');
    u32(ix.generation, 'generation');
    u32(ix.state.length, 'state length');
    push(ix.state);
    u32(ix.skipped.length, 'skipped count');
    for (const s of ix.skipped) {
      u8(s.reason === 'missing' ? VECTOR_SKIP_MISSING : VECTOR_SKIP_INVALID);
      str(s.id, 'skipped id');
    }
  }
  const out = new Uint8Array(VECTOR_CATALOG_HEADER_BYTES + n + 4);
  out.set(VECTOR_CATALOG_MAGIC, 0);
  out[8] = VECTOR_CATALOG_V1;
  const view = new DataView(out.buffer);
  view.setUint32(12, n);
  let o = VECTOR_CATALOG_HEADER_BYTES;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  view.setUint32(o, crc32c(out.subarray(0, o)));
  return out;
}

/**
 * Decodes the catalog V1.
 * @throws CorruptionError `HEARTH_CORRUPTION` for a wrong magic, version, length or checksum, or a body that does
 *   not parse (unknown metric or quantisation code, a name that is not UTF-8, trailing bytes) or holds values a
 *   writer never produces (a repeated index number or field, a parameter out of range, a generation without a
 *   state vector or the reverse).
 */
export function decodeVectorCatalogV1(bytes: Uint8Array, path = 'vectors/catalog'): VectorCatalogV1 {
  const bad = (why: string): never => {
    throw new CorruptionError(`vector catalog refused: ${why}. Vector index definitions are local to this replica: remove the vectors directory and declare the indexes again`, { path });
  };
  if (bytes.length < VECTOR_CATALOG_HEADER_BYTES + 4) bad(`${bytes.length} bytes is too short`);
  for (let i = 0; i < VECTOR_CATALOG_MAGIC.length; i++) if (bytes[i] !== VECTOR_CATALOG_MAGIC[i]) bad('bad magic');
  if (bytes[8] !== VECTOR_CATALOG_V1) bad(`unknown version ${bytes[8]}`);
  if (bytes[9] !== 0 || bytes[10] !== 0 || bytes[11] !== 0) bad('reserved bytes are not zero');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(12);
  if (bytes.length !== VECTOR_CATALOG_HEADER_BYTES + n + 4) bad(`length ${bytes.length} does not match the body length ${n}`);
  const end = VECTOR_CATALOG_HEADER_BYTES + n;
  if (view.getUint32(end) !== crc32c(bytes.subarray(0, end))) bad('checksum mismatch');
  let o = VECTOR_CATALOG_HEADER_BYTES;
  const need = (k: number): void => {
    if (o + k > end) bad(`body truncated at offset ${o}`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[o++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(o);
    o += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(o);
    o += 4;
    return v;
  };
  const raw = (k: number): Uint8Array => {
    need(k);
    const b = bytes.slice(o, o + k);
    o += k;
    return b;
  };
  const str = (what: string): string => {
    const b = raw(u16());
    try {
      return dec.decode(b);
    } catch {
      return bad(`${what} at offset ${o - b.length} is not UTF-8`);
    }
  };
  const nextNumber = u32();
  const count = u32();
  const indexes: VectorCatalogIndex[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const number = u32();
    const collection = str('collection');
    const field = str('field');
    const dimension = u32();
    const m = u8();
    if (m >= METRICS.length) bad(`unknown metric code ${m}`);
    const q = u8();
    if (q !== VECTOR_QUANT_CODE.none && q !== VECTOR_QUANT_CODE.int8) bad(`unknown quantisation code ${q}`);
    const M = u16();
    const efConstruction = u32();
    const efSearch = u32();
    const threshold = u32();
    const generation = u32();
    const state = raw(u32());
    const skippedCount = u32();
    const skipped: { id: string; reason: 'missing' | 'invalid' }[] = [];
    for (let j = 0; j < skippedCount; j++) {
      const r = u8();
      if (r !== VECTOR_SKIP_MISSING && r !== VECTOR_SKIP_INVALID) bad(`unknown skip reason ${r}`);
      skipped.push({ id: str('skipped id'), reason: r === VECTOR_SKIP_MISSING ? 'missing' : 'invalid' });
    }
    // Values a correct writer never produces (the checksum proves only that these bytes were written).
    if (number === 0 || seen.has(`#${number}`)) bad(`index number ${number} is zero or repeated`);
    if (seen.has(`${collection}\u0000${field}`)) bad(`two indexes on ${collection}.${field}`);
    seen.add(`#${number}`).add(`${collection}\u0000${field}`);
    if (dimension < 1 || dimension > 65536) bad(`dimension ${dimension} outside 1..65536`);
    if (M < 2 || M > 128) bad(`M ${M} outside 2..128`);
    if (efConstruction < M || efConstruction > 1 << 20) bad(`ef_construction ${efConstruction} outside M..2^20`);
    if (efSearch < 1 || efSearch > 1 << 20) bad(`ef_search ${efSearch} outside 1..2^20`);
    if (threshold > 2 ** 31 - 1) bad(`threshold ${threshold} above 2^31-1`);
    if ((generation === 0) !== (state.length === 0)) bad('a saved file needs a state vector, and only a saved file has one');
    indexes.push({
      number, collection, field, dimension, metric: METRICS[m], quantization: q === VECTOR_QUANT_CODE.int8 ? 'int8' : 'none',
      M, efConstruction, efSearch, threshold, generation, state, skipped,
    });
  }
  if (o !== end) bad(`${end - o} trailing bytes in the body`);
  return { nextNumber, indexes };
}
