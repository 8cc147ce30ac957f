// Hearth distance kernels, AssemblyScript compiled with SIMD (`node wasm/build.mjs`; see wasm/README.md).
//
// Every pointer is a byte offset into this instance's linear memory, which the host (packages/vector/src/_store.ts)
// lays out and grows itself: nothing here allocates. The pure-TypeScript twin of each function is in
// packages/vector/src/_kernels_ts.ts and must return the same values (within float rounding); the test
// packages/vector/test/kernels.test.ts checks that they agree.
//
// Preconditions (the host guarantees them; nothing is checked here):
// 1. f32 vectors are 16-byte aligned and `n` (the element count) is a multiple of 4: rows are zero-padded to a
//    stride of 4 floats, and zero padding changes neither a dot product nor an L2 distance.
// 2. int8 codes are 16-byte aligned and `n` is a multiple of 16 (rows zero-padded likewise).
// 3. Metric codes: 0 = squared L2, 1 = inner-product distance (1 - dot). Cosine is inner product over
//    normalised rows, so the index never calls `cosine_f32` on its hot path; it is exported for callers holding
//    unnormalised vectors.

/**
 * Dot product of two f32 vectors of `n` elements. Canonical order, shared by every f32 kernel here so that a
 * distance has the same bits whichever kernel computed it: one 4-lane accumulator over the row, 4 floats at a time,
 * then lanes 0 + 1 + 2 + 3. Speed comes from computing several rows at once (rows4/rows8 below), not from
 * splitting one row's sum.
 */
export function dot_f32(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  const end = a + (<usize>n << 2);
  while (a < end) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(a), v128.load(b)));
    a += 16;
    b += 16;
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

/** Squared Euclidean distance of two f32 vectors of `n` elements (canonical order, as dot_f32). */
export function l2_f32(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  const end = a + (<usize>n << 2);
  while (a < end) {
    const d = f32x4.sub(v128.load(a), v128.load(b));
    acc = f32x4.add(acc, f32x4.mul(d, d));
    a += 16;
    b += 16;
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

/** Cosine distance 1 - a·b / (|a| |b|) of two f32 vectors; 1 when either is all zeros. */
export function cosine_f32(a: usize, b: usize, n: i32): f32 {
  let ab = f32x4.splat(0);
  let aa = f32x4.splat(0);
  let bb = f32x4.splat(0);
  const end = a + (<usize>n << 2);
  while (a < end) {
    const x = v128.load(a);
    const y = v128.load(b);
    ab = f32x4.add(ab, f32x4.mul(x, y));
    aa = f32x4.add(aa, f32x4.mul(x, x));
    bb = f32x4.add(bb, f32x4.mul(y, y));
    a += 16;
    b += 16;
  }
  const dot = f32x4.extract_lane(ab, 0) + f32x4.extract_lane(ab, 1) + f32x4.extract_lane(ab, 2) + f32x4.extract_lane(ab, 3);
  const na = f32x4.extract_lane(aa, 0) + f32x4.extract_lane(aa, 1) + f32x4.extract_lane(aa, 2) + f32x4.extract_lane(aa, 3);
  const nb = f32x4.extract_lane(bb, 0) + f32x4.extract_lane(bb, 1) + f32x4.extract_lane(bb, 2) + f32x4.extract_lane(bb, 3);
  const den = na * nb;
  if (den == 0) return 1;
  return 1 - dot / <f32>Math.sqrt(<f64>den);
}

/** Dot product of two int8 vectors of `n` elements, accumulated exactly in i32. */
export function dot_i8(a: usize, b: usize, n: i32): i32 {
  let acc = i32x4.splat(0);
  const end = a + <usize>n;
  while (a < end) {
    const x = v128.load(a);
    const y = v128.load(b);
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_s(y)));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_s(y)));
    a += 16;
    b += 16;
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/** Squared Euclidean distance of two int8 vectors of `n` elements, exact in i32. */
export function l2_i8(a: usize, b: usize, n: i32): i32 {
  let acc = i32x4.splat(0);
  const end = a + <usize>n;
  while (a < end) {
    const x = v128.load(a);
    const y = v128.load(b);
    const dl = i16x8.sub(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_s(y));
    const dh = i16x8.sub(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_s(y));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(dl, dl));
    acc = i32x4.add(acc, i32x4.dot_i16x8_s(dh, dh));
    a += 16;
    b += 16;
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/** Distance of f32 vectors `a` and `b` under metric code `metric` (0 = squared L2, 1 = 1 - dot). */
export function dist_f32(metric: i32, a: usize, b: usize, n: i32): f32 {
  return metric == 0 ? l2_f32(a, b, n) : <f32>1 - dot_f32(a, b, n);
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline function fin(metric: i32, s: f32): f32 {
  return metric == 0 ? s : <f32>1 - s;
}

/**
 * Distances from `q` to four rows at once, into out[0..3] (f32): each row in the canonical order of dot_f32 /
 * l2_f32 (so the values equal four dist_f32 calls bit for bit), while the four rows' independent loads keep more
 * cache misses in flight, which is what a graph search over rows that miss the cache is bound by.
 */
function rows4_f32(metric: i32, q: usize, r0: usize, r1: usize, r2: usize, r3: usize, n: i32, out: usize): void {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const end = q + (<usize>n << 2);
  if (metric == 0) {
    while (q < end) {
      const x = v128.load(q);
      const d0 = f32x4.sub(x, v128.load(r0));
      const d1 = f32x4.sub(x, v128.load(r1));
      const d2 = f32x4.sub(x, v128.load(r2));
      const d3 = f32x4.sub(x, v128.load(r3));
      s0 = f32x4.add(s0, f32x4.mul(d0, d0));
      s1 = f32x4.add(s1, f32x4.mul(d1, d1));
      s2 = f32x4.add(s2, f32x4.mul(d2, d2));
      s3 = f32x4.add(s3, f32x4.mul(d3, d3));
      q += 16; r0 += 16; r1 += 16; r2 += 16; r3 += 16;
    }
  } else {
    while (q < end) {
      const x = v128.load(q);
      s0 = f32x4.add(s0, f32x4.mul(x, v128.load(r0)));
      s1 = f32x4.add(s1, f32x4.mul(x, v128.load(r1)));
      s2 = f32x4.add(s2, f32x4.mul(x, v128.load(r2)));
      s3 = f32x4.add(s3, f32x4.mul(x, v128.load(r3)));
      q += 16; r0 += 16; r1 += 16; r2 += 16; r3 += 16;
    }
  }
  store<f32>(out, fin(metric, hsum(s0)));
  store<f32>(out, fin(metric, hsum(s1)), 4);
  store<f32>(out, fin(metric, hsum(s2)), 8);
  store<f32>(out, fin(metric, hsum(s3)), 12);
}

/** As rows4_f32, for eight rows. */
function rows8_f32(
  metric: i32, q: usize, r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize,
  n: i32, out: usize,
): void {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  let s4 = f32x4.splat(0);
  let s5 = f32x4.splat(0);
  let s6 = f32x4.splat(0);
  let s7 = f32x4.splat(0);
  const end = q + (<usize>n << 2);
  if (metric == 0) {
    while (q < end) {
      const x = v128.load(q);
      const d0 = f32x4.sub(x, v128.load(r0));
      const d1 = f32x4.sub(x, v128.load(r1));
      const d2 = f32x4.sub(x, v128.load(r2));
      const d3 = f32x4.sub(x, v128.load(r3));
      s0 = f32x4.add(s0, f32x4.mul(d0, d0));
      s1 = f32x4.add(s1, f32x4.mul(d1, d1));
      s2 = f32x4.add(s2, f32x4.mul(d2, d2));
      s3 = f32x4.add(s3, f32x4.mul(d3, d3));
      const d4 = f32x4.sub(x, v128.load(r4));
      const d5 = f32x4.sub(x, v128.load(r5));
      const d6 = f32x4.sub(x, v128.load(r6));
      const d7 = f32x4.sub(x, v128.load(r7));
      s4 = f32x4.add(s4, f32x4.mul(d4, d4));
      s5 = f32x4.add(s5, f32x4.mul(d5, d5));
      s6 = f32x4.add(s6, f32x4.mul(d6, d6));
      s7 = f32x4.add(s7, f32x4.mul(d7, d7));
      q += 16; r0 += 16; r1 += 16; r2 += 16; r3 += 16; r4 += 16; r5 += 16; r6 += 16; r7 += 16;
    }
  } else {
    while (q < end) {
      const x = v128.load(q);
      s0 = f32x4.add(s0, f32x4.mul(x, v128.load(r0)));
      s1 = f32x4.add(s1, f32x4.mul(x, v128.load(r1)));
      s2 = f32x4.add(s2, f32x4.mul(x, v128.load(r2)));
      s3 = f32x4.add(s3, f32x4.mul(x, v128.load(r3)));
      s4 = f32x4.add(s4, f32x4.mul(x, v128.load(r4)));
      s5 = f32x4.add(s5, f32x4.mul(x, v128.load(r5)));
      s6 = f32x4.add(s6, f32x4.mul(x, v128.load(r6)));
      s7 = f32x4.add(s7, f32x4.mul(x, v128.load(r7)));
      q += 16; r0 += 16; r1 += 16; r2 += 16; r3 += 16; r4 += 16; r5 += 16; r6 += 16; r7 += 16;
    }
  }
  store<f32>(out, fin(metric, hsum(s0)));
  store<f32>(out, fin(metric, hsum(s1)), 4);
  store<f32>(out, fin(metric, hsum(s2)), 8);
  store<f32>(out, fin(metric, hsum(s3)), 12);
  store<f32>(out, fin(metric, hsum(s4)), 16);
  store<f32>(out, fin(metric, hsum(s5)), 20);
  store<f32>(out, fin(metric, hsum(s6)), 24);
  store<f32>(out, fin(metric, hsum(s7)), 28);
}

/**
 * `out[i] = dist(q, base + ids[i] * strideBytes)` for i < count: eight rows at a time, then four, then one.
 * `ids` may be 0 for contiguous rows starting at ordinal `start` (then ids[i] = start + i).
 */
function gather_f32(metric: i32, q: usize, base: usize, strideBytes: i32, ids: usize, start: i32, count: i32, out: usize): void {
  const n = strideBytes >> 2;
  const sb = <usize>strideBytes;
  let i = 0;
  for (; i + 7 < count; i += 8) {
    let r0: usize, r1: usize, r2: usize, r3: usize, r4: usize, r5: usize, r6: usize, r7: usize;
    if (ids != 0) {
      const p = ids + (<usize>i << 2);
      r0 = base + <usize>load<i32>(p) * sb;
      r1 = base + <usize>load<i32>(p, 4) * sb;
      r2 = base + <usize>load<i32>(p, 8) * sb;
      r3 = base + <usize>load<i32>(p, 12) * sb;
      r4 = base + <usize>load<i32>(p, 16) * sb;
      r5 = base + <usize>load<i32>(p, 20) * sb;
      r6 = base + <usize>load<i32>(p, 24) * sb;
      r7 = base + <usize>load<i32>(p, 28) * sb;
    } else {
      r0 = base + <usize>(start + i) * sb;
      r1 = r0 + sb;
      r2 = r1 + sb;
      r3 = r2 + sb;
      r4 = r3 + sb;
      r5 = r4 + sb;
      r6 = r5 + sb;
      r7 = r6 + sb;
    }
    rows8_f32(metric, q, r0, r1, r2, r3, r4, r5, r6, r7, n, out + (<usize>i << 2));
  }
  for (; i + 3 < count; i += 4) {
    let r0: usize, r1: usize, r2: usize, r3: usize;
    if (ids != 0) {
      const p = ids + (<usize>i << 2);
      r0 = base + <usize>load<i32>(p) * sb;
      r1 = base + <usize>load<i32>(p, 4) * sb;
      r2 = base + <usize>load<i32>(p, 8) * sb;
      r3 = base + <usize>load<i32>(p, 12) * sb;
    } else {
      r0 = base + <usize>(start + i) * sb;
      r1 = r0 + sb;
      r2 = r1 + sb;
      r3 = r2 + sb;
    }
    rows4_f32(metric, q, r0, r1, r2, r3, n, out + (<usize>i << 2));
  }
  for (; i < count; i++) {
    const r = ids != 0 ? base + <usize>load<i32>(ids + (<usize>i << 2)) * sb : base + <usize>(start + i) * sb;
    store<f32>(out + (<usize>i << 2), dist_f32(metric, q, r, n));
  }
}

/**
 * int8 dot products (`l2` false) or squared L2 distances (`l2` true) of `q` with four rows at once, as i32 into
 * out[0..3]. Exact integer arithmetic, so equal to four dot_i8 / l2_i8 calls; the four rows' loads overlap.
 */
function rows4_i8(q: usize, r0: usize, r1: usize, r2: usize, r3: usize, n: i32, l2: bool, out: usize): void {
  let s0 = i32x4.splat(0);
  let s1 = i32x4.splat(0);
  let s2 = i32x4.splat(0);
  let s3 = i32x4.splat(0);
  const end = q + <usize>n;
  while (q < end) {
    const x = v128.load(q);
    const xl = i16x8.extend_low_i8x16_s(x);
    const xh = i16x8.extend_high_i8x16_s(x);
    const y0 = v128.load(r0);
    const y1 = v128.load(r1);
    const y2 = v128.load(r2);
    const y3 = v128.load(r3);
    if (l2) {
      const a0 = i16x8.sub(xl, i16x8.extend_low_i8x16_s(y0));
      const b0 = i16x8.sub(xh, i16x8.extend_high_i8x16_s(y0));
      const a1 = i16x8.sub(xl, i16x8.extend_low_i8x16_s(y1));
      const b1 = i16x8.sub(xh, i16x8.extend_high_i8x16_s(y1));
      const a2 = i16x8.sub(xl, i16x8.extend_low_i8x16_s(y2));
      const b2 = i16x8.sub(xh, i16x8.extend_high_i8x16_s(y2));
      const a3 = i16x8.sub(xl, i16x8.extend_low_i8x16_s(y3));
      const b3 = i16x8.sub(xh, i16x8.extend_high_i8x16_s(y3));
      s0 = i32x4.add(s0, i32x4.add(i32x4.dot_i16x8_s(a0, a0), i32x4.dot_i16x8_s(b0, b0)));
      s1 = i32x4.add(s1, i32x4.add(i32x4.dot_i16x8_s(a1, a1), i32x4.dot_i16x8_s(b1, b1)));
      s2 = i32x4.add(s2, i32x4.add(i32x4.dot_i16x8_s(a2, a2), i32x4.dot_i16x8_s(b2, b2)));
      s3 = i32x4.add(s3, i32x4.add(i32x4.dot_i16x8_s(a3, a3), i32x4.dot_i16x8_s(b3, b3)));
    } else {
      s0 = i32x4.add(s0, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(y0)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(y0))));
      s1 = i32x4.add(s1, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(y1)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(y1))));
      s2 = i32x4.add(s2, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(y2)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(y2))));
      s3 = i32x4.add(s3, i32x4.add(i32x4.dot_i16x8_s(xl, i16x8.extend_low_i8x16_s(y3)), i32x4.dot_i16x8_s(xh, i16x8.extend_high_i8x16_s(y3))));
    }
    q += 16; r0 += 16; r1 += 16; r2 += 16; r3 += 16;
  }
  store<i32>(out, i32x4.extract_lane(s0, 0) + i32x4.extract_lane(s0, 1) + i32x4.extract_lane(s0, 2) + i32x4.extract_lane(s0, 3));
  store<i32>(out, i32x4.extract_lane(s1, 0) + i32x4.extract_lane(s1, 1) + i32x4.extract_lane(s1, 2) + i32x4.extract_lane(s1, 3), 4);
  store<i32>(out, i32x4.extract_lane(s2, 0) + i32x4.extract_lane(s2, 1) + i32x4.extract_lane(s2, 2) + i32x4.extract_lane(s2, 3), 8);
  store<i32>(out, i32x4.extract_lane(s3, 0) + i32x4.extract_lane(s3, 1) + i32x4.extract_lane(s3, 2) + i32x4.extract_lane(s3, 3), 12);
}

/**
 * Batch distances, gather form: `out[i] = dist(q, base + ids[i] * strideBytes)` for i < count.
 * `ids` is an i32 array, `out` an f32 array. One call per expanded graph node replaces `count` calls.
 */
export function batch_f32(metric: i32, q: usize, base: usize, strideBytes: i32, ids: usize, count: i32, out: usize): void {
  gather_f32(metric, q, base, strideBytes, ids, 0, count, out);
}

/** Batch distances, contiguous form: `out[i] = dist(q, base + (start + i) * strideBytes)` for i < count. */
export function scan_f32(metric: i32, q: usize, base: usize, strideBytes: i32, start: i32, count: i32, out: usize): void {
  gather_f32(metric, q, base, strideBytes, 0, start, count, out);
}

/**
 * Batch int8 distances, gather form, for scalar-quantised rows (see packages/vector/src/_quantize.ts).
 * Metric 0: `out[i] = s2 * l2_i8(q, row)`. Metric 1: `out[i] = c0 - c1 * sums[id] - s2 * dot_i8(q, row)`,
 * where `sums` (i32 per row) holds each row's code sum and c0, c1, s2 fold the quantiser's offset and scale.
 */
export function batch_i8(
  metric: i32, q: usize, base: usize, strideBytes: i32, sums: usize, ids: usize, count: i32, out: usize,
  c0: f32, c1: f32, s2: f32,
): void {
  for (let i = 0; i < count; i++) {
    const id = <usize>load<i32>(ids + (<usize>i << 2));
    const row = base + id * <usize>strideBytes;
    let d: f32;
    if (metric == 0) d = s2 * <f32>l2_i8(q, row, strideBytes);
    else d = c0 - c1 * <f32>load<i32>(sums + (id << 2)) - s2 * <f32>dot_i8(q, row, strideBytes);
    store<f32>(out + (<usize>i << 2), d);
  }
}

// ------------------------------------------------------------------------------------------------ graph search
// The level-0 beam search of HNSW (Algorithm 2, SEARCH-LAYER) kept entirely inside WebAssembly, so the hot loop
// never crosses the JS boundary (docs/vector.md measures this against one call per distance and one call per
// expanded node). Graph layout (packages/vector/src/hnsw.ts): `links` holds per node `linkInts` i32s, a count then
// the neighbour ordinals; `tomb` one byte per node (1 = tombstone: routed through, never returned); `visited` one
// u32 per node, equal to `mark` once visited in this search. Heaps are arrays of 8-byte entries (f32 distance,
// i32 ordinal) with room for one entry per node. Results are written to `out` as (f32, i32) pairs, nearest first;
// the return value is their count. `out` (8 bytes per node) doubles as scratch during the search: the unvisited
// neighbours of the node being expanded and their distances. `stats` receives [expanded nodes, distances computed] as two i32s.
// Distances: f32 rows (`codes` == 0) or int8 codes as in batch_i8 (`codes` != 0, query codes at `qc`).

// @ts-ignore: decorator
@inline function hd(h: usize, i: i32): f32 {
  return load<f32>(h + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function hid(h: usize, i: i32): i32 {
  return load<i32>(h + (<usize>i << 3), 4);
}
// @ts-ignore: decorator
@inline function hset(h: usize, i: i32, d: f32, id: i32): void {
  store<f32>(h + (<usize>i << 3), d);
  store<i32>(h + (<usize>i << 3), id, 4);
}

/** Pushes onto a heap of `n` entries (min-heap when `max` is false); returns the new size. */
function heapPush(h: usize, n: i32, d: f32, id: i32, max: bool): i32 {
  let i = n;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pd = hd(h, p);
    if (max ? pd >= d : pd <= d) break;
    hset(h, i, pd, hid(h, p));
    i = p;
  }
  hset(h, i, d, id);
  return n + 1;
}

/** Removes the top of a heap of `n` entries; returns the new size. */
function heapPop(h: usize, n: i32, max: bool): i32 {
  const last = n - 1;
  if (last == 0) return 0;
  const x = hd(h, last);
  const xi = hid(h, last);
  let i = 0;
  while (true) {
    let c = 2 * i + 1;
    if (c >= last) break;
    if (c + 1 < last && (max ? hd(h, c + 1) > hd(h, c) : hd(h, c + 1) < hd(h, c))) c++;
    const cd = hd(h, c);
    if (max ? cd <= x : cd >= x) break;
    hset(h, i, cd, hid(h, c));
    i = c;
  }
  hset(h, i, x, xi);
  return last;
}

export function search_layer(
  metric: i32, q: usize, vec: usize, strideBytes: i32,
  links: usize, linkInts: i32, tomb: usize, visited: usize, mark: u32,
  ep: i32, epDist: f32, ef: i32, C: usize, W: usize, out: usize, stats: usize,
  codes: usize, codeStride: i32, sums: usize, qc: usize, c0: f32, c1: f32, s2: f32,
): i32 {
  const n = strideBytes >> 2;
  let nc = 0;
  let nw = 0;
  let expanded = 0;
  let ndist = 0;
  store<u32>(visited + (<usize>ep << 2), mark);
  nc = heapPush(C, nc, epDist, ep, false);
  if (load<u8>(tomb + <usize>ep) == 0) nw = heapPush(W, nw, epDist, ep, true);
  let bound: f32 = nw > 0 ? hd(W, 0) : Infinity;
  const rowBytes = <usize>linkInts << 2;
  while (nc > 0) {
    const cd = hd(C, 0);
    if (cd > bound && nw >= ef) break;
    const c = hid(C, 0);
    nc = heapPop(C, nc, false);
    expanded++;
    const row = links + <usize>c * rowBytes;
    const cnt = load<i32>(row);
    // Gather the unvisited neighbours into `out` (free until the end), compute their distances several rows at a
    // time (independent streams of loads keep more cache misses in flight), then update the heaps in order.
    let m = 0;
    for (let j = 1; j <= cnt; j++) {
      const e = load<i32>(row + (<usize>j << 2));
      const vp = visited + (<usize>e << 2);
      if (load<u32>(vp) == mark) continue;
      store<u32>(vp, mark);
      store<i32>(out + (<usize>m << 2), e);
      m++;
    }
    const dd = out + (<usize>cnt << 2);
    if (codes == 0) {
      gather_f32(metric, q, vec, strideBytes, out, 0, m, dd);
    } else {
      let j = 0;
      for (; j + 3 < m; j += 4) {
        const p = out + (<usize>j << 2);
        const e0 = load<i32>(p);
        const e1 = load<i32>(p, 4);
        const e2 = load<i32>(p, 8);
        const e3 = load<i32>(p, 12);
        const cs = <usize>codeStride;
        // The integer results go to dd first, then are turned into distances in place (same f32 formula as below).
        rows4_i8(qc, codes + <usize>e0 * cs, codes + <usize>e1 * cs, codes + <usize>e2 * cs, codes + <usize>e3 * cs, codeStride, metric == 0, dd + (<usize>j << 2));
        for (let t = 0; t < 4; t++) {
          const at = dd + (<usize>(j + t) << 2);
          const r = load<i32>(at);
          const e = load<i32>(p + (<usize>t << 2));
          let d: f32;
          if (metric == 0) d = s2 * <f32>r;
          else d = c0 - c1 * <f32>load<i32>(sums + (<usize>e << 2)) - s2 * <f32>r;
          store<f32>(at, d);
        }
      }
      for (; j < m; j++) {
        const e = load<i32>(out + (<usize>j << 2));
        const crow = codes + <usize>e * <usize>codeStride;
        let d: f32;
        if (metric == 0) d = s2 * <f32>l2_i8(qc, crow, codeStride);
        else d = c0 - c1 * <f32>load<i32>(sums + (<usize>e << 2)) - s2 * <f32>dot_i8(qc, crow, codeStride);
        store<f32>(dd + (<usize>j << 2), d);
      }
    }
    ndist += m;
    for (let t = 0; t < m; t++) {
      const d = load<f32>(dd + (<usize>t << 2));
      if (nw < ef || d < bound) {
        const e = load<i32>(out + (<usize>t << 2));
        nc = heapPush(C, nc, d, e, false);
        if (load<u8>(tomb + <usize>e) == 0) {
          nw = heapPush(W, nw, d, e, true);
          if (nw > ef) nw = heapPop(W, nw, true);
          bound = hd(W, 0);
        }
      }
    }
  }
  store<i32>(stats, expanded);
  store<i32>(stats, ndist, 4);
  const count = nw;
  for (let i = count - 1; i >= 0; i--) {
    hset(out, i, hd(W, 0), hid(W, 0));
    nw = heapPop(W, nw, true);
  }
  return count;
}
