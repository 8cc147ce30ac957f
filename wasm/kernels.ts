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

/** Dot product of two f32 vectors of `n` elements (four independent accumulators, then the tail). */
export function dot_f32(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const end = a + (<usize>n << 2);
  const end16 = a + (<usize>(n >> 4) << 6);
  while (a < end16) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a), v128.load(b)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a, 16), v128.load(b, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(a, 32), v128.load(b, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(a, 48), v128.load(b, 48)));
    a += 64;
    b += 64;
  }
  while (a < end) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a), v128.load(b)));
    a += 16;
    b += 16;
  }
  const acc = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

/** Squared Euclidean distance of two f32 vectors of `n` elements (four accumulators, then the tail). */
export function l2_f32(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const end = a + (<usize>n << 2);
  const end16 = a + (<usize>(n >> 4) << 6);
  while (a < end16) {
    const d0 = f32x4.sub(v128.load(a), v128.load(b));
    const d1 = f32x4.sub(v128.load(a, 16), v128.load(b, 16));
    const d2 = f32x4.sub(v128.load(a, 32), v128.load(b, 32));
    const d3 = f32x4.sub(v128.load(a, 48), v128.load(b, 48));
    s0 = f32x4.add(s0, f32x4.mul(d0, d0));
    s1 = f32x4.add(s1, f32x4.mul(d1, d1));
    s2 = f32x4.add(s2, f32x4.mul(d2, d2));
    s3 = f32x4.add(s3, f32x4.mul(d3, d3));
    a += 64;
    b += 64;
  }
  while (a < end) {
    const d = f32x4.sub(v128.load(a), v128.load(b));
    s0 = f32x4.add(s0, f32x4.mul(d, d));
    a += 16;
    b += 16;
  }
  const acc = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
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

/**
 * Distances from `q` to rows `a` and `b` at once, written to `out[0]`, `out[1]` (f32). Same accumulation order as
 * dot_f32 / l2_f32, so the values are bit-identical to two single calls; the two rows' loads interleave.
 */
function dist2_f32(metric: i32, q: usize, a: usize, b: usize, n: i32, out: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  const end = q + (<usize>n << 2);
  const end16 = q + (<usize>(n >> 4) << 6);
  if (metric == 0) {
    while (q < end16) {
      const q0 = v128.load(q);
      const q1 = v128.load(q, 16);
      const q2 = v128.load(q, 32);
      const q3 = v128.load(q, 48);
      const x0 = f32x4.sub(v128.load(a), q0);
      const y0 = f32x4.sub(v128.load(b), q0);
      const x1 = f32x4.sub(v128.load(a, 16), q1);
      const y1 = f32x4.sub(v128.load(b, 16), q1);
      const x2 = f32x4.sub(v128.load(a, 32), q2);
      const y2 = f32x4.sub(v128.load(b, 32), q2);
      const x3 = f32x4.sub(v128.load(a, 48), q3);
      const y3 = f32x4.sub(v128.load(b, 48), q3);
      a0 = f32x4.add(a0, f32x4.mul(x0, x0));
      b0 = f32x4.add(b0, f32x4.mul(y0, y0));
      a1 = f32x4.add(a1, f32x4.mul(x1, x1));
      b1 = f32x4.add(b1, f32x4.mul(y1, y1));
      a2 = f32x4.add(a2, f32x4.mul(x2, x2));
      b2 = f32x4.add(b2, f32x4.mul(y2, y2));
      a3 = f32x4.add(a3, f32x4.mul(x3, x3));
      b3 = f32x4.add(b3, f32x4.mul(y3, y3));
      q += 64;
      a += 64;
      b += 64;
    }
    while (q < end) {
      const qq = v128.load(q);
      const x = f32x4.sub(v128.load(a), qq);
      const y = f32x4.sub(v128.load(b), qq);
      a0 = f32x4.add(a0, f32x4.mul(x, x));
      b0 = f32x4.add(b0, f32x4.mul(y, y));
      q += 16;
      a += 16;
      b += 16;
    }
  } else {
    while (q < end16) {
      const q0 = v128.load(q);
      const q1 = v128.load(q, 16);
      const q2 = v128.load(q, 32);
      const q3 = v128.load(q, 48);
      a0 = f32x4.add(a0, f32x4.mul(q0, v128.load(a)));
      b0 = f32x4.add(b0, f32x4.mul(q0, v128.load(b)));
      a1 = f32x4.add(a1, f32x4.mul(q1, v128.load(a, 16)));
      b1 = f32x4.add(b1, f32x4.mul(q1, v128.load(b, 16)));
      a2 = f32x4.add(a2, f32x4.mul(q2, v128.load(a, 32)));
      b2 = f32x4.add(b2, f32x4.mul(q2, v128.load(b, 32)));
      a3 = f32x4.add(a3, f32x4.mul(q3, v128.load(a, 48)));
      b3 = f32x4.add(b3, f32x4.mul(q3, v128.load(b, 48)));
      q += 64;
      a += 64;
      b += 64;
    }
    while (q < end) {
      const qq = v128.load(q);
      a0 = f32x4.add(a0, f32x4.mul(qq, v128.load(a)));
      b0 = f32x4.add(b0, f32x4.mul(qq, v128.load(b)));
      q += 16;
      a += 16;
      b += 16;
    }
  }
  const sa = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  const sb = f32x4.add(f32x4.add(b0, b1), f32x4.add(b2, b3));
  let da = f32x4.extract_lane(sa, 0) + f32x4.extract_lane(sa, 1) + f32x4.extract_lane(sa, 2) + f32x4.extract_lane(sa, 3);
  let db = f32x4.extract_lane(sb, 0) + f32x4.extract_lane(sb, 1) + f32x4.extract_lane(sb, 2) + f32x4.extract_lane(sb, 3);
  if (metric != 0) {
    da = <f32>1 - da;
    db = <f32>1 - db;
  }
  store<f32>(out, da);
  store<f32>(out, db, 4);
}

/**
 * Batch distances, gather form: `out[i] = dist(q, base + ids[i] * strideBytes)` for i < count.
 * `ids` is an i32 array, `out` an f32 array. One call per expanded graph node replaces `count` calls.
 */
export function batch_f32(metric: i32, q: usize, base: usize, strideBytes: i32, ids: usize, count: i32, out: usize): void {
  const n = strideBytes >> 2;
  for (let i = 0; i < count; i++) {
    const row = base + <usize>load<i32>(ids + (<usize>i << 2)) * <usize>strideBytes;
    store<f32>(out + (<usize>i << 2), dist_f32(metric, q, row, n));
  }
}

/** Batch distances, contiguous form: `out[i] = dist(q, base + (start + i) * strideBytes)` for i < count. */
export function scan_f32(metric: i32, q: usize, base: usize, strideBytes: i32, start: i32, count: i32, out: usize): void {
  const n = strideBytes >> 2;
  let row = base + <usize>start * <usize>strideBytes;
  for (let i = 0; i < count; i++) {
    store<f32>(out + (<usize>i << 2), dist_f32(metric, q, row, n));
    row += <usize>strideBytes;
  }
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
    // Gather the unvisited neighbours into `out` (free until the end), compute their distances two rows at a
    // time (two independent streams of loads keep more cache misses in flight), then update the heaps in order.
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
    let j = 0;
    if (codes == 0) {
      for (; j + 1 < m; j += 2) {
        const ra = vec + <usize>load<i32>(out + (<usize>j << 2)) * <usize>strideBytes;
        const rb = vec + <usize>load<i32>(out + (<usize>(j + 1) << 2)) * <usize>strideBytes;
        dist2_f32(metric, q, ra, rb, n, dd + (<usize>j << 2));
      }
    }
    for (; j < m; j++) {
      const e = load<i32>(out + (<usize>j << 2));
      let d: f32;
      if (codes == 0) {
        d = dist_f32(metric, q, vec + <usize>e * <usize>strideBytes, n);
      } else {
        const crow = codes + <usize>e * <usize>codeStride;
        if (metric == 0) d = s2 * <f32>l2_i8(qc, crow, codeStride);
        else d = c0 - c1 * <f32>load<i32>(sums + (<usize>e << 2)) - s2 * <f32>dot_i8(qc, crow, codeStride);
      }
      store<f32>(dd + (<usize>j << 2), d);
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
