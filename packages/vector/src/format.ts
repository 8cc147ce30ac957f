/**
 * The vector index file, version 1: encoder/decoder pair and every constant of the format.
 * Spec: docs/formats/hnsw.md (byte tables, worked example, rationale). Do not change released constants.
 *
 * A file is a 32-byte header followed by tagged sections, each with a 16-byte section header holding the payload
 * length and CRC-32C checksums of the payload and of the section header itself. All integers and floats are
 * little-endian. Decoding checks every checksum and then the graph's structural invariants (hnsw.ts, 1-4) before
 * anything is built from the bytes, so a damaged file yields a `CorruptionError` (`HEARTH_CORRUPTION`) and the
 * caller can rebuild the index from its source (the log).
 *
 * @packageDocumentation
 */
import { CorruptionError, writeFileAtomic as ioWriteFileAtomic, type FileHandle, type FileSystem } from '@hearth/io';
import { crc32c } from '@hearth/lsm';
import type { QuantRange } from './_quantize.js';
import type { Metric, VectorId } from './types.js';

/** File magic, ASCII "HRTHVIDX". */
export const MAGIC = new Uint8Array([0x48, 0x52, 0x54, 0x48, 0x56, 0x49, 0x44, 0x58]);
/** Format version written by this code. */
export const VERSION = 1;
/** Header size in bytes. */
export const HEADER_BYTES = 32;
/** Section header size in bytes. */
export const SECTION_HEADER_BYTES = 16;
/** Payloads are zero-padded to a multiple of this (keeps every section 8-byte aligned). */
export const SECTION_ALIGN = 8;
/** META payload size in bytes. */
export const META_BYTES = 56;
/** Index kinds (header offset 10). */
export const KIND = { flat: 1, hnsw: 2 } as const;
/** Metric codes (META offset 4). */
export const METRIC_CODE: Record<Metric, number> = { l2: 0, ip: 1, cosine: 2 };
const METRIC_BY_CODE: Metric[] = ['l2', 'ip', 'cosine'];
/** Section tags, as u32 read little-endian from their four ASCII bytes. */
export const TAG = {
  META: tag('META'),
  IDS: tag('IDS_'),
  VECS: tag('VECS'),
  LEVL: tag('LEVL'),
  TOMB: tag('TOMB'),
  LNK0: tag('LNK0'),
  LNKU: tag('LNKU'),
  QRNG: tag('QRNG'),
} as const;
/** Id encodings in the IDS_ section. */
export const ID_NUMBER = 0;
export const ID_STRING = 1;
/** Highest node level the format allows. */
export const MAX_LEVEL = 31;

function tag(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}
function tagName(t: number): string {
  return String.fromCharCode(t & 0xff, (t >>> 8) & 0xff, (t >>> 16) & 0xff, t >>> 24);
}

/** State of an HNSW index, as saved (see hnsw.ts for the meaning of each array). */
export interface HnswState {
  dim: number;
  metric: Metric;
  M: number;
  efConstruction: number;
  efSearch: number;
  seed: number;
  rngState: number;
  compactRatio: number;
  count: number;
  entry: number;
  maxLevel: number;
  trainSize: number;
  rescore: number;
  quantized: boolean;
  quantRange: QuantRange | undefined;
  slotIds: VectorId[];
  /** count × dim floats (unpadded; unit rows for cosine). */
  vectors: Float32Array;
  levels: Uint8Array;
  /** 1 for a tombstone. */
  deleted: Uint8Array;
  /** count × (2M + 1): per slot a count then 2M neighbour slots. */
  links0: Int32Array;
  /** For each slot with level L > 0, in slot order, L rows of (M + 1) (levels 1..L). */
  upper: Int32Array;
}

/** State of a flat index, as saved. */
export interface FlatState {
  dim: number;
  metric: Metric;
  count: number;
  trainSize: number;
  rescore: number;
  quantized: boolean;
  quantRange: QuantRange | undefined;
  slotIds: VectorId[];
  vectors: Float32Array;
}

/** A decoded (structurally checked) index file. */
export type IndexFileV1 = { kind: 'hnsw'; hnsw: HnswState } | { kind: 'flat'; flat: FlatState };

const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  if (LE) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  if (a instanceof Float32Array) for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  else for (let i = 0; i < a.length; i++) dv.setInt32(i * 4, a[i], true);
  return out;
}

function encodeIds(ids: VectorId[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const id of ids) {
    if (typeof id === 'number') {
      const b = new Uint8Array(9);
      b[0] = ID_NUMBER;
      new DataView(b.buffer).setFloat64(1, id, true);
      parts.push(b);
      n += 9;
    } else {
      const s = enc.encode(id);
      const b = new Uint8Array(5 + s.length);
      b[0] = ID_STRING;
      new DataView(b.buffer).setUint32(1, s.length, true);
      b.set(s, 5);
      parts.push(b);
      n += b.length;
    }
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function encodeMeta(f: {
  dim: number; metric: Metric; quantized: boolean; trained: boolean; count: number; M: number; efConstruction: number;
  efSearch: number; seed: number; rngState: number; entry: number; maxLevel: number; trainSize: number; rescore: number;
  compactRatio: number;
}): Uint8Array {
  const b = new Uint8Array(META_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, f.dim, true);
  dv.setUint8(4, METRIC_CODE[f.metric]);
  dv.setUint8(5, (f.quantized ? 1 : 0) | (f.trained ? 2 : 0));
  dv.setUint32(8, f.count, true);
  dv.setUint32(12, f.M, true);
  dv.setUint32(16, f.efConstruction, true);
  dv.setUint32(20, f.efSearch, true);
  dv.setUint32(24, f.seed >>> 0, true);
  dv.setUint32(28, f.rngState >>> 0, true);
  dv.setInt32(32, f.entry, true);
  dv.setInt32(36, f.maxLevel, true);
  dv.setUint32(40, f.trainSize, true);
  dv.setUint32(44, f.rescore, true);
  dv.setFloat64(48, f.compactRatio, true);
  return b;
}

/**
 * Encodes an index file, version 1 (docs/formats/hnsw.md).
 * @returns the whole file; a new buffer the caller owns.
 */
export function encodeIndexV1(file: IndexFileV1): Uint8Array {
  return encodeIndexWith(file);
}

/** The rows of `VECS` written straight into the output (so a save does not hold them twice). @internal */
export interface VecsFill {
  /** Payload bytes (count × dim × 4). */
  length: number;
  /** Writes the rows, as f32 in host order, into `dst` (a Float32Array view of the payload). */
  fill(dst: Float32Array): void;
}

/**
 * {@link encodeIndexV1}, with the `VECS` payload produced by `vecs` directly in the output instead of taken from
 * the state's `vectors` (which is then ignored). Same bytes. @internal
 */
export function encodeIndexWith(file: IndexFileV1, vecs?: VecsFill): Uint8Array {
  const sections: [number, Uint8Array | VecsFill][] = [];
  const vecsPayload = (v: Float32Array): Uint8Array | VecsFill => vecs ?? bytesOf(v);
  if (file.kind === 'hnsw') {
    const h = file.hnsw;
    sections.push([TAG.META, encodeMeta({ ...h, trained: h.quantRange !== undefined })]);
    sections.push([TAG.IDS, encodeIds(h.slotIds)]);
    sections.push([TAG.VECS, vecsPayload(h.vectors)]);
    sections.push([TAG.LEVL, h.levels]);
    sections.push([TAG.TOMB, h.deleted]);
    sections.push([TAG.LNK0, bytesOf(h.links0)]);
    sections.push([TAG.LNKU, bytesOf(h.upper)]);
    if (h.quantRange) sections.push([TAG.QRNG, bytesOf(new Float32Array([h.quantRange.lo, h.quantRange.hi]))]);
  } else {
    const f = file.flat;
    sections.push([
      TAG.META,
      encodeMeta({
        ...f, trained: f.quantRange !== undefined, M: 0, efConstruction: 0, efSearch: 0, seed: 0, rngState: 0,
        entry: -1, maxLevel: -1, compactRatio: 0,
      }),
    ]);
    sections.push([TAG.IDS, encodeIds(f.slotIds)]);
    sections.push([TAG.VECS, vecsPayload(f.vectors)]);
    if (f.quantRange) sections.push([TAG.QRNG, bytesOf(new Float32Array([f.quantRange.lo, f.quantRange.hi]))]);
  }
  let total = HEADER_BYTES;
  for (const [, p] of sections) total += SECTION_HEADER_BYTES + align(p.length);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint16(8, VERSION, true);
  dv.setUint16(10, file.kind === 'hnsw' ? KIND.hnsw : KIND.flat, true);
  dv.setUint32(12, sections.length, true);
  dv.setBigUint64(16, BigInt(total), true);
  dv.setUint32(28, crc32c(out, 0, 28), true);
  let o = HEADER_BYTES;
  for (const [t, p] of sections) {
    const at = o + SECTION_HEADER_BYTES;
    if (p instanceof Uint8Array) out.set(p, at);
    else {
      // Payload offsets are multiples of 8 (header 32, section header 16, padded payloads): a valid f32 view.
      p.fill(new Float32Array(out.buffer, at, p.length / 4));
      if (!LE) {
        for (let i = at; i < at + p.length; i += 4) dv.setFloat32(i, new DataView(out.buffer).getFloat32(i, false), true);
      }
    }
    dv.setUint32(o, t, true);
    dv.setUint32(o + 4, p.length, true);
    dv.setUint32(o + 8, crc32c(out, at, at + p.length), true);
    dv.setUint32(o + 12, crc32c(out, o, o + 12), true);
    o += SECTION_HEADER_BYTES + align(p.length);
  }
  return out;
}

function align(n: number): number {
  return Math.ceil(n / SECTION_ALIGN) * SECTION_ALIGN;
}

/**
 * Decodes and checks an index file, version 1: magic, version, header and section checksums, section order and
 * sizes, then the structural invariants of the graph (every link a valid slot other than the node itself, list
 * counts within M / 2M, levels ≤ 31, the entry point live and of the highest live level, ids unique and valid).
 *
 * @param path used in error messages only.
 * @throws CorruptionError (`HEARTH_CORRUPTION`) with the byte offset of the first failed check.
 */
export function decodeIndexV1(bytes: Uint8Array, path?: string): IndexFileV1 {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  return decodeIndexSource({ length: bytes.length, read: (o, n) => bytes.subarray(o, o + n) }, path, false).file;
}

/** Random access to the bytes of an index file (a buffer, or a file read at offset). @internal */
export interface ByteSource {
  readonly length: number;
  /** `n` bytes from `offset` (the caller checked the range). */
  read(offset: number, n: number): Uint8Array;
}

/** Where the `VECS` payload of a file decoded without it lies, and its recorded checksum. @internal */
export interface VecsRef {
  offset: number;
  length: number;
  crc: number;
}

/** A {@link ByteSource} over an open file (synchronous reads at offset). @internal */
export function handleSource(h: FileHandle): ByteSource {
  const length = h.size();
  return {
    length,
    read: (o, n) => {
      const b = h.read(o, n);
      if (b.length !== n) throw new CorruptionError(`vector index file: short read at ${o} (the file changed while it was read)`, { path: h.path, offset: o });
      return b;
    },
  };
}

/**
 * The decoder behind {@link decodeIndexV1}. With `lazyVectors`, the `VECS` payload of a file with a trained int8
 * quantiser is not read: `vectors` is empty and `vecs` says where the payload is; the caller must check it with
 * {@link streamVectors} before trusting the index (its checksum and values are not checked here). @internal
 */
export function decodeIndexSource(src: ByteSource, path: string | undefined, lazyVectors: boolean): { file: IndexFileV1; vecs?: VecsRef } {
  const fail = (msg: string, offset: number): never => {
    throw new CorruptionError(`vector index file: ${msg}; rebuild the index from its source`, { path, offset });
  };
  const length = src.length;
  if (length < HEADER_BYTES) fail(`truncated header (${length} bytes)`, 0);
  const head = src.read(0, HEADER_BYTES);
  for (let i = 0; i < MAGIC.length; i++) if (head[i] !== MAGIC[i]) fail('bad magic (not a Hearth vector index)', 0);
  const dv = new DataView(head.buffer, head.byteOffset, HEADER_BYTES);
  if (dv.getUint32(28, true) !== crc32c(head, 0, 28)) fail('header checksum mismatch', 28);
  const version = dv.getUint16(8, true);
  if (version !== VERSION) fail(`unsupported version ${version} (this code reads ${VERSION})`, 8);
  const kindCode = dv.getUint16(10, true);
  if (kindCode !== KIND.flat && kindCode !== KIND.hnsw) fail(`unknown index kind ${kindCode}`, 10);
  const nSections = dv.getUint32(12, true);
  const fileLen = dv.getBigUint64(16, true);
  if (fileLen !== BigInt(length)) fail(`file length ${length} differs from the recorded ${fileLen} (truncated or extended)`, 16);

  // Walk the section headers first (each checked), then read the payloads (each checked against its CRC).
  const walk: { t: number; start: number; len: number; crc: number; hdr: number }[] = [];
  let o = HEADER_BYTES;
  for (let i = 0; i < nSections; i++) {
    if (o + SECTION_HEADER_BYTES > length) fail(`section ${i} header past the end`, o);
    const sh = src.read(o, SECTION_HEADER_BYTES);
    const sv = new DataView(sh.buffer, sh.byteOffset, SECTION_HEADER_BYTES);
    if (sv.getUint32(12, true) !== crc32c(sh, 0, 12)) fail(`section ${i} header checksum mismatch`, o);
    const t = sv.getUint32(0, true);
    const len = sv.getUint32(4, true);
    const start = o + SECTION_HEADER_BYTES;
    if (start + align(len) > length) fail(`section ${tagName(t)} payload past the end`, o);
    walk.push({ t, start, len, crc: sv.getUint32(8, true), hdr: o });
    o = start + align(len);
  }
  if (o !== length) fail('bytes after the last section', o);
  // The META flags decide whether VECS is read now (only a trained int8 index can serve rows from the file).
  const metaW = walk[0];
  const lazy = lazyVectors && metaW !== undefined && metaW.t === TAG.META && metaW.len === META_BYTES &&
    (src.read(metaW.start + 5, 1)[0] & 2) !== 0;
  const sections = new Map<number, { off: number; data: Uint8Array; len: number }>();
  const order: number[] = [];
  let vecs: VecsRef | undefined;
  for (const w of walk) {
    let data: Uint8Array;
    if (lazy && w.t === TAG.VECS) {
      data = new Uint8Array(0);
      vecs = { offset: w.start, length: w.len, crc: w.crc };
    } else {
      data = src.read(w.start, w.len);
      if (w.crc !== crc32c(data)) fail(`section ${tagName(w.t)} payload checksum mismatch`, w.start);
    }
    const padLen = align(w.len) - w.len;
    if (padLen > 0) {
      const pad = src.read(w.start + w.len, padLen);
      for (let p = 0; p < padLen; p++) if (pad[p] !== 0) fail(`section ${tagName(w.t)} padding is not zero`, w.start + w.len + p);
    }
    if (sections.has(w.t)) fail(`duplicate section ${tagName(w.t)}`, w.hdr);
    sections.set(w.t, { off: w.start, data, len: w.len });
    order.push(w.t);
  }
  const hnsw = kindCode === KIND.hnsw;
  const expected = hnsw
    ? [TAG.META, TAG.IDS, TAG.VECS, TAG.LEVL, TAG.TOMB, TAG.LNK0, TAG.LNKU]
    : [TAG.META, TAG.IDS, TAG.VECS];
  const need = (t: number): { off: number; data: Uint8Array; len: number } => sections.get(t) ?? fail(`missing section ${tagName(t)}`, HEADER_BYTES);
  for (let i = 0; i < expected.length; i++) {
    if (order[i] !== expected[i]) fail(`section ${i} is ${order[i] === undefined ? 'missing' : tagName(order[i])}, expected ${tagName(expected[i])}`, HEADER_BYTES);
  }

  // META
  const meta = need(TAG.META);
  if (meta.data.length !== META_BYTES) fail(`META is ${meta.data.length} bytes, expected ${META_BYTES}`, meta.off);
  const md = new DataView(meta.data.buffer, meta.data.byteOffset, META_BYTES);
  const dim = md.getUint32(0, true);
  const metric = METRIC_BY_CODE[md.getUint8(4)];
  const flags = md.getUint8(5);
  const count = md.getUint32(8, true);
  const M = md.getUint32(12, true);
  const efConstruction = md.getUint32(16, true);
  const efSearch = md.getUint32(20, true);
  const seed = md.getUint32(24, true);
  const rngState = md.getUint32(28, true);
  const entry = md.getInt32(32, true);
  const maxLevel = md.getInt32(36, true);
  const trainSize = md.getUint32(40, true);
  const rescore = md.getUint32(44, true);
  const compactRatio = md.getFloat64(48, true);
  if (dim < 1 || dim > 65536) fail(`dim ${dim} out of range`, meta.off);
  if (metric === undefined) fail(`unknown metric code ${md.getUint8(4)}`, meta.off + 4);
  if (flags > 3 || flags === 2) fail(`bad flags ${flags}`, meta.off + 5);
  if (trainSize < 1 || rescore < 1 || rescore > 1024) fail('bad quantization parameters', meta.off + 40);
  const quantized = (flags & 1) !== 0;
  const trained = (flags & 2) !== 0;
  if (trained !== sections.has(TAG.QRNG)) fail('QRNG section presence disagrees with META flags', meta.off + 5);
  const nextExpected = expected.length + (trained ? 1 : 0);
  if (order.length !== nextExpected || (trained && order[expected.length] !== TAG.QRNG)) {
    fail('unexpected sections', HEADER_BYTES);
  }

  // IDS_
  const idsSec = need(TAG.IDS);
  const slotIds: VectorId[] = new Array(count);
  {
    const b = idsSec.data;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const dec = new TextDecoder('utf-8', { fatal: true });
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p >= b.length) fail(`IDS_ ends after ${i} of ${count} ids`, idsSec.off + p);
      const t = b[p];
      if (t === ID_NUMBER) {
        if (p + 9 > b.length) fail('IDS_ number truncated', idsSec.off + p);
        const x = v.getFloat64(p + 1, true);
        if (!Number.isSafeInteger(x) || x < 0) fail(`IDS_ bad number id ${x}`, idsSec.off + p);
        slotIds[i] = x;
        p += 9;
      } else if (t === ID_STRING) {
        if (p + 5 > b.length) fail('IDS_ string truncated', idsSec.off + p);
        const n = v.getUint32(p + 1, true);
        if (p + 5 + n > b.length) fail('IDS_ string truncated', idsSec.off + p);
        try {
          slotIds[i] = dec.decode(b.subarray(p + 5, p + 5 + n));
        } catch {
          fail('IDS_ string is not valid UTF-8', idsSec.off + p);
        }
        p += 5 + n;
      } else {
        fail(`IDS_ unknown id tag ${t}`, idsSec.off + p);
      }
    }
    if (p !== b.length) fail('IDS_ has bytes after the last id', idsSec.off + p);
  }

  // VECS
  const vecSec = need(TAG.VECS);
  if (vecSec.len !== count * dim * 4) fail(`VECS is ${vecSec.len} bytes, expected ${count * dim * 4}`, vecSec.off);
  const vectors = readF32(vecSec.data);
  for (let i = 0; i < vectors.length; i++) if (!Number.isFinite(vectors[i])) fail('VECS holds a non-finite value', vecSec.off + i * 4);

  let quantRange: QuantRange | undefined;
  if (trained) {
    const q = need(TAG.QRNG);
    if (q.data.length !== 8) fail('QRNG must be 8 bytes', q.off);
    const r = readF32(q.data);
    if (!(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[1] > r[0])) fail('QRNG range invalid', q.off);
    quantRange = { lo: r[0], hi: r[1] };
  }

  if (!hnsw) {
    const seen = new Set<VectorId>();
    for (let i = 0; i < count; i++) {
      if (seen.has(slotIds[i])) fail(`duplicate id ${JSON.stringify(slotIds[i])}`, idsSec.off);
      seen.add(slotIds[i]);
    }
    return { file: { kind: 'flat', flat: { dim, metric, count, trainSize, rescore, quantized, quantRange, slotIds, vectors } }, vecs };
  }

  if (M < 2 || M > 128) fail(`M ${M} out of range`, meta.off + 12);
  if (efConstruction < 1 || efSearch < 1) fail('ef parameters out of range', meta.off + 16);
  if (!(compactRatio > 0 && compactRatio <= 1)) fail('compactRatio out of range', meta.off + 48);
  const M0 = 2 * M;
  const levSec = need(TAG.LEVL);
  if (levSec.data.length !== count) fail('LEVL length differs from count', levSec.off);
  const levels = levSec.data.slice();
  const tombSec = need(TAG.TOMB);
  if (tombSec.data.length !== count) fail('TOMB length differs from count', tombSec.off);
  const deleted = tombSec.data.slice();
  let rows = 0;
  let live = 0;
  let topLive = -1;
  const seen = new Set<VectorId>();
  for (let i = 0; i < count; i++) {
    if (levels[i] > MAX_LEVEL) fail(`level ${levels[i]} > ${MAX_LEVEL}`, levSec.off + i);
    if (deleted[i] > 1) fail('TOMB value not 0 or 1', tombSec.off + i);
    rows += levels[i];
    if (deleted[i] === 0) {
      live++;
      if (levels[i] > topLive) topLive = levels[i];
      if (seen.has(slotIds[i])) fail(`duplicate live id ${JSON.stringify(slotIds[i])}`, idsSec.off);
      seen.add(slotIds[i]);
    }
  }
  const l0Sec = need(TAG.LNK0);
  if (l0Sec.data.length !== count * (M0 + 1) * 4) fail('LNK0 size differs from count × (2M + 1) × 4', l0Sec.off);
  const links0 = readI32(l0Sec.data);
  const luSec = need(TAG.LNKU);
  if (luSec.data.length !== rows * (M + 1) * 4) fail('LNKU size differs from the levels', luSec.off);
  const upper = readI32(luSec.data);
  const checkList = (arr: Int32Array, base: number, max: number, self: number, off: number): void => {
    const n = arr[base];
    if (n < 0 || n > max) fail(`neighbour count ${n} out of 0..${max}`, off + base * 4);
    for (let j = 1; j <= n; j++) {
      const e = arr[base + j];
      if (e < 0 || e >= count || e === self) fail(`link ${e} invalid for node ${self}`, off + (base + j) * 4);
      for (let t = 1; t < j; t++) if (arr[base + t] === e) fail(`duplicate link ${e} in node ${self}`, off + (base + j) * 4);
    }
  };
  let row = 0;
  for (let i = 0; i < count; i++) {
    checkList(links0, i * (M0 + 1), M0, i, l0Sec.off);
    for (let l = 1; l <= levels[i]; l++) {
      const base = row * (M + 1);
      checkList(upper, base, M, i, luSec.off);
      // an upper-level link must point to a node that has that level
      for (let j = 1; j <= upper[base]; j++) if (levels[upper[base + j]] < l) fail(`level-${l} link to a lower node`, luSec.off + (base + j) * 4);
      row++;
    }
  }
  if (live === 0) {
    if (entry !== -1 || maxLevel !== -1) fail('entry point set in an index with no live node', meta.off + 32);
  } else {
    if (entry < 0 || entry >= count || deleted[entry] !== 0) fail(`entry point ${entry} is not a live node`, meta.off + 32);
    if (maxLevel !== levels[entry] || maxLevel !== topLive) fail('maxLevel is not the entry point level / highest live level', meta.off + 36);
  }
  return {
    file: {
      kind: 'hnsw',
      hnsw: {
        dim, metric, M, efConstruction, efSearch, seed, rngState, compactRatio, count, entry, maxLevel, trainSize, rescore,
        quantized, quantRange, slotIds, vectors, levels, deleted, links0, upper,
      },
    },
    vecs,
  };
}

/**
 * Reads the `VECS` payload described by `ref` in chunks of whole rows (about 1 MiB), checks that every value is
 * finite and that the payload's CRC-32C matches, and hands each chunk to `onRows` (rows [row0, row0 + n), `dim`
 * floats each, unpadded). The checksum is only known to match once this returns: a caller must discard what
 * `onRows` built if it throws.
 * @throws CorruptionError on a non-finite value or a checksum mismatch. @internal
 */
export function streamVectors(
  src: ByteSource, ref: VecsRef, dim: number, path: string | undefined,
  onRows: (rows: Float32Array, row0: number, n: number) => void,
): void {
  const rowBytes = dim * 4;
  const perChunk = Math.max(1, Math.floor((1 << 20) / rowBytes));
  const total = ref.length / rowBytes;
  let crc = 0;
  for (let r = 0; r < total; r += perChunk) {
    const n = Math.min(perChunk, total - r);
    const at = ref.offset + r * rowBytes;
    const b = src.read(at, n * rowBytes);
    crc = crc32c(b, 0, b.length, crc);
    const f = readF32(b);
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i])) {
        throw new CorruptionError('vector index file: VECS holds a non-finite value; rebuild the index from its source', { path, offset: at + i * 4 });
      }
    }
    onRows(f, r, n);
  }
  if (crc !== ref.crc) {
    throw new CorruptionError('vector index file: section VECS payload checksum mismatch; rebuild the index from its source', { path, offset: ref.offset });
  }
}

/** Byte offset of the payload of the first section tagged `t` in an encoded file (no checks: our own output). @internal */
export function sectionOffset(bytes: Uint8Array, t: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = HEADER_BYTES;
  while (o + SECTION_HEADER_BYTES <= bytes.length) {
    const len = dv.getUint32(o + 4, true);
    if (dv.getUint32(o, true) === t) return o + SECTION_HEADER_BYTES;
    o += SECTION_HEADER_BYTES + align(len);
  }
  throw new RangeError(`no section ${tagName(t)}`);
}

function readF32(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.length / 4);
  if (LE) new Uint8Array(out.buffer).set(b);
  else {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  }
  return out;
}
function readI32(b: Uint8Array): Int32Array {
  const out = new Int32Array(b.length / 4);
  if (LE) new Uint8Array(out.buffer).set(b);
  else {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = v.getInt32(i * 4, true);
  }
  return out;
}

/**
 * Writes `bytes` over `path` atomically (`@hearth/io`'s `writeFileAtomic`: `path + '.tmp'`, sync, rename), creating
 * the parent directory first.
 * @throws IoError from the file system.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf('/');
  if (slash > 0) await fs.mkdir(path.slice(0, slash));
  await ioWriteFileAtomic(fs, path, bytes);
}

/** Reads the whole file at `path`. @throws IoError `HEARTH_NOT_FOUND` if missing. */
export async function readFileBytes(fs: FileSystem, path: string): Promise<Uint8Array> {
  const h = await fs.open(path);
  try {
    return h.read(0, h.size());
  } finally {
    await h.close();
  }
}
