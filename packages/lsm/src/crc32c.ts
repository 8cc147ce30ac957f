/**
 * CRC-32C (Castagnoli), the checksum on every SSTable block, filter, index and footer, and on every manifest record.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, as in RFC 3720
 * (iSCSI) appendix B.4 and LevelDB's `util/crc32c`. Table-driven, eight bytes per step ("slicing-by-8"): eight
 * 256-entry tables, where table k maps a byte to the CRC contribution of that byte followed by k zero bytes.
 *
 * Known vector: `crc32c(utf8("123456789")) === 0xE3069283`.
 *
 * @packageDocumentation
 */

const POLY = 0x82f63b78;

/** tables[k * 256 + b]: CRC of byte b followed by k zero bytes (k = 0..7). */
const TABLES = /* @__PURE__ */ (() => {
  const t = new Int32Array(256 * 8);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

/**
 * CRC-32C of `data[start, end)`, continuing from `crc` (the value a previous call returned; 0 to start).
 *
 * @param data bytes to checksum.
 * @param start first byte offset (default 0).
 * @param end offset one past the last byte (default `data.length`).
 * @param crc a previous result to extend (default 0).
 * @returns the CRC as an unsigned 32-bit integer.
 * @throws RangeError if the range is outside `data`.
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode('123456789')) // 0xE3069283
 * ```
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  if (!(data instanceof Uint8Array)) throw new TypeError('"data" expected Uint8Array');
  if (!(start >= 0 && end <= data.length && start <= end)) {
    throw new RangeError(`"start"/"end" out of range: [${start}, ${end}) of ${data.length} bytes`);
  }
  return crc32cRaw(data, start, end, crc);
}

/** {@link crc32c} without argument checks, for internal hot paths. REQUIRES: 0 <= start <= end <= data.length. */
export function crc32cRaw(data: Uint8Array, start: number, end: number, crc: number): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < end) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
