/**
 * Argument checks for the public edge (noble-style: TypeError / RangeError with a labelled message).
 * @internal
 */
import type { Metric, SearchOptions, VectorId, VectorLike } from './types.js';

export function assertId(id: unknown, label = 'id'): asserts id is VectorId {
  if (typeof id === 'string') return;
  if (typeof id === 'number') {
    if (Number.isSafeInteger(id) && id >= 0) return;
    throw new RangeError(`"${label}" expected a non-negative safe integer or a string, got ${id}`);
  }
  throw new TypeError(`"${label}" expected a number or a string, got ${typeof id}`);
}

export function assertVector(v: unknown, dim: number, label = 'vector'): asserts v is VectorLike {
  if (v === null || typeof v !== 'object' || typeof (v as { length?: unknown }).length !== 'number') {
    throw new TypeError(`"${label}" expected an array-like of numbers, got ${v === null ? 'null' : typeof v}`);
  }
  const a = v as ArrayLike<unknown>;
  if (a.length !== dim) throw new RangeError(`"${label}" expected length ${dim}, got length=${a.length}`);
  for (let i = 0; i < dim; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new RangeError(`"${label}" expected finite numbers, got ${String(x)} at index ${i}`);
    }
  }
}

export function assertInt(x: unknown, label: string, min: number, max: number): asserts x is number {
  if (typeof x !== 'number' || !Number.isInteger(x)) throw new TypeError(`"${label}" expected an integer, got ${String(x)}`);
  if (x < min || x > max) throw new RangeError(`"${label}" expected ${min}..${max}, got ${x}`);
}

export function assertMetric(m: unknown): asserts m is Metric {
  if (m !== 'l2' && m !== 'ip' && m !== 'cosine') throw new RangeError(`"metric" expected 'l2' | 'ip' | 'cosine', got ${String(m)}`);
}

export function assertSearch(o: unknown): asserts o is SearchOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('"options" expected an object { k, ef?, filter? }');
  const s = o as SearchOptions;
  assertInt(s.k, 'k', 1, 1 << 20);
  if (s.ef !== undefined) assertInt(s.ef, 'ef', 1, 1 << 20);
  if (s.filter !== undefined && typeof s.filter !== 'function') {
    throw new TypeError(`"filter" expected a function (id) => boolean, got ${typeof s.filter}`);
  }
  if (s.filterStrategy !== undefined && s.filterStrategy !== 'auto' && s.filterStrategy !== 'graph' && s.filterStrategy !== 'flat') {
    throw new RangeError(`"filterStrategy" expected 'auto' | 'graph' | 'flat', got ${String(s.filterStrategy)}`);
  }
}

/** Metric code of the kernels: 0 = squared L2, 1 = 1 - dot (ip, and cosine over unit rows). */
export function metricCode(m: Metric): number {
  return m === 'l2' ? 0 : 1;
}
