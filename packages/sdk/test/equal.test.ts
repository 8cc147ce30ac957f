/** `deepEqual` (internal): decides whether a re-run live query's result changed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deepEqual } from '../src/_equal.js';

test('deepEqual: values of the document model', () => {
  assert.equal(deepEqual({ a: [1, { b: 'x' }], v: new Float32Array([1, 2]) }, { v: new Float32Array([1, 2]), a: [1, { b: 'x' }] }), true);
  assert.equal(deepEqual({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(deepEqual(new Uint8Array([1]), new Float32Array([1])), false);
  assert.equal(deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(deepEqual([1, 2], { 0: 1, 1: 2 }), false);
  assert.equal(deepEqual(NaN, NaN), true);
  assert.equal(deepEqual(null, {}), false);
  assert.equal(deepEqual({ rows: [{ id: 'a', doc: {} }], hasMore: false }, { rows: [{ id: 'a', doc: {} }], hasMore: true }), false);
});

test('deepEqual: property: a structured clone is equal; a changed leaf is not', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      assert.equal(deepEqual(v, structuredClone(v)), true);
      assert.equal(deepEqual({ x: v }, { x: v, y: 1 }), false);
    }),
    { seed: 11, numRuns: 300 },
  );
});
