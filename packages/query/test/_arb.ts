// Shared test helpers: fast-check arbitraries for document values, and the seed every randomised test uses.
import fc from 'fast-check';
import type { Value } from '../src/index.js';

/** The seed of every property run: `SEED=<n>` reproduces a failure (fast-check prints seed and path). */
export const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : 20261121;

/** Common fast-check parameters: seeded, bounded runs. */
export function params<T>(numRuns: number): fc.Parameters<T> {
  return { seed: SEED, numRuns, verbose: 1 };
}

/** Numbers with the edge cases that matter for ordering. */
export const numberArb: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53),
);

/** Strings with embedded NULs, BMP-private-use and supplementary characters (where UTF-16 and UTF-8 orders differ). */
export const stringArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '\u00ff', '\uffff', '\ue000', '😀', '\ud7ff'), maxLength: 5 }),
);

/** Any value of the document model (undefined excluded), nested a few levels. */
export const valueArb: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    numberArb,
    stringArb,
    fc.uint8Array({ maxLength: 4 }).map((b) => new Uint8Array(b)),
    fc.float32Array({ maxLength: 3 }).map((f) => new Float32Array(f)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(stringArb, tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A value or missing. */
export const maybeValueArb: fc.Arbitrary<Value | undefined> = fc.oneof(fc.constant(undefined), valueArb);

/** sign(x) as -1, 0 or 1. */
export const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);

/** A small seeded PRNG (mulberry32) for scenario tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
