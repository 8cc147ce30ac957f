/**
 * Global int8 scalar quantisation (as in Lucene's and Qdrant's scalar quantisation, with one range for all
 * dimensions so that distances between codes reduce to one exact int8 dot product).
 *
 * A value x in [lo, hi] maps to the code c = round((x - center) / step), clamped to [-127, 127], where
 * center = (lo + hi) / 2 and step = (hi - lo) / 254; it decodes to x̂ = center + step * c. For two decoded vectors of
 * dimension D (padding codes are 0 and are left out of D):
 *   x̂·ŷ      = D center² + center step (Σc_x + Σc_y) + step² (c_x·c_y)
 *   |x̂ - ŷ|² = step² |c_x - c_y|²
 * so the search needs only `dot_i8` / `l2_i8` plus each row's code sum Σc (kept beside the codes). The factors are
 * folded into the kernel constants by {@link queryConstants}.
 *
 * Invariants:
 * 1. `hi > lo` once trained (a constant training set is widened to lo - 1 .. hi + 1).
 * 2. Codes of values outside [lo, hi] are clamped; the rescoring with f32 vectors bounds the damage.
 * @internal
 */

/** Trained range of a global scalar quantiser. */
export interface QuantRange {
  lo: number;
  hi: number;
}

/** Range of the first `dim` values of each of `rows` rows of `stride` floats starting at float index `start`. */
export function trainRange(f32: Float32Array, start: number, rows: number, stride: number, dim: number): QuantRange {
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < rows; r++) {
    const base = start + r * stride;
    for (let d = 0; d < dim; d++) {
      const x = f32[base + d];
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  if (!(hi > lo)) {
    if (!Number.isFinite(lo)) return { lo: -1, hi: 1 };
    return { lo: lo - 1, hi: hi + 1 };
  }
  return { lo: Math.fround(lo), hi: Math.fround(hi) };
}

/**
 * Encodes `dim` floats at float index `src` into int8 codes at byte `dst` (and zero padding up to `codeStride`);
 * returns the sum of the codes.
 */
export function encodeRow(
  f32: Float32Array, src: number, i8: Int8Array, dst: number, dim: number, codeStride: number, q: QuantRange,
): number {
  const center = (q.lo + q.hi) / 2;
  const inv = 254 / (q.hi - q.lo);
  let sum = 0;
  for (let d = 0; d < dim; d++) {
    let c = Math.round((f32[src + d] - center) * inv);
    if (c > 127) c = 127;
    else if (c < -127) c = -127;
    i8[dst + d] = c;
    sum += c;
  }
  for (let d = dim; d < codeStride; d++) i8[dst + d] = 0;
  return sum;
}

/**
 * Kernel constants for one query with code sum `qSum` (see `batch_i8` in wasm/kernels.ts):
 * inner-product distance = c0 - c1 Σc_row - s2 (c_q·c_row); squared L2 = s2 |c_q - c_row|².
 */
export function queryConstants(q: QuantRange, dim: number, qSum: number): { c0: number; c1: number; s2: number } {
  const center = (q.lo + q.hi) / 2;
  const step = (q.hi - q.lo) / 254;
  return { c0: 1 - dim * center * center - center * step * qSum, c1: center * step, s2: step * step };
}
