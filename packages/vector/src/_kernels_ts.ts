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
  return { dot_f32, l2_f32, cosine_f32, dot_i8, l2_i8, dist_f32, batch_f32, scan_f32, batch_i8 };
}
