/**
 * CRC-32C (Castagnoli), the checksum on every SSTable block, filter, index and footer, and on every manifest record.
 *
 * Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, as in RFC 3720
 * (iSCSI) appendix B.4 and LevelDB's `util/crc32c`. Table-driven, sixteen bytes per step ("slicing-by-16"):
 * sixteen 256-entry tables (16 KiB), where table k maps a byte to the CRC contribution of that byte followed by k
 * zero bytes. Sixteen measured about 15% faster than eight on 4 KiB blocks in V8.
 *
 * Known vector: `crc32c(utf8("123456789")) === 0xE3069283`.
 *
 * @packageDocumentation
 */

const POLY = 0x82f63b78;

/** tables[k * 256 + b]: CRC of byte b followed by k zero bytes (k = 0..15). */
const TABLES = /* @__PURE__ */ (() => {
  const t = new Int32Array(256 * 16);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b];
    for (let k = 1; k < 16; k++) {
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
  const end16 = end - ((end - start) & 15);
  while (i < end16) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      t[3840 + (a & 0xff)] ^
      t[3584 + ((a >>> 8) & 0xff)] ^
      t[3328 + ((a >>> 16) & 0xff)] ^
      t[3072 + (a >>> 24)] ^
      t[2816 + data[i + 4]] ^
      t[2560 + data[i + 5]] ^
      t[2304 + data[i + 6]] ^
      t[2048 + data[i + 7]] ^
      t[1792 + data[i + 8]] ^
      t[1536 + data[i + 9]] ^
      t[1280 + data[i + 10]] ^
      t[1024 + data[i + 11]] ^
      t[768 + data[i + 12]] ^
      t[512 + data[i + 13]] ^
      t[256 + data[i + 14]] ^
      t[data[i + 15]];
    i += 16;
  }
  while (i < end) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
