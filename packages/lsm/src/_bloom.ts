/**
 * Bloom filter over the user keys of one SSTable, as in LevelDB's `util/bloom.cc`: one 32-bit hash per key and
 * k probes by double hashing (Kirsch & Mitzenmacher, "Less hashing, same performance", 2006): probe j is
 * `h + j * delta (mod m)` with `delta = rotr(h, 17)`. k = round-down(bitsPerKey * ln 2), clamped to [1, 30], which
 * minimises the false-positive rate: at 10 bits per key, about 0.8 to 1%.
 *
 * Filter bytes (docs/formats/sstable.md, "Filter block"): `ceil(max(64, n * bitsPerKey) / 8)` bytes of bits
 * (bit i is byte i >> 3, mask 1 << (i & 7)), then one byte k.
 *
 * Internal module: not exported from the package.
 */

/** LevelDB's `Hash` (a Murmur-like hash) with seed 0xbc9f1d34, over `key[off, off+len)`. */
export function bloomHash(key: Uint8Array, off = 0, len = key.length): number {
  const m = 0xc6a4a793;
  let h = (0xbc9f1d34 ^ Math.imul(len, m)) >>> 0;
  let i = off;
  const end = off + len;
  while (i + 4 <= end) {
    const w = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24);
    i += 4;
    h = (h + w) | 0;
    h = Math.imul(h, m);
    h ^= h >>> 16;
  }
  const rest = end - i;
  if (rest > 0) {
    if (rest === 3) h = (h + (key[i + 2] << 16)) | 0;
    if (rest >= 2) h = (h + (key[i + 1] << 8)) | 0;
    h = (h + key[i]) | 0;
    h = Math.imul(h, m);
    h ^= h >>> 24;
  }
  return h >>> 0;
}

/** Number of probes for `bitsPerKey`. */
export function bloomProbes(bitsPerKey: number): number {
  return Math.min(30, Math.max(1, Math.floor(bitsPerKey * 0.69)));
}

/** Builds the filter bytes for the given key hashes (`hashes[0, count)`). */
export function buildBloom(hashes: Uint32Array, count: number, bitsPerKey: number): Uint8Array {
  const k = bloomProbes(bitsPerKey);
  let bits = Math.max(64, Math.ceil(count * bitsPerKey));
  const bytes = Math.ceil(bits / 8);
  bits = bytes * 8;
  const out = new Uint8Array(bytes + 1);
  out[bytes] = k;
  for (let n = 0; n < count; n++) {
    let h = hashes[n];
    const delta = ((h >>> 17) | (h << 15)) >>> 0;
    for (let j = 0; j < k; j++) {
      const pos = h % bits;
      out[pos >>> 3] |= 1 << (pos & 7);
      h = (h + delta) >>> 0;
    }
  }
  return out;
}

/**
 * Whether the key with hash `h` may be in the filter `filter[off, off+len)` (false: certainly not).
 * A filter whose k byte is above 30 is from a future encoding: treated as "may contain" (LevelDB does the same).
 */
export function bloomMayContain(filter: Uint8Array, off: number, len: number, h: number): boolean {
  if (len < 2) return true;
  const bytes = len - 1;
  const k = filter[off + bytes];
  if (k > 30) return true;
  if (bytes >= 0x20000000) return mayContainWide(filter, off, bytes, k, h);
  // Both operands typed as uint32 (`>>> 0`) so that the optimizing compiler emits an integer remainder instead of
  // a floating-point `fmod` call (a hash above 2^31 is not a small integer).
  const bits = (bytes * 8) >>> 0;
  const delta = ((h >>> 17) | (h << 15)) >>> 0;
  let x = h >>> 0;
  for (let j = 0; j < k; j++) {
    const pos = (x % bits) >>> 0;
    if ((filter[off + (pos >>> 3)] & (1 << (pos & 7))) === 0) return false;
    x = (x + delta) >>> 0;
  }
  return true;
}

/** {@link bloomMayContain} for a filter of 2^32 bits or more (bit positions beyond uint32; never written today). */
function mayContainWide(filter: Uint8Array, off: number, bytes: number, k: number, h: number): boolean {
  const bits = bytes * 8;
  const delta = ((h >>> 17) | (h << 15)) >>> 0;
  for (let j = 0; j < k; j++) {
    const pos = h % bits;
    if ((filter[off + Math.floor(pos / 8)] & (1 << (pos & 7))) === 0) return false;
    h = (h + delta) >>> 0;
  }
  return true;
}
