/**
 * State vectors: for each feed, the last sequence number held (or applied) and that entry's `hash`.
 * Spec: `docs/formats/state-vector.md`.
 *
 * Uses: peers exchange state vectors to learn which entries the other lacks; the db stores its **applied** state
 * vector as the LSM's opaque applied position (what the SSTables reflect), and replays entries past it on open.
 *
 * Invariant of the encoding: items are strictly ascending by feed id (unsigned bytes), so equal state vectors
 * encode to equal bytes; the decoder accepts nothing else.
 *
 * @packageDocumentation
 */
import {
  FEED_ID_BYTES,
  HASH_BYTES,
  STATE_VECTOR_HEADER_BYTES,
  STATE_VECTOR_ITEM_BYTES,
  STATE_VECTOR_V1,
} from './constants.js';
import { LogError, LogErrorCode } from './errors.js';
import type { StateVectorEntry } from './feed-store.js';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

/**
 * Encodes a state vector (any order in; items are sorted by feed). Returns a new array.
 * @throws TypeError / RangeError for a feed or hash that is not 32 bytes, a seq that is not a safe integer >= 1,
 *   or a feed listed twice.
 */
export function encodeStateVectorV1(items: readonly StateVectorEntry[]): Uint8Array {
  if (!Array.isArray(items)) throw new TypeError('"items" expected an array');
  const sorted = [...items].sort((a, b) => compareBytes(a.feed, b.feed));
  const out = new Uint8Array(STATE_VECTOR_HEADER_BYTES + sorted.length * STATE_VECTOR_ITEM_BYTES);
  const view = new DataView(out.buffer);
  out[0] = STATE_VECTOR_V1;
  view.setUint32(1, sorted.length);
  sorted.forEach((it, i) => {
    if (!(it.feed instanceof Uint8Array) || it.feed.length !== FEED_ID_BYTES) throw new RangeError('"feed" expected Uint8Array of length 32');
    if (!(it.hash instanceof Uint8Array) || it.hash.length !== HASH_BYTES) throw new RangeError('"hash" expected Uint8Array of length 32');
    if (!Number.isSafeInteger(it.seq) || it.seq < 1) throw new RangeError(`"seq" expected safe integer >= 1, got ${it.seq}`);
    if (i > 0 && compareBytes(sorted[i - 1].feed, it.feed) === 0) throw new RangeError('a feed is listed twice');
    const o = STATE_VECTOR_HEADER_BYTES + i * STATE_VECTOR_ITEM_BYTES;
    out.set(it.feed, o);
    view.setBigUint64(o + 32, BigInt(it.seq));
    out.set(it.hash, o + 40);
  });
  return out;
}

/**
 * Decodes a canonical state vector. Feeds and hashes are copies (the input may be reused).
 * @throws LogError `HEARTH_MALFORMED_STATE_VECTOR` for a wrong version, a length that does not match the count,
 *   feeds not strictly ascending, or a seq of 0 or above 2^53 - 1.
 */
export function decodeStateVectorV1(bytes: Uint8Array): StateVectorEntry[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  const bad = (why: string): never => {
    throw new LogError(LogErrorCode.MALFORMED_STATE_VECTOR, `malformed state vector: ${why}`);
  };
  if (bytes.length < STATE_VECTOR_HEADER_BYTES) bad('shorter than its header');
  if (bytes[0] !== STATE_VECTOR_V1) bad(`unknown version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(1);
  if (bytes.length !== STATE_VECTOR_HEADER_BYTES + count * STATE_VECTOR_ITEM_BYTES) bad(`length ${bytes.length} does not fit ${count} items`);
  const out: StateVectorEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = STATE_VECTOR_HEADER_BYTES + i * STATE_VECTOR_ITEM_BYTES;
    const feed = bytes.slice(o, o + 32);
    if (i > 0 && compareBytes(out[i - 1].feed, feed) >= 0) bad('feeds not strictly ascending');
    const seq = view.getBigUint64(o + 32);
    if (seq < 1n || seq > BigInt(Number.MAX_SAFE_INTEGER)) bad(`seq ${seq} outside [1, 2^53 - 1]`);
    out.push({ feed, seq: Number(seq), hash: bytes.slice(o + 40, o + 72) });
  }
  return out;
}
