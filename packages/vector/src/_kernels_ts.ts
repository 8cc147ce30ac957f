/**
 * Pure-TypeScript twin of the AssemblyScript kernels in `wasm/kernels.ts`: the same functions, the same
 * pointer-based signatures over the same memory layout, the same results within float rounding (the WASM build
 * accumulates in f32 four lanes at a time; this one accumulates in f64 four lanes at a time, so they differ by
 * rounding only). `test/kernels.test.ts` checks that they agree.
 *
 * Preconditions are those listed at the top of `wasm/kernels.ts` (aligned rows, padded lengths, metric codes).
 * @internal
 */
import type { KernelFunctions } from './_arena.js';

/** Views of the arena the TS kernels read; refreshed by the arena whenever its buffer changes. */
export interface TsViews {
  f32: Float32Array;
  i8: Int8Array;
  i32: Int32Array;
}

/** Builds the TS kernel functions over `v` (read through the object on every call, so refreshes are seen). */
export function tsKernels(v: TsViews): KernelFunctions {
  function dot_f32(a: number, b: number, n: number): number {
    const f = v.f32;
    let i = a >> 2;
    let j = b >> 2;
    const end = i + n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; i < end; i += 4, j += 4) {
      s0 += f[i] * f[j];
      s1 += f[i + 1] * f[j + 1];
      s2 += f[i + 2] * f[j + 2];
      s3 += f[i + 3] * f[j + 3];
    }
    return Math.fround(s0 + s1 + s2 + s3);
  }
  function l2_f32(a: number, b: number, n: number): number {
    const f = v.f32;
    let i = a >> 2;
    let j = b >> 2;
    const end = i + n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; i < end; i += 4, j += 4) {
      const d0 = f[i] - f[j];
      const d1 = f[i + 1] - f[j + 1];
      const d2 = f[i + 2] - f[j + 2];
      const d3 = f[i + 3] - f[j + 3];
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    return Math.fround(s0 + s1 + s2 + s3);
  }
  function cosine_f32(a: number, b: number, n: number): number {
    const f = v.f32;
    let i = a >> 2;
    let j = b >> 2;
    const end = i + n;
    let ab = 0, aa = 0, bb = 0;
    for (; i < end; i++, j++) {
      const x = f[i];
      const y = f[j];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const den = aa * bb;
    if (den === 0) return 1;
    return Math.fround(1 - ab / Math.sqrt(den));
  }
  function dot_i8(a: number, b: number, n: number): number {
    const c = v.i8;
    let s = 0;
    for (let i = 0; i < n; i++) s += c[a + i] * c[b + i];
    return s | 0;
  }
  function l2_i8(a: number, b: number, n: number): number {
    const c = v.i8;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = c[a + i] - c[b + i];
      s += d * d;
    }
    return s | 0;
  }
  function dist_f32(metric: number, a: number, b: number, n: number): number {
    return metric === 0 ? l2_f32(a, b, n) : Math.fround(1 - dot_f32(a, b, n));
  }
  function batch_f32(metric: number, q: number, base: number, strideBytes: number, ids: number, count: number, out: number): void {
    const n = strideBytes >> 2;
    const i32 = v.i32;
    const f32 = v.f32;
    const idx = ids >> 2;
    const o = out >> 2;
    for (let i = 0; i < count; i++) f32[o + i] = dist_f32(metric, q, base + i32[idx + i] * strideBytes, n);
  }
  function scan_f32(metric: number, q: number, base: number, strideBytes: number, start: number, count: number, out: number): void {
    const n = strideBytes >> 2;
    const f32 = v.f32;
    const o = out >> 2;
    let row = base + start * strideBytes;
    for (let i = 0; i < count; i++, row += strideBytes) f32[o + i] = dist_f32(metric, q, row, n);
  }
  function batch_i8(
    metric: number, q: number, base: number, strideBytes: number, sums: number, ids: number, count: number, out: number,
    c0: number, c1: number, s2: number,
  ): void {
    const i32 = v.i32;
    const f32 = v.f32;
    const idx = ids >> 2;
    const o = out >> 2;
    const su = sums >> 2;
    for (let i = 0; i < count; i++) {
      const id = i32[idx + i];
      const row = base + id * strideBytes;
      f32[o + i] =
        metric === 0 ? s2 * l2_i8(q, row, strideBytes) : c0 - c1 * i32[su + id] - s2 * dot_i8(q, row, strideBytes);
    }
  }
  // Heaps of 8-byte (f32 distance, i32 ordinal) entries in the arena, as in wasm/kernels.ts.
  function heapPush(h: number, n: number, d: number, id: number, max: boolean): number {
    const f = v.f32;
    const x = v.i32;
    let i = n;
    const b = h >> 2;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = f[b + 2 * p];
      if (max ? pd >= d : pd <= d) break;
      f[b + 2 * i] = pd;
      x[b + 2 * i + 1] = x[b + 2 * p + 1];
      i = p;
    }
    f[b + 2 * i] = d;
    x[b + 2 * i + 1] = id;
    return n + 1;
  }
  function heapPop(h: number, n: number, max: boolean): number {
    const f = v.f32;
    const x = v.i32;
    const b = h >> 2;
    const last = n - 1;
    if (last === 0) return 0;
    const xd = f[b + 2 * last];
    const xi = x[b + 2 * last + 1];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      if (c + 1 < last && (max ? f[b + 2 * c + 2] > f[b + 2 * c] : f[b + 2 * c + 2] < f[b + 2 * c])) c++;
      const cd = f[b + 2 * c];
      if (max ? cd <= xd : cd >= xd) break;
      f[b + 2 * i] = cd;
      x[b + 2 * i + 1] = x[b + 2 * c + 1];
      i = c;
    }
    f[b + 2 * i] = xd;
    x[b + 2 * i + 1] = xi;
    return last;
  }
  function search_layer(
    metric: number, q: number, vec: number, strideBytes: number,
    links: number, linkInts: number, tomb: number, visited: number, mark: number,
    ep: number, epDist: number, ef: number, C: number, W: number, out: number, stats: number,
    codes: number, codeStride: number, sums: number, qc: number, c0: number, c1: number, s2: number,
  ): number {
    const n = strideBytes >> 2;
    const i32 = v.i32;
    const f32 = v.f32;
    const i8 = v.i8;
    const m = mark | 0;
    const vis = visited >> 2;
    let nc = 0;
    let nw = 0;
    let expanded = 0;
    let ndist = 0;
    i32[vis + ep] = m;
    epDist = Math.fround(epDist);
    nc = heapPush(C, nc, epDist, ep, false);
    if (i8[tomb + ep] === 0) nw = heapPush(W, nw, epDist, ep, true);
    let bound = nw > 0 ? f32[W >> 2] : Infinity;
    while (nc > 0) {
      const cd = f32[C >> 2];
      if (cd > bound && nw >= ef) break;
      const c = i32[(C >> 2) + 1];
      nc = heapPop(C, nc, false);
      expanded++;
      const row = (links >> 2) + c * linkInts;
      const cnt = i32[row];
      for (let j = 1; j <= cnt; j++) {
        const e = i32[row + j];
        if (i32[vis + e] === m) continue;
        i32[vis + e] = m;
        let d: number;
        if (codes === 0) d = dist_f32(metric, q, vec + e * strideBytes, n);
        else {
          const crow = codes + e * codeStride;
          d = Math.fround(
            metric === 0 ? s2 * l2_i8(qc, crow, codeStride) : c0 - c1 * i32[(sums >> 2) + e] - s2 * dot_i8(qc, crow, codeStride),
          );
        }
        ndist++;
        if (nw < ef || d < bound) {
          nc = heapPush(C, nc, d, e, false);
          if (i8[tomb + e] === 0) {
            nw = heapPush(W, nw, d, e, true);
            if (nw > ef) nw = heapPop(W, nw, true);
            bound = f32[W >> 2];
          }
        }
      }
    }
    i32[stats >> 2] = expanded;
    i32[(stats >> 2) + 1] = ndist;
    const count = nw;
    for (let i = count - 1; i >= 0; i--) {
      f32[(out >> 2) + 2 * i] = f32[W >> 2];
      i32[(out >> 2) + 2 * i + 1] = i32[(W >> 2) + 1];
      nw = heapPop(W, nw, true);
    }
    return count;
  }
  return { dot_f32, l2_f32, cosine_f32, dot_i8, l2_i8, dist_f32, batch_f32, scan_f32, batch_i8, search_layer };
}
