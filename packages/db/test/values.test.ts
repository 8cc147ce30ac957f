import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeFieldValueV1, encodeFieldValueV1, compareCodePoints, DbError, type DocValue } from '@hearth/db';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Model values, with -0 excluded (stored as 0, like JSON) and keys without lone surrogates. */
const key = fc.string({ unit: 'grapheme', maxLength: 6 });
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double().filter((x) => !Object.is(x, -0)),
  fc.integer(),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }),
  fc.float32Array({ maxLength: 8 }),
);
const value: fc.Arbitrary<DocValue> = fc.letrec<{ v: DocValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v;

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Float32Array) return b instanceof Float32Array && hex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)) === hex(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  if (a instanceof Uint8Array) return b instanceof Uint8Array && b.constructor === Uint8Array && hex(a) === hex(b);
  if (typeof a === 'number') return typeof b === 'number' && (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)));
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object' || Object.getPrototypeOf(b) !== Object.prototype) return false;
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as never)[k], (b as never)[k]));
  }
  return a === b;
}

test('field values round-trip exactly (nested, Uint8Array, Float32Array bit patterns) and re-encode identically', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = encodeFieldValueV1(v);
      const back = decodeFieldValueV1(bytes);
      assert.ok(sameValue(v, back), `round trip of ${hex(bytes)}`);
      assert.equal(hex(encodeFieldValueV1(back)), hex(bytes));
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('encoding is deterministic: key order does not matter, keys are in code point order', () => {
  const a = encodeFieldValueV1({ b: 1, a: { y: 2, x: [1, { d: 1, c: 2 }] }, '10': 1, '9': 2 });
  const b = encodeFieldValueV1({ '9': 2, a: { x: [1, { c: 2, d: 1 }], y: 2 }, b: 1, '10': 1 });
  assert.equal(hex(a), hex(b));
  // code point order: U+FF61 < U+1F600 although UTF-16 sorts the surrogate pair first
  const m = encodeFieldValueV1({ '\u{1F600}': 1, '\uFF61': 2 });
  assert.ok(hex(m).indexOf(hex(Buffer.from('\uFF61'))) < hex(m).indexOf(hex(Buffer.from('\u{1F600}'))));
  assert.ok(compareCodePoints('\uFF61', '\u{1F600}') < 0);
  assert.ok(compareCodePoints('a', 'ab') < 0 && compareCodePoints('b', 'a') > 0 && compareCodePoints('x', 'x') === 0);
});

test('Uint8Array is msgpack bin and Float32Array the typed-array extension, whatever the array class', () => {
  assert.equal(hex(encodeFieldValueV1(new Uint8Array([1, 2]))), 'c4020102');
  assert.equal(hex(encodeFieldValueV1(Buffer.from([1, 2]))), 'c4020102');
  assert.equal(hex(encodeFieldValueV1(new Float32Array([1]))), 'c70574070000803f');
  const view = new Uint8Array([9, 1, 2, 9]).subarray(1, 3);
  assert.equal(hex(encodeFieldValueV1(view)), 'c4020102');
  const f = new Float32Array([NaN]);
  new DataView(f.buffer).setUint32(0, 0x7fc00001, true); // a NaN payload survives
  const back = decodeFieldValueV1(encodeFieldValueV1(f)) as Float32Array;
  assert.equal(new DataView(back.buffer).getUint32(0, true), 0x7fc00001);
  assert.equal(hex(encodeFieldValueV1(-0)), '00', '-0 is stored as 0, as JSON does');
  const proto = JSON.parse('{"__proto__": 1}');
  const d = decodeFieldValueV1(encodeFieldValueV1(proto)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(d), ['__proto__']);
  assert.equal(Object.getPrototypeOf(d), Object.prototype);
});

test('values outside the model are refused with HEARTH_UNSUPPORTED_VALUE', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  class Point {
    x = 1;
  }
  const bad: unknown[] = [() => 1, Symbol('s'), 1n, new Date(0), new Map(), new Set(), new Int16Array(2), new Float64Array(1), new Point(), [1, undefined], '\uD800', { ['\uDC00']: 1 }, cyclic, undefined, { [Symbol('k')]: 1 }];
  for (const v of bad) {
    assert.throws(() => encodeFieldValueV1(v as DocValue), (e: unknown) => e instanceof DbError && e.code === 'HEARTH_UNSUPPORTED_VALUE', String(typeof v));
  }
  // undefined object properties are absent, not refused
  assert.equal(hex(encodeFieldValueV1({ a: undefined, b: 1 })), hex(encodeFieldValueV1({ b: 1 })));
});

test('the decoder refuses non-canonical encodings, trailing bytes and values outside the model', () => {
  const cases = {
    'float64 1.0 (canonical is int 1)': 'cb3ff0000000000000',
    'map keys out of order': '82a16201a16101',
    'Uint8Array as typed-array extension': 'c7037401' + '0102',
    'trailing byte': 'c0c0',
    'truncated': 'a3616263'.slice(0, 6),
    'timestamp (Date)': 'd6ff00000001',
    'uint64 (bigint)': 'cf0000000100000000',
    'Int16Array extension': 'c705740301000200',
    'map with an int key': '810102',
    'str8 for a short string (canonical is fixstr)': 'd90161',
  };
  for (const [why, h] of Object.entries(cases)) {
    assert.throws(() => decodeFieldValueV1(Buffer.from(h, 'hex')), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION', why);
  }
});

test('the scalar fast paths write exactly what msgpackr writes', async () => {
  const { packWithMsgpackr: _packWithMsgpackr } = await import('./_msgpackr-ref.js');
  const scalar = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/\p{Cs}/u.test(s)),
    fc.constantFrom('x'.repeat(65535), 'x'.repeat(65536), 'é'.repeat(40000), 'y'.repeat(255), 'y'.repeat(256), '\u{1F600}'.repeat(8)),
    fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
    fc.constantFrom(0, -0, 31, 32, 127, 128, 255, 256, 65535, 65536, -32, -33, -128, -129, -32768, -32769, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, NaN, Infinity, -Infinity, 0.5, 2 ** 53),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
  );
  fc.assert(
    fc.property(scalar, (v) => {
      assert.equal(hex(encodeFieldValueV1(v)), hex(_packWithMsgpackr(v)));
    }),
    { seed: SEED, numRuns: 500 },
  );
});
