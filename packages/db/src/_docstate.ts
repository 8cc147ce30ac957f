/**
 * The write path's encoder of a document's first state (document state V1, `docs/formats/doc-state.md`): one put
 * or delete on a document never written here, encoded straight from the op into a slab (`_slab.ts`) without
 * building a `DocState`. Every other state goes through `@hearth/crdt`'s `encodeDocStateV1`; this one is pinned
 * to it byte for byte by a property test (`test/docstate.test.ts`). Internal.
 *
 * REQUIRES: field names are well-formed (the db checks names at its API and decodes remote ones from valid UTF-8).
 */
import { compareCodePoints } from './values.js';
import { utf8Length, varintSize, writeVarint } from '@hearth/crdt';
import { alloc } from './_slab.js';
import { PackedFields } from './_packed.js';

const utf8 = new TextEncoder();
const DOC_STATE_V1 = 0x01;
const HAS_RESET = 0x01;
const RESET_DELETED = 0x02;


// The HLC's 8 bytes through a scratch 64-bit array: no BigInt arithmetic (which allocates) per stamp.
const hlc64 = new BigUint64Array(1);
const hlc8 = new Uint8Array(hlc64.buffer);
const hlc32 = new Uint32Array(hlc64.buffer);
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HLC_HI = HOST_LITTLE_ENDIAN ? 1 : 0;
const HLC_LO = HOST_LITTLE_ENDIAN ? 0 : 1;

/** Writes `h` as 8 bytes big-endian at `out[o]`. */
function writeHlc(h: bigint, out: Uint8Array, o: number): void {
  hlc64[0] = h;
  if (HOST_LITTLE_ENDIAN) for (let i = 0; i < 8; i++) out[o + i] = hlc8[7 - i];
  else for (let i = 0; i < 8; i++) out[o + i] = hlc8[i];
}

/**
 * The document state V1 of one `put` or `delete` applied to an **empty** state (a document never written here):
 * exactly `encodeDocStateV1` of `applyOp(emptyDocState(), op)`, pinned by a property test, without building the
 * state. An empty state has no stamps to compare, so the result does not depend on the op's stamp order: this
 * holds for local commits, ingest and replay alike.
 *
 * - put: flags `HAS_RESET`, one feed, the reset at (`hlc`, feed 0), every field written at the same stamp.
 * - delete: flags `HAS_RESET | RESET_DELETED`, one feed, the reset, no fields.
 *
 * REQUIRES: `fields` values are Uint8Array (a put carries no removals), names well-formed.
 * @param hlc 64-bit HLC (`hlc.md`). @param feed the writing feed id (1..255 bytes).
 */
export function encodeFreshState(kind: 'put' | 'delete', hlc: bigint, feed: Uint8Array, fields?: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const head = 2 + 1 + varintSize(feed.length) + feed.length + 8 + 1;
  if (kind === 'delete') {
    const out = alloc(head + 1);
    out[0] = DOC_STATE_V1;
    out[1] = HAS_RESET | RESET_DELETED;
    out[2] = 1;
    let o = writeVarint(out, 3, feed.length);
    out.set(feed, o);
    o += feed.length;
    writeHlc(hlc, out, o);
    out[o + 8] = 0; // reset feed index
    out[o + 9] = 0; // no fields
    return out;
  }
  return encodeFreshPut(hlc, feed, fields instanceof PackedFields ? fields : pack(fields!), head);
}

/** Packed fields of a map (the db's own writes and decoded ops are packed already; tests and tools pass maps). */
function pack(fields: ReadonlyMap<string, Uint8Array>): PackedFields {
  const names = [...fields.keys()];
  const values = [...fields.values()];
  const buf = new Uint8Array(values.reduce((n, v) => n + v.length, 0));
  const spans: number[] = [];
  let o = 0;
  for (const v of values) {
    buf.set(v, o);
    spans.push(o, v.length);
    o += v.length;
  }
  return new PackedFields(names, buf, spans);
}

/** `encodeFreshState('put', …)` for packed fields: values copied straight from the packed bytes. */
/**
 * The last field-name shape `encodeFreshPut` saw: the names (in the document's order), the positions in code point
 * order, and each name's bytes as written (varint length + UTF-8). Documents of one collection usually share their
 * names in the same order (`Object.keys` of objects built alike), so most calls reuse it after comparing the names
 * by identity-or-equality, skipping the sort and the UTF-8 work.
 */
let shapeNames: readonly string[] = [];
let shapeOrder: number[] = [];
let shapeBytes = new Uint8Array(0);
/** Per position in code point order: start and end of that name's bytes in `shapeBytes`. */
let shapeSpans: number[] = [];

function sameShape(names: readonly string[]): boolean {
  if (names === shapeNames) return true;
  if (names.length !== shapeNames.length) return false;
  for (let i = 0; i < names.length; i++) if (names[i] !== shapeNames[i]) return false;
  return true;
}

function learnShape(names: readonly string[]): void {
  const n = names.length;
  const order: number[] = [];
  for (let f = 0; f < n; f++) {
    // insertion sort of the field positions by name, in code point (= UTF-8 byte) order
    const name = names[f];
    let i = order.length;
    order.push(f);
    while (i > 0 && compareCodePoints(names[order[i - 1]], name) > 0) {
      order[i] = order[i - 1];
      i--;
    }
    order[i] = f;
  }
  let size = 0;
  for (const name of names) {
    const len = utf8Length(name);
    size += varintSize(len) + len;
  }
  const bytes = new Uint8Array(size);
  const spans: number[] = [];
  let o = 0;
  for (let k = 0; k < n; k++) {
    const name = names[order[k]];
    const len = utf8Length(name);
    const start = o;
    o = writeVarint(bytes, o, len);
    utf8.encodeInto(name, bytes.subarray(o, o + len));
    o += len;
    spans.push(start, o);
  }
  shapeNames = names; // never changed once built (`_packed.ts` invariant 2): identity is the fast comparison
  shapeOrder = order;
  shapeBytes = bytes;
  shapeSpans = spans;
}

/**
 * `encodeFreshState('put', …)` for packed fields: values copied straight from the packed bytes. The stamp's 8
 * bytes are held in locals and written once per field; lengths below 128 are one-byte varints written inline.
 */
function encodeFreshPut(hlc: bigint, feed: Uint8Array, fields: PackedFields, head: number): Uint8Array {
  const { names, buf, spans } = fields;
  const n = names.length;
  if (!sameShape(names)) learnShape(names);
  const order = shapeOrder;
  let size = head + varintSize(n) + shapeBytes.length;
  for (let f = 0; f < n; f++) {
    const vlen = spans[2 * f + 1];
    size += 8 + 1 + 1 + (vlen < 0x80 ? 1 : varintSize(vlen)) + vlen;
  }
  const out = alloc(size);
  hlc64[0] = hlc;
  const hi = hlc32[HLC_HI];
  const lo = hlc32[HLC_LO];
  const h0 = hi >>> 24;
  const h1 = (hi >>> 16) & 0xff;
  const h2 = (hi >>> 8) & 0xff;
  const h3 = hi & 0xff;
  const h4 = lo >>> 24;
  const h5 = (lo >>> 16) & 0xff;
  const h6 = (lo >>> 8) & 0xff;
  const h7 = lo & 0xff;
  out[0] = DOC_STATE_V1;
  out[1] = HAS_RESET;
  out[2] = 1;
  let o = writeVarint(out, 3, feed.length);
  for (let i = 0; i < feed.length; i++) out[o + i] = feed[i];
  o += feed.length;
  out[o] = h0;
  out[o + 1] = h1;
  out[o + 2] = h2;
  out[o + 3] = h3;
  out[o + 4] = h4;
  out[o + 5] = h5;
  out[o + 6] = h6;
  out[o + 7] = h7;
  out[o + 8] = 0;
  o = writeVarint(out, o + 9, n);
  const nameBytes = shapeBytes;
  for (let k = 0; k < n; k++) {
    const f = order[k];
    for (let c = shapeSpans[2 * k], end = shapeSpans[2 * k + 1]; c < end; c++) out[o++] = nameBytes[c];
    out[o] = h0;
    out[o + 1] = h1;
    out[o + 2] = h2;
    out[o + 3] = h3;
    out[o + 4] = h4;
    out[o + 5] = h5;
    out[o + 6] = h6;
    out[o + 7] = h7;
    out[o + 8] = 0; // feed index 0
    out[o + 9] = 0x01; // a value
    o += 10;
    const vlen = spans[2 * f + 1];
    if (vlen < 0x80) out[o++] = vlen;
    else o = writeVarint(out, o, vlen);
    const from = spans[2 * f];
    if (vlen <= 64) for (let c = 0; c < vlen; c++) out[o + c] = buf[from + c];
    else out.set(new Uint8Array(buf.buffer, buf.byteOffset + from, vlen), o);
    o += vlen;
  }
  if (o !== size) throw new Error(`encodeFreshState: size mismatch ${o} != ${size}`); // unreachable
  return out;
}
