/**
 * Internal: SHA-256 (FIPS 180-4) in plain JavaScript, tuned for the short inputs of the log (entry bodies of a few
 * hundred bytes, 96-byte link-hash inputs), for platforms without a synchronous native hash (browsers, workers).
 *
 * Why not only `@noble/hashes`: its one-shot `sha256` builds a hasher object, a block buffer and a DataView per
 * call, which dominates at these sizes; the catch-up benchmark hashes each received entry twice. This function
 * keeps its message schedule and state in module-level typed arrays and reads the input in place; it gives the
 * same bytes as noble and `node:crypto` (tested on the FIPS 180-2 examples and random inputs of every length up to
 * several blocks, `packages/log/test/sha256.test.ts`). Large inputs still go to WebCrypto (`_crypto.ts`).
 *
 * Invariants:
 * 1. Not re-entrant, and it need not be: it is synchronous and never calls out, so no other call can interleave.
 * 2. `W` and `H` are fully rewritten before being read in every call (no state leaks between calls).
 *
 * @packageDocumentation
 */

// prettier-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Int32Array(64);
const H = new Int32Array(8);
/** The last one or two blocks: the input's tail, the 0x80 marker, zeros, the 64-bit bit length. */
const TAIL = new Uint8Array(128);

/**
 * Runs the compression function on the 64-byte block of `b` at `at` (FIPS 180-4 section 6.2.2). The message
 * schedule is computed inside the round loop, and Ch and Maj take their one-operation-less forms
 * (`g ^ (e & (f ^ g))`, `(a & b) | (c & (a | b))`): about 7% faster than the textbook two loops.
 */
function compress(b: Uint8Array, at: number): void {
  let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    let w: number;
    if (i < 16) {
      w = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
      at += 4;
    } else {
      const x = W[i - 15];
      const y = W[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    W[i] = w;
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + (g ^ (e & (f ^ g))) + K[i] + w) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) | (c & (a | bb)))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + bb) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
  H[5] = (H[5] + f) | 0;
  H[6] = (H[6] + g) | 0;
  H[7] = (H[7] + h) | 0;
}

/** SHA-256 of `data`: 32 fresh bytes. */
export function sha256Js(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sha256Into(data, 0, data.length, out, 0);
  return out;
}

/** Writes SHA-256 of `data[start, start + len)` to `out[o, o + 32)`. REQUIRES: the range is inside `data`. */
export function sha256Into(data: Uint8Array, start: number, len: number, out: Uint8Array, o: number): void {
  H.set(H0);
  const full = len - (len % 64);
  for (let at = 0; at < full; at += 64) compress(data, start + at);
  const rest = len - full;
  TAIL.fill(0);
  for (let i = 0; i < rest; i++) TAIL[i] = data[start + full + i];
  TAIL[rest] = 0x80;
  const blocks = rest < 56 ? 1 : 2;
  const end = blocks * 64;
  // bit length as 64-bit big-endian (inputs below 2^53 bytes)
  const hi = Math.floor(len / 0x20000000);
  const lo = (len << 3) >>> 0;
  TAIL[end - 8] = hi >>> 24;
  TAIL[end - 7] = hi >>> 16;
  TAIL[end - 6] = hi >>> 8;
  TAIL[end - 5] = hi;
  TAIL[end - 4] = lo >>> 24;
  TAIL[end - 3] = lo >>> 16;
  TAIL[end - 2] = lo >>> 8;
  TAIL[end - 1] = lo;
  compress(TAIL, 0);
  if (blocks === 2) compress(TAIL, 64);
  for (let i = 0; i < 8; i++) {
    const v = H[i];
    out[o + i * 4] = v >>> 24;
    out[o + i * 4 + 1] = v >>> 16;
    out[o + i * 4 + 2] = v >>> 8;
    out[o + i * 4 + 3] = v;
  }
}
