// Multi-buffer SHA-256 (FIPS 180-4), AssemblyScript compiled with 128-bit SIMD (`node wasm/build.mjs`; see
// wasm/README.md). Four messages are hashed at once, one per i32x4 lane: every instruction of the compression
// function works on the same word of four independent messages. This is the "multi-buffer" technique of Gueron and
// Krasnov ("Parallelizing message schedules to accelerate the computations of hash functions", J. Cryptographic
// Engineering, 2012) and of Intel's multi-buffer SHA-256 (intel/isa-l_crypto `sha256_mb`), with Intel's lane
// refill: when a lane's message ends, its digest is written out and the next message of the batch takes the lane
// over at the next block, so messages of different block counts share the lanes and nothing waits for the longest
// one except at the very end of the batch.
//
// The host (packages/log/src/_sha256_many.ts) lays out everything in this instance's linear memory above
// `heap_base()`; nothing here allocates. Preconditions (the host guarantees them; nothing is checked here):
// 1. A message is stored already padded (FIPS 180-4 section 5.1.1: the bytes, 0x80, zeros, the 64-bit big-endian
//    bit length), so it is `blocks` whole 64-byte blocks, `blocks` >= 1, starting at a 16-byte aligned address.
// 2. A descriptor is 16 bytes at a 4-byte aligned address: u32 message address, u32 block count, u32 output
//    address (32 bytes are written there: the digest, big-endian words as FIPS 180-4 specifies), u32 unused.
// 3. No output range overlaps a message of the same call that is still being read (outputs may be the input
//    region of a LATER call: that is how the log chains SHA-256(body) into SHA-256(signingHash || signature)).
// 4. Digests are written in descriptor order of completion, which is not descriptor order; each lands at its own
//    output address, so the order does not matter to the host.

/** The round constants K (FIPS 180-4 section 4.2.2). */
// prettier-ignore
const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
], 16);
/** The initial hash value H(0) (FIPS 180-4 section 5.3.3). */
const H0: usize = memory.data<u32>([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19], 16);
/** The message schedule W[0..63] of the current block of the four lanes: W[t] is the v128 at W + 16 t. */
const W: usize = memory.data(64 * 16, 16);
/** The hash state of the four lanes: word k of lane j is the u32 at S + 16 k + 4 j (so S + 16 k is a v128). */
const S: usize = memory.data(8 * 16, 16);
/** Per lane j: the address of its next block at L + 4 j, its blocks left at L + 16 + 4 j (0: idle), its output
 *  address at L + 32 + 4 j. */
const L: usize = memory.data(48, 16);
/** What an idle lane reads: one zero block (its state is garbage and never written out). */
const ZERO: usize = memory.data(64, 16);

/** Where the host may start laying out its data (everything below is this module's). */
export function heap_base(): usize {
  return __heap_base;
}

@inline function rotr(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

/** Σ1(e) + Ch(e, f, g) + h + K[t] + W[t]: T1 of FIPS 180-4 section 6.2.2 step 3. Ch = bitselect(f, g, e). */
@inline function t1(e: v128, f: v128, g: v128, h: v128, t: usize): v128 {
  const s1 = v128.xor(v128.xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
  const kw = i32x4.add(v128.load32_splat(K + (t << 2)), v128.load(W + (t << 4)));
  return i32x4.add(i32x4.add(h, s1), i32x4.add(v128.bitselect(f, g, e), kw));
}

/** Σ0(a) + Maj(a, b, c): T2 of FIPS 180-4. Maj = bitselect(a, b, b ^ c) (where b and c differ, a decides). */
@inline function t2(a: v128, b: v128, c: v128): v128 {
  const s0 = v128.xor(v128.xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
  return i32x4.add(s0, v128.bitselect(a, b, v128.xor(b, c)));
}

/**
 * Loads one 64-byte block of each lane into W[0..15], transposed (W[t] holds word t of lanes 0..3) and converted
 * from big-endian: the first shuffle interleaves two lanes' words and reverses each word's bytes at once, the
 * second interleaves the pairs.
 */
@inline function loadBlock(p0: usize, p1: usize, p2: usize, p3: usize): void {
  for (let o: usize = 0; o < 64; o += 16) {
    const m0 = v128.load(p0 + o);
    const m1 = v128.load(p1 + o);
    const m2 = v128.load(p2 + o);
    const m3 = v128.load(p3 + o);
    // words 0, 1 of two lanes: a0 b0 a1 b1 (bytes reversed); words 2, 3: a2 b2 a3 b3
    const x0 = i8x16.shuffle(m0, m1, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
    const x1 = i8x16.shuffle(m0, m1, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
    const y0 = i8x16.shuffle(m2, m3, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
    const y1 = i8x16.shuffle(m2, m3, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
    const w = W + (o << 2); // 4 words of 16 bytes each per 16 input bytes
    v128.store(w, i64x2.shuffle(x0, y0, 0, 2));
    v128.store(w + 16, i64x2.shuffle(x0, y0, 1, 3));
    v128.store(w + 32, i64x2.shuffle(x1, y1, 0, 2));
    v128.store(w + 48, i64x2.shuffle(x1, y1, 1, 3));
  }
}

/** One block of each of the four lanes (FIPS 180-4 section 6.2.2): schedule, 64 rounds, state update. */
function compress4(): void {
  loadBlock(load<u32>(L), load<u32>(L, 4), load<u32>(L, 8), load<u32>(L, 12));
  for (let t: usize = 16; t < 64; t++) {
    const x = v128.load(W + ((t - 15) << 4));
    const y = v128.load(W + ((t - 2) << 4));
    const s0 = v128.xor(v128.xor(rotr(x, 7), rotr(x, 18)), i32x4.shr_u(x, 3));
    const s1 = v128.xor(v128.xor(rotr(y, 17), rotr(y, 19)), i32x4.shr_u(y, 10));
    const w16 = v128.load(W + ((t - 16) << 4));
    const w7 = v128.load(W + ((t - 7) << 4));
    v128.store(W + (t << 4), i32x4.add(i32x4.add(w16, s0), i32x4.add(w7, s1)));
  }
  let a = v128.load(S);
  let b = v128.load(S, 16);
  let c = v128.load(S, 32);
  let d = v128.load(S, 48);
  let e = v128.load(S, 64);
  let f = v128.load(S, 80);
  let g = v128.load(S, 96);
  let h = v128.load(S, 112);
  // Eight rounds per iteration with the variables' roles rotated instead of the values moved.
  for (let t: usize = 0; t < 64; t += 8) {
    let x = t1(e, f, g, h, t);
    d = i32x4.add(d, x);
    h = i32x4.add(x, t2(a, b, c));
    x = t1(d, e, f, g, t + 1);
    c = i32x4.add(c, x);
    g = i32x4.add(x, t2(h, a, b));
    x = t1(c, d, e, f, t + 2);
    b = i32x4.add(b, x);
    f = i32x4.add(x, t2(g, h, a));
    x = t1(b, c, d, e, t + 3);
    a = i32x4.add(a, x);
    e = i32x4.add(x, t2(f, g, h));
    x = t1(a, b, c, d, t + 4);
    h = i32x4.add(h, x);
    d = i32x4.add(x, t2(e, f, g));
    x = t1(h, a, b, c, t + 5);
    g = i32x4.add(g, x);
    c = i32x4.add(x, t2(d, e, f));
    x = t1(g, h, a, b, t + 6);
    f = i32x4.add(f, x);
    b = i32x4.add(x, t2(c, d, e));
    x = t1(f, g, h, a, t + 7);
    e = i32x4.add(e, x);
    a = i32x4.add(x, t2(b, c, d));
  }
  v128.store(S, i32x4.add(v128.load(S), a));
  v128.store(S, i32x4.add(v128.load(S, 16), b), 16);
  v128.store(S, i32x4.add(v128.load(S, 32), c), 32);
  v128.store(S, i32x4.add(v128.load(S, 48), d), 48);
  v128.store(S, i32x4.add(v128.load(S, 64), e), 64);
  v128.store(S, i32x4.add(v128.load(S, 80), f), 80);
  v128.store(S, i32x4.add(v128.load(S, 96), g), 96);
  v128.store(S, i32x4.add(v128.load(S, 112), h), 112);
}

/** Puts the message of descriptor `d` in lane `j`: its first block, its block count, its output, state H(0). */
@inline function startLane(j: usize, d: usize): void {
  store<u32>(L + (j << 2), load<u32>(d));
  store<u32>(L + (j << 2), load<u32>(d, 4), 16);
  store<u32>(L + (j << 2), load<u32>(d, 8), 32);
  for (let k: usize = 0; k < 8; k++) store<u32>(S + (k << 4) + (j << 2), load<u32>(H0 + (k << 2)));
}

/** Makes lane `j` idle: it reads the zero block and its (garbage) state is never written out. */
@inline function idleLane(j: usize): void {
  store<u32>(L + (j << 2), <u32>ZERO);
  store<u32>(L + (j << 2), 0, 16);
}

/**
 * SHA-256 of `n` padded messages described by the `n` descriptors at `desc` (16 bytes each; see the file
 * header), four at a time with lane refill. Each digest (32 bytes, big-endian words) goes to its descriptor's
 * output address.
 */
export function sha256_many(desc: usize, n: i32): void {
  let next = 0;
  let active = 0;
  for (let j: usize = 0; j < 4; j++) {
    if (next < n) {
      startLane(j, desc + (<usize>next << 4));
      next++;
      active++;
    } else idleLane(j);
  }
  while (active > 0) {
    compress4();
    for (let j: usize = 0; j < 4; j++) {
      const left = load<u32>(L + (j << 2), 16);
      if (left == 0) continue; // idle
      if (left > 1) {
        store<u32>(L + (j << 2), left - 1, 16);
        store<u32>(L + (j << 2), load<u32>(L + (j << 2)) + 64);
        continue;
      }
      const out = <usize>load<u32>(L + (j << 2), 32);
      for (let k: usize = 0; k < 8; k++) store<u32>(out + (k << 2), bswap<u32>(load<u32>(S + (k << 4) + (j << 2))));
      if (next < n) {
        startLane(j, desc + (<usize>next << 4));
        next++;
      } else {
        idleLane(j);
        active--;
      }
    }
  }
}
