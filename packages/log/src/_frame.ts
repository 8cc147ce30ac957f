/**
 * Internal: the feed file's header and record framing (spec: `docs/formats/feed-file.md`).
 *
 * ```
 * file   := header record*
 * header := magic:8 ("HRTHFEED" | "HRTHFORK") version:u8(=1) reserved:3(=0) feed:32 crc32c(bytes 0..43):u32be
 * record := length:u32be crc32c(length bytes || entry):u32be entry:bytes[length]
 * ```
 */
import { crc32c } from '@hearth/lsm';
import {
  FEED_FILE_HEADER_BYTES,
  FEED_FILE_V1,
  FEED_ID_BYTES,
  FRAME_HEADER_BYTES,
} from './constants.js';

/** Encodes a feed-file (or fork-file) header for `feed`. */
export function encodeFileHeader(magic: Uint8Array, feed: Uint8Array): Uint8Array {
  const h = new Uint8Array(FEED_FILE_HEADER_BYTES);
  h.set(magic, 0);
  h[8] = FEED_FILE_V1;
  h.set(feed, 12);
  new DataView(h.buffer).setUint32(44, crc32c(h, 0, 44));
  return h;
}

/** Why a header was refused, or null if it is a valid header of `magic` for `feed`. */
export function checkFileHeader(h: Uint8Array, magic: Uint8Array, feed: Uint8Array): string | null {
  if (h.length < FEED_FILE_HEADER_BYTES) return 'header truncated';
  for (let i = 0; i < 8; i++) if (h[i] !== magic[i]) return 'bad magic';
  if (new DataView(h.buffer, h.byteOffset, h.byteLength).getUint32(44) !== crc32c(h, 0, 44)) return 'header checksum mismatch';
  if (h[8] !== FEED_FILE_V1) return `unknown version ${h[8]}`;
  if (h[9] !== 0 || h[10] !== 0 || h[11] !== 0) return 'reserved header bytes not zero';
  for (let i = 0; i < FEED_ID_BYTES; i++) if (h[12 + i] !== feed[i]) return 'header names another feed';
  return null;
}

/** The 8-byte frame header of a record holding `entry`: its length and the CRC32C of length bytes then entry. */
export function encodeFrameHeader(entry: Uint8Array): Uint8Array {
  const f = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(f.buffer);
  view.setUint32(0, entry.length);
  view.setUint32(4, crc32c(entry, 0, entry.length, crc32c(f, 0, 4)));
  return f;
}

/**
 * Writes the record holding `entry` (frame header then entry) into `out` at `at`; returns the offset after it.
 * Same bytes as {@link encodeFrameHeader} followed by `entry`. REQUIRES: `8 + entry.length` bytes of room.
 */
export function writeRecord(out: Uint8Array, at: number, entry: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, entry.length);
  view.setUint32(at + 4, crc32c(entry, 0, entry.length, crc32c(out, at, at + 4)));
  out.set(entry, at + FRAME_HEADER_BYTES);
  return at + FRAME_HEADER_BYTES + entry.length;
}

/**
 * Whether `buf[at, at + 8 + length)` is a record whose checksum matches. REQUIRES: the 8 header bytes and the
 * `length` bytes the header names are inside `buf`.
 */
export function frameChecksumOk(buf: Uint8Array, at: number, length: number): boolean {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const want = view.getUint32(at + 4);
  return crc32c(buf, at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length, crc32c(buf, at, at + 4)) === want;
}

/** The length field of the frame at `at`. REQUIRES: 4 bytes at `at` inside `buf`. */
export function frameLength(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(at);
}
