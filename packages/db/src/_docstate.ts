/**
 * A faster encoder of the canonical document state V1 (`docs/formats/doc-state.md`) for the write path. Internal.
 *
 * `@hearth/crdt`'s `encodeDocStateV1` is the reference; this one produces **byte-identical** output (pinned by a
 * property test in `test/docstate.test.ts`) without building a string key per feed reference, which made the
 * reference cost ~15 µs per small document and dominated the apply step of a group commit.
 *
 * REQUIRES: field names of the state are well-formed (the db checks names at its API and decodes remote ones from
 * valid UTF-8), and the state is pruned (as `applyOp`/`decodeDocStateV1` leave it).
 */
import type { DocState, FieldState } from '@hearth/crdt';
import { compareCodePoints } from './values.js';
import { varintSize, writeVarint } from '@hearth/crdt';
import { alloc } from './_slab.js';
import { PackedFields } from './_packed.js';

const utf8 = new TextEncoder();
const DOC_STATE_V1 = 0x01;
const HAS_RESET = 0x01;
const RESET_DELETED = 0x02;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** UTF-8 length of a well-formed string. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2; // a surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes
      i++;
    } else n += 2;
  }
  return n;
}

// The HLC's 8 bytes through a scratch 64-bit array: no BigInt arithmetic (which allocates) per stamp.
const hlc64 = new BigUint64Array(1);
const hlc8 = new Uint8Array(hlc64.buffer);
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `h` as 8 bytes big-endian at `out[o]`. */
function writeHlc(h: bigint, out: Uint8Array, o: number): void {
  hlc64[0] = h;
  if (HOST_LITTLE_ENDIAN) for (let i = 0; i < 8; i++) out[o + i] = hlc8[7 - i];
  else for (let i = 0; i < 8; i++) out[o + i] = hlc8[i];
}

/** Encodes `state` as document state V1, identical to `encodeDocStateV1`. */
function indexOf(feeds: Uint8Array[], f: Uint8Array): number {
  for (let i = 0; i < feeds.length; i++) if (feeds[i] === f) return i;
  for (let i = 0; i < feeds.length; i++) if (compareBytes(feeds[i], f) === 0) return i;
  return -1;
}

// Scratch arrays reused by every call (the encoder is synchronous and not re-entrant): fewer allocations per
// document on the write path.
const names: string[] = [];
const writes: FieldState[] = [];
const nameLengths: number[] = [];
const feedIndexes: number[] = [];

export function encodeDocState(state: DocState): Uint8Array {
  const feeds: Uint8Array[] = [];
  const reset = state.reset;
  if (reset !== null) feeds.push(reset.feed);
  names.length = 0;
  writes.length = 0;
  nameLengths.length = 0;
  feedIndexes.length = 0;
  for (const name of state.fields.keys()) {
    names.push(name);
    const feed = state.fields.get(name)!.feed;
    if (indexOf(feeds, feed) < 0) feeds.push(feed);
  }
  if (feeds.length > 1) feeds.sort(compareBytes);
  if (names.length > 1) names.sort(compareCodePoints);
  for (let i = 0; i < names.length; i++) writes.push(state.fields.get(names[i])!);
  let size = 2 + varintSize(feeds.length);
  for (const f of feeds) size += varintSize(f.length) + f.length;
  const resetIndex = reset === null ? -1 : indexOf(feeds, reset.feed);
  if (reset !== null) size += 8 + varintSize(resetIndex);
  size += varintSize(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const f = writes[i];
    const n = utf8Length(name);
    nameLengths[i] = n;
    feedIndexes[i] = indexOf(feeds, f.feed);
    size += varintSize(n) + n + 8 + varintSize(feedIndexes[i]) + 1;
    if (f.value !== null) size += varintSize(f.value.length) + f.value.length;
  }

  const out = new Uint8Array(size);
  out[0] = DOC_STATE_V1;
  out[1] = reset === null ? 0 : HAS_RESET | (reset.deleted ? RESET_DELETED : 0);
  let o = writeVarint(out, 2, feeds.length);
  for (const f of feeds) {
    o = writeVarint(out, o, f.length);
    out.set(f, o);
    o += f.length;
  }
  // Fields written by one put share the reset's stamp: write each distinct HLC once, copy it after.
  let lastHlc = -1n;
  let lastHlcAt = 0;
  if (reset !== null) {
    writeHlc(reset.hlc, out, o);
    lastHlc = reset.hlc;
    lastHlcAt = o;
    o = writeVarint(out, o + 8, resetIndex);
  }
  o = writeVarint(out, o, names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const f = writes[i];
    o = writeVarint(out, o, nameLengths[i]);
    if (nameLengths[i] === name.length) {
      for (let k = 0; k < name.length; k++) out[o + k] = name.charCodeAt(k);
    } else {
      utf8.encodeInto(name, out.subarray(o, o + nameLengths[i]));
    }
    o += nameLengths[i];
    if (f.hlc === lastHlc) out.copyWithin(o, lastHlcAt, lastHlcAt + 8);
    else {
      writeHlc(f.hlc, out, o);
      lastHlc = f.hlc;
      lastHlcAt = o;
    }
    o = writeVarint(out, o + 8, feedIndexes[i]);
    if (f.value === null) out[o++] = 0x00;
    else {
      out[o++] = 0x01;
      o = writeVarint(out, o, f.value.length);
      out.set(f.value, o);
      o += f.value.length;
    }
  }
  if (o !== size) throw new Error(`encodeDocState: size mismatch ${o} != ${size}`); // unreachable
  return out;
}

const freshNames: string[] = [];

/**
 * The document state V1 of one `put` or `delete` applied to an **empty** state (a document never written here):
 * exactly `encodeDocStateV1` of `applyOp(emptyDocState(), op)`, pinned by a property test, without building the
 * state. An empty state has no stamps to compare, so the result does not depend on the op's stamp order: this
 * holds for local commits, ingest and replay alike.
 *
 * - put: flags `HAS_RESET`, one feed, the reset at (`hlc`, feed 0), every field written at the same stamp.
 * - delete: flags `HAS_RESET | RESET_DELETED`, one feed, the reset, no fields.
 *
 * REQUIRES: `fields` values are Uint8Array (a put carries no removals), names well-formed (as `encodeDocState`).
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
  if (fields instanceof PackedFields) return encodeFreshPut(hlc, feed, fields, head);
  freshNames.length = 0;
  nameLengths.length = 0;
  let size = head + varintSize(fields!.size);
  for (const name of fields!.keys()) {
    // insertion sort by code point (= UTF-8 byte) order; documents have few fields
    let i = freshNames.length;
    freshNames.push(name);
    while (i > 0 && compareCodePoints(freshNames[i - 1], name) > 0) {
      freshNames[i] = freshNames[i - 1];
      i--;
    }
    freshNames[i] = name;
  }
  for (let i = 0; i < freshNames.length; i++) {
    const name = freshNames[i];
    const n = utf8Length(name);
    nameLengths[i] = n;
    const v = fields!.get(name)!;
    size += varintSize(n) + n + 8 + 1 + 1 + varintSize(v.length) + v.length;
  }
  const out = alloc(size);
  out[0] = DOC_STATE_V1;
  out[1] = HAS_RESET;
  out[2] = 1;
  let o = writeVarint(out, 3, feed.length);
  out.set(feed, o);
  o += feed.length;
  const hlcAt = o;
  writeHlc(hlc, out, o);
  out[o + 8] = 0;
  o = writeVarint(out, o + 9, freshNames.length);
  for (let i = 0; i < freshNames.length; i++) {
    const name = freshNames[i];
    const n = nameLengths[i];
    o = writeVarint(out, o, n);
    if (n === name.length) {
      for (let k = 0; k < n; k++) out[o + k] = name.charCodeAt(k);
    } else {
      utf8.encodeInto(name, out.subarray(o, o + n));
    }
    o += n;
    out.copyWithin(o, hlcAt, hlcAt + 8);
    out[o + 8] = 0; // feed index 0
    out[o + 9] = 0x01; // a value
    const v = fields!.get(name)!;
    o = writeVarint(out, o + 10, v.length);
    out.set(v, o);
    o += v.length;
  }
  if (o !== size) throw new Error(`encodeFreshState: size mismatch ${o} != ${size}`); // unreachable
  return out;
}

const order: number[] = [];

/** `encodeFreshState('put', …)` for packed fields: values copied straight from the packed bytes. */
function encodeFreshPut(hlc: bigint, feed: Uint8Array, fields: PackedFields, head: number): Uint8Array {
  const { names, buf, spans } = fields;
  const n = names.length;
  order.length = 0;
  nameLengths.length = 0;
  let size = head + varintSize(n);
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
    const len = utf8Length(name);
    nameLengths[f] = len;
    const vlen = spans[2 * f + 1];
    size += varintSize(len) + len + 8 + 1 + 1 + varintSize(vlen) + vlen;
  }
  const out = alloc(size);
  out[0] = DOC_STATE_V1;
  out[1] = HAS_RESET;
  out[2] = 1;
  let o = writeVarint(out, 3, feed.length);
  for (let i = 0; i < feed.length; i++) out[o + i] = feed[i];
  o += feed.length;
  const hlcAt = o;
  writeHlc(hlc, out, o);
  out[o + 8] = 0;
  o = writeVarint(out, o + 9, n);
  for (let k = 0; k < n; k++) {
    const f = order[k];
    const name = names[f];
    const len = nameLengths[f];
    o = writeVarint(out, o, len);
    if (len === name.length) {
      for (let c = 0; c < len; c++) out[o + c] = name.charCodeAt(c);
    } else {
      utf8.encodeInto(name, out.subarray(o, o + len));
    }
    o += len;
    for (let c = 0; c < 8; c++) out[o + c] = out[hlcAt + c];
    out[o + 8] = 0; // feed index 0
    out[o + 9] = 0x01; // a value
    const vlen = spans[2 * f + 1];
    o = writeVarint(out, o + 10, vlen);
    const from = buf.byteOffset + spans[2 * f];
    if (vlen <= 32) for (let c = 0; c < vlen; c++) out[o + c] = buf[spans[2 * f] + c];
    else out.set(new Uint8Array(buf.buffer, from, vlen), o);
    o += vlen;
  }
  if (o !== size) throw new Error(`encodeFreshState: size mismatch ${o} != ${size}`); // unreachable
  return out;
}
