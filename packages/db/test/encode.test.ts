import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFieldValueV1, type DocValue } from '../src/values.js';
import { packWithMsgpackr as _packWithMsgpackr } from './_msgpackr-ref.js';
// The write path's encoder is internal; the test reaches it by path on purpose (it pins byte equality).
import { _setAsciiLoopMax, encodeValue } from '../src/_encode.js';
import { DbError } from '../src/errors.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const scalar: fc.Arbitrary<DocValue> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/\p{Cs}/u.test(s)),
  fc.constantFrom('x'.repeat(31), 'x'.repeat(32), 'é'.repeat(15), 'é'.repeat(16), 'x'.repeat(85), 'x'.repeat(86), 'x'.repeat(65535), 'x'.repeat(65536), 'é'.repeat(40000), 'y'.repeat(255), 'y'.repeat(256), '\u{1F600}'.repeat(8)),
  fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
  fc.constantFrom(0, -0, 31, 32, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, NaN, Infinity, -Infinity, 0.5, 2 ** 53),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(new Uint8Array(255), new Uint8Array(256), new Uint8Array(70000)),
  fc.float32Array({ maxLength: 80 }),
  fc.constantFrom(new Float32Array(0), new Float32Array(63), new Float32Array(64), new Float32Array(20000)),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 20 }),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('é', '\uFF61', '\u{1F600}', 'a', 'b')), fc.option(tie('value'), { nil: undefined, freq: 5 }), { maxKeys: 20 }),
}));

test('the write path encoder writes exactly what encodeFieldValueV1 and msgpackr write (property, nested values)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const got = hex(encodeValue(v as DocValue, 'f'));
      assert.equal(got, hex(encodeFieldValueV1(v as DocValue)));
      assert.equal(got, hex(_packWithMsgpackr(v as DocValue)));
    }),
    { seed: SEED, numRuns: 1500 },
  );
});

test('large arrays and maps take the 16- and 32-bit headers like msgpackr', () => {
  for (const v of [Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70000 }, () => 1), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 70000 }, (_, i) => [`k${i}`, i]))] as DocValue[]) {
    assert.equal(hex(encodeValue(v, 'f')), hex(_packWithMsgpackr(v)));
  }
});

test('results are copies: a later call does not change an earlier result', () => {
  const a = encodeValue({ a: 'x'.repeat(100) }, 'f');
  const before = hex(a);
  encodeValue({ b: 'y'.repeat(5000) }, 'f');
  assert.equal(hex(a), before);
});

test('values outside the model are refused with the reference encoder\'s error', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: unknown[] = [undefined, () => 1, Symbol('s'), 1n, new Date(0), new Map(), new Set(), new Int8Array(2), [1, undefined], cyclic, { x: '\uD800' }, '\uDC00', { ['\uD800']: 1 }, Object.assign(Object.create({ inherited: 1 }), { a: 1 }), { [Symbol('k')]: 1 }];
  class MyArray extends Array {}
  bad.push(MyArray.from([1]));
  for (const v of bad) {
    let expected: unknown;
    try {
      encodeFieldValueV1(v as DocValue, 'f');
    } catch (e) {
      expected = e;
    }
    assert.ok(expected instanceof DbError, `reference refuses ${String(typeof v)}`);
    assert.throws(() => encodeValue(v as DocValue, 'f'), (e: unknown) => e instanceof DbError && e.code === (expected as DbError).code && e.message === (expected as DbError).message);
  }
});

test('strings encode the same whichever way they are written (ASCII loop up to 256 units as in browsers, or encodeInto)', () => {
  const samples = [31, 32, 47, 48, 100, 200, 255, 256, 300].flatMap((n) => ['a'.repeat(n), 'a'.repeat(n - 1) + 'é', 'é' + 'a'.repeat(n - 1), 'a'.repeat(n - 2) + '\u{1F600}']);
  const saved = _setAsciiLoopMax(256);
  try {
    for (const max of [1, 48, 256]) {
      _setAsciiLoopMax(max);
      for (const s of samples) assert.equal(hex(encodeValue(s, 'f')), hex(encodeFieldValueV1(s)), `${max}: ${s.length} units`);
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
          assert.equal(hex(encodeValue(s, 'f')), hex(encodeFieldValueV1(s)));
        }),
        { seed: SEED, numRuns: 200 },
      );
      assert.throws(() => encodeValue('a'.repeat(60) + '\uD800', 'f'), DbError, 'a lone surrogate after an ASCII run');
    }
  } finally {
    _setAsciiLoopMax(saved);
  }
});
