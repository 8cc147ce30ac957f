/**
 * Unsigned LEB128 varints (as in protobuf), restricted to safe integers, with canonical (minimal) decoding.
 * Exported from `@hearth/crdt` for the other binary formats that use it (`@hearth/db`'s ops payload).
 */

/** Bytes needed to write `n` as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` (a safe non-negative integer) at `offset`; returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    out[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[offset++] = n;
  return offset;
}

/**
 * Reads a varint at `pos.offset`, advancing it. Returns -1 if the bytes end first, the value exceeds 2^53 - 1,
 * or the encoding is not minimal (a trailing 0x00 group), so the caller can raise its own typed error.
 */
export function readVarint(bytes: Uint8Array, pos: { offset: number }): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos.offset >= bytes.length) return -1;
    const b = bytes[pos.offset++];
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) return -1;
      return Number.isSafeInteger(result) ? result : -1;
    }
    scale *= 128;
  }
  return -1;
}
