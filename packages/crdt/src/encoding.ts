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

function feedKey(feed: Uint8Array): string {
  let s = '';
  for (let i = 0; i < feed.length; i++) s += String.fromCharCode(feed[i]);
  return s;
}

/**
 * Encodes `state` canonically (spec: `docs/formats/doc-state.md`). Returns a new array the caller owns.
 * @throws TypeError if a field name has a lone surrogate (cannot be UTF-8 encoded uniquely).
 */
export function encodeDocStateV1(state: DocState): Uint8Array {
  // Feed table: unique feeds, sorted by bytes.
  const feedsByKey = new Map<string, Uint8Array>();
  if (state.reset !== null) feedsByKey.set(feedKey(state.reset.feed), state.reset.feed);
  const fields: { name: Uint8Array; f: FieldState }[] = [];
  for (const [name, f] of state.fields) {
    checkFieldName(name);
    feedsByKey.set(feedKey(f.feed), f.feed);
    fields.push({ name: utf8.encode(name), f });
  }
  const feeds = [...feedsByKey.values()].sort(compareBytes);
  const feedIndex = new Map<string, number>();
  feeds.forEach((feed, i) => feedIndex.set(feedKey(feed), i));
  fields.sort((a, b) => compareBytes(a.name, b.name));

  let size = 2 + varintSize(feeds.length);
  for (const feed of feeds) size += varintSize(feed.length) + feed.length;
  if (state.reset !== null) size += HLC_BYTES + varintSize(feedIndex.get(feedKey(state.reset.feed))!);
  size += varintSize(fields.length);
  for (const { name, f } of fields) {
    size += varintSize(name.length) + name.length + HLC_BYTES + varintSize(feedIndex.get(feedKey(f.feed))!) + 1;
    if (f.value !== null) size += varintSize(f.value.length) + f.value.length;
  }

  const out = new Uint8Array(size);
  out[0] = DOC_STATE_V1;
  out[1] = state.reset === null ? 0 : DOC_FLAG_HAS_RESET | (state.reset.deleted ? DOC_FLAG_RESET_DELETED : 0);
  let o = writeVarint(out, 2, feeds.length);
  for (const feed of feeds) {
    o = writeVarint(out, o, feed.length);
    out.set(feed, o);
    o += feed.length;
  }
  if (state.reset !== null) {
    writeHlc(state.reset.hlc, out, o);
    o = writeVarint(out, o + HLC_BYTES, feedIndex.get(feedKey(state.reset.feed))!);
  }
  o = writeVarint(out, o, fields.length);
  for (const { name, f } of fields) {
    o = writeVarint(out, o, name.length);
    out.set(name, o);
    o += name.length;
    writeHlc(f.hlc, out, o);
    o = writeVarint(out, o + HLC_BYTES, feedIndex.get(feedKey(f.feed))!);
    if (f.value === null) {
      out[o++] = FIELD_KIND_REMOVED;
    } else {
      out[o++] = FIELD_KIND_VALUE;
      o = writeVarint(out, o, f.value.length);
      out.set(f.value, o);
      o += f.value.length;
    }
  }
  if (o !== size) throw new Error(`encodeDocStateV1: size mismatch ${o} != ${size}`); // unreachable
  return out;
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
  const bad = (why: string): never => {
    throw new CorruptionError(`document state V1 is malformed: ${why}`);
  };
  if (bytes.length < 2) bad('shorter than 2 bytes');
  if (bytes[0] !== DOC_STATE_V1) bad(`unknown version ${bytes[0]}`);
  const flags = bytes[1];
  if ((flags & ~(DOC_FLAG_HAS_RESET | DOC_FLAG_RESET_DELETED)) !== 0) bad('reserved flag bits set');
  if ((flags & DOC_FLAG_RESET_DELETED) !== 0 && (flags & DOC_FLAG_HAS_RESET) === 0) bad('delete flag without reset');
  const pos = { offset: 2 };
  const varint = (what: string): number => {
    const n = readVarint(bytes, pos);
    return n < 0 ? bad(`bad varint for ${what}`) : n;
  };
  const take = (n: number, what: string): Uint8Array => {
    if (pos.offset + n > bytes.length) bad(`truncated ${what}`);
    const out = bytes.subarray(pos.offset, pos.offset + n);
    pos.offset += n;
    return out;
  };
  const hlc = (): bigint => {
    if (pos.offset + HLC_BYTES > bytes.length) bad('truncated hlc');
    const h = readHlc(bytes, pos.offset);
    pos.offset += HLC_BYTES;
    return h;
  };

  const feedCount = varint('feed count');
  if (feedCount > bytes.length) bad('feed count exceeds input');
  const feeds: Uint8Array[] = [];
  for (let i = 0; i < feedCount; i++) {
    const len = varint('feed length');
    if (len === 0 || len > MAX_FEED_BYTES) bad(`feed length ${len} outside 1..${MAX_FEED_BYTES}`);
    const feed = take(len, 'feed');
    if (i > 0 && compareBytes(feeds[i - 1], feed) >= 0) bad('feed table not strictly ascending');
    feeds.push(feed);
  }
  const used = new Uint8Array(feedCount);
  const feedRef = (): Uint8Array => {
    const i = varint('feed index');
    if (i >= feedCount) bad(`feed index ${i} out of range`);
    used[i] = 1;
    return feeds[i];
  };

  let reset: ResetState | null = null;
  if ((flags & DOC_FLAG_HAS_RESET) !== 0) {
    const h = hlc();
    reset = { hlc: h, feed: feedRef(), deleted: (flags & DOC_FLAG_RESET_DELETED) !== 0 };
  }
  const fieldCount = varint('field count');
  if (fieldCount > bytes.length) bad('field count exceeds input');
  const fields = new Map<string, FieldState>();
  let prevName: Uint8Array | null = null;
  for (let i = 0; i < fieldCount; i++) {
    const nameBytes = take(varint('name length'), 'field name');
    if (prevName !== null && compareBytes(prevName, nameBytes) >= 0) bad('fields not strictly ascending by name');
    prevName = nameBytes;
    let name: string;
    try {
      name = utf8Strict.decode(nameBytes);
    } catch {
      return bad('field name is not valid UTF-8');
    }
    const h = hlc();
    const feed = feedRef();
    if (pos.offset >= bytes.length) bad('truncated field kind');
    const kind = bytes[pos.offset++];
    let value: Uint8Array | null;
    if (kind === FIELD_KIND_REMOVED) value = null;
    else if (kind === FIELD_KIND_VALUE) value = take(varint('value length'), 'value');
    else return bad(`unknown field kind ${kind}`);
    const f: FieldState = { value, hlc: h, feed };
    if (!survivesReset(f, reset)) bad(`field ${JSON.stringify(name)} is older than the reset`);
    fields.set(name, f);
  }
  if (pos.offset !== bytes.length) bad(`${bytes.length - pos.offset} trailing bytes`);
  if (used.includes(0)) bad('feed table lists an unreferenced feed');
  return { reset, fields };
}

/** SHA-256 of {@link encodeDocStateV1}`(state)`: 32 bytes, equal on every replica that holds the same state. */
export function stateHash(state: DocState): Uint8Array {
  return sha256(encodeDocStateV1(state));
}
