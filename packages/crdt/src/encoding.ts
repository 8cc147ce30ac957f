/**
 * The canonical binary encoding of a {@link DocState}, version 1. Spec: `docs/formats/doc-state.md`.
 *
 * Canonical means: equal states (as lattice elements) encode to identical bytes, and the decoder accepts only
 * canonical input, so `encode(decode(b))` equals `b` for every `b` it accepts. This is what lets replicas compare
 * documents by {@link stateHash}.
 *
 * Invariants of the encoding:
 * 1. The feed table lists each feed referenced by the reset or a field exactly once, sorted ascending by unsigned
 *    bytes; no unreferenced feed appears.
 * 2. Fields are sorted ascending by the unsigned bytes of their UTF-8 names; names are unique.
 * 3. Only retained field writes appear (`survivesReset`, invariant 2 of `doc.ts`).
 * 4. Varints are minimal; reserved flag bits are zero; nothing follows the last field.
 *
 * @packageDocumentation
 */
import { CorruptionError } from '@hearth/io';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  DOC_FLAG_HAS_RESET,
  DOC_FLAG_RESET_DELETED,
  DOC_STATE_V1,
  FIELD_KIND_REMOVED,
  FIELD_KIND_VALUE,
  MAX_FEED_BYTES,
} from './constants.js';
import { checkFieldName, survivesReset, type DocState, type FieldState, type ResetState } from './doc.js';
import { compareBytes, HLC_BYTES, readHlc, writeHlc } from './hlc.js';
import { readVarint, varintSize, writeVarint } from './_varint.js';

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });


/** UTF-8 length in bytes of a well-formed string (no lone surrogates: callers check, e.g. `checkFieldName`). */
export function utf8Length(s: string): number {
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

/**
 * Compares two strings by Unicode code point (= the order of their UTF-8 bytes; UTF-16 order differs between
 * surrogates and U+E000..U+FFFF). Negative, zero or positive, like a sort comparator.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF: lift surrogates.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** Index of `f` in `feeds` (same array object first, then equal bytes), or -1. */
function feedIndexOf(feeds: Uint8Array[], f: Uint8Array): number {
  for (let i = 0; i < feeds.length; i++) if (feeds[i] === f) return i;
  for (let i = 0; i < feeds.length; i++) if (compareBytes(feeds[i], f) === 0) return i;
  return -1;
}

// Scratch arrays reused by every call (the encoder is synchronous and not re-entrant): fewer allocations per
// document on the database's write path.
const names: string[] = [];
const writes: FieldState[] = [];
const nameLengths: number[] = [];
const feedIndexes: number[] = [];

/**
 * Encodes `state` canonically (spec: `docs/formats/doc-state.md`). Returns a new array the caller owns.
 * Feeds are found by identity first (a document's writes usually share feed arrays), names sorted by code point
 * (= UTF-8 byte order) without encoding them first, and each name written straight into the output: this is the
 * database's write path for updated documents. A plain reference implementation pins it byte for byte
 * (`test/encoding.test.ts`).
 * @throws TypeError if a field name has a lone surrogate (cannot be UTF-8 encoded uniquely).
 */
export function encodeDocStateV1(state: DocState): Uint8Array {
  const feeds: Uint8Array[] = [];
  const reset = state.reset;
  if (reset !== null) feeds.push(reset.feed);
  names.length = 0;
  writes.length = 0;
  nameLengths.length = 0;
  feedIndexes.length = 0;
  for (const [name, f] of state.fields) {
    checkFieldName(name);
    names.push(name);
    if (feedIndexOf(feeds, f.feed) < 0) feeds.push(f.feed);
  }
  if (feeds.length > 1) feeds.sort(compareBytes);
  if (names.length > 1) names.sort(compareCodePoints);
  for (let i = 0; i < names.length; i++) writes.push(state.fields.get(names[i])!);
  let size = 2 + varintSize(feeds.length);
  for (const f of feeds) size += varintSize(f.length) + f.length;
  const resetIndex = reset === null ? -1 : feedIndexOf(feeds, reset.feed);
  if (reset !== null) size += HLC_BYTES + varintSize(resetIndex);
  size += varintSize(names.length);
  for (let i = 0; i < names.length; i++) {
    const f = writes[i];
    const n = utf8Length(names[i]);
    nameLengths[i] = n;
    feedIndexes[i] = feedIndexOf(feeds, f.feed);
    size += varintSize(n) + n + HLC_BYTES + varintSize(feedIndexes[i]) + 1;
    if (f.value !== null) size += varintSize(f.value.length) + f.value.length;
  }

  const out = new Uint8Array(size);
  out[0] = DOC_STATE_V1;
  out[1] = reset === null ? 0 : DOC_FLAG_HAS_RESET | (reset.deleted ? DOC_FLAG_RESET_DELETED : 0);
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
    o = writeVarint(out, o + HLC_BYTES, resetIndex);
  }
  o = writeVarint(out, o, names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const f = writes[i];
    const n = nameLengths[i];
    o = writeVarint(out, o, n);
    if (n === name.length) {
      for (let k = 0; k < n; k++) out[o + k] = name.charCodeAt(k);
    } else {
      utf8.encodeInto(name, out.subarray(o, o + n));
    }
    o += n;
    if (f.hlc === lastHlc) out.copyWithin(o, lastHlcAt, lastHlcAt + HLC_BYTES);
    else {
      writeHlc(f.hlc, out, o);
      lastHlc = f.hlc;
      lastHlcAt = o;
    }
    o = writeVarint(out, o + HLC_BYTES, feedIndexes[i]);
    if (f.value === null) out[o++] = FIELD_KIND_REMOVED;
    else {
      out[o++] = FIELD_KIND_VALUE;
      o = writeVarint(out, o, f.value.length);
      out.set(f.value, o);
      o += f.value.length;
    }
  }
  if (o !== size) throw new Error(`encodeDocStateV1: size mismatch ${o} != ${size}`); // unreachable
  return out;
}

// Decoder cursor (module state: decoding is synchronous and never re-entrant), so the hot loop allocates no closures.
let dBytes: Uint8Array = new Uint8Array(0);
let dPos = 0;

function bad(why: string): never {
  throw new CorruptionError(`document state V1 is malformed: ${why}`);
}

function dVarint(what: string): number {
  const pos = { offset: dPos };
  const n = readVarint(dBytes, pos);
  if (n < 0) bad(`bad varint for ${what}`);
  dPos = pos.offset;
  return n;
}

/** A one-byte varint inline (the common case: counts, lengths and feed indexes below 128), else the general one. */
function dSmall(what: string): number {
  if (dPos < dBytes.length) {
    const b = dBytes[dPos];
    if (b < 0x80) {
      dPos++;
      return b;
    }
  }
  return dVarint(what);
}

function dTake(n: number, what: string): Uint8Array {
  if (dPos + n > dBytes.length) bad(`truncated ${what}`);
  const out = dBytes.subarray(dPos, dPos + n);
  dPos += n;
  return out;
}

/** A field name: short ASCII by a loop (always valid UTF-8), anything else through the strict decoder. */
function dName(nameBytes: Uint8Array): string {
  if (nameBytes.length <= 64) {
    let s = '';
    for (let i = 0; i < nameBytes.length; i++) {
      const c = nameBytes[i];
      if (c >= 0x80) return dNameUtf8(nameBytes);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return dNameUtf8(nameBytes);
}

function dNameUtf8(nameBytes: Uint8Array): string {
  try {
    return utf8Strict.decode(nameBytes);
  } catch {
    return bad('field name is not valid UTF-8');
  }
}

/**
 * Decodes a canonical document state encoding. Field values and feeds are subarrays of `bytes` (no copies):
 * they stay valid as long as the caller does not mutate `bytes`.
 * @throws CorruptionError `HEARTH_CORRUPTION` if `bytes` is not a canonical V1 encoding (wrong version, truncated,
 *   trailing bytes, unsorted or duplicate feeds or fields, unreferenced feed, pruned write present, non-minimal
 *   varint, reserved bits set, invalid UTF-8).
 */
export function decodeDocStateV1(bytes: Uint8Array): DocState {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  if (bytes.length < 2) bad('shorter than 2 bytes');
  if (bytes[0] !== DOC_STATE_V1) bad(`unknown version ${bytes[0]}`);
  const flags = bytes[1];
  if ((flags & ~(DOC_FLAG_HAS_RESET | DOC_FLAG_RESET_DELETED)) !== 0) bad('reserved flag bits set');
  if ((flags & DOC_FLAG_RESET_DELETED) !== 0 && (flags & DOC_FLAG_HAS_RESET) === 0) bad('delete flag without reset');
  dBytes = bytes;
  dPos = 2;
  try {
    const feedCount = dSmall('feed count');
    if (feedCount > bytes.length) bad('feed count exceeds input');
    const feeds: Uint8Array[] = new Array(feedCount);
    for (let i = 0; i < feedCount; i++) {
      const len = dSmall('feed length');
      if (len === 0 || len > MAX_FEED_BYTES) bad(`feed length ${len} outside 1..${MAX_FEED_BYTES}`);
      const feed = dTake(len, 'feed');
      if (i > 0 && compareBytes(feeds[i - 1], feed) >= 0) bad('feed table not strictly ascending');
      feeds[i] = feed;
    }
    const used = new Uint8Array(feedCount);
    dFeeds = feeds;
    dUsed = used;
    dLastAt = -1;

    let reset: ResetState | null = null;
    if ((flags & DOC_FLAG_HAS_RESET) !== 0) {
      const h = hlcAt();
      reset = { hlc: h, feed: feedRef(), deleted: (flags & DOC_FLAG_RESET_DELETED) !== 0 };
    }
    const fieldCount = dSmall('field count');
    if (fieldCount > bytes.length) bad('field count exceeds input');
    const fields = new Map<string, FieldState>();
    let prevName: Uint8Array | null = null;
    for (let i = 0; i < fieldCount; i++) {
      const nameBytes = dTake(dSmall('name length'), 'field name');
      if (prevName !== null && compareBytes(prevName, nameBytes) >= 0) bad('fields not strictly ascending by name');
      prevName = nameBytes;
      const name = dName(nameBytes);
      const h = hlcAt();
      const feed = feedRef();
      if (dPos >= bytes.length) bad('truncated field kind');
      const kind = bytes[dPos++];
      let value: Uint8Array | null;
      if (kind === FIELD_KIND_REMOVED) value = null;
      else if (kind === FIELD_KIND_VALUE) value = dTake(dSmall('value length'), 'value');
      else return bad(`unknown field kind ${kind}`);
      const f: FieldState = { value, hlc: h, feed };
      if (!survivesReset(f, reset)) bad(`field ${JSON.stringify(name)} is older than the reset`);
      fields.set(name, f);
    }
    if (dPos !== bytes.length) bad(`${bytes.length - dPos} trailing bytes`);
    for (let i = 0; i < feedCount; i++) if (used[i] === 0) bad('feed table lists an unreferenced feed');
    return { reset, fields };
  } finally {
    dBytes = EMPTY;
    dFeeds = NO_FEEDS;
    dUsed = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
const NO_FEEDS: Uint8Array[] = [];
let dFeeds: Uint8Array[] = NO_FEEDS;
let dUsed: Uint8Array = EMPTY;
/** The last HLC read and where its 8 bytes are: fields written by one put share the reset's stamp, so equal bytes
 * reuse the bigint instead of building a new one. */
let dLastHlc = 0n;
let dLastAt = -1;

function hlcAt(): bigint {
  const bytes = dBytes;
  if (dPos + HLC_BYTES > bytes.length) bad('truncated hlc');
  const at = dPos;
  dPos += HLC_BYTES;
  if (dLastAt >= 0) {
    let same = true;
    for (let k = 0; k < HLC_BYTES; k++) {
      if (bytes[at + k] !== bytes[dLastAt + k]) {
        same = false;
        break;
      }
    }
    if (same) return dLastHlc;
  }
  dLastHlc = readHlc(bytes, at);
  dLastAt = at;
  return dLastHlc;
}

function feedRef(): Uint8Array {
  const i = dSmall('feed index');
  if (i >= dFeeds.length) bad(`feed index ${i} out of range`);
  dUsed[i] = 1;
  return dFeeds[i];
}

/** SHA-256 of {@link encodeDocStateV1}`(state)`: 32 bytes, equal on every replica that holds the same state. */
export function stateHash(state: DocState): Uint8Array {
  return sha256(encodeDocStateV1(state));
}
