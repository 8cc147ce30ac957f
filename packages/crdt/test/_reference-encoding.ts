/**
 * A plain reference implementation of the document state V1 encoding (`docs/formats/doc-state.md`): feeds
 * deduplicated through string keys, names encoded to UTF-8 and sorted as bytes. The production encoder
 * (`src/encoding.ts`) is pinned to it byte for byte by a property test. Test-only.
 */
import { compareBytes, writeHlc, type DocState, type FieldState } from '../src/index.js';

const utf8 = new TextEncoder();
const HLC_BYTES = 8;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, o: number, n: number): number {
  while (n >= 0x80) {
    out[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[o++] = n;
  return o;
}

function feedKey(feed: Uint8Array): string {
  let s = '';
  for (let i = 0; i < feed.length; i++) s += String.fromCharCode(feed[i]);
  return s;
}

/**
 * Encodes `state` canonically (spec: `docs/formats/doc-state.md`). Returns a new array the caller owns.
 * @throws TypeError if a field name has a lone surrogate (cannot be UTF-8 encoded uniquely).
 */
export function referenceEncodeDocStateV1(state: DocState): Uint8Array {
  // Feed table: unique feeds, sorted by bytes.
  const feedsByKey = new Map<string, Uint8Array>();
  if (state.reset !== null) feedsByKey.set(feedKey(state.reset.feed), state.reset.feed);
  const fields: { name: Uint8Array; f: FieldState }[] = [];
  for (const [name, f] of state.fields) {
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
  out[0] = 0x01;
  out[1] = state.reset === null ? 0 : 0x01 | (state.reset.deleted ? 0x02 : 0);
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
      out[o++] = 0x00;
    } else {
      out[o++] = 0x01;
      o = writeVarint(out, o, f.value.length);
      out.set(f.value, o);
      o += f.value.length;
    }
  }
  if (o !== size) throw new Error(`encodeDocStateV1: size mismatch ${o} != ${size}`); // unreachable
  return out;
}
